"""parsers.dossier.read_form (issue #15): the reader's capped child reads the file and
fills the form; this process loads the normalisers meanwhile and gives the values
(``finish``), as the whole parse in one process does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guichet.errors import UnknownForm
from parsers.dossier import fill_document, finish, read_form
from parsers.pdf_reader import read_pdf
from parsers.word_reader import read_word
from tests.samples import SAMPLES
from tests.wordml import docx_bytes, p

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["p001.docx", "p001.pdf", "p002.docx"])
def test_the_child_fills_the_form_as_this_process_would(name: str) -> None:
    data = (SAMPLES / "dossiers" / name).read_bytes()
    reading = read_form(data, name)
    assert reading.programme_id == "blossom-2026" and reading.unknown is None
    assert reading.result is not None and reading.result.coverage > 0.9 and reading.aligned
    doc = read_pdf(data, isolated=False) if name.endswith(".pdf") else read_word(data, isolated=False)
    here = fill_document(doc)
    there = finish(reading)
    assert there.fields == here.fields and there.missing == here.missing
    assert there.warnings == here.warnings and there.readings == here.readings


def test_a_document_that_is_no_form_comes_back_with_its_text() -> None:
    """A mail's check keeps the first page of every document it read, form or not."""
    reading = read_form(docx_bytes(p("Facture n° 12") + p("Montant : 300 €")), "facture.docx")
    assert reading.programme_id is None and reading.result is None
    assert [b.text for b in reading.doc.blocks] == ["Facture n° 12", "Montant : 300 €"]
    with pytest.raises(UnknownForm, match="aucun programme"):
        finish(reading)


def test_the_reader_child_never_loads_the_normalisers_libraries() -> None:
    """What the child imports to read and fill leaves out email_validator, phonenumbers
    and python-stdnum; the package ``parsers.normalise`` loads them on first use."""
    probe = (
        "import json, sys\n"
        "import parsers.dossier, parsers.alignment, parsers.word_reader, parsers.pdf_reader\n"
        "before = sorted(m for m in ('email_validator', 'phonenumbers', 'stdnum') if m in sys.modules)\n"
        "from parsers import normalise\n"
        "value = normalise.parse_phone('0488 02 27 25').value\n"
        "after = sorted(m for m in ('email_validator', 'phonenumbers', 'stdnum') if m in sys.modules)\n"
        "print(json.dumps([before, value, after]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    before, value, after = json.loads(done.stdout)
    assert before == [] and value == "+32488022725" and after == ["email_validator", "phonenumbers", "stdnum"]
