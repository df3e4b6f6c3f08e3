"""Which mails an application is due (notifications.plan): pure rules, no store."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from config.programme import load_programme
from notifications.plan import (
    ACCUSE,
    COMPLEMENT,
    HORS_DELAI,
    RAPPEL,
    RELANCE,
    ApplicationFacts,
    Due,
    Listed,
    MailFacts,
    covered_by,
    due_mails,
    last_about,
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
    reminded = facts([(11, brussels(2026, 9, 10, 9))], answered=(11,),
                     keys=("accuse:7:11", "rappel:7:J-2"), last_written_at=brussels(2026, 9, 12, 8, 1))  # fmt: skip
    assert kinds(reminded, brussels(2026, 9, 14, 8, 1)) == [(RAPPEL, "rappel:7:J-0", 11)]
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


# --- issue #14, item 6: mails about the same missing items, planned as a whole ----------

CV = frozenset({"annexe.cv"})


def season(first: dt.datetime, programme=BLOSSOM, missing: frozenset[str] = CV,
           step: dt.timedelta = dt.timedelta(minutes=5)) -> list[tuple[str, dt.datetime, Due]]:  # fmt: skip
    """Every mail an application still missing ``missing`` gets from its first mail at
    ``first`` to the deadline, planning every ``step`` as the worker does."""
    deadline = programme.deadline_at
    assert deadline is not None
    mails = (MailFacts(11, first),)
    sent: list[tuple[str, dt.datetime, Due]] = []
    now = first + step
    while now <= deadline + dt.timedelta(hours=1):
        app = ApplicationFacts(
            id=7,
            status=INCOMPLET,
            mails=mails,
            covered=covered_by(mails, [d.answers for k, _, d in sent if k in (ACCUSE, COMPLEMENT) and d.answers]),
            keys=frozenset(d.key for _, _, d in sent),
            last_written_at=max((at for _, at, _ in sent), default=None),
            missing=missing,
            listed=tuple(Listed(at, missing) for _, at, _ in sent),
        )  # fmt: skip
        sent.extend((d.kind, now, d) for d in due_mails(app, programme, now))
        now += step
    return sent


def test_one_missing_cv_gets_the_acknowledgement_and_one_follow_up_not_four_mails() -> None:
    """The issue's case: a dossier sent on 8 September without its CV had 4 mails in 6 days
    (acknowledgement, « Dossier incomplet », the D-2 and D-day reminders)."""
    every = dt.timedelta(days=BLOSSOM.notifications.same_missing_every_days)
    assert every == dt.timedelta(days=3)
    sent = season(brussels(2026, 9, 8, 9, 0))
    assert [(kind, at) for kind, at, _ in sent] == [
        (ACCUSE, brussels(2026, 9, 8, 9, 5)),
        (RELANCE, brussels(2026, 9, 11, 9, 5)),  # D-2 (12th) and D-day (14th, 8:00) are too near
    ]
    # Sent earlier in the season: a chaser at most every 3 days, the reminders included.
    for first in (brussels(2026, 9, 1, 9), brussels(2026, 9, 5, 17, 30), brussels(2026, 9, 10, 11)):
        sent = season(first)
        assert sent[0][0] == ACCUSE
        times = [at for _, at, _ in sent]
        assert all(b - a >= every for a, b in zip(times, times[1:], strict=False)), sent
    assert [k for k, _, _ in season(brussels(2026, 9, 1, 9))] == [ACCUSE, RELANCE, RAPPEL]


def test_the_deadline_day_reminder_goes_when_the_last_mail_about_the_items_is_older() -> None:
    sent = season(brussels(2026, 9, 7, 8, 0))
    assert [(kind, at) for kind, at, _ in sent] == [
        (ACCUSE, brussels(2026, 9, 7, 8, 5)),
        (RELANCE, brussels(2026, 9, 10, 8, 5)),
        (RAPPEL, brussels(2026, 9, 14, 8, 0)),  # D-2 skipped: the follow-up was 2 days before
    ]
    assert sent[-1][2].key == "rappel:7:J-0"


def test_a_reminder_due_with_the_follow_up_is_merged_into_it() -> None:
    accuse = brussels(2026, 9, 9, 8, 0)
    app = facts([(11, brussels(2026, 9, 9, 7, 58))], answered=(11,), keys=("accuse:7:11",),
                last_written_at=accuse)  # fmt: skip
    app = replace(app, missing=CV, listed=(Listed(accuse, CV),))
    morning = brussels(2026, 9, 12, 8, 1)  # D-2, and 3 days since the acknowledgement
    [due] = due_mails(app, BLOSSOM, morning)
    assert (due.kind, due.key, due.answers, due.reminder) == (RELANCE, "relance:7", 11, 2)
    after = replace(app, keys=app.keys | {due.key}, last_written_at=morning,
                    listed=(*app.listed, Listed(morning, CV)))  # fmt: skip
    assert due_mails(after, BLOSSOM, brussels(2026, 9, 12, 8, 30)) == []  # no D-2 besides
    assert due_mails(after, BLOSSOM, brussels(2026, 9, 14, 8, 1)) == []  # nor D-day, 2 days on
    # A follow-up on a day without a reminder stands for none.
    [plain] = due_mails(app, BLOSSOM, brussels(2026, 9, 13, 9, 0))
    assert plain.kind == RELANCE and plain.reminder is None


def test_other_missing_items_are_not_the_same_thing() -> None:
    """A mail listing other items does not hold back a reminder about what is missing now."""
    listed_at = brussels(2026, 9, 11, 9)
    app = facts([(11, brussels(2026, 9, 10, 9))], answered=(11,),
                keys=("accuse:7:11", "relance:7"), last_written_at=listed_at)  # fmt: skip
    other = replace(app, missing=CV, listed=(Listed(listed_at, CV | {"annexe.statuts"}),))
    assert kinds(other, brussels(2026, 9, 12, 8, 1)) == [(RAPPEL, "rappel:7:J-2", 11)]
    same = replace(app, missing=CV, listed=(Listed(listed_at, CV),))
    assert kinds(same, brussels(2026, 9, 12, 8, 1)) == []
    unknown = replace(app, missing=CV, listed=(Listed(listed_at, None),))  # recorded before
    assert kinds(unknown, brussels(2026, 9, 12, 8, 1)) == []
    assert last_about(other) is None and last_about(same) == listed_at


def test_the_limit_is_a_programme_setting_and_zero_lifts_it() -> None:
    spec = BLOSSOM.notifications
    loose = replace(BLOSSOM, notifications=replace(spec, same_missing_every_days=0))
    assert [k for k, _, _ in season(brussels(2026, 9, 8, 9, 0), loose)] == [ACCUSE, RELANCE, RAPPEL, RAPPEL]
    strict = replace(BLOSSOM, notifications=replace(spec, same_missing_every_days=7))
    # a week: the follow-up waits for it, and both reminders fall within the week after
    assert [(k, at.day) for k, at, _ in season(brussels(2026, 9, 1, 9, 0), strict)] == [
        (ACCUSE, 1), (RELANCE, 8)]  # fmt: skip


def test_the_follow_up_subject_names_what_is_missing_shortened(monkeypatch) -> None:
    from notifications import outbox
    from notifications.outbox import missing_in_subject

    assert missing_in_subject(BLOSSOM, ["annexe.cv"]) == "le CV de la personne référente pour COOPCITY"
    assert missing_in_subject(BLOSSOM, ["annexe.cv", "annexe.statuts"]) == (
        "vos statuts et le CV de la personne référente pour COOPCITY"
    )
    assert missing_in_subject(BLOSSOM, ["annexe.cv", "annexe.statuts", "annexe.bilans"]) == (
        "vos statuts et 2 autres éléments"
    )
    assert missing_in_subject(BLOSSOM, ["dossier"]) == "le formulaire de candidature"
    assert missing_in_subject(BLOSSOM, ["entreprise.numero"]) == "«\u00a0Numéro d’entreprise\u00a0»"
    assert missing_in_subject(BLOSSOM, ["besoins.motivations"]) == (
        "«\u00a0Vos besoins, question 1 (motivations)\u00a0»"
    )
    long = missing_in_subject(BLOSSOM, ["annexe.cv", "entreprise.accompagnement"])
    assert long.startswith("«\u00a0Etes-vous (ou avez-vous été) accompagnés") and long.endswith(
        "…\u00a0» et un autre élément"
    )
    assert len(long) <= 70
    asked = missing_in_subject(BLOSSOM, ["connaissance.source"])
    assert asked == "«\u00a0Comment avez-vous pris connaissance de nos programmes…\u00a0»"
    monkeypatch.setattr(outbox, "SUBJECT_ITEMS_LIMIT", 100)  # French typography: « ? »
    assert missing_in_subject(BLOSSOM, ["connaissance.source"]) == (
        "«\u00a0Comment avez-vous pris connaissance de nos programmes d’accompagnement\u00a0?\u00a0»"
    )
