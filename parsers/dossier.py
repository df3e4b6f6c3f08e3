"""Read a dossier file (bytes) into the record of its programme's form.

This is the one entry point other packages use: ``parse_dossier(data, filename)``.
The steps: tell the format from the content, read text blocks (Word or PDF; legacy
formats through LibreOffice), recognise the programme from the text, fill the form,
normalise each value by its type, and list what a coordinator must know. The first
steps, which work on the stranger's file, run in the reader's capped child
(``read_form``); the values are given here (``finish``), the normalisers having been
loaded while the child worked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from config.programme import FieldSpec, Programme, all_programmes, load_programme
from guichet.errors import UnknownForm, UnsupportedFormat
from parsers import normalise
from parsers.blocks import Block, DocumentText
from parsers.choices import read_choices
from parsers.filling import FillResult, FormFiller, RawAnswer, raw_answer
from parsers.isolation import run_isolated
from parsers.labels import key_of
from parsers.sniff import sniff

if TYPE_CHECKING:
    from parsers.alignment import AlignedAnswer, Aligner

CONVERTIBLE = {"ole2": ".doc", "odt": ".odt", "rtf": ".rtf"}
MIN_COVERAGE = 0.35  # share of a form's labels a document must show to be that form


FieldState = Literal["filled", "blank", "unread"]


@dataclass
class FieldReading:
    """Where one field's value came from, and what state the field is in.

    ``state``: ``filled`` (a value was read), ``blank`` (the form's place for it holds
    nothing, a placeholder or the form's own text: the field is missing), ``unread``
    (the applicant wrote something there that could not be turned into a value: a
    coordinator must look, the applicant is not told it is missing).
    """

    raw: str | None  # the text as written (None: label not found)
    value: Any  # normalised, JSON-ready; None when blank, placeholder or unreadable
    found: bool  # the label was found in the document
    where: str | None = None  # "inline", "nextline", "cell-right", "grid", ...
    state: FieldState = "blank"
    reader: str = "labels"  # which reader gave the value: "labels" or "alignment"
    location: str | None = None  # for people: « paragraphe 31 », « tableau 2, ligne 1 »


@dataclass
class ParsedDossier:
    programme: Programme
    format: str  # "docx" or "pdf"
    fields: dict[str, Any]  # every key of the programme's form, in form order
    missing: list[str]  # required keys whose field is blank (truly absent)
    warnings: list[str] = field(default_factory=list)  # French, for a person
    readings: dict[str, FieldReading] = field(default_factory=dict)
    tracked_changes: bool = False
    converted_from: str | None = None  # ".doc", ".odt", ... when LibreOffice converted it
    coverage: float = 0.0  # share of the form's labels found
    unread: list[str] = field(default_factory=list)  # keys written but not read (any field)

    @property
    def unread_required(self) -> list[str]:
        """Required fields a coordinator must check (« à vérifier »)."""
        required = set(self.programme.required_keys())
        return [k for k in self.unread if k in required]

    def to_json(self) -> dict[str, Any]:
        return {
            "programme": self.programme.id,
            "fields": self.fields,
            "missing": self.missing,
            "unread": self.unread,
            "warnings": self.warnings,
        }


@dataclass
class FormReading:
    """A document's text and its programme's form filled from it, before normalisation:
    what the reader child sends back (``read_form``). ``unknown`` says why the document is
    no programme's form (then nothing is filled)."""

    doc: DocumentText
    programme_id: str | None = None
    result: FillResult | None = None
    aligned: dict[str, AlignedAnswer] = field(default_factory=dict)
    unknown: str | None = None
    converted_from: str | None = None  # ".doc", ".odt", ... when LibreOffice converted it


def parse_dossier(data: bytes, filename: str, programme_id: str | None = None) -> ParsedDossier:
    """Parse a dossier; the programme is recognised from the content unless given.

    Raises ``UnreadableDocument`` (or a subclass: ``EncryptedDocument``,
    ``ScannedDocument``, ``UnsupportedFormat``, ``UnknownForm``) with a French message.
    """
    return finish(read_form(data, filename, programme_id))


def read_form(
    data: bytes,
    filename: str,
    programme_id: str | None = None,
    *,
    seconds: float | None = None,
    converted_from: str | None = None,
) -> FormReading:
    """Read a Word, PDF or (converted) legacy document and fill its programme's form,
    in the reader's capped child (``parsers.isolation``): reading, recognising the form,
    filling and aligning all work on the stranger's file, and run under its caps while
    this process loads the normalisers that ``finish`` gives the values with.

    ``seconds``, when given, shortens the time cap (what is left of a mail's budget);
    ``converted_from`` names the format of ``data`` before a conversion done elsewhere.
    """
    kind = sniff(data, filename)
    if kind in CONVERTIBLE:
        from parsers.convert import convert_to_docx
        from parsers.word_reader import DEFAULT_LIMITS

        limits = _shorter(DEFAULT_LIMITS, seconds)
        converted_from = CONVERTIBLE[kind]
        data = convert_to_docx(data, converted_from, timeout=120 if seconds is None else limits.seconds)
        kind = "docx"
    if kind == "pdf":
        from parsers.pdf_reader import DEFAULT_LIMITS, TASK
    elif kind in ("docx", "docm"):
        from parsers.word_reader import DEFAULT_LIMITS, TASK, check_package

        check_package(data)  # an absurd package is refused before the child is asked
    else:
        raise _unsupported(filename, kind)
    limits = _shorter(DEFAULT_LIMITS, seconds)
    reading = run_isolated(
        _read_and_fill,
        (data, kind, programme_id, limits),
        seconds=limits.seconds,
        memory_bytes=limits.memory_bytes,
        task=TASK,
        meanwhile=normalise.load,
    )
    return replace(reading, converted_from=converted_from)


def _read_and_fill(data: bytes, kind: str, programme_id: str | None, limits: Any) -> FormReading:
    """In the reader's child: the document read and its form filled (``read_form``)."""
    if kind == "pdf":
        from parsers.pdf_reader import read_pdf

        doc = read_pdf(data, isolated=False, limits=limits)
    else:
        from parsers.word_reader import read_word

        doc = read_word(data, isolated=False)
    return fill_form(doc, programme_id)


def fill_form(doc: DocumentText, programme_id: str | None = None) -> FormReading:
    """The programme's form filled from a document read, and aligned with its blank form."""
    try:
        programme, result = recognise(doc, programme_id)
    except UnknownForm as e:
        return FormReading(doc, unknown=e.message)
    aligner = _aligner(programme.id)
    aligned = aligner.read(result.texts, result) if aligner else {}
    return FormReading(doc, programme.id, result, aligned)


def _unsupported(filename: str, kind: str) -> UnsupportedFormat:
    shown = filename.rsplit(".", 1)[-1].lower() if "." in filename else kind
    return UnsupportedFormat(
        f"format non pris en charge (« {shown} ») : le dossier doit être un fichier Word (.docx) ou PDF."
    )


def _shorter(limits: Any, seconds: float | None) -> Any:
    """``limits`` with a time cap no longer than ``seconds`` (at least one second)."""
    if seconds is None or seconds >= limits.seconds:
        return limits
    return replace(limits, seconds=max(1.0, seconds))


@cache
def _filler(programme_id: str) -> FormFiller:
    return FormFiller(load_programme(programme_id).form)


@cache
def _aligner(programme_id: str) -> Aligner | None:
    """The aligner for a programme's blank form, or None when it ships none; kept in the
    cache (``config.cache``) keyed by the blank form, the form and the readers' code."""
    programme = load_programme(programme_id)
    if programme.blank_form_path is None:
        return None
    from config import cache as disk
    from parsers.alignment import Aligner

    blank = programme.blank_form_path.read_bytes()
    code = Path(__file__).parent
    sources = sorted([*code.glob("*.py"), *code.glob("normalise/*.py")])
    key = disk.key(blank, repr(programme.form).encode(), *(p.read_bytes() for p in sources))
    aligner = disk.load("aligners", key, Aligner)
    if aligner is None:
        aligner = _build_aligner(programme, blank)
        disk.store("aligners", key, aligner)
    return aligner


def _build_aligner(programme: Programme, blank: bytes) -> Aligner:
    from parsers.alignment import Aligner, Template
    from parsers.word_reader import read_word

    programme_id = programme.id
    filled = _filler(programme_id).fill(read_word(blank))
    labels = {spec.key: list(spec.labels) for spec in _filler(programme_id).fields}
    groups = []
    for section in programme.form.sections:
        if section.any_order:
            by_label: dict[str, list[str]] = {}
            for spec in section.fields:
                by_label.setdefault(key_of(spec.label or ""), []).append(spec.key)
            keys = [spec.key for spec in section.fields]
            groups.extend((keys, group) for group in by_label.values() if len(group) > 1)
    return Aligner(Template.from_reading(filled.texts, filled.places), labels, groups, programme.form.stops)


def recognise(doc: DocumentText, programme_id: str | None = None) -> tuple[Programme, FillResult]:
    """The programme whose form this document is, and the form filled from it."""
    candidates = [load_programme(programme_id)] if programme_id else all_programmes()
    text_key = key_of(" ".join(b.text for b in doc.blocks))
    phrases = {p.id: sum(1 for phrase in p.recognition.phrases if key_of(phrase) in text_key) for p in candidates}
    # the form whose own phrases the document shows is filled first; the others only if
    # its labels are not there (filling is the costly step)
    candidates.sort(key=lambda p: -phrases[p.id])
    best: tuple[float, Programme, FillResult] | None = None
    for programme in candidates:
        if best is not None and best[2].coverage >= MIN_COVERAGE and phrases[programme.id] < phrases[best[1].id]:
            break
        result = _filler(programme.id).fill(doc)
        score = result.coverage + 0.1 * phrases[programme.id]
        if best is None or score > best[0]:
            best = (score, programme, result)
    if best is None or best[2].coverage < MIN_COVERAGE:
        if programme_id:
            raise UnknownForm(f"ce document n'est pas un dossier « {candidates[0].name} » : ses rubriques sont introuvables.")
        raise UnknownForm("ce document n'est le dossier d'aucun programme connu.")
    return best[1], best[2]


def fill_document(doc: DocumentText, programme_id: str | None = None, *, converted_from: str | None = None) -> ParsedDossier:
    """The record of a document read in this process (``parse_dossier`` reads in the child)."""
    return finish(replace(fill_form(doc, programme_id), converted_from=converted_from))


def finish(reading: FormReading) -> ParsedDossier:
    """The record of a filled form: each answer normalised by its field's type, the
    states, and what a coordinator must know. Raises ``UnknownForm`` for a document that
    is no programme's form."""
    if reading.programme_id is None or reading.result is None:
        raise UnknownForm(reading.unknown or "ce document n'est le dossier d'aucun programme connu.")
    doc, result, aligned, converted_from = reading.doc, reading.result, reading.aligned, reading.converted_from
    programme = load_programme(reading.programme_id)
    form = programme.form
    blocks = result.blocks
    any_order = {f.key for section in form.sections if section.any_order for f in section.fields}
    fields: dict[str, Any] = {}
    readings: dict[str, FieldReading] = {}
    warnings: list[str] = []
    for spec in form.fields():
        if spec.derived:
            continue
        answer, reading, reader = combine(spec, result.answers[spec.key], aligned.get(spec.key),
                                          any_order=spec.key in any_order)
        fields[spec.key] = reading.value
        readings[spec.key] = FieldReading(answer.text, reading.value, answer.found, answer.where or None,
                                          state=state_of(spec, answer, reading), reader=reader,
                                          location=describe_place(blocks, answer.block))
        if reading.warning:
            # choice and score warnings already name their field
            prefix = "" if spec.type in ("choice", "score") else f"{short_label(spec)} : "
            warnings.append(prefix + reading.warning)
        if spec.detail_key:
            fields[spec.detail_key] = normalise.clean_text(reading.detail).value if reading.value is not None else None
        if not answer.found and spec.required:
            warnings.append(f"Rubrique introuvable dans le document : « {short_label(spec)} » (à vérifier).")
        limit = form.line_limit(spec.key)
        if limit and isinstance(reading.value, str):
            used = printed_lines(reading.value, form.chars_per_line)
            if used > limit:
                warnings.append(f"{short_label(spec)} : réponse de {used} lignes environ, pour {limit} lignes maximum.")
    ordered = {spec.key: fields.get(spec.key) for spec in form.fields()}
    if doc.tracked_changes:
        warnings.append("Le document contient des modifications suivies non acceptées : le texte inséré est lu, le texte supprimé est ignoré.")
    if converted_from:
        warnings.append(f"Document {converted_from} converti en .docx par LibreOffice avant lecture.")
    warnings.extend(doc.notes)
    return ParsedDossier(
        programme=programme,
        format=doc.format,
        fields=ordered,
        missing=[k for k in programme.required_keys() if readings[k].state == "blank"],
        unread=[k for k, r in readings.items() if r.state == "unread"],
        warnings=warnings,
        readings=readings,
        tracked_changes=doc.tracked_changes,
        converted_from=converted_from,
        coverage=result.coverage,
    )


def normalise_answer(spec: FieldSpec, answer: RawAnswer) -> normalise.Normalised:
    """The value of one answer by its field's type; blank answers are None."""
    if not answer.found:
        return normalise.Normalised(None)
    if spec.type == "score" and answer.where == "grid":
        if not answer.grid_value:
            return normalise.Normalised(None, f"{score_label(spec)} : plusieurs cases cochées, note illisible.")
        return normalise.parse_score(answer.grid_value, spec.min, spec.max, label=score_label(spec))
    lines = drop_template(spec, answer.lines)
    text = "\n".join(lines)
    if not text.strip():
        return normalise.Normalised(None)
    match spec.type:
        case "text":
            return normalise.clean_text(text)
        case "date":
            return normalise.parse_date(text)
        case "enterprise_number":
            return normalise.parse_enterprise_number(text)
        case "number":
            return normalise.parse_number(text)
        case "yes_no":
            return normalise.parse_yes_no(text, spec.template_answer)
        case "phone":
            return normalise.parse_phone(text)
        case "email":
            return normalise.parse_email(text)
        case "choice":
            # one line: a mark can end a PDF line and its option start the next
            return normalise.parse_choice(" ".join(lines), dict(spec.choices), spec.template_answer, label=short_label(spec))
        case "score":
            return normalise.parse_score(text, spec.min, spec.max, label=score_label(spec))
        case "multi_choice":
            return read_choices(spec.options, lines)
    raise AssertionError(spec.type)  # pydantic restricts the types


def combine(spec: FieldSpec, labels: RawAnswer, aligned: AlignedAnswer | None,
            *, any_order: bool = False) -> tuple[RawAnswer, normalise.Normalised, str]:
    """One answer from the two readers, its value, and which reader gave it.

    The alignment with the blank form reads what the applicant wrote around the form's
    own words (merged lines, no separators, deleted options); the label reader reads
    table cells cell by cell, score grids, repeated labels side by side (signature
    columns) and labels the blank form does not print. When both read a value and they
    differ, the alignment is trusted, unless both found the label in the same table cell.
    """
    by_labels = normalise_answer(spec, labels)
    if labels.where == "grid" or aligned is None or not aligned.found:
        return labels, by_labels, "labels"
    beside_label = bool(aligned.lines) and aligned.block == aligned.label_block
    if any_order and labels.where in ("cell-below", "cell-right") and not beside_label:
        return labels, by_labels, "labels"  # repeated labels in columns: the cell under each
    answer = RawAnswer("", True, "aligned", lines=[]) if aligned.template_kept else raw_answer(aligned.lines, "aligned")
    answer.block = aligned.block
    by_alignment = by_labels if answer.lines == labels.lines else normalise_answer(spec, answer)
    ended_by_a_label = not answer.lines and labels.where == "inline" and labels.block == aligned.label_block
    if by_alignment.value is None and by_labels.value is not None and not ended_by_a_label:
        # the label reader read something where the alignment found nothing: columns a PDF
        # printed side by side, options it reads better; not the next label on the same
        # line (« Genre : Date de naissance : … »), which ended the alignment's answer
        return labels, by_labels, "labels"
    if by_labels.value is None or by_alignment.value == by_labels.value:
        return answer, by_alignment, "alignment"
    if labels.where.startswith("cell") and labels.block == aligned.label_block and not (
        beside_label and labels.where != "cell-inline"
    ):
        # the same label: its cell, as the label reader reads it (unless the alignment read
        # an answer written beside the label and the label reader went to the next cell)
        return labels, by_labels, "labels"
    return answer, by_alignment, "alignment"


def describe_place(blocks: list[Block], index: int | None) -> str | None:
    """« paragraphe 31 », « tableau 2, ligne 1, colonne 2 »: where an answer starts, for people."""
    if index is None or not 0 <= index < len(blocks):
        return None
    block = blocks[index]
    if block.in_table:
        return f"tableau {block.table + 1}, ligne {block.row + 1}, colonne {block.col + 1}"
    return f"paragraphe {sum(1 for b in blocks[:index] if not b.in_table) + 1}"


def state_of(spec: FieldSpec, answer: RawAnswer, reading: normalise.Normalised) -> FieldState:
    """Filled when a value was read; unread when something was written that gave none
    (the normalisers say so with a warning, unless they say nothing was chosen) or a
    required question cannot be found; blank otherwise."""
    if reading.value is not None:
        return "filled"
    if not answer.found:
        # the question itself is gone: removed with its answer, or retyped past recognition;
        # the applicant is not told a required answer is missing on that guess
        return "unread" if spec.required else "blank"
    if reading.warning and not reading.blank:
        return "unread"
    return "blank"


def drop_template(spec: FieldSpec, lines: list[str]) -> list[str]:
    """Without the blank form's own answer text ("oui/non", the list of options) when
    the applicant wrote an answer after it; the template may be wrapped over lines."""
    if not spec.template_answer or len(lines) < 2:
        return lines
    template = key_of(spec.template_answer)
    joined = ""
    for n, line in enumerate(lines[:-1], start=1):
        joined = f"{joined} {key_of(line)}".strip()
        if joined == template:
            return lines[n:]
        if not template.startswith(joined):
            break
    return lines


def printed_lines(text: str, chars_per_line: int) -> int:
    return sum(max(1, math.ceil(len(par) / chars_per_line)) for par in text.split("\n") if par.strip())


def score_label(spec: FieldSpec) -> str:
    """« Autodiagnostic 3 (Nous savons à quels besoins…) »: section, number and a start of the statement."""
    section, _, number = spec.key.rpartition(".")
    return f"{section.capitalize()} {number} (« {short_label(spec, 45)} »)"


def short_label(spec: FieldSpec, limit: int = 60) -> str:
    label = spec.label or spec.key
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"
