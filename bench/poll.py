"""Polling: a cycle over an unchanged mailbox of 1,000 vs 10,000 mails (wall time and IMAP
round trips: the aim is that neither grows with the mailbox), then a backlog of 1,000
application mails with five attachments each (a .docx dossier and four PDF annexes of
6 to 8 pages), end to end (mails per second, peak memory).

Everything runs against a Dovecot on loopback (``tests/servers.py``) over verified TLS,
with the store on SQLite in a temporary folder. Round trips are IMAP commands sent,
counted by wrapping ``imaplib.IMAP4._command`` (LOGIN, SELECT, STATUS, FETCH…; the
greeting is not a command). Mailboxes are filled either by APPEND over one connection
or, for the large one, by writing Maildir files and letting Dovecot index them on the
first access: both rates are printed.

The unchanged cycles are measured a few seconds after the catch-up (``SETTLE``): Dovecot
rescans a Maildir folder changed in the last seconds, which is not what a worker polling
every two minutes sees.

The backlog runs in a fresh process whose high-water mark (VmHWM) is its peak memory.
``GUICHET_BENCH_QUICK=1``: 200 / 2,000 mails and a backlog of 100 (about a minute);
``GUICHET_BENCH_BACKLOG_ONLY=1``: the backlog alone. The worker's CPU time and the reader
child's (its peak memory too) are printed beside the wall time.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import imaplib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

from tests.servers import HOSTNAME, DovecotServer

QUICK_ENV = "GUICHET_BENCH_QUICK"
BACKLOG_ONLY_ENV = "GUICHET_BENCH_BACKLOG_ONLY"  # skip the unchanged-mailbox cycles
ROOT = Path(__file__).resolve().parent.parent
SENT: Counter[str] = Counter()  # IMAP commands sent by this process, by name
WAITED: Counter[str] = Counter()  # seconds from sending each command to its completion
WHEN = dt.datetime(2026, 9, 10, 8, 0, tzinfo=dt.UTC)  # INTERNALDATE of the filled mails
NOW = dt.datetime(2026, 9, 20, 8, 0, tzinfo=dt.UTC)  # the cycles' clock: after the deadline
SETTLE = float(os.environ.get("GUICHET_BENCH_SETTLE", "3"))  # seconds before measuring
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _count_commands() -> None:
    command, simple = imaplib.IMAP4._command, imaplib.IMAP4._simple_command
    if getattr(command, "counted", False):
        return

    def counted(self: imaplib.IMAP4, name: str, *args: object) -> object:
        SENT[name] += 1
        return command(self, name, *args)

    def timed(self: imaplib.IMAP4, name: str, *args: object) -> object:
        start = time.perf_counter()
        try:
            return simple(self, name, *args)
        finally:
            WAITED[name] += time.perf_counter() - start

    counted.counted = True  # type: ignore[attr-defined]
    imaplib.IMAP4._command = counted  # type: ignore[method-assign]
    imaplib.IMAP4._simple_command = timed  # type: ignore[method-assign]


def small_mail(n: int) -> bytes:
    """A short mail with no attachment (a question to the programme)."""
    return (
        f"From: Personne {n} <personne{n}@example.org>\r\n"
        f"To: info@coopcity.be\r\n"
        f"Subject: Question {n} sur l'appel\r\n"
        f"Date: {email.utils.format_datetime(WHEN)}\r\n"
        f"Message-ID: <bench-small-{n}@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Bonjour,\r\nQuelle est la date limite ? ({n})\r\n"
    ).encode()


def application_mail(n: int) -> bytes:
    """An application: the sample dossier p001 renamed to its own structure, and four PDF
    annexes of 6 to 8 full pages each (statuts, rapport d'activité, bilans of two years,
    CV; ``bench.annexes``)."""
    from bench import annexes
    from tests.fixtures.build_emails import edited_docx

    structure = f"Crèche numéro {n}"
    org = f"ASBL {structure}"
    msg = EmailMessage()
    msg["From"] = f"Contact {n} <contact{n}@creche{n}.example>"
    msg["To"] = "info@coopcity.be"
    msg["Subject"] = f"Dossier de candidature – COOPCITY 2026 – {structure}"
    msg["Date"] = email.utils.format_datetime(WHEN)
    msg["Message-ID"] = f"<bench-dossier-{n}@creche{n}.example>"
    msg.set_content("Bonjour,\n\nVeuillez trouver notre dossier et ses annexes.\n")
    dossier = edited_docx("p001.docx", ("Crèche Arc-en-Ciel Coop", structure))
    maintype, subtype = DOCX.split("/")
    msg.add_attachment(dossier, maintype=maintype, subtype=subtype, filename="Dossier.docx")
    for name, data in (
        ("Statuts.pdf", annexes.statuts(org, n)),
        ("Rapport d'activité 2025.pdf", annexes.rapport(org, 2025, n)),
        ("Bilans 2024-2025.pdf", annexes.bilans(org, 2024, 2025, n)),
        ("CV.pdf", annexes.cv(f"Personne {n}", org, n)),
    ):
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


# --- filling a mailbox -----------------------------------------------------------------


def fill_by_append(dovecot: DovecotServer, user: str, mails: Iterator[bytes]) -> int:
    """APPEND each mail over one connection; returns how many."""
    count = 0
    with dovecot.mailbox(user) as box:
        for raw in mails:
            box.append(raw, "INBOX", dt=WHEN)
            count += 1
    return count


def fill_maildir(dovecot: DovecotServer, user: str, mails: Iterator[bytes]) -> int:
    """Write the mails as Maildir files (mtime = INTERNALDATE); Dovecot assigns their UIDs
    when the folder is next opened (timed by the caller)."""
    with dovecot.mailbox(user) as box:
        box.folder.status("INBOX")  # Dovecot creates the Maildir
    local, domain = user.split("@")
    assert dovecot.directory is not None
    maildir = dovecot.directory / "mail" / domain / local / "Maildir"
    owner = maildir.stat()
    stamp = WHEN.timestamp()
    count = 0
    for n, raw in enumerate(mails):
        path = maildir / "cur" / f"{int(stamp)}.M{n}P{os.getpid()}.bench,S={len(raw)}:2,"
        path.write_bytes(raw)
        os.utime(path, (stamp, stamp))
        if os.geteuid() == 0:
            os.chown(path, owner.st_uid, owner.st_gid)
        count += 1
    return count


def _open_folder(dovecot: DovecotServer, user: str) -> int:
    with dovecot.mailbox(user) as box:
        box.folder.set("INBOX")
        return int(box.folder.status("INBOX")["MESSAGES"])


# --- measures ---------------------------------------------------------------------------


def _settings(dovecot: DovecotServer, user: str):
    from ingest.mailbox import MailboxSettings

    return MailboxSettings(
        id="info",
        address=user,
        host=HOSTNAME,
        port=dovecot.imaps_port,
        user=user,
        password=dovecot.users[user],
        cafile=str(dovecot.cafile),
    )


def _timed(func: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def unchanged_cycle(dovecot: DovecotServer, size: int, folder: Path, repeat: int) -> dict:
    from config.programme import load_programme
    from ingest.poll import run_cycle
    from triage.store import StoreSettings, open_store

    user = dovecot.add_user(f"bench{size}@coopcity.test")
    mails = (small_mail(n) for n in range(size))
    if size <= 1000:
        method = "APPEND"
        _, fill = _timed(lambda: fill_by_append(dovecot, user, mails))
        index = 0.0
    else:
        method = "Maildir"
        _, fill = _timed(lambda: fill_maildir(dovecot, user, mails))
        messages, index = _timed(lambda: _open_folder(dovecot, user))
        assert messages == size, messages
    programme = load_programme("blossom-2026")
    data = folder / f"store-{size}"
    settings = [_settings(dovecot, user)]
    with open_store(StoreSettings(data, f"sqlite:///{data / 'guichet.sqlite3'}")) as store:
        report, catch_up = _timed(lambda: run_cycle(store, programme, settings, NOW))
        assert report.mailboxes[0].new == size and not report.failed, report.mailboxes
        # Left alone as between two cycles of the worker: Dovecot rescans a Maildir whose
        # folder changed in the last seconds (the catch-up's keywords renamed every file).
        time.sleep(SETTLE)
        times, trips, waits = [], [], []
        for _ in range(repeat):
            SENT.clear()
            WAITED.clear()
            report, seconds = _timed(lambda: run_cycle(store, programme, settings, NOW))
            assert report.mailboxes[0].new == 0 and not report.failed
            times.append(seconds)
            trips.append(dict(SENT))
            waits.append(dict(WAITED))
    assert all(t == trips[0] for t in trips), trips
    return {
        "size": size,
        "fill": method,
        "fill_rate": size / (fill + index),
        "index": index,
        "catch_up": catch_up,
        "cycle_ms": statistics.median(times) * 1000,
        "round_trips": sum(trips[0].values()),
        "select_ms": statistics.median(w.get("SELECT", 0.0) for w in waits) * 1000,
        "imap_ms": statistics.median(sum(w.values()) for w in waits) * 1000,
        "commands": trips[0],
    }


_BACKLOG_CHILD = """
import datetime as dt, json, sys, time
from collections import Counter
from config.programme import load_programme
from ingest.mailbox import MailboxSettings
from ingest.poll import run_cycle
from triage.store import StoreSettings, open_store

args = json.loads(sys.argv[1])
settings = [MailboxSettings(**args["mailbox"])]
data = args["data"]
programme = load_programme("blossom-2026")
now = dt.datetime.fromisoformat(args["now"])

def hwm():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024

from parsers import isolation
import resource

def child_hwm():
    peaks = [0.0]
    for child in isolation._idle:
        try:
            line = next(l for l in open(f"/proc/{child.process.pid}/status") if l.startswith("VmHWM"))
            peaks.append(int(line.split()[1]) / 1024)
        except (OSError, StopIteration):
            pass
    return max(peaks)

with open_store(StoreSettings(__import__("pathlib").Path(data), "sqlite:///" + data + "/guichet.sqlite3")) as store:
    before = hwm()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    report = run_cycle(store, programme, settings, now)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    reader = child_hwm()
    isolation.stop_children()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "cpu": after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime,
    "cpu_children": children.ru_utime + children.ru_stime,
    # the idle children's VmHWM, else (a child retired or already gone) the largest
    # waited-for child's peak resident size, which the kernel keeps for its parent
    "reader_hwm": max(reader, children.ru_maxrss / 1024),
    "seconds": seconds,
    "new": sum(m.new for m in report.mailboxes),
    "failed": [m.id for m in report.failed],
    "statuses": Counter(c.status for c in report.checked),
    "hwm_before": before,
    "hwm": hwm(),
}))
"""


def backlog(dovecot: DovecotServer, size: int, folder: Path) -> dict:
    user = dovecot.add_user(f"backlog{size}@coopcity.test")
    start = time.perf_counter()
    mails = [application_mail(n) for n in range(size)]
    build = time.perf_counter() - start
    _, fill = _timed(lambda: fill_by_append(dovecot, user, iter(mails)))
    total_bytes = sum(len(m) for m in mails)
    mails.clear()
    s = _settings(dovecot, user)
    args = {
        "mailbox": {
            "id": s.id,
            "address": s.address,
            "host": s.host,
            "port": s.port,
            "user": s.user,
            "password": s.password,
            "cafile": s.cafile,
        },
        "data": str(folder / "store-backlog"),
        "now": NOW.isoformat(),
    }
    done = subprocess.run(
        [sys.executable, "-c", _BACKLOG_CHILD, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["new"] == size and not result["failed"], result
    result.update(size=size, build=build, fill=fill, megabytes=total_bytes / 1e6)
    return result


def run(repeat: int = 15) -> None:
    quick = bool(os.environ.get(QUICK_ENV))
    sizes = (200, 2000) if quick else (1000, 10000)
    if os.environ.get(BACKLOG_ONLY_ENV):
        sizes = ()
    backlog_size = 100 if quick else 1000
    repeat = max(3, min(repeat, 10))
    missing = DovecotServer.missing()
    if missing:
        print(
            f"== poll: skipped, missing {', '.join(missing)} (scripts/install-system-packages.sh)"
        )
        return
    _count_commands()
    folder = Path(tempfile.mkdtemp(prefix="guichet-bench-poll-"))
    try:
        with DovecotServer() as dovecot:
            print(
                f"== poll: unchanged mailbox, median of {repeat} cycles (Dovecot on loopback, TLS)"
            )
            print(
                f"{'mails':>7} {'cycle ms':>9} {'IMAP ms':>8} {'SELECT ms':>10} {'round trips':>12}"
                f"  {'commands':<48}"
                f" {'fill':>8} {'fill/s':>7} {'catch-up s':>11} {'catch-up/s':>11}"
            )
            for size in sizes:
                r = unchanged_cycle(dovecot, size, folder, repeat)
                commands = " ".join(f"{k} {v}" for k, v in sorted(r["commands"].items()))
                print(
                    f"{r['size']:>7} {r['cycle_ms']:>9.1f} {r['imap_ms']:>8.1f} {r['select_ms']:>10.1f}"
                    f" {r['round_trips']:>12}  {commands:<48}"
                    f" {r['fill']:>8} {r['fill_rate']:>7.0f} {r['catch_up']:>11.1f}"
                    f" {r['size'] / r['catch_up']:>11.0f}"
                )
            print(
                "IMAP ms: from sending each command to its completion (TLS handshake not "
                "included); fill/s: APPEND over one connection, or Maildir files written then indexed by "
                "Dovecot on first access; catch-up: the first cycle (fetch, archive, record, "
                "check, keyword)."
            )
            print(
                f"== poll: backlog of {backlog_size} application mails (.docx + 4 PDF of 6-8 pages), end to end"
            )
            r = backlog(dovecot, backlog_size, folder)
            statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
            print(
                f"{r['size']} mails ({r['megabytes']:.0f} MB) in {r['seconds']:.1f} s: "
                f"{r['size'] / r['seconds']:.1f} mails/s ({statuses}); peak memory {r['hwm']:.0f} MiB "
                f"(VmHWM; {r['hwm_before']:.0f} MiB before the cycle)"
            )
            print(
                f"CPU: worker {r['cpu']:.1f} s, reader child {r['cpu_children']:.1f} s; "
                f"reader child's peak memory {r['reader_hwm']:.0f} MiB (resident, pages shared with "
                f"the worker it was forked from counted again); "
                f"{os.cpu_count()} cores"
            )
            print(f"(built in {r['build']:.1f} s, APPENDed in {r['fill']:.1f} s)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
