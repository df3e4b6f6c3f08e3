"""The headers of a mail, decoded whatever the client did to them.

``email.policy.default`` decodes RFC 2047 words; where its header parser raises on
malformed input, or would turn raw 8-bit bytes into U+FFFD, the raw value is decoded
again the compat32 way (``email.header``), UTF-8 first, else Windows-1252.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import email.header
import email.message
import email.utils
import re


def parse_mail_date(value: str | None) -> dt.datetime | None:
    """An RFC 5322 date as an aware datetime (UTC when the zone is unknown), or None."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(unfold(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", " ")


def raw_headers(msg: email.message.Message, name: str) -> list[str]:
    name = name.lower()
    out = []
    for key, value in msg.raw_items():
        if key.lower() == name:
            out.append(value if isinstance(value, str) else str(value))
    return out


def raw_header(msg: email.message.Message, name: str) -> str | None:
    values = raw_headers(msg, name)
    return repair(unfold(values[0])) if values else None


def repair(text: str) -> str:
    """Undo the surrogate escapes of 8-bit header bytes (UTF-8 first, else Windows-1252)."""
    if not has_8bit(text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_words(raw: str) -> str:
    """RFC 2047 encoded words decoded the compat32 way, tolerant of unknown charsets."""
    raw = repair(unfold(raw))
    if "=?" not in raw:
        return raw
    try:
        chunks = email.header.decode_header(raw)
    except Exception:  # noqa: BLE001 - malformed encoded words
        return raw
    with contextlib.suppress(Exception):  # an unknown charset: decode each chunk below
        return str(email.header.make_header(chunks))
    out = []
    for chunk, charset in chunks:
        out.append(chunk if isinstance(chunk, str) else decode_bytes(chunk, charset))
    return "".join(out)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes to text in the declared charset, else UTF-8, else Windows-1252."""
    if charset:
        charset = charset.strip().strip('"').lower()
        try:
            codecs.lookup(charset)
            return data.decode(charset, "replace")
        except (LookupError, ValueError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def has_8bit(text: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in text)


def text_header(msg: email.message.Message, name: str) -> str | None:
    raws = raw_headers(msg, name)
    if not raws:
        return None
    if not has_8bit(raws[0]):  # the policy would turn raw 8-bit bytes into U+FFFD
        with contextlib.suppress(Exception):  # the policy's header parser raises on some junk
            value = msg.get(name)
            if value is not None:
                text = str(value)
                if "=?" in text:  # words the policy left encoded (unknown charset, bad padding)
                    text = decode_words(text)
                return unfold(text).strip()
    return decode_words(raws[0]).strip()


def all_headers(msg: email.message.Message) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for key, value in msg.raw_items():
        text = decode_words(value if isinstance(value, str) else str(value)).strip()
        out.setdefault(key.lower(), []).append(text)
    return {k: tuple(v) for k, v in out.items()}


def first_address(msg: email.message.Message, name: str) -> tuple[str, str]:
    raws = raw_headers(msg, name)
    if not raws:
        return "", ""
    if not has_8bit(raws[0]):  # else read it the compat32 way below
        with contextlib.suppress(Exception):  # malformed address lists
            addresses = getattr(msg.get(name), "addresses", None)
            if addresses and addresses[0].addr_spec and addresses[0].addr_spec != "<>":
                first = addresses[0]
                return repair(first.display_name or ""), repair(first.addr_spec)
    try:
        pairs = email.utils.getaddresses([decode_words(raws[0])])
    except Exception:  # noqa: BLE001
        pairs = []
    for display, addr in pairs:
        if addr:
            return display, addr
    return "", ""


def message_ids(raw: str) -> list[str]:
    found = re.findall(r"<[^<>\s]+>", raw)
    return found or raw.split()


def id_header(msg: email.message.Message, name: str) -> str | None:
    raw = raw_header(msg, name)
    if not raw or not raw.strip():
        return None
    found = message_ids(raw)
    return found[0] if found else None


def newest_received(msg: email.message.Message) -> dt.datetime | None:
    # Servers prepend Received: the topmost one with a date is our own server's stamp.
    for value in raw_headers(msg, "received"):
        text = repair(unfold(value))
        if ";" in text:
            when = parse_mail_date(text.rsplit(";", 1)[1])
            if when is not None:
                return when
    return None
