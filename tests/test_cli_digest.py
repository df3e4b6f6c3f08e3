"""`guichet digest --preview`: the digest written to files (0600), nothing sent."""

from __future__ import annotations

import datetime as dt
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from guichet.cli import main
from tests.conftest import sqlite_settings
from tests.mails import brussels
from tests.stores import dossier_mail, file_mails
from triage.check import CheckResult
from triage.models import OutboxMail
from triage.store import open_store

Checker = Callable[[bytes, dt.datetime | None, str | None], CheckResult]
STRUCTURE = "Potager Partagé SC"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checker: Checker) -> Path:
    """A store with one complete application, and the environment pointing at it."""
    settings = sqlite_settings(tmp_path)
    with open_store(settings) as store:
        mail = dossier_mail("g02-nextline-npar2")
        file_mails(store, [(mail, brussels(2026, 9, 2, 10, 15))], checker, brussels(2026, 9, 2, 11))
    monkeypatch.setenv("GUICHET_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("GUICHET_DATABASE_URL", raising=False)
    monkeypatch.delenv("GUICHET_PROGRAMME", raising=False)
    return settings.data_dir


def _outbox_size(data_dir: Path) -> int:
    with open_store(sqlite_settings(data_dir.parent)) as store, store.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMail)) or 0


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["digest", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--preview", "--out", "--programme", "--at", "--final"):
        assert option in out
    assert "exemple" in out and "rien n’est envoyé" in out


def test_preview_writes_both_parts_and_sends_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "apercu"
    argv = ["digest", "--preview", "--out", str(out), "--programme", "blossom-2026"]
    assert main([*argv, "--at", "2026-09-07T08:00"]) == 0
    html, text = out / "digest.html", out / "digest.txt"
    assert _mode(html) == _mode(text) == 0o600
    assert _mode(out) == 0o700  # a new folder: private
    assert html.read_text(encoding="utf-8").count("<tr data-application=") == 1
    assert STRUCTURE in text.read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    assert "rien n’a été envoyé" in printed and str(html) in printed and str(text) in printed
    assert "point du lundi 7 septembre 2026" in printed.replace("\u00a0", " ")
    assert _outbox_size(data_dir) == 0


def test_existing_folder_keeps_its_mode(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "partage"
    out.mkdir(mode=0o755)
    out.chmod(0o755)
    (out / "digest.txt").write_text("ancien", encoding="utf-8")
    (out / "digest.txt").chmod(0o644)
    assert main(["digest", "--preview", "--out", str(out)]) == 0
    assert _mode(out) == 0o755
    assert _mode(out / "digest.txt") == 0o600
    assert "ancien" not in (out / "digest.txt").read_text(encoding="utf-8")


def test_default_folder(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["digest", "--preview"]) == 0
    assert (tmp_path / "digest-apercu" / "digest.html").is_file()
    assert (tmp_path / "digest-apercu" / "digest.txt").is_file()


@pytest.mark.parametrize(
    ("at", "day"),
    [
        ("2026-09-14T23:30", "lundi 14 septembre"),  # no offset: Brussels time
        ("2026-09-14T23:30+00:00", "mardi 15 septembre"),  # 01:30 in Brussels
    ],
)
def test_at_is_read_in_the_programme_zone(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str, day: str
) -> None:
    assert main(["digest", "--preview", "--out", str(tmp_path / "o"), "--at", at]) == 0
    assert f"point du {day} 2026" in capsys.readouterr().out.replace("\u00a0", " ")


def test_final_digest(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["digest", "--preview", "--final", "--out", str(tmp_path / "o")]
    assert main([*argv, "--at", "2026-09-14T10:05"]) == 0
    assert "Guichet BLOSSOM 2026-2027 – clôture" in capsys.readouterr().out
    text = (tmp_path / "o" / "digest.txt").read_text(encoding="utf-8").replace("\u00a0", " ")
    assert "Les candidatures sont closes depuis le lundi 14 septembre 2026 à 10:00" in text


def test_without_preview_or_send_nothing_happens(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["digest", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--preview" in err and "--send" in err
    assert not (tmp_path / "o").exists()
    assert _outbox_size(data_dir) == 0


def test_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["digest", "--preview", "--at", "hier"])
    assert exit_.value.code == 2 and "date invalide" in capsys.readouterr().err


def test_unknown_programme(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["digest", "--preview", "--out", str(tmp_path / "o"), "--programme", "nope"])
    assert code == 3 and "programme inconnu" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
