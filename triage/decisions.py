"""Selection decisions: finding an application by name, recording a decision, importing
the exported sheet with its « Décision » column filled in.

A decision is a row of ``decisions``; the latest per application counts, and recording
the one already current is a no-op, so importing the same sheet twice changes nothing.
The sheet is read by its headers (« N° », « Décision », and « Structure » to catch rows
that moved), wherever coordinators put those columns; a bad row is reported and skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.programme import Programme
from guichet.errors import InputError, UnknownApplication
from ingest.intake import log_event
from notifications.wording import decision_label, one_line
from triage.annexes import fold
from triage.application import structure_key
from triage.models import DECISIONS, Application, Decision

ID_HEADER = "N°"
STRUCTURE_HEADER = "Structure"
DECISION_HEADER = "Décision"

SOURCE_CLI = "cli"
SOURCE_IMPORT = "import"
SOURCE_DESK = "bureau"
_SOURCE_LABELS = {
    SOURCE_CLI: "en ligne de commande",
    SOURCE_IMPORT: "par import du tableau",
    SOURCE_DESK: "sur le bureau",
}

MATCH_SCORE = 80  # a fuzzy match this good (0-100) wins…
MATCH_MARGIN = 10  # …when the next best is this much worse
SUGGESTION_SCORE = 50
SUGGESTIONS = 5

# Folded, without spaces: what a person may write for each decision.
_WORDS = {
    "retenu": "retenu",
    "retenue": "retenu",
    "nonretenu": "non_retenu",
    "nonretenue": "non_retenu",
    "attente": "attente",
    "enattente": "attente",
    "listedattente": "attente",
    "listeattente": "attente",
}
_ID_HEADERS = {"n", "no", "num", "numero"}  # « N° », « Nº », « Numéro » once folded
_HEADER_SEARCH_ROWS = 20


def display_structure(application: Application) -> str:
    """The structure's name as the export shows it (its sender when it has none)."""
    return application.structure or application.sender or f"Candidature {application.id}"


def parse_decision(text: str) -> str:
    """« Retenu », « non retenu », « Liste d’attente »… → one of ``DECISIONS``."""
    compact = "".join(fold(text or "").split())
    decision = _WORDS.get(compact)
    if decision is None:
        raise InputError(
            f"décision illisible : « {one_line(text, 40)} » "
            "(attendu : retenu, non retenu ou liste d’attente)"
        )
    return decision


# --- finding an application ---------------------------------------------------------------


def _named(application: Application) -> str:
    return f"« {display_structure(application)} » (n° {application.id})"


def find_application(session: Session, programme: Programme, text: str) -> Application:
    """The application ``text`` names: its structure (exactly once folded, else the one
    clear best approximate match) or its number."""
    applications = session.scalars(
        select(Application).where(Application.programme_id == programme.id)
    ).all()
    wanted = " ".join((text or "").split())
    key = structure_key(wanted)
    if key is None:
        raise UnknownApplication("donnez le nom d’une structure ou le n° d’une candidature")
    by_id = {a.id: a for a in applications}
    exact = next((a for a in applications if a.structure_key == key), None)  # unique per programme
    if exact is not None:
        return exact
    number = re.fullmatch(r"(?:n[°ºo]?\s*|#)?(\d+)", wanted, re.IGNORECASE)
    if number and int(number[1]) in by_id:
        return by_id[int(number[1])]
    names = {a.id: structure_key(display_structure(a)) or "" for a in applications}
    ranked = process.extract(key, names, scorer=fuzz.WRatio, limit=None)
    ranked = [(by_id[i], score) for _, score, i in ranked]
    best = ranked[0][1] if ranked else 0.0
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if best >= MATCH_SCORE and runner_up <= best - MATCH_MARGIN:
        return ranked[0][0]
    close = [a for a, score in ranked[:SUGGESTIONS] if score >= SUGGESTION_SCORE]
    suggestions = ", ".join(_named(a) for a in close)
    if best >= MATCH_SCORE:  # close, but not alone
        message = (
            f"plusieurs candidatures correspondent à « {one_line(wanted, 60)} » : {suggestions}. "
            "Précisez le nom ou donnez le n°."
        )
    else:
        message = f"aucune candidature ne correspond à « {one_line(wanted, 60)} »"
        message += f" ; peut-être : {suggestions}" if suggestions else ""
    raise UnknownApplication(message, [display_structure(a) for a in close])


# --- recording ----------------------------------------------------------------------------


def current_decision(session: Session, application_id: int) -> str | None:
    """The decision that counts for the application (the latest), or None."""
    return session.scalars(
        select(Decision.decision)
        .where(Decision.application_id == application_id)
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(1)
    ).first()


def current_decisions(session: Session, programme_id: str) -> dict[int, str]:
    """The decision that counts per application of the programme (those with one)."""
    rows = session.execute(
        select(Decision.application_id, Decision.decision)
        .join(Application, Application.id == Decision.application_id)
        .where(Application.programme_id == programme_id)
        .order_by(Decision.created_at, Decision.id)
    ).all()
    return {application_id: decision for application_id, decision in rows}


def record_decision(
    session: Session,
    application: Application,
    decision: str,
    source: str,
    now: dt.datetime,
    note: str | None = None,
    by: str | None = None,
) -> bool:
    """Record ``decision`` (with ``note``, by ``by``) unless it is already the current one
    with that note (no note given: the current one's note stands); True when recorded."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    latest = session.scalars(
        select(Decision)
        .where(Decision.application_id == application.id)
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(1)
    ).first()
    before = latest.decision if latest is not None else None
    if before == decision and (note is None or (latest.note or None) == note):
        return False
    session.add(
        Decision(
            application_id=application.id,
            decision=decision,
            source=source,
            note=note,
            created_at=now,
            decided_by=by,
        )
    )
    detail = f"Décision pour « {one_line(display_structure(application))} » : "
    detail += f"« {decision_label(decision)} »"
    if before is not None and before != decision:
        detail += f" (auparavant « {decision_label(before)} »)"
    detail += f", {_SOURCE_LABELS.get(source, source)}" + (f" par {by}" if by else "")
    if note:
        detail += f" – {one_line(note)}"
    log_event(
        session,
        now,
        "decision",
        detail + ".",
        application_id=application.id,
        decision=decision,
        previous=before,
        source=source,
        note=note,
        **({"by": by} if by else {}),
    )
    session.flush()
    return True


# --- importing the sheet ------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    row: int  # the sheet's row number, as the spreadsheet shows it
    application_id: int
    structure: str
    before: str | None
    after: str


@dataclass(frozen=True)
class Skipped:
    row: int
    reason: str  # in French


@dataclass
class ImportReport:
    source: str  # the file's name
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0  # rows whose decision was already the current one
    skipped: list[Skipped] = field(default_factory=list)


def sheet_rows(data: bytes, name: str) -> list[list[object]]:
    """The cells of an XLSX workbook (the sheet with the decision column) or a CSV file."""
    if data.startswith(b"PK\x03\x04"):
        return _xlsx_rows(data, name)
    if Path(name).suffix.lower() in (".csv", ".txt"):
        return _csv_rows(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(f"{name} : ancien format Excel (.xls) ; enregistrez-le en .xlsx")
    raise InputError(f"{name} : ni un classeur Excel (.xlsx) ni un fichier CSV")


def _xlsx_rows(data: bytes, name: str) -> list[list[object]]:
    try:
        with warnings.catch_warnings():
            # Excel's extensions (conditional formats, slicers) that openpyxl drops
            warnings.simplefilter("ignore", UserWarning)
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as e:
        raise InputError(f"{name} : classeur Excel illisible ({e})") from e
    try:
        sheets = [[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book]
    finally:
        book.close()
    for rows in sheets:  # the first sheet that has the columns
        if _header_row(rows) is not None:
            return rows
    return sheets[0] if sheets else []


def _csv_rows(data: bytes) -> list[list[object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV (séparateur : ;)"
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count)
    rows: list[list[object]] = []
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        # the export defused formulas with an apostrophe: take it off again
        rows.append([c[1:] if c[:1] == "'" and c[1:2] in "=+-@\t\r" and c[1:] else c for c in row])
    return rows


@dataclass(frozen=True)
class _Columns:
    header_row: int  # index in the rows
    number: int
    decision: int
    structure: int | None


def _header_row(rows: list[list[object]]) -> _Columns | None:
    for index, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        folded = [fold(str(c)) if c is not None else "" for c in row]
        number = next((i for i, f in enumerate(folded) if f in _ID_HEADERS), None)
        decision = next((i for i, f in enumerate(folded) if f == "decision"), None)
        if number is not None and decision is not None:
            structure = next((i for i, f in enumerate(folded) if f == "structure"), None)
            return _Columns(index, number, decision, structure)
    return None


def _cell(row: list[object], index: int | None) -> object:
    return row[index] if index is not None and index < len(row) else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "—", "-"))


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None


def import_rows(
    session: Session,
    programme: Programme,
    rows: list[list[object]],
    source: str,
    now: dt.datetime,
) -> ImportReport:
    """Record the decisions of the sheet's rows; every bad row is reported, none aborts."""
    columns = _header_row(rows)
    if columns is None:
        raise InputError(
            f"{source} : colonnes « {ID_HEADER} » et « {DECISION_HEADER} » introuvables "
            "(le fichier doit être le tableau exporté par « guichet export »)"
        )
    applications = {
        a.id: a
        for a in session.scalars(
            select(Application).where(Application.programme_id == programme.id)
        )
    }
    report = ImportReport(source=source)
    seen: dict[int, tuple[str, int]] = {}
    for index in range(columns.header_row + 1, len(rows)):
        row, line = rows[index], index + 1
        written = _cell(row, columns.decision)
        if _blank(written):
            continue
        raw_number = _cell(row, columns.number)
        number = _number(raw_number)
        if number is None:
            shown = "absent" if _blank(raw_number) else f"« {one_line(str(raw_number), 20)} »"
            report.skipped.append(Skipped(line, f"{ID_HEADER} {shown} : ligne ignorée"))
            continue
        application = applications.get(number)
        if application is None:
            report.skipped.append(
                Skipped(line, f"{ID_HEADER} {number} : aucune candidature de ce numéro")
            )
            continue
        name = display_structure(application)
        written_name = _cell(row, columns.structure)
        if not _blank(written_name) and (structure_key(str(written_name)) != structure_key(name)):
            report.skipped.append(
                Skipped(
                    line,
                    f"{ID_HEADER} {number} est « {name} », pas « {one_line(str(written_name), 60)} »"
                    " (lignes déplacées ?) : ligne ignorée",
                )
            )
            continue
        try:
            decision = parse_decision(str(written))
        except InputError as e:
            report.skipped.append(Skipped(line, f"« {name} » : {e.message}"))
            continue
        if number in seen:
            earlier, earlier_line = seen[number]
            if earlier != decision:
                report.skipped.append(
                    Skipped(
                        line,
                        f"« {name} » : autre décision déjà lue ligne {earlier_line} "
                        f"(« {decision_label(earlier)} ») : ligne ignorée",
                    )
                )
            continue
        seen[number] = (decision, line)
        before = current_decision(session, number)
        note = f"{source}, ligne {line}"
        if record_decision(session, application, decision, SOURCE_IMPORT, now, note):
            report.changes.append(Change(line, number, name, before, decision))
        else:
            report.unchanged += 1
    return report


def import_decisions(
    session: Session, programme: Programme, path: Path, now: dt.datetime
) -> ImportReport:
    """Read the exported sheet (XLSX, or CSV) at ``path`` and record its decisions."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path} : illisible ({e.strerror})") from e
    name = Path(path).name
    return import_rows(session, programme, sheet_rows(data, name), name, now)
