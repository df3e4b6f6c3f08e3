"""Recognising annexes from their name, then their first page (triage.annexes)."""

from __future__ import annotations

import pytest

from config.programme import load_programme
from triage.annexes import financial_years, fold, recognise_annex, years_in

ANNEXES = load_programme("blossom-2026").annexes


def by_name(name: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    found = recognise_annex(name, None, ANNEXES)
    return found.keys, found.years


@pytest.mark.parametrize(
    ("name", "keys", "years"),
    [
        ("STATUTS.pdf", ("statuts",), ()),
        ("Statuts coordonnés.pdf", ("statuts",), ()),
        ("statuts_asbl_2019.pdf", ("statuts",), ()),
        ("Publication Moniteur belge.pdf", ("statuts",), ()),
        ("Rapport d'activité 2025.pdf", ("rapport_activite",), ()),
        ("Rapport d’activités 2025.pdf", ("rapport_activite",), ()),
        ("rapport_activites_2025.pdf", ("rapport_activite",), ()),
        ("RapportActivite2025.pdf", ("rapport_activite",), ()),
        ("Rapport annuel 2025.pdf", ("rapport_activite",), ()),
        ("Comptes 2024.pdf", ("bilans",), (2024,)),
        ("Bilan 2025.pdf", ("bilans",), (2025,)),
        ("Bilans 2024-2025.pdf", ("bilans",), (2024, 2025)),
        ("bilans_2024_2025.pdf", ("bilans",), (2024, 2025)),
        ("Comptes annuels 2025.pdf", ("bilans",), (2025,)),
        ("Compte de résultats 2024.xlsx", ("bilans",), (2024,)),
        ("Bilans 2023-25.pdf", ("bilans",), (2023, 2024, 2025)),
        ("Jaarrekening 2024.pdf", ("bilans",), (2024,)),
        ("CV_Deprez.pdf", ("cv",), ()),
        ("CV Omar Deprez.docx", ("cv",), ()),
        ("MonCV.pdf", ("cv",), ()),
        ("curriculum_vitae.pdf", ("cv",), ()),
        ("Statuts et rapport d'activité 2025.pdf", ("statuts", "rapport_activite"), ()),
    ],
)
def test_recognised_by_name(name: str, keys: tuple[str, ...], years: tuple[int, ...]) -> None:
    assert by_name(name) == (keys, years)


@pytest.mark.parametrize(
    "name",
    [
        "Budget 2026.pdf",
        "Plan financier 2026-2028.pdf",
        "Budget prévisionnel et bilan 2026.pdf",
        "cvs-export.csv",
        "photo.jpg",
        "logo.png",
        "lettre de motivation.pdf",
        "Compte rendu AG.pdf",
        "scan0001.pdf",
        "Prévisions 2026 – comptes.pdf",
    ],
)
def test_not_an_annex_by_name(name: str) -> None:
    assert by_name(name) == ((), ())


@pytest.mark.parametrize(
    ("text", "key", "years"),
    [
        (
            "STATUTS COORDONNÉS\nASBL X\nArticle 12. Les comptes annuels sont approuvés",
            "statuts",
            (),
        ),
        ("Rapport d'activités 2025\nASBL X\nL'année 2025 a été", "rapport_activite", ()),
        ("Comptes annuels – exercice 2024\nASBL X\nBilan au 31/12/2024", "bilans", (2024,)),
        ("ASBL X\nBILAN AU 31 DÉCEMBRE 2025\nActif", "bilans", (2025,)),
        ("Comptes annuels des exercices 2024 et 2025", "bilans", (2024, 2025)),
        ("Curriculum vitae\nOmar Deprez\n2016-2021: chargée de projets", "cv", ()),
    ],
)
def test_recognised_by_first_page(text: str, key: str, years: tuple[int, ...]) -> None:
    found = recognise_annex("scan0001.pdf", lambda: text, ANNEXES)
    assert (found.keys, found.years, found.source) == ((key,), years, "contenu")


def test_a_budget_is_not_a_bilan_even_by_content() -> None:
    text = "Budget prévisionnel 2026\nCompte de résultats prévisionnel\nBilan prévisionnel"
    assert recognise_annex("document.pdf", lambda: text, ANNEXES).keys == ()


def test_the_first_page_is_read_only_when_needed() -> None:
    calls = []

    def page() -> str:
        calls.append(1)
        return "Comptes annuels au 31/12/2024"

    assert recognise_annex("Statuts.pdf", page, ANNEXES).keys == ("statuts",) and not calls
    assert recognise_annex("Bilan 2025.pdf", page, ANNEXES).years == (2025,) and not calls
    assert recognise_annex("Bilan.pdf", page, ANNEXES).years == (2024,) and calls == [1]


def test_years_and_folding() -> None:
    assert years_in("Comptes 2024 & 2025") == (2024, 2025)
    assert years_in("Bilan 2025 v2") == (2025,)
    assert years_in("Bilans 2019-2030") == (2019, 2030)  # not a plausible span: no range
    assert financial_years("Déposé le 15/06/2026 – exercice clôturé le 31/12/2025") == (2025,)
    assert fold("RapportD’Activité_2025") == "rapport d activite 2025"
