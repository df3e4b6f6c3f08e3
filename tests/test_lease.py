"""Claims on waiting messages (``ingest.processing``): two workers on one database check
each mail once, a dead worker's claim runs out, only the holder of a claim files.

On a real SQLite file and a real PostgreSQL database; each worker has its own engine."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, update

from ingest.processing import (
    LEASE,
    Checker,
    CheckOutcome,
    check_one,
    check_pending,
    reprocess,
    running_clock,
    worker_identity,
)
from parsers.pdf_reader import DEFAULT_LIMITS, FIRST_PAGE_LIMITS
from tests.mails import JPEG, brussels, build
from tests.stores import BLOSSOM, NOW, receive, varied_mails
from triage.check import CheckResult
from triage.models import RECU, TRAITE, Message, Verdict
from triage.store import Store, open_store

SECOND = dt.timedelta(seconds=1)


def built_mails(n: int) -> list[tuple[bytes, dt.datetime]]:
    """``n`` small mails from as many structures: dossiers announced, scanned annexes, a
    question now and then (each its own Message-ID, sender and receipt time)."""
    mails = []
    for i in range(n):
        files = {0: {}, 1: {"Statuts.jpg": JPEG}, 2: {"Bilan 2025.jpg": JPEG, "CV.jpg": JPEG}}
        raw = build(
            sender=f"Contact {i} <contact{i}@structure{i}.example>",
            subject=f"Dossier de candidature – COOPCITY 2026 – Coopérative numéro {i}"
            if i % 6
            else f"Question sur l'appel, numéro {i}",
            message_id=f"<lease-{i}@structure{i}.example>",
            date=brussels(2026, 9, 1 + i % 12, 9, i),
            body=f"Bonjour,\n\nEnvoi numéro {i}.\n",
            files=files[i % 3],
        )
        mails.append((raw, brussels(2026, 9, 1 + i % 12, 9, i, 30)))
    return mails


def seed(store: Store, mails: list[tuple[bytes, dt.datetime]]) -> list[int]:
    return [receive(store, raw, when)[1] for raw, when in mails]


class Counted:
    """Checkers that count their calls per mail and per worker (thread-safe)."""

    def __init__(self, checker: Checker) -> None:
        self.checker = checker
        self.calls: Counter[str] = Counter()
        self.by_worker: Counter[str] = Counter()
        self.lock = threading.Lock()

    def of(
        self, worker: str, before: Callable[[], None] | None = None
    ) -> Callable[[bytes, dt.datetime | None, str | None], CheckResult]:
        def check(raw: bytes, received: dt.datetime | None, programme_id: str | None):
            with self.lock:
                self.calls[hashlib.sha256(raw).hexdigest()] += 1
                self.by_worker[worker] += 1
            if before is not None:
                before()
            return self.checker(raw, received, programme_id)

        return check


def claims(store: Store) -> dict[int, tuple[str, str | None, dt.datetime | None]]:
    with store.sessions() as session:
        rows = session.execute(
            select(Message.id, Message.state, Message.claimed_by, Message.claimed_until)
        ).all()
        return {i: (state, by, until) for i, state, by, until in rows}


def claim(store: Store, message_id: int, by: str, until: dt.datetime) -> None:
    with store.sessions.begin() as session:
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(claimed_by=by, claimed_until=until)
        )


def verdicts_per_mail(store: Store) -> Counter[int]:
    with store.sessions() as session:
        rows = session.execute(
            select(Verdict.message_id, func.count())
            .where(Verdict.message_id.is_not(None))
            .group_by(Verdict.message_id)
        ).all()
        return Counter(dict(rows))


@pytest.fixture
def second(store: Store) -> Iterator[Store]:
    """Another worker's view of the same database: its own engine and connections."""
    with open_store(store.settings) as other:
        yield other


# --- two workers at once -----------------------------------------------------------------


def test_two_workers_check_and_file_each_mail_once(
    store: Store, second: Store, checker: Checker
) -> None:
    mails = varied_mails() + built_mails(19)
    ids = seed(store, mails)
    assert len(set(ids)) == len(mails) == 32
    counted = Counted(checker)
    b_checked = threading.Event()
    a_waited: list[bool] = []

    def a_waits_for_b() -> None:
        # A's first check lasts until B has checked a mail of its own: both are at work
        # at the same time, whatever the machine's speed.
        if not a_waited:
            a_waited.append(b_checked.wait(60))

    checkers = {"a": counted.of("a", a_waits_for_b), "b": counted.of("b", b_checked.set)}
    start = threading.Barrier(2)

    def work(job: tuple[str, Store]) -> list[CheckOutcome]:
        worker, worker_store = job
        start.wait()
        return check_pending(
            worker_store.sessions,
            worker_store.archive,
            BLOSSOM,
            NOW,
            checkers[worker],
            worker=worker,
        )

    with ThreadPoolExecutor(2) as pool:
        outcomes_a, outcomes_b = pool.map(work, [("a", store), ("b", second)])

    assert a_waited == [True]
    assert counted.by_worker["a"] >= 1 and counted.by_worker["b"] >= 1
    assert sum(counted.calls.values()) == len(mails)  # each mail checked once in total
    assert set(counted.calls.values()) == {1}
    filed = [o.message_id for o in outcomes_a + outcomes_b]
    assert sorted(filed) == sorted(ids)  # each filed by one worker
    assert verdicts_per_mail(store) == Counter(dict.fromkeys(ids, 1))
    assert set(claims(store).values()) == {(TRAITE, None, None)}


# --- claims held, claims run out ---------------------------------------------------------


def test_a_live_claim_by_another_worker_is_left_alone_until_it_runs_out(
    store: Store, checker: Checker
) -> None:
    first, held, third = seed(store, built_mails(3))
    claim(store, held, "autre:1:abcd", NOW + 5 * dt.timedelta(minutes=1))
    counted = Counted(checker)

    outcomes = check_pending(store.sessions, store.archive, BLOSSOM, NOW, counted.of("a"))

    assert [o.message_id for o in outcomes] == [first, third]
    assert sum(counted.calls.values()) == 2
    assert claims(store)[held] == (RECU, "autre:1:abcd", NOW + 5 * dt.timedelta(minutes=1))

    # Later, the other worker gone without a word: its claim has run out.
    later = NOW + 5 * dt.timedelta(minutes=1) + SECOND
    outcomes = check_pending(store.sessions, store.archive, BLOSSOM, later, counted.of("a"))
    assert [o.message_id for o in outcomes] == [held]
    assert claims(store)[held] == (TRAITE, None, None)


def test_a_stale_claim_of_a_dead_worker_is_taken_over(store: Store, checker: Checker) -> None:
    [message] = seed(store, built_mails(1))
    claim(store, message, "disparu:4242:0000", NOW - SECOND)

    outcomes = check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker, worker="a")

    assert [o.message_id for o in outcomes] == [message]
    assert claims(store)[message] == (TRAITE, None, None)
    assert verdicts_per_mail(store) == {message: 1}


def test_a_worker_whose_lease_was_taken_over_does_not_file(
    store: Store, second: Store, checker: Checker
) -> None:
    [message] = seed(store, built_mails(1))
    counted = Counted(checker)
    taken_over: list[CheckOutcome | None] = []

    def b_takes_over() -> None:
        # A's check outlasts its lease: B claims the mail, checks and files it meanwhile.
        if not taken_over:
            taken_over.append(
                check_one(
                    second.sessions,
                    second.archive,
                    BLOSSOM,
                    message,
                    NOW + LEASE + SECOND,
                    counted.of("b"),
                    worker="b",
                )
            )

    outcome = check_one(
        store.sessions,
        store.archive,
        BLOSSOM,
        message,
        NOW,
        counted.of("a", b_takes_over),
        worker="a",
    )

    assert outcome is None  # A's result is dropped
    assert taken_over[0] is not None and taken_over[0].message_id == message
    assert counted.by_worker == {"a": 1, "b": 1}
    assert verdicts_per_mail(store) == {message: 1}
    assert claims(store)[message] == (TRAITE, None, None)


def test_the_taker_files_even_when_the_first_worker_finishes_first(
    store: Store, second: Store, checker: Checker
) -> None:
    [message] = seed(store, built_mails(1))
    counted = Counted(checker)
    b_checking, a_filed = threading.Event(), threading.Event()

    def b_waits_for_a() -> None:
        b_checking.set()
        a_filed.wait(60)

    def b_takes_over() -> CheckOutcome | None:
        return check_one(
            second.sessions,
            second.archive,
            BLOSSOM,
            message,
            NOW + LEASE + SECOND,
            counted.of("b", b_waits_for_a),
            worker="b",
        )

    with ThreadPoolExecutor(1) as pool:
        taker: list[Future[CheckOutcome | None]] = []

        def a_outlasts_its_lease() -> None:
            taker.append(pool.submit(b_takes_over))
            assert b_checking.wait(60)  # B holds the claim and is checking

        outcome = check_one(
            store.sessions,
            store.archive,
            BLOSSOM,
            message,
            NOW,
            counted.of("a", a_outlasts_its_lease),
            worker="a",
        )
        assert outcome is None  # A finished first, but the claim is B's
        assert claims(store)[message][:2] == (RECU, "b")
        a_filed.set()
        taken = taker[0].result(60)

    assert taken is not None and taken.message_id == message
    assert verdicts_per_mail(store) == {message: 1}
    assert claims(store)[message] == (TRAITE, None, None)


def test_a_lease_run_out_with_no_taker_still_files(store: Store, checker: Checker) -> None:
    [message] = seed(store, built_mails(1))

    def lease_runs_out() -> None:
        claim(store, message, "a", NOW - SECOND)

    outcome = check_one(
        store.sessions,
        store.archive,
        BLOSSOM,
        message,
        NOW,
        Counted(checker).of("a", lease_runs_out),
        worker="a",
    )

    assert outcome is not None
    assert claims(store)[message] == (TRAITE, None, None)


def test_a_mail_changed_during_its_check_is_released_for_the_next_pass(
    store: Store, second: Store, checker: Checker
) -> None:
    [(raw, when)] = built_mails(1)
    [message] = seed(store, [(raw, when)])
    earlier = when - dt.timedelta(hours=1)

    def earlier_copy_arrives() -> None:
        receive(second, raw, earlier, account="programme")

    outcome = check_one(
        store.sessions,
        store.archive,
        BLOSSOM,
        message,
        NOW,
        Counted(checker).of("a", earlier_copy_arrives),
        worker="a",
    )

    assert outcome is None
    assert claims(store)[message] == (RECU, None, None)  # not left to wait for the lease
    outcomes = check_pending(second.sessions, second.archive, BLOSSOM, NOW, checker, worker="b")
    assert [o.message_id for o in outcomes] == [message]
    with store.sessions() as session:
        assert session.get(Message, message).received_at == earlier


class Crash(BaseException):
    """The check is interrupted (Ctrl-C): nothing in the worker catches it."""


def test_an_interrupted_check_releases_its_claim(
    store: Store, second: Store, checker: Checker
) -> None:
    [message] = seed(store, built_mails(1))

    def interrupted() -> None:
        raise Crash

    with pytest.raises(Crash):
        check_pending(
            store.sessions,
            store.archive,
            BLOSSOM,
            NOW,
            Counted(checker).of("a", interrupted),
            worker="a",
        )

    assert claims(store)[message] == (RECU, None, None)
    outcomes = check_pending(second.sessions, second.archive, BLOSSOM, NOW, checker, worker="b")
    assert [o.message_id for o in outcomes] == [message]


def test_reprocess_clears_claims(store: Store, checker: Checker) -> None:
    ids = seed(store, built_mails(3))
    check_pending(store.sessions, store.archive, BLOSSOM, NOW, checker)
    claim(store, ids[1], "ancienne-version:1:ffff", NOW + dt.timedelta(hours=1))

    outcomes = reprocess(store.sessions, store.archive, BLOSSOM, NOW, checker=checker)

    assert sorted(o.message_id for o in outcomes) == sorted(ids)
    assert set(claims(store).values()) == {(TRAITE, None, None)}


# --- the clock and the claimant ----------------------------------------------------------


def test_a_lease_starts_when_the_mail_is_claimed(store: Store, checker: Checker) -> None:
    [message] = seed(store, built_mails(1))
    seen: list[dt.datetime | None] = []

    def look() -> None:
        seen.append(claims(store)[message][2])

    an_hour_into_the_cycle = NOW + dt.timedelta(hours=1)
    check_one(
        store.sessions,
        store.archive,
        BLOSSOM,
        message,
        NOW,
        Counted(checker).of("a", look),
        worker="a",
        clock=lambda: an_hour_into_the_cycle,
    )

    assert seen == [an_hour_into_the_cycle + LEASE]


def test_the_running_clock_starts_at_now_and_follows_the_monotonic_clock() -> None:
    ticks = iter([100.0, 100.0, 412.5])
    clock = running_clock(NOW, monotonic=lambda: next(ticks))
    assert clock() == NOW
    assert clock() == NOW + dt.timedelta(seconds=312.5)


def test_the_lease_outlasts_the_slowest_pdf() -> None:
    slowest = DEFAULT_LIMITS.seconds + 12 * FIRST_PAGE_LIMITS.seconds  # a dozen PDF annexes
    assert LEASE.total_seconds() > slowest


def test_the_claimant_is_this_host_and_process_once_for_all() -> None:
    me = worker_identity()
    assert me == worker_identity()
    host, pid, suffix = me.rsplit(":", 2)
    assert host == socket.gethostname()[:40] and pid == str(os.getpid()) and len(suffix) == 8
    assert len(me) <= 64  # Message.claimed_by
