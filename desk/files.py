"""The files the desk serves, found through the store's own records only: an attachment by
its row (the mail's archived bytes read again, the file matched by its SHA-256), the
dossier that counts by its parsed record, a mail by its row. No name or path from a
request ever reaches the file system."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ingest.archive import ArchiveError, RawArchive
from parsers.archives import unpack_all
from parsers.message import read_message
from triage.models import Attachment, Message


@dataclass(frozen=True)
class ServedFile:
    filename: str
    data: bytes


def _raw(archive: RawArchive, message: Message) -> bytes | None:
    try:
        return archive.read(message.raw_sha256)
    except (ArchiveError, OSError):
        return None


def attachment_file(archive: RawArchive, attachment: Attachment) -> ServedFile | None:
    """The bytes of ``attachment`` as its mail brought them, or None (purged, missing)."""
    raw = _raw(archive, attachment.message)
    if raw is None:
        return None
    for file in read_message(raw).attachments:
        if hashlib.sha256(file.data).hexdigest() == attachment.sha256:
            return ServedFile(attachment.filename, file.data)
    return None


def dossier_file(archive: RawArchive, message: Message) -> ServedFile | None:
    """The dossier ``message`` carried (possibly inside a .zip or winmail.dat), or None."""
    if message.parsed is None:
        return None
    for attachment in message.attachments:
        if attachment.role == "dossier":
            found = attachment_file(archive, attachment)
            if found is not None:
                return found
    raw = _raw(archive, message)
    if raw is None:
        return None
    files = unpack_all(a for a in read_message(raw).attachments if not a.damage)
    name = message.parsed.filename
    return next((ServedFile(name, f.data) for f in files.files if f.filename == name), None)


def mail_file(archive: RawArchive, message: Message) -> ServedFile | None:
    """The mail as it was received (.eml)."""
    raw = _raw(archive, message)
    return None if raw is None else ServedFile(f"courriel-{message.id}.eml", raw)
