"""guichet on loopback, for ``make demo`` and the test suite: real servers on 127.0.0.1
(``servers``: Dovecot, SMTP into Dovecot, PostgreSQL; ``tokens``: an OAuth2 token server
standing in for Microsoft and Google) and mails to drop into them
(``mails``). Nothing here runs in production; the servers' packages come from
``scripts/install-system-packages.sh``, aiosmtpd and psycopg from the test extras."""
