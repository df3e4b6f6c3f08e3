"""Connection settings read from environment variables, as IMAP (``ingest.mailbox``) and
SMTP (``notifications.smtp``) both take them: a server, its port and security, a
certificate check, a secret given directly or as a file. A wrong value is a
``ConfigError`` naming its variable."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from guichet.errors import ConfigError

SECURITIES = ("ssl", "starttls", "plain")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_YES = ("1", "true", "yes", "oui")
_NO = ("0", "false", "no", "non")

CHECK_BUDGET_VARIABLE = "GUICHET_CHECK_BUDGET"
# Seconds to read one mail's attachments: under the minute a supervisor (or a person at
# `guichet check`) waits, with room for what follows the reading.
DEFAULT_CHECK_BUDGET = 45.0


def check_budget(env: Mapping[str, str] | None = None) -> float:
    """The time budget of one mail's check, in seconds (``GUICHET_CHECK_BUDGET``)."""
    text = ((os.environ if env is None else env).get(CHECK_BUDGET_VARIABLE) or "").strip()
    if not text:
        return DEFAULT_CHECK_BUDGET
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = -1.0
    if not 1 <= value <= 3600:
        raise ConfigError(
            f"{CHECK_BUDGET_VARIABLE} : « {text} » n'est pas une durée en secondes (de 1 à 3600)"
        )
    return value


def positive_number(env: Mapping[str, str], name: str) -> float | None:
    """The positive number in variable ``name`` (« 7,5 » as « 7.5 »), None when unset;
    a ``ConfigError`` naming the variable otherwise."""
    text = (env.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError as e:
        raise ConfigError(f"{name} : « {text} » n'est pas un nombre") from e
    if not value > 0:
        raise ConfigError(f"{name} : « {text} » n'est pas un nombre positif")
    return value


class EnvSettings:
    """The variables of one server: ``name(key)`` is the variable for ``key`` (``HOST``…)."""

    def __init__(self, env: Mapping[str, str], name: Callable[[str], str]) -> None:
        self.env = env
        self.name = name

    def get(self, key: str) -> str | None:
        value = self.env.get(self.name(key))
        return value.strip() if value and value.strip() else None

    def security(self, host: str) -> str:
        """``ssl`` (default), ``starttls``, or ``plain`` towards this machine only."""
        security = (self.get("SECURITY") or "ssl").lower()
        if security not in SECURITIES:
            raise ConfigError(
                f"{self.name('SECURITY')} : « {security} » inconnu "
                f"(attendu : {', '.join(SECURITIES)})"
            )
        if security == "plain" and host not in LOOPBACK:
            raise ConfigError(
                f"{self.name('SECURITY')}=plain n'est permis que vers la machine locale"
            )
        return security

    def port(self, default: int) -> int:
        text = self.get("PORT")
        try:
            return int(text) if text else default
        except ValueError as e:
            raise ConfigError(f"{self.name('PORT')} : « {text} » n'est pas un port") from e

    def flag(self, key: str, default: bool) -> bool:
        text = (self.get(key) or "").lower()
        if not text:
            return default
        if text not in _YES + _NO:
            raise ConfigError(f"{self.name(key)} : 1 ou 0 attendu")
        return text in _YES

    def secret(self, missing: str) -> str:
        """``PASSWORD``, else the contents of ``PASSWORD_FILE``; ``missing`` prefixes the
        error when neither is set."""
        value = self.optional_secret("PASSWORD")
        if value is None:
            raise ConfigError(
                f"{missing}définir {self.name('PASSWORD')} ou {self.name('PASSWORD_FILE')}"
            )
        return value

    def optional_secret(self, key: str) -> str | None:
        """``key``, else the contents of the file named by ``key_FILE``, else None."""
        value = self.get(key)
        if value is not None:
            return value
        path = self.get(f"{key}_FILE")
        if path is None:
            return None
        try:
            return Path(path).read_text(encoding="utf-8").strip("\r\n")
        except OSError as e:
            raise ConfigError(f"{self.name(key + '_FILE')} : fichier illisible ({e.strerror})") from e

    def readable_file(self, key: str) -> str | None:
        """The file named by ``key``, checked readable now (a ``ConfigError`` otherwise)."""
        path = self.get(key)
        if path is not None and not os.access(path, os.R_OK):
            raise ConfigError(f"{self.name(key)} : fichier « {path} » absent ou illisible")
        return path

    def auth(self) -> str:
        """``AUTH``: ``password`` (default), ``oauth2-microsoft`` or ``oauth2-google``."""
        method = (self.get("AUTH") or "password").lower()
        if method not in AUTH_METHODS:
            raise ConfigError(
                f"{self.name('AUTH')} : « {method} » inconnu (attendu : {', '.join(AUTH_METHODS)})"
            )
        return method

    def oauth2(self, service: str, user: str, login_name: str, cache_dir: Path) -> OAuth2Settings:
        """The OAuth2 sign-in of one server (``service``: ``imap`` or ``smtp``) as ``user``,
        for ``AUTH`` other than ``password``; what is missing or contradictory is a
        ``ConfigError`` naming its variable."""
        base = OAuth2Settings(
            provider=self.auth().removeprefix("oauth2-"),
            service=service,
            user=user,
            login_name=login_name,
            variables=self.name(""),
            cache_dir=cache_dir,
            client_id=self.get("CLIENT_ID"),
            client_secret=self.optional_secret("CLIENT_SECRET"),
            token_cafile=self.readable_file("TOKEN_CAFILE"),
            scopes=tuple((self.get("SCOPE") or "").replace(",", " ").split()),
        )
        return self._microsoft(base) if base.provider == "microsoft" else self._google(base)

    def _https(self, key: str) -> str | None:
        url = self.get(key)
        if url is not None and not url.startswith("https://"):
            raise ConfigError(f"{self.name(key)} : une adresse https:// est attendue")
        return url

    def _microsoft(self, base: OAuth2Settings) -> OAuth2Settings:
        tenant, authority = self.get("TENANT"), self._https("AUTHORITY")
        if tenant is None and authority is None:
            raise ConfigError(
                f"{self.name('TENANT')} n'est pas défini (l'identifiant ou le domaine du "
                "locataire Microsoft 365, par exemple coopcity.onmicrosoft.com)"
            )
        if base.client_id is None:
            raise ConfigError(
                f"{self.name('CLIENT_ID')} n'est pas défini (l'identifiant d'application "
                "de l'inscription dans Entra ID)"
            )
        certificate = self.readable_file("CLIENT_CERTIFICATE")
        if certificate and base.client_secret:
            raise ConfigError(
                f"{self.name('CLIENT_SECRET')} et {self.name('CLIENT_CERTIFICATE')} : "
                "un seul des deux"
            )
        return replace(
            base,
            tenant=tenant,
            authority=authority or f"https://login.microsoftonline.com/{tenant}",
            certificate_file=certificate,
        )

    def _google(self, base: OAuth2Settings) -> OAuth2Settings:
        account_file = self.readable_file("SERVICE_ACCOUNT_FILE")
        refresh_token = self.optional_secret("REFRESH_TOKEN")
        if account_file is None and refresh_token is None:
            raise ConfigError(
                f"définir {self.name('SERVICE_ACCOUNT_FILE')} (compte de service avec "
                f"délégation à l'échelle du domaine) ou {self.name('REFRESH_TOKEN')} "
                "(jeton d'un utilisateur)"
            )
        if account_file and refresh_token:
            raise ConfigError(
                f"{self.name('SERVICE_ACCOUNT_FILE')} et {self.name('REFRESH_TOKEN')} : "
                "un seul des deux"
            )
        if refresh_token and (base.client_id is None or base.client_secret is None):
            raise ConfigError(
                f"avec {self.name('REFRESH_TOKEN')}, définir aussi {self.name('CLIENT_ID')} et "
                f"{self.name('CLIENT_SECRET')} (le client OAuth qui a obtenu ce jeton)"
            )
        return replace(
            base,
            token_uri=self._https("TOKEN_URI"),
            service_account_file=account_file,
            refresh_token=refresh_token,
        )


AUTH_METHODS = ("password", "oauth2-microsoft", "oauth2-google")
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_USER_SCOPES = {
    "imap": "https://outlook.office.com/IMAP.AccessAsUser.All",
    "smtp": "https://outlook.office.com/SMTP.Send",
}
GOOGLE_SCOPE = "https://mail.google.com/"


@dataclass(frozen=True)
class OAuth2Settings:
    """How one IMAP or SMTP server is signed into with OAuth2 (``ingest.oauth2``).

    Microsoft: with a client secret or certificate, the application signs in as itself
    (client credentials: the unattended case); with neither, a person signs in once with
    ``guichet login`` (device code) and the refresh token is kept in ``cache_dir``.
    Google: a service account with domain-wide delegation, or a user's refresh token.
    """

    provider: str  # "microsoft" | "google"
    service: str  # "imap" | "smtp"
    user: str  # the mailbox signed into (XOAUTH2's user=)
    login_name: str  # what ``guichet login`` is given for this server
    variables: str  # the variables' common prefix (GUICHET_IMAP_INFO_), for messages
    cache_dir: Path
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_cafile: str | None = None
    tenant: str | None = None
    authority: str | None = None
    certificate_file: str | None = None
    token_uri: str | None = None
    service_account_file: str | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()

    @property
    def flow(self) -> str:
        """``app`` (client credentials), ``delegated`` (device code), ``service-account``
        or ``user`` (a Google refresh token)."""
        if self.provider == "microsoft":
            return "app" if self.client_secret or self.certificate_file else "delegated"
        return "service-account" if self.service_account_file else "user"

    @property
    def wanted_scopes(self) -> tuple[str, ...]:
        if self.scopes:
            return self.scopes
        if self.provider == "google":
            return (GOOGLE_SCOPE,)
        if self.flow == "app":
            return (MICROSOFT_APP_SCOPE,)
        return (MICROSOFT_USER_SCOPES[self.service],)
