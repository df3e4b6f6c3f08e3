"""`guichet parse`: one French line and a distinct exit code for every kind of bad input."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from guichet.cli import main
from guichet.errors import (
    EncryptedDocument,
    ScannedDocument,
    UnknownForm,
    UnreadableDocument,
    UnsupportedFormat,
)
from tests.samples import SAMPLES, truth_of
from tests.wordml import docx_bytes, p

P001 = SAMPLES / "dossiers" / "p001.docx"
P001_PDF = SAMPLES / "dossiers" / "p001.pdf"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_french_line(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("guichet : ")
    assert "Traceback" not in err


def encrypted_pdf(source: Path) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def blank_pdf(pages: int = 3) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_json_output_has_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["parse", str(P001), "--json"], capsys)
    record = json.loads(out)
    assert code == 0
    assert set(record) == {"programme", "fields", "missing", "unread", "warnings"}
    assert list(record["fields"]) == list(truth_of(P001)["fields"])


def test_readable_summary_names_fields_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["parse", str(P001)], capsys)
    assert code == 0
    assert "Nom l’entreprise" in out and "ASBL Crèche Arc-en-Ciel Coop" in out
    assert "Rien ne manque." in out


@pytest.mark.parametrize(
    ("make", "name", "error"),
    [
        (lambda: encrypted_pdf(P001_PDF), "dossier.pdf", EncryptedDocument),
        (lambda: blank_pdf(), "scan.pdf", ScannedDocument),
        (lambda: b"\x00\x01garbage" * 100, "dossier.docx", UnsupportedFormat),
        (lambda: b"%PDF-1.4\n garbage that is not a pdf", "broken.pdf", UnreadableDocument),
        (lambda: docx_bytes(p("Facture n° 12") + p("Montant : 300 €")), "facture.docx", UnknownForm),
        (lambda: b"GIF89a" + b"\x00" * 50, "photo.gif", UnsupportedFormat),
    ],
    ids=["encrypted", "scanned", "garbage", "broken-pdf", "not-a-dossier", "image"],
)
def test_bad_input_gets_one_line_and_its_exit_code(
    make, name: str, error: type, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(make())
    code, out, err = run(["parse", str(path), "--json"], capsys)
    assert code == error.exit_code
    assert out == ""
    assert_one_french_line(err)


def test_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["parse", str(tmp_path / "absent.docx")], capsys)
    assert code == UnreadableDocument.exit_code
    assert_one_french_line(err)


def test_exit_codes_are_distinct() -> None:
    codes = [e.exit_code for e in (UnreadableDocument, EncryptedDocument, ScannedDocument, UnsupportedFormat, UnknownForm)]
    assert len(set(codes)) == len(codes) and 0 not in codes


def test_forced_programme_that_does_not_fit_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["parse", str(P001), "--programme", "reves-2017"], capsys)
    assert code == UnknownForm.exit_code
    assert "RÊVES" in err


def test_docm_is_read_without_conversion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import zipfile

    source = zipfile.ZipFile(P001)
    target = tmp_path / "dossier.docm"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
                )
            out.writestr(item, data)
    code, out_text, _ = run(["parse", str(target), "--json"], capsys)
    assert code == 0
    assert json.loads(out_text)["fields"]["entreprise.nom"] == "ASBL Crèche Arc-en-Ciel Coop"


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
@pytest.mark.parametrize("target", ["odt", "doc"])
def test_legacy_formats_are_converted(target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
         "--outdir", str(tmp_path), str(P001)],
        check=True, capture_output=True, timeout=180,
    )
    converted = tmp_path / f"p001.{target}"
    code, out, _ = run(["parse", str(converted), "--json"], capsys)
    assert code == 0
    record = json.loads(out)
    truth = truth_of(P001)["fields"]
    same = sum(record["fields"][k] == v for k, v in truth.items())
    assert same >= len(truth) - 1, record
    assert any("converti" in w for w in record["warnings"])


def test_explain_says_for_each_field_its_state_raw_text_and_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.filled_form import FilledForm

    form = FilledForm()
    form.replace("Date de création", "Date de création : le lendemain de la fête")
    form.replace("Site internet", "Site internet (si existant): -")
    path = form.write(tmp_path / "dossier.docx")
    code, out, _ = run(["parse", str(path), "--explain", "--json"], capsys)
    assert code == 0
    record = json.loads(out)
    assert record["unread"] == ["entreprise.date_creation"] and record["missing"] == []
    date = record["explain"]["entreprise.date_creation"]
    assert date["state"] == "unread" and date["value"] is None
    assert "lendemain" in date["raw"] and date["where"].startswith("paragraphe")
    assert date["reader"] in ("alignment", "labels")
    assert record["explain"]["entreprise.site_web"]["state"] == "blank"
    assert record["explain"]["entreprise.nom"] == {
        "value": "Coop Les Tartines", "state": "filled", "raw": "Coop Les Tartines",
        "where": record["explain"]["entreprise.nom"]["where"], "how": "aligned", "reader": "alignment",
    }  # fmt: skip

    monkeypatch.setenv("COLUMNS", "250")  # one line per row: the words are not folded
    code, out, _ = run(["parse", str(path), "--explain"], capsys)
    assert code == 0
    assert "à vérifier" in out and "lendemain" in out and "Coop Les Tartines" in out
