"""parsers.normalise: what applicants write, read into values (examples, then properties)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from config.programme import FieldSpec, load_programme
from parsers.normalise import (
    PLACEHOLDERS,
    Normalised,
    clean_text,
    is_placeholder,
    parse_choice,
    parse_date,
    parse_email,
    parse_enterprise_number,
    parse_number,
    parse_phone,
    parse_score,
    parse_yes_no,
)

PROPERTIES = settings(max_examples=200, deadline=None)
ROOT = Path(__file__).resolve().parent.parent


def niveau_spec() -> FieldSpec:
    """Niveau d’études as the real BLOSSOM 2026 configuration defines it."""
    return load_programme("blossom-2026").form.field("referent.niveau_etudes")


@pytest.fixture(scope="module")
def niveau() -> FieldSpec:
    return niveau_spec()


# --- placeholders and text --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "\n\t", *PLACEHOLDERS, "A COMPLÉTER", "a completer.", "N/A.", "Néant",
     "[A compléter]", "…", "....", "???", "XXXX", "xx/xx/xxxx", "JJ/MM/AAAA", "tbd",
     "Cliquez ou appuyez ici pour entrer du texte"],
)  # fmt: skip
def test_placeholders_are_blank(text: str | None) -> None:
    assert is_placeholder(text)
    assert clean_text(text) == Normalised(None)


@pytest.mark.parametrize("text", ["Non", "non", "0", "Oui", "X", "Néant de dettes", "NAT"])
def test_answers_are_not_placeholders(text: str) -> None:
    assert not is_placeholder(text)


def test_clean_text_collapses_spaces_and_keeps_paragraphs() -> None:
    written = "  Nous  livrons\u00a0des repas. \r\n\n\t Deuxième\u200b paragraphe.  "
    assert clean_text(written).value == "Nous livrons des repas.\nDeuxième paragraphe."


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("12/03/2019", "2019-03-12"),
        ("12-03-2019", "2019-03-12"),
        ("12.03.2019", "2019-03-12"),
        ("12 / 03 / 2019", "2019-03-12"),
        ("12/3/19", "2019-03-12"),
        ("1/2/30", "2030-02-01"),
        ("1/2/31", "1931-02-01"),
        ("2019-03-12", "2019-03-12"),
        ("12 mars 2019", "2019-03-12"),
        ("1er février 1980", "1980-02-01"),
        ("le 12 mars 2019", "2019-03-12"),
        ("mardi 12 mars 2019", "2019-03-12"),
        ("12 Mars 2019", "2019-03-12"),
        ("12 sept 2020", "2020-09-12"),
        ("12 sept. 2020", "2020-09-12"),
        ("12 fevrier 2020", "2020-02-12"),
        ("18 mai 2010", "2010-05-18"),
        ("créée le 12/03/2019 à Bruxelles", "2019-03-12"),
        ("créée le 12 mars 2019 à Bruxelles", "2019-03-12"),
        ("Le 05/09/2026.", "2026-09-05"),
        ("12 maart 2019", "2019-03-12"),
        ("12th March 2019", "2019-03-12"),
        ("March 12, 2019", "2019-03-12"),  # month first: left to dateparser
        ("mars 2019", "2019-03"),
        ("03/2019", "2019-03"),
        ("3.2019", "2019-03"),
        ("juillet 2012", "2012-07"),
        ("sept. 2020", "2020-09"),
        ("Août 2018", "2018-08"),
        ("12/03/2019 (constitution)", "2019-03-12"),
    ],
)
def test_dates_are_read_day_first(text: str, iso: str) -> None:
    assert parse_date(text) == Normalised(iso)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2021", "année seule"),
        ("en 2021", "année seule"),
        ("12 mars", "année manquante"),
        ("31/02/2020", "Date impossible"),
        ("03/25/2019", "Date impossible"),  # never swapped to month first
        ("31 avril 2020", "Date impossible"),
        ("du 12/03/2019 au 15/03/2019", "Plusieurs dates"),
        ("depuis toujours", "Date illisible"),
        ("12 03 2019", "Date illisible"),
    ],
)
def test_unreadable_dates_are_none_with_a_warning(text: str, says: str) -> None:
    result = parse_date(text)
    assert result.value is None
    assert result.warning and says in result.warning


def test_implausible_year_is_kept_but_flagged() -> None:
    result = parse_date("12/03/1850")
    assert result.value == "1850-03-12"
    assert result.warning == "Date invraisemblable : « 12/03/1850 »."


def test_common_dates_do_not_load_dateparser() -> None:
    """dateparser costs 0.2-0.4 s to import and ~1 ms a call: only unusual dates may use it."""
    script = (
        "import sys\n"
        "from parsers.normalise import parse_date\n"
        "for t in ['12/03/2019', '12 mars 2019', 'mars 2019', '03/2019', '2021', 'x']:\n"
        "    parse_date(t)\n"
        "assert 'dateparser' not in sys.modules\n"
        "assert parse_date('March 12, 2019').value == '2019-03-12'\n"
        "assert 'dateparser' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", script], check=True, cwd=ROOT)


# --- enterprise numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0710.295.267", "0710.295.267"),
        ("BE 0294 452 408", "0294.452.408"),
        ("258.260.322", "0258.260.322"),
        ("BE0723778366", "0723.778.366"),
        ("0360994606", "0360.994.606"),
        ("BE 0416.263.523", "0416.263.523"),
        ("BE-0416.263.523", "0416.263.523"),
        ("TVA BE 0416.263.523", "0416.263.523"),
        ("BCE : 0416.263.523", "0416.263.523"),
        ("416263523", "0416.263.523"),
        ("1000.000.021", "1000.000.021"),  # numbers starting with 1 are handed out since 2023
    ],
)
def test_enterprise_numbers(text: str, number: str) -> None:
    assert parse_enterprise_number(text) == Normalised(number)


def test_enterprise_number_failing_the_checksum_is_kept_with_a_warning() -> None:
    assert parse_enterprise_number("BE 0123.456.789") == Normalised(
        "0123.456.789",
        "Le numéro d’entreprise 0123.456.789 ne passe pas le contrôle (modulo 97).",
    )
    assert parse_enterprise_number("412.345.678").value == "0412.345.678"


@pytest.mark.parametrize("text", ["0123.456.78", "01234567890", "BE 12", "en cours"])
def test_enterprise_number_of_the_wrong_length_is_none(text: str) -> None:
    result = parse_enterprise_number(text)
    assert result.value is None
    assert result.warning == f"Numéro d’entreprise illisible : « {text} » (10 chiffres attendus)."


def test_enterprise_number_starting_with_another_digit_is_flagged() -> None:
    result = parse_enterprise_number("2123.456.789")
    assert result.value == "2123.456.789"
    assert result.warning and "commencer par 0 ou 1" in result.warning


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3,5", 3.5),
        ("3.5", 3.5),
        ("1.5", 1.5),
        ("8", 8.0),
        ("8 ETP", 8.0),
        ("environ 4", 4.0),
        ("deux", 2.0),
        ("Trois ETP", 3.0),
        ("dix-sept", 17.0),
        ("1 200", 1200.0),
        ("1.200,5", 1200.5),
        ("1 200,5", 1200.5),
        ("1,200.5", 1200.5),
        ("0,5", 0.5),
    ],
)
def test_numbers(text: str, value: float) -> None:
    result = parse_number(text)
    assert result == Normalised(value)
    assert isinstance(result.value, float)


def test_first_of_several_numbers_is_kept_with_a_warning() -> None:
    assert parse_number("3,5 ETP (dont 2 CDI)") == Normalised(
        3.5, "Plusieurs nombres dans « 3,5 ETP (dont 2 CDI) » : le premier (3,5) est retenu."
    )


def test_lone_separator_before_three_digits_is_decimal_but_flagged() -> None:
    assert parse_number("1.200") == Normalised(
        1.2, "« 1.200 » est lu 1,2 et non 1200 : à vérifier."
    )


@pytest.mark.parametrize(("text", "says"), [("-3", "négatif"), ("aucun", "illisible")])
def test_unreadable_numbers(text: str, says: str) -> None:
    result = parse_number(text)
    assert result.value is None
    assert result.warning and says in result.warning


# --- yes/no -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "detail"),
    [
        ("Oui, par SMart", True, "par SMart"),
        ("OUI (SMart)", True, "SMart"),
        ("OUI – hub.brussels (2022)", True, "hub.brussels (2022)"),
        ("Non, demande en cours", False, "demande en cours"),
        ("non.", False, None),
        ("Non", False, None),
        ("NON", False, None),
        ("oui", True, None),
        ("Yes", True, None),
        ("nee", False, None),
        ("Oui : Jobyourself — 2021", True, "Jobyourself — 2021"),
        ("Oui (SMart).", True, "SMart"),
        ("Oui, (SMart) et (Jobyourself)", True, "(SMart) et (Jobyourself)"),
        ("☒ oui ☐ non", True, None),
        ("☐ oui ☒ non", False, None),
        ("[x] oui [ ] non", True, None),
        ("X oui / non", True, None),
        ("oui / non X", False, None),
        ("oui X / non", True, None),
        ("oui ✓ – non", True, None),
        ("oui ☒ non ☐", True, None),
        ("oui/non : oui", True, None),
        ("Oui / Non : non, pas encore", False, "pas encore"),
        ("Réponse : non", False, None),
        ("☐ oui ☒ non – demande en cours", False, "demande en cours"),
    ],
)
def test_yes_no(text: str, value: bool, detail: str | None) -> None:
    assert parse_yes_no(text, "oui/non") == Normalised(value, detail=detail)


@pytest.mark.parametrize("text", ["oui/non", "Oui / Non", "oui – non", "OUI/NON", "☐ oui ☐ non"])
def test_yes_no_left_as_printed_is_none_without_warning(text: str) -> None:
    assert parse_yes_no(text, "oui/non") == Normalised(None)
    assert parse_yes_no(text) == Normalised(None)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Pas encore", "Ni oui ni non"),
        ("en cours", "Ni oui ni non"),
        ("Oui / Non, en cours", "Oui et non"),
        ("oui X non", "ambiguë"),
        ("☒ oui ☒ non", "ambiguë"),
        ("Nous sommes accompagnés, oui", "illisible"),
    ],
)
def test_unreadable_yes_no(text: str, says: str) -> None:
    result = parse_yes_no(text, "oui/non")
    assert result.value is None
    assert result.warning and says in result.warning


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("0488 02 27 25", "+32488022725"),
        ("0032 455 36 16 47", "+32455361647"),
        ("+32 2 778 15 38", "+3227781538"),
        ("0483/59.65.46", "+32483596546"),
        ("02/778.15.38", "+3227781538"),
        ("+32 (0)488 02 27 25", "+32488022725"),
        ("+39 348 660 7421", "+393486607421"),
        ("0478.12.34.56", "+32478123456"),
        ("Tél. : 0478 12 34 56", "+32478123456"),
        ("+32 478 12 34 56 (GSM)", "+32478123456"),
    ],
)
def test_phones(text: str, e164: str) -> None:
    assert parse_phone(text) == Normalised(e164)


def test_first_of_two_phones_is_kept_with_a_warning() -> None:
    result = parse_phone("0478 12 34 56 / 02 778 15 38")
    assert result.value == "+32478123456"
    assert result.warning == (
        "Plusieurs numéros dans « 0478 12 34 56 / 02 778 15 38 » : le premier est retenu."
    )


def test_possible_but_unallocated_phone_is_kept_with_a_warning() -> None:
    result = parse_phone("02 123 45 67")
    assert result.value == "+3221234567"
    assert result.warning and "plan de numérotation" in result.warning


@pytest.mark.parametrize("text", ["pas de GSM", "123", "0478 12"])
def test_unreadable_phone(text: str) -> None:
    assert parse_phone(text) == Normalised(None, f"Numéro de téléphone illisible : « {text} ».")


# --- e-mail addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Luca.Mbuyi@Lerayonsolidaire.be", "luca.mbuyi@lerayonsolidaire.be"),
        ("mailto:Marie@Coop.be", "marie@coop.be"),
        ("<marie@coop.be>", "marie@coop.be"),
        ("Marie Dupont <marie@coop.be>", "marie@coop.be"),
        ("marie@coop.be.", "marie@coop.be"),
        ("marie [at] coop.be", "marie@coop.be"),
    ],
)
def test_emails(text: str, address: str) -> None:
    assert parse_email(text) == Normalised(address)


def test_first_of_several_emails_is_kept_with_a_warning() -> None:
    result = parse_email("info@coop.be ; marie@coop.be")
    assert result.value == "info@coop.be"
    assert result.warning and "Plusieurs adresses" in result.warning


@pytest.mark.parametrize(("text", "says"), [("marie@coop", "invalide"), ("marie.coop.be", "Pas")])
def test_unreadable_email(text: str, says: str) -> None:
    result = parse_email(text)
    assert result.value is None
    assert result.warning and says in result.warning


# --- choices (Niveau d'études, from the real configuration) ----------------------------------

OPTIONS = (
    "primaire ou sans diplôme",
    "secondaire inférieur",
    "secondaire supérieur",
    "supérieur de type court",
    "supérieur de type long et universitaire",
)
VALUES = (
    "primaire",
    "secondaire_inferieur",
    "secondaire_superieur",
    "superieur_court",
    "superieur_long",
)


def test_options_match_the_configuration(niveau: FieldSpec) -> None:
    assert niveau.template_answer == " – ".join(OPTIONS)
    assert tuple(niveau.choices) == VALUES


@pytest.mark.parametrize(
    "text",
    [
        " – ".join(OPTIONS),
        " - ".join(OPTIONS),
        " / ".join(OPTIONS),
        "\n".join(OPTIONS),
        "\n".join(f"• {o}" for o in OPTIONS),
        " ".join(f"☐ {o}" for o in OPTIONS),
    ],
)
def test_list_left_as_printed_is_none_without_warning(niveau: FieldSpec, text: str) -> None:
    assert parse_choice(text, niveau.choices, niveau.template_answer) == Normalised(None)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("secondaire supérieur", "secondaire_superieur"),
        ("Supérieur de type long et universitaire", "superieur_long"),
        ("universitaire", "superieur_long"),
        ("bachelier", "superieur_court"),
        ("Master en gestion", "superieur_long"),
        ("haute école", "superieur_court"),
        ("CESS", "secondaire_superieur"),
        ("graduat en compta", "superieur_court"),
        ("secondaire inférieur (CE1D)", "secondaire_inferieur"),
        ("universitère", "superieur_long"),  # a small typo
        ("secondaire inférieure", "secondaire_inferieur"),
    ],
)
def test_choice_from_option_or_synonym(niveau: FieldSpec, text: str, value: str) -> None:
    assert parse_choice(text, niveau.choices, niveau.template_answer) == Normalised(value)


def ticked(mark: str, separator: str = " – ", chosen: int = 2) -> str:
    """The printed list with option ``chosen`` marked (``mark`` holds ``{}`` for the option)."""
    return separator.join(mark.format(o) if i == chosen else o for i, o in enumerate(OPTIONS))


def boxed(box_first: bool, chosen: int = 2, separator: str = " ") -> str:
    boxes = ["☒" if i == chosen else "☐" for i in range(len(OPTIONS))]
    pairs = zip(boxes, OPTIONS, strict=True)
    return separator.join(f"{b} {o}" if box_first else f"{o} {b}" for b, o in pairs)


def others_struck(chosen: int = 2) -> str:
    """One option per line, an empty box before every option but the chosen one."""
    return "\n".join(o if i == chosen else f"☐ {o}" for i, o in enumerate(OPTIONS))


@pytest.mark.parametrize(
    "text",
    [
        ticked("☒ {}"),
        ticked("{} X"),
        ticked("{} ✓", separator="\n"),
        boxed(box_first=True),
        boxed(box_first=False),
        boxed(box_first=True, separator="\n"),
        others_struck(),
    ],
)
def test_choice_marked_in_the_list(niveau: FieldSpec, text: str) -> None:
    result = parse_choice(text, niveau.choices, niveau.template_answer)
    assert result == Normalised("secondaire_superieur")


@pytest.mark.parametrize(
    "text",
    ["secondaire supérieur – supérieur de type court", "maîtrise", "Bachelier puis master"],
)
def test_ambiguous_or_unknown_choice(niveau: FieldSpec, text: str) -> None:
    assert parse_choice(text, niveau.choices, niveau.template_answer) == Normalised(
        None, f"Niveau d’études illisible : « {text} »."
    )


def test_every_configured_phrase_reads_as_its_value(niveau: FieldSpec) -> None:
    for value, phrases in niveau.choices.items():
        for phrase in phrases:
            assert parse_choice(phrase, niveau.choices).value == value, phrase


# --- scores -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["8", "8/10", "8 / 10", "8 sur 10", "note : 8", "(8)", "huit"])
def test_scores(text: str) -> None:
    assert parse_score(text) == Normalised(8)


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        ("12", "Autodiagnostic : valeur hors de l’échelle 1-10 (« 12 »)."),
        ("0", "Autodiagnostic : valeur hors de l’échelle 1-10 (« 0 »)."),
        ("7,5", "Autodiagnostic : note non entière (« 7,5 »)."),
        ("X", "Autodiagnostic : pas de note dans « X »."),
        ("7 ou 8", "Autodiagnostic : plusieurs valeurs (« 7 ou 8 »)."),
        ("4/5", "Autodiagnostic : note sur une autre échelle que 1-10 (« 4/5 »)."),
    ],
)
def test_unreadable_scores(text: str, warning: str) -> None:
    assert parse_score(text) == Normalised(None, warning)


# --- the public samples' answers as written -------------------------------------------------


def test_sample_answers(niveau: FieldSpec) -> None:
    """Raw answers of tests/fixtures/samples/dossiers (meta.raw) and their expected values."""
    assert parse_date("01/02/2015").value == "2015-02-01"
    assert parse_date("juillet 2012").value == "2012-07"
    assert parse_date("11.04.2014").value == "2014-04-11"
    assert parse_date("27 novembre 1998").value == "1998-11-27"
    assert parse_date("À compléter") == Normalised(None)
    assert parse_number("9,6").value == 9.6
    assert parse_yes_no("Non, demande en cours", "oui/non").value is False
    assert parse_yes_no("OUI", "oui/non") == Normalised(True)
    assert parse_choice("CESS", niveau.choices, niveau.template_answer).value == (
        "secondaire_superieur"
    )
    assert parse_choice("supérieur de type long", niveau.choices).value == "superieur_long"
    assert parse_email("Coordination@Traiteurmosaique.org").value == (
        "coordination@traiteurmosaique.org"
    )
    assert parse_email("Mlocatelli@comune.bergamo.example.it").value == (
        "mlocatelli@comune.bergamo.example.it"
    )
    assert clean_text("N/A").value is None


# --- properties -------------------------------------------------------------------------------

ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 ./-,:;()[]☒☐✓xXBEouinOUINmarsjuilletfévrier@+/\n–", max_size=40),
)


def parse_niveau(text: str) -> Normalised:
    spec = niveau_spec()
    return parse_choice(text, spec.choices, spec.template_answer)


PARSERS: list[Callable[[str], Normalised]] = [
    clean_text,
    parse_date,
    parse_enterprise_number,
    parse_number,
    parse_yes_no,
    lambda text: parse_yes_no(text, "oui/non"),
    parse_phone,
    parse_email,
    parse_niveau,
    parse_score,
]


@PROPERTIES
@given(text=ANY_TEXT)
@pytest.mark.parametrize("parse", PARSERS)
def test_never_raises_and_returns_json_ready_values(
    parse: Callable[[str], Normalised], text: str
) -> None:
    result = parse(text)
    assert isinstance(result, Normalised)
    json.dumps([result.value, result.warning, result.detail])
    assert result.warning is None or result.warning.endswith(".")
    if is_placeholder(text):
        assert result == Normalised(None)


@PROPERTIES
@given(text=st.text())
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text).value
    assert clean_text(once) == Normalised(once)
    assert once is None or (once == once.strip() and "\n\n" not in once and "  " not in once)


@PROPERTIES
@given(placeholder=st.sampled_from(PLACEHOLDERS), dressing=st.sampled_from(["", ".", " :", "!"]))
def test_placeholders_whatever_their_case(placeholder: str, dressing: str) -> None:
    assert is_placeholder(f"  {placeholder.upper()}{dressing} ")


def enterprise_numbers() -> st.SearchStrategy[str]:
    """Valid ten-digit numbers: eight digits starting with 0 or 1, then 97 - (them mod 97)."""
    return st.integers(1, 19_999_999).map(lambda base: f"{base:08d}{97 - base % 97:02d}")


ENTERPRISE_STYLES: list[Callable[[str], str]] = [
    lambda n: f"{n[:4]}.{n[4:7]}.{n[7:]}",
    lambda n: f"{n[:4]} {n[4:7]} {n[7:]}",
    lambda n: n,
    lambda n: f"BE {n[:4]} {n[4:7]} {n[7:]}",
    lambda n: f"BE{n}",
    lambda n: f"BE {n[:4]}.{n[4:7]}.{n[7:]}",
    lambda n: f"BE-{n[:4]}.{n[4:7]}.{n[7:]}",
    lambda n: f"TVA BE {n[:4]}.{n[4:7]}.{n[7:]}",
    lambda n: f"BCE : {n[:4]}.{n[4:7]}.{n[7:]}",
    lambda n: f"n° {n[:4]}-{n[4:7]}-{n[7:]}",
]


@PROPERTIES
@given(number=enterprise_numbers(), style=st.sampled_from(ENTERPRISE_STYLES))
def test_enterprise_number_round_trip(number: str, style: Callable[[str], str]) -> None:
    assert parse_enterprise_number(style(number)) == Normalised(
        f"{number[:4]}.{number[4:7]}.{number[7:]}"
    )


def old_enterprise_numbers() -> st.SearchStrategy[str]:
    """Numbers from the time they had nine digits: the ten-digit form is 0 and those nine."""
    return st.integers(1_000_000, 9_999_999).map(lambda base: f"{base:08d}{97 - base % 97:02d}")


@PROPERTIES
@given(number=old_enterprise_numbers(), dotted=st.booleans())
def test_old_nine_digit_numbers_get_their_leading_zero(number: str, dotted: bool) -> None:
    old = number[1:]
    written = f"{old[:3]}.{old[3:6]}.{old[6:]}" if dotted else old
    assert parse_enterprise_number(written) == Normalised(
        f"{number[:4]}.{number[4:7]}.{number[7:]}"
    )


MOIS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre")  # fmt: skip
MOIS_ABREGES = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                "oct.", "nov.", "déc.")  # fmt: skip
JOURS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def unaccented(text: str) -> str:
    return text.translate(str.maketrans("éèêëàâîïôûùç", "eeeeaaiiouuc"))


DATE_STYLES: list[Callable[[dt.date], str]] = [
    lambda d: d.strftime("%d/%m/%Y"),
    lambda d: d.strftime("%d-%m-%Y"),
    lambda d: d.strftime("%d.%m.%Y"),
    lambda d: f"{d.day}/{d.month}/{d.year}",
    lambda d: f"{d.day}/{d.month}/{d.year % 100:02d}",
    lambda d: d.isoformat(),
    lambda d: f"{d.day} {MOIS[d.month - 1]} {d.year}",
    lambda d: f"{'1er' if d.day == 1 else d.day} {MOIS[d.month - 1]} {d.year}",
    lambda d: f"le {d.day} {MOIS[d.month - 1]} {d.year}",
    lambda d: f"{JOURS[d.weekday()]} {d.day} {MOIS[d.month - 1]} {d.year}",
    lambda d: f"{d.day} {MOIS[d.month - 1].capitalize()} {d.year}",
    lambda d: f"{d.day} {MOIS[d.month - 1].upper()} {d.year}",
    lambda d: f"{d.day} {MOIS_ABREGES[d.month - 1]} {d.year}",
    lambda d: f"{d.day} {unaccented(MOIS[d.month - 1])} {d.year}",
    lambda d: f"créée le {d:%d/%m/%Y} à Bruxelles",
    lambda d: f"Date : {d.day} {MOIS[d.month - 1]} {d.year}.",
]


@PROPERTIES
@given(
    date=st.dates(min_value=dt.date(1931, 1, 1), max_value=dt.date(2030, 12, 31)),
    style=st.sampled_from(DATE_STYLES),
)
def test_date_round_trip(date: dt.date, style: Callable[[dt.date], str]) -> None:
    assert parse_date(style(date)) == Normalised(date.isoformat())


MONTH_STYLES: list[Callable[[dt.date], str]] = [
    lambda d: f"{MOIS[d.month - 1]} {d.year}",
    lambda d: f"{MOIS_ABREGES[d.month - 1]} {d.year}",
    lambda d: f"{MOIS[d.month - 1].capitalize()} {d.year}",
    lambda d: f"{d.month:02d}/{d.year}",
    lambda d: f"{d.month}/{d.year}",
    lambda d: f"en {unaccented(MOIS[d.month - 1])} {d.year}",
]


@PROPERTIES
@given(
    date=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    style=st.sampled_from(MONTH_STYLES),
)
def test_month_and_year_round_trip(date: dt.date, style: Callable[[dt.date], str]) -> None:
    assert parse_date(style(date)) == Normalised(f"{date.year:04d}-{date.month:02d}")


@PROPERTIES
@given(year=st.integers(1900, 2100))
def test_a_year_alone_is_no_date(year: int) -> None:
    assert parse_date(str(year)) == Normalised(None, f"Date incomplète (année seule) : « {year} ».")


@PROPERTIES
@given(
    units=st.integers(0, 999_999),
    cents=st.integers(0, 99),
    decimal=st.sampled_from([",", "."]),
    unit=st.sampled_from(["", " ETP", " personnes"]),
)
def test_number_round_trip(units: int, cents: int, decimal: str, unit: str) -> None:
    expected = float(f"{units}.{cents:02d}")
    grouped = f"{units:,}".replace(",", " ")  # "1 200"
    assert parse_number(f"{units}{decimal}{cents:02d}{unit}").value == expected
    assert parse_number(f"{grouped},{cents:02d}{unit}").value == expected
    assert parse_number(f"{units}{unit}").value == float(units)


# words that cannot be read as oui/non or as a tick mark
DETAIL_WORDS = st.text(alphabet="abcdfghiklmpqrstuvwzéèàç0123456789", min_size=1, max_size=10)
DETAILS = st.lists(DETAIL_WORDS, min_size=1, max_size=5).map(" ".join)


@PROPERTIES
@given(
    answer=st.sampled_from(["oui", "Oui", "OUI", "non", "Non", "NON", "yes", "no"]),
    separator=st.sampled_from([", ", " ; ", " : ", " – ", " — ", " - ", " ", ". "]),
    detail=DETAILS,
    parenthesised=st.booleans(),
)
def test_yes_no_detail_round_trip(
    answer: str, separator: str, detail: str, parenthesised: bool
) -> None:
    written = f"{answer}{separator}({detail})" if parenthesised else f"{answer}{separator}{detail}"
    value = answer.lower() in ("oui", "yes")
    assert parse_yes_no(written, "oui/non") == Normalised(value, detail=detail)


PHONE_STYLES: list[Callable[[str], str]] = [
    lambda n: f"{n[:4]} {n[4:6]} {n[6:8]} {n[8:]}",
    lambda n: f"{n[:4]}/{n[4:6]}.{n[6:8]}.{n[8:]}",
    lambda n: f"{n[:4]}.{n[4:6]}.{n[6:8]}.{n[8:]}",
    lambda n: n,
    lambda n: f"+32 {n[1:4]} {n[4:6]} {n[6:8]} {n[8:]}",
    lambda n: f"0032 {n[1:4]} {n[4:6]} {n[6:8]} {n[8:]}",
    lambda n: f"+32 (0){n[1:4]} {n[4:6]} {n[6:8]} {n[8:]}",
    lambda n: f"Tél. : {n[:4]} {n[4:6]} {n[6:8]} {n[8:]}",
]


@PROPERTIES
@given(
    mobile=st.from_regex(r"\A04[5-9][0-9]{7}\Z", fullmatch=True),
    style=st.sampled_from(PHONE_STYLES),
)
def test_belgian_mobile_round_trip(mobile: str, style: Callable[[str], str]) -> None:
    assume(phonenumbers.is_valid_number(phonenumbers.parse(mobile, "BE")))
    assert parse_phone(style(mobile)) == Normalised(f"+32{mobile[1:]}")


@PROPERTIES
@given(
    local=st.from_regex(r"\A[a-z][a-z0-9]{0,10}(\.[a-z0-9]{1,8})?\Z", fullmatch=True),
    domain=st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9]\Z", fullmatch=True),
    style=st.sampled_from(["{}", "mailto:{}", "<{}>", "Marie <{}>", "{}.", " {} "]),
)
def test_email_round_trip(local: str, domain: str, style: str) -> None:
    # « xn-- »-like labels (hyphens 3rd and 4th) are reserved, rightly refused (a0--0.be)
    assume(domain[2:4] != "--")
    address = f"{local}@{domain}.be"
    assert parse_email(style.format(address.upper())) == Normalised(address)


@PROPERTIES
@given(
    score=st.integers(1, 10),
    style=st.sampled_from(["{}", "{}/10", "{} / 10", "{} sur 10", "note : {}", "({})"]),
)
def test_score_round_trip(score: int, style: str) -> None:
    assert parse_score(style.format(score)) == Normalised(score)


@PROPERTIES
@given(score=st.integers(11, 10_000) | st.integers(-100, 0))
def test_scores_outside_the_scale(score: int) -> None:
    assert parse_score(str(score)) == Normalised(
        None, f"Autodiagnostic : valeur hors de l’échelle 1-10 (« {score} »)."
    )


@PROPERTIES
@given(
    chosen=st.integers(0, len(OPTIONS) - 1),
    separator=st.sampled_from([" – ", " - ", " / ", "\n", "\n• "]),
    mark=st.sampled_from(["☒ {}", "[x] {}", "X {}", "{} X", "{} ✓", "✔ {}"]),
)
def test_choice_ticked_in_the_list_round_trip(chosen: int, separator: str, mark: str) -> None:
    options = [mark.format(o) if i == chosen else o for i, o in enumerate(OPTIONS)]
    assert parse_niveau(separator.join(options)) == Normalised(VALUES[chosen])


@PROPERTIES
@given(chosen=st.integers(0, len(OPTIONS) - 1), shout=st.booleans())
def test_choice_with_the_others_deleted_round_trip(chosen: int, shout: bool) -> None:
    option = OPTIONS[chosen].upper() if shout else OPTIONS[chosen]
    assert parse_niveau(f"  {option} ") == Normalised(VALUES[chosen])


# --- choices: nothing chosen is blank, not unread ------------------------------------------

TOPICS = ("Digital economy", "Youth capacity building", "Child poverty and vulnerability")


@pytest.mark.parametrize(
    ("lines", "state"),
    [
        (["☐ Digital economy", "☐ Youth capacity building", "☐ Child poverty and vulnerability"], "blank"),
        (["Digital economy", "Youth capacity building", "Child poverty and vulnerability"], "blank"),
        (["☒ Digital economy", "☐ Youth capacity building"], "filled"),
    ],
)
def test_nothing_chosen_in_a_list_is_blank_with_its_reason(lines: list[str], state: str) -> None:
    from config.programme import load_programme
    from parsers.choices import read_choices
    from parsers.dossier import state_of
    from parsers.filling import RawAnswer

    spec = load_programme("reves-2017").form.field("initiative.topics")
    reading = read_choices(TOPICS, lines)
    assert reading.blank is (state == "blank")
    assert (reading.warning is not None) is (state == "blank")  # the reason is kept
    answer = RawAnswer("\n".join(lines), True, lines=lines)
    assert state_of(spec, answer, reading) == state
    # a warning that is not « nothing chosen » still means unread
    assert state_of(spec, answer, Normalised(None, "Date illisible : « x ».")) == "unread"
