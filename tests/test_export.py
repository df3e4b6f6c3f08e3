"""The coordinators' spreadsheet: columns, values read from real dossiers, XLSX and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import sqlite_settings
from tests.samples import comparable, truth_of
from tests.stores import BLOSSOM, DOSSIERS, NOW, file_varied
from triage.decisions import SOURCE_CLI, find_application, record_decision
from triage.export import (
    SHEET_TITLE,
    Table,
    export_table,
    field_headers,
    headers,
    shorten,
    write_csv,
    write_xlsx,
    xlsx_bytes,
)
from triage.store import Store, open_store

FIXED = [
    "N°",
    "Structure",
    "Statut",
    "Décision",
    "Note",
    "Manquant",
    "À vérifier",
    "Avertissements",
    "Premier envoi",
    "Dernier envoi",
    "Versions",
    "Dossier",
    "Moyenne autodiagnostic",
]
VARIED = [  # the applications of ``file_varied``, by structure name (casefold)
    "ASBL Logis Solidaire",
    "Bois & Récup",
    "Cantine des Quartiers",
    "Crèche Les Petits Pas",
    "DigiCoop",
    "Habitat Partagé",
    "Le Fournil Coopératif",
    "Potager Partagé SC",
    "Ressourcerie du Midi SC",
    "Vélo Solidaire",
]


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory, checker: Callable) -> Iterator[Store]:
    """Ten applications in every status, filed once for the module (SQLite)."""
    with open_store(sqlite_settings(tmp_path_factory.mktemp("export"))) as store:
        file_varied(store, checker)
        yield store


def row_of(table: Table, structure: str) -> dict[str, object]:
    rows = [r for r in table.rows if r[1] == structure]
    assert len(rows) == 1, structure
    return dict(zip(table.headers, rows[0], strict=True))


# --- columns ------------------------------------------------------------------------------


def test_headers_follow_the_form_with_the_decision_after_the_status() -> None:
    found = headers(BLOSSOM)
    assert found[: len(FIXED)] == FIXED
    assert found.index("Décision") == found.index("Statut") + 1
    assert found[-1] == "Autres pièces jointes"
    assert len(found) == len(set(found)), "headers must be unique"
    fields = field_headers(BLOSSOM)
    assert [spec.key for spec, _ in fields] == BLOSSOM.field_keys()  # the form's order
    assert found[len(FIXED) : len(FIXED) + len(fields)] == [head for _, head in fields]
    assert found[-5:] == [
        "Annexe : Vos statuts",
        "Annexe : Votre dernier rapport d’activité",
        "Annexe : Les bilans comptables des 2 dernières années",
        "Annexe : Le CV de la personne référente pour COOPCITY",
        "Autres pièces jointes",
    ]
    by_key = {spec.key: head for spec, head in fields}
    assert by_key["entreprise.forme_juridique"] == "Forme juridique"
    assert by_key["entreprise.agrement"] == "Agrément d’entreprise sociale"  # the short variant
    assert by_key["referent.nom"] == "Référent – Nom"
    assert by_key["signature.contact_nom"] == "Signature – Nom, prénom (1)"
    assert by_key["signature.administrateur_nom"] == "Signature – Nom, prénom (2)"
    assert by_key["description.q1"].startswith("B1. En quoi consiste votre entreprise ?")
    assert by_key["description.q13"].startswith("B13. ")
    assert by_key["autodiagnostic.7"].startswith("E7. Il existe des modalités")
    assert by_key["entreprise.accompagnement_detail"].endswith(" : précisions")
    assert all(len(head) <= 75 for head in found), [h for h in found if len(h) > 75]


def test_a_form_without_scores_has_no_mean_column() -> None:
    from config.programme import load_programme

    found = headers(load_programme("reves-2017"))
    assert "Moyenne autodiagnostic" not in found
    assert found[3:5] == ["Décision", "Note"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Forme juridique", "Forme juridique"),
        ("Où vous projetez-vous à l’issue du programme d’accompagnement (environ 9 mois) ?",
         "Où vous projetez-vous à l’issue du programme …"),
        ("un\nlibellé   sur deux lignes", "un libellé sur deux lignes"),
    ],
)  # fmt: skip
def test_shorten_cuts_at_a_word(text: str, expected: str) -> None:
    assert shorten(text, 50) == expected


# --- rows from real dossiers --------------------------------------------------------------


def test_one_row_per_application_sorted_by_structure(varied: Store) -> None:
    with varied.sessions() as session:
        table = export_table(session, BLOSSOM)
    assert table.column("Structure") == VARIED
    assert all(len(row) == len(table.headers) for row in table.rows)
    statuses = dict(zip(table.column("Structure"), table.column("Statut"), strict=True))
    assert statuses["DigiCoop"] == "Hors délai"
    assert statuses["Potager Partagé SC"] == "Complet"
    assert statuses["Bois & Récup"] == "Incomplet"
    digicoop = row_of(table, "DigiCoop")
    assert "après la clôture" in str(digicoop["Avertissements"])


def test_a_row_holds_the_dossier_as_the_form_says(varied: Store) -> None:
    truth = truth_of(DOSSIERS / "g03-mixed-labels-npar3.docx")["fields"]
    with varied.sessions() as session:
        table = export_table(session, BLOSSOM)
    row = row_of(table, "Vélo Solidaire")
    by_key = {spec.key: row[head] for spec, head in field_headers(BLOSSOM)}

    assert row["Statut"] == "Incomplet"
    assert row["Manquant"] == (
        "Les bilans comptables des 2 dernières années ; "
        "Le CV de la personne référente pour COOPCITY"
    )
    assert row["Premier envoi"] == dt.datetime(2026, 9, 3, 9, 0)  # Brussels time, as received
    assert row["Dernier envoi"] == dt.datetime(2026, 9, 3, 9, 0)
    assert row["Versions"] == 1
    scores = [truth[f"autodiagnostic.{n}"] for n in range(1, 8)]
    assert row["Moyenne autodiagnostic"] == round(statistics.mean(scores), 1) == 5.9
    assert row["Annexe : Vos statuts"] == "Statuts.pdf"
    assert row["Annexe : Le CV de la personne référente pour COOPCITY"] == "non"
    assert row["Décision"] is None and row["Note"] is None
    assert row["Dossier"] == "Dossier Vélo Solidaire.docx"

    assert by_key["entreprise.numero"] == "0725.922.660"
    assert by_key["entreprise.date_creation"] == dt.date(2022, 10, 24)
    assert by_key["referent.date_naissance"] == dt.date(1962, 6, 12)
    assert by_key["entreprise.etp"] == 3.0
    assert by_key["entreprise.agrement"] == "oui"
    assert by_key["entreprise.accompagnement"] == "non"
    assert by_key["entreprise.structure_capital"] is None
    assert by_key["referent.niveau_etudes"] == "secondaire inférieur"
    assert by_key["autodiagnostic.1"] == 8
    assert by_key["signature.date"] == dt.date(2026, 9, 12)
    texts = [
        spec.key
        for spec in BLOSSOM.form.fields()
        if spec.type in ("text", "email", "phone") and isinstance(truth.get(spec.key), str)
    ]
    assert len(texts) > 30
    for key in texts:
        assert comparable(by_key[key]) == comparable(truth[key]), key


def test_the_decision_column_shows_the_current_decision(varied: Store) -> None:
    with varied.sessions() as session:  # rolled back at the end
        velo = find_application(session, BLOSSOM, "Vélo Solidaire")
        record_decision(session, velo, "retenu", SOURCE_CLI, NOW)
        record_decision(session, velo, "attente", SOURCE_CLI, NOW + dt.timedelta(minutes=1))
        digicoop = find_application(session, BLOSSOM, "DigiCoop")
        record_decision(session, digicoop, "non_retenu", SOURCE_CLI, NOW, "budget")
        table = export_table(session, BLOSSOM)
    decisions = dict(zip(table.column("Structure"), table.column("Décision"), strict=True))
    notes = dict(zip(table.column("Structure"), table.column("Note"), strict=True))
    assert notes["DigiCoop"] == "budget" and notes["Vélo Solidaire"] is None
    assert decisions["Vélo Solidaire"] == "Liste d’attente"
    assert decisions["DigiCoop"] == "Non retenu"
    assert [s for s, d in decisions.items() if d is None] == [
        s for s in VARIED if s not in ("Vélo Solidaire", "DigiCoop")
    ]


def test_the_same_table_on_sqlite_and_postgresql(store: Store, checker: Callable) -> None:
    file_varied(store, checker)
    with store.sessions() as session:
        table = export_table(session, BLOSSOM)
    assert table.column("Structure") == VARIED
    row = row_of(table, "Cantine des Quartiers")
    assert row["Statut"] == "Complet"
    assert row["Premier envoi"] == dt.datetime(2026, 9, 10, 16, 20)
    assert isinstance(row["Moyenne autodiagnostic"], float)


def test_an_answer_to_check_has_its_column_beside_the_missing_one(
    tmp_path: Path, checker: Callable
) -> None:
    from tests.mails import brussels, fixture
    from tests.stores import dossier_mail, file_mails

    with open_store(sqlite_settings(tmp_path)) as store:
        file_mails(store, [(fixture("unread_creation_date"), brussels(2026, 9, 8, 10, 30)),
                           (dossier_mail("g02-nextline-npar2"), brussels(2026, 9, 2, 10, 15))],
                   checker)  # fmt: skip
        with store.sessions() as session:
            table = export_table(session, BLOSSOM)
    assert table.headers.index("À vérifier") == table.headers.index("Manquant") + 1
    creche = row_of(table, "Crèche Arc-en-Ciel Coop")
    assert creche["Statut"] == "Complet" and creche["Manquant"] is None
    assert creche["À vérifier"] == "Date de création – « le lendemain de notre AG »"
    date_head = dict((spec.key, head) for spec, head in field_headers(BLOSSOM))
    assert creche[date_head["entreprise.date_creation"]] is None  # no value made up
    assert row_of(table, "Potager Partagé SC")["À vérifier"] is None
    path = tmp_path / "candidatures.xlsx"
    write_xlsx(table, path)
    sheet = openpyxl.load_workbook(path)[SHEET_TITLE]
    column = [c.value for c in sheet[1]].index("À vérifier")
    cells = [row[column].value for row in sheet.iter_rows(min_row=2)]
    assert "Date de création – « le lendemain de notre AG »" in cells


# --- writing ------------------------------------------------------------------------------

HOSTILE = Table(
    headers=["N°", "Structure", "Réponse", "Date", "Envoi", "Score", "Décision"],
    rows=[
        [1, "=HYPERLINK(\"http://evil.test\",\"clic\")", "+32475539727", dt.date(2022, 10, 24),
         dt.datetime(2026, 9, 3, 9, 0), 5.9, "Retenu"],
        [2, "@SUM(A1:A2)", "-2+3", None, None, None, None],
        [3, "Cloche\x07 et\x1b échappement", "#N/A", None, None, 7, None],
        [4, "Longue", "ligne un\nligne deux " + "x" * 80, None, None, None, None],
    ],
)  # fmt: skip


def test_xlsx_keeps_applicant_text_as_text(tmp_path: Path) -> None:
    path = tmp_path / "candidatures.xlsx"
    write_xlsx(HOSTILE, path)
    assert path.stat().st_mode & 0o777 == 0o600
    sheet = openpyxl.load_workbook(path)[SHEET_TITLE]
    assert [c.value for c in sheet[1]] == HOSTILE.headers
    assert sheet["B2"].value == '=HYPERLINK("http://evil.test","clic")'
    assert sheet["B2"].data_type == "s"  # not a formula
    assert sheet["B2"].quotePrefix
    assert sheet["C2"].value == "+32475539727" and sheet["C2"].data_type == "s"
    assert sheet["B3"].value == "@SUM(A1:A2)" and sheet["B3"].data_type == "s"
    assert sheet["C4"].value == "#N/A" and sheet["C4"].data_type == "s"  # not an error value
    assert sheet["B4"].value == "Cloche et échappement"  # control characters dropped
    assert sheet["D2"].value == dt.datetime(2022, 10, 24)  # a real date…
    assert sheet["D2"].number_format == "DD/MM/YYYY"  # …shown the Belgian way
    assert sheet["E2"].value == dt.datetime(2026, 9, 3, 9, 0)
    assert sheet["F2"].value == 5.9


def test_xlsx_layout_for_coordinators() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(HOSTILE)))[SHEET_TITLE]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "C2"
    assert sheet.auto_filter.ref == "A1:G5"
    assert sheet["C5"].alignment.wrap_text  # a long answer wraps
    assert sheet.column_dimensions["C"].width == 50
    (validation,) = sheet.data_validations.dataValidation
    assert str(validation.sqref) == "G2:G5"  # the « Décision » column
    assert validation.formula1 == '"Retenu,Non retenu,Liste d’attente"'


def test_xlsx_of_an_empty_table() -> None:
    empty = Table(headers=headers(BLOSSOM), rows=[])
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(empty)))[SHEET_TITLE]
    assert [c.value for c in sheet[1]] == empty.headers
    assert sheet.max_row == 1


def test_csv_for_french_excel(tmp_path: Path) -> None:
    path = tmp_path / "candidatures.csv"
    write_csv(HOSTILE, path)
    assert path.stat().st_mode & 0o777 == 0o600
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == HOSTILE.headers
    assert rows[1] == [
        "1",
        '\'=HYPERLINK("http://evil.test","clic")',
        "'+32475539727",
        "24/10/2022",
        "03/09/2026 09:00",
        "5,9",
        "Retenu",
    ]
    assert rows[2][1:3] == ["'@SUM(A1:A2)", "'-2+3"]
    assert rows[3][1] == "Cloche et échappement"
    assert rows[4][2].startswith("ligne un\nligne deux")  # quoted, line break kept
    assert len(rows) == 5


def test_files_link_to_the_desk_and_rows_fit_their_answers(varied: Store) -> None:
    with varied.sessions() as session:
        table = export_table(session, BLOSSOM, desk_url="https://bureau.coopcity.test/")
        velo = find_application(session, BLOSSOM, "Vélo Solidaire").id
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(table)))[SHEET_TITLE]
    head = [c.value for c in sheet[1]]
    line = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "Vélo Solidaire")
    page = f"https://bureau.coopcity.test/candidatures/{velo}"
    assert line[head.index("Structure")].hyperlink.target == page
    assert line[head.index("Dossier")].hyperlink.target == page + "/dossier"
    assert line[head.index("Annexe : Vos statuts")].hyperlink.target == page + "#t-pieces"
    assert line[head.index("Annexe : Le CV de la personne référente pour COOPCITY")].hyperlink is None
    heights = [sheet.row_dimensions[r].height for r in range(2, sheet.max_row + 1)]
    assert len(set(heights)) > 1  # each row as high as its own answers
    assert all(15 <= h <= 15 * 12 for h in heights)
    without = export_table(session, BLOSSOM, desk_url="")
    assert without.links == []


def test_row_height_counts_wrapped_lines() -> None:
    from triage.export import row_height

    assert row_height([1, "court"], [8, 50], [False, True]) == 15
    assert row_height([1, "x" * 98], [8, 50], [False, True]) == 30  # 49 characters a line
    assert row_height([1, "a\nb\nc"], [8, 50], [False, True]) == 45
    assert row_height([1, "x" * 5000], [8, 50], [False, True]) == 15 * 12  # capped


def test_the_sheet_shows_the_coordinators_corrections(varied: Store) -> None:
    from triage.review import correct_field, set_status

    with varied.sessions() as session:  # rolled back at the end
        app = find_application(session, BLOSSOM, "Ressourcerie du Midi SC")
        key = "description.q12"
        assert key in app.missing
        before = row_of(export_table(session, BLOSSOM), "Ressourcerie du Midi SC")
        head = next(h for spec, h in field_headers(BLOSSOM) if spec.key == key)
        assert before[head] is None
        correct_field(session, varied.archive, BLOSSOM, app, key, "Relu à la main", "m@c.test", NOW)
        after = row_of(export_table(session, BLOSSOM), "Ressourcerie du Midi SC")
        assert after[head] == "Relu à la main"
        assert "Description du projet, question 12" not in (after["Manquant"] or "")
        set_status(session, varied.archive, BLOSSOM, app, "retire", "Abandon", "m@c.test", NOW)
        withdrawn = row_of(export_table(session, BLOSSOM), "Ressourcerie du Midi SC")
        assert withdrawn["Statut"] == "Retiré"  # still in the sheet
        session.rollback()
