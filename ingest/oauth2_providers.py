"""Where OAuth2 tokens come from: MSAL for Microsoft 365 / Entra ID, google-auth for
Google Workspace (``ingest.oauth2`` keeps one source per sign-in and uses it).

MSAL's token cache holds a delegated sign-in (``guichet login``) in the store's ``oauth2``
folder, one 0600 file per account, written atomically and read again when another
process (``guichet login``) changed it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.environment import OAuth2Settings
from ingest.oauth2 import SignInFailed, http_session, token_server_refused, unreachable

DEVICE_TIMEOUT = 15 * 60  # seconds a device code is waited for at most


# --- Microsoft (MSAL) -------------------------------------------------------------------


def private_file(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` atomically, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def cache_path(s: OAuth2Settings) -> Path:
    """Where a delegated sign-in of ``s.user`` with this application is kept."""
    key = hashlib.sha256(f"{s.authority}|{s.client_id}".encode()).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9@._-]", "_", s.user.lower())
    return s.cache_dir / f"microsoft-{safe}-{key}.json"


class MicrosoftTokens:
    """MSAL: client credentials, or a delegated sign-in kept in a 0600 cache file."""

    def __init__(self, settings: OAuth2Settings) -> None:
        self.settings = settings
        self._app: Any = None
        self._cache: Any = None
        self._cache_stamp: float | None = None
        self._session: Any = None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def _where(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.settings.authority or "").netloc

    def app(self) -> Any:
        """The MSAL application (built once: its discovery asks the authority)."""
        if self._app is not None:
            return self._app
        import msal
        import requests

        s = self.settings
        overridden = not (s.authority or "").startswith("https://login.microsoftonline.com/")
        self._session = http_session(s)
        options: dict[str, Any] = {"authority": s.authority, "http_client": self._session}
        if overridden:  # a national cloud or a test server: no discovery at Microsoft's
            options.update(validate_authority=False, instance_discovery=False)
        try:
            if s.flow == "app":
                self._app = msal.ConfidentialClientApplication(
                    s.client_id, client_credential=self._credential(), **options
                )
            else:
                self._cache = msal.SerializableTokenCache()
                self._app = msal.PublicClientApplication(
                    s.client_id, token_cache=self._cache, **options
                )
        except ValueError as e:  # discovery refused: the tenant or the authority is wrong
            raise SignInFailed(
                f"locataire Microsoft inconnu de {self._where()} : vérifier {s.variables}TENANT"
                + (f" et {s.variables}AUTHORITY" if overridden else "")
            ) from e
        except requests.RequestException as e:
            raise unreachable(s, self._where(), e) from e
        return self._app

    def _credential(self) -> Any:
        s = self.settings
        if s.client_secret:
            return s.client_secret
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization

        pem = Path(s.certificate_file or "").read_bytes()
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError as e:
            raise SignInFailed(
                f"{s.variables}CLIENT_CERTIFICATE : pas de certificat PEM (clé privée et "
                "certificat dans le même fichier)"
            ) from e
        return {
            "private_key": pem.decode("ascii"),
            "thumbprint": certificate.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - x5t
            "public_certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
        }

    # The delegated cache, shared with `guichet login` (another process) through its file.

    def _load_cache(self) -> None:
        path = cache_path(self.settings)
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if stamp != self._cache_stamp:
            self._cache.deserialize(path.read_text(encoding="utf-8"))
            self._cache_stamp = stamp

    def _save_cache(self) -> None:
        if self._cache is not None and self._cache.has_state_changed:
            path = cache_path(self.settings)
            private_file(path, self._cache.serialize())
            self._cache.has_state_changed = False
            self._cache_stamp = path.stat().st_mtime_ns

    def _result(self, result: dict[str, Any] | None) -> str:
        s = self.settings
        if result and "access_token" in result:
            return result["access_token"]
        if not result:
            raise SignInFailed(
                f"aucune connexion OAuth2 enregistrée pour {s.user} : lancer "
                f"« guichet login {s.login_name} »"
            )
        raise token_server_refused(s, result.get("error", ""), result.get("error_description", ""))

    def token(self, fresh: bool = False) -> str:
        import requests

        s = self.settings
        try:
            app = self.app()
            if s.flow == "app":
                if fresh:  # the server refused the cached token: forget it
                    cache = app.token_cache
                    for item in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
                        cache.remove_at(item)
                return self._result(app.acquire_token_for_client(list(s.wanted_scopes)))
            self._load_cache()
            accounts = app.get_accounts(username=s.user)
            if not accounts:
                return self._result(None)
            try:
                return self._result(
                    app.acquire_token_silent_with_error(
                        list(s.wanted_scopes), accounts[0], force_refresh=fresh
                    )
                )
            finally:
                self._save_cache()
        except requests.RequestException as e:
            raise unreachable(s, self._where(), e) from e

    def device_login(self, show: Callable[[str, str, str], None]) -> str:
        """The one-time device-code sign-in: ``show(url, code, expires)`` tells the person
        where to go; returns the account signed in (kept in the cache file)."""
        import requests

        s = self.settings
        if s.flow != "delegated":
            raise SignInFailed(
                f"{s.variables}CLIENT_SECRET ou CLIENT_CERTIFICATE est défini : l'application se "
                "connecte seule (sans « guichet login ») ; retirer ces variables pour une "
                "connexion déléguée"
            )
        try:
            app = self.app()
            self._load_cache()
            flow = app.initiate_device_flow(scopes=list(s.wanted_scopes))
            if "user_code" not in flow:
                raise token_server_refused(
                    s, flow.get("error", ""), flow.get("error_description", "")
                )
            minutes = int(flow.get("expires_in", DEVICE_TIMEOUT)) // 60
            show(flow["verification_uri"], flow["user_code"], f"{minutes} minutes")
            result = app.acquire_token_by_device_flow(flow)
        except requests.RequestException as e:
            raise unreachable(s, self._where(), e) from e
        if "access_token" not in result:
            if result.get("error") in ("expired_token", "authorization_pending"):
                raise SignInFailed("code expiré avant la connexion : relancer « guichet login »")
            raise token_server_refused(
                s, result.get("error", ""), result.get("error_description", "")
            )
        who = (result.get("id_token_claims") or {}).get("preferred_username", "")
        if who and who.lower() != s.user.lower():
            for account in app.get_accounts(username=who):
                app.remove_account(account)
            raise SignInFailed(
                f"connecté comme {who}, pas comme {s.user} : relancer « guichet login "
                f"{s.login_name} » et se connecter avec le compte de la boîte"
            )
        self._save_cache()
        return who or s.user


# --- Google (google-auth) ---------------------------------------------------------------


class GoogleTokens:
    """google-auth: a service account acting as the mailbox (domain-wide delegation), or
    the credentials of a user's refresh token."""

    def __init__(self, settings: OAuth2Settings) -> None:
        self.settings = settings
        self._credentials: Any = None

    def close(self) -> None:
        pass  # a session is opened for each refresh, and closed after it

    def credentials(self) -> Any:
        if self._credentials is not None:
            return self._credentials
        s = self.settings
        scopes = list(s.wanted_scopes)
        if s.flow == "service-account":
            from google.oauth2 import service_account

            try:
                info = json.loads(Path(s.service_account_file or "").read_text(encoding="utf-8"))
                if s.token_uri:
                    info["token_uri"] = s.token_uri
                self._credentials = service_account.Credentials.from_service_account_info(
                    info, scopes=scopes, subject=s.user
                )
            except (ValueError, KeyError) as e:
                raise SignInFailed(
                    f"{s.variables}SERVICE_ACCOUNT_FILE : pas une clé JSON de compte de service "
                    f"({type(e).__name__})"
                ) from e
        else:
            from google.oauth2.credentials import Credentials

            self._credentials = Credentials(
                None,
                refresh_token=s.refresh_token,
                client_id=s.client_id,
                client_secret=s.client_secret,
                token_uri=s.token_uri or "https://oauth2.googleapis.com/token",
                scopes=scopes,
            )
        return self._credentials

    def token(self, fresh: bool = False) -> str:
        import google.auth.exceptions
        from google.auth.transport.requests import Request

        s = self.settings
        credentials = self.credentials()
        if fresh or not credentials.valid:  # not valid: none yet, or under 4 min left
            session = http_session(s)
            try:
                credentials.refresh(Request(session))
            except google.auth.exceptions.RefreshError as e:
                details = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], dict) else {}
                raise token_server_refused(
                    s, details.get("error", ""), details.get("error_description", "") or str(e)
                ) from e
            except google.auth.exceptions.TransportError as e:
                from urllib.parse import urlsplit

                where = urlsplit(getattr(credentials, "_token_uri", "") or "").netloc
                raise unreachable(s, where, e) from e
            finally:
                session.close()
        return credentials.token
