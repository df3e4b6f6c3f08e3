"""Which mails an application is due, at a given moment. Pure: facts in, decisions out.

    accuse       the first mail(s) of an application, received before the deadline
    complement   later mails before the deadline (annexes sent apart, a corrected dossier)
    hors_delai   mails received after the deadline
    relance      still incomplete ``follow_up_after_days`` after the first mail, and that
                 long since our last mail; once, and only before the deadline
    rappel       on each reminder day before the deadline (``notifications.reminders``),
                 to applications still incomplete; not when we wrote in the last 12 hours
    resultat     planned by ``guichet results send``, not here
    message_recu a message for the coordinators (``triage.messages``: a reply that brings no
                 new file) that no answer of ours followed: « Nous avons bien reçu votre
                 message », repeating nothing of it; at most one a day
                 (``MESSAGE_ACK_EVERY``), none for a message a coordinator already dealt with

Chasers (relance, rappel) are planned as a whole, as a programme manager would write them
by hand: at most one mail about the same missing items every ``same_missing_every_days``
(the acknowledgement or complement that listed them counts), and a reminder due while the
follow-up is due is one mail, the follow-up, which then also says the deadline is near.

Answers cover every mail up to the one they answer: mails that arrive together get one
answer, about all of them. Each due mail has a ``key`` unique to its event; the outbox
records a key once, so planning again never sends twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from config.programme import Programme
from triage.verdict import INCOMPLET

ACCUSE = "accuse"
COMPLEMENT = "complement"
HORS_DELAI = "hors_delai"
RELANCE = "relance"
RAPPEL = "rappel"
RESULTAT = "resultat"
MESSAGE_RECU = "message_recu"
DIGEST = "digest"

ANSWERS = (ACCUSE, COMPLEMENT, HORS_DELAI)  # kinds that answer (and cover) mails
APPLICANT_KINDS = (*ANSWERS, RELANCE, RAPPEL, RESULTAT, MESSAGE_RECU)
MESSAGE_ACK_EVERY = dt.timedelta(hours=24)  # at most one « message reçu » in this time
REMINDER_WINDOW = dt.timedelta(hours=12)  # a reminder missed by more than this is dropped
QUIET_BEFORE_REMINDER = dt.timedelta(hours=12)


@dataclass(frozen=True)
class MailFacts:
    id: int
    received_at: dt.datetime


@dataclass(frozen=True)
class Listed:
    """One of our mails to an application and the missing items it listed (None: not
    recorded, a mail from before they were; taken as about the same items)."""

    at: dt.datetime
    missing: frozenset[str] | None


@dataclass(frozen=True)
class ApplicationFacts:
    id: int
    status: str
    mails: tuple[MailFacts, ...]  # its candidature mails, in order of receipt
    covered: frozenset[int]  # mails an earlier answer covered
    keys: frozenset[str]  # outbox keys already recorded for it
    last_written_at: dt.datetime | None  # our latest mail to it, any kind
    missing: frozenset[str] = frozenset()  # what is missing now (``Application.missing``)
    listed: tuple[Listed, ...] = ()  # our mails to it that listed missing items
    messages: tuple[MailFacts, ...] = ()  # its messages for the coordinators, by receipt
    dealt: frozenset[int] = frozenset()  # those a coordinator has dealt with
    answered_at: dt.datetime | None = None  # our latest answer or « message reçu »
    message_ack_at: dt.datetime | None = None  # our latest « message reçu »


@dataclass(frozen=True)
class Due:
    kind: str
    key: str
    application_id: int
    answers: int | None  # the mail it answers (threading), or None
    reminder: int | None = None  # a follow-up also standing for the reminder J-<n>


def last_about(app: ApplicationFacts) -> dt.datetime | None:
    """When we last wrote to ``app`` about the items it misses now (the same set)."""
    found = [m.at for m in app.listed if m.missing is None or m.missing == app.missing]
    return max(found) if found else None


def covered_by(mails: Sequence[MailFacts], answered: Sequence[int]) -> frozenset[int]:
    """The mails covered by answers to ``answered``: each answer covers its mail and every
    mail received before it."""
    positions = [i for i, m in enumerate(mails) if m.id in answered]
    if not positions:
        return frozenset()
    return frozenset(m.id for m in mails[: max(positions) + 1])


def is_late(received: dt.datetime, programme: Programme) -> bool:
    deadline = programme.deadline_at
    return deadline is not None and received > deadline


def reminder_moments(programme: Programme) -> list[tuple[int, dt.datetime]]:
    """(days before, moment) of each reminder, in time order."""
    deadline = programme.deadline_at
    if deadline is None:
        return []
    moments = [
        (
            r.days_before,
            dt.datetime.combine(
                deadline.date() - dt.timedelta(days=r.days_before), r.at, tzinfo=programme.zone
            ),
        )
        for r in programme.notifications.reminders
    ]
    return sorted(((d, m) for d, m in moments if m < deadline), key=lambda item: item[1])


def due_mails(app: ApplicationFacts, programme: Programme, now: dt.datetime) -> list[Due]:
    """The mails ``app`` is due at ``now`` and has not been sent (by key)."""
    found = [d for d in _answers(app, programme) if d.key not in app.keys]
    if found:
        return found  # an answer already says what is missing: no chasing in the same breath
    ack = message_ack(app)
    if ack is not None and ack.key not in app.keys:
        return [ack]  # one mail at a time: a chaser waits for the next run
    return [d for d in _chasers(app, programme, now) if d.key not in app.keys][:1]


def message_ack(app: ApplicationFacts) -> Due | None:
    """The « message reçu » for the latest message no answer of ours followed, unless a
    coordinator dealt with it or we sent one less than ``MESSAGE_ACK_EVERY`` before it."""
    waiting = [
        m
        for m in app.messages
        if m.id not in app.dealt and (app.answered_at is None or m.received_at > app.answered_at)
    ]
    if not waiting:
        return None
    latest = waiting[-1]
    last = app.message_ack_at
    if last is not None and latest.received_at - last < MESSAGE_ACK_EVERY:
        return None
    return Due(MESSAGE_RECU, f"{MESSAGE_RECU}:{app.id}:{latest.id}", app.id, latest.id)


def _answers(app: ApplicationFacts, programme: Programme) -> list[Due]:
    new = [m for m in app.mails if m.id not in app.covered]
    on_time = [m for m in new if not is_late(m.received_at, programme)]
    late = [m for m in new if is_late(m.received_at, programme)]
    found = []
    if on_time:
        kind = COMPLEMENT if app.covered else ACCUSE
        found.append(Due(kind, f"{kind}:{app.id}:{on_time[-1].id}", app.id, on_time[-1].id))
    if late:
        found.append(Due(HORS_DELAI, f"{HORS_DELAI}:{app.id}:{late[-1].id}", app.id, late[-1].id))
    return found


def _chasers(app: ApplicationFacts, programme: Programme, now: dt.datetime) -> list[Due]:
    deadline = programme.deadline_at
    if app.status != INCOMPLET or not app.mails or (deadline is not None and now >= deadline):
        return []
    spec = programme.notifications
    about = last_about(app)
    every = dt.timedelta(days=spec.same_missing_every_days)

    def too_soon(at: dt.datetime) -> bool:  # we wrote about these very items not long before
        return about is not None and at - about < every

    latest = app.mails[-1]
    first = app.mails[0].received_at
    reminder: int | None = None  # the reminder whose moment it is
    reminder_goes = False
    for days_before, moment in reversed(reminder_moments(programme)):
        if moment <= now < moment + REMINDER_WINDOW and first < moment:
            reminder = days_before
            # judged at its moment: a reminder held back is not sent later in the day
            reminder_goes = not too_soon(moment) and (
                app.last_written_at is None or now - app.last_written_at >= QUIET_BEFORE_REMINDER
            )
            break  # only the latest reminder moment counts
    wait = dt.timedelta(days=spec.follow_up_after_days)
    follow_up = f"{RELANCE}:{app.id}"
    quiet = app.last_written_at is None or now - app.last_written_at >= wait
    if (
        follow_up not in app.keys
        and wait > dt.timedelta(0)
        and now - first >= wait
        and quiet
        and not too_soon(now)
    ):
        # A reminder due the same day is merged into it: one mail, not two.
        return [Due(RELANCE, follow_up, app.id, latest.id, reminder)]
    if reminder is not None and reminder_goes:
        return [Due(RAPPEL, f"{RAPPEL}:{app.id}:J-{reminder}", app.id, latest.id)]
    return []
