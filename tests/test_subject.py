"""The subject convention, matched tolerantly (triage.subject)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.programme import load_programme
from triage.subject import clean_name, match_subject, strip_prefixes

SPEC = load_programme("blossom-2026").subject


@pytest.mark.parametrize(
    ("subject", "structure"),
    [
        (
            "Dossier de candidature – COOPCITY 2026 – Crèche Arc-en-Ciel Coop",
            "Crèche Arc-en-Ciel Coop",
        ),
        (
            "Dossier de candidature - COOPCITY 2026 - La Vélothèque d'Ixelles",
            "La Vélothèque d'Ixelles",
        ),
        ("Dossier de candidature — COOPCITY 2026 — Traiteur Mosaïque", "Traiteur Mosaïque"),
        ("RE: Dossier de candidature – COOPCITY 2026 – Traiteur Mosaïque", "Traiteur Mosaïque"),
        ("Fwd: TR: RE : Dossier de candidature – COOPCITY 2026 – Le Rayon", "Le Rayon"),
        ("AW: Re[2]: WG: Dossier de candidature – COOPCITY 2026 – Le Rayon", "Le Rayon"),
        ("dossier de candidature - coopcity 2026 - la velotheque", "la velotheque"),
        ("DOSSIER DE CANDIDATURE – COOPCITY 2026 – CINÉMA DU PARVIS", "CINÉMA DU PARVIS"),
        ("Dossier  de   candidature  –  COOPCITY  2026  –   Le  Rayon  ", "Le Rayon"),
        ("Dossier de candidature – COOPCITY 2026 – [Le Rayon Solidaire]", "Le Rayon Solidaire"),
        ("Dossier de candidature – COOPCITY 2026 – [Le Rayon Solidaire", "Le Rayon Solidaire"),
        ("Dossier de candidature – COOPCITY 2026 – « Le Rayon »", "Le Rayon"),
        ("Dossier de candidature: COOPCITY 2026: Le Rayon", "Le Rayon"),
        ("Dossier de candidature COOPCITY 2026 Le Comptoir des Cheffes", "Le Comptoir des Cheffes"),
        ("Dossier de candidature – COOPCITY 2026-2027 – Le Rayon", "Le Rayon"),
        ("Dossier de candidature\u00a0–\u00a0COOPCITY 2026\u00a0–\u00a0Le Rayon", "Le Rayon"),
        ("Dossier de candidature – COOPCITY 2026 – L’Atelier (ASBL)", "L’Atelier (ASBL)"),
    ],
)
def test_tolerant_match_extracts_the_name(subject: str, structure: str) -> None:
    found = match_subject(subject, SPEC)
    assert found.follows
    assert found.structure == structure
    assert found.year == 2026
    assert found.warnings == ()


def test_decomposed_accents_still_match() -> None:
    subject = "Dossier de candidature – COOPCITY 2026 – Cre\u0300che"
    found = match_subject(subject, SPEC)
    assert found.follows and found.structure == "Crèche"


@pytest.mark.parametrize(
    ("subject", "year", "warning"),
    [
        ("Dossier de candidature – COOPCITY 2025 – Le Rayon", 2025, "2025 au lieu de 2026"),
        ("Dossier de candidature – COOPCITY – Le Rayon", None, "ne mentionne pas l'année 2026"),
    ],
)
def test_year_missing_or_different_is_a_warning(
    subject: str, year: int | None, warning: str
) -> None:
    found = match_subject(subject, SPEC)
    assert found.follows and found.structure == "Le Rayon" and found.year == year
    assert any(warning in w for w in found.warnings)


@pytest.mark.parametrize(
    "subject",
    [
        "Dossier de candidature – COOPCITY 2026 – [nom de votre structure]",
        "Dossier de candidature – COOPCITY 2026",
        "Dossier de candidature – COOPCITY 2026 – ",
    ],
)
def test_no_name(subject: str) -> None:
    found = match_subject(subject, SPEC)
    assert found.follows and found.structure is None
    assert any("nom de la structure" in w for w in found.warnings)


@pytest.mark.parametrize(
    "subject",
    [
        "Question sur le programme BLOSSOM",
        "Candidature BLOSSOM – Le Rayon",
        "Réponse automatique : Dossier de candidature – COOPCITY 2026 – Le Rayon",
        "Une question sur le dossier de candidature COOPCITY 2026",
        "",
        None,
    ],
)
def test_off_convention(subject: str | None) -> None:
    found = match_subject(subject, SPEC)
    assert not found.follows and found.structure is None
    assert found.warnings and found.warnings[0].startswith("Objet hors convention")


def test_strip_prefixes_stacked() -> None:
    assert strip_prefixes("RE: TR: Fwd: Réf. : AW:  Sujet") == "Sujet"
    assert strip_prefixes("[EXT] RE: Sujet") == "Sujet"
    assert strip_prefixes("Rencontre: sujet") == "Rencontre: sujet"  # not a prefix


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("[Le Rayon]", "Le Rayon"),
        ("(Le Rayon)", "Le Rayon"),
        ("- Le Rayon -", "Le Rayon"),
        ("L'Atelier (ASBL)", "L'Atelier (ASBL)"),
        ("[nom de votre structure]", None),
        ("  ", None),
    ],
)
def test_clean_name(raw: str, clean: str | None) -> None:
    assert clean_name(raw) == clean


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(subject: str) -> None:
    found = match_subject(subject, SPEC)
    assert isinstance(found.follows, bool)


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from(["", "RE: ", "TR: ", "Fwd: RE: ", "AW: "]),
    dash=st.sampled_from(["-", "–", "—", ":"]),
    name=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40),
)
def test_generated_convention_subjects(prefix: str, dash: str, name: str) -> None:
    found = match_subject(
        f"{prefix}Dossier de candidature {dash} COOPCITY 2026 {dash} {name}", SPEC
    )
    assert found.follows
