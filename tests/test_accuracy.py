"""The reader judged on dossiers from the independent generator (tests/fixtures/mutate.py).

A small seeded corpus (80 .docx, 12 of them also as PDF when LibreOffice is there): the
generator's truth must be self-consistent, and the reader must keep its guarantees: no
complete dossier judged incomplete, no confident wrong value on dates, enterprise numbers,
numbers and scores, no blank field said unread, and at least 99.5% of the values right. `python -m bench accuracy` is the
same measure on 500 dossiers, with figures by kind of edit.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bench.accuracy import GUARANTEED_TYPES, Outcome, errors, evaluate, tally
from tests.fixtures import mutate

N, SEED, PDFS = 80, 20260914, 12


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    share = PDFS / N if shutil.which("soffice") else 0.0
    return mutate.write_corpus(tmp_path_factory.mktemp("accuracy"), N, SEED, share)


@pytest.fixture(scope="module")
def outcomes(files: list[Path]) -> list[Outcome]:
    return evaluate(files)


def _show(found: list[dict]) -> str:
    return "\n".join(f"{e['file']} {e['key']}: truth {e['truth']!r}, got {e['got']!r} ({e['state']}) "
                     f"edits {e.get('field_edits') or e['edits']}" for e in found[:15])


def test_generator_is_deterministic() -> None:
    first, again = mutate.generate(SEED, 3), mutate.generate(SEED, 3)
    assert first.data == again.data and first.fields == again.fields and first.edits == again.edits
    assert mutate.generate(SEED, 4).fields != first.fields


def test_truth_is_self_consistent(files: list[Path]) -> None:
    assert sum(p.suffix == ".docx" for p in files) == N
    if shutil.which("soffice"):
        assert sum(p.suffix == ".pdf" for p in files) == PDFS
    for path in files:
        truth = mutate.read_truth(path)
        fields = truth["fields"]
        assert list(fields) == mutate.KEYS, path.name
        assert truth["missing"] == [k for k in mutate.REQUIRED if fields[k] is None], path.name
        assert truth["edits"] and all(isinstance(e, str) for e in truth["edits"]), path.name
        if fields["entreprise.numero"] is not None:
            assert mutate.valid_enterprise_number(fields["entreprise.numero"]), path.name
        for key in ("entreprise.date_creation", "referent.date_naissance", "signature.date"):
            assert fields[key] is None or re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", fields[key]), (path.name, key)
        for key in (k for k in mutate.KEYS if mutate.FIELD_TYPES[k] == "score"):
            assert fields[key] is None or (type(fields[key]) is int and 1 <= fields[key] <= 10), (path.name, key)
        assert fields["referent.niveau_etudes"] in (None, *mutate.NIVEAUX), path.name
        assert fields["referent.telephone"] is None or re.fullmatch(r"\+32\d{8,9}", fields["referent.telephone"])
        assert fields["referent.email"] is None or fields["referent.email"] == fields["referent.email"].lower()
        if fields["entreprise.accompagnement"] is not True:
            assert fields["entreprise.accompagnement_detail"] is None, path.name
        for key in ("entreprise.agrement", "entreprise.accompagnement"):
            assert fields[key] in (None, True, False), (path.name, key)
        for value in fields.values():
            assert value not in mutate.PLACEHOLDERS, path.name


def test_corpus_has_incomplete_and_complete_dossiers(files: list[Path]) -> None:
    missing = [bool(mutate.read_truth(p)["missing"]) for p in files if p.suffix == ".docx"]
    assert 0 < sum(missing) < len(missing)


def test_no_complete_dossier_judged_incomplete(outcomes: list[Outcome]) -> None:
    wrong = [o for o in outcomes if o.complete_judged_incomplete]
    found = [e for e in errors(wrong) if e["key"] != "(status)" and e["got"] is None]
    assert not wrong, f"{len(wrong)} complete dossier(s) judged incomplete:\n{_show(found)}"


def test_no_confident_wrong_value_on_dates_numbers_and_scores(outcomes: list[Outcome]) -> None:
    found = [e for e in errors(outcomes) if e.get("type") in GUARANTEED_TYPES and e["got"] is not None]
    assert not found, f"{len(found)} confident wrong value(s):\n{_show(found)}"


def test_field_accuracy_at_least_99_5_percent(outcomes: list[Outcome]) -> None:
    t = tally(outcomes)
    found = [e for e in errors(outcomes) if e["key"] != "(status)"]
    assert t.accuracy >= 0.995, f"field accuracy {t.accuracy:.4f} ({t.right}/{t.values}):\n{_show(found)}"


def test_no_unread_field_whose_truth_is_blank(outcomes: list[Outcome]) -> None:
    found = [e for e in errors(outcomes) if e.get("state") == "unread" and e["truth"] is None]
    assert not found, f"{len(found)} blank field(s) said unread:\n{_show(found)}"
