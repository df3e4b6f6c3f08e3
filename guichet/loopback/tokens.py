"""A small OAuth2 token server on loopback, standing in for Microsoft Entra ID and Google.

It speaks just enough of both for guichet's sign-in code (MSAL and google-auth pointed
at it) and for Dovecot's ``oauth2`` passdb (token introspection), over HTTPS with its own
self-signed certificate:

    GET  /<tenant>/v2.0/.well-known/openid-configuration     MSAL's tenant discovery
    POST /<tenant>/oauth2/v2.0/token, POST /token             every grant below
    POST /<tenant>/oauth2/v2.0/devicecode                     device-code sign-in
    POST /introspect                                          Dovecot (RFC 7662 style)
    POST /smtp-introspect                                     the SMTP relay (same answer)

Grants: ``client_credentials`` (secret, or a certificate's signed assertion),
``refresh_token``, the device code, and Google's JWT bearer for a service account with
domain-wide delegation (the assertion's signature checked against the account's key).

An application's tokens open the mailboxes it is granted (as an Exchange application
access policy would); Dovecot compares one user name, so a test application is granted
one mailbox. Expiry and revocation are the test's to decide: ``expire`` and ``revoke``
act at once, and ``lifetime`` sets what ``expires_in`` announces.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from guichet.loopback.servers import HOSTNAME, LOOPBACK, free_port, self_signed_certificate

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class Client:
    """A registered application: a secret, a certificate, or neither (a public client)."""

    client_id: str
    secret: str | None = None
    certificate_pem: bytes | None = None  # its public certificate, for signed assertions
    mailboxes: tuple[str, ...] = ()  # opened by its application-only tokens
    revoked: bool = False


@dataclass
class Issued:
    token: str
    user: str
    client_id: str
    scope: str
    expires_at: float
    kind: str  # "access" or "refresh"
    revoked: bool = False

    def active(self, now: float) -> bool:
        return not self.revoked and now < self.expires_at


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    polls: int = 0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class TokenServer:
    """The token server (a context manager); ``url`` is its HTTPS root, ``cafile`` the
    certificate to trust. ``device_user`` approves device codes as that user (after one
    « pending » answer, as a person typing the code would)."""

    tenant: str = "coopcity-test"
    lifetime: int = 3600
    refresh_lifetime: int = 90 * 24 * 3600
    device_user: str | None = None
    unavailable: bool = False  # every endpoint answers 503, as a server in trouble
    host: str = LOOPBACK
    port: int = 0
    directory: Path | None = None
    cafile: Path | None = None
    clients: dict[str, Client] = field(default_factory=dict)
    service_accounts: dict[str, bytes] = field(default_factory=dict)  # email -> public key PEM
    issued: dict[str, Issued] = field(default_factory=dict)
    device_codes: dict[str, DeviceCode] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, grant or "")
    clock: Callable[[], float] = time.time
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests arrange -----------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{HOSTNAME}:{self.port}"

    @property
    def authority(self) -> str:
        """The Microsoft authority to give MSAL (``…/<tenant>``)."""
        return f"{self.url}/{self.tenant}"

    @property
    def token_uri(self) -> str:
        """Google's token URI."""
        return f"{self.url}/token"

    @property
    def introspection_url(self) -> str:
        return f"https://{self.host}:{self.port}/introspect"  # an address: no name lookup

    def add_client(
        self,
        client_id: str,
        secret: str | None = None,
        mailboxes: tuple[str, ...] = (),
        certificate_pem: bytes | None = None,
    ) -> Client:
        client = Client(client_id, secret, certificate_pem, tuple(m.lower() for m in mailboxes))
        self.clients[client_id] = client
        return client

    def add_service_account(self, email: str, public_key_pem: bytes) -> None:
        """A Google service account (its key's public half); ``revoke(client_id=email)``
        withdraws its domain-wide delegation."""
        self.service_accounts[email] = public_key_pem
        self.clients[email] = Client(email)

    def refresh_token_for(self, user: str, client_id: str, scope: str) -> str:
        """A refresh token as a user's consent would give one (Google's OAuth playground)."""
        with self._lock:
            return self._issue(user, client_id, scope, refresh=True)["refresh_token"]

    def grants(self, kind: str | None = None) -> list[str]:
        """The grant types asked for so far (only ``kind`` when given)."""
        return [g for p, g in self.requests if g and (kind is None or g == kind)]

    def tokens_for(self, user: str, kind: str = "access") -> list[Issued]:
        return [i for i in self.issued.values() if i.user == user.lower() and i.kind == kind]

    def expire(self, user: str | None = None) -> None:
        """Every access token (of ``user``) expires now, as if its hour had passed."""
        with self._lock:
            for issued in self.issued.values():
                if issued.kind == "access" and (user is None or issued.user == user.lower()):
                    issued.expires_at = self.clock() - 1

    def revoke(self, user: str | None = None, client_id: str | None = None) -> None:
        """Sign-ins revoked: the tokens (access and refresh) of ``user`` or of ``client_id``
        refused from now on; a revoked client gets no new token either."""
        with self._lock:
            if client_id is not None and client_id in self.clients:
                self.clients[client_id].revoked = True
            for issued in self.issued.values():
                if (user is None or issued.user == user.lower()) and (
                    client_id is None or issued.client_id == client_id
                ):
                    issued.revoked = True

    # --- the protocol -----------------------------------------------------------------

    def _issue(self, user: str, client_id: str, scope: str, refresh: bool) -> dict[str, Any]:
        now = self.clock()
        access = Issued(
            "at-" + secrets.token_urlsafe(24),
            user.lower(),
            client_id,
            scope,
            now + self.lifetime,
            "access",
        )
        self.issued[access.token] = access
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access.token,
            "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime,
            "scope": scope,
        }
        if refresh:
            kept = Issued(
                "rt-" + secrets.token_urlsafe(24),
                user.lower(),
                client_id,
                scope,
                now + self.refresh_lifetime,
                "refresh",
            )
            self.issued[kept.token] = kept
            answer["refresh_token"] = kept.token
            # What MSAL needs to file the account in its cache (an unsigned ID token is
            # enough: MSAL does not check it).
            oid = hashlib.sha256(user.lower().encode()).hexdigest()[:32]
            claims = {
                "iss": f"{self.authority}/v2.0",
                "sub": oid,
                "oid": oid,
                "tid": self.tenant,
                "aud": client_id,
                "iat": int(now),
                "exp": int(now + self.lifetime),
                "preferred_username": user.lower(),
            }
            header = _b64url(b'{"alg":"none","typ":"JWT"}')
            answer["id_token"] = f"{header}.{_b64url(json.dumps(claims).encode())}."
            answer["client_info"] = _b64url(
                json.dumps({"uid": oid, "utid": self.tenant}).encode()
            )
        return answer

    def _client(self, form: dict[str, str], audience: str) -> Client | dict[str, Any]:
        """The authenticated confidential client of a request, or an error answer."""
        client = self.clients.get(form.get("client_id", ""))
        if client is None or client.revoked:
            return _error("invalid_client", "AADSTS700016: application not found or disabled")
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE:
            import jwt
            from cryptography import x509

            if client.certificate_pem is None:
                return _error("invalid_client", "AADSTS700027: no certificate registered")
            key = x509.load_pem_x509_certificate(client.certificate_pem).public_key()
            try:
                jwt.decode(
                    form.get("client_assertion", ""),
                    key,  # type: ignore[arg-type]
                    algorithms=["RS256", "PS256"],
                    audience=audience,
                    issuer=client.client_id,
                )
            except jwt.PyJWTError as e:
                return _error("invalid_client", f"AADSTS700027: assertion refused ({e})")
            return client
        if client.secret is not None and form.get("client_secret") != client.secret:
            return _error("invalid_client", "AADSTS7000215: invalid client secret")
        return client

    def token(self, form: dict[str, str], path: str) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        audience = f"{self.url}{path}"
        with self._lock:
            self.requests.append((path, grant))
            if grant == "client_credentials":
                client = self._client(form, audience)
                if isinstance(client, dict):
                    return 401, client
                if not client.mailboxes:
                    return 400, _error("unauthorized_client", "no mailbox granted")
                return 200, self._issue(client.mailboxes[0], client.client_id,
                                        form.get("scope", ""), refresh=False)  # fmt: skip
            if grant == "refresh_token":
                old = self.issued.get(form.get("refresh_token", ""))
                client = self.clients.get(form.get("client_id", ""))
                if client is not None and client.secret is not None:
                    checked = self._client(form, audience)
                    if isinstance(checked, dict):
                        return 401, checked
                if (
                    old is None
                    or old.kind != "refresh"
                    or not old.active(self.clock())
                    or old.client_id != form.get("client_id")
                    or client is None
                    or client.revoked
                ):
                    return 400, _error("invalid_grant", "AADSTS70000: refresh token revoked")
                scope = form.get("scope") or old.scope
                answer = self._issue(old.user, old.client_id, scope, refresh=True)
                old.revoked = True  # rotated, as Entra ID does
                return 200, answer
            if grant == DEVICE_CODE_GRANT:
                pending = self.device_codes.get(form.get("device_code", ""))
                if pending is None:
                    return 400, _error("expired_token", "device code unknown or expired")
                pending.polls += 1
                if self.device_user is None or pending.polls < 2:
                    return 400, _error("authorization_pending", "waiting for the user")
                del self.device_codes[pending.device_code]
                return 200, self._issue(self.device_user, pending.client_id, pending.scope, True)
            if grant == JWT_BEARER_GRANT:
                return self._service_account(form.get("assertion", ""), audience)
            return 400, _error("unsupported_grant_type", grant)

    def _service_account(self, assertion: str, audience: str) -> tuple[int, dict[str, Any]]:
        import jwt

        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss", "")
            key = self.service_accounts.get(issuer)
            if key is None:
                return 400, _error("invalid_grant", "Invalid JWT Signature.")
            # google-auth addresses its assertion to Google's token endpoint whatever the
            # token URI it posts to.
            claims = jwt.decode(
                assertion, key, algorithms=["RS256"], audience=[audience, GOOGLE_AUDIENCE]
            )
        except jwt.PyJWTError as e:
            return 400, _error("invalid_grant", f"Invalid JWT: {e}")
        user = claims.get("sub")
        if not user:
            return 400, _error("invalid_grant", "no subject: domain-wide delegation needed")
        account = self.clients.get(issuer)
        if account is not None and account.revoked:
            return 401, _error("unauthorized_client", "Client is unauthorized")
        return 200, self._issue(user, issuer, claims.get("scope", ""), refresh=False)

    def device_code(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(("devicecode", ""))
            if form.get("client_id") not in self.clients:
                return 400, _error("invalid_client", "AADSTS700016: application not found")
            code = DeviceCode(
                secrets.token_urlsafe(24),
                f"{secrets.randbelow(10**4):04d}-{secrets.randbelow(10**4):04d}",
                form["client_id"],
                form.get("scope", ""),
            )
            self.device_codes[code.device_code] = code
        return 200, {
            "device_code": code.device_code,
            "user_code": code.user_code,
            "verification_uri": f"{self.url}/devicelogin",
            "expires_in": 900,
            "interval": 0,
            "message": f"Go to {self.url}/devicelogin and enter {code.user_code}.",
        }

    def introspect(self, token: str) -> dict[str, Any]:
        with self._lock:
            self.requests.append(("introspect", ""))
            issued = self.issued.get(token)
            if issued is None or issued.kind != "access":
                # A user name that matches nobody: Dovecot then refuses (not a tempfail).
                return {"active": False, "username": ""}
            client = self.clients.get(issued.client_id)
            active = issued.active(self.clock()) and not (client and client.revoked)
            return {
                "active": active,
                "username": issued.user,
                "scope": issued.scope,
                "client_id": issued.client_id,
                "exp": int(issued.expires_at),
            }

    def discovery(self) -> dict[str, Any]:
        base = f"{self.url}/{self.tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        }

    # --- running ----------------------------------------------------------------------

    def start(self) -> TokenServer:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="guichet-tokens-"))
        # Dovecot's auth process (another user) reads the certificate; the key stays 0600.
        self.directory.chmod(0o755)
        self.cafile, key = self_signed_certificate(self.directory)
        self.port = free_port()
        server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cafile, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.directory is not None:
            import shutil

            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description}


def _handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = urllib.parse.urlsplit(self.path).path
            if server.unavailable:
                self._answer(503, _error("temporarily_unavailable", "try later"))
            elif path == f"/{server.tenant}/v2.0/.well-known/openid-configuration":
                self._answer(200, server.discovery())
            else:
                self._answer(404, _error("not_found", path))

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            path = urllib.parse.urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(body).items()}
            if server.unavailable:
                self._answer(503, _error("temporarily_unavailable", "try later"))
            elif path in ("/introspect", "/smtp-introspect"):
                self._answer(200, server.introspect(form.get("token", "")))
            elif path == f"/{server.tenant}/oauth2/v2.0/devicecode":
                self._answer(*server.device_code(form))
            elif path in ("/token", f"/{server.tenant}/oauth2/v2.0/token"):
                self._answer(*server.token(form, path))
            else:
                self._answer(404, _error("not_found", path))

    return Handler
