"""ingest.archive: content-addressed raw mails, durable and private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ingest.archive import ArchiveError, RawArchive, sha256_of

RAW = b"From: a@b.test\r\nSubject: x\r\n\r\nbody\r\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_then_read(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path / "mails")
    sha = archive.store(RAW)
    assert sha == sha256_of(RAW)
    path = archive.path_of(sha)
    assert path == tmp_path / "mails" / sha[:2] / sha[2:4] / f"{sha}.eml"
    assert archive.read(sha) == RAW
    assert sha in archive


def test_files_0600_and_folders_0700_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o000)
    try:
        archive = RawArchive(tmp_path / "mails")
        sha = archive.store(RAW)
    finally:
        os.umask(old)
    path = archive.path_of(sha)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700


def test_storing_twice_is_a_no_op(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    sha = archive.store(RAW)
    before = archive.path_of(sha).stat().st_mtime_ns
    assert archive.store(RAW) == sha
    assert archive.path_of(sha).stat().st_mtime_ns == before
    assert len(list(tmp_path.rglob("*.eml"))) == 1


def test_no_temporary_file_left(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    for i in range(5):
        archive.store(RAW + bytes([i]))
    assert not list(tmp_path.rglob("*.tmp"))


def test_sweep_removes_what_a_crash_left(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    sha = archive.store(RAW)
    stray = archive.path_of(sha).parent / ".abc.tmp"
    stray.write_bytes(b"half")
    assert archive.sweep() == 1
    assert not stray.exists()
    assert archive.read(sha) == RAW


def test_a_tampered_or_missing_file_is_an_error(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    sha = archive.store(RAW)
    archive.path_of(sha).write_bytes(b"changed")
    with pytest.raises(ArchiveError, match="altéré"):
        archive.read(sha)
    with pytest.raises(ArchiveError, match="introuvable"):
        archive.read("0" * 64)


def test_only_hashes_make_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        RawArchive(tmp_path).path_of("../../etc/passwd")
