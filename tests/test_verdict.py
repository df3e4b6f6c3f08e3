"""The pure verdict (triage.verdict): status order, missing keys, warnings."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from config.programme import load_programme
from triage.annexes import AnnexMatch
from triage.subject import SubjectMatch
from triage.verdict import (
    DossierFile,
    Evidence,
    choose_dossier,
    decide,
    field_warnings,
    postcode_of,
)

PROGRAMME = load_programme("blossom-2026")
UTC = dt.UTC
ON_TIME = dt.datetime(2026, 9, 10, 8, 0, tzinfo=UTC)
FOLLOWS = SubjectMatch(follows=True, structure="Le Rayon", year=2026)
OFF = SubjectMatch(
    follows=False, structure=None, year=None, warnings=("Objet hors convention : « x ».",)
)
FIELDS = {
    "entreprise.nom": "Le Rayon Solidaire ASBL",
    "entreprise.date_creation": "2014-04-11",
    "entreprise.adresse": "Rue Théodore de Cuyper 109, 1200 Woluwe-Saint-Lambert",
}
ALL_ANNEXES = (
    ("Statuts.pdf", AnnexMatch(("statuts",))),
    ("Rapport 2025.pdf", AnnexMatch(("rapport_activite",))),
    ("Bilan 2024.pdf", AnnexMatch(("bilans",), (2024,))),
    ("Bilan 2025.pdf", AnnexMatch(("bilans",), (2025,))),
    ("CV.pdf", AnnexMatch(("cv",))),
)


def dossier(
    name: str = "dossier.docx", fmt: str = "docx", missing: tuple[str, ...] = (), **fields
) -> DossierFile:
    return DossierFile(filename=name, format=fmt, fields={**FIELDS, **fields}, missing=missing)


def evidence(**kw) -> Evidence:
    base = {
        "automatic": None,
        "subject": FOLLOWS,
        "received": ON_TIME,
        "dossiers": (dossier(),),
        "annexes": ALL_ANNEXES,
    }
    return Evidence(**(base | kw))


def test_complete() -> None:
    v = decide(evidence(), PROGRAMME)
    assert (v.status, v.structure, v.missing, v.bilans_years) == (
        "complet",
        "Le Rayon",
        [],
        [2024, 2025],
    )
    assert v.annexes == {
        "statuts": ["Statuts.pdf"],
        "rapport_activite": ["Rapport 2025.pdf"],
        "bilans": ["Bilan 2024.pdf", "Bilan 2025.pdf"],
        "cv": ["CV.pdf"],
        "autres": [],
    }
    assert v.warnings == []


def test_automatic_comes_first() -> None:
    v = decide(evidence(automatic="en-tête Auto-Submitted"), PROGRAMME)
    assert (v.status, v.structure, v.missing, v.bilans_years) == ("automatique", None, [], [])


def test_no_dossier_and_subject_off_is_not_an_application() -> None:
    v = decide(evidence(subject=OFF, dossiers=()), PROGRAMME)
    assert (v.status, v.structure, v.missing, v.bilans_years) == ("non_candidature", None, [], [])


def test_subject_off_but_dossier_attached_is_an_application_with_a_warning() -> None:
    v = decide(evidence(subject=OFF), PROGRAMME)
    assert (v.status, v.structure) == ("complet", "Le Rayon Solidaire ASBL")
    assert any(w.startswith("Objet hors convention") for w in v.warnings)


@pytest.mark.parametrize(
    ("received", "status"),
    [
        (dt.datetime(2026, 9, 14, 7, 59, 59, tzinfo=UTC), "complet"),
        (dt.datetime(2026, 9, 14, 8, 0, 0, tzinfo=UTC), "complet"),
        (dt.datetime(2026, 9, 14, 8, 0, 1, tzinfo=UTC), "hors_delai"),
        (
            dt.datetime(2026, 9, 14, 10, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "hors_delai",
        ),
    ],
)
def test_deadline_in_brussels_time(received: dt.datetime, status: str) -> None:
    assert decide(evidence(received=received), PROGRAMME).status == status


def test_deadline_in_winter_time() -> None:
    winter = replace(PROGRAMME, deadline=dt.datetime(2026, 1, 15, 10, 0))
    assert (
        decide(evidence(received=dt.datetime(2026, 1, 15, 8, 30, tzinfo=UTC)), winter).status
        == "complet"
    )
    assert (
        decide(evidence(received=dt.datetime(2026, 1, 15, 9, 0, 1, tzinfo=UTC)), winter).status
        == "hors_delai"
    )


def test_late_beats_incomplete_and_keeps_the_missing_list() -> None:
    late = dt.datetime(2026, 9, 15, tzinfo=UTC)
    v = decide(evidence(received=late, annexes=ALL_ANNEXES[:2]), PROGRAMME)
    assert v.status == "hors_delai" and v.missing == ["annexe.bilans", "annexe.cv"]


def test_unknown_receipt_time_is_a_warning() -> None:
    v = decide(evidence(received=None), PROGRAMME)
    assert v.status == "complet" and any("réception inconnue" in w for w in v.warnings)


def test_naive_receipt_time_is_refused() -> None:
    with pytest.raises(ValueError):
        decide(evidence(received=dt.datetime(2026, 9, 1)), PROGRAMME)


def test_missing_fields_and_annexes_sorted() -> None:
    v = decide(
        evidence(
            dossiers=(dossier(missing=("referent.nom", "entreprise.etp")),),
            annexes=ALL_ANNEXES[1:3],
        ),
        PROGRAMME,
    )
    assert v.status == "incomplet"
    assert v.missing == [
        "annexe.bilans",
        "annexe.cv",
        "annexe.statuts",
        "entreprise.etp",
        "referent.nom",
    ]


def test_no_dossier_lists_dossier_and_annexes_only() -> None:
    v = decide(evidence(dossiers=(), annexes=ALL_ANNEXES[2:3]), PROGRAMME)
    assert v.status == "incomplet" and v.structure == "Le Rayon"
    assert v.missing == [
        "annexe.bilans",
        "annexe.cv",
        "annexe.rapport_activite",
        "annexe.statuts",
        "dossier",
    ]


def test_bilans_need_two_distinct_years() -> None:
    same_year = (
        ("Bilan 2025.pdf", AnnexMatch(("bilans",), (2025,))),
        ("Comptes 2025.pdf", AnnexMatch(("bilans",), (2025,))),
    )
    v = decide(evidence(annexes=ALL_ANNEXES[:2] + ALL_ANNEXES[4:] + same_year), PROGRAMME)
    assert v.missing == ["annexe.bilans"] and v.bilans_years == [2025]
    one_file = (("Bilans 2024-2025.pdf", AnnexMatch(("bilans",), (2024, 2025))),)
    v = decide(evidence(annexes=ALL_ANNEXES[:2] + ALL_ANNEXES[4:] + one_file), PROGRAMME)
    assert v.status == "complet" and v.bilans_years == [2024, 2025]
    no_year = (("Bilan.pdf", AnnexMatch(("bilans",))),)
    v = decide(evidence(annexes=ALL_ANNEXES[:2] + ALL_ANNEXES[4:] + no_year), PROGRAMME)
    assert v.missing == ["annexe.bilans"] and any("non identifié" in w for w in v.warnings)


def test_unrecognised_files_are_other_pieces() -> None:
    v = decide(evidence(annexes=ALL_ANNEXES + (("photo.jpg", AnnexMatch(())),)), PROGRAMME)
    assert v.annexes["autres"] == ["photo.jpg"] and v.status == "complet"


def test_structure_from_the_dossier_when_the_subject_has_none() -> None:
    subject = SubjectMatch(
        follows=True,
        structure=None,
        year=2026,
        warnings=("L'objet ne donne pas le nom de la structure.",),
    )
    assert decide(evidence(subject=subject), PROGRAMME).structure == "Le Rayon Solidaire ASBL"


def test_word_is_preferred_to_its_pdf_export() -> None:
    chosen, warnings = choose_dossier(
        [dossier("d.pdf", "pdf"), dossier("d.docx", "docx", missing=("referent.nom",))]
    )
    assert chosen.filename == "d.docx"
    assert len(warnings) == 1 and "Word et en PDF" in warnings[0]


def test_pdf_only_and_several_dossiers() -> None:
    chosen, warnings = choose_dossier(
        [dossier("a.pdf", "pdf", missing=("x",)), dossier("b.pdf", "pdf")]
    )
    assert chosen.filename == "b.pdf"
    assert any("Plusieurs dossiers" in w for w in warnings) and any(
        "PDF seulement" in w for w in warnings
    )


def test_dossiers_of_different_structures_are_flagged() -> None:
    _, warnings = choose_dossier(
        [dossier("a.docx"), dossier("b.docx", **{"entreprise.nom": "Autre SC"})]
    )
    assert any("même nom" in w for w in warnings)


def test_parser_warnings_pass_through() -> None:
    tracked = DossierFile(
        "d.docx",
        "docx",
        FIELDS,
        (),
        ("Le document contient des modifications suivies non acceptées.",),
    )
    v = decide(evidence(dossiers=(tracked,)), PROGRAMME)
    assert v.warnings == [
        "Dossier « d.docx » : Le document contient des modifications suivies non acceptées."
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"entreprise.date_creation": "2025-01-10"}, "moins de 2 ans"),
        ({"entreprise.date_creation": "2024-10"}, "moins de 2 ans"),
        ({"entreprise.adresse": "Grand-Place 1, 1300 Wavre"}, "Code postal 1300 hors"),
        ({"entreprise.adresse": "Rue du Marché 12, Bruxelles"}, "Code postal introuvable"),
    ],
)
def test_eligibility_warnings(fields: dict, expected: str) -> None:
    warnings = field_warnings({**FIELDS, **fields}, PROGRAMME)
    assert len(warnings) == 1 and expected in warnings[0]


def test_no_eligibility_warning_for_an_old_brussels_company() -> None:
    assert (
        field_warnings(FIELDS | {"entreprise.date_creation": "2024-09-14"}, PROGRAMME)
        == []
    )


@pytest.mark.parametrize(
    ("address", "postcode"),
    [
        ("Rue de Ransbeek 178, 1120 Neder-Over-Heembeek", 1120),
        ("Chaussée de Waterloo 1151, 1180 Uccle", 1180),
        ("Avenue Louise 1000\nB-1050 Ixelles", 1050),
        ("Rue Haute 2, 1000", 1000),
        ("Rue Haute", None),
    ],
)
def test_postcode_of(address: str, postcode: int | None) -> None:
    assert postcode_of(address) == postcode


# --- unread answers: never missing, « à vérifier » when required -------------------------

SCORE_WARNING = (
    "Autodiagnostic 5 (« Notre offre de services actuelle est pertine… ») : valeur hors de "
    "l’échelle 1-10 (« 12/10 »)."
)


def unread_dossier(
    unread: dict[str, str] | None = None,
    name: str = "dossier.docx",
    missing: tuple[str, ...] = (),
    warnings: tuple[str, ...] = (),
) -> DossierFile:
    found = {"autodiagnostic.5": "12/10"} if unread is None else unread
    return DossierFile(
        filename=name,
        format="docx",
        fields=dict(FIELDS),
        missing=missing,
        warnings=warnings,
        unread=tuple(found),
        unread_raw=found,
    )


def test_an_unread_required_answer_is_complete_and_to_check() -> None:
    v = decide(evidence(dossiers=(unread_dossier(warnings=(SCORE_WARNING,)),)), PROGRAMME)
    assert v.status == "complet" and v.missing == []
    assert v.unread == v.unread_required == ["autodiagnostic.5"]
    assert v.needs_check
    # the parser's warning quotes what was found: it is not said twice
    assert [w for w in v.warnings if "12/10" in w] == [f"Dossier « dossier.docx » : {SCORE_WARNING}"]


def test_an_unread_answer_no_warning_quotes_gets_one() -> None:
    v = decide(evidence(dossiers=(unread_dossier({"signature.date": "le lendemain"}),)), PROGRAMME)
    assert v.status == "complet" and v.needs_check
    assert v.warnings == [
        "Dossier « dossier.docx » : Signature : date (« Le ») : réponse écrite mais non lue "
        "(« le lendemain »), à vérifier."
    ]


def test_an_unread_optional_answer_is_listed_but_not_to_check() -> None:
    v = decide(
        evidence(dossiers=(unread_dossier({"referent.date_naissance": "hier"}),)), PROGRAMME
    )
    assert v.status == "complet"
    assert v.unread == ["referent.date_naissance"] and v.unread_required == []
    assert not v.needs_check
    assert v.warnings == []  # optional: the parser's own warning, if any, is enough


def test_unread_is_never_missing_even_when_something_else_is() -> None:
    annexes = tuple(a for a in ALL_ANNEXES if a[0] != "CV.pdf")
    dossier_ = unread_dossier(missing=("referent.nom",))
    v = decide(evidence(dossiers=(dossier_,), annexes=annexes), PROGRAMME)
    assert v.status == "incomplet"
    assert v.missing == ["annexe.cv", "referent.nom"]
    assert v.unread_required == ["autodiagnostic.5"]


def test_a_late_dossier_keeps_its_unread_answers() -> None:
    late = dt.datetime(2026, 9, 14, 8, 0, 1, tzinfo=UTC)
    v = decide(evidence(dossiers=(unread_dossier(),), received=late), PROGRAMME)
    assert v.status == "hors_delai" and v.unread_required == ["autodiagnostic.5"]


def test_no_dossier_nothing_unread() -> None:
    v = decide(evidence(dossiers=()), PROGRAMME)
    assert v.unread == [] and not v.needs_check


def test_fewer_missing_is_not_better_when_more_is_unread() -> None:
    three = {"autodiagnostic.1": "11", "autodiagnostic.2": "0", "signature.date": "bientôt"}
    unsure = unread_dossier(three, "a.docx")
    gap = unread_dossier({}, "b.docx", missing=("referent.nom",))
    chosen, warnings = choose_dossier([unsure, gap])
    assert chosen.filename == "b.docx"  # 1 answer to get, against 3 to check
    assert any("« b.docx », le plus complet" in w for w in warnings)


def test_with_as_many_answers_lacking_the_missing_one_weighs_more() -> None:
    unsure = unread_dossier({"autodiagnostic.1": "11"}, "b.docx")
    gap = unread_dossier({}, "a.docx", missing=("referent.nom",))
    chosen, _ = choose_dossier([gap, unsure])
    assert chosen.filename == "b.docx"
