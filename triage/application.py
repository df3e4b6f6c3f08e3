"""One application per structure: its key, and its verdict over every mail it received. Pure.

A structure writes its name many ways ("La Vélothèque d'Ixelles SRL", "la velotheque
d'ixelles"): ``structure_key`` folds case, accents and punctuation, and drops legal
forms and a leading article, so they meet. ``combine`` judges an application from the
verdicts of its mails (``Contribution``): the latest dossier received before the
deadline counts, annexes sent in any mail before the deadline add up, and what arrived
after the deadline is noted, not counted. Nothing on time at all: ``hors_delai``. The
answers written but not read (``unread``) are those of the dossier that counts: they are
never missing, and a required one makes the application « à vérifier » (``needs_check``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from config.programme import Programme
from triage.annexes import OTHER, fold
from triage.verdict import COMPLET, DOSSIER, HORS_DELAI, INCOMPLET, flagged, required_unread

# Belgian (and a few French) legal forms, as they appear after folding.
LEGAL_FORMS = frozenset(
    {
        "asbl", "vzw", "aisbl", "ivzw", "srl", "bv", "sc", "scrl", "scrlfs", "cv", "cvba",
        "sa", "nv", "sprl", "bvba", "scs", "snc", "sfs", "sarl", "sas", "scop", "scic",
    }
)  # fmt: skip
_ARTICLES = frozenset({"l", "la", "le", "les"})
SENDER_KEY_PREFIX = "courriel:"  # an application known only by its sender, for now


def structure_key(name: str | None) -> str | None:
    """The name under which mails about one structure meet; None when nothing is left."""
    if not name:
        return None
    words = fold(name).split()
    words = [w for w in words if w not in LEGAL_FORMS]
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    key = " ".join(words)
    return key[:400] or None


def sender_key(address: str) -> str:
    return f"{SENDER_KEY_PREFIX}{address.strip().lower()}"[:400]


@dataclass(frozen=True)
class Contribution:
    """What one mail of an application brought, as its own verdict saw it."""

    ref: int  # the message's id in the store, for ordering ties and pointing back
    received: dt.datetime  # aware
    structure: str | None
    annexes: dict[str, list[str]]  # annex key -> file names
    bilans_years: tuple[int, ...] = ()
    dossier_missing: tuple[str, ...] | None = None  # the form's missing fields; None: no dossier
    dossier_name: str | None = None
    warnings: tuple[str, ...] = ()
    dossier_unread: tuple[str, ...] = ()  # the form's fields written but not read

    @property
    def has_dossier(self) -> bool:
        return self.dossier_missing is not None


@dataclass(frozen=True)
class ApplicationVerdict:
    status: str
    structure: str | None
    missing: list[str]
    annexes: dict[str, list[str]]
    bilans_years: list[int]
    warnings: list[str] = field(default_factory=list)
    current: int | None = None  # ref of the contribution whose dossier counts
    unread: list[str] = field(default_factory=list)  # of the dossier that counts, any field
    unread_required: list[str] = field(default_factory=list)

    @property
    def needs_check(self) -> bool:
        """« À vérifier »: a required answer of the dossier that counts could not be read,
        or a mail that counts had a damaged file or files left unread (``flagged``)."""
        return bool(self.unread_required or flagged(self.warnings))


def _years_shortfall(label: str, wanted: int) -> str:
    # The same words triage.verdict uses, so a mail's stale line can be recognised.
    return f"{label} : {wanted} exercices distincts demandés"


def _local(when: dt.datetime, programme: Programme) -> str:
    return f"{when.astimezone(programme.zone):%d/%m/%Y à %H:%M:%S}"


def combine(contributions: Sequence[Contribution], programme: Programme) -> ApplicationVerdict:
    """The verdict on an application from its mails' contributions (at least one)."""
    if not contributions:
        raise ValueError("an application has at least one mail")
    ordered = sorted(contributions, key=lambda c: (c.received, c.ref))
    deadline = programme.deadline_at
    on_time = [c for c in ordered if deadline is None or c.received <= deadline]
    late = [c for c in ordered if c not in on_time]
    considered = on_time or ordered

    dossiers = [c for c in considered if c.has_dossier]
    current = dossiers[-1] if dossiers else None
    missing: list[str] = list(current.dossier_missing or ()) if current else [DOSSIER]

    annexes: dict[str, list[str]] = {spec.key: [] for spec in programme.annexes}
    annexes[OTHER] = []
    years: set[int] = set()
    for c in considered:
        for key, names in c.annexes.items():
            bucket = annexes.setdefault(key, [])
            bucket.extend(n for n in names if n not in bucket)
        years.update(c.bilans_years)

    stale = tuple(_years_shortfall(s.label, s.years) for s in programme.annexes if s.years)
    warnings: list[str] = []
    for c in considered:
        if c.has_dossier and c is not current:
            continue  # an older version: its remarks are about a dossier that no longer counts
        warnings.extend(w for w in c.warnings if not w.startswith(stale))

    for spec in programme.annexes:
        if not spec.required:
            continue
        if not annexes.get(spec.key):
            missing.append(f"annexe.{spec.key}")
        elif spec.years and len(years) < spec.years:
            missing.append(f"annexe.{spec.key}")
            found = ", ".join(map(str, sorted(years))) or "aucun identifié"
            warnings.append(f"{_years_shortfall(spec.label, spec.years)}, reçu(s) : {found}.")

    if len(dossiers) > 1 and current is not None:
        warnings.append(
            f"{len(dossiers)} versions du dossier reçues : la dernière "
            f"(« {current.dossier_name} », reçue le {_local(current.received, programme)}) compte."
        )
    if on_time and late:
        for c in late:
            what = "Nouvelle version du dossier" if c.has_dossier else "Courriel complémentaire"
            warnings.append(
                f"{what} reçu(e) le {_local(c.received, programme)}, après la clôture : "
                "non pris en compte."
            )

    structure = next((c.structure for c in reversed(considered) if c.structure), None)
    if structure is None:
        structure = next((c.structure for c in reversed(ordered) if c.structure), None)
    missing = sorted(set(missing))
    status = HORS_DELAI if not on_time else INCOMPLET if missing else COMPLET
    unread = list(dict.fromkeys(current.dossier_unread)) if current else []
    return ApplicationVerdict(
        status=status,
        structure=structure,
        missing=missing,
        annexes=annexes,
        bilans_years=sorted(years),
        warnings=list(dict.fromkeys(warnings)),
        current=current.ref if current else None,
        unread=unread,
        unread_required=required_unread(unread, programme),
    )
