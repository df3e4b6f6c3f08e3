"""Mails in the shapes real clients give them (tests/fixtures/emails, see build_emails.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.samples import FIXTURES, files_with_truth, truth_of
from triage.check import check_message

EMAILS = files_with_truth(FIXTURES / "emails", ".eml")


def received_of(truth: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(truth["received"])


def test_fixtures_are_there() -> None:
    assert len(EMAILS) >= 20


@pytest.mark.parametrize("path", EMAILS, ids=lambda p: p.stem)
def test_fixture(path: Path) -> None:
    truth = truth_of(path)
    result = check_message(path.read_bytes(), received_of(truth)).to_json()
    assert result["status"] == truth["status"]
    assert (result["structure"] or "").casefold() == (truth["structure"] or "").casefold()
    assert result["missing"] == truth["missing"]
    assert result["bilans_years"] == truth["bilans_years"]
    if "unread" in truth["meta"]:
        assert result["unread"] == truth["meta"]["unread"]
    for name in truth["meta"].get("autres", []):
        assert name in result["annexes"]["autres"]
    for words in truth["meta"].get("warnings", []):
        assert any(words in w for w in result["warnings"]), words


def test_the_docx_is_preferred_and_said_so() -> None:
    path = FIXTURES / "emails" / "docx_and_pdf_export.eml"
    result = check_message(path.read_bytes(), received_of(truth_of(path)))
    assert result.verdict.dossier.filename == "Dossier Rayon Solidaire.docx"
    assert any("Word et en PDF" in w for w in result.verdict.warnings)


def test_the_message_facts_are_kept() -> None:
    path = FIXTURES / "emails" / "forwarded_rfc822.eml"
    result = check_message(path.read_bytes(), received_of(truth_of(path)))
    assert result.message.reply_to == "omar@crechearcencielcoop.org"
    assert result.message.sender == "julie@coopcity.be"
    assert result.message.message_id == "<fwd-0001@coopcity.be>"


def test_the_builder_is_deterministic_and_up_to_date(tmp_path: Path) -> None:
    from tests.fixtures.build_emails import build

    for built in build(tmp_path):
        kept = FIXTURES / "emails" / built.name
        assert built.read_bytes() == kept.read_bytes(), (
            f"{built.name}: run tests/fixtures/build_emails.py"
        )
        assert Path(f"{built}.truth.json").read_bytes() == Path(f"{kept}.truth.json").read_bytes()


def test_an_unread_required_answer_is_complete_and_to_check() -> None:
    path = FIXTURES / "emails" / "unread_creation_date.eml"
    result = check_message(path.read_bytes(), received_of(truth_of(path)))
    verdict = result.verdict
    assert verdict.status == "complet" and verdict.missing == []
    assert verdict.unread_required == ["entreprise.date_creation"] and verdict.needs_check
    assert verdict.dossier is not None
    assert verdict.dossier.unread_raw == {"entreprise.date_creation": "le lendemain de notre AG"}
    as_json = result.to_json()
    assert list(as_json)[:4] == ["status", "structure", "missing", "unread"]
    assert as_json["unread"] == ["entreprise.date_creation"]
    assert any("« le lendemain de notre AG »" in w for w in as_json["warnings"])
    # no date, so no age warning computed from a wrong one
    assert not any("moins de 2 ans" in w for w in as_json["warnings"])
