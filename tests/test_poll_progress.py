"""The progress bar of `guichet poll --once`: on a terminal, for a backlog of more than 20 mails."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from guichet.commands.poll import BacklogBar
from tests.conftest import Accounts
from tests.mails import brussels, build

ROOT = Path(__file__).resolve().parent.parent


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def test_a_step_of_more_than_twenty_mails_draws_a_bar() -> None:
    console, out = terminal()
    bar = BacklogBar(console)
    bar.start("boîte « info »", 21)
    for _ in range(21):
        bar.advance()
    bar.done()
    bar.close()
    assert "Boîte « info »" in out.getvalue()


def test_a_short_step_draws_nothing() -> None:
    console, out = terminal()
    bar = BacklogBar(console)
    bar.start("vérification", 20)
    for _ in range(20):
        bar.advance()
    bar.close()
    assert "Vérification" not in out.getvalue()


def test_no_bar_unless_the_output_is_a_terminal() -> None:
    out = io.StringIO()
    bar = BacklogBar.on(out)
    bar.start("vérification", 500)
    bar.advance()
    bar.close()
    assert out.getvalue() == ""


def run_poll(accounts: Accounts, tmp_path: Path, tty: bool) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")},
        **accounts.env,
        "GUICHET_DATA_DIR": str(tmp_path / ("tty" if tty else "pipe")),
        "GUICHET_PROGRAMME": "blossom-2026",
        "TERM": "xterm-256color",
        "COLUMNS": "100",
    }
    command = [sys.executable, "-m", "guichet.cli", "poll", "--once"]
    if not tty:
        done = subprocess.run(
            command, check=False, cwd=ROOT, env=env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.decode()
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(120) == 0
    return b"".join(chunks).decode(errors="replace")


def test_poll_once_on_a_terminal_shows_the_backlog(accounts: Accounts, tmp_path: Path) -> None:
    with accounts.dovecot.mailbox(accounts.users["info"]) as box:
        for n in range(25):
            raw = build(message_id=f"<progress-{n}@example.org>", body=f"Envoi {n}.\n")
            box.append(raw, "INBOX", dt=brussels(2026, 9, 10, 9, n))
    on_terminal = run_poll(accounts, tmp_path, tty=True)
    assert "Boîte « info » \x1b" in on_terminal and "0/25" in on_terminal  # a bar, drawn
    assert "Vérification \x1b" in on_terminal
    assert "Boîte « info » (info@coopcity.be) : 25 nouveaux courriels." in on_terminal

    # the same cycle, piped: the summary only
    piped = run_poll(accounts, tmp_path, tty=False)
    assert "\x1b" not in piped and "/25" not in piped
    assert piped.startswith("Boîte « info » (info@coopcity.be) : 25 nouveaux courriels.")
