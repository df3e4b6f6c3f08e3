"""The validated programmes kept in the cache (config.cache): read back while the YAML and
the model are unchanged, built again otherwise, and never a cause of failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from config import cache
from config.programme import PROGRAMMES_DIR, Programme, load_programme_file


@pytest.fixture()
def programme_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GUICHET_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "programmes"
    folder.mkdir()
    for name in ("blossom-2026.yaml", "blossom-2026.docx"):
        shutil.copy(PROGRAMMES_DIR / name, folder / name)
    return folder / "blossom-2026.yaml"


def entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "programmes").glob("*.pickle"))


def test_a_programme_is_read_back_from_the_cache(programme_file: Path, tmp_path: Path) -> None:
    first = load_programme_file(programme_file)
    (entry,) = entries(tmp_path)
    assert entry.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cache" / "programmes").stat().st_mode & 0o777 == 0o700
    again = load_programme_file(programme_file)
    assert again == first and again is not first
    assert again.field_keys() == first.field_keys()
    assert again.deadline_at == first.deadline_at


def test_a_changed_yaml_is_validated_again(programme_file: Path, tmp_path: Path) -> None:
    load_programme_file(programme_file)
    text = programme_file.read_text(encoding="utf-8")
    assert "name: " in text
    programme_file.write_text(text.replace("name: ", "name: Nouveau ", 1), encoding="utf-8")
    assert load_programme_file(programme_file).name.startswith("Nouveau ")
    assert len(entries(tmp_path)) == 2


def test_a_corrupt_or_foreign_entry_is_ignored(programme_file: Path, tmp_path: Path) -> None:
    expected = load_programme_file(programme_file)
    (entry,) = entries(tmp_path)
    entry.write_bytes(b"not a pickle")
    assert load_programme_file(programme_file) == expected
    (entry,) = entries(tmp_path)
    os.chmod(entry, 0o666)  # anyone may write it: never unpickled
    assert cache.load("programmes", entry.stem, Programme) is None
    assert load_programme_file(programme_file) == expected


def test_an_unwritable_cache_only_costs_time(
    programme_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("GUICHET_CACHE_DIR", str(blocker / "cache"))  # cannot be a folder
    assert load_programme_file(programme_file).id == "blossom-2026"


def test_a_missing_blank_form_is_still_reported_with_a_cached_programme(
    programme_file: Path,
) -> None:
    from guichet.errors import ConfigError

    load_programme_file(programme_file)
    (programme_file.parent / "blossom-2026.docx").unlink()
    with pytest.raises(ConfigError, match="blank_form.*introuvable"):
        load_programme_file(programme_file)
