"""Hostile or extreme mails end in a warning, never a crash or a memory blow-up."""

from __future__ import annotations

import datetime as dt
import io
import resource
import zipfile

from parsers import archives
from parsers.archives import unpack_all
from parsers.message import Attachment
from tests.fixtures.build_emails import b64, file_part, multipart, text_part, zip_bytes
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
