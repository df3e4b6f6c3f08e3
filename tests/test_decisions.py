"""Decisions: naming an application, recording, importing the sheet (XLSX, CSV)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guichet.errors import InputError, UnknownApplication
from tests.conftest import sqlite_settings
from tests.stores import BLOSSOM, NOW, file_varied
from triage.application import structure_key
from triage.decisions import (
    SOURCE_CLI,
    SOURCE_DESK,
    SOURCE_IMPORT,
    current_decision,
    current_decisions,
    find_application,
    import_decisions,
    parse_decision,
    record_decision,
)
from triage.export import SHEET_TITLE, Table, export_table, write_csv, xlsx_bytes
from triage.models import Application, Decision, Event
from triage.store import Store, open_store

NAMES = (
    "Vélo Solidaire",
    "ASBL Logis Solidaire",
    "Potager Partagé SC",
    "Habitat Partagé",
    "DigiCoop",
)


def add_application(
    session: Session, name: str, programme_id: str = BLOSSOM.id, status: str = "complet"
) -> Application:
    application = Application(
        programme_id=programme_id, structure_key=structure_key(name), structure=name,
        status=status, missing=[], annexes={}, bilans_years=[], warnings=[],
        first_received_at=NOW, last_received_at=NOW, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    session.add(application)
    session.flush()
    return application


@pytest.fixture
def five(store: Store) -> dict[str, int]:
    """Five applications (and a namesake in another programme); their ids by name."""
    with store.sessions.begin() as session:
        ids = {name: add_application(session, name).id for name in NAMES}
        add_application(session, "Vélo Solidaire", programme_id="reves-2017")
    return ids


def sheet(rows: Sequence[Sequence[object]], path: Path) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    book.save(path)
    return path


def decisions_by_name(session: Session, ids: dict[str, int]) -> dict[str, str]:
    names = {i: name for name, i in ids.items()}
    return {names[i]: d for i, d in current_decisions(session, BLOSSOM.id).items()}


# --- words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("retenu", "retenu"), ("Retenu", "retenu"), (" RETENUE ", "retenu"),
        ("non retenu", "non_retenu"), ("non_retenu", "non_retenu"), ("Non retenu", "non_retenu"),
        ("Non-Retenu", "non_retenu"), ("liste d’attente", "attente"), ("liste d'attente", "attente"),
        ("Liste d’attente", "attente"), ("attente", "attente"), ("En attente", "attente"),
    ],
)  # fmt: skip
def test_parse_decision_reads_what_people_write(text: str, expected: str) -> None:
    assert parse_decision(text) == expected


@pytest.mark.parametrize("text", ["", "oui", "non", "peut-être", "retenu ?!x", "rejeté"])
def test_parse_decision_refuses_anything_else(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_decision(text)
    assert caught.value.message.startswith("décision illisible : « ")
    assert "(attendu : retenu, non retenu ou liste d’attente)" in caught.value.message
    assert caught.value.exit_code == 13


# --- naming an application ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Vélo Solidaire",
        "velo solidaire",
        "  VÉLO-SOLIDAIRE asbl ",
        "la velo solidaire",
        "velo solidair",
    ],
)
def test_find_application_by_name_exact_or_close(
    store: Store, five: dict[str, int], text: str
) -> None:
    with store.sessions() as session:
        found = find_application(session, BLOSSOM, text)
    assert found.id == five["Vélo Solidaire"]
    assert found.programme_id == BLOSSOM.id  # not the namesake of another programme


def test_find_application_by_number(store: Store, five: dict[str, int]) -> None:
    with store.sessions() as session:
        assert find_application(session, BLOSSOM, str(five["DigiCoop"])).structure == "DigiCoop"
        assert find_application(session, BLOSSOM, f"n° {five['Habitat Partagé']}").structure == (
            "Habitat Partagé"
        )


def test_an_ambiguous_name_lists_the_candidates(store: Store, five: dict[str, int]) -> None:
    with store.sessions() as session, pytest.raises(UnknownApplication) as caught:
        find_application(session, BLOSSOM, "solidaire")
    error = caught.value
    assert set(error.suggestions) == {"Vélo Solidaire", "ASBL Logis Solidaire"}
    assert error.message.startswith("plusieurs candidatures correspondent à « solidaire » : ")
    assert f"« Vélo Solidaire » (n° {five['Vélo Solidaire']})" in error.message
    assert f"« ASBL Logis Solidaire » (n° {five['ASBL Logis Solidaire']})" in error.message
    assert error.exit_code == 14


def test_an_unknown_name_says_so(store: Store, five: dict[str, int]) -> None:
    with store.sessions() as session:
        with pytest.raises(
            UnknownApplication, match="^aucune candidature ne correspond à « xyz »$"
        ):
            find_application(session, BLOSSOM, "xyz")
        with pytest.raises(UnknownApplication) as caught:
            find_application(session, BLOSSOM, "habitat collectif")
        assert "peut-être : « Habitat Partagé »" in caught.value.message
        with pytest.raises(UnknownApplication, match="nom d’une structure"):
            find_application(session, BLOSSOM, "  ")
        with pytest.raises(UnknownApplication):
            find_application(session, BLOSSOM, "999")  # no such number


# --- recording ----------------------------------------------------------------------------


def test_record_decision_only_when_it_changes(store: Store, five: dict[str, int]) -> None:
    velo_id = five["Vélo Solidaire"]
    later = NOW + dt.timedelta(hours=1)
    with store.sessions.begin() as session:
        velo = session.get(Application, velo_id)
        assert current_decision(session, velo_id) is None
        assert record_decision(session, velo, "retenu", SOURCE_CLI, NOW) is True
        assert record_decision(session, velo, "retenu", SOURCE_IMPORT, later) is False
        assert record_decision(session, velo, "attente", SOURCE_CLI, later, note="à revoir") is True
        with pytest.raises(ValueError):
            record_decision(session, velo, "peut-etre", SOURCE_CLI, later)
    with store.sessions() as session:
        assert current_decision(session, velo_id) == "attente"
        assert current_decisions(session, BLOSSOM.id) == {velo_id: "attente"}
        assert session.scalar(select(func.count()).select_from(Decision)) == 2
        events = session.scalars(
            select(Event).where(Event.kind == "decision").order_by(Event.id)
        ).all()
    assert [e.detail for e in events] == [
        "Décision pour « Vélo Solidaire » : « Retenu », en ligne de commande.",
        (
            "Décision pour « Vélo Solidaire » : « Liste d’attente » (auparavant « Retenu »), "
            "en ligne de commande – à revoir."
        ),
    ]
    assert events[1].application_id == velo_id
    assert events[1].data == {
        "decision": "attente", "previous": "retenu", "source": "cli", "note": "à revoir",
    }  # fmt: skip


def test_the_latest_decision_counts_whatever_the_insertion_order(
    store: Store, five: dict[str, int]
) -> None:
    with store.sessions.begin() as session:
        potager = session.get(Application, five["Potager Partagé SC"])
        record_decision(session, potager, "non_retenu", SOURCE_CLI, NOW)
        record_decision(session, potager, "retenu", SOURCE_CLI, NOW)  # same instant: the later row
    with store.sessions() as session:
        assert current_decisions(session, BLOSSOM.id) == {five["Potager Partagé SC"]: "retenu"}


# --- importing ----------------------------------------------------------------------------


def moved_sheet(ids: dict[str, int], path: Path) -> Path:
    """The sheet as a coordinator leaves it: a title row, columns moved, notes added."""
    return sheet(
        [
            ["Sélection BLOSSOM – comité du 28 septembre"],
            ["Décision", "Structure", "Commentaire", "N°"],
            ["Retenu", "Vélo Solidaire", "très bon dossier", ids["Vélo Solidaire"]],
            [None, "ASBL Logis Solidaire", "à discuter", ids["ASBL Logis Solidaire"]],
            ["liste d'attente", "Potager Partagé SC", None, float(ids["Potager Partagé SC"])],
            ["Retenu", "Inconnue", None, 999],
            ["Non retenu", "DigiCoop", "ligne décalée par un tri", ids["Habitat Partagé"]],
            ["bof", "DigiCoop", None, ids["DigiCoop"]],
            ["Retenu", "Habitat Partagé", None, "douze"],
            ["Non retenu", "Vélo Solidaire", "doublon contradictoire", ids["Vélo Solidaire"]],
            [],
        ],
        path,
    )


def test_import_reads_moved_columns_and_reports_bad_rows(
    store: Store, five: dict[str, int], tmp_path: Path
) -> None:
    path = moved_sheet(five, tmp_path / "décisions.xlsx")
    with store.sessions.begin() as session:
        report = import_decisions(session, BLOSSOM, path, NOW)
    assert report.source == "décisions.xlsx"
    assert [(c.row, c.structure, c.before, c.after) for c in report.changes] == [
        (3, "Vélo Solidaire", None, "retenu"),
        (5, "Potager Partagé SC", None, "attente"),
    ]
    assert report.unchanged == 0
    reasons = {s.row: s.reason for s in report.skipped}
    assert list(reasons) == [6, 7, 8, 9, 10]
    assert reasons[6] == "N° 999 : aucune candidature de ce numéro"
    assert reasons[7] == (
        f"N° {five['Habitat Partagé']} est « Habitat Partagé », pas « DigiCoop » "
        "(lignes déplacées ?) : ligne ignorée"
    )
    assert reasons[8].startswith("« DigiCoop » : décision illisible : « bof »")
    assert reasons[9] == "N° « douze » : ligne ignorée"
    assert reasons[10] == (
        "« Vélo Solidaire » : autre décision déjà lue ligne 3 (« Retenu ») : ligne ignorée"
    )
    with store.sessions() as session:
        assert decisions_by_name(session, five) == {
            "Vélo Solidaire": "retenu",
            "Potager Partagé SC": "attente",
        }
        note = session.scalars(select(Decision.note).where(Decision.source == "import")).first()
    assert note == "décisions.xlsx, ligne 3"


def test_importing_the_same_sheet_again_changes_nothing(
    store: Store, five: dict[str, int], tmp_path: Path
) -> None:
    path = moved_sheet(five, tmp_path / "décisions.xlsx")
    with store.sessions.begin() as session:
        import_decisions(session, BLOSSOM, path, NOW)
    with store.sessions.begin() as session:
        again = import_decisions(session, BLOSSOM, path, NOW + dt.timedelta(days=1))
    assert again.changes == []
    assert again.unchanged == 2
    assert len(again.skipped) == 5
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 2


def test_import_of_a_csv_saved_by_french_excel(sqlite_store: Store, tmp_path: Path) -> None:
    with sqlite_store.sessions.begin() as session:
        ids = {name: add_application(session, name).id for name in NAMES}
    text = (
        "N°;Structure;Décision\r\n"
        f"{ids['Habitat Partagé']};Habitat Partagé;Non retenu\r\n"
        f"{ids['DigiCoop']};DigiCoop;Liste d'attente\r\n"
    )
    path = tmp_path / "decisions.csv"
    path.write_bytes(text.encode("cp1252"))  # Excel's « CSV (séparateur : point-virgule) »
    with sqlite_store.sessions.begin() as session:
        report = import_decisions(session, BLOSSOM, path, NOW)
    assert [c.after for c in report.changes] == ["non_retenu", "attente"]
    assert report.skipped == []


def test_import_of_the_exported_csv(sqlite_store: Store, tmp_path: Path) -> None:
    with sqlite_store.sessions.begin() as session:
        add_application(session, "=Cantine des Quartiers")  # a name that looks like a formula
        add_application(session, "DigiCoop")
    with sqlite_store.sessions() as session:
        table = export_table(session, BLOSSOM)
    at = table.headers.index("Décision")
    decided = Table(
        headers=table.headers,
        rows=[[*row[:at], "Retenu", *row[at + 1 :]] for row in table.rows],
    )
    write_csv(decided, tmp_path / "export.csv")
    with sqlite_store.sessions.begin() as session:
        report = import_decisions(session, BLOSSOM, tmp_path / "export.csv", NOW)
    assert sorted(c.structure for c in report.changes) == ["=Cantine des Quartiers", "DigiCoop"]
    assert report.skipped == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("decisions.xlsx", b"bonjour", "decisions.xlsx : ni un classeur Excel (.xlsx) ni un fichier CSV"),
        ("decisions.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 64, "ancien format Excel (.xls)"),
        ("decisions.xlsx", None, "decisions.xlsx : classeur Excel illisible"),
        ("decisions.csv", "Nom;Décision\r\nDigiCoop;Retenu\r\n".encode(), "colonnes « N° » et « Décision » introuvables"),
    ],
)  # fmt: skip
def test_import_refuses_a_file_it_cannot_use(
    sqlite_store: Store, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is None:  # a zip, but not a workbook
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "rien")
    else:
        path.write_bytes(content)
    with sqlite_store.sessions() as session, pytest.raises(InputError) as caught:
        import_decisions(session, BLOSSOM, path, NOW)
    assert message in caught.value.message
    assert caught.value.exit_code == 13


def test_import_of_a_missing_file(sqlite_store: Store, tmp_path: Path) -> None:
    with sqlite_store.sessions() as session, pytest.raises(InputError, match="illisible"):
        import_decisions(session, BLOSSOM, tmp_path / "absent.xlsx", NOW)


# --- the round trip on real dossiers ------------------------------------------------------


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory, checker: Callable) -> Iterator[Store]:
    with open_store(sqlite_settings(tmp_path_factory.mktemp("decisions"))) as store:
        file_varied(store, checker)
        yield store


def test_export_fill_move_import(varied: Store, tmp_path: Path) -> None:
    with varied.sessions() as session:
        exported = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(export_table(session, BLOSSOM))))
    rows = [list(r) for r in exported[SHEET_TITLE].iter_rows(values_only=True)]
    head = rows[0]
    structure, decision = head.index("Structure"), head.index("Décision")
    wanted = {
        "Vélo Solidaire": "Retenu",
        "DigiCoop": "Non retenu",
        "Bois & Récup": "Liste d’attente",
    }
    for row in rows[1:]:
        row[decision] = wanted.get(row[structure])
    # the coordinator puts « Décision » first and « N° » last
    order = [decision, *[i for i in range(len(head)) if i not in (0, decision)], 0]
    moved = sheet([[row[i] for i in order] for row in rows], tmp_path / "comité.xlsx")

    with varied.sessions() as session:  # never committed: the module's store stays undecided
        report = import_decisions(session, BLOSSOM, moved, NOW)
        assert report.skipped == []
        assert {c.structure: c.after for c in report.changes} == {
            "Vélo Solidaire": "retenu",
            "DigiCoop": "non_retenu",
            "Bois & Récup": "attente",
        }
        recorded = {
            session.get(Application, i).structure: d
            for i, d in current_decisions(session, BLOSSOM.id).items()
        }
        assert recorded == {
            "Vélo Solidaire": "retenu",
            "DigiCoop": "non_retenu",
            "Bois & Récup": "attente",
        }
        again = export_table(session, BLOSSOM)
    labels = dict(zip(again.column("Structure"), again.column("Décision"), strict=True))
    assert {k: v for k, v in labels.items() if v} == wanted


def test_a_new_note_on_the_same_decision_is_kept_and_no_note_leaves_it(
    store: Store, five: dict[str, int]
) -> None:
    """One recorder for the command line, the sheet and the desk: the same decision with
    another note is recorded (by whom, when given); without a note it changes nothing."""
    velo_id = five["Vélo Solidaire"]
    later = NOW + dt.timedelta(hours=1)
    with store.sessions.begin() as session:
        velo = session.get(Application, velo_id)
        assert record_decision(session, velo, "retenu", SOURCE_CLI, NOW, note="solide")
        assert not record_decision(session, velo, "retenu", SOURCE_IMPORT, later)
        assert not record_decision(session, velo, "retenu", SOURCE_CLI, later, note="solide")
        assert record_decision(
            session, velo, "retenu", SOURCE_DESK, later, note="budget à revoir", by="marie@x.test"
        )
    with store.sessions() as session:
        rows = session.scalars(select(Decision).order_by(Decision.id)).all()
        assert [(r.note, r.decided_by) for r in rows] == [
            ("solide", None), ("budget à revoir", "marie@x.test")
        ]
        last = session.scalars(
            select(Event).where(Event.kind == "decision").order_by(Event.id.desc())
        ).first()
    assert last is not None and last.detail == (
        "Décision pour « Vélo Solidaire » : « Retenu », sur le bureau par marie@x.test "
        "– budget à revoir."
    )
