"""One IMAP mailbox of a programme: its settings (from the environment) and a session on it.

The programme file lists mailboxes (id and address); how to reach each one comes from
the environment, never from a file in the repository. For the mailbox ``info``:

    GUICHET_IMAP_INFO_HOST       server name (required)
    GUICHET_IMAP_INFO_PORT       default 993 (ssl), 143 (starttls)
    GUICHET_IMAP_INFO_SECURITY   ssl (default) | starttls | plain (loopback only)
    GUICHET_IMAP_INFO_USER       default: the mailbox's address
    GUICHET_IMAP_INFO_PASSWORD   or GUICHET_IMAP_INFO_PASSWORD_FILE (a secret file)
    GUICHET_IMAP_INFO_FOLDER     default INBOX
    GUICHET_IMAP_INFO_CAFILE     a CA bundle to trust (a test server's own certificate)
    GUICHET_IMAP_INFO_TLS_VERIFY 1 (default) | 0: no certificate check (local test server)
    GUICHET_IMAP_INFO_IDLE       0 (default) | 1: a connection kept open (IMAP IDLE) asks
                                 for a polling cycle as soon as a mail arrives (ingest.idle)
    GUICHET_IMAP_INFO_AUTH       password (default) | oauth2-microsoft | oauth2-google: then
                                 no password but _TENANT, _CLIENT_ID, _CLIENT_SECRET(_FILE) or
                                 _CLIENT_CERTIFICATE, _SERVICE_ACCOUNT_FILE, _REFRESH_TOKEN(_FILE),
                                 _SCOPE, _AUTHORITY, _TOKEN_URI, _TOKEN_CAFILE (config.environment)

Certificates are verified by default (imaplib would not: it is given a verifying
context explicitly). ``ImapSession`` reads with ``BODY.PEEK`` (``\\Seen`` untouched),
never deletes or expunges, and marks handled mails with a keyword.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import re
import select
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError, UnexpectedCommandStatusError

from config.environment import EnvSettings, OAuth2Settings
from config.programme import MailboxSpec
from guichet.errors import ConfigError, MailboxError
from ingest import oauth2

ENV_PREFIX = "GUICHET_IMAP_"
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class MailboxSettings:
    id: str
    address: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    security: str = "ssl"
    folder: str = "INBOX"
    cafile: str | None = None
    verify: bool = True
    timeout: float = DEFAULT_TIMEOUT
    idle: bool = False
    oauth2: OAuth2Settings | None = None  # set: SASL XOAUTH2/OAUTHBEARER, no password

    @property
    def label(self) -> str:
        return f"« {self.id} » ({self.address})"

    @property
    def account(self) -> str:
        """The mailbox's key in the store: its address, the same whatever programme lists it
        (ids like ``info`` repeat from one programme to the next)."""
        return self.address.strip().lower()


def env_name(mailbox_id: str, key: str) -> str:
    return f"{ENV_PREFIX}{re.sub(r'[^A-Za-z0-9]', '_', mailbox_id).upper()}_{key}"


def settings_from_env(spec: MailboxSpec, env: Mapping[str, str]) -> MailboxSettings:
    """The settings of one mailbox; a missing or wrong one is a ``ConfigError`` naming it."""
    found = EnvSettings(env, lambda key: env_name(spec.id, key))
    host = found.get("HOST")
    if host is None:
        raise ConfigError(f"boîte « {spec.id} » : {env_name(spec.id, 'HOST')} n'est pas défini")
    security = found.security(host)
    user = found.get("USER") or spec.address
    signin = None
    if found.auth() != "password":
        signin = found.oauth2("imap", user, spec.id, oauth2_dir(env))
    return MailboxSettings(
        id=spec.id,
        address=spec.address,
        host=host,
        port=found.port(993 if security == "ssl" else 143),
        user=user,
        password="" if signin else found.secret(f"boîte « {spec.id} » : "),
        oauth2=signin,
        security=security,
        folder=found.get("FOLDER") or "INBOX",
        cafile=found.get("CAFILE"),
        verify=found.flag("TLS_VERIFY", True),
        idle=found.flag("IDLE", False),
    )


def oauth2_dir(env: Mapping[str, str]) -> Path:
    """Where delegated OAuth2 sign-ins are kept: the store's folder, ``oauth2/``."""
    from triage.store import DATA_DIR_ENV, DEFAULT_DATA_DIR

    return Path(env.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR) / "oauth2"


@dataclass(frozen=True)
class UnconfiguredMailbox:
    """A mailbox of the programme whose settings are missing or wrong."""

    id: str
    address: str
    error: str


def programme_mailboxes(
    specs: Iterable[MailboxSpec], env: Mapping[str, str]
) -> list[MailboxSettings | UnconfiguredMailbox]:
    """Every mailbox of a programme: its settings, or why it has none (the others still run)."""
    found: list[MailboxSettings | UnconfiguredMailbox] = []
    for spec in specs:
        try:
            found.append(settings_from_env(spec, env))
        except ConfigError as e:
            found.append(UnconfiguredMailbox(spec.id, spec.address, e.message))
    return found


def tls_context(settings: MailboxSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.cafile)
    if not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


# --- IMAP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int | None
    messages: int


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    internal_date: dt.datetime
    raw: bytes


class Mailbox(Protocol):
    """What polling needs from a mailbox (``ImapSession``; a fake in unit tests)."""

    settings: MailboxSettings

    def folder_state(self) -> FolderState: ...
    def uids_after(self, last_uid: int) -> list[int]: ...
    def sizes(self, uids: Sequence[int]) -> dict[int, int]: ...
    def fetch(self, uids: Sequence[int]) -> Iterator[FetchedMail]: ...
    def add_keyword(self, uids: Iterable[int], keyword: str) -> None: ...
    def close(self) -> None: ...


_IMAP_ERRORS = (OSError, ssl.SSLError, imaplib.IMAP4.error, UnexpectedCommandStatusError, EOFError)
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def parse_internaldate(value: str) -> dt.datetime:
    """``14-Sep-2026 07:59:59 +0000`` (day may be space-padded) as an aware datetime."""
    match = re.fullmatch(
        r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\s*", value
    )
    if not match or match[2].lower() not in _MONTHS:
        raise ValueError(f"INTERNALDATE illisible : {value!r}")
    offset = dt.timedelta(hours=int(match[8]), minutes=int(match[9]))
    zone = dt.timezone(-offset if match[7] == "-" else offset)
    return dt.datetime(
        int(match[3]),
        _MONTHS[match[2].lower()],
        int(match[1]),
        int(match[4]),
        int(match[5]),
        int(match[6]),
        tzinfo=zone,
    )


def uid_set(uids: Iterable[int]) -> str:
    """``1:3,7,9:10``: a compact UID set for a command."""
    ordered = sorted(set(uids))
    ranges: list[str] = []
    start = prev = None
    for uid in ordered:
        if prev is not None and uid == prev + 1:
            prev = uid
            continue
        if start is not None:
            ranges.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    if start is not None:
        ranges.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(ranges)


class ImapSession:
    """A logged-in IMAP session on one folder of one mailbox (a context manager)."""

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings
        self._box: BaseMailBox | None = None

    def open(self) -> ImapSession:
        s = self.settings
        try:
            if s.security == "ssl":
                box: BaseMailBox = MailBox(
                    s.host, s.port, timeout=s.timeout, ssl_context=tls_context(s)
                )
            elif s.security == "starttls":
                box = MailBoxStartTls(s.host, s.port, timeout=s.timeout, ssl_context=tls_context(s))
            else:
                box = MailBoxUnencrypted(s.host, s.port, timeout=s.timeout)
        except TimeoutError as e:
            raise MailboxError(f"boîte {s.label} : {s.host}:{s.port} ne répond pas") from e
        except ssl.SSLCertVerificationError as e:
            raise MailboxError(f"boîte {s.label} : certificat refusé ({e.verify_message})") from e
        except _IMAP_ERRORS as e:
            raise MailboxError(
                f"boîte {s.label} : connexion impossible à {s.host}:{s.port} ({_why(e)})"
            ) from e
        try:
            if s.oauth2 is not None:
                self._oauth2_login(box)
            else:
                box.login(s.user, s.password, initial_folder=None)
        except MailboxLoginError as e:
            _quietly_close(box)
            raise MailboxError(f"boîte {s.label} : {password_refused(s, box.client)}") from e
        except oauth2.SignInFailed as e:
            _quietly_close(box)
            raise MailboxError(f"boîte {s.label} : {e.reason}") from e
        except _IMAP_ERRORS as e:
            _quietly_close(box)
            raise MailboxError(f"boîte {s.label} : connexion interrompue ({_why(e)})") from e
        self._box = box
        try:
            box.folder.set(s.folder)
        except _IMAP_ERRORS as e:
            self.close()
            raise MailboxError(
                f"boîte {s.label} : dossier « {s.folder} » inaccessible ({_why(e)})"
            ) from e
        return self

    def _oauth2_login(self, box: BaseMailBox) -> None:
        """SASL XOAUTH2 (or OAUTHBEARER where only it is offered) with a token from
        ``ingest.oauth2``; a refused token is replaced once by a fresh one."""
        s = self.settings
        assert s.oauth2 is not None
        offered = {c[5:] for c in box.client.capabilities if c.startswith("AUTH=")}
        name = oauth2.mechanism(offered)
        if name is None:
            raise oauth2.SignInFailed(
                "le serveur ne propose pas OAuth2 (ni XOAUTH2 ni OAUTHBEARER) : régler "
                f"{env_name(s.id, 'AUTH')}=password"
            )

        def attempt(token: str) -> bool:
            if name == "XOAUTH2":
                first, abort = oauth2.xoauth2(s.user, token), b""
            else:
                first, abort = oauth2.oauthbearer(s.user, token, s.host, s.port), b"\x01"
            answers = iter((first,))

            def respond(challenge: bytes) -> bytes:
                # A refusal comes first as a challenge (the error's details, in JSON):
                # the client answers it with an empty line (XOAUTH2) or ^A (OAUTHBEARER).
                return next(answers, abort)

            try:
                typ, data = box.client.authenticate(name, respond)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error as e:
                if "[UNAVAILABLE]" in str(e):  # RFC 5530: the server could not check it
                    raise oauth2.SignInFailed(
                        f"le serveur ne peut pas vérifier le jeton OAuth2 pour l'instant ({_why(e)})",
                        refused=False,
                    ) from e
                return False
            box.login_result = (typ, data)
            return typ == "OK"

        oauth2.sign_in(s.oauth2, attempt)

    @property
    def client(self) -> imaplib.IMAP4:
        if self._box is None:
            raise MailboxError(f"boîte {self.settings.label} : session fermée")
        return self._box.client

    def _command(self, *args: str) -> list:
        try:
            typ, data = self.client.uid(*args)
        except _IMAP_ERRORS as e:
            raise MailboxError(
                f"boîte {self.settings.label} : {args[0]} a échoué ({_why(e)})"
            ) from e
        if typ != "OK":
            raise MailboxError(f"boîte {self.settings.label} : {args[0]} refusé ({data!r})")
        return data

    def folder_state(self) -> FolderState:
        try:
            status = self._box.folder.status(
                self.settings.folder, ["UIDVALIDITY", "UIDNEXT", "MESSAGES"]
            )  # type: ignore[union-attr]
        except _IMAP_ERRORS as e:
            raise MailboxError(f"boîte {self.settings.label} : STATUS a échoué ({_why(e)})") from e
        return FolderState(
            uidvalidity=int(status["UIDVALIDITY"]),
            uidnext=int(status["UIDNEXT"]) if "UIDNEXT" in status else None,
            messages=int(status.get("MESSAGES", 0)),
        )

    def uids_after(self, last_uid: int) -> list[int]:
        data = self._command("SEARCH", f"UID {last_uid + 1}:*")
        found = [int(u) for chunk in data if chunk for u in chunk.split()]
        # "n:*" matches the last message even when n is above the highest UID (RFC 3501).
        return sorted(u for u in found if u > last_uid)

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        if not uids:
            return {}
        sizes: dict[int, int] = {}
        for item in self._command("FETCH", uid_set(uids), "(UID RFC822.SIZE)"):
            line = item[0] if isinstance(item, tuple) else item
            uid, size = _UID.search(line or b""), _SIZE.search(line or b"")
            if uid and size:
                sizes[int(uid[1])] = int(size[1])
        return sizes

    def fetch(self, uids: Sequence[int]) -> Iterator[FetchedMail]:
        """The raw bytes and INTERNALDATE of ``uids``, in UID order (one command)."""
        if not uids:
            return
        wanted = set(uids)
        data = self._command("FETCH", uid_set(uids), "(UID INTERNALDATE BODY.PEEK[])")
        found: dict[int, FetchedMail] = {}
        for i, item in enumerate(data):
            if not isinstance(item, tuple):
                continue
            # The attributes may come before or after the literal: read both sides.
            after = data[i + 1] if i + 1 < len(data) and isinstance(data[i + 1], bytes) else b""
            meta = item[0] + b" " + after
            uid, when = _UID.search(meta), _INTERNALDATE.search(meta)
            if not uid or int(uid[1]) not in wanted:
                continue
            if not when:
                raise MailboxError(f"boîte {self.settings.label} : UID {uid[1]} sans INTERNALDATE")
            found[int(uid[1])] = FetchedMail(
                uid=int(uid[1]),
                internal_date=parse_internaldate(when[1].decode("ascii")),
                raw=item[1],
            )
        for uid in sorted(found):
            yield found[uid]

    def add_keyword(self, uids: Iterable[int], keyword: str) -> None:
        """``UID STORE +FLAGS.SILENT``; never followed by EXPUNGE (imap-tools' ``flag`` is)."""
        uids = list(uids)
        if uids:
            self._command("STORE", uid_set(uids), "+FLAGS.SILENT", f"({keyword})")

    # --- IDLE (RFC 2177), for ingest.idle ----------------------------------------------

    def prepare_idle(self) -> bool:
        """Whether the server offers IDLE (asked after login: capabilities may grow then).
        What SELECT reported (EXISTS, RECENT) is forgotten: it is not news."""
        try:
            typ, data = self.client.capability()
        except _IMAP_ERRORS as e:
            raise MailboxError(
                f"boîte {self.settings.label} : CAPABILITY a échoué ({_why(e)})"
            ) from e
        self.client.untagged_responses.clear()
        words = b" ".join(d for d in data if isinstance(d, bytes)).upper().split()
        return typ == "OK" and b"IDLE" in words

    def wait_for_new_mail(self, seconds: float, stop: threading.Event, step: float = 0.5) -> bool:
        """IDLE until the server says something, ``seconds`` pass or ``stop`` is set, then
        DONE; True when the server announced a new mail (EXISTS or RECENT)."""
        client = self.client
        try:
            tag = client._command("IDLE")
            # Untagged data may come before the "+ idling" continuation: kept, read below.
            while client._get_response() is not None:
                if client.tagged_commands.get(tag):
                    _, data = client.tagged_commands.pop(tag)
                    raise MailboxError(f"boîte {self.settings.label} : IDLE refusé ({data!r})")
            deadline = time.monotonic() + seconds
            while not stop.is_set() and not self._has_news():
                left = deadline - time.monotonic()
                # select() sees the socket, not what imaplib has buffered: a response that
                # came with the continuation is caught by _has_news() above.
                if left <= 0 or select.select([client.sock], [], [], min(step, left))[0]:
                    break
            client.send(b"DONE\r\n")
            self._box.consume_until_tagged_response(tag)  # type: ignore[union-attr]
        except (*_IMAP_ERRORS, ValueError) as e:  # ValueError: select() on a closed socket
            raise MailboxError(f"boîte {self.settings.label} : IDLE interrompu ({_why(e)})") from e
        news = self._has_news()
        client.untagged_responses.clear()
        return news

    def _has_news(self) -> bool:
        responses = self.client.untagged_responses
        return bool(responses.get("EXISTS") or responses.get("RECENT"))

    def close(self) -> None:
        if self._box is not None:
            _quietly_close(self._box)
            self._box = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def password_refused(settings: MailboxSettings, client: imaplib.IMAP4) -> str:
    """Why a password login failed, in words that send the person to the right setting:
    a server that offers OAuth2 (Microsoft 365 has refused passwords since 2022) is said
    to want it, with the variable to set."""
    caps = {str(c).upper() for c in getattr(client, "capabilities", ())}
    oauth = sorted(c[5:] for c in caps if c in ("AUTH=XOAUTH2", "AUTH=OAUTHBEARER"))
    if not oauth:
        return "identifiant ou mot de passe refusé"
    variable = env_name(settings.id, "AUTH")
    return oauth2.oauth2_wanted(settings.host, variable, "/".join(oauth), "LOGINDISABLED" in caps)


def _why(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if isinstance(error, ConnectionRefusedError):
        return "connexion refusée"
    return text[:200]


def _quietly_close(box: BaseMailBox) -> None:
    try:
        box.logout()
    except Exception:  # noqa: BLE001 - closing a session that may already be dead
        with contextlib.suppress(Exception):
            box.client.shutdown()
