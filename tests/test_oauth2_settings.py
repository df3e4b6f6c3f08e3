"""OAuth2 settings from the environment: what is read, and a ConfigError naming the
variable for what is missing or contradictory (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.programme import MailboxSpec
from guichet.errors import ConfigError
from ingest import oauth2, oauth2_providers
from ingest.mailbox import settings_from_env
from notifications.smtp import SmtpSettings

SPEC = MailboxSpec(id="info", address="info@coopcity.be")
BASE = {"GUICHET_IMAP_INFO_HOST": "outlook.office365.com"}


def imap(**values: str) -> dict[str, str]:
    return BASE | {f"GUICHET_IMAP_INFO_{k}": v for k, v in values.items()}


def refused(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as error:
        settings_from_env(SPEC, env)
    return error.value.message


def test_password_stays_the_default_and_oauth2_needs_no_password() -> None:
    assert settings_from_env(SPEC, imap(PASSWORD="x")).oauth2 is None
    assert "GUICHET_IMAP_INFO_PASSWORD" in refused(imap())
    settings = settings_from_env(
        SPEC, imap(AUTH="oauth2-microsoft", TENANT="coopcity.onmicrosoft.com", CLIENT_ID="c")
    )
    assert settings.password == "" and settings.oauth2 is not None
    assert settings.oauth2.flow == "delegated"
    assert settings.oauth2.wanted_scopes == ("https://outlook.office.com/IMAP.AccessAsUser.All",)
    assert settings.oauth2.user == "info@coopcity.be"


def test_an_unknown_method_names_the_variable_and_the_choices() -> None:
    message = refused(imap(AUTH="oauth"))
    assert message.startswith("GUICHET_IMAP_INFO_AUTH : « oauth » inconnu")
    assert "oauth2-microsoft" in message and "oauth2-google" in message


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"CLIENT_ID": "c"}, "GUICHET_IMAP_INFO_TENANT"),
        ({"TENANT": "t"}, "GUICHET_IMAP_INFO_CLIENT_ID"),
        ({"TENANT": "t", "CLIENT_ID": "c", "AUTHORITY": "http://login.test/t"},
         "GUICHET_IMAP_INFO_AUTHORITY"),
        ({"TENANT": "t", "CLIENT_ID": "c", "CLIENT_SECRET_FILE": "/nonexistent"},
         "GUICHET_IMAP_INFO_CLIENT_SECRET_FILE"),
        ({"TENANT": "t", "CLIENT_ID": "c", "CLIENT_CERTIFICATE": "/nonexistent.pem"},
         "GUICHET_IMAP_INFO_CLIENT_CERTIFICATE"),
    ],
)  # fmt: skip
def test_microsoft_settings_missing_or_wrong_name_their_variable(
    values: dict[str, str], named: str
) -> None:
    assert named in refused(imap(AUTH="oauth2-microsoft", **values))


def test_a_secret_and_a_certificate_together_are_refused(tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text("x")
    message = refused(imap(AUTH="oauth2-microsoft", TENANT="t", CLIENT_ID="c",
                           CLIENT_SECRET="s", CLIENT_CERTIFICATE=str(pem)))  # fmt: skip
    assert "un seul des deux" in message and "GUICHET_IMAP_INFO_CLIENT_CERTIFICATE" in message


def test_google_wants_a_service_account_or_a_refresh_token_with_its_client(tmp_path: Path) -> None:
    message = refused(imap(AUTH="oauth2-google"))
    assert "GUICHET_IMAP_INFO_SERVICE_ACCOUNT_FILE" in message
    assert "GUICHET_IMAP_INFO_REFRESH_TOKEN" in message
    message = refused(imap(AUTH="oauth2-google", REFRESH_TOKEN="r"))
    assert "GUICHET_IMAP_INFO_CLIENT_ID" in message and "GUICHET_IMAP_INFO_CLIENT_SECRET" in message
    key = tmp_path / "sa.json"
    key.write_text("{}")
    settings = settings_from_env(SPEC, imap(AUTH="oauth2-google", SERVICE_ACCOUNT_FILE=str(key)))
    assert settings.oauth2 is not None and settings.oauth2.flow == "service-account"
    assert settings.oauth2.wanted_scopes == ("https://mail.google.com/",)


def test_smtp_with_oauth2_needs_the_sending_mailbox() -> None:
    env = {"GUICHET_SMTP_HOST": "smtp.office365.com", "GUICHET_SMTP_AUTH": "oauth2-microsoft",
           "GUICHET_SMTP_TENANT": "t", "GUICHET_SMTP_CLIENT_ID": "c"}  # fmt: skip
    with pytest.raises(ConfigError) as error:
        SmtpSettings.from_env(env)
    assert "GUICHET_SMTP_USER" in error.value.message
    settings = SmtpSettings.from_env(env | {"GUICHET_SMTP_USER": "info@coopcity.be"})
    assert settings.password is None and settings.oauth2 is not None
    assert settings.oauth2.wanted_scopes == ("https://outlook.office.com/SMTP.Send",)
    assert settings.oauth2.login_name == "smtp"


def test_secrets_stay_out_of_the_settings_repr() -> None:
    settings = settings_from_env(SPEC, imap(AUTH="oauth2-microsoft", TENANT="t", CLIENT_ID="c",
                                            CLIENT_SECRET="TOPSECRET"))  # fmt: skip
    assert settings.oauth2 is not None and settings.oauth2.flow == "app"
    assert "TOPSECRET" not in repr(settings)
    assert settings.oauth2.wanted_scopes == ("https://outlook.office365.com/.default",)
    assert settings.oauth2.authority == "https://login.microsoftonline.com/t"


def test_sasl_strings_and_the_mechanism_chosen() -> None:
    assert oauth2.xoauth2("a@b.c", "T") == b"user=a@b.c\x01auth=Bearer T\x01\x01"
    assert oauth2.oauthbearer("a@b.c", "T", "h", 993) == (
        b"n,a=a@b.c,\x01host=h\x01port=993\x01auth=Bearer T\x01\x01"
    )
    assert oauth2.mechanism({"PLAIN", "XOAUTH2", "OAUTHBEARER"}) == "XOAUTH2"
    assert oauth2.mechanism({"OAUTHBEARER"}) == "OAUTHBEARER"
    assert oauth2.mechanism({"PLAIN", "LOGIN"}) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("outlook.office365.com", "GUICHET_IMAP_INFO_AUTH=oauth2-microsoft (Microsoft 365"),
        ("imap.gmail.com", "GUICHET_IMAP_INFO_AUTH=oauth2-google, ou utiliser un mot de passe d'application"),
        ("mail.exemple.be", "GUICHET_IMAP_INFO_AUTH=oauth2-microsoft ou oauth2-google"),
    ],
)  # fmt: skip
def test_a_server_wanting_oauth2_is_told_with_the_variable_for_its_host(
    host: str, expected: str
) -> None:
    message = oauth2.oauth2_wanted(host, "GUICHET_IMAP_INFO_AUTH", "XOAUTH2", passwords_off=True)
    assert expected in message
    assert "mot de passe refusé" not in message and "demande OAuth2 (XOAUTH2)" in message


def test_the_delegated_cache_file_is_written_0600_atomically(tmp_path: Path) -> None:
    path = tmp_path / "oauth2" / "microsoft-x.json"
    oauth2_providers.private_file(path, '{"a": 1}')
    oauth2_providers.private_file(path, '{"a": 2}')
    assert path.read_text() == '{"a": 2}'
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["microsoft-x.json"]
