"""The desk's settings from the environment (desk.settings): defaults, HTTPS, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.settings import DeskSettings
from guichet.errors import ConfigError

SECRET = "s" * 40


def test_defaults_bind_loopback_and_draw_a_secret() -> None:
    found = DeskSettings.from_env({})
    assert (found.host, found.port, found.secure_cookies) == ("127.0.0.1", 8080, False)
    assert found.secret_drawn and len(found.secret) >= 32
    assert found.secret not in repr(found)


def test_https_address_makes_cookies_secure_unless_told_otherwise() -> None:
    env = {"GUICHET_DESK_URL": "https://bureau.coopcity.test/", "GUICHET_DESK_SECRET": SECRET}
    found = DeskSettings.from_env(env)
    assert found.base_url == "https://bureau.coopcity.test" and found.secure_cookies
    assert not found.secret_drawn and found.secret == SECRET
    assert not DeskSettings.from_env({**env, "GUICHET_DESK_SECURE_COOKIES": "0"}).secure_cookies
    assert DeskSettings.from_env({"GUICHET_DESK_SECURE_COOKIES": "1"}).secure_cookies


def test_the_secret_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "desk-secret"
    path.write_text(SECRET + "\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="0600"):
        DeskSettings.from_env({"GUICHET_DESK_SECRET_FILE": str(path)})
    path.chmod(0o600)
    assert DeskSettings.from_env({"GUICHET_DESK_SECRET_FILE": str(path)}).secret == SECRET


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GUICHET_DESK_SECRET": "court"}, "32 caractères"),
        ({"GUICHET_DESK_URL": "bureau.coopcity.test"}, "http"),
        ({"GUICHET_DESK_PORT": "99999"}, "port invalide"),
        ({"GUICHET_DESK_SECURE_COOKIES": "oui"}, "0 ou 1"),
        ({"GUICHET_DESK_SECRET_FILE": "/nulle/part"}, "illisible"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        DeskSettings.from_env(env)
    assert raised.value.message.startswith("GUICHET_DESK_")
