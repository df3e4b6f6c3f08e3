"""The verdict on one mail: status, what is missing, what a coordinator must see. Pure.

Status, first that applies: ``automatique`` (never answered), ``non_candidature`` (no
dossier and a subject off the convention), ``hors_delai`` (received after the deadline),
``incomplet`` (a required field or annex missing), ``complet``.

Only a blank field is missing. A field the applicant wrote in but whose answer could not
be read (``unread``: a score « 12/10 », a date « le lendemain ») never makes an application
``incomplet``: when it is required, the verdict is « à vérifier » (``needs_check``) and a
coordinator reads the answer quoted in the warnings.

So is a mail with a file that arrived damaged (``damaged``: the applicant is asked for it
again), or whose reading ran out of time before every file was read (``not_read``): its
status says what was read, its warnings (``DAMAGED``, ``NOT_READ``) what was not, and
``needs_check`` holds. The same warnings flag an application (``flagged``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from config.programme import Programme
from triage.annexes import OTHER, AnnexMatch
from triage.subject import SubjectMatch

AUTOMATIQUE = "automatique"
NON_CANDIDATURE = "non_candidature"
HORS_DELAI = "hors_delai"
INCOMPLET = "incomplet"
COMPLET = "complet"

DOSSIER = "dossier"

# Warnings that make a verdict « à vérifier » (they reach applications and the digest)
DAMAGED = "Pièce endommagée"
NOT_READ = "Lecture interrompue"
NAMED_FILES = 12  # files named in a NOT_READ warning; the rest are counted

_WORD_FORMATS = ("docx",)


@dataclass(frozen=True)
class DossierFile:
    """One attachment the dossier parser accepted as a form of the programme."""

    filename: str
    format: str  # "docx" or "pdf" (a .doc/.odt converted by the parser reads "docx")
    fields: dict[str, Any]
    missing: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # the parser's, in French (tracked changes, line limits...)
    tracked_changes: bool = False
    unread: tuple[str, ...] = ()  # keys written in but not read (any field), in form order
    unread_raw: dict[str, str] = field(default_factory=dict)  # unread key -> the text found


@dataclass(frozen=True)
class Evidence:
    """Everything read from one mail, ready to judge."""

    automatic: str | None  # why it is automatic, or None
    subject: SubjectMatch
    received: dt.datetime | None  # aware
    dossiers: tuple[DossierFile, ...] = ()
    annexes: tuple[tuple[str, AnnexMatch], ...] = ()  # (file name, what it is) for other files
    notes: tuple[str, ...] = ()  # warnings from reading the mail and its containers
    damaged: tuple[tuple[str, str], ...] = ()  # (file name, why) of files that arrived damaged
    not_read: tuple[str, ...] = ()  # files left unread when the time budget was spent
    budget_seconds: float | None = None  # that budget


@dataclass(frozen=True)
class Verdict:
    status: str
    structure: str | None
    missing: list[str]
    annexes: dict[str, list[str]]
    bilans_years: list[int]
    dossier: DossierFile | None
    warnings: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # the dossier's unread keys (any field)
    unread_required: list[str] = field(default_factory=list)  # those a coordinator must read
    damaged: list[str] = field(default_factory=list)  # files that arrived damaged
    not_read: list[str] = field(default_factory=list)  # files the time budget left unread

    @property
    def needs_check(self) -> bool:
        """« À vérifier »: a required answer was written but could not be read, a file
        arrived damaged, or the reading stopped before every file was read."""
        return bool(self.unread_required or self.damaged or self.not_read)


def flagged(warnings: Sequence[str]) -> list[str]:
    """The warnings that make a verdict or an application « à vérifier » by themselves."""
    return [w for w in warnings if w.startswith((DAMAGED, NOT_READ))]


def file_warnings(evidence: Evidence) -> list[str]:
    """The ``DAMAGED`` and ``NOT_READ`` warnings of a mail."""
    warnings = [
        f"{DAMAGED} : {_names([name])} ({why}) ; l’accusé de réception demande de la renvoyer."
        for name, why in evidence.damaged
    ]
    if evidence.not_read:
        names = list(dict.fromkeys(evidence.not_read))
        shown = _names(names[:NAMED_FILES])
        if len(names) > NAMED_FILES:
            shown += f" et {len(names) - NAMED_FILES} autre(s)"
        budget = (
            f"temps de lecture de {evidence.budget_seconds:g} s épuisé"
            if evidence.budget_seconds
            else "temps de lecture épuisé"
        )
        warnings.append(
            f"{NOT_READ} ({budget}) : {len(names)} fichier(s) non lu(s), {shown} ; "
            "statut établi sans eux, à vérifier."
        )
    return warnings


def required_unread(unread: Sequence[str], programme: Programme) -> list[str]:
    """The required keys among ``unread``, in the order given, once each."""
    required = set(programme.required_keys())
    return [k for k in dict.fromkeys(unread) if k in required]


def unread_warnings(dossier: DossierFile, programme: Programme) -> list[str]:
    """A warning per required unread field whose text no parser warning quotes already."""
    warnings = []
    for key in required_unread(dossier.unread, programme):
        raw = " ".join((dossier.unread_raw.get(key) or "").split())
        if raw and any(f"« {raw[:20]}" in " ".join(w.split()) for w in dossier.warnings):
            continue
        try:
            spec = programme.form.field(key)
            title = spec.title or spec.label or key
        except KeyError:
            title = key
        quoted = f" (« {raw if len(raw) <= 80 else raw[:79].rstrip() + '…'} »)" if raw else ""
        warnings.append(f"{title} : réponse écrite mais non lue{quoted}, à vérifier.")
    return warnings


def choose_dossier(dossiers: Sequence[DossierFile]) -> tuple[DossierFile | None, list[str]]:
    """The dossier to read: a Word file before a PDF (its export), then the most complete:
    the fewest answers missing or unread, then the fewest missing."""
    if not dossiers:
        return None, []
    ranked = sorted(
        dossiers,
        key=lambda d: (
            d.format not in _WORD_FORMATS,
            len(d.missing) + len(d.unread),
            len(d.missing),
            d.filename,
        ),
    )
    chosen, others = ranked[0], ranked[1:]
    warnings = []
    pdfs = [d.filename for d in others if d.format == "pdf"]
    words = [d.filename for d in others if d.format != "pdf"]
    if chosen.format in _WORD_FORMATS and pdfs:
        warnings.append(
            f"Dossier reçu en Word et en PDF ({_names(pdfs)}) : le fichier Word "
            f"« {chosen.filename} » est lu, le PDF est ignoré."
        )
    if words or (chosen.format == "pdf" and pdfs):
        warnings.append(
            f"Plusieurs dossiers joints ({_names([d.filename for d in others])}) : "
            f"« {chosen.filename} », le plus complet, est lu."
        )
    names = {_key(d.fields.get("entreprise.nom")) for d in dossiers} - {""}
    if len(names) > 1:
        warnings.append("Les dossiers joints ne portent pas tous le même nom d'entreprise.")
    if chosen.format == "pdf":
        warnings.append(
            "Dossier reçu en PDF seulement (pas de fichier Word) : une réponse mal lue "
            "demandera le .docx."
        )
    return chosen, warnings


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"« {n} »" for n in names)


def _key(value: Any) -> str:
    return re.sub(r"\W+", " ", str(value or "")).strip().lower()


def _iso_date(value: Any) -> dt.date | None:
    """A date field as parse prints it: "YYYY-MM-DD", or "YYYY-MM" (read as the 1st)."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", value.strip())
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3] or 1))
    except ValueError:
        return None


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def postcode_of(address: str) -> int | None:
    """The Belgian postal code of an address: four digits before the town's name."""
    before_town = re.findall(r"(?<!\d)(?:B\s*-\s*|BE\s*-\s*)?(\d{4})(?!\d)[\s,]+[^\W\d_]", address)
    if before_town:
        return int(before_town[-1])
    alone = re.findall(r"(?<![\d.,])(\d{4})(?![\d.,]?\d)", address)
    return int(alone[-1]) if alone else None


def field_warnings(fields: dict[str, Any], programme: Programme) -> list[str]:
    """Eligibility warnings from the dossier's fields (the programme's `eligibility`)."""
    rules = programme.eligibility
    deadline = programme.deadline_at
    warnings = []
    founded = _iso_date(fields.get(rules.founded_field)) if rules.founded_field else None
    if founded is not None and deadline is not None and rules.min_age_years:
        limit = _years_before(deadline.date(), rules.min_age_years)
        if founded > limit:
            warnings.append(
                f"Entreprise créée le {fields[rules.founded_field]} : moins de "
                f"{rules.min_age_years} ans avant la clôture du {deadline.date().isoformat()}."
            )
    address = fields.get(rules.address_field) if rules.address_field else None
    if rules.region and isinstance(address, str) and address.strip():
        first, last = rules.region.postcodes
        postcode = postcode_of(address)
        if postcode is None:
            warnings.append(
                f"Code postal introuvable dans l'adresse « {address} » : vérifier que le "
                f"siège est en {rules.region.name}."
            )
        elif not first <= postcode <= last:
            warnings.append(f"Code postal {postcode} hors de la {rules.region.name} ({first}-{last}).")
    return warnings


def _annex_lists(
    annexes: Sequence[tuple[str, AnnexMatch]], programme: Programme
) -> tuple[dict[str, list[str]], dict[str, set[int]], list[str]]:
    lists: dict[str, list[str]] = {spec.key: [] for spec in programme.annexes}
    lists[OTHER] = []
    years: dict[str, set[int]] = {spec.key: set() for spec in programme.annexes}
    warnings = []
    counted = {spec.key for spec in programme.annexes if spec.years}
    for name, match in annexes:
        keys = [k for k in match.keys if k in lists] or [OTHER]
        for key in keys:
            lists[key].append(name)
            if key in counted:
                years[key].update(match.years)
                if not match.years:
                    warnings.append(f"« {name} » : exercice comptable non identifié (à vérifier).")
    return lists, years, warnings


def _late_warning(received: dt.datetime, deadline: dt.datetime, zone_name: str) -> str:
    local = received.astimezone(deadline.tzinfo)
    return (
        f"Reçu le {local:%d/%m/%Y à %H:%M:%S} ({zone_name}), après la clôture "
        f"du {deadline:%d/%m/%Y à %H:%M}."
    )


def decide(evidence: Evidence, programme: Programme) -> Verdict:
    """Judge one mail against one programme."""
    if evidence.received is not None and evidence.received.tzinfo is None:
        raise ValueError("received must be an aware datetime")
    lists, years, annex_warnings = _annex_lists(evidence.annexes, programme)
    notes = list(evidence.notes)
    if evidence.automatic:
        warning = f"Message automatique ({evidence.automatic}) : ne pas répondre."
        return _not_an_application(AUTOMATIQUE, lists, [warning, *notes])
    about_files = file_warnings(evidence)
    damaged = [name for name, _ in evidence.damaged]
    not_read = list(dict.fromkeys(evidence.not_read))
    dossier, dossier_warnings = choose_dossier(evidence.dossiers)
    if dossier is None and not evidence.subject.follows:
        verdict = _not_an_application(NON_CANDIDATURE, lists, about_files + notes)
        return replace(verdict, damaged=damaged, not_read=not_read)

    warnings: list[str] = list(evidence.subject.warnings)
    warnings.extend(dossier_warnings)
    if dossier is not None:
        warnings.extend(f"Dossier « {dossier.filename} » : {w}" for w in dossier.warnings)
        warnings.extend(
            f"Dossier « {dossier.filename} » : {w}" for w in unread_warnings(dossier, programme)
        )
        warnings.extend(field_warnings(dossier.fields, programme))

    missing = list(dossier.missing) if dossier is not None else [DOSSIER]
    bilans_years: set[int] = set()
    for spec in programme.annexes:
        if not spec.required:
            continue
        files = lists.get(spec.key, [])
        if spec.years:
            bilans_years |= years[spec.key]
        if not files:
            missing.append(f"annexe.{spec.key}")
        elif spec.years and len(years[spec.key]) < spec.years:
            missing.append(f"annexe.{spec.key}")
            found = ", ".join(map(str, sorted(years[spec.key]))) or "aucun identifié"
            warnings.append(
                f"{spec.label} : {spec.years} exercices distincts demandés, reçu(s) : {found}."
            )
    warnings.extend(annex_warnings)

    late = False
    deadline = programme.deadline_at
    if deadline is not None:
        if evidence.received is None:
            warnings.append("Heure de réception inconnue : le respect du délai n'est pas vérifié.")
        elif evidence.received > deadline:
            late = True
            warnings.append(_late_warning(evidence.received, deadline, programme.timezone))

    structure = evidence.subject.structure
    if structure is None and dossier is not None:
        name = dossier.fields.get("entreprise.nom")
        structure = name if isinstance(name, str) and name.strip() else None

    status = HORS_DELAI if late else INCOMPLET if missing else COMPLET  # unread: never missing
    unread = list(dict.fromkeys(dossier.unread)) if dossier is not None else []
    return Verdict(
        status=status,
        structure=structure,
        missing=sorted(set(missing)),
        annexes=lists,
        bilans_years=sorted(bilans_years),
        dossier=dossier,
        warnings=_unique(about_files + warnings + notes),
        unread=unread,
        unread_required=required_unread(unread, programme),
        damaged=damaged,
        not_read=not_read,
    )


def _not_an_application(status: str, annexes: dict[str, list[str]], warnings: list[str]) -> Verdict:
    """Nothing is missing from what is not an application, and it names no structure."""
    return Verdict(status, None, [], annexes, [], None, warnings)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
