"""The desk's settings, from the environment (secrets never from a file in the repository).

GUICHET_DESK_HOST        address to bind (default 127.0.0.1: put a reverse proxy in front)
GUICHET_DESK_PORT        port (default 8080)
GUICHET_DESK_URL         the desk's public address (https://bureau.example.be): links in
                         the spreadsheet; cookies are Secure when it starts with https
GUICHET_DESK_SECURE_COOKIES  1/0: force the Secure flag on or off
GUICHET_DESK_SECRET      the key signing session cookies (32+ characters), or
GUICHET_DESK_SECRET_FILE a 0600 file holding it; without either a random key is drawn
                         at start (sessions then end when the desk restarts)
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from guichet.errors import ConfigError

ENV = "GUICHET_DESK_"
MIN_SECRET = 32


@dataclass(frozen=True)
class DeskSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None
    secure_cookies: bool = False
    secret: str = field(default="", repr=False)  # never printed
    secret_drawn: bool = False  # no secret configured: one drawn for this run

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeskSettings:
        env = os.environ if env is None else env
        base_url = (env.get(ENV + "URL") or "").strip().rstrip("/") or None
        if base_url and not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{ENV}URL : adresse http(s) attendue, pas « {base_url[:60]} »")
        secure = (env.get(ENV + "SECURE_COOKIES") or "").strip()
        if secure not in ("", "0", "1"):
            raise ConfigError(f"{ENV}SECURE_COOKIES : 0 ou 1 attendu")
        secure_cookies = secure == "1" or (
            secure == "" and bool(base_url) and base_url.startswith("https://")
        )
        port_text = (env.get(ENV + "PORT") or "8080").strip()
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"{ENV}PORT : port invalide « {port_text[:10]} »")
        secret = _secret(env)
        return cls(
            host=(env.get(ENV + "HOST") or "127.0.0.1").strip(),
            port=int(port_text),
            base_url=base_url,
            secure_cookies=secure_cookies,
            secret=secret or secrets.token_urlsafe(32),
            secret_drawn=not secret,
        )


def _secret(env: Mapping[str, str]) -> str | None:
    value = env.get(ENV + "SECRET")
    name = env.get(ENV + "SECRET_FILE")
    if not value and name:
        path = Path(name)
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(f"{ENV}SECRET_FILE : {path} doit être en 0600 (chmod 600)")
            value = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{ENV}SECRET_FILE : {path} illisible ({e.strerror})") from e
    if value and len(value) < MIN_SECRET:
        raise ConfigError(f"{ENV}SECRET : {MIN_SECRET} caractères au moins")
    return value or None
