"""A small on-disk cache of values that are slow to build and cheap to read back (pickles).

Used for the validated programmes: reading a YAML file and validating it costs tens of
milliseconds at each start of the command line; its pickle, one. Entries are keyed by a
hash of everything the value is built from (the caller's parts, Python's version), so a
stale entry is never found, only left behind. The folder is ``GUICHET_CACHE_DIR``, else
``$XDG_CACHE_HOME/guichet``, else ``~/.cache/guichet``; it is made 0700 and entries 0600,
and an entry is read only when it belongs to this user and nobody else may write it (a
pickle runs code when read). Everything here is best effort: an unreadable, corrupt or
unwritable cache means building the value again, never an error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def directory() -> Path:
    if explicit := os.environ.get("GUICHET_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guichet"


def key(*parts: bytes) -> str:
    digest = hashlib.sha256(sys.version.encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:32]


def load(kind: str, entry: str, expected: type[T]) -> T | None:
    """The value stored under ``entry``, or None (missing, not ours, corrupt, other type)."""
    path = directory() / kind / f"{entry}.pickle"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o022:
                return None
            if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
                return None
            value = pickle.load(f)
    except Exception:  # noqa: BLE001 - a corrupt entry is a miss
        return None
    return value if isinstance(value, expected) else None


def store(kind: str, entry: str, value: object) -> None:
    """Keep ``value`` under ``entry`` (atomically; silently skipped when impossible)."""
    folder = directory() / kind
    temporary = folder / f".{entry}.{os.getpid()}.tmp"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, folder / f"{entry}.pickle")
    except Exception:  # noqa: BLE001 - an unwritable cache only costs time
        try:
            temporary.unlink()
        except OSError:
            pass
