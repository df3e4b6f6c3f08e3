"""A filed season for the desk's tests: ten applications (``tests.stores.file_varied``),
filed once per test session and copied into each test's folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import sqlite_settings
from tests.stores import file_varied
from triage.store import Store, open_store

_filed: dict[str, Path] = {}


def filed_copy(template_root: Path, target: Path, checker: object) -> Store:
    """A store in ``target`` holding the varied season (filed once under ``template_root``)."""
    if "varied" not in _filed:
        with open_store(sqlite_settings(template_root)) as store:
            file_varied(store, checker)  # type: ignore[arg-type]
        _filed["varied"] = template_root / "var"
    shutil.copytree(_filed["varied"], target / "var")
    return open_store(sqlite_settings(target))
