"""113 real-world mails (imap_tools' test suite): read without exception, none an application."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from parsers.message import read_message
from tests.samples import CORPORA
from triage.check import check_message

CORPUS = CORPORA / "imap-tools-messages"
MAILS = sorted(CORPUS.glob("*.eml"))
RECEIVED = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


def test_the_corpus_is_there() -> None:
    assert len(MAILS) == 113, f"expected 113 mails in {CORPUS}"


@pytest.mark.parametrize("path", MAILS, ids=lambda p: p.stem)
def test_read_and_classified_as_non_application(path: Path) -> None:
    raw = path.read_bytes()
    message = read_message(raw)
    assert isinstance(message.subject, str) and isinstance(message.body, str)
    result = check_message(raw, RECEIVED, "blossom-2026").to_json()
    assert result["status"] in ("automatique", "non_candidature")
    assert result["structure"] is None and result["missing"] == [] and result["fields"] == {}


def test_known_shapes_of_the_corpus() -> None:
    def read(name: str):
        return read_message((CORPUS / name).read_bytes())

    assert [a.filename for a in read("attachment_with_unquoted_name.eml").attachments] == [
        "This is a test.txt"
    ]
    assert [a.filename for a in read("japanese_attachment.eml").attachments] == ["てすと.txt"]
    assert read("invalid_subject_characters.eml").subject.startswith("Formação")
    assert read("example13.eml").sender == "jdoe@machine.example"
    assert [a.kind for a in read("attachment_pdf.eml").attachments] == ["pdf"]
    assert read("multipart_report_multiple_status.eml").content_type == "multipart/report"
