"""triage.application: one key per structure, one verdict over all of an application's mails."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from config.programme import load_programme
from triage.application import Contribution, combine, sender_key, structure_key

BRUSSELS = ZoneInfo("Europe/Brussels")
BLOSSOM = load_programme("blossom-2026")
ON_TIME = dt.datetime(2026, 9, 10, 12, 0, tzinfo=BRUSSELS)
LAST_SECOND = dt.datetime(2026, 9, 14, 10, 0, 0, tzinfo=BRUSSELS)
BILANS = next(a for a in BLOSSOM.annexes if a.key == "bilans")
LATE = dt.datetime(2026, 9, 14, 10, 0, 1, tzinfo=BRUSSELS)
ALL_ANNEXES = {
    "statuts": ["statuts.pdf"],
    "rapport_activite": ["rapport 2025.pdf"],
    "bilans": ["bilan 2024.pdf", "bilan 2025.pdf"],
    "cv": ["cv.pdf"],
}


def mail(
    ref: int, when: dt.datetime, *, dossier: tuple[str, ...] | None = None, **kw
) -> Contribution:
    return Contribution(
        ref=ref,
        received=when,
        structure=kw.pop("structure", "La Vélothèque d'Ixelles"),
        annexes=kw.pop("annexes", {}),
        bilans_years=kw.pop("years", ()),
        dossier_missing=dossier,
        dossier_name=kw.pop("name", f"dossier-{ref}.docx" if dossier is not None else None),
        warnings=kw.pop("warnings", ()),
        dossier_unread=kw.pop("unread", ()),
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("La Vélothèque d'Ixelles", "la velotheque d’ixelles SRL"),
        ("ASBL Crèche Arc-en-Ciel Coop", "Crèche Arc-en-Ciel Coop"),
        ("L'Atelier", "Atelier asbl"),
        ("Traiteur Mosaïque SC", "TRAITEUR MOSAÏQUE"),
    ],
)
def test_names_of_one_structure_meet(a: str, b: str) -> None:
    assert structure_key(a) == structure_key(b)


def test_keys_keep_structures_apart() -> None:
    assert structure_key("La Vélothèque d'Ixelles") != structure_key("La Vélothèque de Forest")
    assert (
        structure_key("") is None and structure_key(None) is None and structure_key("ASBL") is None
    )
    assert structure_key("Le") == "le"  # a lone article is a name
    assert sender_key("Omar@Example.ORG ") == "courriel:omar@example.org"


def test_annexes_sent_later_complete_the_dossier() -> None:
    first = mail(
        1,
        ON_TIME,
        dossier=(),
        annexes={
            "statuts": ["statuts.pdf"],
            "rapport_activite": ["r.pdf"],
            "bilans": ["c2025.pdf"],
        },
        years=(2025,),
        warnings=(f"{BILANS.label} : 2 exercices distincts demandés, reçu(s) : 2025.",),
    )
    later = mail(
        2,
        ON_TIME + dt.timedelta(days=1),
        annexes={"bilans": ["c2024.pdf"], "cv": ["cv.pdf"]},
        years=(2024,),
    )
    assert combine([first], BLOSSOM).missing == ["annexe.bilans", "annexe.cv"]
    verdict = combine([later, first], BLOSSOM)
    assert verdict.status == "complet"
    assert verdict.missing == []
    assert verdict.bilans_years == [2024, 2025]
    assert verdict.annexes["bilans"] == ["c2025.pdf", "c2024.pdf"]
    assert not [w for w in verdict.warnings if "exercices distincts" in w]  # stale, dropped
    assert verdict.current == 1


def test_the_latest_version_before_the_deadline_counts() -> None:
    v1 = mail(
        1,
        ON_TIME,
        dossier=("entreprise.tva",),
        annexes=ALL_ANNEXES,
        years=(2024, 2025),
        warnings=("old",),
    )
    v2 = mail(2, LAST_SECOND, dossier=(), warnings=("new",))
    v3 = mail(3, LATE, dossier=("entreprise.nom",))
    verdict = combine([v3, v1, v2], BLOSSOM)
    assert verdict.current == 2
    assert verdict.status == "complet" and verdict.missing == []
    assert "old" not in verdict.warnings and "new" in verdict.warnings
    assert any("2 versions du dossier" in w for w in verdict.warnings)
    assert any("après la clôture : non pris en compte" in w for w in verdict.warnings)


def test_nothing_on_time_is_hors_delai() -> None:
    verdict = combine([mail(1, LATE, dossier=(), annexes=ALL_ANNEXES, years=(2024, 2025))], BLOSSOM)
    assert verdict.status == "hors_delai"
    assert verdict.missing == []


def test_annexes_alone_miss_the_dossier() -> None:
    verdict = combine(
        [mail(1, ON_TIME, annexes=ALL_ANNEXES, years=(2024, 2025), structure=None)], BLOSSOM
    )
    assert verdict.status == "incomplet"
    assert verdict.missing == ["dossier"]
    assert verdict.current is None
    assert verdict.structure is None


def test_an_application_has_mails() -> None:
    with pytest.raises(ValueError):
        combine([], BLOSSOM)


# --- unread answers -------------------------------------------------------------------------


def test_an_unread_required_answer_leaves_the_application_complete_and_to_check() -> None:
    verdict = combine(
        [mail(1, ON_TIME, dossier=(), annexes=ALL_ANNEXES, years=(2024, 2025),
              unread=("referent.date_naissance", "autodiagnostic.5"))],
        BLOSSOM,
    )  # fmt: skip
    assert verdict.status == "complet" and verdict.missing == []
    assert verdict.unread == ["referent.date_naissance", "autodiagnostic.5"]
    assert verdict.unread_required == ["autodiagnostic.5"] and verdict.needs_check


def test_only_optional_answers_unread_is_not_to_check() -> None:
    verdict = combine(
        [mail(1, ON_TIME, dossier=(), annexes=ALL_ANNEXES, years=(2024, 2025),
              unread=("referent.date_naissance",))],
        BLOSSOM,
    )  # fmt: skip
    assert verdict.unread == ["referent.date_naissance"] and not verdict.needs_check


def test_unread_answers_are_those_of_the_version_that_counts() -> None:
    v1 = mail(1, ON_TIME, dossier=("referent.nom",), annexes=ALL_ANNEXES, years=(2024, 2025),
              unread=("autodiagnostic.5",))  # fmt: skip
    corrected = mail(2, ON_TIME + dt.timedelta(days=1), dossier=())
    assert combine([v1], BLOSSOM).unread_required == ["autodiagnostic.5"]
    verdict = combine([v1, corrected], BLOSSOM)
    assert verdict.current == 2 and verdict.status == "complet"
    assert verdict.unread == [] and not verdict.needs_check
    unsure = mail(3, ON_TIME + dt.timedelta(days=2), dossier=(), unread=("signature.date",))
    late = mail(4, LATE, dossier=(), unread=("autodiagnostic.1",))
    verdict = combine([v1, corrected, unsure, late], BLOSSOM)
    assert verdict.current == 3 and verdict.unread_required == ["signature.date"]
    assert verdict.status == "complet"


def test_annexes_alone_have_nothing_unread() -> None:
    verdict = combine([mail(1, ON_TIME, annexes=ALL_ANNEXES, years=(2024, 2025))], BLOSSOM)
    assert verdict.unread == [] and not verdict.needs_check
