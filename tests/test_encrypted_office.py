"""A password-protected Word file (issue #11, point 6) is known by its content: an
encrypted .docx is an OLE2 compound file holding ``EncryptionInfo`` and
``EncryptedPackage``, an encrypted .doc sets a flag in its ``WordDocument`` stream. It
exits 5 « chiffré », and LibreOffice is never started for it."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from guichet.cli import main
from guichet.errors import EncryptedDocument
from parsers import convert
from parsers.dossier import parse_dossier
from parsers.sniff import encrypted_office, sniff
from tests.fixtures.build_emails import file_part, multipart, text_docx, text_part
from tests.fixtures.compound import compound_file, encrypted_docx, word97
from triage.check import check_message

RECEIVED = dt.datetime(2026, 9, 10, 8, 0, tzinfo=dt.UTC)
HEAD = (
    "From: a@asbl.be\nTo: matthias@coopcity.be\n"
    "Subject: Dossier de candidature – COOPCITY 2026 – ASBL Verrou\n"
    "Date: Thu, 10 Sep 2026 10:00:00 +0200\nMIME-Version: 1.0\n"
)


@pytest.fixture
def no_libreoffice(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Fail the test if anything tries to start a process (LibreOffice)."""
    started: list[list[str]] = []

    def refuse(command, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        started.append(list(command))
        raise AssertionError(f"a process was started: {command}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(convert.subprocess, "Popen", refuse)
    return started


def test_encrypted_packages_and_documents_are_told_from_plain_ones() -> None:
    assert encrypted_office(encrypted_docx())
    assert encrypted_office(word97(encrypted=True))
    assert not encrypted_office(word97(encrypted=False))
    assert not encrypted_office(compound_file({"Workbook": b"\x09\x08" + bytes(100)}))
    assert not encrypted_office(text_docx(["Bonjour"]))
    assert not encrypted_office(b"%PDF-1.4")
    assert not encrypted_office(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))  # damaged
    assert sniff(encrypted_docx(), "dossier.docx") == "ole2"  # an Office file all the same


@pytest.mark.parametrize("name", ["dossier.docx", "dossier.doc", "dossier"])
@pytest.mark.parametrize("data", [encrypted_docx, lambda: word97(encrypted=True)])
def test_parse_exits_5_chiffre_without_starting_libreoffice(
    name: str,
    data,  # noqa: ANN001
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_libreoffice: list[list[str]],
) -> None:
    path = tmp_path / name
    path.write_bytes(data())
    assert main(["parse", str(path)]) == 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("guichet : ")
    assert "chiffré" in err and ".doc" not in err and "onversion" not in err
    assert no_libreoffice == []


def test_the_parser_raises_encrypted_document(no_libreoffice: list[list[str]]) -> None:
    with pytest.raises(EncryptedDocument, match="chiffré"):
        parse_dossier(encrypted_docx(), "dossier.docx")
    with pytest.raises(EncryptedDocument):
        convert.convert_to_docx(encrypted_docx(), ".doc")


def test_an_encrypted_dossier_in_a_mail_is_reported_as_such(
    no_libreoffice: list[list[str]],
) -> None:
    parts = [
        text_part("Bonjour"),
        file_part("Dossier ASBL Verrou.docx", encrypted_docx()),
    ]
    raw = (HEAD + multipart("mixed", "b", parts)).encode()
    result = check_message(raw, RECEIVED, "blossom-2026").to_json()
    assert "dossier" in result["missing"]
    assert any(
        "Dossier ASBL Verrou.docx" in w and "chiffré" in w for w in result["warnings"]
    ), result["warnings"]
    assert no_libreoffice == []
