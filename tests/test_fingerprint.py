"""ingest.fingerprint: the same mail in two mailboxes is recognised; different mails are not."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.fingerprint import fingerprint, split_headers
from tests.samples import SAMPLES

PE001 = SAMPLES / "emails" / "pe001.eml"


@pytest.fixture(scope="module")
def raw() -> bytes:
    return PE001.read_bytes()


def test_reads_the_identity_headers(raw: bytes) -> None:
    fp = fingerprint(raw)
    assert fp.rfc_message_id == "<fa1yvck2zxktd5js@crechearcencielcoop.org>"
    assert fp.sender == "omar@crechearcencielcoop.org"
    assert fp.subject == "Dossier de candidature – COOPCITY 2026 – Crèche Arc-en-Ciel Coop"
    assert fp.date == dt.datetime(2026, 9, 9, 14, 11, 31, tzinfo=dt.UTC)
    assert fp.in_reply_to is None and fp.references == ()


def test_trace_headers_and_line_ends_do_not_change_the_content_hash(raw: bytes) -> None:
    other_copy = (
        b"Delivered-To: info@coopcity.be\r\nReceived: from mx2 by imap2; Wed, 09 Sep 2026 "
        b"16:12:41 +0200\r\n" + raw.replace(b"Delivered-To: matthias@", b"Delivered-To: x@")
    )
    assert fingerprint(other_copy).content_hash == fingerprint(raw).content_hash
    assert fingerprint(raw.replace(b"\r\n", b"\n")).content_hash == fingerprint(raw).content_hash


def test_what_the_sender_wrote_changes_it(raw: bytes) -> None:
    base = fingerprint(raw).content_hash
    assert fingerprint(raw.replace(b"Omar Deprez", b"Omar D.")).content_hash != base
    assert fingerprint(raw.replace(b"Q2jDqHJl", b"Q2jDqHJm", 1)).content_hash != base
    rewritten = fingerprint(raw.replace(b"fa1yvck2zxktd5js", b"rewritten-by-gateway"))
    assert rewritten.content_hash == base  # a gateway rewrote the id: still the same mail
    assert rewritten.rfc_message_id != fingerprint(raw).rfc_message_id


def test_folded_headers_and_no_header_block() -> None:
    fields, body = split_headers(b"Subject: a\r\n b\r\nReferences: <x@y>\r\n\t<z@w>\r\n\r\nhi")
    assert fields == [(b"subject", b"a b"), (b"references", b"<x@y> <z@w>")]
    assert body == b"hi"
    fp = fingerprint(b"References: <x@y>\r\n\t<z@w>\r\nIn-Reply-To: <z@w>\r\n\r\n")
    assert fp.references == ("<x@y>", "<z@w>") and fp.in_reply_to == "<z@w>"
    assert split_headers(b"just text\nmore") == ([], b"just text\nmore")
    assert fingerprint(b"just text").rfc_message_id is None


def test_message_id_without_brackets_and_odd_dates() -> None:
    fp = fingerprint(b"Message-ID: abc@host\r\nDate: not a date\r\n\r\nx")
    assert fp.rfc_message_id == "<abc@host>"
    assert fp.date is None
