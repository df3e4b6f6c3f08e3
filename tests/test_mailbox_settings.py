"""ingest.mailbox, without a server: settings from the environment, IMAP values."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest

from config.programme import MailboxSpec
from guichet.errors import ConfigError
from ingest.mailbox import (
    UnconfiguredMailbox,
    parse_internaldate,
    programme_mailboxes,
    settings_from_env,
    tls_context,
    uid_set,
)

INFO = MailboxSpec(id="info", address="info@coopcity.be")


def test_defaults_verify_tls_on_993() -> None:
    s = settings_from_env(
        INFO, {"GUICHET_IMAP_INFO_HOST": "imap.example.org", "GUICHET_IMAP_INFO_PASSWORD": "pw"}
    )
    assert (s.host, s.port, s.security, s.user, s.folder, s.verify) == (
        "imap.example.org",
        993,
        "ssl",
        "info@coopcity.be",
        "INBOX",
        True,
    )
    assert "pw" not in repr(s)
    context = tls_context(s)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_everything_can_be_set(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    env = {
        "GUICHET_IMAP_PROGRAMME_MANAGER_HOST": "localhost",
        "GUICHET_IMAP_PROGRAMME_MANAGER_SECURITY": "STARTTLS",
        "GUICHET_IMAP_PROGRAMME_MANAGER_USER": "matthias",
        "GUICHET_IMAP_PROGRAMME_MANAGER_PASSWORD_FILE": str(secret),
        "GUICHET_IMAP_PROGRAMME_MANAGER_FOLDER": "Candidatures",
        "GUICHET_IMAP_PROGRAMME_MANAGER_TLS_VERIFY": "0",
    }
    s = settings_from_env(MailboxSpec(id="programme-manager", address="m@c.be"), env)
    assert (s.port, s.security, s.user, s.password, s.folder, s.verify) == (
        143,
        "starttls",
        "matthias",
        "s3cret",
        "Candidatures",
        False,
    )
    assert tls_context(s).verify_mode == ssl.CERT_NONE


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "GUICHET_IMAP_INFO_HOST"),
        ({"GUICHET_IMAP_INFO_HOST": "h"}, "GUICHET_IMAP_INFO_PASSWORD"),
        (
            {"GUICHET_IMAP_INFO_HOST": "h", "GUICHET_IMAP_INFO_PASSWORD_FILE": "/nonexistent"},
            "PASSWORD_FILE",
        ),
        (
            {
                "GUICHET_IMAP_INFO_HOST": "h",
                "GUICHET_IMAP_INFO_PASSWORD": "p",
                "GUICHET_IMAP_INFO_PORT": "x",
            },
            "PORT",
        ),
        (
            {
                "GUICHET_IMAP_INFO_HOST": "h",
                "GUICHET_IMAP_INFO_PASSWORD": "p",
                "GUICHET_IMAP_INFO_SECURITY": "tls13",
            },
            "SECURITY",
        ),
        (
            {
                "GUICHET_IMAP_INFO_HOST": "imap.example.org",
                "GUICHET_IMAP_INFO_PASSWORD": "p",
                "GUICHET_IMAP_INFO_SECURITY": "plain",
            },
            "plain",
        ),
        (
            {
                "GUICHET_IMAP_INFO_HOST": "h",
                "GUICHET_IMAP_INFO_PASSWORD": "p",
                "GUICHET_IMAP_INFO_TLS_VERIFY": "maybe",
            },
            "TLS_VERIFY",
        ),
    ],
)
def test_wrong_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        settings_from_env(INFO, env)


def test_one_unconfigured_mailbox_does_not_hide_the_others() -> None:
    env = {"GUICHET_IMAP_INFO_HOST": "h", "GUICHET_IMAP_INFO_PASSWORD": "p"}
    found = programme_mailboxes([INFO, MailboxSpec(id="programme", address="m@c.be")], env)
    assert found[0].host == "h"
    assert (
        isinstance(found[1], UnconfiguredMailbox)
        and "GUICHET_IMAP_PROGRAMME_HOST" in found[1].error
    )


def test_internaldate() -> None:
    assert parse_internaldate("14-Sep-2026 07:59:59 +0000") == dt.datetime(
        2026, 9, 14, 7, 59, 59, tzinfo=dt.UTC
    )
    assert parse_internaldate(" 4-Sep-2026 09:59:59 +0200") == dt.datetime(
        2026, 9, 4, 7, 59, 59, tzinfo=dt.UTC
    )
    assert parse_internaldate("14-Sep-2026 02:29:59 -0530").hour == 2
    with pytest.raises(ValueError):
        parse_internaldate("14-Foo-2026 07:59:59 +0000")


def test_uid_set() -> None:
    assert uid_set([5, 1, 2, 3, 9, 10, 7]) == "1:3,5,7,9:10"
    assert uid_set([4]) == "4"
    assert uid_set([]) == ""
