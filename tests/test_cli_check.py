"""`guichet check` as a command: help, text summary, one French line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guichet.cli import main
from tests.samples import FIXTURES, SAMPLES


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--received" in out and "--programme" in out and "--json" in out


def test_french_summary(capsys: pytest.CaptureFixture[str]) -> None:
    path = SAMPLES / "emails" / "pe002.eml"
    assert main(["check", str(path), "--received", "2026-09-12T19:03:05Z"]) == 0
    out = capsys.readouterr().out
    assert "Statut : incomplet" in out
    assert "Structure : La Vélothèque d'Ixelles" in out
    assert "Manque : annexe.bilans, annexe.cv" in out
    assert "Reçu le : 12/09/2026 21:03:05" in out


def test_automatic_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURES / "emails" / "bounce.eml")]) == 0
    assert "ne pas répondre" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"%PDF-1.4\nnot a mail"])
def test_unreadable_mail_is_one_french_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "x.eml"
    path.write_bytes(content)
    code = main(["check", str(path), "--json"])
    captured = capsys.readouterr()
    assert code != 0 and captured.out == ""
    assert captured.err.startswith("guichet : ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(tmp_path / "absent.eml")])
    err = capsys.readouterr().err
    assert code != 0 and "illisible" in err and err.count("\n") == 1


def test_bad_received_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", str(SAMPLES / "emails" / "pe004.eml"), "--received", "hier"])
    assert exit_.value.code == 2 and "date invalide" in capsys.readouterr().err


def test_unknown_programme(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(SAMPLES / "emails" / "pe004.eml"), "--programme", "nope"])
    assert code == 3 and "programme inconnu" in capsys.readouterr().err


UNREAD = FIXTURES / "emails" / "unread_creation_date.eml"


def test_json_lists_unread_beside_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(UNREAD), "--json", "--received", "2026-09-08T08:30:00Z"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["status"] == "complet"
    assert found["missing"] == [] and found["unread"] == ["entreprise.date_creation"]
    assert list(found).index("unread") == list(found).index("missing") + 1


def test_summary_shows_what_to_check_with_the_text_found(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", str(UNREAD), "--received", "2026-09-08T08:30:00Z"]) == 0
    out = capsys.readouterr().out
    assert "Statut : complet" in out and "Manque : rien" in out
    assert "À vérifier : Date de création – « le lendemain de notre AG »" in out
    assert "Avertissements :" in out


def test_nothing_to_check_no_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = SAMPLES / "emails" / "pe002.eml"
    assert main(["check", str(path), "--received", "2026-09-12T19:03:05Z"]) == 0
    assert "À vérifier : " not in capsys.readouterr().out
