"""Raw mails on disk, addressed by their SHA-256: stored before anything else is done.

``<root>/ab/cd/abcd….eml``: written to a temporary file in the same folder, flushed and
fsynced, renamed into place, then the folder is fsynced, so a crash leaves either the
whole file or none (a stray ``.tmp`` at worst, removed by ``sweep``). Files are 0600,
folders 0700. Storing the same bytes twice is a no-op.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"[0-9a-f]{64}")


class ArchiveError(OSError):
    """A stored file is missing or does not match its name."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawArchive:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.eml"

    def store(self, data: bytes) -> str:
        """Write ``data`` durably (once); returns its SHA-256."""
        sha256 = sha256_of(data)
        path = self.path_of(sha256)
        if path.exists() and path.stat().st_size == len(data):
            return sha256
        self._make_dirs(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)  # 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)
        return sha256

    def read(self, sha256: str) -> bytes:
        """The stored bytes, checked against their hash."""
        path = self.path_of(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise ArchiveError(f"courriel archivé introuvable : {path}") from e
        if sha256_of(data) != sha256:
            raise ArchiveError(f"courriel archivé altéré : {path}")
        return data

    def __contains__(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()

    def sweep(self) -> int:
        """Remove temporary files a crash left behind; returns how many."""
        count = 0
        for tmp in self.root.glob("*/*/.*.tmp"):
            tmp.unlink(missing_ok=True)
            count += 1
        return count

    def _make_dirs(self, folder: Path) -> None:
        if not self.root.exists():
            self.root.mkdir(parents=True, mode=0o700, exist_ok=True)
            self.root.chmod(0o700)
        created = []
        for part in (folder.parent, folder):
            if not part.exists():
                part.mkdir(mode=0o700, exist_ok=True)
                part.chmod(0o700)  # whatever the umask
                created.append(part)
        for part in created:
            _fsync_dir(part.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
