"""parsers.pdf_reader on the BLOSSOM PDF samples and on small PDFs built here."""

from __future__ import annotations

import io
import os
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable

import pypdf
import pytest

from guichet.errors import EncryptedDocument, ScannedDocument, UnreadableDocument
from parsers.blocks import Block, DocumentText
from parsers.pdf_reader import Limits, _run_isolated, pdf_first_page_text, read_pdf
from tests.samples import SAMPLES, truth_of

DOSSIERS = SAMPLES / "dossiers"
PDF_SAMPLES = ["p001.pdf", "p003.pdf", "p005.pdf"]
A4 = (595.0, 842.0)
STATEMENT_STARTS = ("Nos ", "Nous ", "Notre ", "Il existe")  # the autodiagnostic statements


# --- builders ----------------------------------------------------------------------


def build_pdf(
    pages: list[list[tuple[float, float, str]]], *, size: float = 10, rules: str = ""
) -> bytes:
    """A PDF whose pages hold Helvetica texts at (x, top) positions, plus optional drawing ops."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for texts in pages:
        ops = [rules.encode()]
        for x, top, text in texts:
            escaped = (
                text.encode("cp1252")
                .replace(b"\\", b"\\\\")
                .replace(b"(", b"\\(")
                .replace(b")", b"\\)")
            )
            ops.append(b"BT /F1 %g Tf %g %g Td (%s) Tj ET" % (size, x, A4[1] - top - size, escaped))
        stream = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (*A4, len(objects))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return _serialise(objects)


def build_image_pdf() -> bytes:
    """A one-page PDF holding only an image, as a scanner makes."""
    stream = b"q 500 0 0 700 40 70 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\xff\x00 EI Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R /Resources << >> >>",
    ]
    return _serialise(objects)


def _serialise(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def blank_pdf(pages: int) -> bytes:
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(*A4)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted(data: bytes, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="proprietaire", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sample(name: str) -> bytes:
    return (DOSSIERS / name).read_bytes()


@pytest.fixture(scope="module")
def samples() -> dict[str, DocumentText]:
    return {name: read_pdf(sample(name), isolated=False) for name in PDF_SAMPLES}


def texts(document: DocumentText) -> list[str]:
    return [b.text for b in document.blocks]


def tables_of(document: DocumentText) -> dict[int, dict[tuple[int, int], str]]:
    tables: dict[int, dict[tuple[int, int], str]] = defaultdict(dict)
    for b in document.blocks:
        if b.table is not None:
            tables[b.table][(b.row, b.col)] = b.text  # type: ignore[index]
    return dict(tables)


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# --- the samples -------------------------------------------------------------------


@pytest.mark.parametrize("name", PDF_SAMPLES)
def test_every_answer_line_of_the_truth_is_in_the_blocks(
    name: str, samples: dict[str, DocumentText]
) -> None:
    document = samples[name]
    everything = squeezed("".join(texts(document)))
    raw = truth_of(DOSSIERS / name)["meta"]["raw"]
    missing = [
        (key, line)
        for key, values in raw.items()
        for value in values or []
        for line in value.splitlines()
        if squeezed(line) not in everything
    ]
    assert missing == []
    assert document.format == "pdf" and document.notes == []


@pytest.mark.parametrize("name", ["p001.pdf", "p005.pdf"])
def test_autodiagnostic_scores_are_cells_beside_their_statements(
    name: str, samples: dict[str, DocumentText]
) -> None:
    document = samples[name]
    scores = truth_of(DOSSIERS / name)["fields"]
    statements = [b for b in document.blocks if b.col == 0 and b.text.startswith(STATEMENT_STARTS)]
    assert len(statements) == 7
    for n, statement in enumerate(statements, start=1):
        score = [
            b
            for b in document.blocks
            if b.table == statement.table and b.row == statement.row and b.col == 1
        ]
        assert [b.text for b in score] == [str(scores[f"autodiagnostic.{n}"])]


def test_a_table_split_across_pages_gives_two_tables(samples: dict[str, DocumentText]) -> None:
    tables = tables_of(samples["p005.pdf"])
    assert tables[0][(4, 1)] == "6" and tables[1][(0, 0)].startswith("Notre structure est source")
    assert tables[1][(1, 0)] == (
        "Il existe des modalités de participation et d'expression par les usagers-ères, "
        "client-es, bénéficiaires sur nos offres de services."
    )


def test_tables_sit_where_they_are_on_the_page(samples: dict[str, DocumentText]) -> None:
    blocks = texts(samples["p001.pdf"])
    first_cell = next(i for i, b in enumerate(samples["p001.pdf"].blocks) if b.in_table)
    assert blocks[first_cell - 1].startswith("suivantes ? Indiquez la case entre 1 et 10")
    assert blocks[first_cell + 14] == "ETAPE 3 – SIGNER LE DOSSIER"


def test_signature_names_land_in_their_columns(samples: dict[str, DocumentText]) -> None:
    document = samples["p005.pdf"]
    signature = tables_of(document)[2]
    assert signature == {
        (0, 0): "Nom, prénom",
        (0, 1): "Nom, prénom",
        (1, 0): "MBUYI Luca",
        (1, 1): "Emmanuel Yilmaz",
        (2, 0): "Fonction",
        (2, 1): "Fonction",
        (3, 0): "Coordinateur",
        (3, 1): "Administrateur",
        (4, 0): "Signature",
        (4, 1): "Signature",
    }


def test_signature_columns_go_on_across_a_page_break(samples: dict[str, DocumentText]) -> None:
    tables = tables_of(samples["p001.pdf"])
    assert tables[1] == {
        (0, 0): "Nom, prénom : Omar Deprez",
        (0, 1): "Nom, prénom : Marie El Amrani",
        (1, 0): "Fonction : Responsable du développement",
        (1, 1): "Fonction : Présidente du CA",
        (2, 0): "Signature",  # on the next page
        (2, 1): "Signature",
    }
    assert len(tables) == 2


@pytest.mark.parametrize("name", PDF_SAMPLES)
def test_only_the_signature_lines_are_split_into_columns(
    name: str, samples: dict[str, DocumentText]
) -> None:
    blocks = samples[name].blocks
    ruled = {b.table for b in blocks if b.text.startswith(STATEMENT_STARTS)}
    fields = truth_of(DOSSIERS / name)["fields"]
    answers = {"", *(str(v) for k, v in fields.items() if k.startswith("signature."))}
    virtual = [b.text for b in blocks if b.in_table and b.table not in ruled]
    assert len(virtual) in (6, 10)
    assert {
        re.sub(r"^(Nom, prénom|Fonction|Signature) ?:? ?", "", text) for text in virtual
    } <= answers


@pytest.mark.parametrize("name", PDF_SAMPLES)
def test_page_numbers_are_gone(name: str, samples: dict[str, DocumentText]) -> None:
    document = samples[name]
    assert [b.text for b in document.blocks if not b.in_table and b.text.isdigit()] == []
    assert document.pages == {"p001.pdf": 7, "p003.pdf": 8, "p005.pdf": 8}[name]


def test_isolated_reading_gives_the_same_blocks(samples: dict[str, DocumentText]) -> None:
    assert read_pdf(sample("p005.pdf")).blocks == samples["p005.pdf"].blocks


def test_compounds_and_place_names_keep_their_hyphens(samples: dict[str, DocumentText]) -> None:
    everything = "\n".join(texts(samples["p001.pdf"]))
    assert "1120 Neder-Over-Heembeek" in everything and "CPAS de Neder-Over-Heembeek" in everything
    assert "comment ceux-ci impactent" in everything and "120 m²" in everything


def test_first_page_text_is_quick_and_plain() -> None:
    started = time.perf_counter()
    text = pdf_first_page_text(sample("p005.pdf"))
    assert time.perf_counter() - started < 5
    assert text.startswith("Dossier de\ncandidature\nPROGRAMME BLOSSOM")
    assert "ETAPE 2" not in text  # page 2
    assert pdf_first_page_text(sample("p005.pdf"), max_chars=30, isolated=False) == text[:30]


@pytest.mark.parametrize(
    "make",
    [lambda: b"not a pdf", lambda: blank_pdf(2), lambda: encrypted(sample("p001.pdf"), "secret")],
    ids=["garbage", "blank", "encrypted"],
)
def test_first_page_text_of_an_unreadable_file_is_empty(make: Callable[[], bytes]) -> None:
    assert pdf_first_page_text(make()) == ""


# --- files that cannot be read -----------------------------------------------------


def test_a_pdf_locked_by_a_password_is_refused() -> None:
    with pytest.raises(EncryptedDocument, match="mot de passe"):
        read_pdf(encrypted(sample("p001.pdf"), user_password="secret"))


def test_a_pdf_with_only_an_owner_password_is_read(samples: dict[str, DocumentText]) -> None:
    document = read_pdf(encrypted(sample("p001.pdf"), user_password=""), isolated=False)
    assert document.blocks == samples["p001.pdf"].blocks


@pytest.mark.parametrize("data", [blank_pdf(2), build_image_pdf()], ids=["blank", "image"])
def test_a_pdf_without_text_is_a_scan(data: bytes) -> None:
    with pytest.raises(ScannedDocument, match="document scanné"):
        read_pdf(data)


def test_a_page_without_text_among_text_pages_is_noted() -> None:
    text_page = [(72, 100 + 20 * i, f"Ligne {i} du dossier de candidature.") for i in range(5)]
    merged = pypdf.PdfWriter()
    merged.append(pypdf.PdfReader(io.BytesIO(build_pdf([text_page] * 4))))
    merged.append(pypdf.PdfReader(io.BytesIO(build_image_pdf())))
    out = io.BytesIO()
    merged.write(out)
    document = read_pdf(out.getvalue(), isolated=False)
    assert document.notes == ["Page(s) 5 sans texte (scannées ?) : contenu non lu."]


@pytest.mark.parametrize(
    "data", [b"", b"Bonjour, voici notre dossier.", b"%PDF-1.7\n1 0 obj\n<< /Type"]
)
def test_a_file_that_is_not_a_pdf_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_pdf(data)
    assert type(caught.value) is UnreadableDocument
    assert "\n" not in caught.value.message


def test_a_pdf_of_more_than_60_pages_is_refused() -> None:
    with pytest.raises(
        UnreadableDocument, match="PDF de plus de 60 pages : ce n’est pas un dossier"
    ):
        read_pdf(blank_pdf(61))


def test_a_reading_that_takes_too_long_is_stopped() -> None:
    started = time.perf_counter()
    with pytest.raises(UnreadableDocument, match="abandonnée après 0.5 s"):
        _run_isolated(time.sleep, (30,), Limits(seconds=0.5))
    assert time.perf_counter() - started < 10


def test_a_reading_that_needs_too_much_memory_is_stopped() -> None:
    with pytest.raises(UnreadableDocument, match="plus de 1 Go de mémoire"):
        _run_isolated(bytearray, (3 << 30,), Limits(memory_bytes=1 << 30))


def test_a_reader_that_dies_is_reported() -> None:
    with pytest.raises(UnreadableDocument, match=r"s’est arrêté \(code 3\)"):
        _run_isolated(os._exit, (3,), Limits())


# --- layout on built PDFs ----------------------------------------------------------


def test_running_headers_footers_and_page_numbers_are_dropped() -> None:
    pages = [
        [
            (72, 30, "COOPCITY – Dossier BLOSSOM 2026"),
            (72, 120, f"Texte de la page {n}, première ligne."),
            (72, 300, "6"),  # an answer on its own line, mid-page
            (72, 790, f"Version du 0{n}/09/2026"),
            (520, 805, f"Page {n} of 3"),
        ]
        for n in (1, 2, 3)
    ]
    document = read_pdf(build_pdf(pages), isolated=False)
    assert texts(document) == [
        "Texte de la page 1, première ligne.",
        "6",
        "Texte de la page 2, première ligne.",
        "6",
        "Texte de la page 3, première ligne.",
        "6",
    ]


def test_bare_page_numbers_go_but_a_last_line_answer_stays() -> None:
    label = "Nombre de pages du dossier :"
    pages = [
        [(72, 120, label), (72, 140, "2" if n == 1 else "Fin."), (300, 800, str(n))] for n in (1, 2)
    ]
    assert texts(read_pdf(build_pdf(pages), isolated=False)) == [label, "2", label, "Fin."]


def test_hyphens_at_line_ends_are_undone_only_when_sure() -> None:
    broken = [
        ("Adresse : Rue de Ransbeek 178, 1120 Neder-", "Over-Heembeek"),
        ("Nous connaissons ceux-", "ci depuis longtemps."),
        ("Que pense-t-", "il de l'organisation ?"),
        ("Une bonne organisa-", "tion du travail."),
        ("Programme 2026-", "2027 de COOPCITY"),
        ("Un mot coupé inconnu : paracha-", "vement du projet."),
        ("Au centre de la vil-", "le de Bruxelles."),
        ("UNE COOPÉRA-", "TION EN MAJUSCULES"),
        ("Structure du capital : -", "sans objet"),
    ]
    lines = [line for pair in broken for line in pair]
    pdf = build_pdf([[(72, 100 + 14 * i, text) for i, text in enumerate(lines)]])
    assert texts(read_pdf(pdf, isolated=False)) == [
        "Adresse : Rue de Ransbeek 178, 1120 Neder-Over-Heembeek",
        "Nous connaissons ceux-ci",
        "depuis longtemps.",
        "Que pense-t-il",
        "de l'organisation ?",
        "Une bonne organisation",
        "du travail.",
        "Programme 2026-2027",
        "de COOPCITY",
        "Un mot coupé inconnu : paracha-",
        "vement du projet.",
        "Au centre de la vil-",
        "le de Bruxelles.",
        "UNE COOPÉRA-",
        "TION EN MAJUSCULES",
        "Structure du capital : -",
        "sans objet",
    ]


def test_justified_lines_are_not_split_into_columns() -> None:
    words = ["Nous", "avons", "besoin", "d'un", "regard", "extérieur"]
    spread = [(72 + 80 * i, 100, w) for i, w in enumerate(words)]  # up to the right margin
    two_words = [(72, 114, "Voir"), (430, 114, "http://lerayonsolidaire.brussels")]
    full = [
        (
            72,
            128,
            "Une ligne ordinaire qui va jusqu'à la marge de droite du texte, tout simplement.",
        )
    ]
    document = read_pdf(build_pdf([spread + two_words + full]), isolated=False)
    assert not any(b.in_table for b in document.blocks)
    assert texts(document)[:2] == [" ".join(words), "Voir http://lerayonsolidaire.brussels"]


def test_signature_columns_keep_blank_cells_and_wrapped_answers() -> None:
    # LibreOffice's layout: a paragraph every 25 pt, wrapped lines 12 pt apart
    lines = [
        [(72, 200, "Nom, prénom"), (300, 200, "Nom, prénom")],
        [(300, 225, "Emmanuel Yilmaz")],  # the left answer left blank
        [(72, 250, "Fonction"), (300, 250, "Fonction")],
        [(72, 275, "Responsable du"), (300, 275, "Administrateur")],
        [(72, 287, "développement")],  # wrapped in its column
        [(72, 312, "Signature"), (300, 312, "Signature")],
    ]
    before = [(72, 150, "Fait à Bruxelles")]
    after = [(72, 370, "ETAPE 4 – VÉRIFIER QUE VOUS N’AVEZ RIEN OUBLIÉ")]
    document = read_pdf(
        build_pdf([before + [t for line in lines for t in line] + after]), isolated=False
    )
    assert document.blocks == [
        Block("Fait à Bruxelles"),
        Block("Nom, prénom", 0, 0, 0),
        Block("Nom, prénom", 0, 0, 1),
        Block("", 0, 1, 0),
        Block("Emmanuel Yilmaz", 0, 1, 1),
        Block("Fonction", 0, 2, 0),
        Block("Fonction", 0, 2, 1),
        Block("Responsable du développement", 0, 3, 0),
        Block("Administrateur", 0, 3, 1),
        Block("Signature", 0, 4, 0),
        Block("Signature", 0, 4, 1),
        Block("ETAPE 4 – VÉRIFIER QUE VOUS N’AVEZ RIEN OUBLIÉ"),
    ]


def test_a_ruled_table_gives_one_block_per_cell() -> None:
    grid = (
        "0.5 w 72 500 m 522 500 l S 72 600 m 522 600 l S 72 700 m 522 700 l S "
        "72 500 m 72 700 l S 300 500 m 300 700 l S 522 500 m 522 700 l S"
    )
    cells = [
        (80, 150, "Un libellé qui passe"),
        (80, 162, "à la ligne"),
        (310, 150, "7"),
        (80, 250, "Premier paragraphe."),
        (80, 280, "Second paragraphe."),
    ]
    document = read_pdf(
        build_pdf([[(72, 100, "Avant le tableau")] + cells + [(72, 400, "Après")]], rules=grid),
        isolated=False,
    )
    assert document.blocks == [
        Block("Avant le tableau"),
        Block("Un libellé qui passe à la ligne", 0, 0, 0),
        Block("7", 0, 0, 1),
        Block("Premier paragraphe.\nSecond paragraphe.", 0, 1, 0),
        Block("", 0, 1, 1),  # a blank cell is kept: the answer was left blank
        Block("Après"),
    ]


def test_no_break_spaces_are_normalised_and_superscripts_kept() -> None:
    document = read_pdf(
        build_pdf([[(72, 100, "Notre local\xa0: 120\xa0m², loué")]]), isolated=False
    )
    assert texts(document) == ["Notre local : 120 m², loué"]
