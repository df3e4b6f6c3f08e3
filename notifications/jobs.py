"""What ``guichet run`` adds to the worker for mails going out (``ingest.scheduler.Hook``).

    courriels        every polling interval: record the mails due to applicants
                     (acknowledgements, follow-ups, reminders), send what waits, copy
                     what was sent to the Sent folder
    rappel-J-<n>     at each reminder moment, the same run (so reminders leave on time)
    point-quotidien  the coordinators' digest, every day at ``notifications.digest.at``
    point-final      the deadline-day digest, ``final_delay_minutes`` after the deadline

Every run reads the clock once (the worker passes ``now``) and opens its own sessions.
Without ``GUICHET_SMTP_HOST`` nothing is planned or sent, and each run says so in the log
(counts only, no address); once SMTP is configured, mails not answered yet are.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.programme import Programme
from guichet.errors import ConfigError, DeliveryError
from ingest.scheduler import Hook
from notifications.delivery import DeliveryReport, deliver
from notifications.outbox import plan_and_record
from notifications.plan import reminder_moments
from notifications.sent_folder import CopyReport, copy_sent
from notifications.smtp import ENV_PREFIX as SMTP_ENV_PREFIX
from notifications.smtp import Sender, SmtpSender, SmtpSettings
from triage.store import Store

log = logging.getLogger("guichet.courriels")

COURRIELS_JOB = "courriels"
DIGEST_JOB = "point-quotidien"
FINAL_DIGEST_JOB = "point-final"


def smtp_sender(env: Mapping[str, str]) -> Sender | None:
    """The SMTP sender the environment describes, or None when none is configured."""
    if not (env.get(SMTP_ENV_PREFIX + "HOST") or "").strip():
        return None
    return SmtpSender(SmtpSettings.from_env(env))


@dataclass
class Notifier:
    """Mails out for one programme: to applicants, and the digest to coordinators."""

    store: Store
    programme: Programme
    env: Mapping[str, str]
    sender: Sender | None

    @property
    def envelope_from(self) -> str:
        mailbox = self.programme.sender_mailbox
        if mailbox is None:
            raise ConfigError(f"programme {self.programme.id} : aucune boîte d’envoi")
        return mailbox.address

    def run(self, now: dt.datetime) -> OutgoingReport:
        """Record what is due to applicants, then send and copy everything waiting.

        Without SMTP nothing is planned either: once it is configured, the mails not yet
        answered get their answer, and reminders whose moment has passed are not sent late."""
        if self.sender is None:
            return OutgoingReport()
        with self.store.sessions.begin() as session:
            recorded = [
                row.id for row in plan_and_record(session, self.store.archive, self.programme, now)
            ]
        report = OutgoingReport(recorded=recorded)
        report.delivery, report.copies = self.flush(now)
        return report

    def flush(
        self, now: dt.datetime, kinds: tuple[str, ...] | None = None
    ) -> tuple[DeliveryReport, CopyReport]:
        """Send what waits in the outbox (``kinds`` only, if given), then the Sent copies."""
        if self.sender is None:
            return DeliveryReport(), CopyReport()
        delivery = deliver(
            self.store.sessions,
            self.store.archive,
            self.sender,
            self.envelope_from,
            now,
            kinds=kinds,
        )
        copies = copy_sent(self.store.sessions, self.store.archive, self.programme, self.env, now)
        return delivery, copies


@dataclass
class OutgoingReport:
    recorded: list[int] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    copies: CopyReport = field(default_factory=CopyReport)


def outgoing_line(report: OutgoingReport, sending: bool) -> str:
    """One log line per run: counts only."""
    d = report.delivery
    parts = [f"{len(report.recorded)} préparé(s)"]
    if sending:
        parts.append(f"{len(d.sent)} envoyé(s)")
        if d.postponed:
            parts.append(f"{len(d.postponed)} reporté(s)")
        if d.abandoned:
            parts.append(f"{len(d.abandoned)} abandonné(s)")
        if d.uncertain:
            parts.append(f"{len(d.uncertain)} renvoyé(s) après interruption")
        if d.expired:
            parts.append(f"{d.expired} relance(s) ou rappel(s) périmé(s)")
        if report.copies.copied:
            parts.append(f"{len(report.copies.copied)} copié(s) dans « Envoyés »")
    else:
        parts = ["envoi désactivé (GUICHET_SMTP_HOST non défini), rien n’est préparé"]
    return "courriels : " + ", ".join(parts)


def _digest(notifier: Notifier, at: dt.datetime, *, final: bool) -> None:
    from notifications.digest_mail import send_digest  # the digest needs the export

    what = "point de clôture" if final else "point quotidien"
    if notifier.sender is None:
        log.warning("%s non envoyé : GUICHET_SMTP_HOST non défini", what)
        return
    delivery = send_digest(notifier, at, final=final)
    if delivery.sent:
        log.info("%s envoyé à %d destinataire(s)", what, len(delivery.sent))
    elif delivery.postponed:
        log.warning("%s reporté : serveur d’envoi indisponible", what)


def hooks(notifier: Notifier, poll_every: dt.timedelta, now: dt.datetime) -> list[Hook]:
    """The worker's jobs for mails out (see the module's docstring)."""
    programme = notifier.programme
    zone = programme.zone
    grace = max(int(poll_every.total_seconds()), 1)

    def courriels(store: Store, programme: Programme, at: dt.datetime) -> None:
        try:
            report = notifier.run(at)
        except DeliveryError as e:
            log.error("courriels : %s", e.message)
            return
        log.info(outgoing_line(report, notifier.sender is not None))

    found = [
        Hook(
            COURRIELS_JOB,
            # Half an interval after each poll: what a cycle filed is answered a minute later.
            IntervalTrigger(
                seconds=poll_every.total_seconds(), start_date=now + poll_every / 2, timezone=zone
            ),
            courriels,
            grace,
        )
    ]
    for days_before, moment in reminder_moments(programme):
        if moment > now:
            found.append(
                Hook(f"rappel-J-{days_before}", DateTrigger(run_date=moment), courriels, 6 * 3600)
            )
    digest_at = programme.notifications.digest.at

    def daily(store: Store, programme: Programme, at: dt.datetime) -> None:
        _digest(notifier, at, final=False)

    found.append(
        Hook(
            DIGEST_JOB,
            CronTrigger(hour=digest_at.hour, minute=digest_at.minute, timezone=zone),
            daily,
            4 * 3600,
        )
    )
    deadline = programme.deadline_at
    if deadline is not None:
        final_at = deadline + dt.timedelta(
            minutes=programme.notifications.digest.final_delay_minutes
        )
        if final_at > now:

            def final(store: Store, programme: Programme, at: dt.datetime) -> None:
                _digest(notifier, at, final=True)

            found.append(Hook(FINAL_DIGEST_JOB, DateTrigger(run_date=final_at), final, 24 * 3600))
    return found
