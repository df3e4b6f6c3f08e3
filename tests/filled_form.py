"""The BLOSSOM blank form filled completely, then edited the way one applicant did.

``FilledForm`` opens the programme's own blank form with python-docx, writes a complete
answer for every field (``COMPLETE``), and offers the edits people make in Word:
rewrite a paragraph, delete it, put a line break in it, write in a table cell. Tests
then check one way of filling at a time against a dossier that is otherwise complete,
so a field read wrong cannot hide behind another.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

import docx
from docx.text.paragraph import Paragraph

from config.programme import load_programme

BLANK = load_programme("blossom-2026").blank_form_path

#: what the complete dossier says, by field, and its expected value
COMPLETE: dict[str, tuple[str, object]] = {
    "entreprise.nom": ("Coop Les Tartines", "Coop Les Tartines"),
    "entreprise.forme_juridique": ("SC agréée entreprise sociale", "SC agréée entreprise sociale"),
    "entreprise.adresse": ("Rue Gray 112, 1040 Etterbeek", "Rue Gray 112, 1040 Etterbeek"),
    "entreprise.date_creation": ("12/03/2016", "2016-03-12"),
    "entreprise.numero": ("0123.456.749", "0123.456.749"),
    "entreprise.structure_capital": ("42 coopérateurs", "42 coopérateurs"),
    "entreprise.etp": ("3,5", 3.5),
    "entreprise.agrement": ("Oui", True),
    "entreprise.site_web": ("www.tartines.be", "www.tartines.be"),
    "entreprise.accompagnement": ("oui, par SAW-B", True),
    "referent.nom": ("Van Damme", "Van Damme"),
    "referent.prenom": ("Judith", "Judith"),
    "referent.genre": ("Femme", "Femme"),
    "referent.date_naissance": ("03/04/1985", "1985-04-03"),
    "referent.niveau_etudes": ("supérieur de type long et universitaire", "superieur_long"),
    "referent.telephone": ("0496 24 65 66", "+32496246566"),
    "referent.email": ("judith@tartines.be", "judith@tartines.be"),
}
QUESTIONS = [
    "connaissance.source", "connaissance.participation",
    *[f"description.q{n}" for n in range(1, 14)],
    "besoins.motivations", "besoins.projection", "besoins.apport",
    "disponibilite.temps", "disponibilite.organisation",
]  # fmt: skip
SIGNATURE = {
    "signature.lieu": "Bruxelles",
    "signature.date": "2026-09-01",
    "signature.contact_nom": "Judith Van Damme",
    "signature.contact_fonction": "Gérante",
    "signature.administrateur_nom": "Paul Lejeune",
    "signature.administrateur_fonction": "Président",
}


def answer_of(key: str) -> str:
    """The complete dossier's answer to a question of sections A3, B and D."""
    return f"Notre réponse à la question {key.split('.')[-1]} : nous travaillons avec le quartier depuis 2016."


def expected() -> dict[str, object]:
    """Every field's value in the complete dossier."""
    values: dict[str, object] = {key: value for key, (_, value) in COMPLETE.items()}
    values["entreprise.accompagnement_detail"] = "par SAW-B"
    values.update({key: answer_of(key) for key in QUESTIONS})
    values.update({f"autodiagnostic.{n}": n + 2 for n in range(1, 8)})
    values.update(SIGNATURE)
    return values


class FilledForm:
    """The blank form, filled; edits by the start of a paragraph's text."""

    def __init__(self) -> None:
        self.document = docx.Document(str(BLANK))
        labels = {
            "Nom l’entreprise": "entreprise.nom", "Forme juridique": "entreprise.forme_juridique",
            "Adresse": "entreprise.adresse", "Date de création": "entreprise.date_creation",
            "Numéro d’entreprise": "entreprise.numero",
            "Structure de détention": "entreprise.structure_capital",
            "Nombre d’équivalents": "entreprise.etp", "Bénéficiez-vous": "entreprise.agrement",
            "Site internet": "entreprise.site_web", "Etes-vous": "entreprise.accompagnement",
            "Nom:": "referent.nom", "Prénom": "referent.prenom", "Genre": "referent.genre",
            "Date de naissance": "referent.date_naissance", "Niveau d’études": "referent.niveau_etudes",
            "Téléphone professionnel": "referent.telephone", "E-mail professionnel": "referent.email",
        }  # fmt: skip
        for start, key in labels.items():
            paragraph = self.find(start)
            written = COMPLETE[key][0]
            if key == "referent.niveau_etudes":
                paragraph.text = f"· Niveau d’études : {written}"
            elif key == "entreprise.accompagnement":
                paragraph.text = paragraph.text.replace("oui/non", written)
            else:
                paragraph.text = f"{paragraph.text.rstrip()} {written}"
        questions = [
            "· Comment avez-vous pris", "· Avez-vous déjà participé", *[f"{n}. " for n in range(1, 14)],
            "1. Quelles sont vos motivations", "2. Où vous projetez", "3. COOPCITY propose",
            "1. Combien de temps", "2. Comment allez-vous",
        ]  # fmt: skip
        after = None
        for start, key in zip(questions, QUESTIONS):
            after = self.find(start, after=after)
            self.insert_after(after, answer_of(key))
        scores = self.document.tables[0]
        for n, row in enumerate(scores.rows, start=1):
            row.cells[1].paragraphs[0].text = str(n + 2)
        self.find("Fait à").text = "Fait à Bruxelles"
        self.find("Le", exact=True).text = "Le 01/09/2026"
        self.cell(0, 0).text = "Nom, prénom : Judith Van Damme"
        self.cell(0, 1).text = "Nom, prénom : Paul Lejeune"
        self.cell(1, 0).text = "Fonction : Gérante"
        self.cell(1, 1).text = "Fonction : Président"

    # -- finding and editing ---------------------------------------------------------

    def paragraphs(self) -> list[Paragraph]:
        return list(self.document.paragraphs)

    def find(self, start: str, *, exact: bool = False, after: Paragraph | None = None) -> Paragraph:
        """The first body paragraph (after ``after``) whose text starts with ``start``."""
        paragraphs = self.paragraphs()
        begin = 0
        if after is not None:
            begin = next(i for i, p in enumerate(paragraphs) if p._p is after._p) + 1
        for paragraph in paragraphs[begin:]:
            text = paragraph.text.strip().lstrip("· ")
            if (text == start) if exact else text.startswith(start.lstrip("· ")):
                return paragraph
        raise LookupError(start)

    def cell(self, row: int, col: int):
        """A cell of the signature table."""
        return self.document.tables[1].cell(row, col).paragraphs[0]

    def insert_after(self, paragraph: Paragraph, text: str) -> Paragraph:
        element = copy.deepcopy(paragraph._p)
        paragraph._p.addnext(element)
        inserted = Paragraph(element, paragraph._parent)
        inserted.text = text
        return inserted

    def delete(self, paragraph: Paragraph) -> None:
        paragraph._p.getparent().remove(paragraph._p)

    def set_lines(self, paragraph: Paragraph, *lines: str) -> None:
        """One paragraph holding several lines (Shift+Enter: w:br between them)."""
        paragraph.text = "\n".join(lines)

    def replace(self, start: str, text: str) -> None:
        self.find(start).text = text

    def save(self) -> bytes:
        out = io.BytesIO()
        self.document.save(out)
        return out.getvalue()

    def write(self, path: Path) -> Path:
        path.write_bytes(self.save())
        return path
