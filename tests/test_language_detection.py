"""Issue #14, point 8: the applicant's language (notifications.language), detected from
their mail's own words and their dossier's answers with lingua, offline; a short or mixed
text tells nothing and the programme's default is used; detected once per application.
End to end: a Dutch applicant's mail, polled from Dovecot, gets a Dutch acknowledgement
over SMTP with ``Content-Language: nl``, and a French complement later still gets Dutch."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select

from config.programme import load_programme
from ingest.mailbox import programme_mailboxes
from ingest.poll import run_cycle
from ingest.processing import Checker
from notifications.jobs import Notifier, smtp_sender
from notifications.language import (
    DETECTED,
    UNSURE,
    Detection,
    application_language,
    choose,
    detect,
    lingua_detector,
    own_words,
)
from tests.conftest import Accounts
from tests.mails import brussels
from tests.servers import DovecotServer, SmtpRelay, guichet_smtp_env
from tests.stores import dossier_mail, file_mails
from triage.models import Application, Event
from triage.store import Store

BLOSSOM = load_programme("blossom-2026")
REVES = load_programme("reves-2017")
VELO = "g03-mixed-labels-npar3"  # Vélo Solidaire, a complete form (in French)
NO_CV = ("statuts", "rapport", "bilans")

BODIES = {
    "nl": "Beste,\n\nIn bijlage vindt u onze kandidatuur voor het BLOSSOM-programma, met onze "
    "statuten en ons jaarverslag. Het cv van onze contactpersoon volgt later deze week.\n\n"
    "Met vriendelijke groeten,\nJan Peeters",
    "fr": "Bonjour,\n\nVeuillez trouver ci-joint notre dossier de candidature au programme "
    "BLOSSOM ainsi que nos statuts.\n\nBien à vous,\nMarie Dubois",
    "en": "Dear COOPCITY team,\n\nPlease find attached our application form for the BLOSSOM "
    "programme, together with our articles of association.\n\nKind regards,\nSarah Jones",
}


def body_detection(body: str) -> Detection:
    return detect([("courriel", own_words(body))])


@pytest.mark.parametrize("language", ["fr", "nl", "en"])
def test_a_mail_in_french_dutch_or_english_is_recognised(language: str) -> None:
    found = body_detection(BODIES[language])
    assert found.language == language and found.source == "courriel"
    assert found.confidence >= 0.75
    assert choose(BLOSSOM, found.language) == language


@pytest.mark.parametrize(
    "body",
    [
        "Bonjour, ci-joint.",  # too short to tell
        "Dossier de candidature – COOPCITY 2026 – Vélo Solidaire",  # a subject
        "Hello,\n\nVoir pièce jointe.\n\nMvg",
        # mixed: as much French as Dutch
        "Bonjour, goedendag,\nVeuillez trouver ci-joint notre dossier de candidature complet.\n"
        "In bijlage vindt u ons volledige kandidatuurdossier.\nBien à vous, met vriendelijke groeten",
    ],
)
def test_a_short_or_mixed_mail_tells_nothing_and_the_default_is_used(body: str) -> None:
    assert body_detection(body) == UNSURE
    assert choose(BLOSSOM, None) == "fr"


def test_a_language_the_programme_does_not_offer_falls_back_to_its_default() -> None:
    german = "Sehr geehrte Damen und Herren,\n\nanbei finden Sie unsere Bewerbung für das " \
        "Programm und unsere Satzung.\n\nMit freundlichen Grüßen"  # fmt: skip
    assert body_detection(german).language == "de"  # not taken for Dutch
    assert choose(BLOSSOM, "de") == "fr"
    assert choose(REVES, "nl") == "en"  # RÊVES offers English and French, English first
    assert choose(REVES, "fr") == "fr"


def test_quoted_text_and_signatures_are_not_the_applicants_words() -> None:
    reply = (
        "Hier is het ontbrekende cv.\n\n"
        "Le lun. 7 sept. 2026 à 10:00, COOPCITY <info@coopcity.be> a écrit :\n"
        "> Bonjour, nous avons bien reçu la candidature de votre structure.\n"
    )
    assert own_words(reply) == "Hier is het ontbrekende cv."
    signed = "Goedendag, hierbij ons dossier.\n-- \nVélo Solidaire ASBL – www.velo.be – 02 123 45 67"
    assert own_words(signed) == "Goedendag, hierbij ons dossier."
    assert own_words("> only quoted text\n> more") == ""


def test_the_dossier_answers_tell_when_the_mail_is_too_short() -> None:
    answers = (
        "Wij herstellen en verhuren fietsen in Brussel en leiden jongeren op tot fietsmecanicien. "
        "Onze klanten zijn vooral gezinnen en kleine ondernemingen uit de buurt."
    )
    found = detect([("courriel", own_words("Bonjour, ci-joint.")), ("dossier", answers)])
    assert found.language == "nl" and found.source == "dossier"
    # a clear mail decides before the dossier: the applicant wrote to us in that language
    found = detect([("courriel", own_words(BODIES["en"])), ("dossier", answers)])
    assert found.language == "en" and found.source == "courriel"


def test_the_share_of_letters_decides_not_one_sentence() -> None:
    """Pure logic, with a detector that knows one word per language."""

    def by_first_word(text: str) -> Sequence[tuple[str, float]]:
        return [({"Bonjour": "fr", "Hallo": "nl"}.get(text.split()[0], "en"), 1.0)]

    four_to_one = "Hallo " + "x" * 80 + ".\nBonjour " + "x" * 15
    assert detect([("courriel", four_to_one)], by_first_word).language == "nl"
    even = "Hallo " + "x" * 30 + ".\nBonjour " + "x" * 30
    assert detect([("courriel", even)], by_first_word) == UNSURE


def test_lingua_answers_iso_codes_of_the_four_languages_it_loads() -> None:
    ranked = lingua_detector("Dit is een zin in het Nederlands, geschreven voor de test.")
    assert ranked[0][0] == "nl"
    assert {code for code, _ in ranked} == {"fr", "nl", "en", "de"}


def test_the_sources_are_the_first_mail_then_the_dossiers_free_answers(
    sqlite_store: Store, checker: Checker
) -> None:
    from notifications.language import sources

    raw = dossier_mail(VELO, annexes=NO_CV, body=BODIES["nl"] + "\n\n> Bonjour, ceci est cité.")
    file_mails(sqlite_store, [(raw, brussels(2026, 9, 8, 9, 0))], checker)
    with sqlite_store.sessions() as session:
        app = session.scalars(select(Application)).one()
        found = dict(sources(sqlite_store.archive, app, BLOSSOM))
    assert found["courriel"].startswith("Beste,") and "cité" not in found["courriel"]
    assert "info@velosolidaire.be" not in found["dossier"]  # an e-mail field is no answer
    assert len(found["dossier"]) > 500  # the project's description, in French
    assert detect([("dossier", found["dossier"])]).language == "fr"


def test_an_application_is_detected_once_and_kept(sqlite_store: Store, checker: Checker) -> None:
    raw = dossier_mail(VELO, annexes=NO_CV, body=BODIES["nl"])
    file_mails(sqlite_store, [(raw, brussels(2026, 9, 8, 9, 0))], checker)
    calls: list[str] = []

    def counted(text: str) -> Sequence[tuple[str, float]]:
        calls.append(text)
        return lingua_detector(text)

    with sqlite_store.sessions.begin() as session:
        app = session.scalars(select(Application)).one()
        now = brussels(2026, 9, 8, 9, 5)
        assert application_language(session, sqlite_store.archive, BLOSSOM, app, now, counted) == "nl"
        read = len(calls)
        assert read > 0
        assert application_language(session, sqlite_store.archive, BLOSSOM, app, now, counted) == "nl"
        assert len(calls) == read  # read back, not detected again
        (event,) = session.scalars(select(Event).where(Event.kind == DETECTED)).all()
        assert event.data["detected"] == "nl" and event.data["source"] == "courriel"
        assert event.detail == "Courriels en néerlandais (langue détectée dans son courriel)"


def test_a_conversation_begun_in_french_before_detection_stays_french(
    sqlite_store: Store, checker: Checker
) -> None:
    """An application mailed (in French) before languages were detected: its Dutch body
    does not switch the next mail to Dutch."""
    from notifications.outbox import record_for_application
    from notifications.plan import ACCUSE, RELANCE, Due

    raw = dossier_mail(VELO, annexes=NO_CV, body=BODIES["nl"])
    file_mails(sqlite_store, [(raw, brussels(2026, 9, 8, 9, 0))], checker)
    with sqlite_store.sessions.begin() as session:
        app = session.scalars(select(Application)).one()
        mail = app.messages[0]
        due = Due(ACCUSE, f"accuse:{app.id}:{mail.id}", app.id, mail.id)
        row = record_for_application(session, sqlite_store.archive, BLOSSOM, app, due,
                                     brussels(2026, 9, 8, 9, 5))  # fmt: skip
        assert row is not None and row.subject.startswith("Ontvangstbevestiging")
        # as if that mail had been recorded before detection existed: no event kept
        for event in session.scalars(select(Event).where(Event.kind == DETECTED)):
            session.delete(event)
        row.subject = "Accusé de réception – Vélo Solidaire – BLOSSOM 2026-2027"
    with sqlite_store.sessions.begin() as session:
        app = session.scalars(select(Application)).one()
        due = Due(RELANCE, f"relance:{app.id}", app.id, app.messages[0].id)
        row = record_for_application(session, sqlite_store.archive, BLOSSOM, app, due,
                                     brussels(2026, 9, 11, 9, 5))  # fmt: skip
        assert row is not None and row.subject.startswith("Il manque encore")
        (event,) = session.scalars(select(Event).where(Event.kind == DETECTED)).all()
        assert event.detail == "Courriels en français (la langue des courriels déjà envoyés)"


def test_the_result_goes_out_in_the_applications_language(
    sqlite_store: Store, checker: Checker
) -> None:
    """``guichet results``: the plan shows each application's language, and the result mail
    is written in it (``Resultaat van uw kandidatuur``, ``Content-Language: nl``)."""
    from notifications.outbox import record_for_application
    from notifications.plan import ACCUSE, Due
    from notifications.results import record_results, results_plan
    from triage.decisions import record_decision

    raw = dossier_mail(VELO, body=BODIES["nl"])
    file_mails(sqlite_store, [(raw, brussels(2026, 9, 8, 9, 0))], checker)
    with sqlite_store.sessions.begin() as session:
        app = session.scalars(select(Application)).one()
        (line,) = results_plan(session, BLOSSOM)
        assert line.language is None  # nothing written to it yet: not chosen
        mail = app.messages[0]
        due = Due(ACCUSE, f"accuse:{app.id}:{mail.id}", app.id, mail.id)
        now = brussels(2026, 9, 8, 9, 5)
        assert record_for_application(session, sqlite_store.archive, BLOSSOM, app, due, now)
        record_decision(session, app, "attente", "cli", brussels(2026, 10, 1, 9, 0))
    with sqlite_store.sessions.begin() as session:
        (line,) = results_plan(session, BLOSSOM)
        assert line.language == "nl" and line.state == "a_envoyer"
        (row,) = record_results(session, sqlite_store.archive, BLOSSOM, brussels(2026, 10, 2, 9, 0))
        assert row.subject == "Resultaat van uw kandidatuur – Vélo Solidaire – BLOSSOM 2026-2027"
        raw_result = sqlite_store.archive.read(row.raw_sha256)
    result = email.message_from_bytes(raw_result, policy=email.policy.default)
    assert result["Content-Language"] == "nl"
    assert "staat op de wachtlijst" in text_of(result)  # type: ignore[arg-type]


# --- end to end: Dovecot in, SMTP out ---------------------------------------------------------


def received(dovecot: DovecotServer, address: str) -> list[email.message.EmailMessage]:
    with dovecot.mailbox(address) as box:
        box.folder.set("INBOX")
        mails = sorted(box.fetch(mark_seen=False, bulk=True), key=lambda m: m.date)
    return [
        email.message_from_bytes(m.obj.as_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for m in mails
    ]


def text_of(mail: email.message.EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return " ".join(part.get_content().split())


def html_of(mail: email.message.EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def test_a_dutch_applicant_gets_a_dutch_acknowledgement_over_smtp(
    accounts: Accounts,
    smtp_relay: SmtpRelay,
    sqlite_store: Store,
    applicant: str,
    dovecot: DovecotServer,
    checker: Checker,
) -> None:
    env = {**accounts.env, **guichet_smtp_env(smtp_relay)}
    notifier = Notifier(sqlite_store, BLOSSOM, env, smtp_sender(env))
    boxes = programme_mailboxes(BLOSSOM.mailboxes, env)

    def cycle(now: dt.datetime) -> Any:
        run_cycle(sqlite_store, BLOSSOM, boxes, now, checker=checker)
        return notifier.run(now + dt.timedelta(minutes=1))

    sender = f"Jan Peeters <{applicant}>"
    first = dossier_mail(VELO, annexes=NO_CV, sender=sender, body=BODIES["nl"])
    accounts.append("info", first, brussels(2026, 9, 8, 9, 0))
    cycle(brussels(2026, 9, 8, 9, 2))

    (ack,) = received(dovecot, applicant)
    assert ack["Content-Language"] == "nl"
    assert str(ack["Subject"]) == "Ontvangstbevestiging – Vélo Solidaire – BLOSSOM 2026-2027"
    text = text_of(ack)
    assert text.startswith("Beste, We hebben de kandidatuur van “Vélo Solidaire”")
    assert "Wat nog ontbreekt: - Het cv van de contactpersoon voor COOPCITY" in text
    assert "vóór maandag 14 september 2026 om 10:00 (Brusselse tijd)" in text
    assert "matthias@coopcity.be" in text and "Met vriendelijke groeten" in text
    assert "(ontvangen op dinsdag 8 september 2026 om 09:00)" in text
    assert '<html lang="nl">' in html_of(ack)

    # The CV, sent two days later with a French line: the complement is still in Dutch.
    cv = dossier_mail(
        VELO,
        with_dossier=False,
        annexes=("cv",),
        sender=sender,
        message_id="<cv@velosolidaire.be>",
        in_reply_to=ack["Message-ID"],
        body="Bonjour,\n\nVoici le CV de notre personne de contact pour le programme.\n",
    )
    accounts.append("info", cv, brussels(2026, 9, 10, 15, 0))
    cycle(brussels(2026, 9, 10, 15, 2))

    mails = received(dovecot, applicant)
    assert len(mails) == 2
    complement = mails[1]
    assert complement["Content-Language"] == "nl"
    assert str(complement["Subject"]) == "Aanvulling ontvangen – Vélo Solidaire – BLOSSOM 2026-2027"
    assert "Uw dossier is volledig: we hebben niets meer van u nodig." in text_of(complement)
    assert "CV référente.pdf: Het cv van de contactpersoon voor COOPCITY" in text_of(complement)
    with sqlite_store.sessions() as session:
        events = session.scalars(select(Event).where(Event.kind == DETECTED)).all()
        assert [e.data["language"] for e in events] == ["nl"]


def test_a_mail_too_short_to_tell_gets_the_programme_default_over_smtp(
    accounts: Accounts,
    smtp_relay: SmtpRelay,
    sqlite_store: Store,
    applicant: str,
    dovecot: DovecotServer,
    checker: Checker,
) -> None:
    """« Hello, see attached »: too short; the dossier's answers are French: French."""
    env = {**accounts.env, **guichet_smtp_env(smtp_relay)}
    notifier = Notifier(sqlite_store, BLOSSOM, env, smtp_sender(env))
    raw = dossier_mail(VELO, annexes=NO_CV, sender=f"<{applicant}>", body="Hello, see attached.\n")
    accounts.append("info", raw, brussels(2026, 9, 8, 9, 0))
    run_cycle(sqlite_store, BLOSSOM, programme_mailboxes(BLOSSOM.mailboxes, env),
              brussels(2026, 9, 8, 9, 2), checker=checker)  # fmt: skip
    notifier.run(brussels(2026, 9, 8, 9, 3))

    (ack,) = received(dovecot, applicant)
    assert ack["Content-Language"] == "fr"
    assert str(ack["Subject"]) == "Accusé de réception – Vélo Solidaire – BLOSSOM 2026-2027"
    with sqlite_store.sessions() as session:
        (event,) = session.scalars(select(Event).where(Event.kind == DETECTED)).all()
        assert event.data["source"] in ("dossier", "")


def test_an_outlook_reply_is_read_without_the_mail_it_answers() -> None:
    """The same cut as the coordinators' messages (parsers.quotes): an Outlook block,
    a Dutch header folded over two lines."""
    outlook = (
        "Here is our CV, sorry for the delay.\n\n"
        "Van: COOPCITY <info@coopcity.be>\nVerzonden: maandag 7 september 2026 10:00\n"
        "Aan: Vélo Solidaire\nOnderwerp: Ontvangstbevestiging\n\nBeste, we hebben uw kandidatuur ontvangen.\n"
    )
    assert own_words(outlook) == "Here is our CV, sorry for the delay."
    folded = (
        "Voici le CV demandé.\n\nOp ma 7 sep. 2026 om 10:00 schreef COOPCITY\n"
        "<info@coopcity.be>:\n\nBeste, we hebben uw kandidatuur ontvangen.\n"
    )
    assert own_words(folded) == "Voici le CV demandé."
