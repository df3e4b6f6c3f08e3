"""Every public sample and every generated fixture parses to its expected record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guichet.cli import main
from tests.samples import FIXTURES, SAMPLES, comparable, files_with_truth, truth_of

DOSSIERS = files_with_truth(SAMPLES / "dossiers", ".docx", ".pdf") + files_with_truth(SAMPLES / "reves", ".docx")
GENERATED = files_with_truth(FIXTURES / "dossiers", ".docx", ".pdf") + files_with_truth(FIXTURES / "reves", ".docx", ".pdf")


def parse_json(path: Path, programme: str, capsys: pytest.CaptureFixture[str]) -> dict:
    code = main(["parse", str(path), "--json", "--programme", programme])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def assert_record(path: Path, got: dict) -> None:
    truth = truth_of(path)
    assert got["programme"] == truth["programme"]
    assert list(got["fields"]) == list(truth["fields"]) or set(got["fields"]) == set(truth["fields"])
    wrong = {
        key: (got["fields"].get(key), expected)
        for key, expected in truth["fields"].items()
        if comparable(got["fields"].get(key)) != comparable(expected)
    }
    assert not wrong, f"{path.name}: {len(wrong)} field(s) wrong: {wrong}"
    assert sorted(got["missing"]) == sorted(truth["missing"])
    if "unread" in truth:  # the public samples predate the unread state
        assert sorted(got["unread"]) == sorted(truth["unread"])
    assert isinstance(got["warnings"], list)


@pytest.mark.parametrize("path", DOSSIERS, ids=lambda p: p.name)
def test_public_sample_parses_to_its_truth(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_record(path, parse_json(path, truth_of(path)["programme"], capsys))


# Known gaps, kept visible: xfail is strict, so a fix makes the suite say so.
KNOWN_GAPS = {
    "g40-textbox-ouinon-untouched.pdf": "PDF signature block with one answer inline and one on the next line: "
    "the reader does not split 'Fonction: X Fonction : Y' into two columns",
}


def _with_known_gaps(paths: list[Path]) -> list:
    return [
        pytest.param(p, marks=pytest.mark.xfail(reason=KNOWN_GAPS[p.name], strict=True)) if p.name in KNOWN_GAPS else p
        for p in paths
    ]


@pytest.mark.parametrize("path", _with_known_gaps(GENERATED), ids=lambda p: p.name)
def test_generated_fixture_parses_to_its_truth(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_record(path, parse_json(path, truth_of(path)["programme"], capsys))


@pytest.mark.parametrize("path", DOSSIERS, ids=lambda p: p.name)
def test_programme_is_recognised_from_content(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    renamed = tmp_path / ("document" + path.suffix)
    renamed.write_bytes(path.read_bytes())
    assert main(["parse", str(renamed), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["programme"] == truth_of(path)["programme"]
