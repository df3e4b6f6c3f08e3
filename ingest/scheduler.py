"""The worker's schedule (APScheduler 3): what ``guichet run`` does, and when.

    releve          a polling cycle every N minutes (``GUICHET_POLL_MINUTES``, default 2),
                    the first one at start, and at once when a mailbox watched in IMAP
                    IDLE announces a mail (``ingest.idle``, ``GUICHET_IMAP_<ID>_IDLE=1``)
    releve-final    one more cycle a minute after the programme's deadline (only when that
                    moment is still ahead), so the last dossiers are judged at once
    hooks           jobs other parts of guichet add: ``guichet run`` passes those of
                    ``notifications.jobs`` (mails to applicants, reminders, the digests)
    veille-systemd  under systemd's watchdog (``WATCHDOG_USEC``), every half of it:
                    ``WATCHDOG=1`` again if the last cycle ran to its end. Jobs run one at
                    a time, so a hung job stops it too; a cycle that failed stops it
                    until one succeeds. ``WatchdogSec`` need not exceed the polling interval.

Jobs are added from code at every start (memory job store) with explicit ids,
``max_instances=1``, ``coalesce=True`` and an explicit ``misfire_grace_time``. They run
one at a time (a one-thread pool): two cycles never race on the same store. Each run
reads the clock once and opens its own sessions (``run_cycle`` opens one per step).

A failing mailbox is not retried by the scheduler: ``ingest.poll`` records each failure
on the mailbox's checkpoint (``failures``, ``next_attempt_at``: 1, 2, 4… minutes, at most
an hour) and the scheduled cycles skip it until then; that backoff lives in the store, so
it survives a restart. The final pass tries every mailbox whatever its backoff.

Each cycle logs one French line with counts only: mailbox ids (never addresses),
numbers of mails, statuses, duration; never a subject, a sender or a secret. A failing
mailbox's reason is in the line the first time (« programme en erreur : connexion
impossible à … »), then « programme toujours en erreur depuis 20:14 UTC » while the same
reason lasts; a line says when it works again. After each cycle that ran to its end the
worker writes its heartbeat in the store (``ingest.health``) and tells systemd
(``ingest.watchdog``: ``WATCHDOG=1``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.environment import positive_number
from config.programme import Programme
from guichet.errors import ConfigError, GuichetError
from ingest import watchdog
from ingest.health import log_reason, record_cycle
from ingest.mailbox import MailboxSettings, UnconfiguredMailbox
from ingest.poll import Connect, CycleReport, open_imap, run_cycle
from ingest.processing import Checker, worker_identity
from triage.check import check_message
from triage.store import Store

POLL_MINUTES_ENV = "GUICHET_POLL_MINUTES"
POLL_SECONDS_ENV = "GUICHET_POLL_SECONDS"  # overrides the minutes (tests, demos)
DEFAULT_POLL_MINUTES = 2
FINAL_PASS_DELAY = dt.timedelta(minutes=1)
FINAL_PASS_GRACE = dt.timedelta(hours=24)  # a machine asleep at the deadline still runs it

POLL_JOB = "releve"
FINAL_PASS_JOB = "releve-final"
KEEPALIVE_JOB = "veille-systemd"

log = logging.getLogger("guichet.worker")

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ScheduleSettings:
    poll_every: dt.timedelta

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScheduleSettings:
        seconds = positive_number(env, POLL_SECONDS_ENV)
        if seconds is not None:
            return cls(poll_every=dt.timedelta(seconds=seconds))
        minutes = positive_number(env, POLL_MINUTES_ENV)
        return cls(poll_every=dt.timedelta(minutes=minutes or DEFAULT_POLL_MINUTES))

    @property
    def misfire_grace(self) -> int:
        """A cycle later than one interval is dropped: the next one is due anyway."""
        return max(int(self.poll_every.total_seconds()), 1)


@dataclass(frozen=True)
class Hook:
    """A job another part of guichet adds to the worker, e.g. the daily digest.

    ``run(store, programme, now)`` is called with the time of the run, read once; it opens
    its own sessions with ``store.sessions.begin()``.
    """

    id: str
    trigger: BaseTrigger
    run: Callable[[Store, Programme, dt.datetime], object]
    misfire_grace_time: int


# Jobs added to every worker whatever its command line (none today: ``guichet run`` adds
# the mail jobs of ``notifications.jobs``, which need the programme and SMTP settings).
HOOKS: tuple[Hook, ...] = ()


@dataclass
class Worker:
    """What the jobs act on: one store, one programme and its mailboxes, the clock."""

    store: Store
    programme: Programme
    mailboxes: Sequence[MailboxSettings | UnconfiguredMailbox]
    clock: Clock = utc_now
    connect: Connect = open_imap
    checker: Checker = check_message
    notify: Callable[[str], object] = watchdog.notify
    cycles: int = field(default=0, init=False)
    healthy: bool = field(default=True, init=False)  # the last cycle ran to its end
    # mailbox id -> the reason already logged (this process): not repeated every cycle
    told: dict[str, str] = field(default_factory=dict, init=False)

    def poll(self) -> CycleReport | None:
        """A scheduled cycle (mailboxes in backoff are skipped)."""
        return self._cycle("relevé", force=False)

    def final_pass(self) -> CycleReport | None:
        """The cycle right after the deadline: every mailbox, whatever its backoff."""
        return self._cycle("relevé final", force=True)

    def keepalive(self) -> None:
        """``WATCHDOG=1`` between cycles, while the last one ran to its end."""
        if self.healthy:
            self.notify(watchdog.WATCHDOG)

    def run_hook(self, hook: Hook) -> None:
        now = self.clock()
        try:
            hook.run(self.store, self.programme, now)
        except Exception as e:  # noqa: BLE001 - a failing hook must not stop the worker
            log.error("tâche « %s » en échec : %s", hook.id, _error_kind(e))

    def _cycle(self, name: str, force: bool) -> CycleReport | None:
        now = self.clock()
        started = time.monotonic()
        try:
            report = run_cycle(
                self.store,
                self.programme,
                self.mailboxes,
                now,
                connect=self.connect,
                checker=self.checker,
                force=force,
                progress=_Alive(self.notify),
            )
            with self.store.sessions.begin() as session:
                since = record_cycle(session, self.programme.id, report, now, worker_identity())
        except Exception as e:  # the next cycle tries again
            log.error("%s interrompu : %s ; nouvel essai au prochain relevé", name, _error_kind(e))
            log.debug("détail", exc_info=True)
            self.healthy = False
            return None
        self.cycles += 1
        self.healthy = True
        line = cycle_line(name, report, time.monotonic() - started, since, self.told, now)
        log.info(line)
        for box in report.mailboxes:
            if box.error:
                self.told[box.id] = log_reason(box.error)
            elif box.skipped_until is None and box.id in self.told:
                del self.told[box.id]
                log.info("boîte « %s » rétablie", box.id)
        self.notify(f"{watchdog.WATCHDOG}\n{watchdog.status(line)}")  # systemctl status shows it
        return report


class _Alive:
    """A cycle's progress as a sign of life for systemd's watchdog: a long backlog
    (a mail's check may take ``GUICHET_CHECK_BUDGET`` seconds) is not a hung worker."""

    def __init__(self, notify: Callable[[str], object]) -> None:
        self.notify = notify

    def start(self, what: str, total: int) -> None:
        pass

    def advance(self) -> None:
        self.notify(watchdog.WATCHDOG)

    def done(self) -> None:
        pass


def _error_kind(error: Exception) -> str:
    # Exception texts can carry SQL parameters or addresses: the type only, except for
    # our own configuration errors, which name a setting.
    if isinstance(error, ConfigError):
        return error.message
    if isinstance(error, GuichetError):
        return type(error).__name__
    return f"erreur inattendue ({type(error).__name__})"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n <= 1 else many}"


def cycle_line(
    name: str,
    report: CycleReport,
    seconds: float,
    since: Mapping[str, dt.datetime] | None = None,
    told: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> str:
    """One line per cycle: counts only (no subject, sender, address or secret), and the
    reason of a failing mailbox unless ``told`` holds it already (then since when it
    fails, from ``since``)."""
    since, told = since or {}, told or {}
    new = sum(m.new for m in report.mailboxes)
    duplicates = sum(m.duplicates for m in report.mailboxes)
    checked = Counter(c.status for c in report.checked if c.status)
    errors = sum(1 for c in report.checked if c.error)
    parts = [_plural(new, "nouveau courriel", "nouveaux courriels")]
    if duplicates:
        parts.append(_plural(duplicates, "doublon", "doublons"))
    verified = _plural(sum(checked.values()), "vérifié", "vérifiés")
    if checked:
        verified += " (" + ", ".join(f"{k} {n}" for k, n in sorted(checked.items())) + ")"
    parts.append(verified)
    if errors:
        parts.append(f"{errors} en erreur")
    boxes = []
    for box in report.mailboxes:
        failing = f" (en erreur depuis {since[box.id]:%H:%M} UTC)" if box.id in since else ""
        if box.error and told.get(box.id) == log_reason(box.error) and box.id in since:
            boxes.append(f"{box.id} toujours en erreur depuis {_moment(since[box.id], now)}")
        elif box.error:
            boxes.append(f"{box.id} en erreur : {log_reason(box.error)}")
        elif box.skipped_until:
            boxes.append(f"{box.id} en attente jusqu'à {box.skipped_until:%H:%M} UTC{failing}")
        else:
            boxes.append(f"{box.id} ok")
    duration = f"{seconds:.1f}".replace(".", ",")
    return f"{name} : {', '.join(parts)} ; boîtes : {', '.join(boxes)} ; {duration} s"


def _moment(moment: dt.datetime, now: dt.datetime | None) -> str:
    """« 20:14 UTC », or « 02/12 20:14 UTC » before ``now``'s day (log lines are in UTC)."""
    moment = moment.astimezone(dt.UTC)
    if now is not None and moment.date() == now.astimezone(dt.UTC).date():
        return f"{moment:%H:%M} UTC"
    return f"{moment:%d/%m %H:%M} UTC"


def build_scheduler(
    worker: Worker,
    settings: ScheduleSettings,
    *,
    hooks: Sequence[Hook] = HOOKS,
    scheduler_class: type[BaseScheduler] = BlockingScheduler,
    trigger: BaseTrigger | None = None,
    keepalive: dt.timedelta | None = None,
) -> BaseScheduler:
    """The scheduler with its jobs, not started. ``trigger`` replaces the polling interval
    (tests); the worker's clock decides the start and whether the final pass is ahead."""
    zone = worker.programme.zone
    now = worker.clock().astimezone(zone)
    scheduler = scheduler_class(
        timezone=zone,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
    )
    scheduler.add_job(
        worker.poll,
        trigger
        or IntervalTrigger(
            seconds=settings.poll_every.total_seconds(), start_date=now, timezone=zone
        ),
        id=POLL_JOB,
        name="relevé des boîtes",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=settings.misfire_grace,
        next_run_time=now,  # the first cycle at start
        replace_existing=True,
    )
    final = final_pass_at(worker.programme)
    if final is not None and final > now:
        scheduler.add_job(
            worker.final_pass,
            DateTrigger(run_date=final, timezone=zone),
            id=FINAL_PASS_JOB,
            name="relevé final après la clôture",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(FINAL_PASS_GRACE.total_seconds()),
            replace_existing=True,
        )
    if keepalive is not None:
        seconds = max(keepalive.total_seconds(), 1.0)
        scheduler.add_job(
            worker.keepalive,
            IntervalTrigger(seconds=seconds, start_date=now, timezone=zone),
            id=KEEPALIVE_JOB,
            name="veille systemd",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(int(seconds), 1),
            replace_existing=True,
        )
    scheduler.add_listener(_skipped_run, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    for hook in hooks:
        scheduler.add_job(
            worker.run_hook,
            hook.trigger,
            args=(hook,),
            id=hook.id,
            name=hook.id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=hook.misfire_grace_time,
            replace_existing=True,
        )
    return scheduler


def _skipped_run(event: JobEvent) -> None:
    # In French, in place of APScheduler's own warnings (``guichet run`` keeps them quiet).
    if event.code == EVENT_JOB_MISSED:
        log.warning(
            "tâche « %s » de %s manquée (machine en veille ou surchargée ?)",
            event.job_id,
            f"{event.scheduled_run_time:%H:%M:%S}",
        )
    else:  # the previous run is still going: this one is dropped, the next one comes
        log.debug("tâche « %s » encore en cours : exécution sautée", event.job_id)


def final_pass_at(programme: Programme) -> dt.datetime | None:
    deadline = programme.deadline_at
    return deadline + FINAL_PASS_DELAY if deadline is not None else None
