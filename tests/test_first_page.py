"""The start of a document's text, for recognising annexes (parsers.first_page)."""

from __future__ import annotations

from parsers.first_page import first_page_text
from tests.fixtures.build_emails import text_docx, text_pdf


def test_word_document() -> None:
    assert (
        first_page_text(text_docx(["STATUTS", "Article 1 & 2"]), "docx") == "STATUTS\nArticle 1 & 2"
    )


def test_pdf_document() -> None:
    assert first_page_text(
        text_pdf(["Comptes annuels – exercice 2024", "Bilan"]), "pdf"
    ).startswith("Comptes annuels – exercice 2024")


def test_unreadable_gives_nothing() -> None:
    assert first_page_text(b"PK\x03\x04 broken", "docx") == ""
    assert first_page_text(b"%PDF-1.4 broken", "pdf") == ""
    assert first_page_text(b"\x89PNG", "png") == ""
    assert first_page_text(b"Curriculum vitae", "text") == "Curriculum vitae"
