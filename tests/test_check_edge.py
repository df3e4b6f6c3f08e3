"""Hostile or extreme mails end in a warning, never a crash or a memory blow-up."""

from __future__ import annotations

import datetime as dt
import io
import re
import resource
import struct
import zipfile

import pytest

from guichet.cli import main
from parsers import archives
from parsers.archives import unpack_all
from parsers.message import Attachment
from tests.fixtures.build_emails import (
    b64,
    file_part,
    multipart,
    text_part,
    tnef_bytes,
    zip_bytes,
)
from triage.check import check_message

RECEIVED = dt.datetime(2026, 9, 10, 8, 0, tzinfo=dt.UTC)
HEAD = (
    "From: a@asbl.be\nTo: matthias@coopcity.be\n"
    "Subject: Dossier de candidature – COOPCITY 2026 – ASBL Bombe\n"
    "Date: Thu, 10 Sep 2026 10:00:00 +0200\nMIME-Version: 1.0\n"
)


def bomb(size: int = 200 * 1024 * 1024) -> bytes:
    """A zip whose single member inflates from ~200 KB to ``size`` bytes of zeros."""
    out = io.BytesIO()
    info = zipfile.ZipInfo("zeros.pdf")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w") as zf, zf.open(info, "w", force_zip64=True) as member:
        chunk = bytes(1024 * 1024)
        for _ in range(size // len(chunk)):
            member.write(chunk)
    return out.getvalue()


def lying_bomb() -> bytes:
    """A member whose header declares 1 KB but that inflates to 50 MB."""
    data = bytearray(zip_bytes([("small.pdf", bytes(50 * 1024 * 1024))]))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (1024).to_bytes(4, "little")
    return bytes(data)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_zip_bomb_in_a_mail() -> None:
    data = bomb()
    assert len(data) < 1024 * 1024
    before = peak_rss_mb()
    raw = (
        HEAD + multipart("mixed", "b", [text_part("x"), file_part("annexes.zip", data)])
    ).encode()
    result = check_message(raw, RECEIVED, "blossom-2026").to_json()
    assert result["status"] == "incomplet" and "dossier" in result["missing"]
    assert any("bombe de décompression" in w for w in result["warnings"])
    assert peak_rss_mb() - before < 200  # never inflated in memory


def test_lying_sizes_never_inflate_past_the_declared_size() -> None:
    before = peak_rss_mb()
    out = unpack_all([Attachment("l.zip", lying_bomb(), "zip")])
    assert out.files == [] and "small.pdf" in out.warnings[0]
    assert peak_rss_mb() - before < 100


def test_nested_bomb_stops_at_the_depth_cap() -> None:
    layer = zip_bytes([("x.pdf", b"%PDF-1.4 tiny")])
    for depth in range(6):
        layer = zip_bytes([(f"layer{depth}-{i}.zip", layer) for i in range(4)])
    out = unpack_all([Attachment("42.zip", layer, "zip")])
    assert any("imbriquées" in w for w in out.warnings)
    assert len(out.files) <= 4**archives.MAX_DEPTH


def test_huge_attachment_is_read_without_error() -> None:
    big = b"%PDF-1.4\n" + bytes(30 * 1024 * 1024)  # 30 MB, not a readable PDF
    raw = (
        HEAD + multipart("mixed", "b", [text_part("x"), file_part("Bilan 2025.pdf", big)])
    ).encode()
    assert len(raw) > 40 * 1024 * 1024
    result = check_message(raw, RECEIVED, "blossom-2026").to_json()
    assert result["status"] == "incomplet"
    assert result["annexes"]["bilans"] == ["Bilan 2025.pdf"] and result["bilans_years"] == [2025]


def test_thousands_of_parts() -> None:
    parts = [text_part("x")] + [
        file_part(f"p{i}.txt", b"x", ctype="text/plain") for i in range(3000)
    ]
    raw = (HEAD + multipart("mixed", "b", parts)).encode()
    result = check_message(raw, RECEIVED, "blossom-2026").to_json()
    assert result["status"] == "incomplet"
    assert any("parties" in w for w in result["warnings"])


def test_deep_nesting() -> None:
    body = "Content-Type: text/plain\n\nfin\n"
    for depth in range(40):
        body = multipart("mixed", f"d{depth}", [body])
    raw = (HEAD + body).encode()
    assert check_message(raw, RECEIVED, "blossom-2026").verdict.status == "incomplet"
    assert b64(b"x")


# --- issue #11, point 7: hostile structure in plain words, never an exception's name ---

EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b")


def nested(depth: int) -> str:
    body = "Content-Type: text/plain\n\nfin\n"
    for level in range(depth):
        body = multipart("mixed", f"d{level}", [body])
    return body


def test_a_mail_nested_5000_deep_is_too_deep_in_plain_words(tmp_path, capsys) -> None:  # noqa: ANN001
    raw = (HEAD + nested(5000)).encode()
    result = check_message(raw, RECEIVED, "blossom-2026").to_json()
    assert result["status"] == "incomplet"  # read for its headers: subject, sender
    assert result["structure"] == "ASBL Bombe"
    assert any("trop imbriqué" in w for w in result["warnings"]), result["warnings"]
    assert not any(EXCEPTION_NAME.search(w) for w in result["warnings"])

    path = tmp_path / "profond.eml"
    path.write_bytes(raw)
    assert main(["check", str(path), "--received", "2026-09-10T08:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "trop imbriqué" in out and not EXCEPTION_NAME.search(out)


def test_a_mail_nested_just_past_the_cap_says_the_same() -> None:
    result = check_message((HEAD + nested(40)).encode(), RECEIVED, "blossom-2026").to_json()
    assert any("trop imbriqué" in w for w in result["warnings"])


def tnef_attribute(level: int, ident: int, kind: int, data: bytes) -> bytes:
    return struct.pack("<BHHI", level, ident, kind, len(data)) + data + struct.pack("<H", 0)


MALFORMED_WINMAIL = {
    # an attachment attribute before any attAttachRendData: tnefparse's UnboundLocalError
    "orphan attribute": struct.pack("<IH", 0x223E9F78, 0x0101)
    + tnef_attribute(0x02, 0x8010, 0x0001, b"STATUTS.PDF\x00")
    + tnef_attribute(0x02, 0x800F, 0x0006, b"%PDF-1.4"),
    "truncated": tnef_bytes([("statuts.pdf", b"%PDF-1.4 statuts")])[:-40],
    "bad mapi props": struct.pack("<IH", 0x223E9F78, 0x0101)
    + tnef_attribute(0x01, 0x9003, 0x0006, b"\xff" * 64),
    "signature only": struct.pack("<IH", 0x223E9F78, 0x0101) + b"\xff" * 30,
}


@pytest.mark.parametrize("case", sorted(MALFORMED_WINMAIL))
def test_a_malformed_winmail_dat_is_an_unreadable_outlook_attachment(case: str) -> None:
    parts = [
        text_part("Bonjour"),
        file_part("winmail.dat", MALFORMED_WINMAIL[case], ctype="application/ms-tnef"),
    ]
    result = check_message((HEAD + multipart("mixed", "b", parts)).encode(), RECEIVED,
                           "blossom-2026").to_json()  # fmt: skip
    assert result["status"] == "incomplet"
    assert not any(EXCEPTION_NAME.search(w) for w in result["warnings"]), result["warnings"]
    if case == "orphan attribute":
        assert any("pièce Outlook illisible" in w for w in result["warnings"]), result["warnings"]


def damaged(data: bytes, member: str, at: int = 18) -> bytes:
    """``data``, a zip, with one byte of ``member``'s deflate stream flipped."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    where = info.header_offset + 30 + len(info.filename.encode()) + at
    return data[:where] + bytes([data[where] ^ 0xFF]) + data[where + 1 :]


def test_damaged_zips_are_described_in_words() -> None:
    good = zip_bytes([("statuts.pdf", b"%PDF-1.4 " + bytes(range(256)) * 40)])
    out = unpack_all([
        Attachment("annexes.zip", b"PK\x03\x04 not a zip", "zip"),
        Attachment("abime.zip", damaged(good, "statuts.pdf"), "zip"),  # zlib.error inside
    ])  # fmt: skip
    assert not any(EXCEPTION_NAME.search(w) for w in out.warnings), out.warnings
    assert any("illisible (endommagée ou incomplète)" in w for w in out.warnings)
    assert any("« statuts.pdf » dans « abime.zip » est illisible (fichier endommagé)" in w
               for w in out.warnings)  # fmt: skip


def test_a_dossier_with_a_damaged_deflate_stream_is_reported_not_a_crash() -> None:
    from tests.fixtures.build_emails import text_docx

    docx = damaged(text_docx(["Statuts coordonnés"] * 200), "word/document.xml", at=20)
    parts = [text_part("Bonjour"), file_part("Dossier ASBL Bombe.docx", docx)]
    result = check_message((HEAD + multipart("mixed", "b", parts)).encode(), RECEIVED,
                           "blossom-2026").to_json()  # fmt: skip
    assert "dossier" in result["missing"]
    assert not any(EXCEPTION_NAME.search(w) for w in result["warnings"]), result["warnings"]
