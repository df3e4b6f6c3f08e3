"""The worker's health: a heartbeat in the store after each cycle, and the alerts
``guichet doctor --alert`` mails to coordinators when it stops.

    heartbeat   ``record_cycle``: after each cycle, one row per programme for its cycles
                (``subject`` "") and one per mailbox (``subject`` its id), updated in
                place (``triage.models.WorkerHealth``): when it last ran, last succeeded,
                since when it fails and why
    outages     ``outages`` (pure): no cycle succeeded for ``worker_minutes``, or a mailbox
                failing for ``mailbox_hours``; and those alerted that are over
    alerts      ``record_alerts``: one mail per coordinator and outage through the outbox,
                keyed by the outage's start (``alerte:…``), so never twice for the same
                outage; one « rétabli » (``retabli:…``) when an alerted outage is over;
                ``alert_coordinators`` records them and sends what the outbox holds

While the cycles themselves are stale, the mailboxes' rows are stale too: only the
worker's outage is mailed then.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.environment import positive_number
from config.programme import Programme
from guichet.errors import ConfigError
from ingest.archive import RawArchive
from ingest.poll import CycleReport
from triage.models import OutboxMail, WorkerHealth

if TYPE_CHECKING:  # mails out import the worker's modules: only named here
    from notifications.compose import Rendered
    from notifications.smtp import Sender
    from triage.store import Store

CYCLES = ""  # the subject of the row of the programme's cycles
ALERT = "alerte"  # outbox kinds (templates ``alerte.*.j2``)
RECOVERED = "retabli"
KINDS = (ALERT, RECOVERED)

WORKER_MINUTES_ENV = "GUICHET_ALERT_WORKER_MINUTES"
MAILBOX_HOURS_ENV = "GUICHET_ALERT_MAILBOX_HOURS"
DEFAULT_WORKER_MINUTES = 20.0  # ten cycles of the default two minutes
DEFAULT_MAILBOX_HOURS = 3.0  # several tries at the backoff's hour, and time to notice

_ADDRESS = re.compile(r"[^\s<>()«»\"',;]+@[^\s<>()«»\"',;]+")


def log_reason(error: str) -> str:
    """A mailbox's error as a log line may carry it: without the « boîte « id » (address) »
    prefix the mailbox's id already says, and without any address."""
    reason = error.split(" : ", 1)[1] if error.startswith("boîte ") and " : " in error else error
    return _ADDRESS.sub("(adresse)", reason)


# --- heartbeat -------------------------------------------------------------------------


def _row(session: Session, programme_id: str, subject: str) -> WorkerHealth | None:
    return session.scalar(
        select(WorkerHealth).where(
            WorkerHealth.programme_id == programme_id, WorkerHealth.subject == subject
        )
    )


def _upsert(
    session: Session, programme_id: str, subject: str, worker: str, now: dt.datetime
) -> WorkerHealth:
    row = _row(session, programme_id, subject)
    if row is not None:
        return row
    row = WorkerHealth(programme_id=programme_id, subject=subject, worker=worker, last_cycle_at=now)
    try:
        with session.begin_nested():  # another worker may add it right now
            session.add(row)
    except IntegrityError:
        found = _row(session, programme_id, subject)
        assert found is not None
        return found
    return row


def record_cycle(
    session: Session, programme_id: str, report: CycleReport, now: dt.datetime, worker: str
) -> dict[str, dt.datetime]:
    """The heartbeat of one finished cycle; returns, for each failing mailbox, since when
    it fails (kept across cycles and restarts)."""
    cycles = _upsert(session, programme_id, CYCLES, worker, now)
    cycles.worker, cycles.last_cycle_at, cycles.last_success_at = worker, now, now
    failing: dict[str, dt.datetime] = {}
    for box in report.mailboxes:
        row = _upsert(session, programme_id, box.id, worker, now)
        row.worker = worker
        if box.skipped_until is not None:  # waiting for its backoff: unchanged
            if row.failing_since is not None:
                failing[box.id] = row.failing_since
            continue
        row.last_cycle_at = now
        if box.error:
            row.failing_since = row.failing_since or now
            row.last_error = box.error
            failing[box.id] = row.failing_since
        else:
            row.last_success_at = now
            row.failing_since = None
            row.last_error = None
    return failing


def heartbeats(session: Session, programme_id: str) -> list[WorkerHealth]:
    return list(
        session.scalars(
            select(WorkerHealth)
            .where(WorkerHealth.programme_id == programme_id)
            .order_by(WorkerHealth.subject)
        )
    )


# --- outages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertSettings:
    worker_after: dt.timedelta = dt.timedelta(minutes=DEFAULT_WORKER_MINUTES)
    mailbox_after: dt.timedelta = dt.timedelta(hours=DEFAULT_MAILBOX_HOURS)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertSettings:
        minutes = positive_number(env, WORKER_MINUTES_ENV) or DEFAULT_WORKER_MINUTES
        hours = positive_number(env, MAILBOX_HOURS_ENV) or DEFAULT_MAILBOX_HOURS
        return cls(dt.timedelta(minutes=minutes), dt.timedelta(hours=hours))


@dataclass(frozen=True)
class Outage:
    """What stopped working (``subject`` "": the cycles; else a mailbox id), since when
    (the last success of the cycles, or the first failure of a mailbox), and whether it
    still lasts (else: it was alerted and is over)."""

    subject: str
    since: dt.datetime
    reason: str
    ongoing: bool = True

    @property
    def kind(self) -> str:
        return ALERT if self.ongoing else RECOVERED

    def key(self, programme_id: str, recipient: str) -> str:
        what = self.subject or "releve"
        return f"{self.kind}:{programme_id}:{what}:{self.since:%Y%m%dT%H%M%SZ}:{recipient}"


def outages(
    rows: Iterable[WorkerHealth],
    mailbox_ids: Sequence[str],
    now: dt.datetime,
    settings: AlertSettings,
) -> list[Outage]:
    """The outages to tell coordinators about (pure). No row for the cycles: the worker
    never ran, nothing to compare with (``guichet doctor`` says so, no mail)."""
    by_subject = {row.subject: row for row in rows}
    cycles = by_subject.get(CYCLES)
    if cycles is None:
        return []
    found: list[Outage] = []
    last = cycles.last_success_at or cycles.last_cycle_at
    if now - last >= settings.worker_after:
        found.append(Outage(CYCLES, last, "aucun relevé réussi"))
        return found  # the mailboxes' rows are as old: nothing more to say about them
    if cycles.alerted_for is not None:
        found.append(Outage(CYCLES, cycles.alerted_for, "relevés de nouveau réguliers", False))
    for mailbox_id in mailbox_ids:
        row = by_subject.get(mailbox_id)
        if row is None:
            continue
        since = row.failing_since
        if since is not None and now - since >= settings.mailbox_after:
            found.append(Outage(mailbox_id, since, log_reason(row.last_error or "en erreur")))
        elif row.alerted_for is not None and row.alerted_for != since:
            found.append(Outage(mailbox_id, row.alerted_for, "de nouveau accessible", False))
    return found


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d}"
    return f"{hours // 24} jours"


def alert_context(
    programme: Programme, outage: Outage, now: dt.datetime, settings: AlertSettings
) -> dict[str, object]:
    from notifications.wording import when  # the heartbeat does not need it

    if outage.subject == CYCLES:
        what = "Le relevé des boîtes aux lettres"
    else:
        spec = next((m for m in programme.mailboxes if m.id == outage.subject), None)
        address = f" ({spec.address})" if spec is not None else ""
        what = f"La boîte « {outage.subject} »{address}"
    return {
        "organisation": programme.organisation,
        "programme": programme.name,
        "what": what,
        "worker": outage.subject == CYCLES,
        "ongoing": outage.ongoing,
        "since": when(outage.since, programme),
        "now": when(now, programme),
        "lasting": _duration(now - outage.since),
        "reason": outage.reason,
        "threshold": _duration(
            settings.worker_after if outage.subject == CYCLES else settings.mailbox_after
        ),
    }


def french_spaced(rendered: Rendered) -> Rendered:
    """No-break spaces before « : ; ! ? » and inside « », as the digest sets its text."""
    from notifications.compose import Rendered
    from notifications.digest.render import french_spacing

    return Rendered(*(french_spacing(p) for p in (rendered.subject, rendered.text, rendered.html)))


def record_alerts(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    found: Sequence[Outage],
    now: dt.datetime,
    settings: AlertSettings,
) -> list[OutboxMail]:
    """One mail per coordinator and outage (its key makes a second one impossible), and
    the rows marked as alerted (or cleared, once the « rétabli » is recorded)."""
    from notifications.compose import render  # the heartbeat does not need them
    from notifications.outbox import record

    recorded: list[OutboxMail] = []
    recipients = [r.lower() for r in programme.digest_recipients]
    if not recipients:
        raise ConfigError(
            f"programme {programme.id} : personne à prévenir "
            "(notifications.digest.recipients ou manager.email)"
        )
    for outage in found:
        rendered = french_spaced(render(ALERT, alert_context(programme, outage, now, settings)))
        for recipient in recipients:
            row = record(
                session,
                archive,
                programme,
                key=outage.key(programme.id, recipient),
                kind=outage.kind,
                recipient=recipient,
                rendered=rendered,
                now=now,
                copy_to_sent=False,
            )
            if row is not None:
                recorded.append(row)
        health = _row(session, programme.id, outage.subject)
        if health is not None:
            health.alerted_for = outage.since if outage.ongoing else None
    return recorded


@dataclass
class AlertReport:
    """One run of the alerts: the outages found, the mails recorded and those sent."""

    found: list[Outage]
    recorded: list[int]
    sent: list[int]


def alert_coordinators(
    store: Store,
    programme: Programme,
    sender: Sender | None,
    now: dt.datetime,
    settings: AlertSettings,
) -> AlertReport:
    """Outages from the heartbeat; with a sender, the alerts recorded in the outbox and
    sent (a mail recorded earlier that could not leave goes now). Without one, nothing is
    recorded: an alert days late, once SMTP is set, would mislead."""
    from notifications.delivery import deliver

    ids = [m.id for m in programme.mailboxes]
    with store.sessions.begin() as session:
        found = outages(heartbeats(session, programme.id), ids, now, settings)
        if sender is None or programme.sender_mailbox is None:
            return AlertReport(found, [], [])
        recorded = [
            row.id for row in record_alerts(session, store.archive, programme, found, now, settings)
        ]
    delivery = deliver(
        store.sessions, store.archive, sender, programme.sender_mailbox.address, now, kinds=KINDS
    )
    return AlertReport(found, recorded, [i for i in recorded if i in delivery.sent])
