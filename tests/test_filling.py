"""Form filling on hand-made blocks: the layouts applicants use, without any file format."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.programme import load_programme
from parsers.blocks import Block, DocumentText
from parsers.dossier import normalise_answer
from parsers.filling import FormFiller
from parsers.labels import fold, key_of

BLOSSOM = load_programme("blossom-2026")


def doc(*blocks: Block | str) -> DocumentText:
    return DocumentText("docx", [b if isinstance(b, Block) else Block(b) for b in blocks])


def cells(table: int, rows: list[list[str]]) -> list[Block]:
    return [Block(text, table, r, c) for r, row in enumerate(rows) for c, text in enumerate(row)]


def fill(*blocks: Block | str) -> dict:
    return FormFiller(BLOSSOM.form).fill(doc(*blocks)).answers


def test_inline_and_next_line_answers() -> None:
    answers = fill("· Nom l’entreprise: La Ruche", "· Forme juridique:", "ASBL", "· Adresse :", "", "Rue Haute 1, 1000 Bruxelles")
    assert answers["entreprise.nom"].text == "La Ruche"
    assert answers["entreprise.forme_juridique"].text == "ASBL"
    assert answers["entreprise.adresse"].text == "Rue Haute 1, 1000 Bruxelles"


def test_label_answer_table_reads_like_the_form() -> None:
    answers = fill(*cells(0, [["Nom de l'entreprise", "La Ruche"], ["Forme juridique", ""], ["Adresse", "Rue Haute 1"]]))
    assert answers["entreprise.nom"].text == "La Ruche"
    assert answers["entreprise.forme_juridique"].text == ""  # found, left blank
    assert answers["entreprise.forme_juridique"].found
    assert answers["entreprise.adresse"].text == "Rue Haute 1"


def test_question_row_then_answer_row() -> None:
    answers = fill(*cells(0, [["3. Qui sont ses bénéficiaires ?"], ["Les familles du quartier."], ["4. Existe-t-il actuellement un processus d’évaluation relatif à l’impact social de votre entreprise ? Si oui, décrivez brièvement."], [""]]))
    assert answers["description.q3"].text == "Les familles du quartier."
    assert answers["description.q4"].text == ""


def test_several_paragraphs_are_joined_with_newlines_and_stop_at_a_heading() -> None:
    answers = fill("3. Qui sont ses bénéficiaires ?", "Les familles.", "Les écoles.", "FONCTIONNEMENT INTERNE", "Texte hors réponse")
    assert answers["description.q3"].text == "Les familles.\nLes écoles."


def test_a_stray_label_inside_an_answer_does_not_win() -> None:
    answers = fill(
        "· Adresse : Rue Haute 1, 1000 Bruxelles",
        "· Date de création : 12/03/2019",
        "3. Qui sont ses bénéficiaires ?",
        "Adresse : les habitants du quartier des Marolles",
        "4. Existe-t-il actuellement un processus d’évaluation relatif à l’impact social de votre entreprise ? Si oui, décrivez brièvement.",
        "Non.",
    )
    assert answers["entreprise.adresse"].text == "Rue Haute 1, 1000 Bruxelles"


def test_label_wrapped_over_lines_like_a_pdf() -> None:
    answers = fill(
        "4. Existe-t-il actuellement un processus d’évaluation relatif à l’impact social de votre entreprise ? Si",
        "oui, décrivez brièvement.",
        "Oui, chaque année.",
    )
    assert answers["description.q4"].text == "Oui, chaque année."


def test_score_grid_reads_the_marked_column() -> None:
    header = [""] + [str(n) for n in range(1, 11)]
    row = ["Notre structure est source d'innovation dans son secteur."] + ["", "", "", "", "", "", "X", "", "", ""]
    answers = fill(*cells(0, [header, row]))
    assert answers["autodiagnostic.6"].where == "grid"
    assert answers["autodiagnostic.6"].grid_value == "7"


def test_score_at_the_end_of_the_statement_line() -> None:
    answers = fill("Notre structure est source d'innovation dans son secteur. 8/10", "Il existe des modalités de participation et d'expression par les usagers-ères, client-es, bénéficiaires sur nos offres de services. – 6")
    assert answers["autodiagnostic.6"].text == "8/10"
    assert answers["autodiagnostic.7"].text == "6"


def test_signature_columns_are_told_apart_by_order() -> None:
    blocks = ["Fait à Ixelles", "Le 3 septembre 2026"] + cells(0, [["Nom, prénom", "Nom, prénom"], ["Ana Diaz", "Léa Roy"], ["Fonction", "Fonction"], ["Coordinatrice", "Présidente"]])
    answers = fill(*blocks)
    assert answers["signature.lieu"].text == "Ixelles"
    assert answers["signature.date"].text == "3 septembre 2026"
    assert answers["signature.contact_nom"].text == "Ana Diaz"
    assert answers["signature.administrateur_nom"].text == "Léa Roy"
    assert answers["signature.contact_fonction"].text == "Coordinatrice"
    assert answers["signature.administrateur_fonction"].text == "Présidente"


def test_le_is_a_label_only_before_a_date() -> None:
    answers = fill("Fait à Ixelles", "Le conseil d'administration a signé.", "Le 03/09/2026")
    assert answers["signature.date"].text == "03/09/2026"


def test_untouched_template_answer_is_null_and_an_answer_after_it_counts() -> None:
    label = "· Etes-vous (ou avez-vous été) accompagnés par une autre structure (type SMart, Jobyourself, Village Partenaire, Start Lab, Fondation Roi Baudouin, etc.) ? : oui/non"
    spec = BLOSSOM.form.field("entreprise.accompagnement")
    untouched = fill(label, "2. Personne référente dans votre équipe pour les échanges avec COOPCITY")
    assert normalise_answer(spec, untouched[spec.key]).value is None
    answered = normalise_answer(spec, fill(label, "Oui, par SMart")[spec.key])
    assert (answered.value, answered.detail) == (True, "par SMart")


def test_missing_label_is_reported_not_guessed() -> None:
    result = FormFiller(BLOSSOM.form).fill(doc("· Forme juridique: ASBL"))
    assert not result.answers["entreprise.nom"].found
    assert result.answers["entreprise.nom"].text is None
    assert result.answers["entreprise.forme_juridique"].text == "ASBL"


def test_short_labels_need_the_exact_word() -> None:
    assert key_of("· Nom :") == "nom"
    answers = fill("2. Personne référente dans votre équipe pour les échanges avec COOPCITY", "· Noms: X", "· Prénom: Ana")
    assert not answers["referent.nom"].found
    assert answers["referent.prenom"].text == "Ana"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=30))
def test_filling_never_raises_on_arbitrary_text(texts: list[str]) -> None:
    result = FormFiller(BLOSSOM.form).fill(doc(*texts))
    assert set(result.answers) == {f.key for f in BLOSSOM.form.fields() if not f.derived}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_original_end_stays_inside_the_text(text: str) -> None:
    folded = fold(text)
    for n in range(len(folded.key) + 2):
        assert 0 <= folded.original_end(n) <= len(text)


@pytest.mark.parametrize(
    ("written", "label"),
    [
        ("NOM DE L'ENTREPRISE :", "Nom l’entreprise"),
        ("Numéro d'entreprise (BCE):", "Numéro d’entreprise"),
        ("N° d’entreprise :", "Numéro d’entreprise"),
        ("•\u00a0E-mail\u00a0professionnel :", "E-mail professionnel"),
        ("Tél. professionnel :", "Téléphone professionnel"),
        ("Date de constitution:", "Date de création"),
    ],
)
def test_altered_labels_are_recognised(written: str, label: str) -> None:
    spec = next(f for f in BLOSSOM.form.fields() if f.label == label)
    answers = fill(f"{written} valeur")
    assert answers[spec.key].text == "valeur"


REWORDED = [
    ("entreprise.nom", "Nom de votre entreprise"),
    ("entreprise.nom", "Nom de l'entreprise / structure"),
    ("entreprise.forme_juridique", "Forme juridique de l'entreprise"),
    ("entreprise.forme_juridique", "Forme juridique (ASBL, SC, SRL…)"),
    ("entreprise.adresse", "Adresse du siège d'exploitation"),
    ("entreprise.date_creation", "Date de création de la structure"),
    ("entreprise.numero", "Numéro BCE / TVA"),
    ("entreprise.etp", "Nombre de travailleurs (ETP)"),
    ("entreprise.site_web", "Site Internet (le cas échéant)"),
    ("referent.telephone", "Numéro de téléphone professionnel"),
    ("referent.email", "Adresse e-mail professionnelle"),
    ("referent.email", "Courriel professionnel"),
    ("referent.niveau_etudes", "Niveau d’études atteint"),
    ("referent.genre", "Genre (F/M/X)"),
]


@pytest.mark.parametrize(("key", "written"), REWORDED)
def test_labels_followed_by_a_qualifier_are_recognised(key: str, written: str) -> None:
    assert fill(f"· {written} : VALEUR")[key].text == "VALEUR"


def test_a_short_label_does_not_stand_for_a_longer_heading() -> None:
    answers = fill("· Nom de votre entreprise : La Ruche")
    assert answers["entreprise.nom"].text == "La Ruche"
    assert not answers["referent.nom"].found


def test_a_table_cut_by_two_page_breaks_is_one_table_again() -> None:
    """PDF: the form re-laid as a table runs over three pages; the second break cuts a row."""
    pages = (
        cells(0, [["Nom l’entreprise", "La Ruche"], ["Forme juridique", "ASBL"]])
        + cells(1, [["Adresse", "Rue Haute 1"], ["Date de création", "12/03/2019"]])
        + cells(2, [["", "1000 Bruxelles"], ["Numéro d’entreprise", "0403.170.701"]])
    )
    answers = FormFiller(BLOSSOM.form).fill(DocumentText("pdf", pages)).answers
    assert answers["entreprise.adresse"].text == "Rue Haute 1"
    assert answers["entreprise.date_creation"].text == "12/03/2019\n1000 Bruxelles"
    assert answers["entreprise.numero"].text == "0403.170.701"
