"""OAuth2 access tokens for IMAP and SMTP sign-in (SASL XOAUTH2 and OAUTHBEARER).

``token_source(settings)`` gives the process's one source for a sign-in
(``ingest.oauth2_providers``): MSAL for Microsoft 365 / Entra ID (client credentials, or
a device-code sign-in whose refresh token is kept in the store's ``oauth2`` folder, 0600),
google-auth for Google Workspace (a service account with domain-wide delegation, or a
user's refresh token). A source hands out a valid token, renewed before it expires
(MSAL: five minutes before; google-auth: under four), and a fresh one when the server
refused the last.

A token that cannot be had raises ``SignInFailed`` with a French one-line reason; IMAP
(``ingest.mailbox``) and SMTP (``notifications.smtp``) turn it into their own error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from config.environment import OAuth2Settings


class SignInFailed(Exception):
    """No token: ``reason`` is the French line to show; ``refused`` tells a refusal by
    the token server (a setting or a sign-in to redo) from a server out of reach."""

    def __init__(self, reason: str, refused: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


class TokenSource(Protocol):
    settings: OAuth2Settings

    def token(self, fresh: bool = False) -> str: ...
    def close(self) -> None: ...


# --- SASL -------------------------------------------------------------------------------


def xoauth2(user: str, token: str) -> bytes:
    """The SASL XOAUTH2 initial response (Google's and Microsoft's mechanism)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer(user: str, token: str, host: str, port: int) -> bytes:
    """The SASL OAUTHBEARER initial response (RFC 7628)."""
    return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def mechanism(offered: set[str]) -> str | None:
    """XOAUTH2 where offered (what Microsoft and Google expect), else OAUTHBEARER."""
    for name in ("XOAUTH2", "OAUTHBEARER"):
        if name in offered:
            return name
    return None


# --- what to check when a token is refused ----------------------------------------------


def refused_hint(s: OAuth2Settings) -> str:
    """What to check when the mail server refuses a token the token server gave."""
    v = s.variables
    permission = "IMAP.AccessAsApp" if s.service == "imap" else "SMTP.SendAsApp"
    protocol = "IMAP" if s.service == "imap" else "SMTP authentifié"
    if s.flow == "app":
        smtp = ", et que le SMTP authentifié y est activé" if s.service == "smtp" else ""
        return (
            f"vérifier que l'application {s.client_id} a la permission {permission} (consentement "
            f"administrateur) et que son principal de service Exchange a accès à {s.user}{smtp}"
        )
    if s.flow == "delegated":
        return (
            f"vérifier que {s.user} a accès à la boîte et que {protocol} y est activé, "
            f"ou relancer « guichet login {s.login_name} »"
        )
    if s.flow == "service-account":
        return (
            "vérifier la délégation à l'échelle du domaine du compte de service (champ "
            f"d'application {' '.join(s.wanted_scopes)}) et que {s.user} existe"
        )
    return f"vérifier que {v}REFRESH_TOKEN a été obtenu par {s.user}"


def token_server_refused(s: OAuth2Settings, error: str, description: str) -> SignInFailed:
    v = s.variables
    code = f"{error} : {description}".strip(" :")
    code = " ".join(code.split())[:160]
    if s.flow == "delegated" or (s.flow == "user" and error == "invalid_grant"):
        what = (
            f"relancer « guichet login {s.login_name} »"
            if s.flow == "delegated"
            else f"obtenir un nouveau jeton pour {v}REFRESH_TOKEN"
        )
        return SignInFailed(
            f"jeton OAuth2 refusé : la connexion de {s.user} a expiré ou a été révoquée "
            f"({code}) ; {what}"
        )
    if s.flow == "app":
        check = f"{v}TENANT, {v}CLIENT_ID et " + (
            f"{v}CLIENT_CERTIFICATE" if s.certificate_file else f"{v}CLIENT_SECRET"
        )
    elif s.flow == "service-account":
        check = f"{v}SERVICE_ACCOUNT_FILE (clé du compte de service, délégation au domaine)"
    else:
        check = f"{v}CLIENT_ID et {v}CLIENT_SECRET"
    return SignInFailed(f"jeton OAuth2 refusé par le serveur de jetons ({code}) : vérifier {check}")


def unreachable(s: OAuth2Settings, where: str, error: BaseException) -> SignInFailed:
    name = type(error).__name__
    if "SSL" in name or "certificate" in str(error).lower():
        why = "certificat refusé"
    else:
        why = name
    return SignInFailed(f"serveur de jetons OAuth2 injoignable ({where} : {why})", refused=False)


_OAUTH2_HOSTS = {
    "microsoft": ("office365.com", "outlook.com", "office.com"),
    "google": ("gmail.com", "google.com", "googlemail.com"),
}


def oauth2_wanted(host: str, variable: str, mechanisms: str, passwords_off: bool) -> str:
    """The server refused a password and offers OAuth2: which setting to change."""
    host = host.lower()
    microsoft = any(host.endswith(d) for d in _OAUTH2_HOSTS["microsoft"])
    google = any(host.endswith(d) for d in _OAUTH2_HOSTS["google"])
    if microsoft:
        todo = f"régler {variable}=oauth2-microsoft (Microsoft 365 n'accepte plus de mot de passe)"
    elif google:
        todo = (
            f"régler {variable}=oauth2-google, ou utiliser un mot de passe d'application "
            "(compte Google avec validation en deux étapes)"
        )
    else:
        todo = f"régler {variable}=oauth2-microsoft ou oauth2-google selon l'hébergeur"
    said = "n'accepte pas de mot de passe" if passwords_off else "a refusé le mot de passe"
    return f"le serveur {said} et demande OAuth2 ({mechanisms}) : {todo} (voir le README)"


def http_session(s: OAuth2Settings) -> Any:
    """A requests session towards the token server, trusting ``TOKEN_CAFILE`` if given.

    requests lets ``REQUESTS_CA_BUNDLE`` (set on many machines) override a session's own
    ``verify``: the session here keeps the bundle it was given."""
    import functools

    import requests

    class Pinned(requests.Session):
        def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            merged = super().merge_environment_settings(*args, **kwargs)
            if self.verify is not True:
                merged["verify"] = self.verify
            return merged

    session = Pinned()
    session.verify = s.token_cafile or True
    session.request = functools.partial(session.request, timeout=30)  # type: ignore[method-assign]
    return session


# --- one source per sign-in, for the whole process ----------------------------------------

_sources: dict[OAuth2Settings, TokenSource] = {}
_locks: dict[OAuth2Settings, threading.Lock] = {}
_registry = threading.Lock()


class _Locked:
    """A source used by one thread at a time (the poller and the IDLE watcher share it)."""

    def __init__(self, source: TokenSource, lock: threading.Lock) -> None:
        self.source, self.lock = source, lock
        self.settings = source.settings

    def token(self, fresh: bool = False) -> str:
        with self.lock:
            return self.source.token(fresh)

    def close(self) -> None:
        with self.lock:
            self.source.close()


def token_source(settings: OAuth2Settings) -> TokenSource:
    """The source of tokens for ``settings``, kept for the process (MSAL and google-auth
    keep the current token in it)."""
    with _registry:
        if settings not in _sources:
            from ingest.oauth2_providers import GoogleTokens, MicrosoftTokens

            source: TokenSource = (
                MicrosoftTokens(settings)
                if settings.provider == "microsoft"
                else GoogleTokens(settings)
            )
            _sources[settings] = source
            _locks[settings] = threading.Lock()
        return _Locked(_sources[settings], _locks[settings])


def forget_sources() -> None:
    """Drop every source (tests; a process whose settings changed)."""
    with _registry:
        for source in _sources.values():
            source.close()
        _sources.clear()
        _locks.clear()


def sign_in(settings: OAuth2Settings, attempt: Callable[[str], bool]) -> None:
    """Sign in with a token: ``attempt(token)`` says whether the server took it. A refused
    token is replaced by a fresh one once (it may have been revoked or expired early);
    refused again, ``SignInFailed`` says « jeton OAuth2 refusé » and what to check."""
    source = token_source(settings)
    if attempt(source.token()):
        return
    if attempt(source.token(fresh=True)):
        return
    raise SignInFailed(f"jeton OAuth2 refusé par le serveur : {refused_hint(settings)}")
