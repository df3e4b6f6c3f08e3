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
