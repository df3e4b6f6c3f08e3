"""What the mails to applicants are told (notifications.letters), from a filed store: an
answer written but not read is neither missing nor repeated back."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from notifications.letters import TO_CHECK, applicant_context
from tests.mails import brussels
from tests.stores import BLOSSOM, dossier_mail, file_mails
from triage.models import Application
from triage.store import Store

WHEN = brussels(2026, 9, 9, 14, 0)


def test_an_unread_score_is_counted_to_check_not_missing(
    sqlite_store: Store, checker: Callable
) -> None:
    # « 12/10 » as the fifth autodiagnostic score: written, but no score.
    file_mails(sqlite_store, [(dossier_mail("g22-autodiag-inline-out-of-range"), WHEN)], checker)
    with sqlite_store.sessions() as session:
        application = session.scalars(select(Application)).one()
        assert application.status == "complet" and application.unread == ["autodiagnostic.5"]
        context = applicant_context(application, BLOSSOM, WHEN, application.messages[0])
    assert context["complete"] and context["missing"] == []
    assert context["to_check"] == ["Autodiagnostic, affirmation 5"]
    understood = dict(context["understood"])
    assert understood["Autodiagnostic"] == f"6 notes sur 7, 1 {TO_CHECK}"
    assert "12/10" not in repr(context)  # the text found is never repeated to the applicant


def test_nothing_unread_nothing_to_check(sqlite_store: Store, checker: Callable) -> None:
    file_mails(sqlite_store, [(dossier_mail("g02-nextline-npar2"), WHEN)], checker)
    with sqlite_store.sessions() as session:
        application = session.scalars(select(Application)).one()
        context = applicant_context(application, BLOSSOM, WHEN)
    assert context["to_check"] == []
    assert all(TO_CHECK not in value for _, value in context["understood"])
    assert dict(context["understood"])["Autodiagnostic"] == "7 notes sur 7"


def test_a_damaged_file_is_asked_for_again_until_it_comes_back(
    sqlite_store: Store, checker: Callable
) -> None:
    """Issue #11, point 5: the acknowledgement names the damaged file and asks for it."""
    from notifications.compose import render
    from tests.fixtures.build_emails import b64, dossier, file_part, multipart, text_part

    head = (
        "From: a@asbl.be\nTo: info@coopcity.be\nMIME-Version: 1.0\n"
        "Subject: Dossier de candidature – COOPCITY 2026 – ASBL Abîmée\n"
    )
    data = dossier("p001.docx")
    broken = b64(data).replace("\n", "")
    broken = broken[: len(broken) // 2 // 4 * 4 + 1]  # base64 that cannot be decoded
    first = head + "Message-ID: <un@asbl.be>\n" + multipart("mixed", "b", [
        text_part("Voici notre dossier."),
        'Content-Type: application/octet-stream; name="dossier.docx"\n'
        'Content-Disposition: attachment; filename="dossier.docx"\n'
        f"Content-Transfer-Encoding: base64\n\n{broken}\n",
    ])  # fmt: skip
    file_mails(sqlite_store, [(first.encode(), WHEN)], checker)
    with sqlite_store.sessions() as session:
        application = session.scalars(select(Application)).one()
        assert any(w.startswith("Pièce endommagée : « dossier.docx »") for w in application.warnings)
        context = applicant_context(application, BLOSSOM, WHEN, application.messages[0])
    assert context["damaged"] == ["dossier.docx"]
    assert {"name": "dossier.docx", "what": "fichier endommagé, à nous renvoyer"}.items() <= (
        context["files"][0].items()
    )
    rendered = render("accuse", context)
    text = " ".join(rendered.text.split(" "))
    assert (
        "Le fichier «\u00a0dossier.docx\u00a0» nous est arrivé endommagé\u00a0: nous "
        "n’avons pas pu l’ouvrir. Merci de nous le renvoyer en répondant à ce courriel."
    ) in " ".join(text.replace("\n", " ").split(" "))
    assert "endommagé</strong>\u00a0: nous n’avons pas pu l’ouvrir" in rendered.html

    again = head + "Message-ID: <deux@asbl.be>\nIn-Reply-To: <un@asbl.be>\n" + multipart(
        "mixed", "b", [text_part("Le revoici."), file_part("dossier.docx", data)]
    )
    file_mails(sqlite_store, [(again.encode(), brussels(2026, 9, 9, 16, 0))], checker)
    with sqlite_store.sessions() as session:
        application = session.scalars(select(Application)).one()
        context = applicant_context(application, BLOSSOM, WHEN)
    assert context["damaged"] == []
    assert context["files"][0]["what"] == "fichier endommagé, renvoyé depuis"
    text = render("accuse", context).text
    assert "à nous renvoyer" not in text and "nous est arrivé endommagé" not in text


def test_a_creation_date_of_month_and_year_reads_as_french(
    sqlite_store: Store, checker: Callable
) -> None:
    """Issue #14, point 3: « Date de création : février 2002 », never « 2002-02 »."""
    file_mails(sqlite_store, [(dossier_mail("g13-table-B1col-grid"), WHEN)], checker)
    with sqlite_store.sessions() as session:
        application = session.scalars(select(Application)).one()
        context = applicant_context(application, BLOSSOM, WHEN, application.messages[0])
    assert dict(context["understood"])["Date de création"] == "février 2002"


def test_times_in_the_deadlines_minute_are_shown_to_the_second(
    sqlite_store: Store, checker: Callable
) -> None:
    """Issue #14, point 2: a mail at 10:00:01 is « reçu … à 10:00:01 », after a deadline
    « à 10:00:00 »; at 9:59:59, minutes are enough (« 09:59 » is before « 10:00 »)."""
    late_at = brussels(2026, 9, 14, 10, 0, 1)
    file_mails(sqlite_store, [(dossier_mail("g02-nextline-npar2"), late_at)], checker)
    with sqlite_store.sessions() as session:
        application = session.scalars(select(Application)).one()
        context = applicant_context(application, BLOSSOM, late_at, application.messages[0])
    assert context["late"] and context["answered_late"]
    assert context["answered_at"] == "lundi 14 septembre 2026 à 10:00:01"
    assert context["deadline"] == "lundi 14 septembre 2026 à 10:00:00"


def test_a_mail_a_second_before_the_deadline_keeps_minutes(
    sqlite_store: Store, checker: Callable
) -> None:
    on_time = brussels(2026, 9, 14, 9, 59, 59)
    file_mails(sqlite_store, [(dossier_mail("g02-nextline-npar2"), on_time)], checker)
    with sqlite_store.sessions() as session:
        application = session.scalars(select(Application)).one()
        context = applicant_context(application, BLOSSOM, on_time, application.messages[0])
    assert not context["answered_late"]
    assert context["answered_at"] == "lundi 14 septembre 2026 à 09:59"
    assert context["deadline"] == "lundi 14 septembre 2026 à 10:00"
