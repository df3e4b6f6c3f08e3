"""`guichet poll --once` and `guichet reprocess`, end to end (Dovecot, the real checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guichet import cli
from tests.conftest import Accounts
from tests.mails import brussels, sample
from tests.servers import free_port


@pytest.fixture
def guichet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, accounts: Accounts):
    """``main`` with the poll commands registered and the environment pointing at Dovecot."""
    commands = tuple(dict.fromkeys((*cli.COMMANDS, "poll", "reprocess")))
    monkeypatch.setattr(cli, "COMMANDS", commands)
    monkeypatch.setenv("GUICHET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("GUICHET_DATABASE_URL", raising=False)
    monkeypatch.setenv("GUICHET_PROGRAMME", "blossom-2026")
    for name, value in accounts.env.items():
        monkeypatch.setenv(name, value)
    accounts.append("info", sample("pe004"), brussels(2026, 9, 2, 11, 30))
    accounts.append("info", sample("pe002"), brussels(2026, 9, 12, 21, 3, 5))
    accounts.append("programme", sample("pe005"), brussels(2026, 9, 10, 8, 0, 12))
    return cli.main


def test_poll_once_tells_what_it_did(guichet, capsys: pytest.CaptureFixture[str]) -> None:
    assert guichet(["poll", "--once"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Boîte « info » (info@coopcity.be) : 2 nouveaux courriels")
    assert out[1].startswith("Boîte « programme » (matthias@coopcity.be) : 1 nouveau courriel")
    assert out[2] == "Vérifiés : 3 (automatique 1, incomplet 1, non candidature 1)."
    assert out[3] == "Candidatures : 1 (incomplet 1)."

    assert guichet(["poll", "--once"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Boîte « info » (info@coopcity.be) : 0 nouveau courriel."
    assert out[2] == "Aucun courriel à vérifier."

    assert guichet(["reprocess"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "3 courriel(s) vérifié(s) à nouveau : 0 changement(s) de statut, 0 en erreur."


def test_poll_on_postgresql(
    guichet, monkeypatch: pytest.MonkeyPatch, postgres_url: str, capsys
) -> None:
    monkeypatch.setenv("GUICHET_DATABASE_URL", postgres_url)
    assert guichet(["poll", "--once"]) == 0
    assert "Candidatures : 1 (incomplet 1)." in capsys.readouterr().out


def test_a_failing_mailbox_is_shown_and_sets_the_exit_code(
    guichet,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GUICHET_IMAP_PROGRAMME_PORT", str(free_port()))
    assert guichet(["poll", "--once"]) == 10
    captured = capsys.readouterr()
    assert "ERREUR — Boîte « programme » (matthias@coopcity.be) : connexion impossible" in (
        captured.out
    )
    assert "Vérifiés : 2" in captured.out
    assert captured.err.strip() == "guichet : relevé incomplet : boîte(s) en erreur « programme »"


def test_poll_needs_once_for_now(guichet, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        guichet(["poll"])
    assert exit_.value.code == 2
    assert "guichet run" in capsys.readouterr().err


def test_an_unknown_programme_is_a_config_error(
    guichet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert guichet(["poll", "--once", "--programme", "nope"]) == 3
    assert "programme inconnu" in capsys.readouterr().err
