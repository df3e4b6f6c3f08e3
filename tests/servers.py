"""The loopback servers of the suite: ``guichet.loopback.servers``, which the demo shares."""

from guichet.loopback.servers import (  # noqa: F401
    HOSTNAME,
    LOOPBACK,
    DovecotServer,
    LmtpHandler,
    PostgresCluster,
    SmtpRelay,
    free_port,
    guichet_imap_env,
    guichet_smtp_env,
    lmtp_deliver,
    postgres_bindir,
    self_signed_certificate,
)
