"""Faults at scale: `kill -9` of the worker at 100 random moments over a 500-mail backlog.

A backlog of application mails (seeded: a .docx dossier per structure, supplements with
scanned annexes, questions and auto-replies made from the fixture mails, one mail in five
reaching both mailboxes) is APPENDed to the two BLOSSOM mailboxes of a Dovecot on
loopback; the worker polls them over TLS, answers applicants through an aiosmtpd server
(which hands each mail to Dovecot and keeps what it accepted) and copies what it sent to
the Sent folder, with the store on SQLite (or PostgreSQL: ``--store postgresql``).

The worker is a real process running the jobs of ``guichet run``: a polling cycle
(``ingest.scheduler.Worker.poll``) then the ``courriels`` job (``Notifier.run``: record,
send, copy to Sent), again and again until a pass finds nothing to do. It is killed with
SIGKILL by itself through ``ingest.faults``: ``GUICHET_FAULTS=<step>:<n>`` kills it the
n-th time it reaches that step, so every kill lands in a known phase — fetching,
checking, filing, recording, sending (claimed, before SMTP), sent (accepted by SMTP, not
marked) and copying to Sent — at a random moment within it (n drawn, seeded, over what is
left of that phase, so the kills spread over the backlog). Phases come in the order the
worker meets them. After the kills, a clean run to the end.

Each restart's clock is moved on past the leases (``ingest.processing.LEASE``,
``notifications.delivery.SENDING_LEASE``: 10 minutes), as if the restart came that much
later: a mail the dead worker held is taken over at once instead of after ten minutes
(in production that wait adds up to 10 minutes to recovery, by design).

Figures, aim 0 for the first three:
- mails lost: a mail APPENDed that is not stored, checked and filed (with its verdict);
- verdicts doubled: messages with more than one verdict (and mails stored twice);
- mails sent twice without a flag: a Message-ID the SMTP server accepted twice whose
  outbox row is not flagged ``uncertain``. A re-send after a kill between SMTP's
  acceptance and the mark is the documented exception (same Message-ID, flagged, listed
  by the digest): counted apart as « possible doubles flagged »;
- the slowest recovery: from the restart after a kill to its first progress (a mail
  recorded, filed, an outgoing mail recorded, sent or copied), and to the end of its
  first full pass;
- also: applications left unanswered, outgoing mails never accepted, Sent copies missing
  or doubled, IMAP copies without the ``guichet-traite`` keyword, and verdicts that differ
  from a run of the same backlog never killed.

Measured on the development machine (2 cores, SQLite, seed 2026, about 7 minutes): 100
kills landed (14 or 15 per step), 0 mails lost, 0 verdicts doubled, 0 mails sent twice
without the flag; 26 mails flagged as possible doubles, 14 of them really accepted twice
(the kills between SMTP's acceptance and the mark); slowest recovery 5.2 s (after a kill
while recording: the courriels job records all its mails in one transaction, so the
restart renders them all again before its first commit), median 2.7 s, most of it the
process starting; no Sent copy missing or doubled; the same verdicts as a run never killed.

`python -m bench faults` runs 100 kills over 500 mails; `python -m bench.faults --kills N
--mails M --seed S --store postgresql` other sizes. `tests/test_faults.py` runs 10 kills
over 40 mails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.faults import ENV as FAULTS_ENV
from ingest.faults import STEPS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KILLS = 100
DEFAULT_MAILS = 500
DEFAULT_SEED = 2026
PROGRAMME = "blossom-2026"
# Phases in the order the worker meets them; the steps of a group alternate mail by mail.
GROUPS = (
    ("fetching",),
    ("checking", "filing"),
    ("recording",),
    ("sending.claimed", "sending.sent"),
    ("copying",),
)
LEASE_JUMP = dt.timedelta(minutes=11)  # past both leases (10 minutes)
RUN_TIMEOUT = 900.0  # seconds for one worker process
MAX_PASSES = 20  # a worker that never goes idle is a failure
WATCH_EVERY = 0.05  # seconds between two looks at the store while a worker runs
ANSWERS = ("accuse", "complement", "hors_delai")
CANDIDATURE = ("complet", "incomplet", "hors_delai")
WORKER = "import sys; from bench.faults import worker_main; sys.exit(worker_main(sys.argv[1:]))"


# --- the backlog -------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """One mail of the backlog: its bytes, the mailboxes it reaches, its receipt time."""

    message_id: str
    raw: bytes
    mailboxes: tuple[str, ...]  # "info", "programme" or both
    received: dt.datetime
    kind: str


def _rewritten(raw: bytes, **headers: str) -> bytes:
    """A fixture mail with some headers replaced (From, Message-ID, Date…)."""
    msg = email.message_from_bytes(raw)
    for name, value in headers.items():
        name = name.replace("_", "-")
        del msg[name]
        msg[name] = value
    return msg.as_bytes()


def backlog(n: int, seed: int = DEFAULT_SEED) -> list[Incoming]:
    """``n`` mails: two in five open an application (a .docx dossier naming its structure,
    one scanned annex), the others are supplements (scanned annexes, under the subject
    convention, some threaded), questions (fixture ``question``) and auto-replies
    (fixture ``out_of_office``) from the same senders; one mail in five reaches both
    mailboxes. Receipt times a minute apart on 1 September 2026, before the deadline."""
    import email.utils

    from tests.fixtures.build_emails import edited_docx
    from tests.mails import JPEG, brussels, build, fixture

    rng = random.Random(seed)
    structures = max(1, n * 2 // 5)
    question, auto_reply = fixture("question"), fixture("out_of_office")
    annexes = (
        "Statuts.jpg",
        "Rapport d'activité 2025.jpg",
        "Bilan 2024.jpg",
        "Bilan 2025.jpg",
        "CV de la personne de contact.jpg",
    )
    first = brussels(2026, 9, 1, 8, 0)
    mails = []
    for i in range(n):
        s = i if i < structures else rng.randrange(structures)
        name = f"Coopérative à l'essai {s + 1}"
        sender = f"Contact {s + 1} <contact{s + 1}@structure{s + 1}.example>"
        subject = f"Dossier de candidature – COOPCITY 2026 – {name}"
        when = first + dt.timedelta(minutes=i)
        message_id = f"<faults-{i}@structure{s + 1}.example>"
        if i < structures:
            kind = "dossier"
            docx = edited_docx("p001.docx", ("Crèche Arc-en-Ciel Coop", name))
            files = {f"Dossier {name}.docx": docx, rng.choice(annexes): JPEG}
            raw = build(
                sender=sender,
                subject=subject,
                message_id=message_id,
                date=when,
                body="Bonjour,\n\nVoici notre dossier.\n",
                files=files,
            )
        else:
            kind = rng.choices(("supplement", "question", "auto-reply"), (5, 3, 2))[0]
            if kind == "supplement":
                files = {a: JPEG for a in rng.sample(annexes, rng.randint(1, 3))}
                thread = f"<faults-{s}@structure{s + 1}.example>" if rng.random() < 0.5 else None
                raw = build(
                    sender=sender,
                    subject=subject,
                    message_id=message_id,
                    date=when,
                    in_reply_to=thread,
                    body=f"Bonjour,\n\nEnvoi {i}.\n",
                    files=files,
                )
            else:
                raw = _rewritten(
                    question if kind == "question" else auto_reply,
                    From=sender,
                    Message_ID=message_id,
                    Date=email.utils.format_datetime(when),
                )
        mailbox = rng.choice(("info", "programme"))
        both = rng.random() < 0.2
        boxes = ("info", "programme") if both else (mailbox,)
        mails.append(Incoming(message_id, raw, boxes, when, kind))
    return mails


def load(
    append: Callable[[str, list[tuple[bytes, dt.datetime]]], None], mails: Sequence[Incoming]
) -> int:
    """APPEND the backlog, mailbox by mailbox (``append(mailbox_id, [(raw, when)])``, one
    connection each); returns the number of copies."""
    from tests.mails import with_trace

    by_box: dict[str, list[tuple[bytes, dt.datetime]]] = {"info": [], "programme": []}
    for mail in mails:
        for box in mail.mailboxes:
            # The second copy of a mail reaching both addresses has its own trace headers.
            second = box == "programme" and len(mail.mailboxes) > 1
            raw = with_trace(mail.raw, "matthias@coopcity.be") if second else mail.raw
            by_box[box].append((raw, mail.received))
    for box, raws in by_box.items():
        append(box, raws)
    return sum(len(r) for r in by_box.values())


# --- the worker process --------------------------------------------------------------------


def worker_main(argv: list[str]) -> int:
    """The worker under test (a child process): ``guichet run``'s polling cycle, then its
    ``courriels`` job, until a pass finds nothing to do; its clock starts at ``argv[0]``.
    One JSON line per pass on stdout. Exit 0 when idle, 1 when it never went idle."""
    from ingest.mailbox import programme_mailboxes
    from ingest.poll import polled_programme
    from ingest.processing import running_clock
    from ingest.scheduler import Worker
    from notifications.jobs import Notifier, smtp_sender
    from triage.store import StoreSettings, open_store

    env = os.environ
    logging.basicConfig(
        level=logging.DEBUG if env.get("GUICHET_DEBUG") else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    clock = running_clock(dt.datetime.fromisoformat(argv[0]))
    programme = polled_programme(None, env)
    mailboxes = programme_mailboxes(programme.mailboxes, env)
    with open_store(StoreSettings.from_env(env)) as store:
        worker = Worker(store, programme, mailboxes, clock=clock)
        notifier = Notifier(store, programme, env, smtp_sender(env))
        for _ in range(MAX_PASSES):
            report = worker.poll()
            error = None
            try:
                out = notifier.run(clock())
            except Exception as e:  # noqa: BLE001 - reported, and the pass is not idle
                out, error = None, f"{type(e).__name__}: {e}"
            line: dict[str, Any] = {"at": time.time(), "error": error, "cycle": report is not None}
            if report is not None:
                line |= {
                    "new": sum(m.new + m.duplicates for m in report.mailboxes),
                    "checked": len(report.checked),
                    "keywords": sum(m.keywords for m in report.mailboxes),
                    "failed": [m.id for m in report.failed],
                }
            if out is not None:
                line |= {
                    "recorded": len(out.recorded),
                    "sent": len(out.delivery.sent),
                    "postponed": len(out.delivery.postponed),
                    "copied": len(out.copies.copied),
                    "copy_errors": len(out.copies.errors),
                }
            print(json.dumps(line), flush=True)
            busy = (
                "new",
                "checked",
                "keywords",
                "failed",
                "recorded",
                "sent",
                "postponed",
                "copied",
                "copy_errors",
            )
            if report is not None and out is not None and not any(line[k] for k in busy):
                return 0
    return 1


# --- one run under faults ----------------------------------------------------------------


@dataclass
class Backend:
    """Where the worker's data lives and how to reach the servers (its environment)."""

    env: dict[str, str]  # GUICHET_* for the mailboxes, SMTP, the store
    database_url: str
    received: Callable[[], list[tuple[str, list[str], bytes]]]  # what SMTP accepted so far
    sent_folder: Callable[[], list[str]]  # Message-IDs in the Sent folder of info@


@dataclass
class Restart:
    """One worker process: the kill it was given, how it ended, how fast it got going."""

    fault: str | None
    after: str | None  # the kill it restarts after (None: the first run)
    returncode: int
    seconds: float
    first_progress: float | None  # from its start to the first change seen in the store
    first_pass: float | None  # from its start to the end of its first full pass

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def recovery(self) -> float | None:
        found = [t for t in (self.first_progress, self.first_pass) if t is not None]
        return min(found) if found else None


@dataclass
class Figures:
    mails: int
    copies: int
    kills: Counter[str] = field(default_factory=Counter)  # landed, by step
    planned: int = 0
    missed: list[str] = field(default_factory=list)  # kills that could not land
    restarts: list[Restart] = field(default_factory=list)  # each run after a kill, in order
    lost: int = 0
    stored_twice: int = 0
    in_error: int = 0
    verdicts_doubled: int = 0
    copies_unmarked: int = 0
    applications: int = 0
    unanswered: int = 0
    outgoing: int = 0
    not_sent: int = 0  # outbox rows not sent, or never accepted by SMTP
    sent_twice: int = 0
    flagged: int = 0  # outbox rows flagged uncertain (resent after a kill in sending)
    flagged_doubles: int = 0  # of those, accepted twice by SMTP
    silent_doubles: int = 0
    unknown_sent: int = 0  # accepted by SMTP but in no outbox row
    sent_copies_missing: int = 0
    sent_copies_doubled: int = 0
    differing: int | None = None  # verdicts or applications differing from a run never killed
    seconds: float = 0.0

    @property
    def slowest(self) -> Restart | None:
        timed = [r for r in self.restarts if r.recovery is not None]
        return max(timed, key=lambda r: r.recovery or 0.0) if timed else None

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.stored_twice
            or self.in_error
            or self.verdicts_doubled
            or self.copies_unmarked
            or self.unanswered
            or self.not_sent
            or self.silent_doubles
            or self.unknown_sent
            or self.sent_copies_missing
            or self.sent_copies_doubled
            or self.differing
        )


def plan_kills(kills: int, rng: random.Random) -> list[str]:
    """The step of each kill: as even a share per step as ``kills`` allows (the remainder
    drawn), in the order the worker meets the phases, steps of a phase shuffled."""
    counts = dict.fromkeys(STEPS, kills // len(STEPS))
    for step in rng.sample(STEPS, kills % len(STEPS)):
        counts[step] += 1
    order: list[str] = []
    for group in GROUPS:
        members = [step for step in group for _ in range(counts[step])]
        rng.shuffle(members)
        order += members
    return order


def choose_turn(left: int, kills_left: int, rng: random.Random) -> int:
    """Which occurrence of a step to die at, when ``left`` are still ahead and
    ``kills_left`` kills (this one included) share them: on average an even share."""
    high = max(1, min(left, round(2 * left / (kills_left + 1))))
    return rng.randint(1, high)


def _group_of(step: str) -> tuple[str, ...]:
    return next(g for g in GROUPS if step in g)


def _engine(url: str) -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    args = {"timeout": 10} if url.startswith("sqlite") else {}
    return create_engine(url, poolclass=NullPool, connect_args=args)


_PROGRESS = """SELECT
  (SELECT count(*) FROM mail_copies),
  (SELECT count(*) FROM messages WHERE state <> 'recu'),
  (SELECT count(*) FROM outbox),
  (SELECT count(*) FROM outbox WHERE state = 'envoye'),
  (SELECT count(*) FROM outbox WHERE copied_at IS NOT NULL)"""

_LEFT = """SELECT
  (SELECT count(*) FROM mail_copies),
  (SELECT count(*) FROM messages),
  (SELECT count(*) FROM messages WHERE state = 'recu'),
  (SELECT count(*) FROM applications a WHERE a.status IN ('complet', 'incomplet', 'hors_delai')
     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.application_id = a.id)),
  (SELECT count(*) FROM outbox WHERE state IN ('enregistre', 'envoi')),
  (SELECT count(*) FROM outbox WHERE copied_at IS NULL AND mailbox_id IS NOT NULL
     AND state <> 'abandonne')"""


def _query(engine: Any, sql: str) -> tuple[int, ...] | None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(sql)).one())
    except SQLAlchemyError:  # not created yet (the first worker migrates), or busy
        return None


def left_for(step: str, counts: tuple[int, ...] | None, mails: int, copies: int) -> int:
    """How many times at least the next worker will reach ``step`` (from the store)."""
    if counts is None:
        recorded = known = waiting = unanswered = to_send = to_copy = 0
    else:
        recorded, known, waiting, unanswered, to_send, to_copy = counts
    if step == "fetching":
        return copies - recorded
    if step in ("checking", "filing"):
        return waiting + max(0, mails - known)
    if step == "recording":
        return unanswered
    if step.startswith("sending."):
        return to_send + unanswered
    return to_copy + unanswered


def spawn(
    backend: Backend,
    engine: Any,
    start: dt.datetime,
    fault: str | None,
    log: Path,
    after: str | None = None,
    timeout: float = RUN_TIMEOUT,
) -> Restart:
    """Run one worker process to its end (idle, or killed by its fault), watching the store
    for its first progress."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    env |= backend.env | {"GUICHET_PROGRAMME": PROGRAMME, "PYTHONPATH": str(ROOT)}
    if fault:
        env[FAULTS_ENV] = fault
    before = _query(engine, _PROGRESS)
    out = log.with_suffix(".out")
    with open(log, "ab") as stderr, open(out, "wb") as stdout:
        stderr.write(f"--- worker, fault {fault}, clock {start.isoformat()}\n".encode())
        stderr.flush()
        started_wall, started = time.time(), time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, start.isoformat()],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        progress = None
        try:
            while process.poll() is None:
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    raise RuntimeError(f"worker running for {timeout:.0f} s (fault {fault})")
                if progress is None and _query(engine, _PROGRESS) not in (None, before):
                    progress = elapsed
                time.sleep(WATCH_EVERY)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        seconds = time.monotonic() - started
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    first_pass = lines[0]["at"] - started_wall if lines else None
    if process.returncode not in (0, -signal.SIGKILL):
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"worker exited {process.returncode} (fault {fault}):\n{tail}")
    return Restart(fault, after, process.returncode, seconds, progress, first_pass)


def run_faults(
    backend: Backend,
    mails: Sequence[Incoming],
    copies: int,
    kills: int,
    seed: int,
    folder: Path,
    start: dt.datetime,
    say: Callable[[str], None] = lambda _: None,
) -> Figures:
    """Kill the worker ``kills`` times, then run it to the end; the figures."""
    rng = random.Random(seed)
    figures = Figures(mails=len(mails), copies=copies, planned=kills)
    engine = _engine(backend.database_url)
    log = folder / "worker.log"
    started = time.monotonic()
    clock = start
    plan = plan_kills(kills, rng)
    previous: str | None = None  # the fault of the last run, when it killed it
    try:
        for index, step in enumerate(plan):
            group = _group_of(step)
            kills_left = sum(1 for s in plan[index:] if s in group)
            left = left_for(step, _query(engine, _LEFT), len(mails), copies)
            if left <= 0:
                figures.missed.append(step)
                continue
            fault = f"{step}:{choose_turn(left, kills_left, rng)}"
            run = spawn(backend, engine, clock, fault, log, after=previous)
            clock += dt.timedelta(seconds=run.seconds) + LEASE_JUMP
            if previous:
                figures.restarts.append(run)
            previous = fault if run.killed else None
            if run.killed:
                figures.kills[step] += 1
            else:
                figures.missed.append(step)  # the worker went idle before its turn came
            ended = "killed" if run.killed else "not reached"
            say(f"   kill {index + 1}/{len(plan)} at {fault}: {ended} after {run.seconds:.1f} s")
        final = spawn(backend, engine, clock, None, log, after=previous)
        if previous:
            figures.restarts.append(final)
        say(f"   clean run: {final.seconds:.1f} s")
    finally:
        engine.dispose()
    figures.seconds = time.monotonic() - started
    return figures


# --- the figures -------------------------------------------------------------------------


def _bare(message_id: str | None) -> str:
    return (message_id or "").strip().strip("<>")


def accepted_ids(accepted: Sequence[tuple[str, list[str], bytes]]) -> Counter[str]:
    """Message-IDs of the mails the SMTP server accepted, with how many times."""
    from email.parser import BytesHeaderParser

    parser = BytesHeaderParser()
    return Counter(_bare(parser.parsebytes(data).get("Message-ID")) for _, _, data in accepted)


def judge(
    figures: Figures,
    mails: Sequence[Incoming],
    store: Mapping[str, Sequence[Any]],
    accepted: Counter[str],
    in_sent: Counter[str],
) -> Figures:
    """Fill the figures from what the store holds (``store``: rows of ``messages``,
    ``verdicts``, ``copies``, ``applications`` and ``outbox``), what SMTP accepted and
    what the Sent folder holds. Pure."""
    by_id: dict[str, list[Any]] = {}
    for row in store["messages"]:
        by_id.setdefault(_bare(row.rfc_message_id), []).append(row)
    verdicts = Counter(store["verdicts"])
    judged = {
        mid
        for mid, rows in by_id.items()
        if any(r.state == "traite" and verdicts[r.id] >= 1 for r in rows)
    }
    figures.lost = sum(1 for m in mails if _bare(m.message_id) not in judged)
    figures.stored_twice = sum(len(rows) - 1 for rows in by_id.values())
    figures.in_error = sum(1 for row in store["messages"] if row.state == "erreur")
    figures.verdicts_doubled = sum(1 for n in verdicts.values() if n > 1)
    marked = sum(1 for keyword_set in store["copies"] if keyword_set)
    figures.copies_unmarked = figures.copies - marked

    outbox = store["outbox"]
    figures.applications = len(store["applications"])
    answered = {r.application_id for r in outbox if r.kind in ANSWERS and r.state == "envoye"}
    figures.unanswered = sum(1 for a in store["applications"] if a not in answered)
    figures.outgoing = len(outbox)
    ids = {_bare(r.rfc_message_id): r for r in outbox}
    figures.not_sent = sum(1 for mid, r in ids.items() if r.state != "envoye" or not accepted[mid])
    twice = {mid for mid, n in accepted.items() if n > 1}
    figures.sent_twice = len(twice)
    figures.flagged = sum(1 for r in outbox if r.uncertain)
    figures.flagged_doubles = sum(1 for mid in twice if mid in ids and ids[mid].uncertain)
    figures.silent_doubles = sum(1 for mid in twice if mid not in ids or not ids[mid].uncertain)
    figures.unknown_sent = sum(1 for mid in accepted if mid not in ids)
    copied = [mid for mid, r in ids.items() if r.state == "envoye" and r.mailbox_id]
    figures.sent_copies_missing = sum(1 for mid in copied if not in_sent[mid])
    figures.sent_copies_doubled = sum(1 for mid in copied if in_sent[mid] > 1)
    return figures


def read_store(url: str) -> dict[str, list[Any]]:
    from sqlalchemy import text

    engine = _engine(url)
    try:
        with engine.connect() as conn:

            def rows(sql: str) -> list[Any]:
                return list(conn.execute(text(sql)).all())

            return {
                "messages": rows("SELECT id, rfc_message_id, state FROM messages"),
                "verdicts": [
                    r[0]
                    for r in rows("SELECT message_id FROM verdicts WHERE message_id IS NOT NULL")
                ],
                "copies": [bool(r[0]) for r in rows("SELECT keyword_set FROM mail_copies")],
                "applications": [
                    r[0]
                    for r in rows(
                        "SELECT id FROM applications WHERE status IN "
                        "('complet', 'incomplet', 'hors_delai')"
                    )
                ],
                "outbox": rows(
                    "SELECT id, application_id, kind, state, rfc_message_id, "
                    "uncertain, mailbox_id FROM outbox"
                ),
            }
    finally:
        engine.dispose()


def outcome(url: str) -> Counter[tuple[Any, ...]]:
    """What the check decided, as comparable rows: each message's state and status, each
    application's status and missing items."""
    from sqlalchemy import text

    engine = _engine(url)
    try:
        with engine.connect() as conn:
            messages = conn.execute(text("SELECT rfc_message_id, state, status FROM messages"))
            apps = conn.execute(text("SELECT structure_key, status, missing FROM applications"))
            found: Counter[tuple[Any, ...]] = Counter(("message", *r) for r in messages)
            for key, status, missing in apps:  # JSON: text on SQLite, a list on PostgreSQL
                text_missing = missing if isinstance(missing, str) else json.dumps(missing)
                found[("application", key, status, text_missing)] += 1
            return found
    finally:
        engine.dispose()


def differing(a: Counter[tuple[Any, ...]], b: Counter[tuple[Any, ...]]) -> int:
    return sum(((a - b) + (b - a)).values())


# --- servers, and the whole scenario -------------------------------------------------------

START = dt.datetime(2026, 9, 2, 7, 0, tzinfo=dt.UTC)  # the first worker's clock: 9:00 in Brussels


def _append_all(dovecot: Any, user: str, raws: list[tuple[bytes, dt.datetime]]) -> None:
    with dovecot.mailbox(user) as box:
        for raw, when in raws:
            box.append(raw, "INBOX", dt=when)


def _sent_folder(dovecot: Any, user: str) -> list[str]:
    with dovecot.mailbox(user) as box:
        if not box.folder.exists("Sent"):
            return []
        box.folder.set("Sent")
        return [
            (m.headers.get("message-id") or ("",))[0]
            for m in box.fetch(mark_seen=False, headers_only=True, bulk=True)
        ]


def scenario(
    dovecot: Any,
    relay: Any,
    users: Mapping[str, str],
    folder: Path,
    *,
    mails: int,
    kills: int,
    seed: int = DEFAULT_SEED,
    database_urls: tuple[str, str] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Figures:
    """The whole measure on running servers: ``users`` maps the programme's mailbox ids
    (``info``, ``programme``) to fresh IMAP users; ``database_urls`` (killed, reference)
    replaces SQLite files in ``folder``."""
    from tests.servers import guichet_imap_env, guichet_smtp_env

    started = time.monotonic()
    backlog_mails = backlog(mails, seed)
    copies = load(lambda box, raws: _append_all(dovecot, users[box], raws), backlog_mails)
    say(
        f"   {len(backlog_mails)} mails ({copies} copies) built and APPENDed in "
        f"{time.monotonic() - started:.0f} s"
    )
    imap = {
        k: v for box, user in users.items() for k, v in guichet_imap_env(dovecot, box, user).items()
    }
    smtp = guichet_smtp_env(relay)
    urls = database_urls or tuple(
        f"sqlite:///{folder / name / 'guichet.sqlite3'}" for name in ("killed", "reference")
    )
    stores = {
        name: {"GUICHET_DATA_DIR": str(folder / name), "GUICHET_DATABASE_URL": url}
        for name, url in zip(("killed", "reference"), urls, strict=True)
    }
    first_accepted = len(relay.received)
    backend = Backend(
        env=imap | smtp | stores["killed"],
        database_url=urls[0],
        received=lambda: relay.received[first_accepted:],
        sent_folder=lambda: _sent_folder(dovecot, users["info"]),
    )
    figures = run_faults(backend, backlog_mails, copies, kills, seed, folder, START, say)
    judge(
        figures,
        backlog_mails,
        read_store(urls[0]),
        accepted_ids(backend.received()),
        Counter(_bare(m) for m in backend.sent_folder()),
    )
    # The same backlog into a fresh store, never killed (no SMTP: verdicts only).
    reference = Backend(imap | stores["reference"], urls[1], list, list)
    engine = _engine(urls[1])
    try:
        spawn(reference, engine, START, None, folder / "reference.log")
    finally:
        engine.dispose()
    figures.differing = differing(outcome(urls[0]), outcome(urls[1]))
    figures.seconds = time.monotonic() - started
    return figures


def measure(
    mails: int = DEFAULT_MAILS,
    kills: int = DEFAULT_KILLS,
    seed: int = DEFAULT_SEED,
    store: str = "sqlite",
) -> Figures | None:
    """Start Dovecot and SMTP (and PostgreSQL) on loopback, run the scenario, print."""
    import contextlib

    from tests.servers import DovecotServer, PostgresCluster, SmtpRelay

    missing = DovecotServer.missing() + SmtpRelay.missing()
    if store == "postgresql":
        missing += PostgresCluster.missing()
    if missing:
        print(
            f"== faults: skipped, missing {', '.join(missing)} (scripts/install-system-packages.sh)"
        )
        return None
    label = "SQLite" if store == "sqlite" else "PostgreSQL"
    print(
        f"== faults: kill -9 of the worker {kills} times over {mails} mails, "
        f"then a clean run ({label}, seed {seed})",
        flush=True,
    )
    users = {"info": "info@coopcity.test", "programme": "matthias@coopcity.test"}
    folder = Path(tempfile.mkdtemp(prefix="guichet-bench-faults-"))
    try:
        with contextlib.ExitStack() as stack:
            known = dict.fromkeys(users.values(), "secret")
            dovecot = stack.enter_context(DovecotServer(users=known))
            relay = stack.enter_context(SmtpRelay(dovecot))
            urls = None
            if store == "postgresql":
                cluster = stack.enter_context(PostgresCluster())
                urls = (cluster.create_database("killed"), cluster.create_database("reference"))
            figures = scenario(
                dovecot,
                relay,
                users,
                folder,
                mails=mails,
                kills=kills,
                seed=seed,
                database_urls=urls,
                say=lambda line: print(line, flush=True),
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print_figures(figures)
    return figures


def print_figures(f: Figures) -> None:
    landed = ", ".join(f"{step} {f.kills[step]}" for step in STEPS)
    missed = f"; not landed: {', '.join(f.missed)}" if f.missed else ""
    print(f"kills landed: {sum(f.kills.values())} of {f.planned} ({landed}){missed}")
    rows = [
        ("mails lost", f.lost, f"of {f.mails} mails, {f.copies} copies in the mailboxes"),
        (
            "verdicts doubled",
            f.verdicts_doubled,
            f"mails stored twice {f.stored_twice}, in error {f.in_error}",
        ),
        (
            "mails sent twice, not flagged",
            f.silent_doubles,
            f"Message-IDs accepted twice by SMTP: {f.sent_twice}",
        ),
        (
            "possible doubles flagged",
            f.flagged,
            (
                "sent again after a kill while sending, same Message-ID; "
                f"{f.flagged_doubles} really accepted twice"
            ),
        ),
    ]
    slowest = f.slowest
    if slowest is not None and slowest.recovery is not None:
        times = sorted(r.recovery for r in f.restarts if r.recovery is not None)
        passes = [r.first_pass for r in f.restarts if r.first_pass is not None]
        rows.append(
            (
                "slowest recovery (s)",
                f"{slowest.recovery:.1f}",
                (
                    f"restart after the kill at {slowest.after}, to its first progress; "
                    f"median {times[len(times) // 2]:.1f} s; slowest to a full pass "
                    f"{max(passes, default=0.0):.1f} s"
                ),
            )
        )
    rows += [
        (
            "applications unanswered",
            f.unanswered,
            (
                f"of {f.applications}; {f.outgoing} outgoing mails, {f.not_sent} never "
                f"accepted, {f.unknown_sent} unknown to the outbox"
            ),
        ),
        ("Sent copies missing", f.sent_copies_missing, f"doubled {f.sent_copies_doubled}"),
        ("IMAP copies without the keyword", f.copies_unmarked, ""),
        (
            "differing from a run never killed",
            "-" if f.differing is None else f.differing,
            "messages' state and status, applications' status and missing items",
        ),
        ("result", "ok" if f.ok else "FAILED", f"{f.seconds:.0f} s in all"),
    ]
    for label, value, detail in rows:
        print(f"{label:<34} {value!s:>6}   {detail}".rstrip())


def run(repeat: int = 1) -> None:
    """`python -m bench faults`; ``repeat`` is not used (one long run)."""
    measure()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kills", type=int, default=DEFAULT_KILLS)
    parser.add_argument("--mails", type=int, default=DEFAULT_MAILS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    figures = measure(args.mails, args.kills, args.seed, args.store)
    return 0 if figures is None or figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
