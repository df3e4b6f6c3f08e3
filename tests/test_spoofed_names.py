"""Spoofed file names (issue #11, point 2): bidirectional overrides and other format
characters are gone from every file name shown or stored, and only a document (PDF,
image, Office, text, by its content) counts as an annex, whatever its name says."""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from config.programme import load_programme
from notifications.wording import one_line
from parsers.archives import unpack_all
from parsers.message import Attachment, read_message
from parsers.safe_text import MAX_FILENAME, clean_filename, visible
from parsers.sniff import READABLE, sniff
from tests.fixtures.build_emails import (
    file_part,
    multipart,
    statuts,
    text_part,
    tnef_bytes,
    zip_bytes,
)
from triage.annexes import recognise_annex
from triage.check import check_message

BLOSSOM = load_programme("blossom-2026")
RECEIVED = dt.datetime(2026, 9, 10, 8, 0, tzinfo=dt.UTC)
HEAD = (
    "From: a@asbl.be\nTo: matthias@coopcity.be\n"
    "Subject: Dossier de candidature – COOPCITY 2026 – ASBL Miroir\n"
    "Date: Thu, 10 Sep 2026 10:00:00 +0200\nMIME-Version: 1.0\n"
)
# A Windows program: « MZ », the PE header's offset at 0x3C, « PE\0\0 » there.
EXE = b"MZ\x90\x00" + bytes(56) + struct.pack("<I", 64) + b"PE\x00\x00" + bytes(400)
RLO = "\u202e"
SPOOFED = f"statuts{RLO}fdp.exe"  # shows as « statutsexe.pdf »
INVISIBLE = ["\u202e", "\u202d", "\u202a", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b",
             "\u200e", "\u200f", "\u061c", "\ufeff", "\u00ad", "\U000e0041"]  # fmt: skip


def check(parts: list[str]) -> dict:
    raw = (HEAD + multipart("mixed", "b", [text_part("Bonjour"), *parts])).encode()
    return check_message(raw, RECEIVED, "blossom-2026").to_json()


@pytest.mark.parametrize("char", INVISIBLE)
def test_format_characters_leave_file_names(char: str) -> None:
    assert clean_filename(f"sta{char}tuts.pdf") == "statuts.pdf"
    assert visible(f"a{char}b") == "ab"
    assert one_line(f"a{char}b") == "ab"


def test_controls_and_separators_become_spaces_and_folders_go() -> None:
    assert clean_filename("C:\\Users\\x\\Bilan\t2024\u2028\x85.pdf") == "Bilan 2024 .pdf"
    assert clean_filename('"../../etc/statuts\x00.pdf"') == "statuts .pdf"
    assert clean_filename(f"{RLO}\u200b") == ""
    long = clean_filename("Statuts " + "très " * 100 + ".pdf")
    assert len(long) == MAX_FILENAME and long.endswith(".pdf")


@pytest.mark.parametrize("style", ["quoted", "rfc2231", "rfc2231-continued", "rfc2047"])
def test_a_mail_attachment_name_loses_its_override(style: str) -> None:
    raw = (HEAD + multipart("mixed", "b", [
        text_part("x"), file_part(SPOOFED, EXE, style=style, ctype="application/octet-stream"),
    ])).encode()  # fmt: skip
    (attachment,) = read_message(raw).attachments
    assert attachment.filename == "statutsfdp.exe"
    assert attachment.kind == "executable"


def test_names_in_archives_and_winmail_lose_their_override() -> None:
    zipped = Attachment("annexes.zip", zip_bytes([(f"dossier/{SPOOFED}", EXE)]), "zip")
    tnef = Attachment("winmail.dat", tnef_bytes([(SPOOFED, EXE)]), "tnef")
    out = unpack_all([zipped, tnef])
    assert [f.filename for f in out.files] == ["statutsfdp.exe", "statutsfdp.exe"]
    assert all(RLO not in w for w in out.warnings)


@pytest.mark.parametrize(
    "name", [SPOOFED, f"statuts {RLO}fdp.exe", "statuts.pdf", "Statuts.docx", "statuts.txt"]
)
def test_a_program_is_never_an_annex_whatever_its_name(name: str) -> None:
    result = check([file_part(name, EXE, style="rfc2231", ctype="application/pdf")])
    assert result["annexes"]["statuts"] == []
    assert "annexe.statuts" in result["missing"]
    (shown,) = result["annexes"]["autres"]
    assert RLO not in shown
    assert any("est un programme, pas un document" in w for w in result["warnings"])


def test_bytes_that_are_no_document_are_not_an_annex_but_a_real_one_is() -> None:
    junk = bytes(range(256)) * 4
    result = check([
        file_part("Statuts.pdf", junk, ctype="application/pdf"),
        file_part("Statuts.txt", junk, ctype="text/plain"),
        file_part("CV Marie.pdf", statuts("ASBL Miroir"), ctype="application/pdf"),
    ])  # fmt: skip
    assert result["annexes"]["statuts"] == []
    assert result["annexes"]["cv"] == ["CV Marie.pdf"]
    assert sorted(result["annexes"]["autres"]) == ["Statuts.pdf", "Statuts.txt"]
    assert any("n'est pas le document que son nom annonce" in w for w in result["warnings"])


@pytest.mark.parametrize(
    ("kind", "counts"),
    [(kind, True) for kind in sorted(READABLE)]
    + [(kind, False) for kind in ("executable", "other", "zip", "rar", "7z", "tnef", "cab")],
)
def test_the_content_decides_which_files_can_be_annexes(kind: str, counts: bool) -> None:
    match = recognise_annex("Statuts coordonnés.pdf", None, BLOSSOM.annexes, kind=kind)
    assert match.keys == (("statuts",) if counts else ())


def test_without_a_kind_the_name_still_decides_and_overrides_are_ignored() -> None:
    assert recognise_annex("Statuts.pdf", None, BLOSSOM.annexes).keys == ("statuts",)
    assert recognise_annex(f"Sta{RLO}tuts.pdf", None, BLOSSOM.annexes).keys == ("statuts",)


def test_text_by_name_must_be_text_by_content() -> None:
    assert sniff("Statuts de l'ASBL, article 1".encode(), "statuts.txt") == "text"
    assert sniff("Statuts".encode("utf-16"), "statuts.txt") == "text"  # Notepad's « Unicode »
    assert sniff(b"\x00\x01\x02binary" * 20, "statuts.txt") == "other"
    assert sniff(b"<html>\x00\x00\x00", "statuts.html") == "other"
    assert sniff(EXE, "statuts.pdf") == "executable"
    assert sniff(b"MZ Consulting SPRL, statuts", "statuts.txt") == "text"
    assert sniff(b"\x7fELF\x02\x01\x01" + bytes(60), "cv.pdf") == "executable"
