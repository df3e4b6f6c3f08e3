"""Annexes of a realistic length for the benchmarks: text PDFs of several full pages.

``tests.fixtures.build_emails`` makes annexes of one or two short pages, enough to be
recognised; a real statuts or activity report runs to several pages of text. Here the
recognisable lines open the first page and numbered paragraphs fill every page (about
45 lines, 3,000 characters a page), in Helvetica as the fixtures are.
"""

from __future__ import annotations

import random

from tests.fixtures.build_emails import pdf_of_pages

FILLER = (
    "L'assemblée générale se réunit au moins une fois par an, dans les six mois de la clôture",
    "de l'exercice, sur convocation du conseil d'administration adressée à chaque membre.",
    "Les décisions sont prises à la majorité simple des voix des membres présents ou représentés,",
    "sauf dans les cas où il en est décidé autrement par la loi ou par les présents statuts.",
    "En 2025, nos équipes ont accompagné 120 bénéficiaires, animé 48 ateliers et formé 15 bénévoles;",
    "le chiffre d'affaires atteint 182 450 € (+12 %) pour des charges de 175 320 €.",
    "Le conseil d'administration est composé de trois administrateurs au moins, nommés pour quatre ans.",
    "Les comptes de l'exercice écoulé et le budget du prochain exercice sont soumis à l'approbation.",
)


def long_pdf(first_lines: list[str], pages: int, seed: int = 0) -> bytes:
    """A text PDF of ``pages`` full pages, ``first_lines`` at the top of the first."""
    rng = random.Random(seed)
    texts = []
    for page in range(pages):
        shown = list(first_lines) if page == 0 else []
        paragraph = 1 + page * 6
        while len(shown) < 46:
            shown.append(f"Article {paragraph}.")
            shown.extend(rng.choice(FILLER) for _ in range(5))
            paragraph += 1
        texts.append(shown[:46] + [f"Page {page + 1} / {pages}"])
    return pdf_of_pages(texts, size=10, leading=15, top=790, compress=True)


def statuts(org: str, seed: int) -> bytes:
    return long_pdf(
        ["STATUTS COORDONNÉS", org, "Association sans but lucratif (ASBL)",
         "TITRE I – DÉNOMINATION, SIÈGE, OBJET, DURÉE",
         "Article 1. L'association adopte la forme d'une Association sans but lucratif (ASBL)."],
        6 + seed % 3, seed,
    )  # fmt: skip


def rapport(org: str, year: int, seed: int) -> bytes:
    return long_pdf(
        [f"Rapport d'activités {year}", org, "1. Mot de la coordination",
         f"L'année {year} a été marquée par la consolidation de nos activités."],
        6 + (seed + 1) % 3, seed + 1,
    )  # fmt: skip


def bilans(org: str, first: int, last: int, seed: int) -> bytes:
    return long_pdf(
        [f"Bilans {first}-{last}", org, f"Comptes annuels – exercices {first} et {last}",
         f"Bilan au 31/12/{first} et au 31/12/{last}"],
        6 + (seed + 2) % 3, seed + 2,
    )  # fmt: skip


def cv(person: str, org: str, seed: int) -> bytes:
    return long_pdf(
        ["Curriculum vitae", person, f"Coordination – {org}", "Expérience professionnelle"],
        6 + seed % 3, seed + 3,
    )  # fmt: skip
