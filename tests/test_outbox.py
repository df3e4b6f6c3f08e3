"""The outbox on SQLite and PostgreSQL, with a recording sender (what is sent, when, once):
recording is idempotent, the daily cap, who is never written to, retries, and two workers
sending from one database."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from ingest.processing import Checker
from notifications.delivery import deliver, retry_delay
from notifications.jobs import hooks
from notifications.outbox import plan_and_record, writable
from notifications.smtp import SendFailed
from tests.mails import brussels
from tests.stores import BLOSSOM, dossier_mail, file_mails
from triage.models import (
    OUTBOX_ABANDONED,
    OUTBOX_RECORDED,
    OUTBOX_SENT,
    Application,
    Event,
    OutboxMail,
)
from triage.store import Store, open_store

MAILS = [
    (dossier_mail(name, annexes=("statuts",)), brussels(2026, 9, 3, 9, n))
    for n, name in enumerate(["g02-nextline-npar2", "g03-mixed-labels-npar3", "g09-table",
                              "g13-table-B1col-grid", "g15-tableB-2col", "g20-autodiag-inline-space"])
]  # fmt: skip
NOW = brussels(2026, 9, 3, 9, 30)


class Recording:
    def __init__(self, fail: SendFailed | None = None) -> None:
        self.sent: list[tuple[str, tuple[str, ...], bytes]] = []
        self.fail = fail
        self.lock = threading.Lock()

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.sent.append((sender, tuple(recipients), raw))


def rows(store: Store) -> list[OutboxMail]:
    with store.sessions() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


@pytest.fixture
def filed(store: Store, checker: Checker) -> Store:
    file_mails(store, MAILS, checker)
    return store


def test_recording_twice_records_once(filed: Store) -> None:
    for _ in range(2):
        with filed.sessions.begin() as session:
            plan_and_record(session, filed.archive, BLOSSOM, NOW)
    found = rows(filed)
    assert (
        len(found)
        == len(MAILS)
        == len({r.key for r in found})
        == len({r.rfc_message_id for r in found})
    )
    assert {r.kind for r in found} == {"accuse"} and all(r.state == OUTBOX_RECORDED for r in found)
    assert all(r.raw_sha256 in filed.archive for r in found)


def test_two_workers_sending_from_one_database_send_each_mail_once(filed: Store) -> None:
    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, NOW)
    sender = Recording()
    start = threading.Barrier(2)

    def worker() -> None:
        with open_store(filed.settings, migrate=False) as own:  # its own engine and pool
            start.wait()
            deliver(own.sessions, own.archive, sender, "info@coopcity.be", NOW)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(sender.sent) == len(MAILS)
    assert len({raw for _, _, raw in sender.sent}) == len(MAILS)
    assert all(r.state == OUTBOX_SENT and r.attempts == 1 for r in rows(filed))


def test_a_refused_address_is_abandoned_and_a_server_down_is_retried(filed: Store) -> None:
    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, NOW)
    refused = deliver(filed.sessions, filed.archive, Recording(SendFailed("550", temporary=False)),
                      "info@coopcity.be", NOW)  # fmt: skip
    assert len(refused.abandoned) == len(MAILS)  # each refusal is its own: all are tried
    assert {r.state for r in rows(filed)} == {OUTBOX_ABANDONED}


def test_a_server_down_stops_the_run_and_postpones(filed: Store) -> None:
    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, NOW)
    down = deliver(filed.sessions, filed.archive, Recording(SendFailed("down", temporary=True)),
                   "info@coopcity.be", NOW)  # fmt: skip
    assert len(down.postponed) == 1  # the first failure stops the run: no hammering
    first = rows(filed)[0]
    assert first.next_attempt_at == NOW + retry_delay(1)
    sender = Recording()
    assert deliver(filed.sessions, filed.archive, sender, "info@coopcity.be", NOW).sent == [
        r.id for r in rows(filed)[1:]
    ]
    later = deliver(
        filed.sessions, filed.archive, sender, "info@coopcity.be", first.next_attempt_at
    )
    assert later.sent == [first.id]


def test_retry_delays_grow_and_stop_at_an_hour() -> None:
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(30) == dt.timedelta(hours=1)


@pytest.mark.parametrize(("address", "ok"), [
    ("alice@example.org", True), ("info@coopcity.be", False), ("MATTHIAS@coopcity.be", False),
    ("noreply@example.org", False), ("mailer-daemon@example.org", False), (None, False), ("x", False),
])  # fmt: skip
def test_who_is_never_written_to(address: str | None, ok: bool) -> None:
    assert writable(address, BLOSSOM) is ok


def test_the_daily_cap_holds_mails_to_one_address_until_the_next_day(
    store: Store, checker: Checker
) -> None:
    cap = BLOSSOM.notifications.daily_cap
    sender = "Alex <alex@example.org>"
    mails = [(dossier_mail(name, annexes=(), sender=sender), brussels(2026, 9, 3, 9, n))
             for n, name in enumerate(["g02-nextline-npar2", "g03-mixed-labels-npar3", "g09-table",
                                       "g13-table-B1col-grid", "g15-tableB-2col"])]  # fmt: skip
    file_mails(store, mails, checker)
    with store.sessions() as session:
        assert len(session.scalars(select(Application)).all()) == cap + 1
    with store.sessions.begin() as session:
        assert len(plan_and_record(session, store.archive, BLOSSOM, NOW)) == cap
    for hours in (1, 2):
        with store.sessions.begin() as session:
            assert (
                plan_and_record(session, store.archive, BLOSSOM, NOW + dt.timedelta(hours=hours))
                == []
            )
    with store.sessions() as session:  # told once, not at every cycle
        kinds = session.scalars(select(Event.kind).where(Event.kind == "plafond_atteint")).all()
    assert len(kinds) == 1
    with store.sessions.begin() as session:
        assert (
            len(plan_and_record(session, store.archive, BLOSSOM, brussels(2026, 9, 4, 8, 0))) == 1
        )


def test_the_worker_jobs_follow_the_calendar() -> None:
    from notifications.jobs import Notifier

    notifier = Notifier(None, BLOSSOM, {}, None)  # type: ignore[arg-type]
    before = {h.id for h in hooks(notifier, dt.timedelta(minutes=2), brussels(2026, 9, 1, 9, 0))}
    assert before == {"courriels", "rappel-J-2", "rappel-J-0", "point-quotidien", "point-final"}
    after = {h.id for h in hooks(notifier, dt.timedelta(minutes=2), brussels(2026, 9, 20, 9, 0))}
    assert after == {"courriels", "point-quotidien"}


def test_a_reminder_that_could_not_leave_within_a_day_is_dropped(filed: Store) -> None:
    reminder_morning = brussels(2026, 9, 12, 8, 1)
    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, NOW)  # the acknowledgements
    deliver(filed.sessions, filed.archive, Recording(), "info@coopcity.be", NOW)
    follow_up = NOW + dt.timedelta(days=3, minutes=1)  # the follow-ups go first, on their day
    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, follow_up)
    deliver(filed.sessions, filed.archive, Recording(), "info@coopcity.be", follow_up)
    with filed.sessions.begin() as session:
        reminders = plan_and_record(session, filed.archive, BLOSSOM, reminder_morning)
        assert reminders and {r.kind for r in reminders} == {"rappel"}
    down = Recording(SendFailed("down", temporary=True))
    deliver(filed.sessions, filed.archive, down, "info@coopcity.be", reminder_morning)
    late = Recording()
    report = deliver(filed.sessions, filed.archive, late, "info@coopcity.be",
                     reminder_morning + dt.timedelta(days=1, minutes=1))  # fmt: skip
    assert report.expired == len(reminders) and late.sent == []
    assert {r.state for r in rows(filed) if r.kind == "rappel"} == {OUTBOX_ABANDONED}


def test_without_smtp_nothing_is_planned(filed: Store) -> None:
    from notifications.jobs import Notifier

    report = Notifier(filed, BLOSSOM, {}, None).run(NOW)
    assert report.recorded == [] and rows(filed) == []


def test_an_answer_to_check_is_never_called_missing_nor_chased(
    store: Store, checker: Checker
) -> None:
    import email
    import email.policy
    import re

    from tests.mails import fixture

    file_mails(store, [(fixture("unread_creation_date"), brussels(2026, 9, 8, 10, 30)),
                       (dossier_mail("g02-nextline-npar2", annexes=("statuts",)),
                        brussels(2026, 9, 2, 10, 15))], checker)  # fmt: skip
    with store.sessions.begin() as session:
        creche = session.scalars(
            select(Application).where(Application.structure == "Crèche Arc-en-Ciel Coop")
        ).one()
        creche_id = creche.id
        assert creche.status == "complet" and creche.unread == ["entreprise.date_creation"]
        recorded = plan_and_record(session, store.archive, BLOSSOM, brussels(2026, 9, 8, 10, 35))
    [accuse] = [r for r in recorded if r.application_id == creche_id]
    mail = email.message_from_bytes(
        store.archive.read(accuse.raw_sha256), policy=email.policy.default
    )
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    flat = re.sub(r"[ \r\n]+", " ", text)  # lines joined, no-break spaces kept
    assert "Votre dossier est complet" in flat and "Il manque" not in flat
    assert "  - Date de création\u00a0: à vérifier par notre équipe" in text
    assert (
        "Notre équipe relira elle-même votre réponse à la rubrique "
        "«\u00a0Date de création\u00a0»\u00a0; nous vous contacterons si nécessaire." in flat
    )
    assert "à vérifier par notre équipe" in html and "Date de création" in html
    for part in (text, html):
        assert "lendemain" not in part  # never the text found, never a made-up date
    assert "Il manque" not in html

    # Reminder morning (D-2): only the application that lacks something is reminded.
    with store.sessions.begin() as session:
        reminders = plan_and_record(session, store.archive, BLOSSOM, brussels(2026, 9, 12, 8, 1))
    # (the other one's follow-up, due the same morning, stands for its reminder: one mail)
    assert [r.kind for r in reminders] == ["relance"]
    assert all(r.application_id != creche_id for r in reminders)
    # The follow-up days later: still nothing for it.
    with store.sessions.begin() as session:
        later = plan_and_record(session, store.archive, BLOSSOM, brussels(2026, 9, 13, 20, 0))
    assert all(r.application_id != creche_id for r in later)
