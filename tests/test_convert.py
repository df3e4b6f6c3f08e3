"""parsers.convert: legacy word-processor files to .docx with LibreOffice."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import docx
import pytest

from config.programme import load_programme
from guichet.errors import UnreadableDocument, UnsupportedFormat
from parsers.convert import convert_to_docx, libreoffice_available

BLANK_FORM = load_programme("blossom-2026").blank_form_path
LABELS = [
    "Nom l’entreprise:",
    "Forme juridique:",
    "Numéro d’entreprise:",
    "E-mail professionnel:",
    "E. Autodiagnostic",
]
# suffix -> LibreOffice's --convert-to target that writes it
LEGACY = {
    ".odt": "odt",
    ".doc": "doc",
    ".rtf": "rtf",
    ".docm": "docm:MS Word 2007 XML VBA",
    ".dotx": "dotx:MS Word 2007 XML Template",
}

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)


@pytest.fixture(scope="module")
def legacy_forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The blank BLOSSOM form, saved by LibreOffice itself in each legacy format."""
    folder = tmp_path_factory.mktemp("legacy")
    shutil.copy(BLANK_FORM, folder / "form.docx")
    for target in LEGACY.values():
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                target,
                "--outdir",
                str(folder),
                str(folder / "form.docx"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return {suffix: (folder / f"form{suffix}").read_bytes() for suffix in LEGACY}


def texts_of(data: bytes) -> list[str]:
    """The paragraphs, then the table cells, of a .docx."""
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return [p.text for p in document.paragraphs] + cells


@pytest.mark.libreoffice
@pytest.mark.slow
@needs_soffice
@pytest.mark.parametrize("suffix", list(LEGACY))
def test_a_legacy_form_comes_back_with_its_labels_and_tables(
    suffix: str, legacy_forms: dict[str, bytes]
) -> None:
    texts = texts_of(convert_to_docx(legacy_forms[suffix], suffix))
    for label in LABELS:
        assert any(label in text for text in texts), label
    assert any(
        text.startswith("Nos discussions, débats") for text in texts
    )  # an autodiagnostic cell
    assert "Nom, prénom" in texts  # a signature cell


@pytest.mark.libreoffice
@pytest.mark.slow
@needs_soffice
def test_the_suffix_may_come_in_any_case_and_without_its_dot(
    legacy_forms: dict[str, bytes],
) -> None:
    assert texts_of(convert_to_docx(legacy_forms[".odt"], "ODT"))


@pytest.mark.libreoffice
@needs_soffice
def test_a_conversion_that_overruns_is_killed(
    legacy_forms: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # to find our soffice processes
    started = time.monotonic()
    with pytest.raises(
        UnreadableDocument, match=r"Conversion du fichier \.doc abandonnée après 0.2 s"
    ):
        convert_to_docx(legacy_forms[".doc"], ".doc", timeout=0.2)
    assert time.monotonic() - started < 10
    leftover = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], check=False, capture_output=True, text=True
    ).stdout
    assert leftover == ""


@pytest.mark.libreoffice
@needs_soffice
def test_a_damaged_file_cannot_be_converted() -> None:
    with pytest.raises(
        UnreadableDocument, match=r"Conversion du fichier \.doc en \.docx impossible"
    ):
        convert_to_docx(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), ".doc")


def test_random_bytes_are_not_a_document() -> None:
    with pytest.raises(UnreadableDocument, match=r"Le fichier \.doc n’est pas un document"):
        convert_to_docx(b"Bonjour, voici notre dossier en pi\xe8ce jointe.", ".doc")


def test_a_suffix_that_is_not_a_word_processor_format_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormat, match=r"Format \.pages non pris en charge : merci"):
        convert_to_docx(b"PK\x03\x04", ".pages")


def test_without_libreoffice_the_sender_is_asked_for_a_docx_or_a_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert not libreoffice_available()
    with pytest.raises(UnsupportedFormat) as caught:
        convert_to_docx(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".doc")
    assert caught.value.message == (
        "Format .doc non pris en charge sans LibreOffice : merci d’envoyer le dossier en .docx ou en PDF."
    )
