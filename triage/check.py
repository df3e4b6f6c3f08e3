"""Check one mail as received: read it, open its containers, find the dossier, judge.

The composition of ``parsers.message``, ``parsers.archives``, ``parsers.dossier``,
``triage.automatic``, ``triage.subject``, ``triage.annexes`` and ``triage.verdict``.
No clock: the receipt time is a parameter (by default the mail's own newest
``Received:`` stamp, else its ``Date:``).

Each mail has a time budget (``GUICHET_CHECK_BUDGET``, 45 s by default; the monotonic
clock is a parameter): the likeliest dossier is tried first (its name, its type, the
first page of a Word file), legacy files are converted in one LibreOffice run, every
reader's time cap is cut to what is left, and once the budget is spent the files not yet
read are named in a warning and the verdict is « à vérifier ». A file that arrived
damaged (``parsers.damage``) is named too, and the applicant is asked to send it again.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from config.environment import check_budget
from config.programme import Programme, all_programmes, load_programme
from guichet.errors import ConfigError, GuichetError, UnknownForm, UnreadableDocument
from parsers.archives import unpack_all
from parsers.dossier import CONVERTIBLE, ParsedDossier, finish, read_form
from parsers.first_page import first_page_text
from parsers.message import Attachment, Message, read_message
from parsers.sniff import DOCUMENTS, IMAGES, extension
from triage.annexes import AnnexMatch, fold, fold_lines, recognise_annex
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
MIN_STEP = 1.0  # seconds: with less left, no other file is read
# Words of a dossier's file name (folded), besides the programmes' own words
DOSSIER_WORDS = frozenset(
    {"dossier", "candidature", "formulaire", "form", "application", "inscription", "aanvraag"}
)
_TYPE_RANK = {"docx": 0, "docm": 0, "odt": 1, "ole2": 1, "rtf": 1, "pdf": 2}


@dataclass
class Budget:
    """What is left of one mail's time budget, on a monotonic ``clock``."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    end: float = field(init=False)

    def __post_init__(self) -> None:
        self.end = self.clock() + self.seconds

    def left(self) -> float:
        return self.end - self.clock()

    def spent(self) -> bool:
        return self.left() < MIN_STEP


@dataclass
class _Search:
    """What the dossier search found, could not read, and had no time for."""

    dossiers: list[tuple[Attachment, ParsedDossier]] = field(default_factory=list)
    unreadable: dict[int, str] = field(default_factory=dict)  # id(file) -> why
    not_read: list[Attachment] = field(default_factory=list)
    tried: set[int] = field(default_factory=set)  # id(file) of the files read in full
    texts: dict[int, str] = field(default_factory=dict)  # their start, for annex recognition


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    message: Message
    programme: Programme
    received: dt.datetime | None
    received_from: str | None  # RECEIVED_GIVEN, RECEIVED_HEADER, DATE_HEADER or None
    files: tuple[Attachment, ...] = ()  # every file, .zip and winmail.dat opened
    # what the verdict was decided on: filing judges it again as a mail of an application
    # when it answers one (``triage.filing``), whatever its subject
    evidence: Evidence | None = None

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
            "damaged": v.damaged,
            "not_read": v.not_read,
        }


def check_message(
    raw: bytes,
    received: dt.datetime | None = None,
    programme_id: str | None = None,
    *,
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CheckResult:
    """Judge one raw mail; ``received`` (aware) is when our server got it.

    ``budget``: seconds for reading the attachments (default ``GUICHET_CHECK_BUDGET``).
    """
    if received is not None and received.tzinfo is None:
        raise ValueError("received must be an aware datetime")
    allowance = Budget(check_budget() if budget is None else budget, clock)
    message = read_message(raw)
    received_from = RECEIVED_GIVEN if received else None
    if received is None:
        received = message.received_at or message.date
        received_from = (
            RECEIVED_HEADER if message.received_at else DATE_HEADER if message.date else None
        )
    automatic = automatic_reason(message)
    # A damaged file is named, not opened; a PDF is still tried (its reader is lenient).
    damaged = [a for a in message.attachments if a.damage]
    unpacked = unpack_all(a for a in message.attachments if not a.damage or a.kind == "pdf")
    notes = list(message.notes) + unpacked.warnings

    search = _Search()
    if not automatic:
        search = _find_dossiers(unpacked.files, programme_id, allowance)
    dossiers, unreadable = search.dossiers, search.unreadable
    found = {id(file) for file, _ in dossiers}
    others = [file for file in unpacked.files if id(file) not in found]
    not_read = {id(file) for file in search.not_read}

    programme = _programme(programme_id, dossiers, message.subject)
    subject = (
        match_subject(message.subject, programme.subject)
        if programme.subject
        else SubjectMatch(follows=False, structure=None, year=None)
    )
    annexes: list[tuple[str, AnnexMatch]] = []
    for file in others:
        skipped: list[Attachment] = []
        known = search.texts.get(id(file))
        reader = (
            None
            if automatic or file.kind in IMAGES or id(file) in not_read
            else (lambda text=known: text)
            if known is not None
            else _first_page_reader(file, allowance, skipped)
        )
        match = recognise_annex(file.filename, reader, programme.annexes, kind=file.kind)
        annexes.append((file.filename, match))
        if match.keys:
            not_read.discard(id(file))  # known by its name: an annex, read or not
        elif skipped and id(file) not in search.tried:
            not_read.add(id(file))
        if not match.keys and id(file) in unreadable:
            notes.append(f"« {file.filename} » : {unreadable[id(file)]}")

    evidence = Evidence(
        automatic=automatic,
        subject=subject,
        received=received,
        dossiers=tuple(_dossier_file(f, p) for f, p in dossiers if p.programme.id == programme.id),
        annexes=tuple(annexes),
        notes=tuple(notes),
        damaged=tuple((a.filename, a.damage or "") for a in damaged),
        not_read=tuple(f.filename for f in unpacked.files if id(f) in not_read),
        budget_seconds=allowance.seconds,
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
        evidence=evidence,
    )


def _find_dossiers(
    files: list[Attachment], programme_id: str | None, budget: Budget
) -> _Search:
    """The attachments that are a programme's form, found by content, likeliest first.

    Once a dossier is known, a file named as an annex ("Statuts.pdf") is not read as a
    possible dossier: it could only be an export that the dossier outranks, and reading
    every file in full is the slow part of a check. Legacy files are converted together
    when the first of them comes up. When the budget is spent, the rest is not read.
    """
    search = _Search()
    programmes = [load_programme(programme_id)] if programme_id else all_programmes()
    annex_specs = [spec for programme in programmes for spec in programme.annexes]
    candidates = [
        f
        for f in files
        if f.kind in DOCUMENTS and not _other_office(f)
    ]
    candidates = _likeliest_first(candidates, programmes, annex_specs)
    converted: dict[int, bytes | GuichetError] = {}
    for index, file in enumerate(candidates):
        if search.dossiers and _named_as_annex(file, annex_specs):
            continue
        if budget.spent():
            search.not_read.extend(
                f for f in candidates[index:] if not (search.dossiers and _named_as_annex(f, annex_specs))
            )
            break
        search.tried.add(id(file))
        try:
            if file.kind in CONVERTIBLE:
                if id(file) not in converted:
                    converted.update(_convert_rest(candidates[index:], search, annex_specs, budget))
                outcome = converted[id(file)]
                if isinstance(outcome, GuichetError):
                    raise outcome
                reading = read_form(outcome, "dossier.docx", programme_id, seconds=budget.left(),
                                    converted_from=CONVERTIBLE[file.kind])
            else:
                reading = read_form(file.data, file.typed_name, programme_id, seconds=budget.left())
            search.texts[id(file)] = _start_of(reading.doc)
            search.dossiers.append((file, finish(reading)))
        except UnknownForm:
            pass
        except UnreadableDocument as e:
            if budget.spent():  # cut short by the budget, not by the file
                search.not_read.append(file)
                search.tried.discard(id(file))
            else:
                search.unreadable[id(file)] = e.message
    return search


def _start_of(doc: Any, max_chars: int = 4000) -> str:
    """The first characters of a document read in full: its first page, for annexes."""
    return "\n".join(b.text for b in doc.blocks if b.text.strip())[:max_chars]


def _likeliest_first(
    files: list[Attachment], programmes: list[Programme], annex_specs: list
) -> list[Attachment]:
    """Dossier candidates in the order to try them: not named as an annex, named as a
    dossier (or a Word file whose first page shows the form), Word, legacy, PDF."""
    words = set(DOSSIER_WORDS)
    phrases = []
    for programme in programmes:
        words.update(fold(programme.id).split())
        words.update(w for w in fold(programme.name).split() if len(w) > 3 and not w.isdigit())
        phrases.extend(fold(p) for p in programme.recognition.phrases)

    def key(item: tuple[int, Attachment]) -> tuple[bool, bool, int, int]:
        index, file = item
        stem = file.filename.rsplit(".", 1)[0]
        hinted = bool(words & set(fold(stem).split()))
        if not hinted and file.kind in ("docx", "docm", "odt"):
            page = fold_lines(first_page_text(file.data, file.kind, 1500))
            hinted = any(phrase and phrase in page for phrase in phrases)
        return (_named_as_annex(file, annex_specs), not hinted, _TYPE_RANK.get(file.kind, 3), index)

    return [file for _, file in sorted(enumerate(files), key=key)]


def _convert_rest(
    files: list[Attachment], search: _Search, annex_specs: list, budget: Budget
) -> dict[int, bytes | GuichetError]:
    """Convert every legacy file still to try, in one LibreOffice run within the budget."""
    from parsers.convert import DEFAULT_TIMEOUT, convert_many

    legacy = [
        f
        for f in files
        if f.kind in CONVERTIBLE and not (search.dossiers and _named_as_annex(f, annex_specs))
    ]
    outcomes = convert_many(
        [(f.data, CONVERTIBLE[f.kind]) for f in legacy],
        timeout=max(MIN_STEP, min(DEFAULT_TIMEOUT, budget.left())),
    )
    return {id(f): outcome for f, outcome in zip(legacy, outcomes, strict=True)}


def _other_office(file: Attachment) -> bool:
    """An OLE2 file that is a spreadsheet, a slide show or an Outlook item, not a .doc."""
    return file.kind == "ole2" and extension(file.filename) in _NOT_WORD


def _named_as_annex(file: Attachment, annex_specs: list) -> bool:
    return bool(recognise_annex(file.filename, None, annex_specs).keys)


def _first_page_reader(file: Attachment, budget: Budget, skipped: list[Attachment]):
    """The first page of ``file`` within the budget; "" (and ``file`` in ``skipped``)
    once it is spent."""

    def read() -> str:
        if budget.spent():
            skipped.append(file)
            return ""
        return first_page_text(file.data, file.kind, seconds=budget.left())

    return read


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
