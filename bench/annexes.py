"""Annexes of a realistic length for the benchmarks: text PDFs of several full pages.

``tests.fixtures.build_emails`` makes annexes of one or two short pages, enough to be
recognised; a real statuts or activity report runs to several pages of text. Here the
recognisable lines open the first page and numbered paragraphs fill every page (about
45 lines, 3,000 characters a page), in Helvetica as the fixtures are.
"""

from __future__ import annotations

import io
import random
import zlib

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

    def escape(text: str) -> bytes:
        raw = text.encode("cp1252", "replace")
        return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        (
            "<< /Type /Pages /Kids [" + " ".join(f"{4 + 2 * i} 0 R" for i in range(pages))
            + f"] /Count {pages} >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for page in range(pages):
        shown = list(first_lines) if page == 0 else []
        paragraph = 1 + page * 6
        while len(shown) < 46:
            shown.append(f"Article {paragraph}.")
            shown.extend(rng.choice(FILLER) for _ in range(5))
            paragraph += 1
        shown = shown[:46] + [f"Page {page + 1} / {pages}"]
        stream = zlib.compress(
            b"BT /F1 10 Tf 15 TL 56 790 Td\n"
            + b"".join(b"(" + escape(line) + b") Tj T*\n" for line in shown)
            + b"ET"
        )
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * page} 0 R >>".encode()
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    start = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, start))
    return out.getvalue()


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
