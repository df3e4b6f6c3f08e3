"""Connection settings read from environment variables, as IMAP (``ingest.mailbox``) and
SMTP (``notifications.smtp``) both take them: a server, its port and security, a
certificate check, a secret given directly or as a file. A wrong value is a
``ConfigError`` naming its variable."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
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
        value = self.get("PASSWORD")
        if value is not None:
            return value
        path = self.get("PASSWORD_FILE")
        if path is None:
            raise ConfigError(
                f"{missing}définir {self.name('PASSWORD')} ou {self.name('PASSWORD_FILE')}"
            )
        try:
            return Path(path).read_text(encoding="utf-8").strip("\r\n")
        except OSError as e:
            raise ConfigError(
                f"{self.name('PASSWORD_FILE')} : fichier illisible ({e.strerror})"
            ) from e
