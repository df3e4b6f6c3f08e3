"""Legacy files of one mail are converted in one LibreOffice run, with a private profile
and a memory cap (issue #11, point 4)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from config.programme import load_programme
from guichet.errors import GuichetError, UnreadableDocument
from parsers import convert
from parsers.convert import convert_many, libreoffice_available

needs_soffice = pytest.mark.skipif(not libreoffice_available(), reason="LibreOffice absent")
BLANK_FORM = load_programme("blossom-2026").blank_form_path


@pytest.fixture(scope="module")
def legacy_doc(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("legacy-batch")
    shutil.copy(BLANK_FORM, folder / "form.docx")
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
         "--convert-to", "doc:MS Word 97", "--outdir", str(folder), str(folder / "form.docx")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return (folder / "form.doc").read_bytes()


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The commands LibreOffice is started with."""
    started: list[list[str]] = []
    real = subprocess.Popen

    def popen(command, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        started.append([str(c) for c in command])
        return real(command, *args, **kwargs)

    monkeypatch.setattr(convert.subprocess, "Popen", popen)
    return started


@pytest.mark.libreoffice
@needs_soffice
def test_three_files_one_run_private_profile_memory_cap(
    legacy_doc: bytes, launches: list[list[str]]
) -> None:
    outcomes = convert_many(
        [(legacy_doc, ".doc"), (b"pas un document", ".doc"), (legacy_doc, "DOC")]
    )
    assert len(launches) == 1
    command = launches[0]
    assert command[3] == str(convert.MEMORY_BYTES)  # the cap, set before soffice starts
    profile = next(c for c in command if c.startswith("-env:UserInstallation=file://"))
    assert "guichet-convert-" in profile  # a private profile in the run's own folder
    assert sum(c.endswith(".doc") for c in command) == 2  # the refused file never reaches it
    first, refused, third = outcomes
    assert isinstance(first, bytes) and first.startswith(b"PK")
    assert isinstance(third, bytes) and third.startswith(b"PK")
    assert isinstance(refused, UnreadableDocument)


@pytest.mark.libreoffice
@needs_soffice
def test_a_run_over_its_memory_cap_fails_in_words(legacy_doc: bytes) -> None:
    (outcome,) = convert_many([(legacy_doc, ".doc")], memory_bytes=64 << 20)
    assert isinstance(outcome, UnreadableDocument)
    assert outcome.message.startswith("Conversion du fichier .doc")


@pytest.mark.libreoffice
@needs_soffice
def test_a_mail_with_several_doc_files_starts_libreoffice_once(
    legacy_doc: bytes, launches: list[list[str]]
) -> None:
    from tests.fixtures.build_emails import file_part, multipart, text_part
    from triage.check import check_message

    raw = (
        "From: a@asbl.be\nTo: info@coopcity.be\nMIME-Version: 1.0\n"
        "Subject: Dossier de candidature – COOPCITY 2026 – ASBL Ancienne\n"
        + multipart("mixed", "b", [text_part("Voici.")] + [
            file_part(f"document-{i}.doc", legacy_doc) for i in range(4)
        ])  # fmt: skip
    ).encode()
    result = check_message(raw, dt.datetime(2026, 9, 10, 8, tzinfo=dt.UTC), "blossom-2026")
    assert len([c for c in launches if any("soffice" in part for part in c)]) == 1
    assert result.verdict.dossier is not None  # the blank form, read once converted
    assert not result.verdict.not_read


def test_without_files_nothing_is_started(launches: list[list[str]]) -> None:
    assert convert_many([]) == [] and launches == []
    outcomes = convert_many([(b"\xd0\xcf\x11\xe0", ".pages")])
    assert isinstance(outcomes[0], GuichetError) and launches == []

