"""The worker's schedule: jobs, their settings, the final pass, hooks, one line per cycle.

The scheduler is built with an injected clock and never started here; the worker's jobs
are called directly (against Dovecot, or a mailbox that cannot be reached)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.programme import load_programme
from guichet.errors import ConfigError
from ingest.mailbox import programme_mailboxes
from ingest.scheduler import (
    FINAL_PASS_JOB,
    HOOKS,
    POLL_JOB,
    Hook,
    ScheduleSettings,
    Worker,
    build_scheduler,
    cycle_line,
)
from tests.conftest import Accounts
from tests.mails import BRUSSELS, brussels, build
from tests.servers import free_port
from triage.store import Store

BLOSSOM = load_programme("blossom-2026")  # deadline 14 September 2026, 10:00 in Brussels
BEFORE = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 9, 20, 8, 0, tzinfo=dt.UTC)
TWO_MINUTES = ScheduleSettings(dt.timedelta(minutes=2))


def worker(store: Store, now: dt.datetime, env: dict[str, str] | None = None) -> Worker:
    return Worker(store, BLOSSOM, programme_mailboxes(BLOSSOM.mailboxes, env or {}), lambda: now)


@pytest.mark.parametrize(
    ("env", "every"),
    [
        ({}, dt.timedelta(minutes=2)),
        ({"GUICHET_POLL_MINUTES": "5"}, dt.timedelta(minutes=5)),
        ({"GUICHET_POLL_MINUTES": "0,5"}, dt.timedelta(seconds=30)),
        ({"GUICHET_POLL_MINUTES": "5", "GUICHET_POLL_SECONDS": "1"}, dt.timedelta(seconds=1)),
    ],
)
def test_the_interval_comes_from_the_environment(env: dict[str, str], every) -> None:
    assert ScheduleSettings.from_env(env).poll_every == every


@pytest.mark.parametrize("value", ["deux", "0", "-3"])
def test_a_wrong_interval_is_a_config_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="GUICHET_POLL_MINUTES"):
        ScheduleSettings.from_env({"GUICHET_POLL_MINUTES": value})


def test_before_the_deadline_polling_and_a_final_pass(sqlite_store: Store) -> None:
    scheduler = build_scheduler(worker(sqlite_store, BEFORE), TWO_MINUTES)
    assert isinstance(scheduler, BlockingScheduler)
    assert str(scheduler.timezone) == "Europe/Brussels"
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {POLL_JOB, FINAL_PASS_JOB}
    for job in jobs.values():
        assert (job.max_instances, job.coalesce) == (1, True)

    poll = jobs[POLL_JOB]
    assert poll.misfire_grace_time == 120
    assert isinstance(poll.trigger, IntervalTrigger)
    assert poll.trigger.interval == dt.timedelta(minutes=2)
    assert poll.next_run_time == BEFORE  # the first cycle at start
    assert poll.trigger.get_next_fire_time(None, BEFORE) == BEFORE
    later = BEFORE + dt.timedelta(seconds=1)
    assert poll.trigger.get_next_fire_time(BEFORE, later) == BEFORE + dt.timedelta(minutes=2)

    final = jobs[FINAL_PASS_JOB]
    assert isinstance(final.trigger, DateTrigger)
    assert final.trigger.run_date == brussels(2026, 9, 14, 10, 1)
    assert final.misfire_grace_time == 24 * 3600


def test_after_the_deadline_no_final_pass(sqlite_store: Store) -> None:
    scheduler = build_scheduler(worker(sqlite_store, AFTER), TWO_MINUTES)
    assert [job.id for job in scheduler.get_jobs()] == [POLL_JOB]


def test_a_minute_after_the_deadline_is_still_ahead_at_the_deadline(sqlite_store: Store) -> None:
    at_deadline = brussels(2026, 9, 14, 10, 0)
    scheduler = build_scheduler(worker(sqlite_store, at_deadline), TWO_MINUTES)
    assert FINAL_PASS_JOB in {job.id for job in scheduler.get_jobs()}


def test_the_trigger_can_be_injected(sqlite_store: Store) -> None:
    trigger = IntervalTrigger(seconds=1, timezone=BRUSSELS)
    scheduler = build_scheduler(
        worker(sqlite_store, AFTER),
        TWO_MINUTES,
        trigger=trigger,
        scheduler_class=BackgroundScheduler,
    )
    assert scheduler.get_job(POLL_JOB).trigger is trigger


def test_hooks_are_scheduled_with_their_own_settings(sqlite_store: Store) -> None:
    assert HOOKS == ()  # the mail issue adds the digest and the reminders
    seen: list[tuple[Store, str, dt.datetime]] = []
    digest = Hook(
        id="digest",
        trigger=CronTrigger(hour=7, timezone=BRUSSELS),
        run=lambda store, programme, now: seen.append((store, programme.id, now)),
        misfire_grace_time=3600,
    )
    the_worker = worker(sqlite_store, AFTER)
    job = build_scheduler(the_worker, TWO_MINUTES, hooks=[digest]).get_job("digest")
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 3600)
    job.func(*job.args)
    assert seen == [(sqlite_store, "blossom-2026", AFTER)]


def test_a_failing_hook_is_logged_and_does_not_raise(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(store: Store, programme: object, now: dt.datetime) -> None:
        raise RuntimeError("alexandre@example.org")  # its text is not logged

    hook = Hook("rappels", CronTrigger(hour=9), broken, 600)
    with caplog.at_level(logging.INFO, "guichet"):
        worker(sqlite_store, AFTER).run_hook(hook)
    assert caplog.messages == ["tâche « rappels » en échec : erreur inattendue (RuntimeError)"]


def test_a_cycle_logs_one_line_of_counts(
    sqlite_store: Store, accounts: Accounts, checker, caplog: pytest.LogCaptureFixture
) -> None:
    accounts.append("info", build(), brussels(2026, 9, 13, 11, 0))
    accounts.append("programme", build(), brussels(2026, 9, 13, 11, 0, 5))
    the_worker = worker(sqlite_store, AFTER, accounts.env)
    the_worker.checker = checker
    with caplog.at_level(logging.INFO, "guichet"):
        report = the_worker.poll()
    assert report is not None and the_worker.cycles == 1
    [line] = caplog.messages
    assert line.startswith(
        "relevé : 1 nouveau courriel, 1 doublon, 1 vérifié (incomplet 1) ; "
        "boîtes : info ok, programme ok ; "
    )
    assert line.endswith(" s")
    assert "@" not in line and "Vélothèque" not in line


def test_a_failing_mailbox_waits_for_its_backoff_except_at_the_final_pass(
    sqlite_store: Store, accounts: Accounts, checker, caplog: pytest.LogCaptureFixture
) -> None:
    env = {**accounts.env, "GUICHET_IMAP_PROGRAMME_PORT": str(free_port())}
    clock = [AFTER]
    the_worker = Worker(
        sqlite_store, BLOSSOM, programme_mailboxes(BLOSSOM.mailboxes, env), lambda: clock[0]
    )
    the_worker.checker = checker
    with caplog.at_level(logging.INFO, "guichet"):
        the_worker.poll()  # first failure: next try in a minute
        clock[0] = AFTER + dt.timedelta(seconds=30)
        the_worker.poll()  # still waiting
        the_worker.final_pass()  # tries anyway: second failure, two minutes
    first, waiting, final = caplog.messages
    assert "boîtes : info ok, programme en erreur : connexion impossible à localhost:" in first
    assert "(connexion refusée)" in first  # the reason, once (issue #12)
    assert "programme en attente jusqu'à 08:01 UTC (en erreur depuis 08:00 UTC)" in waiting
    assert final.startswith("relevé final : ")
    assert "programme toujours en erreur depuis 08:00 UTC ;" in final  # not repeated
    assert all("@" not in line for line in caplog.messages)


def test_a_cycle_that_cannot_reach_the_store_logs_and_carries_on(
    caplog: pytest.LogCaptureFixture, sqlite_store: Store
) -> None:
    the_worker = worker(sqlite_store, AFTER)
    sqlite_store.engine.dispose()
    (sqlite_store.settings.data_dir / "guichet.sqlite3").unlink()
    (sqlite_store.settings.data_dir / "guichet.sqlite3").mkdir()  # not a database any more
    with caplog.at_level(logging.INFO, "guichet"):
        assert the_worker.poll() is None
    assert caplog.messages == [
        "relevé interrompu : erreur inattendue (OperationalError) ; nouvel essai au prochain relevé"
    ]


def test_the_cycle_line_reports_skipped_and_erroneous_checks() -> None:
    from ingest.poll import CycleReport, MailboxReport
    from ingest.processing import CheckOutcome

    report = CycleReport(
        mailboxes=[
            MailboxReport("info", "info@coopcity.be", new=3),
            MailboxReport(
                "programme",
                "matthias@coopcity.be",
                skipped_until=dt.datetime(2026, 9, 20, 8, 4, tzinfo=dt.UTC),
            ),
        ],
        checked=[
            CheckOutcome(1, "Dossier", "complet", None, 1),
            CheckOutcome(2, "Dossier", "complet", None, 2),
            CheckOutcome(3, "Bonjour", None, None, None, error="illisible"),
        ],
    )
    assert cycle_line("relevé", report, 1.25) == (
        "relevé : 3 nouveaux courriels, 2 vérifiés (complet 2), 1 en erreur ; "
        "boîtes : info ok, programme en attente jusqu'à 08:04 UTC ; 1,2 s"
    )


def test_missed_and_skipped_runs_are_logged_in_french(caplog: pytest.LogCaptureFixture) -> None:
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent

    from ingest.scheduler import _skipped_run

    missed = JobEvent(EVENT_JOB_MISSED, POLL_JOB, "default")
    missed.scheduled_run_time = brussels(2026, 9, 14, 10, 1)
    with caplog.at_level(logging.DEBUG, "guichet"):
        _skipped_run(missed)
        _skipped_run(JobEvent(EVENT_JOB_MAX_INSTANCES, POLL_JOB, "default"))
    assert caplog.messages == [
        "tâche « releve » de 10:01:00 manquée (machine en veille ou surchargée ?)",
        "tâche « releve » encore en cours : exécution sautée",
    ]
