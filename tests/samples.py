"""Where the shared samples live, and how expected values are compared."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GUICHET_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "samples"
FIXTURES = ROOT / "tests" / "fixtures"


def truth_of(path: Path) -> dict[str, Any]:
    return json.loads(Path(f"{path}.truth.json").read_text(encoding="utf-8"))


def comparable(value: Any) -> Any:
    """Values as the samples' README compares them: whitespace and Unicode form aside."""
    if isinstance(value, str):
        return re.sub(r"\s+", " ", unicodedata.normalize("NFC", value)).strip()
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def files_with_truth(folder: Path, *suffixes: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in suffixes and Path(f"{p}.truth.json").exists())
