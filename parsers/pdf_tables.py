"""Ruled tables from the lines and rectangles drawn on a PDF page: geometry only.

The algorithm is pdfplumber's ``lines`` table strategy (MIT licence; itself after Anssi
Nurminen's thesis and Tabula), kept step for step so that tables come out as they did
when pdfplumber found them: the horizontal and vertical segments of every path are
snapped together (3 points), joined where they nearly touch (3 points), and kept when
at least 3 points long; their crossings (3 points of tolerance) are the corners of
cells, the smallest rectangle whose four sides are drawn; cells sharing a corner make
a table, and a table has at least two cells.

Coordinates are in points from the top left of the page (``top`` grows downwards).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from operator import attrgetter

SNAP = 3.0
JOIN = 3.0
MIN_LENGTH = 3.0
MIN_LENGTH_PREFILTER = 1.0
INTERSECTION = 3.0

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom
Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Edge:
    """A horizontal ("h") or vertical ("v") segment."""

    x0: float
    top: float
    x1: float
    bottom: float
    orientation: str

    @property
    def bbox(self) -> BBox:
        return (self.x0, self.top, self.x1, self.bottom)

    @property
    def length(self) -> float:
        return self.bottom - self.top if self.orientation == "v" else self.x1 - self.x0


def segment_edge(a: Point, b: Point, *, line: bool = False) -> Edge | None:
    """The edge from ``a`` to ``b``, or None when it is neither horizontal nor vertical.

    ``line``: the segment is a whole path of its own (pdfminer's LTLine), which
    pdfplumber calls horizontal when flat and vertical otherwise.
    """
    x0, x1 = sorted((a[0], b[0]))
    top, bottom = sorted((a[1], b[1]))
    if abs(a[1] - b[1]) < 1e-6:
        orientation = "h"
        top = bottom = a[1]
    elif line or abs(a[0] - b[0]) < 1e-6:
        orientation = "v"
        if not line:
            x0 = x1 = a[0]
    else:
        return None
    return Edge(x0, top, x1, bottom, orientation)


@dataclass(frozen=True, slots=True)
class Row:
    """The cells of one row, one per column of the table; None where a merged cell covers."""

    cells: list[BBox | None]


@dataclass(frozen=True, slots=True)
class Table:
    """A ruled table: its cells, and rows built as pdfplumber builds them."""

    cells: list[BBox]

    @property
    def bbox(self) -> BBox:
        c = self.cells
        return (
            min(b[0] for b in c),
            min(b[1] for b in c),
            max(b[2] for b in c),
            max(b[3] for b in c),
        )

    @property
    def rows(self) -> list[Row]:
        ordered = sorted(self.cells, key=lambda b: (b[1], b[0]))
        xs = sorted({b[0] for b in self.cells})
        rows = []
        for _, row_cells in itertools.groupby(ordered, key=lambda b: b[1]):
            by_x = {b[0]: b for b in row_cells}
            rows.append(Row([by_x.get(x) for x in xs]))
        return rows


def find_tables(edges: list[Edge]) -> list[Table]:
    """The ruled tables drawn by these edges, top to bottom then left to right."""
    edges = [e for e in edges if e.length >= MIN_LENGTH_PREFILTER]
    edges = [e for e in _merge_edges(edges) if e.length >= MIN_LENGTH]
    intersections = _intersections(edges)
    cells = _cells(intersections)
    return [Table(cells) for cells in _group_cells(cells)]


# --- merging -----------------------------------------------------------------------


def _cluster(values: list[float], tolerance: float) -> dict[float, int]:
    """Cluster index of each value: sorted values closer than ``tolerance`` in a chain."""
    clusters: dict[float, int] = {}
    index = -1
    last: float | None = None
    for x in sorted(set(values)):
        if last is None or x > last + tolerance:
            index += 1
        clusters[x] = index
        last = x
    return clusters


def _snap(edges: list[Edge], attr: str, tolerance: float) -> list[Edge]:
    """Move the edges whose ``attr`` (x0 or top) is within tolerance to their average."""
    if not edges:
        return []
    index = _cluster([getattr(e, attr) for e in edges], tolerance)
    groups: dict[int, list[Edge]] = {}
    for e in sorted(edges, key=lambda e: index[getattr(e, attr)]):
        groups.setdefault(index[getattr(e, attr)], []).append(e)
    snapped = []
    for group in groups.values():
        average = sum(getattr(e, attr) for e in group) / len(group)
        for e in group:
            shift = average - getattr(e, attr)
            if attr == "x0":
                snapped.append(Edge(e.x0 + shift, e.top, e.x1 + shift, e.bottom, e.orientation))
            else:
                snapped.append(Edge(e.x0, e.top + shift, e.x1, e.bottom + shift, e.orientation))
    return snapped


def _merge_edges(edges: list[Edge]) -> list[Edge]:
    """Snap the edges on nearly the same line together, then join those that nearly touch."""
    vertical = _snap([e for e in edges if e.orientation == "v"], "x0", SNAP)
    horizontal = _snap([e for e in edges if e.orientation == "h"], "top", SNAP)

    def group(e: Edge) -> tuple[str, float]:
        return ("h", e.top) if e.orientation == "h" else ("v", e.x0)

    merged: list[Edge] = []
    for (orientation, _), items in itertools.groupby(sorted(vertical + horizontal, key=group), key=group):
        merged.extend(_join(list(items), *(("x0", "x1") if orientation == "h" else ("top", "bottom"))))
    return merged


def _join(edges: list[Edge], start: str, end: str) -> list[Edge]:
    """The edges of one line joined where they overlap or nearly touch; ``start`` and
    ``end`` name the coordinates along the line (x0/x1 or top/bottom)."""
    ordered = sorted(edges, key=attrgetter(start))
    joined = [ordered[0]]
    for e in ordered[1:]:
        last = joined[-1]
        if getattr(e, start) <= getattr(last, end) + JOIN:
            if getattr(e, end) > getattr(last, end):
                joined[-1] = replace(last, **{end: getattr(e, end)})
        else:
            joined.append(e)
    return joined


# --- cells -------------------------------------------------------------------------


def _intersections(edges: list[Edge]) -> dict[Point, tuple[set[BBox], set[BBox]]]:
    """Crossings of a vertical and a horizontal edge: the point, and the boxes of the
    vertical and horizontal edges crossing there."""
    found: dict[Point, tuple[set[BBox], set[BBox]]] = {}
    vertical = sorted((e for e in edges if e.orientation == "v"), key=lambda e: (e.x0, e.top))
    horizontal = sorted((e for e in edges if e.orientation == "h"), key=lambda e: (e.top, e.x0))
    t = INTERSECTION
    for v in vertical:
        for h in horizontal:
            if v.top <= h.top + t and v.bottom >= h.top - t and h.x0 - t <= v.x0 <= h.x1 + t:
                vs, hs = found.setdefault((v.x0, h.top), (set(), set()))
                vs.add(v.bbox)
                hs.add(h.bbox)
    return found


def _cells(intersections: dict[Point, tuple[set[BBox], set[BBox]]]) -> list[BBox]:
    """Each crossing's smallest cell: the nearest crossings below and to the right joined
    to it, and the corner they share, by drawn edges."""

    def connects(p1: Point, p2: Point) -> bool:
        if p1[0] == p2[0] and intersections[p1][0] & intersections[p2][0]:
            return True
        return p1[1] == p2[1] and bool(intersections[p1][1] & intersections[p2][1])

    points = sorted(intersections)
    cells = []
    for i, pt in enumerate(points[:-1]):
        rest = points[i + 1 :]
        below = [p for p in rest if p[0] == pt[0]]
        right = [p for p in rest if p[1] == pt[1]]
        cell = None
        for below_pt in below:
            if not connects(pt, below_pt):
                continue
            for right_pt in right:
                if not connects(pt, right_pt):
                    continue
                corner = (right_pt[0], below_pt[1])
                if corner in intersections and connects(corner, right_pt) and connects(corner, below_pt):
                    cell = (pt[0], pt[1], corner[0], corner[1])
                    break
            if cell:
                break
        if cell:
            cells.append(cell)
    return cells


def _group_cells(cells: list[BBox]) -> list[list[BBox]]:
    """Cells sharing corners, gathered into tables of at least two cells."""

    def corners(b: BBox) -> tuple[Point, Point, Point, Point]:
        return ((b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3]))

    remaining = list(cells)
    current_corners: set[Point] = set()
    current: list[BBox] = []
    tables = []
    while remaining:
        before = len(current)
        for cell in list(remaining):
            cell_corners = corners(cell)
            if not current or any(c in current_corners for c in cell_corners):
                current_corners |= set(cell_corners)
                current.append(cell)
                remaining.remove(cell)
        if len(current) == before:
            tables.append(list(current))
            current_corners.clear()
            current.clear()
    if current:
        tables.append(list(current))
    tables.sort(key=lambda t: min((c[1], c[0]) for c in t))
    return [t for t in tables if len(t) > 1]
