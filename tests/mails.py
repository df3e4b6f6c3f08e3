"""Mails for the store and polling tests: the shared samples, and a small builder."""

from __future__ import annotations

import datetime as dt
import email.utils
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from tests.samples import FIXTURES, SAMPLES

BRUSSELS = ZoneInfo("Europe/Brussels")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)  # enough for a type sniffer
_TYPES = {
    "pdf": ("application", "pdf"),
    "jpg": ("image", "jpeg"),
    "jpeg": ("image", "jpeg"),
    "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
}
SAMPLE_MAILS = SAMPLES / "emails"
FIXTURE_MAILS = FIXTURES / "emails"


def sample(name: str) -> bytes:
    """A shared sample mail (``pe001`` …) as raw bytes."""
    return (SAMPLE_MAILS / f"{name}.eml").read_bytes()


def fixture(name: str) -> bytes:
    """A mail of ``tests/fixtures/emails`` (``supplement_annexes_only`` …) as raw bytes."""
    return (FIXTURE_MAILS / f"{name}.eml").read_bytes()


def brussels(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BRUSSELS)


def with_trace(raw: bytes, mailbox: str) -> bytes:
    """The same mail as delivered to another of our addresses: its own trace headers."""
    return (
        f"Delivered-To: {mailbox}\r\nReceived: from mx.coopcity.be by imap.coopcity.be "
        f"for <{mailbox}>; Sun, 13 Sep 2026 11:00:00 +0200\r\n"
    ).encode() + raw


def build(
    *,
    sender: str = "Alexandre Mukendi <alexandre@lavelothequedixelles.org>",
    subject: str = "Dossier de candidature – COOPCITY 2026 – La Vélothèque d'Ixelles",
    message_id: str | None = "<built@lavelothequedixelles.org>",
    date: dt.datetime | None = None,
    in_reply_to: str | None = None,
    body: str = "Bonjour,\n\nVoici un complément.\n",
    files: dict[str, bytes] | None = None,
) -> bytes:
    """A small mail with the attachments given (typed by extension; PDF by default).

    Scanned annexes (``.jpg``) are recognised by their names alone: the quickest to check."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "matthias@coopcity.be"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(date or brussels(2026, 9, 13, 11, 0))
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    for name, data in (files or {}).items():
        maintype, subtype = _TYPES.get(name.rsplit(".", 1)[-1].lower(), ("application", "pdf"))
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()
