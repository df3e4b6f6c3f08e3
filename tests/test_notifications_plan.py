"""Which mails an application is due (notifications.plan): pure rules, no store."""

from __future__ import annotations

import datetime as dt

from config.programme import load_programme
from notifications.plan import (
    ACCUSE,
    COMPLEMENT,
    HORS_DELAI,
    RAPPEL,
    RELANCE,
    ApplicationFacts,
    MailFacts,
    covered_by,
    due_mails,
    reminder_moments,
)
from tests.mails import brussels
from triage.verdict import COMPLET, INCOMPLET
from triage.verdict import HORS_DELAI as LATE

BLOSSOM = load_programme("blossom-2026")


def facts(
    mails: list[tuple[int, dt.datetime]],
    status: str = INCOMPLET,
    answered: tuple[int, ...] = (),
    keys: tuple[str, ...] = (),
    last_written_at: dt.datetime | None = None,
) -> ApplicationFacts:
    found = tuple(MailFacts(i, when) for i, when in mails)
    return ApplicationFacts(
        id=7,
        status=status,
        mails=found,
        covered=covered_by(found, answered),
        keys=frozenset(keys),
        last_written_at=last_written_at,
    )


def kinds(app: ApplicationFacts, now: dt.datetime) -> list[tuple[str, str, int | None]]:
    return [(d.kind, d.key, d.answers) for d in due_mails(app, BLOSSOM, now)]


def test_a_first_mail_gets_an_acknowledgement_keyed_on_it() -> None:
    app = facts([(11, brussels(2026, 9, 1, 9))])
    assert kinds(app, brussels(2026, 9, 1, 9, 2)) == [(ACCUSE, "accuse:7:11", 11)]


def test_mails_arriving_together_get_one_answer_about_the_latest() -> None:
    app = facts([(11, brussels(2026, 9, 1, 9)), (12, brussels(2026, 9, 1, 9, 1))])
    assert kinds(app, brussels(2026, 9, 1, 9, 2)) == [(ACCUSE, "accuse:7:12", 12)]


def test_a_later_mail_gets_a_complement_answer() -> None:
    app = facts([(11, brussels(2026, 9, 1, 9)), (15, brussels(2026, 9, 3, 9))], answered=(11,))
    assert kinds(app, brussels(2026, 9, 3, 9, 2)) == [(COMPLEMENT, "complement:7:15", 15)]


def test_an_answered_application_is_due_nothing_more_until_something_happens() -> None:
    app = facts([(11, brussels(2026, 9, 1, 9))], status=COMPLET, answered=(11,), keys=("accuse:7:11",),
                last_written_at=brussels(2026, 9, 1, 9, 2))  # fmt: skip
    assert kinds(app, brussels(2026, 9, 13, 8)) == []


def test_a_late_mail_gets_the_late_answer_and_an_on_time_one_still_its_own() -> None:
    app = facts(
        [(11, brussels(2026, 9, 14, 9, 59, 59)), (12, brussels(2026, 9, 14, 10, 0, 1))], status=LATE
    )
    assert kinds(app, brussels(2026, 9, 14, 10, 1)) == [
        (ACCUSE, "accuse:7:11", 11),
        (HORS_DELAI, "hors_delai:7:12", 12),
    ]


def test_a_mail_at_the_deadline_itself_is_on_time() -> None:
    app = facts([(11, brussels(2026, 9, 14, 10, 0, 0))])
    assert kinds(app, brussels(2026, 9, 14, 10, 1))[0][0] == ACCUSE


def test_follow_up_once_after_the_configured_days_and_only_before_the_deadline() -> None:
    days = BLOSSOM.notifications.follow_up_after_days
    first = brussels(2026, 9, 1, 9)
    written = brussels(2026, 9, 1, 9, 2)
    app = facts([(11, first)], answered=(11,), keys=("accuse:7:11",), last_written_at=written)
    assert kinds(app, first + dt.timedelta(days=days) - dt.timedelta(minutes=1)) == []
    assert kinds(app, written + dt.timedelta(days=days)) == [(RELANCE, "relance:7", 11)]
    done = facts(
        [(11, first)], answered=(11,), keys=("accuse:7:11", "relance:7"), last_written_at=written
    )
    assert kinds(done, brussels(2026, 9, 9, 9)) == []
    assert kinds(app, brussels(2026, 9, 14, 10, 0, 1)) == []  # after the deadline: no chasing


def test_no_follow_up_for_a_complete_application() -> None:
    app = facts(
        [(11, brussels(2026, 9, 1, 9))], status=COMPLET, answered=(11,), keys=("accuse:7:11",)
    )
    assert kinds(app, brussels(2026, 9, 10, 9)) == []


def test_reminders_on_their_days_for_incomplete_applications_only() -> None:
    moments = dict(reminder_moments(BLOSSOM))
    assert moments == {2: brussels(2026, 9, 12, 8, 0), 0: brussels(2026, 9, 14, 8, 0)}
    app = facts([(11, brussels(2026, 9, 10, 9))], answered=(11,), keys=("accuse:7:11",),
                last_written_at=brussels(2026, 9, 10, 9, 2))  # fmt: skip
    assert kinds(app, brussels(2026, 9, 12, 7, 59)) == []
    assert kinds(app, brussels(2026, 9, 12, 8, 1)) == [(RAPPEL, "rappel:7:J-2", 11)]
    assert kinds(app, brussels(2026, 9, 14, 8, 1)) == [(RAPPEL, "rappel:7:J-0", 11)]
    # a reminder missed by more than half a day is dropped, not sent late
    assert kinds(app, brussels(2026, 9, 12, 21, 0)) == []
    complete = facts([(11, brussels(2026, 9, 10, 9))], status=COMPLET, answered=(11,))
    assert kinds(complete, brussels(2026, 9, 12, 8, 1)) == []


def test_no_reminder_right_after_we_wrote_or_to_an_application_newer_than_it() -> None:
    app = facts([(11, brussels(2026, 9, 12, 7))], answered=(11,), keys=("accuse:7:11",),
                last_written_at=brussels(2026, 9, 12, 7, 2))  # fmt: skip
    assert kinds(app, brussels(2026, 9, 12, 8, 1)) == []
    newer = facts(
        [(11, brussels(2026, 9, 14, 9))],
        answered=(11,),
        last_written_at=brussels(2026, 9, 14, 9, 1),
    )
    assert kinds(newer, brussels(2026, 9, 14, 9, 30)) == []
