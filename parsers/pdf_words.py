"""Words with their boxes, and the drawn segments, of one PDF page, from pdfium.

Words are made as pdfplumber's ``extract_words`` made them (the layout's thresholds were
tuned on those): characters are clustered into lines by their tops (3 points, in a chain),
sorted left to right, and a word ends at a space of the text, a gap wider than 3 points,
a step back, or a jump of the top by more than 3 points. A character's box is the one
pdfminer gives for fonts without a descent: from ``size`` above the baseline down to the
baseline, from its origin to the end of its advance. A space pdfium inserts where it sees a
gap ends a word as a space of the text does (pdfplumber cut there only past 3 points: « Prénom:»
and its answer after a tab now make two words); pdfium's line breaks are ignored.

Segments are the horizontal and vertical pieces of every path, subpath by subpath, in
page coordinates (form XObjects included), as pdfminer and pdfplumber make lines,
rectangles and curves of them. Coordinates are in points from the top left of the media box.
"""

from __future__ import annotations

import ctypes
import math
from operator import itemgetter
from collections.abc import Callable
from typing import TypeVar

import pypdfium2.raw as pdfium_c

from parsers.pdf_layout import Word
from parsers.pdf_tables import Edge, segment_edge

T = TypeVar("T")

TOLERANCE = 3.0  # points: pdfplumber's x_tolerance and y_tolerance
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"})
HYPHEN = "\ufffe"  # pdfium's mark for a hyphen ending a line
MAX_FORM_DEPTH = 8


def cluster(items: list[T], key: Callable[[T], float], tolerance: float) -> list[list[T]]:
    """Group items whose keys are within ``tolerance`` of the next one (pdfplumber's
    ``cluster_objects``): groups in increasing key order, items in their order inside."""
    keys = list(map(key, items))
    index: dict[float, int] = {}
    group = -1
    last = -math.inf
    for value in sorted(set(keys)):
        if value > last + tolerance:
            group += 1
        index[value] = group
        last = value
    groups: list[list[T]] = [[] for _ in range(group + 1)]
    for item, value in zip(items, keys):
        groups[index[value]].append(item)
    return groups


# --- words -------------------------------------------------------------------------


def page_words(textpage: object, count: int, text: str, left: float, top: float) -> list[Word]:
    """The words of a page's text (``text``: pdfium's text of its ``count`` characters)."""
    if len(text) != count:  # pdfium's text left characters out: ask for each one
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i)) for i in range(count))
    chars = _chars(textpage, text, left, top)
    words: list[Word] = []
    for line in cluster(chars, itemgetter(3), TOLERANCE):
        line.sort(key=itemgetter(1))
        text_, x0, x1, top_, bottom, _ = line[0]
        parts = [text_]
        last_x0, last_x1, last_top = x0, x1, top_
        for ch, cx0, cx1, ctop, cbottom, space in line[1:]:
            if (
                space
                or cx0 < last_x0
                or cx0 > last_x1 + TOLERANCE
                or abs(ctop - last_top) > TOLERANCE
            ):
                words.append(Word("".join(parts).translate(LIGATURES), x0, x1, top_, bottom))
                parts = [ch]
                x0, x1, top_, bottom = cx0, cx1, ctop, cbottom
            else:
                parts.append(ch)
                if cx1 > x1:
                    x1 = cx1
                if ctop < top_:
                    top_ = ctop
                if cbottom > bottom:
                    bottom = cbottom
            last_x0, last_x1, last_top = cx0, cx1, ctop
        words.append(Word("".join(parts).translate(LIGATURES), x0, x1, top_, bottom))
    return words


def _chars(
    textpage: object, text: str, left: float, top: float
) -> list[tuple[str, float, float, float, float, bool]]:
    """(text, x0, x1, top, bottom, space before) of each character that is not a space.

    Two calls to pdfium per character: its origin (x0 and the baseline) and its loose box
    (the end of its advance). The font size is asked once per kind of box: the box's
    height and depth below the baseline tell fonts and sizes apart.
    """
    origin_of = pdfium_c.FPDFText_GetCharOrigin
    box_of = pdfium_c.FPDFText_GetLooseCharBox
    size_of = pdfium_c.FPDFText_GetFontSize
    x, y = ctypes.c_double(), ctypes.c_double()
    px, py = ctypes.byref(x), ctypes.byref(y)
    box = pdfium_c.FS_RECTF()
    pbox = ctypes.byref(box)
    sizes: dict[tuple[float, float], float] = {}
    chars = []
    append = chars.append
    space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if ch != "\r" and ch != "\n":
                space = True
            continue
        origin_of(textpage, i, px, py)
        box_of(textpage, i, pbox)
        x0, baseline = x.value, y.value
        low = box.bottom
        kind = (low - baseline, box.top - low)
        size = sizes.get(kind)
        if size is None:
            size = sizes[kind] = size_of(textpage, i)
        if ch == HYPHEN:
            ch = "-"
        bottom = top - baseline
        right = box.right
        append((ch, x0 - left, (right if right > x0 else x0) - left, bottom - size, bottom, space))
        space = False
    return chars


# --- segments ----------------------------------------------------------------------

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def page_edges(page: object, left: float, top: float) -> list[Edge]:
    """The horizontal and vertical segments drawn on a page."""
    edges: list[Edge] = []
    count = pdfium_c.FPDFPage_CountObjects(page)
    objects = (pdfium_c.FPDFPage_GetObject(page, i) for i in range(count))
    _collect_edges(objects, IDENTITY, left, top, edges, 0)
    return edges


def _compose(inner: Matrix, outer: Matrix) -> Matrix:
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (
        a * A + b * C,
        a * B + b * D,
        c * A + d * C,
        c * B + d * D,
        e * A + f * C + E,
        e * B + f * D + F,
    )


def _matrix(obj: object) -> Matrix:
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(m)):
        return IDENTITY
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _collect_edges(
    objects: object, outer: Matrix, left: float, top: float, edges: list[Edge], depth: int
) -> None:
    for obj in objects:  # type: ignore[attr-defined]
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            matrix = _compose(_matrix(obj), outer)
            for subpath in _subpaths(obj, matrix, left, top):
                edges.extend(_subpath_edges(subpath))
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < MAX_FORM_DEPTH:
            matrix = _compose(_matrix(obj), outer)
            count = pdfium_c.FPDFFormObj_CountObjects(obj)
            inner = (pdfium_c.FPDFFormObj_GetObject(obj, i) for i in range(count))
            _collect_edges(inner, matrix, left, top, edges, depth + 1)


def _subpaths(
    obj: object, matrix: Matrix, left: float, top: float
) -> list[list[tuple[str, tuple[float, float]]]]:
    """The subpaths of a path as pdfminer sees them: (operator, end point) in page
    coordinates; "m" move, "l" line, "c" curve (its end point), "h" close (its start)."""
    a, b, c, d, e, f = matrix
    x, y = ctypes.c_float(), ctypes.c_float()
    px, py = ctypes.byref(x), ctypes.byref(y)
    subpaths: list[list[tuple[str, tuple[float, float]]]] = []
    bezier = 0
    for i in range(pdfium_c.FPDFPath_CountSegments(obj)):
        segment = pdfium_c.FPDFPath_GetPathSegment(obj, i)
        kind = pdfium_c.FPDFPathSegment_GetType(segment)
        if not pdfium_c.FPDFPathSegment_GetPoint(segment, px, py):
            continue
        point = (a * x.value + c * y.value + e - left, top - (b * x.value + d * y.value + f))
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or not subpaths:
            subpaths.append([("m", point)])
            bezier = 0
        elif kind == pdfium_c.FPDF_SEGMENT_BEZIERTO:
            bezier += 1
            if bezier % 3 == 0:  # two control points, then the end point
                subpaths[-1].append(("c", point))
        else:
            subpaths[-1].append(("l", point))
        if pdfium_c.FPDFPathSegment_GetClose(segment):
            subpaths[-1].append(("h", subpaths[-1][0][1]))
    return subpaths


def _subpath_edges(subpath: list[tuple[str, tuple[float, float]]]) -> list[Edge]:
    shape = "".join(op for op, _ in subpath)
    points = [point for _, point in subpath]
    if len(shape) > 3 and shape[-2:] == "lh" and points[-2] == points[0]:
        shape = shape[:-2] + "h"  # a closing line back to the start, then "close"
        points.pop(-2)
    if shape in ("ml", "mlh"):
        edge = segment_edge(points[0], points[1], line=True)
        return [edge] if edge else []
    found = []
    for p, q in zip(points, points[1:]):
        edge = segment_edge(p, q)
        if edge is not None:
            found.append(edge)
    return found
