"""Mails to drop into the loopback servers, for the demo and the suite.

``build`` makes a small mail with the attachments given; ``dossier_mail`` one from the
referent of a generated fixture dossier (``tests/fixtures/dossiers`` of the checkout), its
.docx attached with the annexes named; ``with_trace`` the copy delivered to another of
our addresses. ``tests/mails.py`` and ``tests/stores.py`` re-export them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
# The generated BLOSSOM dossiers with their truth files (tests/fixtures/build_dossiers.py).
DOSSIERS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "dossiers"
_TYPES = {
    "pdf": ("application", "pdf"),
    "jpg": ("image", "jpeg"),
    "jpeg": ("image", "jpeg"),
    "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
}


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


ANNEXES = {
    "statuts": ("Statuts.pdf", b"%PDF-1.4 statuts"),
    "rapport": ("Rapport d'activité 2025.pdf", b"%PDF-1.4 rapport"),
    "bilans": ("Bilans 2024-2025.pdf", b"%PDF-1.4 bilans"),
    "cv": ("CV référente.pdf", b"%PDF-1.4 cv"),
}


def dossier_mail(
    name: str,
    *,
    annexes: Iterable[str] = ANNEXES,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    with_dossier: bool = True,
    sender: str | None = None,
    body: str = "Bonjour,\n\nVeuillez trouver notre dossier de candidature.\n",
) -> bytes:
    """A mail from the referent of the generated dossier ``name`` (``g05-cc-inline``), its
    .docx attached (unless ``with_dossier`` is false) with the annexes named, by file name;
    ``sender`` replaces the referent's address (an inbox of the test server)."""
    truth = json.loads((DOSSIERS / f"{name}.docx.truth.json").read_text(encoding="utf-8"))
    fields = truth["fields"]
    structure = fields["entreprise.nom"]
    person = f"{fields.get('referent.prenom') or ''} {fields.get('referent.nom') or ''}".strip()
    files = (
        {f"Dossier {structure}.docx": (DOSSIERS / f"{name}.docx").read_bytes()}
        if with_dossier
        else {}
    )
    files.update(ANNEXES[a] for a in annexes)
    domain = fields["referent.email"].split("@")[1]
    return build(
        sender=sender or f"{person} <{fields['referent.email']}>",
        subject=f"Dossier de candidature – COOPCITY 2026 – {structure}",
        message_id=message_id or f"<{name}@{domain}>",
        in_reply_to=in_reply_to,
        body=body,
        files=files,
    )
