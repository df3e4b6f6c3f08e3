"""The coordinators' spreadsheet: one row per application, every field of the form.

``export_table`` reads the store into a ``Table`` of plain values (text, numbers, dates,
and naive datetimes in the programme's local time, since spreadsheets have no time
zones); ``write_xlsx`` and ``write_csv`` put it on disk. Applicants' text never becomes
a formula: an XLSX cell is stored as text (with Excel's quote prefix when it starts like
a formula), a CSV cell gets a leading apostrophe.

Columns: « N° » (the application's id, the key ``guichet decisions import`` reads back),
the status with « Décision » and its « Note » right after it, the verdict (« Manquant »,
then « À vérifier »: the required answers written but not read, by title with the text
found), « Dossier » (the file that counts), the form's fields in the form's order, and one
column per annex. With the desk's address (``GUICHET_DESK_URL``) the structure, the dossier
and the annexes link to the desk, which alone serves the files (after a login). Each row is
as high as its longest wrapped answer, up to ``MAX_ROW_LINES`` lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from config.programme import FieldSpec, Programme
from notifications.wording import DECISION_LABELS, missing_labels, status_label, to_check
from triage.annexes import OTHER
from triage.corrections import FIELD, latest_corrections
from triage.decisions import (
    DECISION_HEADER,
    ID_HEADER,
    STRUCTURE_HEADER,
    display_structure,
)
from triage.filing import CANDIDATURE
from triage.models import RETIRE, Application, ApplicationVersion, Decision, Message

Value = str | int | float | dt.date | dt.datetime | None

SHEET_TITLE = "Candidatures"
SCORE_HEADER = "Moyenne autodiagnostic"  # only when the form has scores
MISSING_HEADER = "Manquant"
TO_CHECK_HEADER = "À vérifier"  # answers written but not read: never missing
NOTE_HEADER = "Note"  # the note of the decision that counts
DOSSIER_HEADER = "Dossier"
HEADER_LIMIT = 60  # characters of a question kept in its column's header
LIST_SEPARATOR = " ; "

DETAIL_SUFFIX = " : précisions"

# Excel reads a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    """Headers and rows of plain values, ready for a spreadsheet."""

    headers: list[str]
    rows: list[list[Value]]
    links: list[dict[int, str]] = field(default_factory=list)  # per row: column -> URL

    def column(self, header: str) -> list[Value]:
        index = self.headers.index(header)
        return [row[index] for row in self.rows]


# --- headers ------------------------------------------------------------------------------


def shorten(text: str, limit: int = HEADER_LIMIT) -> str:
    """``text`` on one line, cut at a word before ``limit`` characters with « … »."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:?!.(–-") + " …"


def field_headers(programme: Programme) -> list[tuple[FieldSpec, str]]:
    """Each field of the form with its column header, in the form's order; headers unique."""
    parents = {f.detail_key: f for f in programme.form.fields() if f.detail_key}
    heads: list[tuple[FieldSpec, str]] = []
    for section in programme.form.sections:
        prefix = section.column_prefix  # the programme file's, e.g. « B{n}. »
        for rank, spec in enumerate(section.fields, start=1):
            lead = prefix.format(n=rank)
            if spec.label:
                head = lead + shorten(
                    _wording(spec, HEADER_LIMIT - len(lead)), HEADER_LIMIT - len(lead)
                )
            else:  # a derived field: the text after its parent's answer
                parent = parents.get(spec.key)
                base = _wording(parent, HEADER_LIMIT) if parent and parent.label else spec.key
                budget = HEADER_LIMIT - len(lead)
                head = lead + shorten(base.rstrip(" ?"), budget) + DETAIL_SUFFIX
            heads.append((spec, head))
    return list(zip([s for s, _ in heads], _unique([h for _, h in heads]), strict=True))


def _wording(spec: FieldSpec, limit: int) -> str:
    """The form's label when it fits, else its shortest variant (« Agrément d’entreprise
    sociale » rather than the whole question)."""
    labels = spec.labels
    if len(labels[0]) <= limit:
        return labels[0]
    return min(labels, key=len)


def _unique(headers: Sequence[str]) -> list[str]:
    """Repeated headers get « (1) », « (2) »… in order."""
    seen: dict[str, int] = {}
    unique = []
    for head in headers:
        seen[head] = seen.get(head, 0) + 1
        unique.append(head if headers.count(head) == 1 else f"{head} ({seen[head]})")
    return unique


def annex_header(label: str) -> str:
    return f"Annexe : {label}"


def headers(programme: Programme) -> list[str]:
    return [
        ID_HEADER,
        STRUCTURE_HEADER,
        "Statut",
        DECISION_HEADER,
        NOTE_HEADER,
        MISSING_HEADER,
        TO_CHECK_HEADER,
        "Avertissements",
        "Premier envoi",
        "Dernier envoi",
        "Versions",
        DOSSIER_HEADER,
        *([SCORE_HEADER] if score_keys(programme) else []),
        *(head for _, head in field_headers(programme)),
        *(annex_header(a.label) for a in programme.annexes),
        "Autres pièces jointes",
    ]


# --- values -------------------------------------------------------------------------------


def field_value(spec: FieldSpec, value: object) -> Value:
    """A field of the contract as a spreadsheet value: oui/non, real dates, French choices."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    if spec.type == "date" and isinstance(value, str):
        return _date(value)
    if spec.type == "choice" and isinstance(value, str):
        phrases = spec.choices.get(value)
        return phrases[0] if phrases else value
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, int | float | str):
        return value
    return str(value)


def _date(text: str) -> Value:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        month = re.fullmatch(r"(\d{4})-(\d{2})", text)
        return f"{month[2]}/{month[1]}" if month else text


def local_naive(moment: dt.datetime, programme: Programme) -> dt.datetime:
    return moment.astimezone(programme.zone).replace(tzinfo=None)


def score_keys(programme: Programme) -> list[str]:
    return [f.key for f in programme.form.fields() if f.type == "score"]


def score_mean(programme: Programme, fields: dict[str, object]) -> float | None:
    """The mean of the self-assessment scores given (the digest shows it too), or None."""
    scores = [
        float(value)
        for key in score_keys(programme)
        if isinstance(value := fields.get(key), int | float) and not isinstance(value, bool)
    ]
    return sum(scores) / len(scores) if scores else None


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def application_row(
    application: Application,
    programme: Programme,
    decision: str | None,
    note: str | None = None,
    corrected: dict[str, str | None] | None = None,
) -> list[Value]:
    """One row; ``corrected``: field key -> a coordinator's value, over what was read."""
    version = application.current_version
    parsed = version.message.parsed if version is not None else None
    fields: dict[str, object] = dict(parsed.fields) if parsed is not None else {}
    fields.update(corrected or {})
    annexes = application.annexes or {}
    return [
        application.id,
        display_structure(application),
        status_label(application.status),
        DECISION_LABELS.get(decision or "") or None,
        note or None,
        LIST_SEPARATOR.join(missing_labels(programme, list(application.missing or []))) or None,
        LIST_SEPARATOR.join(to_check(application, programme)) or None,
        "\n".join(application.warnings or []) or None,
        local_naive(application.first_received_at, programme),
        local_naive(application.last_received_at, programme),
        len(application.versions),
        parsed.filename if parsed is not None else None,
        *([_one_decimal(score_mean(programme, fields))] if score_keys(programme) else []),
        *(field_value(spec, fields.get(spec.key)) for spec in programme.form.fields()),
        *(LIST_SEPARATOR.join(annexes.get(a.key) or []) or "non" for a in programme.annexes),
        LIST_SEPARATOR.join(annexes.get(OTHER) or []) or None,
    ]


def desk_links(
    application: Application, programme: Programme, headers_: list[str], desk_url: str
) -> dict[int, str]:
    """Column -> the desk's page for the structure, the dossier and each annex cell."""
    page = f"{desk_url.rstrip('/')}/candidatures/{application.id}"
    links = {headers_.index(STRUCTURE_HEADER): page}
    if application.current_version is not None:
        links[headers_.index(DOSSIER_HEADER)] = f"{page}/dossier"
    annexes = application.annexes or {}
    for annex in programme.annexes:
        if annexes.get(annex.key):
            links[headers_.index(annex_header(annex.label))] = f"{page}#t-pieces"
    return links


def field_corrections(
    session: Session, applications: Sequence[Application]
) -> dict[int, dict[str, str | None]]:
    """Application id -> the fields coordinators corrected in its dossier that counts."""
    counting = {
        a.current_version.message_id: a.id for a in applications if a.current_version is not None
    }
    found: dict[int, dict[str, str | None]] = {}
    for (message_id, target, key), row in latest_corrections(session, list(counting)).items():
        if target == FIELD:
            found.setdefault(counting[message_id], {})[key] = row.after
    return found


def latest_decisions(session: Session, programme_id: str) -> dict[int, tuple[str, str | None]]:
    """Application id -> (the decision that counts, its note)."""
    found: dict[int, tuple[str, str | None]] = {}
    for row in session.scalars(
        select(Decision)
        .join(Application, Application.id == Decision.application_id)
        .where(Application.programme_id == programme_id)
        .order_by(Decision.created_at, Decision.id)
    ):
        found[row.application_id] = (row.decision, row.note)
    return found


def exported_applications(session: Session, programme_id: str) -> list[Application]:
    """The programme's applications (complete, incomplete, late, withdrawn), by name."""
    found = session.scalars(
        select(Application)
        .where(
            Application.programme_id == programme_id,
            Application.status.in_((*CANDIDATURE, RETIRE)),
        )
        .options(
            selectinload(Application.versions)
            .selectinload(ApplicationVersion.message)
            .selectinload(Message.parsed)
        )
    ).all()
    return sorted(found, key=lambda a: (display_structure(a).casefold(), a.id))


def export_table(session: Session, programme: Programme, desk_url: str | None = None) -> Table:
    """One row per application of ``programme``, sorted by structure name; ``desk_url``
    (default: ``GUICHET_DESK_URL``) makes its files links to the desk."""
    if desk_url is None:
        desk_url = (os.environ.get(DESK_URL_ENV) or "").strip() or None
    decisions = latest_decisions(session, programme.id)
    heads = headers(programme)
    applications = exported_applications(session, programme.id)
    corrected = field_corrections(session, applications)
    rows = [
        application_row(a, programme, *decisions.get(a.id, (None, None)), corrected.get(a.id))
        for a in applications
    ]
    links = [desk_links(a, programme, heads, desk_url) for a in applications] if desk_url else []
    return Table(headers=heads, rows=rows, links=links)


# --- writing ------------------------------------------------------------------------------

WIDE = 50  # characters: the width of a column of long answers
LINE_HEIGHT = 15  # points: one line of 11-point text
ROW_HEIGHT = 3 * LINE_HEIGHT  # the header row: three lines of a wrapped header
MAX_ROW_LINES = 12  # a row fits its longest answer up to this; the rest shows when selected
DESK_URL_ENV = "GUICHET_DESK_URL"  # desk.settings: the desk's public address
_DATE_FORMAT = "DD/MM/YYYY"
_DATETIME_FORMAT = "DD/MM/YYYY HH:MM"


def safe_text(text: str) -> str:
    """Text a spreadsheet accepts: no control characters it refuses, at most 32,767 chars."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:32767]


def looks_like_formula(text: str) -> bool:
    return text.startswith(_FORMULA_START)


def _is_long(values: Iterable[Value]) -> bool:
    return any(isinstance(v, str) and (len(v) > WIDE or "\n" in v) for v in values)


def _width(header: str, values: Iterable[Value]) -> float:
    """Characters: the longest value, or the header's first words (headers wrap), 8 to 50."""
    lines = (line for v in values if v is not None for line in _text(v).split("\n"))
    longest = max(map(len, lines), default=0)
    return max(8, min(WIDE, max(longest, min(len(header), 24)) + 2))


def row_height(row: Sequence[Value], widths: Sequence[float], wraps: Sequence[bool]) -> float:
    """Points: the lines the row's tallest cell takes (wrapped columns wrap at their width),
    at least one, at most ``MAX_ROW_LINES``."""
    tallest = 1
    for value, width, wrap in zip(row, widths, wraps, strict=True):
        if value is None:
            continue
        lines = _text(value).split("\n")
        count = (
            sum(max(1, -(-len(line) // max(int(width) - 1, 1))) for line in lines)
            if wrap
            else len(lines)
        )
        tallest = max(tallest, count)
    return min(tallest, MAX_ROW_LINES) * LINE_HEIGHT


def _text(value: Value) -> str:
    """A value as CSV (French Excel) writes it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):  # 3.5 -> « 3,5 », 623000.0 -> « 623000 »
        return f"{value:.6f}".rstrip("0").rstrip(".").replace(".", ",")
    return str(value)


def workbook(table: Table) -> Workbook:
    """The table as a workbook: one sheet, bold frozen header, filters, a decision list."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[1].height = ROW_HEIGHT
    for row in table.rows:
        sheet.append([safe_text(v) if isinstance(v, str) else v for v in row])
    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    for index, header in enumerate(table.headers, start=1):
        values = [row[index - 1] for row in table.rows]
        long = _is_long(values)
        width = WIDE if long else _width(header, values)
        sheet.column_dimensions[get_column_letter(index)].width = width
        alignment = wrapped if long else top
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.alignment = alignment
            if isinstance(cell.value, str):
                # openpyxl makes "=…" a formula and "#N/A" an error: keep them text
                cell.data_type = "s"
                if looks_like_formula(cell.value):
                    cell.quotePrefix = True
            elif isinstance(cell.value, dt.datetime):
                cell.number_format = _DATETIME_FORMAT
            elif isinstance(cell.value, dt.date):
                cell.number_format = _DATE_FORMAT
            elif isinstance(cell.value, float):
                cell.number_format = "0.0"
    widths = [
        sheet.column_dimensions[get_column_letter(i)].width
        for i in range(1, len(table.headers) + 1)
    ]
    wraps = [_is_long([row[i] for row in table.rows]) for i in range(len(table.headers))]
    for index, row in enumerate(table.rows, start=2):
        sheet.row_dimensions[index].height = row_height(row, widths, wraps)
    link_font = Font(color="0563C1", underline="single")
    for index, links in enumerate(table.links, start=2):
        for column, url in links.items():
            cell = sheet.cell(row=index, column=column + 1)
            cell.hyperlink = url
            cell.font = link_font
    sheet.freeze_panes = "C2"  # the header row, N° and Structure stay in view
    sheet.auto_filter.ref = sheet.dimensions
    if DECISION_HEADER in table.headers:
        _decision_list(sheet, table)
    return book


def _decision_list(sheet: Worksheet, table: Table) -> None:
    letter = get_column_letter(table.headers.index(DECISION_HEADER) + 1)
    labels = ",".join(DECISION_LABELS.values())
    validation = DataValidation(
        type="list",
        formula1=f'"{labels}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Décision",
        error="Choisissez « " + " », « ".join(DECISION_LABELS.values()) + " » ou laissez vide.",
        promptTitle="Décision",
        prompt="Retenu, Non retenu ou Liste d’attente",
        showInputMessage=True,
    )
    validation.add(f"{letter}2:{letter}{max(len(table.rows), 1) + 1}")
    sheet.add_data_validation(validation)


def xlsx_bytes(table: Table) -> bytes:
    """The workbook's bytes (for a mail attachment)."""
    buffer = io.BytesIO()
    workbook(table).save(buffer)
    return buffer.getvalue()


def csv_text(table: Table) -> str:
    """The table as CSV for French Excel: « ; » between cells, formulas defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        cells = []
        for value in row:
            text = safe_text(_text(value))
            cells.append(
                "'" + text if isinstance(value, str) and looks_like_formula(text) else text
            )
        writer.writerow(cells)
    return buffer.getvalue()


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, readable by its owner only (it holds personal data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(data)


def write_xlsx(table: Table, target: Path | str | IO[bytes]) -> None:
    """Save the table as an XLSX workbook: to a path (mode 0600) or a binary file."""
    data = xlsx_bytes(table)
    if isinstance(target, str | Path):
        write_private(Path(target), data)
    else:
        target.write(data)


def write_csv(table: Table, target: Path | str | IO[bytes]) -> None:
    """Save the table as CSV, UTF-8 with a BOM so Excel reads the accents right."""
    data = csv_text(table).encode("utf-8-sig")
    if isinstance(target, str | Path):
        write_private(Path(target), data)
    else:
        target.write(data)
