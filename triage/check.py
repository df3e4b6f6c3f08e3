"""Check one mail as received: read it, open its containers, find the dossier, judge.

The composition of ``parsers.message``, ``parsers.archives``, ``parsers.dossier``,
``triage.automatic``, ``triage.subject``, ``triage.annexes`` and ``triage.verdict``.
No clock: the receipt time is a parameter (by default the mail's own newest
``Received:`` stamp, else its ``Date:``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from config.programme import Programme, all_programmes, load_programme
from guichet.errors import ConfigError, UnknownForm, UnreadableDocument
from parsers.archives import unpack_all
from parsers.dossier import ParsedDossier, parse_dossier
from parsers.first_page import first_page_text
from parsers.message import Attachment, Message, read_message
from parsers.sniff import DOCUMENTS, IMAGES, extension
from triage.annexes import AnnexMatch, recognise_annex
from triage.automatic import automatic_reason
from triage.subject import SubjectMatch, match_subject
from triage.verdict import (
    AUTOMATIQUE,
    NON_CANDIDATURE,
    DossierFile,
    Evidence,
    Verdict,
    decide,
)

RECEIVED_GIVEN, RECEIVED_HEADER, DATE_HEADER = "paramètre", "en-tête Received", "en-tête Date"
_NOT_WORD = frozenset({".xls", ".xlt", ".ppt", ".pps", ".pot", ".msg", ".oft"})


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    message: Message
    programme: Programme
    received: dt.datetime | None
    received_from: str | None  # RECEIVED_GIVEN, RECEIVED_HEADER, DATE_HEADER or None
    files: tuple[Attachment, ...] = ()  # every file, .zip and winmail.dat opened

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.verdict.dossier.fields) if self.verdict.dossier else {}

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "status": v.status,
            "structure": v.structure,
            "missing": v.missing,
            "unread": v.unread,
            "annexes": v.annexes,
            "bilans_years": v.bilans_years,
            "fields": self.fields,
            "warnings": v.warnings,
        }


def check_message(
    raw: bytes, received: dt.datetime | None = None, programme_id: str | None = None
) -> CheckResult:
    """Judge one raw mail; ``received`` (aware) is when our server got it."""
    if received is not None and received.tzinfo is None:
        raise ValueError("received must be an aware datetime")
    message = read_message(raw)
    received_from = RECEIVED_GIVEN if received else None
    if received is None:
        received = message.received_at or message.date
        received_from = (
            RECEIVED_HEADER if message.received_at else DATE_HEADER if message.date else None
        )
    automatic = automatic_reason(message)
    unpacked = unpack_all(message.attachments)
    notes = list(message.notes) + unpacked.warnings

    dossiers: list[tuple[Attachment, ParsedDossier]] = []
    unreadable: dict[int, str] = {}  # id(file) -> why the dossier parser could not read it
    if not automatic:
        dossiers, unreadable = _find_dossiers(unpacked.files, programme_id)
    found = {id(file) for file, _ in dossiers}
    others = [file for file in unpacked.files if id(file) not in found]

    programme = _programme(programme_id, dossiers, message.subject)
    subject = (
        match_subject(message.subject, programme.subject)
        if programme.subject
        else SubjectMatch(follows=False, structure=None, year=None)
    )
    annexes: list[tuple[str, AnnexMatch]] = []
    for file in others:
        reader = None if automatic or file.kind in IMAGES else _first_page_reader(file)
        match = recognise_annex(file.filename, reader, programme.annexes, kind=file.kind)
        annexes.append((file.filename, match))
        if not match.keys and id(file) in unreadable:
            notes.append(f"« {file.filename} » : {unreadable[id(file)]}")

    evidence = Evidence(
        automatic=automatic,
        subject=subject,
        received=received,
        dossiers=tuple(_dossier_file(f, p) for f, p in dossiers if p.programme.id == programme.id),
        annexes=tuple(annexes),
        notes=tuple(notes),
    )
    verdict = decide(evidence, programme)
    if received_from in (RECEIVED_HEADER, DATE_HEADER) and verdict.status not in (
        AUTOMATIQUE,
        NON_CANDIDATURE,
    ):
        note = f"Heure de réception lue dans l'{received_from} du message."
        verdict = replace(verdict, warnings=verdict.warnings + [note])
    return CheckResult(
        verdict=verdict,
        message=message,
        programme=programme,
        received=received,
        received_from=received_from,
        files=tuple(unpacked.files),
    )


def _find_dossiers(
    files: list[Attachment], programme_id: str | None
) -> tuple[list[tuple[Attachment, ParsedDossier]], dict[int, str]]:
    """The attachments that are a programme's form, found by content.

    Word files first. Once a Word dossier is known, a PDF named as an annex
    ("Statuts.pdf") is not read as a possible dossier: it could only be an export that
    the Word file outranks, and reading every PDF in full is the slow part of a check.
    """
    dossiers: list[tuple[Attachment, ParsedDossier]] = []
    unreadable: dict[int, str] = {}
    words = [f for f in files if f.kind in DOCUMENTS and f.kind != "pdf" and not _other_office(f)]
    pdfs = [f for f in files if f.kind == "pdf"]
    for file in words + pdfs:
        if file.kind == "pdf" and dossiers and _named_as_annex(file, dossiers[0][1].programme):
            continue
        try:
            dossiers.append((file, parse_dossier(file.data, file.typed_name, programme_id)))
        except UnknownForm:
            pass
        except UnreadableDocument as e:
            unreadable[id(file)] = e.message
    return dossiers, unreadable


def _other_office(file: Attachment) -> bool:
    """An OLE2 file that is a spreadsheet, a slide show or an Outlook item, not a .doc."""
    return file.kind == "ole2" and extension(file.filename) in _NOT_WORD


def _named_as_annex(file: Attachment, programme: Programme) -> bool:
    return bool(recognise_annex(file.filename, None, programme.annexes).keys)


def _first_page_reader(file: Attachment):
    return lambda: first_page_text(file.data, file.kind)


def _dossier_file(file: Attachment, parsed: ParsedDossier) -> DossierFile:
    return DossierFile(
        filename=file.filename,
        format=parsed.format,
        fields=parsed.to_json()["fields"],
        missing=tuple(parsed.missing),
        warnings=tuple(parsed.warnings),
        tracked_changes=parsed.tracked_changes,
        unread=tuple(parsed.unread),
        unread_raw={
            key: reading.raw or ""
            for key in parsed.unread
            if (reading := parsed.readings.get(key)) is not None
        },
    )


def _programme(
    programme_id: str | None,
    dossiers: list[tuple[Attachment, ParsedDossier]],
    subject: str,
) -> Programme:
    """The programme named, else the dossier's, else the one whose subject convention
    the mail follows, else the call that closes last (the open one)."""
    if programme_id:
        return load_programme(programme_id)
    if dossiers:
        return dossiers[0][1].programme
    programmes = all_programmes()
    if not programmes:
        raise ConfigError("aucun programme configuré")
    for programme in programmes:
        if programme.subject and match_subject(subject, programme.subject).follows:
            return programme
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
    return max(programmes, key=lambda p: p.deadline_at or far_past)
