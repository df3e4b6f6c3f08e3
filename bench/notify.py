"""Mails out: the `courriels` job over 1,000 applications (SQLite, temporary folder).

The job runs half an interval after every poll, all season long, so what matters most is
its cost when nothing is due. Three figures:

- first pass: every application is due its acknowledgement (rendered, built, archived,
  recorded), in mails recorded per second;
- steady state: everything answered, nothing due (the job's usual run), in milliseconds;
- reminder morning: every incomplete application due its D-2 reminder.

Applications are inserted directly (one mail each, half of them incomplete): this
measures planning and recording, not the parser (``bench parse``) or SMTP.
``GUICHET_BENCH_QUICK=1``: 200 applications.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from config.programme import load_programme
from notifications.outbox import plan_and_record
from tests.mails import brussels
from triage.models import ROLE_DOSSIER, TRAITE, Application, Message
from triage.store import Store, StoreSettings, open_store
from triage.verdict import COMPLET, INCOMPLET

PROGRAMME = load_programme("blossom-2026")


def _fill(store: Store, count: int) -> None:
    received = brussels(2026, 9, 1, 9, 0)
    with store.sessions.begin() as session:
        for n in range(count):
            incomplete = n % 2 == 0
            app = Application(
                programme_id=PROGRAMME.id, structure_key=f"structure {n}", structure=f"Structure {n}",
                sender=f"candidat{n}@exemple.test", reply_to=f"candidat{n}@exemple.test",
                status=INCOMPLET if incomplete else COMPLET,
                missing=["annexe.cv"] if incomplete else [], annexes={}, bilans_years=[], warnings=[],
                first_received_at=received, last_received_at=received, created_at=received,
                updated_at=received,
            )  # fmt: skip
            session.add(app)
            session.flush()
            session.add(
                Message(
                    rfc_message_id=f"<m{n}@exemple.test>", content_hash=f"{n:064x}",
                    raw_sha256=f"{n:064x}", size=1000, sender=app.sender, subject="Dossier",
                    received_at=received + dt.timedelta(seconds=n), programme_id=PROGRAMME.id,
                    state=TRAITE, attempts=0, status=app.status, structure=app.structure,
                    reply_to=app.reply_to, role=ROLE_DOSSIER, application_id=app.id,
                    created_at=received,
                )
            )  # fmt: skip


def _timed(store: Store, now: dt.datetime) -> tuple[float, int]:
    started = time.perf_counter()
    with store.sessions.begin() as session:
        recorded = len(plan_and_record(session, store.archive, PROGRAMME, now))
    return time.perf_counter() - started, recorded


def run(repeat: int = 15) -> None:
    count = 200 if os.environ.get("GUICHET_BENCH_QUICK") else 1000
    with tempfile.TemporaryDirectory(prefix="guichet-bench-") as tmp:
        data = Path(tmp) / "var"
        settings = StoreSettings(data_dir=data, database_url=f"sqlite:///{data / 'g.sqlite3'}")
        with open_store(settings) as store:
            _fill(store, count)
            first, recorded = _timed(store, brussels(2026, 9, 1, 9, 30))
            # Past the daily cap's day and before any follow-up: nothing is due.
            quiet = [_timed(store, brussels(2026, 9, 2, 9, 30)) for _ in range(max(repeat // 3, 3))]
            reminders, reminded = _timed(store, brussels(2026, 9, 12, 8, 1))
    steady = statistics.median(seconds for seconds, _ in quiet)
    assert all(n == 0 for _, n in quiet), "nothing should be due in the steady state"
    print(f"courriels, {count} candidatures (SQLite) :")
    print(
        f"  premier passage : {recorded} accusés en {first:.2f} s ({recorded / first:.0f} par seconde)"
    )
    print(f"  régime courant (rien à envoyer) : {steady * 1000:.0f} ms par passage")
    print(f"  matin de rappel : {reminded} rappels en {reminders:.2f} s")
