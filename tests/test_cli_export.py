"""`guichet export`, `guichet decide` and `guichet decisions import`, through ``main``."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from guichet import cli
from tests.conftest import sqlite_settings
from tests.stores import BLOSSOM, file_varied
from triage.decisions import current_decisions
from triage.export import SHEET_TITLE
from triage.models import Application, Decision
from triage.store import Store, StoreSettings, open_store

Main = Callable[[list[str]], int]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, checker: Callable) -> Path:
    """A data folder holding the ten varied applications, closed (copied by each test)."""
    settings = sqlite_settings(tmp_path_factory.mktemp("cli-export"))
    with open_store(settings) as store:
        file_varied(store, checker)
    return settings.data_dir


def point_at(monkeypatch: pytest.MonkeyPatch, settings: StoreSettings) -> None:
    monkeypatch.setenv("GUICHET_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GUICHET_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GUICHET_PROGRAMME", BLOSSOM.id)


@pytest.fixture
def settings(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StoreSettings:
    """A copy of the seeded store for one test, and the environment pointing at it."""
    copied = sqlite_settings(tmp_path)
    shutil.copytree(seeded, copied.data_dir)
    point_at(monkeypatch, copied)
    return copied


@pytest.fixture
def guichet(settings: StoreSettings) -> Main:
    return cli.main


def ids(settings: StoreSettings) -> dict[str, int]:
    with open_store(settings) as store, store.sessions() as session:
        return {a.structure: a.id for a in session.query(Application)}


def decided(settings: StoreSettings) -> dict[str, tuple[str, str | None]]:
    """Structure -> (current decision, its note)."""
    with open_store(settings) as store, store.sessions() as session:
        names = {a.id: a.structure for a in session.query(Application)}
        notes = {d.application_id: d.note for d in session.query(Decision).order_by(Decision.id)}
        return {names[i]: (d, notes[i]) for i, d in current_decisions(session, BLOSSOM.id).items()}


# --- export -------------------------------------------------------------------------------


def test_export_writes_both_files_for_their_owner_only(
    guichet: Main, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xlsx, csv_path = tmp_path / "candidatures.xlsx", tmp_path / "candidatures.csv"
    assert guichet(["export", "--xlsx", str(xlsx), "--csv", str(csv_path)]) == 0
    assert capsys.readouterr().out == (
        f"BLOSSOM 2026-2027 : 10 candidatures exportées dans « {xlsx} » et « {csv_path} ».\n"
    )
    for path in (xlsx, csv_path):
        assert path.stat().st_mode & 0o777 == 0o600
    sheet = openpyxl.load_workbook(xlsx)[SHEET_TITLE]
    assert sheet.max_row == 11
    assert sheet["B2"].value == "ASBL Logis Solidaire"
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert [r[1] for r in rows[1:]] == [c.value for c in sheet["B"][1:]]


def test_export_overwrites_an_open_file_with_private_rights(guichet: Main, tmp_path: Path) -> None:
    xlsx = tmp_path / "candidatures.xlsx"
    xlsx.write_bytes(b"ancien")
    xlsx.chmod(0o644)
    assert guichet(["export", "--xlsx", str(xlsx)]) == 0
    assert xlsx.stat().st_mode & 0o777 == 0o600
    assert xlsx.read_bytes().startswith(b"PK")


def test_export_needs_a_file(guichet: Main, capsys: pytest.CaptureFixture[str]) -> None:
    assert guichet(["export"]) == 13
    assert capsys.readouterr().err == (
        "guichet : précisez le fichier à écrire : --xlsx FICHIER et/ou --csv FICHIER\n"
    )


def test_export_to_a_missing_folder(
    guichet: Main, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "absent" / "candidatures.xlsx"
    assert guichet(["export", "--xlsx", str(target)]) == 13
    assert capsys.readouterr().err.startswith(f"guichet : {target} : écriture impossible (")


# --- decide -------------------------------------------------------------------------------


def test_decide_by_an_approximate_name(
    guichet: Main, settings: StoreSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    velo = ids(settings)["Vélo Solidaire"]
    assert guichet(["decide", "velo solidair", "retenu"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"Candidature : « Vélo Solidaire » (n° {velo}, incomplet).",
        "Décision « Retenu » enregistrée.",
    ]
    assert guichet(["decide", "Vélo Solidaire", "Retenu"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "Décision déjà « Retenu » : rien n’a changé."
    )
    assert guichet(["decide", str(velo), "liste d’attente", "--note", "budget"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "Décision « Liste d’attente » enregistrée (auparavant « Retenu »)."
    )
    assert decided(settings) == {"Vélo Solidaire": ("attente", "budget")}


def test_decide_with_an_ambiguous_name_records_nothing(
    guichet: Main, settings: StoreSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert guichet(["decide", "solidaire", "retenu"]) == 14
    err = capsys.readouterr().err
    assert err.startswith("guichet : plusieurs candidatures correspondent à « solidaire » : ")
    assert "« Vélo Solidaire »" in err and "« ASBL Logis Solidaire »" in err
    assert decided(settings) == {}


def test_decide_with_an_unreadable_decision(
    guichet: Main, settings: StoreSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert guichet(["decide", "DigiCoop", "peut-être"]) == 13
    assert capsys.readouterr().err == (
        "guichet : décision illisible : « peut-être » "
        "(attendu : retenu, non retenu ou liste d’attente)\n"
    )
    assert decided(settings) == {}


# --- decisions import ---------------------------------------------------------------------


def filled(guichet: Main, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The exported workbook with two decisions and a row of an unknown number."""
    path = tmp_path / "comité.xlsx"
    assert guichet(["export", "--xlsx", str(path)]) == 0
    capsys.readouterr()
    book = openpyxl.load_workbook(path)
    sheet = book[SHEET_TITLE]
    head = [c.value for c in sheet[1]]
    decision, structure = head.index("Décision") + 1, head.index("Structure") + 1
    for row in range(2, sheet.max_row + 1):
        name = sheet.cell(row, structure).value
        if name == "DigiCoop":
            sheet.cell(row, decision, "Non retenu")
        elif name == "Cantine des Quartiers":
            sheet.cell(row, decision, "Retenu")
    ghost: list[object] = [999, "Fantôme"] + [None] * (len(head) - 2)
    ghost[decision - 1] = "Retenu"
    sheet.append(ghost)
    book.save(path)
    return path


def test_decisions_import_dry_run_then_for_real(
    guichet: Main, settings: StoreSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = filled(guichet, tmp_path, capsys)

    assert guichet(["decisions", "import", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == (
        "« comité.xlsx » : 2 décisions seraient enregistrées, 0 déjà à jour, 1 ligne ignorée."
    )
    assert "Cantine des Quartiers" in out and "DigiCoop" in out and "Non retenu" in out
    assert "  • ligne 12 : N° 999 : aucune candidature de ce numéro" in lines
    assert lines[-1] == "Simulation (--dry-run) : rien n’a été enregistré."
    assert decided(settings) == {}

    assert guichet(["decisions", "import", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "« comité.xlsx » : 2 décisions enregistrées, 0 déjà à jour, 1 ligne ignorée."
    assert "Simulation" not in lines[-1]
    assert decided(settings) == {
        "Cantine des Quartiers": ("retenu", "comité.xlsx, ligne 4"),
        "DigiCoop": ("non_retenu", "comité.xlsx, ligne 6"),
    }

    assert guichet(["decisions", "import", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [  # no table of changes
        "« comité.xlsx » : 0 décision enregistrée, 2 déjà à jour, 1 ligne ignorée.",
        "Lignes ignorées :",
        "  • ligne 12 : N° 999 : aucune candidature de ce numéro",
    ]


def test_decisions_import_of_something_else(
    guichet: Main, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Retenu : DigiCoop\n", encoding="utf-8")
    assert guichet(["decisions", "import", str(path)]) == 13
    assert capsys.readouterr().err == (
        "guichet : notes.txt : colonnes « N° » et « Décision » introuvables (le fichier doit "
        "être le tableau exporté par « guichet export »)\n"
    )


@pytest.mark.parametrize("argv", [["export"], ["decide"], ["decisions"], ["decisions", "import"]])
def test_every_command_has_a_french_help_with_an_example(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main([*argv, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "exemples :" in out
    assert "guichet " + argv[0] in out.split("exemples :")[1]


# --- on both databases --------------------------------------------------------------------


def test_export_and_decide_on_each_database(
    store: Store,
    checker: Callable,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    file_varied(store, checker)
    point_at(monkeypatch, store.settings)
    assert cli.main(["decide", "cantine quartiers", "non_retenu"]) == 0
    assert "« Cantine des Quartiers »" in capsys.readouterr().out
    path = tmp_path / "candidatures.xlsx"
    assert cli.main(["export", "--xlsx", str(path)]) == 0
    sheet = openpyxl.load_workbook(path)[SHEET_TITLE]
    head = [c.value for c in sheet[1]]
    rows = {r[1]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["Cantine des Quartiers"][head.index("Décision")] == "Non retenu"
    assert rows["DigiCoop"][head.index("Décision")] is None
