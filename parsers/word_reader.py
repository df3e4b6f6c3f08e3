"""Read a Word (.docx/.docm/.dotx) package into text blocks, as Word shows it.

python-docx drops content controls, tracked insertions, text boxes, fields and
symbols (see the reading guide), so this is one lxml walk over the main document
part. It descends into ``w:sdtContent``, ``w:ins``, ``w:moveTo``, ``w:smartTag``,
``w:customXml``, ``w:fldSimple``, ``w:hyperlink`` and ``mc:Choice``; it skips
``w:del``, ``w:moveFrom``, ``mc:Fallback``, field instructions, struck-through text
(crossed-out options) and content controls still showing their placeholder. Paragraphs and table cells come out in document
order; text boxes come right after the paragraph that anchors them.

Word files come from strangers, as PDFs do: by default ``read_word`` parses in a child
process capped in wall time and address space (``parsers.isolation``), and an absurd
package is refused before any XML is parsed (``check_package``, also run in the child):
a main part that inflates more than ``MAX_RATIO`` times its compressed size, or holds
more than ``MAX_PARAGRAPHS`` paragraphs (counted while the part is inflated in chunks).
``isolated=False`` parses in this process (tests, benchmarks): the early refusals still
hold, the time and memory caps do not.
"""

from __future__ import annotations

import io
import posixpath
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from guichet.errors import UnreadableDocument, UnsupportedFormat
from parsers.blocks import Block, DocumentText
from parsers.isolation import READERS, run_isolated

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)

MAX_PART_BYTES = 64 * 1024 * 1024  # an uncompressed document.xml larger than this is refused
# Real documents' main parts inflate 5 to 30 times; a part made of the same few bytes
# repeated (a « bomb ») much more. Only parts past RATIO_FLOOR are judged by their ratio.
MAX_RATIO = 100
RATIO_FLOOR = 2 * 1024 * 1024
# A 300-page report holds about 10,000 paragraphs (table cells count); a form, a few hundred.
MAX_PARAGRAPHS = 50_000
_CHUNK = 1024 * 1024
TOO_BIG = "document Word démesuré"


@dataclass(frozen=True)
class Limits:
    """What one Word file may cost before we give up on it (the child's caps)."""

    seconds: float = 60.0
    memory_bytes: int = 2 << 30


DEFAULT_LIMITS = Limits()
TASK = "Lecture du document Word"  # names the reading in the French messages of parsers.isolation


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


P, TBL, TR, TC, SDT, SDT_CONTENT, SDT_PR = (_w(t) for t in ("p", "tbl", "tr", "tc", "sdt", "sdtContent", "sdtPr"))
R, T, TAB, BR, CR, SYM = (_w(t) for t in ("r", "t", "tab", "br", "cr", "sym"))
DEL, MOVE_FROM, INS, MOVE_TO = (_w(t) for t in ("del", "moveFrom", "ins", "moveTo"))
INSTR_TEXT, DEL_TEXT, DEL_INSTR = (_w(t) for t in ("instrText", "delText", "delInstrText"))
NO_BREAK_HYPHEN, SOFT_HYPHEN, TXBX_CONTENT = (_w(t) for t in ("noBreakHyphen", "softHyphen", "txbxContent"))
FLD_CHAR = _w("fldChar")
ALTERNATE, CHOICE, FALLBACK = (f"{{{MC}}}{t}" for t in ("AlternateContent", "Choice", "Fallback"))
CHECKBOX = f"{{{W14}}}checkbox"

# Containers never read: deleted text, the old place of moved text, fallbacks
# (mc:Choice already holds the same content), property elements.
SKIPPED = {DEL, MOVE_FROM, FALLBACK, _w("pPr"), _w("rPr"), _w("tblPr"), _w("trPr"), _w("tcPr"),
           _w("tblGrid"), _w("sectPr"), SDT_PR, _w("sdtEndPr"), _w("bookmarkStart")}
TRACKED = {DEL, MOVE_FROM, INS, MOVE_TO}

# Symbol fonts map private-use code points to glyphs; these are the boxes people tick.
SYMBOLS = {"F0FE": "☒", "F078": "☒", "F0FD": "☒", "F0A8": "☐", "F06F": "☐", "F0FC": "✓", "F0FB": "☒"}


def read_word(
    data: bytes, *, isolated: bool = True, limits: Limits = DEFAULT_LIMITS
) -> DocumentText:
    """Blocks of a WordprocessingML package (.docx, .docm, .dotx, .dotm).

    Raises ``UnreadableDocument`` (or ``UnsupportedFormat``) with a French reason. An absurd
    package is refused here, before a child is started; the reading itself runs in the
    capped child unless ``isolated`` is False.
    """
    if not isolated:
        return _read_word(data)
    check_package(data)
    return run_isolated(
        _read_word,
        (data,),
        seconds=limits.seconds,
        memory_bytes=limits.memory_bytes,
        task=TASK,
        preload=READERS,
    )


def check_package(data: bytes) -> None:
    """Refuse a Word package that is not a zip, has no main part, or whose main part is
    absurd (size, compression ratio, paragraph count); memory stays flat (chunks)."""
    try:
        with _open_package(data) as package:
            _inflate_main_part(package, keep=False)
    except (UnreadableDocument, UnsupportedFormat):
        raise
    except Exception as e:  # noqa: BLE001 - hostile bytes in this process: never a traceback
        raise UnreadableDocument(
            f"document Word endommagé : impossible de le lire ({type(e).__name__})."
        ) from e


def _read_word(data: bytes) -> DocumentText:
    root = _load_main_part(data)
    body = root.find(_w("body"))
    if body is None:
        raise UnreadableDocument("document Word sans corps de texte.")
    walker = _Walker()
    walker.walk_container(body)
    tracked = any(el.tag in TRACKED for el in body.iter(DEL, INS, MOVE_FROM, MOVE_TO))
    return DocumentText(format="docx", blocks=walker.blocks, tracked_changes=tracked)


def _open_package(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise UnsupportedFormat("fichier Word illisible : ce n'est pas une archive .docx valide.") from e


def _load_main_part(data: bytes) -> etree._Element:
    with _open_package(data) as package:
        xml = _inflate_main_part(package, keep=True)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as e:
        if e.code == etree.ErrorTypes.ERR_NO_MEMORY:
            # libxml2 out of memory (the child's cap) says so as a syntax error: the
            # document is too big for the cap, not corrupt
            raise MemoryError from e
        raise UnreadableDocument("document Word corrompu : XML invalide.") from e


def _inflate_main_part(package: zipfile.ZipFile, *, keep: bool) -> bytes:
    """The main part's bytes (``b""`` unless ``keep``), refused as soon as it proves absurd."""
    name = _main_part_name(package)
    try:
        info = package.getinfo(name)
    except KeyError as e:
        raise UnsupportedFormat("archive sans document Word (ni .docx ni .docm).") from e
    megabytes = MAX_PART_BYTES >> 20
    if info.file_size > MAX_PART_BYTES:
        raise UnreadableDocument(f"{TOO_BIG} (plus de {megabytes} Mo de texte) : refusé.")
    chunks: list[bytes] = []
    counter = _ParagraphCounter()
    total = 0
    try:
        with package.open(info) as part:
            while chunk := part.read(_CHUNK):
                total += len(chunk)
                if total > MAX_PART_BYTES:
                    raise UnreadableDocument(f"{TOO_BIG} (plus de {megabytes} Mo de texte) : refusé.")
                if total > RATIO_FLOOR and total > MAX_RATIO * max(info.compress_size, 1):
                    raise UnreadableDocument(
                        f"{TOO_BIG} (texte plus de {MAX_RATIO} fois plus grand que le fichier "
                        "compressé) : refusé."
                    )
                if counter.feed(chunk) > MAX_PARAGRAPHS:
                    raise UnreadableDocument(
                        f"{TOO_BIG} (plus de {MAX_PARAGRAPHS:,} paragraphes) : refusé.".replace(",", "\u202f")
                    )
                if keep:
                    chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError, zlib.error) as e:
        raise UnreadableDocument("document Word corrompu : impossible de le décompresser.") from e
    return b"".join(chunks)


_W_PREFIX = re.compile(rb'xmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*["\']' + re.escape(W.encode()) + rb'["\']')


class _ParagraphCounter:
    """Counts ``<w:p>`` start tags in a part fed in chunks (whatever prefix names the
    WordprocessingML namespace); a tag cut between two chunks is counted once."""

    def __init__(self) -> None:
        self.count = 0
        self._pattern: re.Pattern[bytes] | None = None
        self._head = b""
        self._tail = b""

    def feed(self, chunk: bytes) -> int:
        if self._pattern is None:
            self._head += chunk
            found = _W_PREFIX.search(self._head)
            if found is None and len(self._head) < 64 * 1024:
                return self.count
            prefix = (found.group(1) + b":") if found and found.group(1) else b"" if found else b"w:"
            self._pattern = re.compile(b"<" + re.escape(prefix) + rb"p[\s/>]")
            chunk, self._head = self._head, b""
        data = self._tail + chunk
        # keep the last few bytes: a start tag may straddle the boundary
        cut = max(len(data) - 16, 0)
        self.count += sum(1 for m in self._pattern.finditer(data) if m.start() < cut)
        self._tail = data[cut:]
        return self.count


def _main_part_name(package: zipfile.ZipFile) -> str:
    """The main document part named by the package relationships (word/document.xml usually)."""
    try:
        rels = etree.fromstring(package.read("_rels/.rels"), etree.XMLParser(resolve_entities=False, no_network=True))
    except (KeyError, etree.XMLSyntaxError, zipfile.BadZipFile, zlib.error, OSError, ValueError,
            EOFError, RuntimeError, NotImplementedError):  # a damaged package: let the main part say so
        return "word/document.xml"
    for rel in rels.iter(f"{{{REL}}}Relationship"):
        if rel.get("Type") == OFFICE_DOCUMENT and rel.get("Target"):
            return posixpath.normpath(rel.get("Target").lstrip("/"))
    return "word/document.xml"


class _Walker:
    """Collects blocks while walking the body; keeps table coordinates."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._tables = 0
        self._cell: tuple[int, int, int] | None = None

    def walk_container(self, element: etree._Element, tag: str | None = None) -> None:
        """Body, cell, content-control content, text box: paragraphs and tables in order."""
        for child in element:
            ctag = child.tag
            if ctag == P:
                self.add_paragraph(child, tag)
            elif ctag == TBL:
                self.add_table(child)
            elif ctag == SDT:
                content = child.find(SDT_CONTENT)
                if content is not None and not _shows_placeholder(child):
                    self.walk_container(content, _sdt_tag(child) or tag)
            elif ctag in SKIPPED or not isinstance(ctag, str):
                continue
            else:  # w:customXml, w:ins / w:moveTo around paragraphs, mc:AlternateContent, ...
                self.walk_container(_choice_or_self(child), tag)

    def add_paragraph(self, paragraph: etree._Element, tag: str | None) -> None:
        texts: list[str] = []
        boxes: list[etree._Element] = []
        inner_tag = _collect_runs(paragraph, texts, boxes)
        text = _clean("".join(texts))
        table, row, col = self._cell or (None, None, None)
        self.blocks.append(Block(text, table, row, col, inner_tag or tag))
        for box in boxes:
            before = len(self.blocks)
            self.walk_container(box, tag)
            # Text boxes are their own flow: mark their paragraphs.
            for i in range(before, len(self.blocks)):
                b = self.blocks[i]
                self.blocks[i] = Block(b.text, b.table, b.row, b.col, b.tag, "textbox")

    def add_table(self, table: etree._Element) -> None:
        index = self._tables
        self._tables += 1
        outer = self._cell
        for r, row in enumerate(_wrapped_children(table, TR)):
            col = 0
            for cell in _wrapped_children(row, TC):
                span = _grid_span(cell)
                if not _continues_vertical_merge(cell):
                    self._cell = (index, r, col)
                    self.walk_container(cell)
                col += span
        self._cell = outer


def _collect_runs(element: etree._Element, texts: list[str], boxes: list[etree._Element]) -> str | None:
    """Append the visible text under ``element`` (a paragraph or inline container)."""
    found_tag: str | None = None
    in_instruction = False  # between fldChar begin and separate: field code, not text
    for child in element:
        ctag = child.tag
        if not isinstance(ctag, str) or ctag in SKIPPED:
            continue
        if ctag == R:
            in_instruction = _collect_run(child, texts, boxes, in_instruction)
        elif ctag == SDT:
            if not _shows_placeholder(child):
                content = child.find(SDT_CONTENT)
                if content is not None:
                    before = len(texts)
                    _collect_runs(content, texts, boxes)
                    if len(texts) > before:
                        found_tag = found_tag or _sdt_tag(child)
        else:  # w:ins, w:moveTo, w:hyperlink, w:smartTag, w:customXml, w:fldSimple, mc:*
            inner = _collect_runs(_choice_or_self(child), texts, boxes)
            found_tag = found_tag or inner
    return found_tag


def _struck(run: etree._Element) -> bool:
    """Struck-through text is crossed out ("biffer la mention inutile"), not an answer."""
    props = run.find(_w("rPr"))
    if props is None:
        return False
    for name in ("strike", "dstrike"):
        mark = props.find(_w(name))
        if mark is not None and mark.get(_w("val"), "true") not in ("0", "false", "off"):
            return True
    return False


def _collect_run(run: etree._Element, texts: list[str], boxes: list[etree._Element], in_instruction: bool) -> bool:
    struck = _struck(run)
    for child in run:
        ctag = child.tag
        if ctag == T:
            if not in_instruction and not struck:
                texts.append(child.text or "")
        elif ctag == TAB:
            texts.append("\t")
        elif ctag in (BR, CR):
            texts.append("\n")
        elif ctag == NO_BREAK_HYPHEN:
            texts.append("-")
        elif ctag == SYM:
            char = (child.get(_w("char")) or "").upper()
            texts.append(SYMBOLS.get(char) or _private_use(char))
        elif ctag == FLD_CHAR:
            kind = child.get(_w("fldCharType"))
            in_instruction = kind == "begin" or (in_instruction and kind != "separate" and kind != "end")
        elif ctag == ALTERNATE:
            choice = _choice_or_self(child)
            boxes.extend(choice.iter(TXBX_CONTENT))
        elif ctag in (_w("drawing"), _w("pict"), _w("object")):
            boxes.extend(_outermost_boxes(child))
    return in_instruction


def _outermost_boxes(element: etree._Element) -> list[etree._Element]:
    """Text box contents under a drawing, not counting boxes nested in boxes, nor fallbacks."""
    found = []
    for box in element.iter(TXBX_CONTENT):
        ancestors = {a.tag for a in box.iterancestors()}
        if FALLBACK not in ancestors:
            found.append(box)
    return found


def _private_use(char: str) -> str:
    try:
        code = int(char, 16)
    except ValueError:
        return ""
    return "" if 0xE000 <= code <= 0xF8FF else chr(code)


def _choice_or_self(element: etree._Element) -> etree._Element:
    if element.tag == ALTERNATE:
        choice = element.find(CHOICE)
        return choice if choice is not None else element.find(FALLBACK) if element.find(FALLBACK) is not None else element
    return element


def _shows_placeholder(sdt: etree._Element) -> bool:
    props = sdt.find(SDT_PR)
    return props is not None and props.find(_w("showingPlcHdr")) is not None


def _sdt_tag(sdt: etree._Element) -> str | None:
    props = sdt.find(SDT_PR)
    if props is None:
        return None
    for name in ("tag", "alias"):
        el = props.find(_w(name))
        if el is not None and el.get(_w("val")):
            return el.get(_w("val"))
    return None


def _wrapped_children(parent: etree._Element, tag: str) -> Iterator[etree._Element]:
    """Children with ``tag`` (rows of a table, cells of a row), including those wrapped in
    content controls, custom XML or tracked insertions."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag in (SDT, _w("customXml"), INS, MOVE_TO):
            inner = child.find(SDT_CONTENT) if child.tag == SDT else child
            if inner is not None:
                yield from _wrapped_children(inner, tag)


def _grid_span(cell: etree._Element) -> int:
    span = cell.find(f"{_w('tcPr')}/{_w('gridSpan')}")
    try:
        return max(1, int(span.get(_w("val")))) if span is not None else 1
    except (TypeError, ValueError):
        return 1


def _continues_vertical_merge(cell: etree._Element) -> bool:
    merge = cell.find(f"{_w('tcPr')}/{_w('vMerge')}")
    return merge is not None and merge.get(_w("val"), "continue") == "continue"


def _clean(text: str) -> str:
    """NFC, no soft hyphens or zero-width characters; line breaks kept."""
    text = unicodedata.normalize("NFC", text)
    return text.replace("\u00ad", "").replace("\u200b", "").replace("\ufeff", "")
