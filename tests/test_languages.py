"""Issue #14, point 8: mails to applicants in French, Dutch and English. Every template in
every language, rendered from a filed application: no French left in the Dutch and English
mails, and each still holds what the French one holds (the deadline, the missing items, the
contact); dates, numbers, quotes and names of fields in the mail's language; the headers."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from config.programme import load_programme
from notifications.compose import build_mail, new_message_id, render
from notifications.letters import applicant_context
from notifications.outbox import _chaser_context, missing_in_subject
from notifications.phrases import LANGUAGES
from notifications.plan import APPLICANT_KINDS, RELANCE, Due
from triage.review import REVUE
from notifications.wording import day, missing_questions, number, period, when
from tests.mails import brussels
from tests.stores import BLOSSOM, dossier_mail, file_mails
from triage.models import Application
from triage.store import Store, open_store

WHEN = brussels(2026, 9, 9, 14, 0)
MISSING = [
    "annexe.cv",
    "annexe.bilans",
    "description.q12",
    "autodiagnostic.5",
    "entreprise.agrement",
    "signature.lieu",
]
DEADLINE = {
    "fr": "lundi 14 septembre 2026 à 10:00",
    "nl": "maandag 14 september 2026 om 10:00",
    "en": "Monday 14 September 2026 at 10:00",
}
# Words and signs found in French and in neither Dutch nor English mails.
FRENCH_WORDS = re.compile(
    r"\b(?:vous|votre|vos|nous|notre|le|la|les|des|du|un|une|est|et|pour|avec|dans|sur"
    r"|reçu|courriel|candidature|Bonjour|Merci|Rappel|manque|encore|équipe|cordialement"
    r"|lundi|septembre|octobre|heure|Bruxelles|affirmation|statuts|référente)\b"
    r"|[«»àâçèêîôùûœ]|\u00a0",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def filed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A BLOSSOM application from a real dossier, its statuts and activity report sent."""
    from tests.conftest import sqlite_settings
    from triage.check import check_message

    store = open_store(sqlite_settings(tmp_path_factory.mktemp("languages")))
    raw = dossier_mail("g03-mixed-labels-npar3", annexes=("statuts", "rapport"))
    file_mails(store, [(raw, WHEN)], check_message)
    yield store
    store.close()


# every kind of mail an applicant can get: the plan's, and the desk's « revue »
MAIL_KINDS = (*APPLICANT_KINDS, REVUE)


def contexts(store: Store, language: str) -> dict[str, dict[str, Any]]:
    """The context of each kind of mail to the filed application, in ``language``: it
    misses ``MISSING`` (the annexes, a numbered question, a score, a yes/no, a signature)."""
    with store.sessions() as session:
        app = session.scalars(select(Application)).one()
        app.missing = list(MISSING)  # in memory only: never committed
        answered = app.messages[0]
        found = {}
        for kind in MAIL_KINDS:
            decision = "retenu" if kind == "resultat" else None
            context = applicant_context(app, BLOSSOM, WHEN, answered, decision, language)
            due = Due(kind, f"{kind}:1", app.id, answered.id, 2 if kind == RELANCE else None)
            found[kind] = {**context, **_chaser_context(app, BLOSSOM, due, language)}
        session.rollback()
    return found


def readable(rendered_text: str) -> str:
    """The words a person reads: tags dropped, entities decoded, spaces collapsed (a
    no-break space kept as such)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", rendered_text))
    return " ".join(text.replace("\u00a0", "\u2423").split()).replace("\u2423", "\u00a0")


def applicant_values(context: dict[str, Any]) -> list[str]:
    """What the applicant wrote (names, file names, answers) and the programme's names:
    French or not, it is quoted back as it was."""
    values = [context["structure"], context["programme"], context["organisation"]]
    values += [context["manager"], context["manager_email"], context["manager_phone"]]
    for f in context["files"]:
        values += [f["name"], *(m["name"] for m in f.get("inside", []))]
    values += [value for _, value in context["understood"]]
    values += [str(d) for d in context.get("damaged", [])]
    return sorted((readable(html.escape(v)) for v in values if v), key=len, reverse=True)


def french_left(text: str, context: dict[str, Any]) -> list[str]:
    flat = readable(text)
    for value in applicant_values(context):
        flat = flat.replace(value, " ")
    return sorted(set(FRENCH_WORDS.findall(flat)))


def holds(text: str, context: dict[str, Any], language: str) -> dict[str, bool]:
    flat = readable(text)
    missing = missing_questions(BLOSSOM, MISSING, language)
    return {
        "deadline": DEADLINE[language] in flat,
        "missing": all(readable(html.escape(item)) in flat for item in missing),
        "contact": context["manager_email"] in flat and context["manager_phone"] in flat,
    }


VARIANTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "as filed": lambda c: c,
    "to check, damaged, unread": lambda c: {
        **c,
        "to_check": c["missing"][3:4],
        "damaged": ["Statuts.pdf", "Bilans.pdf"],
        "not_read": True,
    },
    "one damaged, one to check": lambda c: {**c, "to_check": c["missing"][:1], "damaged": ["x.pdf"]},
    "complete": lambda c: {**c, "complete": True, "incomplete": False, "missing": []},
    "deadline passed": lambda c: {**c, "deadline_passed": True},
    "late": lambda c: {**c, "late": True, "answered_late": True},
    "waiting list": lambda c: {**c, "decision": "attente"},
    "not selected": lambda c: {**c, "decision": "non_retenu"},
}


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("kind", MAIL_KINDS)
def test_every_template_in_dutch_and_english_holds_no_french(
    filed: Store, kind: str, language: str
) -> None:
    base = contexts(filed, language)[kind]
    for variant, change in VARIANTS.items():
        context = change(base)
        rendered = render(kind, context, language)
        for part, text in (("subject", rendered.subject), ("text", rendered.text),
                           ("html", rendered.html)):  # fmt: skip
            assert french_left(text, context) == [], (variant, part)
            # Dutch and English set no space before « : ; ? ! »
            inline = html.unescape(re.sub(r"<[^>]+>", "", text))  # « <b>x</b>: » reads « x: »
            assert not re.search(r"\w\s[:;?!](?:\s|$)", inline), (variant, part)
        assert "{{" not in rendered.text + rendered.html
        assert f'<html lang="{language}">' in rendered.html


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("kind", MAIL_KINDS)
def test_each_mail_still_holds_the_deadline_the_missing_items_and_the_contact(
    filed: Store, kind: str, language: str
) -> None:
    french = contexts(filed, "fr")[kind]
    other = contexts(filed, language)[kind]
    for part in ("text", "html"):
        expected = holds(getattr(render(kind, french), part), french, "fr")
        found = holds(getattr(render(kind, other, language), part), other, language)
        assert found == expected, part
    # what each kind must hold at all (the French one included)
    needed = {"contact"} | ({"deadline"} if kind != "resultat" else set())
    if kind in ("accuse", "complement", "relance", "rappel", "revue"):
        needed.add("missing")
    assert {k for k, v in expected.items() if v} >= needed


def test_french_mails_are_typographically_french(filed: Store) -> None:
    """No-break spaces before « : ; ? ! » and inside « », in text and HTML alike."""
    for kind, context in contexts(filed, "fr").items():
        rendered = render(kind, context)
        for text in (rendered.text, readable(rendered.html)):
            assert not re.search(r" [:;?!](?=\s|$)", text.replace("https://", "")), kind
            assert "« " not in text and " »" not in text, kind


def test_dutch_and_english_mails_read_as_written_by_hand(filed: Store) -> None:
    nl = render("accuse", contexts(filed, "nl")["accuse"], "nl")
    en = render("accuse", contexts(filed, "en")["accuse"], "en")
    assert nl.subject == "Ontvangstbevestiging – Vélo Solidaire – BLOSSOM 2026-2027"
    assert en.subject == "Application received – Vélo Solidaire – BLOSSOM 2026-2027"
    nl_text, en_text = readable(nl.text), readable(en.text)
    assert nl_text.startswith("Beste, We hebben de kandidatuur van “Vélo Solidaire”")
    assert en_text.startswith("Hello, We have received the application from “Vélo Solidaire”")
    assert "- Het cv van de contactpersoon voor COOPCITY" in nl_text
    assert "- The CV of your contact person for COOPCITY" in en_text
    assert "Projectbeschrijving, vraag 12 (“Welke stappen hebt u daarvoor al gezet?”)" in nl_text
    assert "Project description, question 12 (“What steps have you already taken towards it?”)" in en_text
    assert "van maandag 14 tot en met vrijdag 18 september 2026" in nl_text
    assert "from Monday 14 to Friday 18 September 2026" in en_text
    assert "Met vriendelijke groeten, Het team van COOPCITY" in nl_text
    assert "Kind regards, The COOPCITY team" in en_text
    # what was read in the dossier, named in the mail's language
    assert "Rechtsvorm:" in nl_text and "Legal form:" in en_text
    assert "Zelfevaluatie: 7 van de 7 scores" in nl_text
    assert "Self-assessment: 7 of 7 scores" in en_text
    assert "Statuts.pdf: Uw statuten (ontvangen op woensdag 9 september 2026 om 14:00)" in nl_text
    assert "Statuts.pdf: Your articles of association (received on Wednesday 9 September" in en_text


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("fr", "Il manque encore « Bénéficiez-vous de l’agrément d’entreprise… » et 5 autres "
               "éléments à votre dossier – Vélo Solidaire"),
        ("nl", "Nog nodig voor uw dossier: “Is uw onderneming erkend als sociale…” en nog 5 "
               "onderdelen – Vélo Solidaire"),
        ("en", "Still needed for your application: “Is your enterprise accredited as a social…” "
               "and 5 other items – Vélo Solidaire"),
    ],
)  # fmt: skip
def test_a_follow_up_subject_names_the_missing_items_in_its_language(
    filed: Store, language: str, subject: str
) -> None:
    context = contexts(filed, language)["relance"]
    assert render("relance", context, language).subject.replace("\u00a0", " ") == subject


def test_the_subject_names_an_annex_and_a_question_as_one_writes_them() -> None:
    assert missing_in_subject(BLOSSOM, ["annexe.statuts", "annexe.cv"], "nl") == (
        "uw statuten en het cv van de contactpersoon voor COOPCITY"
    )
    assert missing_in_subject(BLOSSOM, ["description.q3"], "en") == (
        "“Project description, question 3”"
    )
    assert missing_in_subject(BLOSSOM, ["annexe.cv"], "en") == (
        "the CV of your contact person for COOPCITY"
    )
    assert missing_in_subject(BLOSSOM, [], "nl") == "enkele onderdelen"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_mail_says_its_language(filed: Store, language: str) -> None:
    rendered = render("accuse", contexts(filed, language)["accuse"], language)
    raw = build_mail(
        rendered,
        sender_name="COOPCITY – BLOSSOM 2026-2027",
        sender="info@coopcity.be",
        recipient="alice@example.org",
        message_id=new_message_id("info@coopcity.be"),
        date=dt.datetime(2026, 9, 9, 12, 5, tzinfo=dt.UTC),
    )
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Content-Language"] == language
    assert str(mail["Subject"]) == rendered.subject.replace("\u00a0", " ") or language == "fr"


def test_an_unknown_language_has_no_templates() -> None:
    from guichet.errors import DeliveryError

    with pytest.raises(DeliveryError, match="langue"):
        render("accuse", {}, "it")


# --- dates, numbers, periods --------------------------------------------------------------


def test_dates_are_written_as_each_language_writes_them() -> None:
    moment = brussels(2026, 9, 14, 10, 0)
    assert when(moment, BLOSSOM) == "lundi 14 septembre 2026 à 10:00"
    assert when(moment, BLOSSOM, language="nl") == "maandag 14 september 2026 om 10:00"
    assert when(moment, BLOSSOM, language="en") == "Monday 14 September 2026 at 10:00"
    assert when(moment, BLOSSOM, seconds=True, language="en").endswith("at 10:00:00")
    first = dt.date(2026, 9, 1)
    assert day(first, "fr") == "mardi 1er septembre 2026"
    assert day(first, "nl") == "dinsdag 1 september 2026"
    assert day(first, "en") == "Tuesday 1 September 2026"


def test_a_period_says_its_month_once_in_dutch_and_english() -> None:
    start, end = dt.date(2026, 9, 14), dt.date(2026, 9, 18)
    assert period(start, end) == "du lundi 14 septembre 2026 au vendredi 18 septembre 2026"
    assert period(start, end, "nl") == "van maandag 14 tot en met vrijdag 18 september 2026"
    assert period(start, end, "en") == "from Monday 14 to Friday 18 September 2026"
    across = period(dt.date(2026, 9, 28), dt.date(2026, 10, 2), "en")
    assert across == "from Monday 28 September 2026 to Friday 2 October 2026"


def test_numbers_follow_the_language() -> None:
    assert number(2.5, "fr") == "2,5" and number(2.5, "nl") == "2,5"
    assert number(2.5, "en") == "2.5"
    assert number(12000, "en") == "12,000"


def test_a_form_in_english_is_named_in_french_for_a_french_mail() -> None:
    """RÊVES: its form is English; a French mail names its fields in the programme's
    French words, in French typography; an English mail keeps the form's labels."""
    reves = load_programme("reves-2017")
    assert reves.languages.default == "en"
    fr = missing_questions(reves, ["initiative.topics", "applicant.city"], "fr")
    assert fr == ["Ville", "Pour quel(s) thème(s) présentez-vous votre candidature\u00a0?"]
    en = missing_questions(reves, ["initiative.topics"], "en")
    assert en == ["For which topic(s) are you applying?"]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", "Pour toute question, répondez simplement à ce courriel."),
        ("nl", "Hebt u vragen? Antwoord dan gewoon op deze e-mail."),
        ("en", "If you have any questions, simply reply to this e-mail."),
    ],
)
def test_a_programme_without_a_manager_asks_for_a_reply(
    filed: Store, language: str, words: str
) -> None:
    """RÊVES names no manager: no « Pour toute question,  est joignable à . »"""
    for kind, context in contexts(filed, language).items():
        context = {**context, "manager": "", "manager_email": "", "manager_phone": ""}
        rendered = render(kind, context, language)
        for text in (readable(rendered.text), readable(rendered.html)):
            assert words in text, kind
            assert "mailto:" not in rendered.html
            assert not re.search("est joignable|can be reached|bereiken via", text), kind
