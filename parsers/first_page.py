"""The text at the start of a document, to recognise what it is (annexes).

PDFs go through ``parsers.pdf_reader.pdf_first_page_text`` (isolated in a child process);
Word and OpenDocument files are read from their XML without python-docx (only the
first characters matter); plain text is decoded. Never raises: "" when unreadable.
"""

from __future__ import annotations

import io
import lzma
import re
import zipfile
import zlib
from dataclasses import replace
from html import unescape

from parsers.mail_headers import decode_bytes

MAX_XML_BYTES = 5 * 1024 * 1024  # the main XML part read to find the first characters
_PARAGRAPH_END = re.compile(r"</(?:w:p|text:p|text:h)>")
_TAG = re.compile(r"<[^>]+>")
_XML_PARTS = {"docx": "word/document.xml", "docm": "word/document.xml", "odt": "content.xml"}


def first_page_text(
    data: bytes, kind: str, max_chars: int = 4000, *, seconds: float | None = None
) -> str:
    """``seconds`` shortens the PDF reader's time cap (what is left of a mail's budget)."""
    if kind == "pdf":
        from parsers.pdf_reader import FIRST_PAGE_LIMITS, pdf_first_page_text

        limits = FIRST_PAGE_LIMITS
        if seconds is not None and seconds < limits.seconds:
            limits = replace(limits, seconds=max(1.0, seconds))
        return pdf_first_page_text(data, max_chars, limits=limits)
    if kind in _XML_PARTS:
        return _package_text(data, _XML_PARTS[kind], max_chars)
    if kind == "text":
        return decode_bytes(data[: max_chars * 4], None)[:max_chars]
    return ""


def _package_text(data: bytes, part: str, max_chars: int) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            info = zf.getinfo(part)
            if info.file_size > MAX_XML_BYTES:
                return ""
            with zf.open(info) as stream:
                xml = stream.read(MAX_XML_BYTES).decode("utf-8", "replace")
    except (
        zipfile.BadZipFile,
        KeyError,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
        RuntimeError,  # a part needing a password
        zlib.error,  # a damaged deflate stream
        lzma.LZMAError,
    ):
        return ""
    body = xml.split("<w:body>", 1)[-1] if "<w:body>" in xml else xml
    body = re.sub(r"<w:del\b.*?</w:del>", "", body, flags=re.DOTALL)  # deleted text
    body = re.sub(r"<w:tab\b[^>]*/>", " ", re.sub(r"<w:br\b[^>]*/>", "\n", body))
    text = _TAG.sub("", _PARAGRAPH_END.sub("\n", body))
    lines = (line.strip() for line in unescape(text).splitlines())
    return "\n".join(line for line in lines if line)[:max_chars]
