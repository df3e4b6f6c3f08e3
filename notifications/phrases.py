"""The words mails to applicants take from code rather than from templates, per language.

Templates hold the sentences (``templates/<kind>.*.j2`` in French, ``templates/nl/`` and
``templates/en/`` in Dutch and English); what code puts into them (what a file was taken
for, the summary's counts, a period, the items a subject names) is here, one ``Phrases``
per language, so that a language missing a phrase fails at import, not in a mail.
The programme's own words (fields, annexes) are in its file (``languages.words``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from triage.states import ROLE_DAMAGED, ROLE_NOT_READ

FRENCH = "fr"
LANGUAGES = ("fr", "nl", "en")  # those with templates


@dataclass(frozen=True)
class Phrases:
    locale: str  # Babel's, for dates and numbers
    at: str  # « lundi 14 septembre 2026 à 10:00 »
    first_of_month: bool  # French « 1er septembre »
    quotes: tuple[str, str]
    dossier: str  # the application form, as a missing item
    roles: Mapping[str, str]  # what a received file was taken for
    to_check: str  # in place of an answer written but not read
    containers: Mapping[str, str]  # an opened .zip or winmail.dat
    separator: str  # between two things one file was taken for
    empty: str  # « {what} vide »
    contents_below: str  # several containers: the files are listed under the last one
    unreadable_archive: str
    damaged_resent: str  # a damaged file since received again, readable
    your_structure: str  # when the structure's name is unknown
    referent: str  # the summary's line for the contact person
    scores: str  # « {given} notes sur {total} »
    answers: str
    period: str  # « du {start} au {end} »
    decisions: Mapping[str, str]
    # how a follow-up's subject names the missing items
    the_form: str
    some_items: str
    and_: str
    one_other: str
    others: str  # « et {n} autres éléments »


FR = Phrases(
    locale="fr_BE",
    at="à",
    first_of_month=True,
    quotes=("«\u00a0", "\u00a0»"),
    dossier="Le dossier de candidature (formulaire Word)",
    roles={
        "dossier": "dossier de candidature",
        "autre": "pièce non reconnue",
        ROLE_DAMAGED: "fichier endommagé, à nous renvoyer",
        ROLE_NOT_READ: "pièce à examiner par notre équipe",
    },
    to_check="à vérifier par notre équipe",
    containers={"zip": "archive .zip", "tnef": "pièce jointe Outlook (winmail.dat)"},
    separator="\u00a0; ",  # French: a no-break space before « ; »
    empty="{what} vide",
    contents_below="{what} (contenu ci-dessous)",
    unreadable_archive="archive illisible, à nous renvoyer",
    damaged_resent="fichier endommagé, renvoyé depuis",
    your_structure="votre structure",
    referent="Personne référente",
    scores="{given} notes sur {total}",
    answers="{given} réponses sur {total}",
    period="du {start} au {end}",
    decisions={"retenu": "Retenu", "non_retenu": "Non retenu", "attente": "Liste d’attente"},
    the_form="le formulaire de candidature",
    some_items="des éléments",
    and_=" et ",
    one_other=" et un autre élément",
    others=" et {n} autres éléments",
)

NL = Phrases(
    locale="nl_BE",
    at="om",
    first_of_month=False,
    quotes=("“", "”"),
    dossier="Het kandidatuurdossier (Word-formulier)",
    roles={
        "dossier": "kandidatuurdossier",
        "autre": "niet herkend bestand",
        ROLE_DAMAGED: "beschadigd bestand, stuur het ons opnieuw",
        ROLE_NOT_READ: "bestand dat ons team zelf bekijkt",
    },
    to_check="ons team kijkt dit zelf na",
    containers={"zip": "zip-archief", "tnef": "Outlook-bijlage (winmail.dat)"},
    separator="; ",
    empty="{what} (leeg)",
    contents_below="{what} (inhoud hieronder)",
    unreadable_archive="onleesbaar archief, stuur het ons opnieuw",
    damaged_resent="beschadigd bestand, intussen opnieuw ontvangen",
    your_structure="uw organisatie",
    referent="Contactpersoon",
    scores="{given} van de {total} scores",
    answers="{given} van de {total} antwoorden",
    period="van {start} tot en met {end}",
    decisions={
        "retenu": "Geselecteerd",
        "non_retenu": "Niet geselecteerd",
        "attente": "Wachtlijst",
    },
    the_form="het kandidatuurformulier",
    some_items="enkele onderdelen",
    and_=" en ",
    one_other=" en nog één onderdeel",
    others=" en nog {n} onderdelen",
)

EN = Phrases(
    locale="en_GB",
    at="at",
    first_of_month=False,
    quotes=("“", "”"),
    dossier="The application form (Word document)",
    roles={
        "dossier": "application form",
        "autre": "file not recognised",
        ROLE_DAMAGED: "damaged file, please send it again",
        ROLE_NOT_READ: "file our team will examine",
    },
    to_check="our team will check this",
    containers={"zip": ".zip archive", "tnef": "Outlook attachment (winmail.dat)"},
    separator="; ",
    empty="{what} (empty)",
    contents_below="{what} (contents below)",
    unreadable_archive="unreadable archive, please send it again",
    damaged_resent="damaged file, since received again",
    your_structure="your organisation",
    referent="Contact person",
    scores="{given} of {total} scores",
    answers="{given} of {total} answers",
    period="from {start} to {end}",
    decisions={"retenu": "Selected", "non_retenu": "Not selected", "attente": "Waiting list"},
    the_form="the application form",
    some_items="some items",
    and_=" and ",
    one_other=" and one other item",
    others=" and {n} other items",
)

PHRASES: Mapping[str, Phrases] = {"fr": FR, "nl": NL, "en": EN}


def phrases(language: str | None) -> Phrases:
    """The phrases of ``language`` (French when None or unknown)."""
    return PHRASES.get(language or FRENCH, FR)
