"""The shared sample mails give their expected verdicts through `guichet check --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guichet.cli import main
from tests.samples import SAMPLES, comparable, files_with_truth, truth_of

EMAILS = files_with_truth(SAMPLES / "emails", ".eml")
KEYS = (
    "status", "structure", "missing", "unread", "annexes", "bilans_years", "fields", "warnings",
    "damaged", "not_read",
)


def check_json(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["check", str(path), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_samples_are_there() -> None:
    assert len(EMAILS) >= 5, f"no sample mails in {SAMPLES / 'emails'}"


@pytest.mark.parametrize("path", EMAILS, ids=lambda p: p.name)
def test_sample(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = truth_of(path)
    result = check_json(path, capsys, "--received", truth["received"])
    assert tuple(result) == KEYS
    assert result["status"] == truth["status"]
    expected = truth["structure"]
    assert comparable(result["structure"] or "").casefold() == comparable(expected or "").casefold()
    assert (result["structure"] is None) == (expected is None)
    assert result["missing"] == truth["missing"]
    assert result["bilans_years"] == truth["bilans_years"]
    meta = truth.get("meta", {})
    if "dossier_fields" in meta:
        assert comparable(list(result["fields"].values())) == comparable(
            list(meta["dossier_fields"].values())
        )
    for key, names in meta.get("annexes", {}).items():
        assert sorted(result["annexes"][key]) == sorted(names)


def test_received_defaults_to_the_newest_received_header(
    capsys: pytest.CaptureFixture[str],
) -> None:
    late = SAMPLES / "emails" / "pe003.eml"  # Received: 10:00:01 Brussels, Date: 09:58:30
    result = check_json(late, capsys)
    assert result["status"] == "hors_delai"
    assert any("en-tête Received" in w for w in result["warnings"])
