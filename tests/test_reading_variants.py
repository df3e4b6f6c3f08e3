"""Every way of filling that issue #10 measured as read wrong, one test each.

Each test edits one thing in an otherwise complete dossier (``tests.filled_form``) and
checks the fields it touches, that every other field still reads right, and that the
dossier is still complete: a complete application must never be told it is incomplete.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from parsers.dossier import ParsedDossier, parse_dossier
from tests.filled_form import FilledForm, expected
from tests.samples import comparable

Edit = Callable[[FilledForm], None]


def read(form: FilledForm) -> ParsedDossier:
    return parse_dossier(form.save(), "dossier.docx", "blossom-2026")


def check(parsed: ParsedDossier, **changed: object) -> None:
    """Fields as the complete dossier says, but for ``changed`` (keys with __ for .);
    text compared as the samples' README says (whitespace aside)."""
    want = expected()
    want.update({key.replace("__", "."): value for key, value in changed.items()})
    wrong = {k: (parsed.fields[k], v) for k, v in want.items() if comparable(parsed.fields[k]) != comparable(v)}
    assert not wrong, wrong
    assert parsed.missing == []
    assert parsed.unread == []


# -- place and date ----------------------------------------------------------------------


def test_place_and_date_on_one_line_with_the_le_line_deleted() -> None:
    form = FilledForm()
    form.replace("Fait à", "Fait à Etterbeek, le 23 août 2026")
    form.delete(form.find("Le 01/09/2026"))
    check(read(form), signature__lieu="Etterbeek", signature__date="2026-08-23")


def test_date_label_instead_of_le() -> None:
    form = FilledForm()
    form.replace("Le 01/09/2026", "Date : 08/09/2026")
    check(read(form), signature__date="2026-09-08")


def test_place_and_date_in_one_paragraph_split_by_a_line_break() -> None:
    form = FilledForm()
    form.set_lines(form.find("Fait à"), "Fait à Bruxelles", "Date : 08/09/2026")
    form.delete(form.find("Le 01/09/2026"))
    check(read(form), signature__date="2026-09-08")


# -- signature table -----------------------------------------------------------------------


def test_signature_cells_with_label_and_answer_and_no_colon() -> None:
    form = FilledForm()
    form.cell(0, 0).text = "Nom, prénom Judith Van Damme"
    form.cell(1, 0).text = "Fonction Gérante"
    form.cell(0, 1).text = "Nom, prénom Paul Lejeune"
    form.cell(1, 1).text = "Fonction Président"
    check(read(form))


def test_signature_answer_on_its_own_line_in_the_cell() -> None:
    form = FilledForm()
    form.cell(0, 0).text = "Nom, prénom"
    form.insert_after(form.cell(0, 0), "Judith Van Damme")
    check(read(form))


# -- oui/non -------------------------------------------------------------------------------

ACCOMPAGNEMENT = "Etes-vous (ou avez-vous été) accompagnés par une autre structure (type SMart, Jobyourself, Village Partenaire, Start Lab, Fondation Roi Baudouin, etc.) ?"


@pytest.mark.parametrize(
    ("written", "answer", "detail"),
    [
        (f"{ACCOMPAGNEMENT} : oui/non : Oui, par Groupe One", True, "par Groupe One"),
        (f"{ACCOMPAGNEMENT} : oui/non Non", False, None),
        (f"{ACCOMPAGNEMENT} oui/non Oui (SAW-B)", True, "SAW-B"),
        (f"{ACCOMPAGNEMENT} : Oui", True, None),
        (f"{ACCOMPAGNEMENT} : oui", True, None),
    ],
)
def test_yes_no_answered_after_the_printed_options(written: str, answer: bool, detail: str | None) -> None:
    form = FilledForm()
    form.replace("Etes-vous", written)
    check(read(form), entreprise__accompagnement=answer, entreprise__accompagnement_detail=detail)


@pytest.mark.parametrize(("below", "answer", "detail"), [("Oui", True, None), ("oui (SAW-B)", True, "SAW-B"), ("Non.", False, None)])
def test_yes_no_options_deleted_and_the_answer_on_the_next_line(below: str, answer: bool, detail: str | None) -> None:
    form = FilledForm()
    form.replace("Etes-vous", f"{ACCOMPAGNEMENT} :")
    form.insert_after(form.find("Etes-vous"), below)
    check(read(form), entreprise__accompagnement=answer, entreprise__accompagnement_detail=detail)


def test_yes_no_options_kept_and_the_answer_on_the_next_line() -> None:
    form = FilledForm()
    form.replace("Etes-vous", f"{ACCOMPAGNEMENT} : oui/non")
    form.insert_after(form.find("Etes-vous"), "Non")
    check(read(form), entreprise__accompagnement=False, entreprise__accompagnement_detail=None)


def test_yes_no_left_as_printed_is_blank() -> None:
    form = FilledForm()
    form.replace("Etes-vous", f"{ACCOMPAGNEMENT} : oui/non")
    parsed = read(form)
    assert parsed.fields["entreprise.accompagnement"] is None
    assert parsed.readings["entreprise.accompagnement"].state == "blank"
    assert parsed.missing == ["entreprise.accompagnement"]


# -- niveau d'études -------------------------------------------------------------------------

OPTIONS = "primaire ou sans diplôme – secondaire inférieur – secondaire supérieur – supérieur de type court – supérieur de type long et universitaire"


@pytest.mark.parametrize(
    ("line", "below", "value"),
    [
        (f"Niveau d’études : {OPTIONS}", "secondaire supérieur", "secondaire_superieur"),
        (f"Niveau d’études : {OPTIONS}", "Master en sciences politiques", "superieur_long"),
        ("Niveau d’études : supérieur de type court", None, "superieur_court"),
        ("Niveau d’études : Bachelier", None, "superieur_court"),
        ("Niveau d’études : Master", None, "superieur_long"),
        ("Niveau d'etudes Master", None, "superieur_long"),
    ],
)
def test_niveau_d_etudes(line: str, below: str | None, value: str) -> None:
    form = FilledForm()
    form.replace("Niveau d’études", line)
    if below:
        form.insert_after(form.find("Niveau d"), below)
    check(read(form), referent__niveau_etudes=value)


def test_niveau_d_etudes_list_left_untouched_is_blank_and_optional() -> None:
    form = FilledForm()
    form.replace("Niveau d’études", f"· Niveau d’études : {OPTIONS}")
    parsed = read(form)
    assert parsed.fields["referent.niveau_etudes"] is None
    assert parsed.readings["referent.niveau_etudes"].state == "blank"
    assert parsed.missing == [] and parsed.unread == []


# -- labels retyped --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "written"),
    [
        ("Numéro d’entreprise", "Numero d'entreprise : 0123.456.749"),
        ("Numéro d’entreprise", "Numéro d’entreprise 0123.456.749"),
        ("Numéro d’entreprise", "NUMERO D'ENTREPRISE\u00a0:\u00a00123.456.749"),
        ("Téléphone professionnel", "Telephone professionnel : 0496 24 65 66"),
        ("Téléphone professionnel", "Téléphone professionnel 0496 24 65 66"),
        ("E-mail professionnel", "E-mail professionnel judith@tartines.be"),
        ("Date de création", "Date de creation 12/03/2016"),
        ("Nombre d’équivalents", "Nombre d'equivalents temps plein\u00a0: 3,5"),
        ("Prénom", "Prenom Judith"),
    ],
)
def test_labels_without_accents_colon_or_with_non_breaking_spaces(start: str, written: str) -> None:
    form = FilledForm()
    form.replace(start, written)
    check(read(form))


# -- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [("12-03-2016", "2016-03-12"), ("3 sept. 2016", "2016-09-03"), ("le 3 septembre 2016", "2016-09-03"), ("mars 2016", "2016-03")],
)
def test_dates_as_people_write_them(written: str, value: str) -> None:
    form = FilledForm()
    form.replace("Date de création", f"Date de création : {written}")
    check(read(form), entreprise__date_creation=value)


def test_signature_date_written_out() -> None:
    form = FilledForm()
    form.replace("Le 01/09/2026", "Le 3 septembre 2026")
    check(read(form), signature__date="2026-09-03")


# -- unsure is not missing -------------------------------------------------------------------


def test_an_unreadable_answer_is_unread_not_missing() -> None:
    form = FilledForm()
    form.replace("Date de création", "Date de création : le lendemain de la fête de quartier")
    parsed = read(form)
    assert parsed.fields["entreprise.date_creation"] is None
    reading = parsed.readings["entreprise.date_creation"]
    assert reading.state == "unread"
    assert "lendemain" in reading.raw
    assert parsed.missing == []
    assert parsed.unread == ["entreprise.date_creation"]
    assert any("lendemain" in w for w in parsed.warnings)  # the warning quotes what was found


def test_an_answer_to_a_deleted_label_is_not_given_to_the_label_before() -> None:
    form = FilledForm()
    form.replace("Numéro d’entreprise", "N° BCE : 0123.456.749")
    check(read(form))


# -- the same dossiers in PDF ----------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice exports the PDF")
def test_the_same_edits_exported_to_pdf(tmp_path: Path) -> None:
    form = FilledForm()
    form.replace("Fait à", "Fait à Etterbeek, le 23 août 2026")
    form.delete(form.find("Le 01/09/2026"))
    form.replace("Numéro d’entreprise", "Numero d'entreprise 0123.456.749")
    form.replace("E-mail professionnel", "E-mail professionnel judith@tartines.be")
    form.replace("Prénom", "Prenom : Judith")
    form.replace("Etes-vous", f"{ACCOMPAGNEMENT} : oui/non : Oui, par SAW-B")
    form.replace("Niveau d’études", f"· Niveau d’études : {OPTIONS}")
    form.insert_after(form.find("Niveau d"), "Master")
    source = form.write(tmp_path / "dossier.docx")
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    parsed = parse_dossier((tmp_path / "dossier.pdf").read_bytes(), "dossier.pdf", "blossom-2026")
    check(parsed, signature__lieu="Etterbeek", signature__date="2026-08-23")


# -- how a field was read ----------------------------------------------------------------------


def test_each_field_records_its_state_reader_and_place() -> None:
    parsed = read(FilledForm())
    reading = parsed.readings["entreprise.numero"]
    assert reading.state == "filled" and reading.reader in ("alignment", "labels")
    assert reading.raw == "0123.456.749"
    assert reading.location and reading.location.startswith("paragraphe")
    assert parsed.readings["autodiagnostic.1"].location.startswith("tableau 1")


def test_a_required_question_deleted_is_to_check_not_missing() -> None:
    form = FilledForm()
    form.delete(form.find("Numéro d’entreprise"))
    parsed = read(form)
    assert parsed.fields["entreprise.numero"] is None
    assert parsed.readings["entreprise.numero"].state == "unread"
    assert parsed.unread == ["entreprise.numero"] and parsed.missing == []
    assert any("introuvable" in w and "Numéro d’entreprise" in w for w in parsed.warnings)


def test_an_optional_question_deleted_is_blank() -> None:
    form = FilledForm()
    form.delete(form.find("Genre"))
    parsed = read(form)
    assert parsed.readings["referent.genre"].state == "blank"
    assert parsed.unread == [] and parsed.missing == []
