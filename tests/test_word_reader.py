"""The Word reader sees what Word shows: content controls, insertions, text boxes, symbols."""

from __future__ import annotations

import pytest

from guichet.errors import UnreadableDocument, UnsupportedFormat
from parsers.word_reader import read_word
from tests.wordml import docx_bytes, p, run, table


def texts(body: str) -> list[str]:
    return [b.text for b in read_word(docx_bytes(body)).blocks]


def test_plain_paragraphs_in_order() -> None:
    assert texts(p("Nom : ", "Deprez") + p("Prénom : Omar")) == ["Nom : Deprez", "Prénom : Omar"]


def test_inline_content_control_is_read_with_its_tag() -> None:
    body = p(
        run("Prénom : "),
        '<w:sdt><w:sdtPr><w:tag w:val="prenom"/></w:sdtPr><w:sdtContent>' + run("Marie") + "</w:sdtContent></w:sdt>",
    )
    blocks = read_word(docx_bytes(body)).blocks
    assert blocks[0].text == "Prénom : Marie"
    assert blocks[0].tag == "prenom"


def test_content_control_showing_its_placeholder_is_not_an_answer() -> None:
    body = p(
        run("Prénom : "),
        "<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>"
        + run("Cliquez ou appuyez ici pour entrer du texte.")
        + "</w:sdtContent></w:sdt>",
    )
    assert texts(body) == ["Prénom : "]


def test_block_content_control_paragraphs_are_read() -> None:
    body = p("Question ?") + "<w:sdt><w:sdtPr/><w:sdtContent>" + p("Réponse 1") + p("Réponse 2") + "</w:sdtContent></w:sdt>"
    assert texts(body) == ["Question ?", "Réponse 1", "Réponse 2"]


def test_rows_and_cells_wrapped_in_content_controls_keep_their_coordinates() -> None:
    body = (
        "<w:tbl><w:tblPr/><w:tblGrid/>"
        "<w:sdt><w:sdtPr/><w:sdtContent><w:tr><w:tc>" + p("Nom") + "</w:tc>"
        "<w:sdt><w:sdtPr/><w:sdtContent><w:tc>" + p("Deprez") + "</w:tc></w:sdtContent></w:sdt>"
        "</w:tr></w:sdtContent></w:sdt></w:tbl>"
    )
    blocks = read_word(docx_bytes(body)).blocks
    assert [(b.text, b.row, b.col) for b in blocks] == [("Nom", 0, 0), ("Deprez", 0, 1)]


def test_tracked_insertions_are_read_and_deletions_are_not() -> None:
    body = p(
        run("Agrément : "),
        '<w:del w:id="1" w:author="A" w:date="2026-09-01T10:00:00Z"><w:r><w:delText>oui/non</w:delText></w:r></w:del>',
        '<w:ins w:id="2" w:author="A" w:date="2026-09-01T10:00:00Z">' + run("non") + "</w:ins>",
    )
    doc = read_word(docx_bytes(body))
    assert [b.text for b in doc.blocks] == ["Agrément : non"]
    assert doc.tracked_changes


def test_moved_text_is_read_once_at_its_new_place() -> None:
    body = p('<w:moveFrom w:id="1" w:author="A">' + run("ancien") + "</w:moveFrom>", '<w:moveTo w:id="2" w:author="A">' + run("nouveau") + "</w:moveTo>")
    assert texts(body) == ["nouveau"]


def test_text_box_is_read_once_after_its_anchor_paragraph() -> None:
    box = p("Dans la boîte")
    drawing = (
        "<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wp:anchor><a:graphic><a:graphicData>"
        f"<wps:wsp><wps:txbx><w:txbxContent>{box}</w:txbxContent></wps:txbx></wps:wsp>"
        "</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
        f"<mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>{box}</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r>"
    )
    blocks = read_word(docx_bytes(p(run("Adresse : "), drawing) + p("Suite"))).blocks
    assert [(b.text, b.source) for b in blocks] == [
        ("Adresse : ", "body"),
        ("Dans la boîte", "textbox"),
        ("Suite", "body"),
    ]


def test_symbols_smart_tags_fields_and_hyperlinks_give_their_text() -> None:
    body = p(
        '<w:r><w:sym w:font="Wingdings" w:char="F0FE"/></w:r>',
        run(" Digital economy "),
        '<w:smartTag w:uri="u" w:element="place">' + run("Bruxelles") + "</w:smartTag>",
        '<w:fldSimple w:instr="DATE">' + run(" 12/03/2019") + "</w:fldSimple>",
        '<w:hyperlink r:id="x" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' + run(" www.x.be") + "</w:hyperlink>",
    )
    assert texts(body) == ["☒ Digital economy Bruxelles 12/03/2019 www.x.be"]


def test_complex_field_codes_are_not_text() -> None:
    body = p(
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        '<w:r><w:instrText> MERGEFIELD nom </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
        run("Deprez"),
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
    )
    assert texts(body) == ["Deprez"]


def test_merged_cells_are_read_once_and_spans_shift_columns() -> None:
    body = (
        "<w:tbl><w:tblPr/><w:tblGrid/>"
        '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr>' + p("Titre") + "</w:tc><w:tc>" + p("C") + "</w:tc></w:tr>"
        '<w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr>' + p("Haut") + "</w:tc><w:tc>" + p("B") + "</w:tc><w:tc>" + p("C2") + "</w:tc></w:tr>"
        "<w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr>" + p("") + "</w:tc><w:tc>" + p("B3") + "</w:tc><w:tc>" + p("C3") + "</w:tc></w:tr>"
        "</w:tbl>"
    )
    blocks = read_word(docx_bytes(body)).blocks
    assert [(b.text, b.row, b.col) for b in blocks] == [
        ("Titre", 0, 0), ("C", 0, 2), ("Haut", 1, 0), ("B", 1, 1), ("C2", 1, 2), ("B3", 2, 1), ("C3", 2, 2),
    ]


def test_nested_tables_get_their_own_coordinates() -> None:
    inner = table(["a", "b"])
    blocks = read_word(docx_bytes(table(["outer", inner]))).blocks
    assert [(b.text, b.table, b.col) for b in blocks] == [("outer", 0, 0), ("a", 1, 0), ("b", 1, 1)]


def test_line_breaks_and_tabs_are_kept() -> None:
    assert texts(p('<w:r><w:t>Nom</w:t><w:tab/><w:t>Deprez</w:t><w:br/><w:t>suite</w:t></w:r>')) == ["Nom\tDeprez\nsuite"]


def test_not_a_zip_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormat):
        read_word(b"not a zip at all")


def test_broken_xml_is_unreadable() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", "<w:document><w:body>")
    with pytest.raises(UnreadableDocument):
        read_word(buffer.getvalue())


def test_entities_are_not_expanded() -> None:
    import io
    import zipfile

    evil = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", evil)
    doc = read_word(buffer.getvalue())
    assert all("root:" not in b.text for b in doc.blocks)


def test_struck_through_options_are_crossed_out() -> None:
    body = p(
        run("Agrément : oui/"),
        '<w:r><w:rPr><w:strike/></w:rPr><w:t>non</w:t></w:r>',
        '<w:r><w:rPr><w:strike w:val="0"/></w:rPr><w:t> (demande faite)</w:t></w:r>',
    )
    assert texts(body) == ["Agrément : oui/ (demande faite)"]


# --- hostile packages (issue #11, point 3) ------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def streamed_docx(head: bytes, repeated: bytes, size: int, tail: bytes) -> bytes:
    """A Word package whose document.xml is ``head``, ``repeated`` up to ``size`` bytes,
    then ``tail``: written in chunks, so the test never holds the inflated part."""
    import io
    import zipfile

    from tests.wordml import CONTENT_TYPES, RELS

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        with z.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(head)
            chunk = repeated * max(1, (1 << 20) // len(repeated))
            written = 0
            while written < size:
                part.write(chunk)
                written += len(chunk)
            part.write(tail)
    return out.getvalue()


def paragraph_bomb(size: int = 60 << 20, prefix: str = "w") -> bytes:
    """60 MB of empty paragraphs: a few hundred KB once compressed."""
    declare = f'xmlns:{prefix}="{W_NS}"' if prefix else f'xmlns="{W_NS}"'
    tag = f"{prefix}:" if prefix else ""
    return streamed_docx(
        f'<?xml version="1.0"?><{tag}document {declare}><{tag}body>'.encode(),
        f"<{tag}p/>".encode(),
        size,
        f"</{tag}body></{tag}document>".encode(),
    )


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("isolated", [True, False])
def test_sixty_megabytes_of_paragraphs_are_refused_before_parsing(isolated: bool) -> None:
    data = paragraph_bomb()
    assert len(data) < 1 << 20
    before = peak_rss_mb()
    with pytest.raises(UnreadableDocument, match="document Word démesuré") as refused:
        read_word(data, isolated=isolated)
    assert peak_rss_mb() - before < 100  # never inflated whole, never parsed
    assert "paragraphes" in refused.value.message or "fois plus grand" in refused.value.message


@pytest.mark.parametrize("prefix", ["", "ns0"])
def test_paragraphs_are_counted_whatever_the_namespace_prefix(prefix: str) -> None:
    from parsers import word_reader

    # Few bytes each, yet well within the ratio cap: only the count can refuse it.
    repeated = "".join(
        f"<{prefix + ':' if prefix else ''}p>{i:05d}</{prefix + ':' if prefix else ''}p>" for i in range(2000)
    ).encode()
    tag = f"{prefix}:" if prefix else ""
    declare = f'xmlns:{prefix}="{W_NS}"' if prefix else f'xmlns="{W_NS}"'
    data = streamed_docx(
        f'<?xml version="1.0"?><{tag}document {declare}><{tag}body>'.encode(),
        repeated,
        word_reader.MAX_PARAGRAPHS * 20,
        f"</{tag}body></{tag}document>".encode(),
    )
    with pytest.raises(UnreadableDocument, match=r"plus de 50\u202f000 paragraphes"):
        read_word(data, isolated=False)


def test_a_part_that_inflates_a_thousand_times_is_refused() -> None:
    data = streamed_docx(
        f'<?xml version="1.0"?><w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>'.encode(),
        b"a",
        20 << 20,
        b"</w:t></w:r></w:p></w:body></w:document>",
    )
    with pytest.raises(UnreadableDocument, match="fois plus grand que le fichier compressé"):
        read_word(data)


def test_a_long_real_document_is_still_read() -> None:
    import random

    words = ["statuts", "entreprise", "coopérative", "Bruxelles", "projet", "mission", "impact"]
    rng = random.Random(11)
    body = "".join(p(" ".join(rng.choice(words) for _ in range(12))) for _ in range(8000))
    blocks = read_word(docx_bytes(body)).blocks
    assert len(blocks) == 8000


def test_reading_happens_in_the_capped_child() -> None:
    from parsers.word_reader import Limits

    # A few megabytes of XML in an address space smaller than any interpreter's: only a
    # capped child fails so, and says so in words.
    data = docx_bytes("".join(p(f"Ligne {i} du rapport d’activité") for i in range(30000)))
    with pytest.raises(UnreadableDocument, match="^Lecture du document Word"):
        read_word(data, limits=Limits(seconds=30, memory_bytes=32 << 20))
    assert len(read_word(data).blocks) == 30000


def test_a_truncated_package_is_unreadable_not_an_exception() -> None:
    data = docx_bytes("".join(p(f"ligne {i}") for i in range(2000)))
    with pytest.raises(UnreadableDocument):
        read_word(data[: len(data) // 2])


def test_libxml2_out_of_memory_is_memory_not_corruption() -> None:
    """Under the child's cap, libxml2 reports an allocation failure as a syntax error
    (ERR_NO_MEMORY); the document is then too big, never « corrompu »."""
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import os, resource\n"
        "from parsers.word_reader import read_word\n"
        "from tests.wordml import docx_bytes, p\n"
        "data = docx_bytes(''.join(p(f'Ligne {i} du rapport') for i in range(30000)))\n"
        "size = int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE')\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + (24 << 20), resource.RLIM_INFINITY))\n"
        "try:\n"
        "    read_word(data, isolated=False)\n"
        "except MemoryError:\n"
        "    print('memory')\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
        "else:\n"
        "    print('read')\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "memory"
