"""What identifies a mail across mailboxes: read from its header block only, pure.

The same mail delivered to two of our addresses arrives as two different byte strings
(each copy gets its own ``Received:``, ``Delivered-To:``, ``Return-Path:``…), so its raw
SHA-256 cannot say "same mail". ``content_hash`` covers what the sender wrote: the
originator headers and the body, not the trace the servers added. With the Message-ID,
it is what deduplication compares (see ``ingest.intake``).
"""

from __future__ import annotations

import datetime as dt
import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass

# Headers the sender's client writes and relays keep as they are. Not the Message-ID:
# some gateways rewrite it, and the hash is what still recognises the mail then.
_ORIGINATOR = ("from", "sender", "to", "cc", "subject", "date", "in-reply-to")
_MSGID = re.compile(rb"<[^<>\s]+>")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_MAX_FIELD = 998


@dataclass(frozen=True)
class Fingerprint:
    rfc_message_id: str | None  # "<id@host>", as written
    content_hash: str
    sender: str | None  # the From address, lower-cased
    subject: str | None  # decoded
    date: dt.datetime | None  # the Date header (aware), if readable
    in_reply_to: str | None
    references: tuple[str, ...]


def split_headers(raw: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Header fields (name lower-cased, value unfolded) and the body, line ends as LF."""
    text = _LINE_END.sub(b"\n", raw)
    if b":" not in text.split(b"\n", 1)[0]:
        return [], text  # no header block at all
    head, _, body = text.partition(b"\n\n")
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b" " + line.strip())
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append((name.strip().lower(), value.strip()))
    return fields, body


def fingerprint(raw: bytes) -> Fingerprint:
    fields, body = split_headers(raw)
    first: dict[bytes, bytes] = {}
    for name, value in fields:
        first.setdefault(name, value)
    digest = hashlib.sha256()
    for name in _ORIGINATOR:
        value = first.get(name.encode(), b"")
        digest.update(name.encode() + b":" + b" ".join(value.split()) + b"\n")
    digest.update(b"\n")
    digest.update(body.rstrip(b"\n"))
    return Fingerprint(
        rfc_message_id=_first_id(first.get(b"message-id")),
        content_hash=digest.hexdigest(),
        sender=_address(first.get(b"from")),
        subject=_decoded(first.get(b"subject")),
        date=_date(first.get(b"date")),
        in_reply_to=_first_id(first.get(b"in-reply-to")),
        references=tuple(
            m.decode("ascii", "replace") for m in _MSGID.findall(first.get(b"references", b""))
        ),
    )


def _first_id(value: bytes | None) -> str | None:
    if not value:
        return None
    match = _MSGID.search(value)
    if match:
        return match.group().decode("ascii", "replace")[:_MAX_FIELD]
    bare = value.strip().decode("ascii", "replace")
    return f"<{bare}>"[:_MAX_FIELD] if bare and " " not in bare else None


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _decoded(value: bytes | None) -> str | None:
    if value is None:
        return None
    text = _text(value)
    try:
        parts = email.header.decode_header(text)
        return str(email.header.make_header(parts))
    except (ValueError, LookupError, UnicodeDecodeError):
        return text


def _address(value: bytes | None) -> str | None:
    if not value:
        return None
    _, address = email.utils.parseaddr(_text(value))
    return address.strip().lower() or None


def _date(value: bytes | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(_text(value))
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when
