"""Handing a mail to the programme's SMTP server.

Settings come from the environment, never from a file in the repository:

    GUICHET_SMTP_HOST            server name (required to send)
    GUICHET_SMTP_PORT            default 465 (ssl), 587 (starttls), 25 (plain)
    GUICHET_SMTP_SECURITY        ssl (default) | starttls | plain (loopback only)
    GUICHET_SMTP_USER            no authentication when unset
    GUICHET_SMTP_PASSWORD        or GUICHET_SMTP_PASSWORD_FILE (a secret file)
    GUICHET_SMTP_CAFILE          a CA bundle to trust (a test server's own certificate)
    GUICHET_SMTP_TLS_VERIFY      1 (default) | 0: no certificate check (local test server)
    GUICHET_SMTP_AUTH            password (default) | oauth2-microsoft | oauth2-google: the
                                 mailbox GUICHET_SMTP_USER signs in with SASL XOAUTH2 (or
                                 OAUTHBEARER); the other variables as for IMAP (_TENANT,
                                 _CLIENT_ID, _CLIENT_SECRET…, see ingest.mailbox)

``SmtpSender.send`` raises ``DeliveryError`` with ``temporary`` telling whether a later
try may succeed (server down, 4xx) or not (5xx: the address is refused for good).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from config.environment import EnvSettings, OAuth2Settings
from guichet.errors import ConfigError, DeliveryError
from ingest import oauth2

ENV_PREFIX = "GUICHET_SMTP_"
_DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "plain": 25}


class SendFailed(DeliveryError):
    """The server did not take the mail; ``temporary``: try again later."""

    def __init__(self, message: str, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "ssl"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    verify: bool = True
    timeout: float = 60.0
    oauth2: OAuth2Settings | None = None  # set: SASL XOAUTH2/OAUTHBEARER as ``user``

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings:
        from ingest.mailbox import oauth2_dir

        found = EnvSettings(env, lambda key: ENV_PREFIX + key)
        host = found.get("HOST")
        if host is None:
            raise ConfigError(f"{ENV_PREFIX}HOST n'est pas défini : aucun courriel ne peut partir")
        security = found.security(host)
        user = found.get("USER")
        signin = None
        if found.auth() != "password":
            if user is None:
                raise ConfigError(
                    f"{ENV_PREFIX}USER n'est pas défini : avec {ENV_PREFIX}AUTH="
                    f"{found.auth()}, l'adresse de la boîte qui envoie"
                )
            signin = found.oauth2("smtp", user, "smtp", oauth2_dir(env))
        return cls(
            host=host,
            port=found.port(_DEFAULT_PORTS[security]),
            security=security,
            user=user,
            password=found.secret("") if user and not signin else None,
            cafile=found.get("CAFILE"),
            verify=found.flag("TLS_VERIFY", True),
            oauth2=signin,
        )

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


class Sender(Protocol):
    """What the outbox needs to send: ``SmtpSender``, or a recording fake in unit tests."""

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None: ...


_ADDRESS = re.compile(r"[^\s<>@,;]+@[^\s<>@,;]+")


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return " ".join(text.split())[:120]


class SmtpSender:
    """One SMTP connection per mail: the worker sends a few mails a cycle, and a fresh
    connection never trips over a server's idle timeout."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.cafile)
        if not self.settings.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=self._context()
            )
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                client.starttls(context=self._context())
        if s.oauth2 is not None:
            try:
                self._oauth2_login(client)
            except BaseException:
                client.close()
                raise
        elif s.user:
            try:
                client.login(s.user, s.password or "")
            except (smtplib.SMTPException, OSError) as e:
                # Some servers hang up after a refused login rather than answer 535.
                offered = self._offered(client)
                client.close()
                oauth = sorted(offered & {"XOAUTH2", "OAUTHBEARER"})
                if oauth:  # a password refused by a server that wants OAuth2: say so
                    passwords_off = not offered & {"PLAIN", "LOGIN", "CRAM-MD5"}
                    raise SendFailed(
                        f"{s.label} : "
                        + oauth2.oauth2_wanted(
                            s.host, f"{ENV_PREFIX}AUTH", "/".join(oauth), passwords_off
                        ),
                        temporary=True,
                    ) from e
                raise smtplib.SMTPAuthenticationError(535, str(e).encode()) from e
        return client

    @staticmethod
    def _offered(client: smtplib.SMTP) -> set[str]:
        return set(client.esmtp_features.get("auth", "").upper().split())

    def _oauth2_login(self, client: smtplib.SMTP) -> None:
        """SASL XOAUTH2 (or OAUTHBEARER where only it is offered) with a token from
        ``ingest.oauth2``; a refused token is replaced once by a fresh one."""
        s = self.settings
        assert s.oauth2 is not None and s.user is not None
        user = s.user
        client.ehlo_or_helo_if_needed()
        name = oauth2.mechanism(self._offered(client))
        if name is None:
            raise SendFailed(
                f"{s.label} ne propose pas OAuth2 (ni XOAUTH2 ni OAUTHBEARER) : régler "
                f"{ENV_PREFIX}AUTH=password",
                temporary=True,
            )

        def attempt(token: str) -> bool:
            if name == "XOAUTH2":
                first, abort = oauth2.xoauth2(user, token), b""
            else:
                first, abort = oauth2.oauthbearer(user, token, s.host, s.port), b"\x01"
            answers = iter((first,))

            def respond(challenge: bytes | None = None) -> str:
                # A refusal comes first as a 334 challenge (the error's details, in JSON):
                # the client answers it with an empty line (XOAUTH2) or ^A (OAUTHBEARER).
                return next(answers, abort).decode("ascii")

            try:
                client.auth(name, respond)
            except smtplib.SMTPAuthenticationError as e:
                if 500 <= e.smtp_code < 600:
                    return False
                raise SendFailed(
                    f"{s.label} : connexion OAuth2 impossible pour l'instant "
                    f"(code {e.smtp_code} : {_reply(e)})",
                    temporary=True,
                ) from e
            return True

        try:
            oauth2.sign_in(s.oauth2, attempt)
        except oauth2.SignInFailed as e:
            raise SendFailed(f"{s.label} : {e.reason}", temporary=True) from e

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        for address in (sender, *recipients):
            if not _ADDRESS.fullmatch(address):
                raise SendFailed(f"adresse invalide : « {address[:100]} »", temporary=False)
        where = self.settings.label
        try:
            with self._connect() as client:
                refused = client.sendmail(sender, list(recipients), raw)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            raise SendFailed(
                f"destinataire refusé par {where} (code {', '.join(map(str, codes))})",
                temporary=all(400 <= c < 500 for c in codes),
            ) from e
        except smtplib.SMTPDataError as e:  # this mail refused (content, size): for good if 5xx
            raise SendFailed(
                f"{where} a refusé le courriel (code {e.smtp_code})",
                temporary=not 500 <= e.smtp_code < 600,
            ) from e
        except smtplib.SMTPAuthenticationError as e:
            raise SendFailed(f"identifiants SMTP refusés par {where}", temporary=True) from e
        except smtplib.SMTPResponseException as e:
            # Refused before any recipient (sender, STARTTLS or authentication required):
            # our configuration, not the mail; it waits until the setting is fixed.
            raise SendFailed(
                f"{where} refuse l’envoi (code {e.smtp_code} : {_reply(e)})", temporary=True
            ) from e
        except ssl.SSLCertVerificationError as e:
            raise SendFailed(f"{where} : certificat refusé ({e.verify_message})", True) from e
        except (smtplib.SMTPException, OSError) as e:
            raise SendFailed(f"{where} injoignable ({type(e).__name__})", temporary=True) from e
        if refused:  # some recipients refused, others taken: only one recipient per mail here
            raise SendFailed(f"destinataire refusé par {where}", temporary=False)
