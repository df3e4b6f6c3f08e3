"""parsers.isolation: one warm child reads file after file, each file under its own caps,
and a child that overran a cap or died is replaced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from guichet.errors import UnreadableDocument
from parsers import isolation
from parsers.pdf_reader import read_pdf
from tests.samples import SAMPLES


def call(func, *args, seconds: float = 20.0, memory_bytes: int = 2 << 30):
    return isolation.run_isolated(
        func, args, seconds=seconds, memory_bytes=memory_bytes, task="Lecture du test"
    )


def children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


@pytest.fixture(autouse=True)
def fresh_children():
    isolation.stop_children()
    yield
    isolation.stop_children()


def test_one_warm_child_reads_file_after_file() -> None:
    first = call(os.getpid)
    assert first != os.getpid()
    assert call(os.getpid) == first
    assert call(os.getpid) == first


def test_a_child_over_its_time_cap_is_killed_and_replaced() -> None:
    first = call(os.getpid)
    with pytest.raises(UnreadableDocument, match="abandonnée après 0.5 s"):
        call(__import__("time").sleep, 30, seconds=0.5)
    assert first not in children()
    second = call(os.getpid)
    assert second != first


def test_a_child_that_dies_is_replaced() -> None:
    first = call(os.getpid)
    with pytest.raises(UnreadableDocument, match=r"s’est arrêté \(code 7\)"):
        call(os._exit, 7)
    assert call(os.getpid) != first


def test_memory_caps_are_per_file() -> None:
    size = 400 << 20
    with pytest.raises(UnreadableDocument, match="plus de 256 Mo de mémoire"):
        call(bytearray, size, memory_bytes=256 << 20)
    assert len(call(bytearray, size, memory_bytes=2 << 30)) == size
    with pytest.raises(UnreadableDocument, match="plus de 256 Mo de mémoire"):
        call(bytearray, size, memory_bytes=256 << 20)


def test_a_pdf_is_read_by_one_child_and_no_other_interpreter() -> None:
    data = (SAMPLES / "dossiers" / "p001.pdf").read_bytes()
    before = children()  # servers other tests' fixtures started
    first = read_pdf(data)
    started = children() - before
    assert len(started) == 1
    assert read_pdf(data).blocks == first.blocks
    assert children() - before == started


def test_an_idle_child_exits_when_its_parent_lets_it_go() -> None:
    pid = call(os.getpid)
    (child,) = isolation._idle
    isolation.stop_children()
    assert child.process.poll() is not None
    assert pid not in children()


FORKED = r"""
import json, os, sys, threading, time
from guichet.errors import UnreadableDocument
from parsers import isolation

def call(func, *args, seconds=20.0):
    return isolation.run_isolated(func, args, seconds=seconds, memory_bytes=2 << 30, task="Lecture du test")

out = {}
if sys.argv[1] == "thread":  # a second thread: the child must be a fresh interpreter
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
isolation.warm_up("parsers.word_reader")
(child,) = isolation._idle
out["kind"] = type(child.process).__name__
out["parent_is_us"] = call(os.getppid) == os.getpid()
out["same_child"] = call(os.getpid) == call(os.getpid) == child.process.pid
out["open_fds"] = sorted(int(fd) for fd in call(os.listdir, "/proc/self/fd"))
try:
    call(time.sleep, 30, seconds=0.5)
except UnreadableDocument as e:
    out["timeout"] = e.message
out["killed"] = child.process.poll() is not None
isolation.warm_up()
(second,) = isolation._idle
try:
    call(os._exit, 7)
except UnreadableDocument as e:
    out["died"] = e.message
isolation.warm_up()
(third,) = isolation._idle
isolation.stop_children()
out["idle_exits"] = third.process.poll() is not None
print(json.dumps(out))
"""


def forked_run(mode: str) -> dict:
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FORKED, mode], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_command_lines_child_is_a_fork_with_the_same_caps() -> None:
    """Issue #15: a single-threaded process (the command line) forks its warm child
    instead of starting an interpreter; the child keeps only its pipes and the standard
    streams, is capped like a spawned one, and exits when let go."""
    out = forked_run("single")
    assert out["kind"] == "_Forked" and out["parent_is_us"] and out["same_child"]
    assert len(out["open_fds"]) == 6  # 0, 1, 2, its two pipe ends, and the listing's own
    assert "abandonnée après 0.5 s" in out["timeout"] and out["killed"]
    assert "s’est arrêté (code 7)" in out["died"]
    assert out["idle_exits"]


def test_a_process_with_threads_starts_a_fresh_interpreter() -> None:
    out = forked_run("thread")
    assert out["kind"] == "Popen" and out["parent_is_us"] and out["same_child"]
    assert "abandonnée après 0.5 s" in out["timeout"] and out["killed"]
    assert out["idle_exits"]
