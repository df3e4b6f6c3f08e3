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
