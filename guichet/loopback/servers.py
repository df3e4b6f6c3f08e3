"""Real mail and database servers on loopback, for the suite and the demo.

    DovecotServer      IMAP (plain and implicit TLS) + LMTP, users from a passwd-file
    SmtpRelay          aiosmtpd on loopback, delivering each recipient into Dovecot over LMTP
    PostgresCluster    a throwaway PostgreSQL cluster (initdb + postgres, trust auth)

Each runs from a fresh temporary folder, on ports chosen free, and is stopped and removed
by ``stop()`` (or the ``with`` block). ``missing()`` names the binaries a server needs
that are not installed, so a caller can skip with a clear message; nothing here installs
anything (``scripts/install-system-packages.sh`` does).

Checked against Debian 12: Dovecot 2.3.19, PostgreSQL 15. ``tests/servers.py`` re-exports
this module for the suite.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import grp
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

LOOPBACK = "127.0.0.1"
HOSTNAME = "localhost"  # the name in the test certificate (and its SAN, with 127.0.0.1)


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _wait_for(check: Any, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError as e:
            last = e
        time.sleep(0.02)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} not ready after {timeout} s ({last}); log:\n{tail}")


def _stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and 127.0.0.1 (and its key), made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            f"/CN={HOSTNAME}",
            "-addext",
            f"subjectAltName=DNS:{HOSTNAME},IP:{LOOPBACK}",
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return cert, key


# --- Dovecot ---------------------------------------------------------------------------

DOVECOT_CONF = """\
instance_name = {instance}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
protocols = imap lmtp
listen = {host}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = {auth_mechanisms}
# Tests log in with wrong passwords on purpose: no delay after a failure, and no
# penalty (anvil's, per IP) on the logins that follow; see "service anvil" below.
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_uid = {mail_user}
mail_gid = {mail_group}
first_valid_uid = 1
lmtp_save_to_detail_mailbox = no
{unprivileged}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {dir}/users
}}
{oauth2_passdb}userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={dir}/mail/%d/%n allow_all_users=yes
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
  {login_chroot}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {lmtp_port}
  }}
}}
service anvil {{
  {login_chroot}
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

# Tokens checked by asking the token server (guichet.loopback.tokens) about each one.
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = {mechanisms}
  args = {dir}/dovecot-oauth2.conf.ext
}}
"""

OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = {cafile}
timeout_msecs = 10000
"""

UNPRIVILEGED = """\
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {group}
"""


@dataclass
class DovecotServer:
    """A Dovecot instance on loopback: ``imap_port`` (plain), ``imaps_port`` (TLS), ``lmtp_port``.

    Users live in a passwd-file (``add_user`` may be called while it runs: Dovecot reads
    the file again when it changes); mail is kept as ``nobody:nogroup`` when run as root.
    ``cafile`` is the self-signed certificate, for a verifying TLS client.

    With ``oauth2_introspection_url`` (and ``oauth2_cafile``, the token server's
    certificate) it also offers SASL XOAUTH2 and OAUTHBEARER, each token checked by that
    server (Dovecot's ``oauth2`` passdb); ``password_login=False`` then refuses LOGIN and
    PLAIN (``LOGINDISABLED``), as Microsoft 365 does.
    """

    users: dict[str, str] = field(default_factory=dict)
    host: str = LOOPBACK
    directory: Path | None = None
    imap_port: int = 0
    imaps_port: int = 0
    lmtp_port: int = 0
    cafile: Path | None = None
    process: subprocess.Popen | None = None
    oauth2_introspection_url: str | None = None
    oauth2_cafile: Path | None = None
    oauth2_mechanisms: tuple[str, ...] = ("xoauth2", "oauthbearer")
    password_login: bool = True
    _owned_dir: bool = False

    BINARIES = ("dovecot", "openssl")

    @classmethod
    def missing(cls) -> list[str]:
        return [b for b in cls.BINARIES if shutil.which(b) is None]

    def start(self) -> DovecotServer:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="guichet-dovecot-"))
            self._owned_dir = True
        d = self.directory
        d.chmod(0o755)  # the mail processes (nobody) go through it to their homes
        for sub in ("run", "state", "mail"):
            (d / sub).mkdir(exist_ok=True)
        self.cafile, key = self_signed_certificate(d)
        self.imap_port, self.imaps_port, self.lmtp_port = free_port(), free_port(), free_port()
        if os.geteuid() == 0:
            mail_user, mail_group = "nobody", "nogroup"
            unprivileged, login_chroot = "", ""
            shutil.chown(d / "mail", mail_user, mail_group)
        else:
            mail_user = pwd.getpwuid(os.geteuid()).pw_name
            mail_group = grp.getgrgid(os.getegid()).gr_name
            unprivileged = UNPRIVILEGED.format(user=mail_user, group=mail_group)
            login_chroot = "chroot ="
        self._write_users()
        mechanisms = ["plain", "login"] if self.password_login else []
        oauth2_passdb = ""
        if self.oauth2_introspection_url:
            mechanisms += self.oauth2_mechanisms
            oauth2_passdb = OAUTH2_PASSDB.format(dir=d, mechanisms=" ".join(self.oauth2_mechanisms))
            (d / "dovecot-oauth2.conf.ext").write_text(
                OAUTH2_CONF.format(url=self.oauth2_introspection_url, cafile=self.oauth2_cafile)
            )
        conf = d / "dovecot.conf"
        conf.write_text(
            DOVECOT_CONF.format(
                instance=f"guichet-{d.name}",
                dir=d,
                host=self.host,
                cert=self.cafile,
                key=key,
                mail_user=mail_user,
                mail_group=mail_group,
                unprivileged=unprivileged,
                login_chroot=login_chroot,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
                lmtp_port=self.lmtp_port,
                auth_mechanisms=" ".join(mechanisms),
                oauth2_passdb=oauth2_passdb,
            )
        )
        with open(d / "dovecot.stderr", "wb") as stderr:  # the child keeps its own copy
            self.process = subprocess.Popen(
                ["dovecot", "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=stderr
            )
        _wait_for(self._greets, 15, "dovecot", d / "dovecot.log")
        return self

    def _greets(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            err = (self.directory / "dovecot.stderr").read_text(errors="replace")
            raise RuntimeError(f"dovecot exited ({self.process.returncode}): {err}")
        # Read the whole greeting before closing: a probe that hangs up early leaves a
        # login process behind and makes the stop take seconds.
        with socket.create_connection((self.host, self.imap_port), timeout=2) as s:
            return s.recv(1024).startswith(b"* OK")

    def _write_users(self) -> None:
        if self.directory is None:
            return
        path = self.directory / "users"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()))
        tmp.chmod(0o644)
        tmp.replace(path)

    def add_user(self, user: str, password: str = "secret") -> str:
        """Add (or change) an IMAP user; returns the user name.

        Dovecot looks at the passwd-file again at most once a second: a change waits for
        the next second so the user can log in at once. Users given at start cost nothing.
        """
        if self.users.get(user) == password:
            return user
        self.users[user] = password
        self._write_users()
        if self.process is not None:
            time.sleep(1.05 - time.time() % 1)
        return user

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's certificate."""
        return ssl.create_default_context(cafile=str(self.cafile))

    def mailbox(self, user: str) -> Any:
        """An imap-tools ``MailBox`` logged in as ``user`` over verified TLS (a context manager)."""
        from imap_tools import MailBox

        box = MailBox(HOSTNAME, self.imaps_port, ssl_context=self.ssl_context())
        try:
            return box.login(user, self.users[user], initial_folder=None)
        except BaseException:
            box.client.shutdown()
            raise

    def append(self, user: str, data: bytes, when: dt.datetime, folder: str = "INBOX") -> int:
        """APPEND ``data`` to ``user``'s ``folder`` with INTERNALDATE ``when`` (aware); its UID."""
        if when.tzinfo is None:
            raise ValueError("give an aware INTERNALDATE")
        with self.mailbox(user) as box:
            if not box.folder.exists(folder):
                box.folder.create(folder)
            _, data_ = box.append(data, folder, dt=when)
        match = re.search(rb"APPENDUID \d+ (\d+)", data_[0] or b"")
        return int(match[1]) if match else 0

    def deliver(self, sender: str, recipient: str, data: bytes) -> None:
        """Deliver one mail into ``recipient``'s INBOX over LMTP."""
        lmtp_deliver(self.host, self.lmtp_port, sender, recipient, data)

    def stop(self) -> None:
        _stop_process(self.process)
        self.process = None
        if self._owned_dir and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def lmtp_deliver(host: str, port: int, sender: str, recipient: str, data: bytes) -> None:
    # One recipient per transaction: smtplib reads a single reply after DATA, and LMTP
    # sends one per recipient.
    with smtplib.LMTP(host, port) as lmtp:
        lmtp.sendmail(sender, [recipient], data)


def guichet_imap_env(
    dovecot: DovecotServer, mailbox_id: str, user: str, **extra: str
) -> dict[str, str]:
    """The ``GUICHET_IMAP_<ID>_*`` variables that point guichet's mailbox ``mailbox_id``
    at ``user`` on this server, over TLS verified against its own certificate."""
    from ingest.mailbox import env_name

    values = {
        "HOST": HOSTNAME,
        "PORT": str(dovecot.imaps_port),
        "SECURITY": "ssl",
        "USER": user,
        "PASSWORD": dovecot.users[user],
        "CAFILE": str(dovecot.cafile),
        **{k.upper(): v for k, v in extra.items()},
    }
    return {env_name(mailbox_id, k): v for k, v in values.items()}


def guichet_smtp_env(relay: SmtpRelay, port: int | None = None) -> dict[str, str]:
    """The ``GUICHET_SMTP_*`` variables that send through ``relay`` (plain SMTP on
    loopback), or to ``port`` instead (where nothing listens: an SMTP server down)."""
    return {
        "GUICHET_SMTP_HOST": relay.host,
        "GUICHET_SMTP_PORT": str(port or relay.port),
        "GUICHET_SMTP_SECURITY": "plain",
    }


# --- SMTP into Dovecot -----------------------------------------------------------------


class LmtpHandler:
    """aiosmtpd handler: each accepted mail is delivered over LMTP, recipient by recipient."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content
        for rcpt in envelope.rcpt_tos:
            try:
                lmtp_deliver(self.host, self.port, envelope.mail_from, rcpt, data)
            except (smtplib.SMTPException, OSError) as e:
                return f"451 delivery to {rcpt} failed: {e}"
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), data))
        return "250 OK"


def introspect(url: str, cafile: Path | None, token: str) -> dict[str, Any]:
    """Ask a token server about ``token`` (RFC 7662 introspection, as Dovecot does)."""
    import json
    import urllib.parse
    import urllib.request

    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    body = urllib.parse.urlencode({"token": token}).encode()
    with urllib.request.urlopen(url, body, timeout=10, context=context) as answer:
        return json.loads(answer.read())


class OAuth2LmtpHandler(LmtpHandler):
    """``LmtpHandler`` that wants a signed-in client: SASL XOAUTH2 and OAUTHBEARER, each
    token checked with the token server (its answer must name the user signing in), and
    PLAIN/LOGIN against Dovecot's users unless ``password_login`` is off."""

    REFUSAL = '{"status":"401","schemes":"bearer","scope":"https://outlook.office.com/.default"}'

    def __init__(self, dovecot: DovecotServer, url: str, cafile: Path | None) -> None:
        super().__init__(dovecot.host, dovecot.lmtp_port)
        self.dovecot, self.url, self.cafile = dovecot, url, cafile
        self.signed_in: list[tuple[str, str]] = []  # (mechanism, user)

    async def _bearer(self, server: Any, args: list[str], pattern: bytes, name: str) -> Any:
        import asyncio
        import base64

        from aiosmtpd.smtp import MISSING, AuthResult

        if len(args) > 1:
            blob: Any = base64.b64decode(args[1])
        else:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        found = re.search(pattern, blob)
        if found:
            user, token = found["user"].decode(), found["token"].decode()
            answer = await asyncio.get_running_loop().run_in_executor(
                None, introspect, self.url, self.cafile, token
            )
            if answer.get("active") is True and answer.get("username") == user.lower():
                self.signed_in.append((name, user))
                return AuthResult(success=True, auth_data=user)
        # The mechanisms' way to refuse: the error as a challenge, then 535.
        await server.challenge_auth(self.REFUSAL)
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:  # noqa: N802
        pattern = rb"^user=(?P<user>[^\x01]+)\x01auth=Bearer (?P<token>[^\x01]+)\x01\x01$"
        return await self._bearer(server, args, pattern, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> Any:  # noqa: N802
        pattern = rb"^n,a=(?P<user>[^,]+),\x01(?:[^\x01]*\x01)*?auth=Bearer (?P<token>[^\x01]+)\x01\x01$"
        return await self._bearer(server, args, pattern, "OAUTHBEARER")

    def check_password(self, server: Any, session: Any, envelope: Any, mechanism: str,
                       auth_data: Any) -> Any:  # fmt: skip
        from aiosmtpd.smtp import AuthResult

        login = auth_data.login.decode()
        good = self.dovecot.users.get(login) == auth_data.password.decode()
        return AuthResult(success=good, auth_data=auth_data)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"


@dataclass
class SmtpRelay:
    """An SMTP server on loopback (no TLS) that lands every mail in Dovecot.

    No authentication, unless ``oauth2_introspection_url`` is given: then the client must
    sign in (``OAuth2LmtpHandler``), and ``password_login=False`` offers only OAuth2.
    """

    dovecot: DovecotServer
    host: str = LOOPBACK
    port: int = 0
    controller: Any = None
    handler: LmtpHandler | None = None
    oauth2_introspection_url: str | None = None
    oauth2_cafile: Path | None = None
    password_login: bool = True

    @classmethod
    def missing(cls) -> list[str]:
        try:
            import aiosmtpd  # noqa: F401
        except ImportError:
            return ["aiosmtpd (Python)"]
        return []

    def start(self) -> SmtpRelay:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        if self.oauth2_introspection_url is None:
            self.handler = LmtpHandler(self.dovecot.host, self.dovecot.lmtp_port)
            self.controller = Controller(self.handler, hostname=self.host, port=self.port)
        else:
            handler = OAuth2LmtpHandler(
                self.dovecot, self.oauth2_introspection_url, self.oauth2_cafile
            )
            self.handler = handler
            self.controller = Controller(
                handler,
                hostname=self.host,
                port=self.port,
                # loopback only: AUTH without TLS; "required" is enforced at MAIL FROM
                auth_require_tls=False,
                authenticator=handler.check_password,
                auth_exclude_mechanism=[] if self.password_login else ["LOGIN", "PLAIN"],
            )
        self.controller.start()
        return self

    @property
    def received(self) -> list[tuple[str, list[str], bytes]]:
        return self.handler.received if self.handler else []

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- PostgreSQL ------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Debian's newest PostgreSQL server binaries (/usr/lib/postgresql/N/bin), else PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster in a temporary folder, TCP on loopback and a socket in the folder.

    initdb refuses to run as root: as root the cluster belongs to the ``postgres`` user
    (Debian's package creates it). Authentication is ``trust`` for the ``guichet`` role.
    """

    host: str = LOOPBACK
    port: int = 0
    user: str = "guichet"
    directory: Path | None = None
    process: subprocess.Popen | None = None
    _run_as: str | None = None
    _counter: int = 0

    @classmethod
    def missing(cls) -> list[str]:
        gone = []
        if postgres_bindir() is None:
            gone.append("initdb/postgres (Debian: postgresql)")
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                gone.append("the postgres system user")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            gone.append("psycopg (Python)")
        return gone

    def _owner(self) -> dict[str, Any]:
        if self._run_as is None:
            return {}
        entry = pwd.getpwnam(self._run_as)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def start(self) -> PostgresCluster:
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries not found")
        self._run_as = "postgres" if os.geteuid() == 0 else None
        self.directory = Path(tempfile.mkdtemp(prefix="guichet-pg-"))
        data = self.directory / "data"
        if self._run_as:
            shutil.chown(self.directory, self._run_as, self._run_as)
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            cwd=self.directory,
            env=env,
            **self._owner(),
        )
        self.port = free_port()
        log = self.directory / "postgres.log"
        settings = {
            "listen_addresses": self.host,
            "unix_socket_directories": str(self.directory),
            "max_connections": "50",
            # a throwaway cluster: durability is not worth the time
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        args = [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port)]
        args += [part for k, v in settings.items() for part in ("-c", f"{k}={v}")]
        with open(log, "wb") as stderr:  # the child keeps its own copy
            self.process = subprocess.Popen(
                args,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=self.directory,
                env=env,
                **self._owner(),
            )
        _wait_for(self._accepts, 30, "postgres", log)
        return self

    def _connect(self, dbname: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=dbname,
            autocommit=True,
            connect_timeout=2,
        )

    def _accepts(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"postgres exited ({self.process.returncode})")
        import psycopg

        try:
            with self._connect():
                return True
        except psycopg.OperationalError:
            return False

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        if name is None:
            self._counter += 1
            name = f"t{os.getpid()}_{self._counter}"
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self._connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: ends open sessions
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
        _stop_process(self.process)
        self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
