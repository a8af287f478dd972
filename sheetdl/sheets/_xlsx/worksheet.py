"""One worksheet as the package writer changes it: what the edits do to it, then the text surgery.

The edits for a sheet are first gathered into :class:`SheetChanges` (cell values and formats, column
widths, row heights, frozen panes, colour scales, charts and pictures), so that the sheet's XML is
gone through once however many edits there are. :class:`SheetXml` splits the part around its
``<sheetData>``; the small head and tail are edited freely, and :class:`_RowWriter` rewrites only
the ``<row>`` elements that get cells, leaving every other byte of a big sheet as it was. A cell that
already holds a value is never overwritten (:class:`Conflict`). Charts and pictures are placed by
:mod:`.drawing`; the part bookkeeping (file names, relationships) is :mod:`.package`'s.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import OutputError
from ..edits import (
    AddChart,
    AddPicture,
    ColorScale,
    Edit,
    FormatRange,
    FreezePanes,
    SetColumnWidth,
    SetRowHeight,
    WriteCells,
)
from .styles import Styles
from .xmltext import (
    DECL,
    ILLEGAL,
    MAIN_NS,
    R_NS,
    Unsupported,
    areas_of,
    argb,
    children_of,
    col_letters,
    esc,
    get_attr,
    ns_prefix,
    num_text,
    parse_cell_ref,
    prefix_of,
    set_attr,
)


class Conflict(Exception):
    """An edit would overwrite a cell that already holds a value (``layout`` must never do that)."""


_MAX_TEXT = 32767  # Excel's limit for one cell
MAX_ROW, MAX_COL = 1_048_576, 16_384


# =================================================================================================
# what the edits do to one sheet, collected before the sheet's XML is touched once
# =================================================================================================

_UNSET = object()


class _Cell:
    __slots__ = ("value", "style")

    def __init__(self) -> None:
        self.value: Any = _UNSET  # _UNSET: not written; None: written blank
        self.style: dict = {}


@dataclass
class SheetChanges:
    """What the edits do to one sheet, gathered first so that its XML is gone through once."""

    cells: dict[tuple[int, int], _Cell] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    freeze: str | None = None
    scales: list[ColorScale] = field(default_factory=list)
    #: charts and pictures in the order they were asked for (later ones are drawn on top), each picture
    #: with its PNG bytes
    drawn: list[tuple[AddChart | AddPicture, bytes | None]] = field(default_factory=list)

    def cell(self, row: int, col: int) -> _Cell:
        if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
            raise OutputError(f"Cell {col_letters(col) if col > 0 else '?'}{row} is outside a sheet.")
        c = self.cells.get((row, col))
        if c is None:
            c = self.cells[(row, col)] = _Cell()
        return c

    def add(self, e: Edit, date1904: bool) -> None:
        if isinstance(e, WriteCells):
            self._write(e, date1904)
        elif isinstance(e, FormatRange):
            style = {k: v for k, v in (
                ("num_fmt", e.number_format), ("bold", e.bold), ("italic", e.italic), ("size", e.font_size),
                ("color", e.font_color), ("fill", e.fill), ("wrap", e.wrap), ("horizontal", e.horizontal),
                ("border_bottom", e.border_bottom)) if v is not None}
            for r1, c1, r2, c2 in areas_of(e.ref):
                for r in range(r1, r2 + 1):
                    for c in range(c1, c2 + 1):
                        self.cell(r, c).style.update(style)
        elif isinstance(e, SetColumnWidth):
            self.widths[e.col] = float(e.width)
        elif isinstance(e, SetRowHeight):
            self.heights[e.row] = float(e.height)
        elif isinstance(e, ColorScale):
            areas_of(e.ref)
            self.scales.append(e)
        elif isinstance(e, AddChart):
            if e.kind not in ("line", "bar"):
                raise ValueError(f"unknown chart kind {e.kind!r}")
            for ref in [e.categories, e.anchor, *e.series]:
                areas_of(ref)
            self.drawn.append((e, None))
        elif isinstance(e, AddPicture):
            parse_cell_ref(e.anchor)
            self.drawn.append((e, e.png_bytes()))  # a broken picture fails here, before anything is written
        elif isinstance(e, FreezePanes):
            parse_cell_ref(e.cell)
            self.freeze = e.cell
        else:  # pragma: no cover - a new edit type without a writer
            raise TypeError(f"no file writer for {type(e).__name__}")

    def _write(self, e: WriteCells, date1904: bool) -> None:
        formats = e.number_formats or []
        for i, row in enumerate(e.values):
            for k, v in enumerate(row):
                cell = self.cell(e.row + i, e.col + k)
                v, date_format = _cell_value(v, date1904)
                cell.value = v
                if date_format and "num_fmt" not in cell.style:
                    cell.style["num_fmt"] = date_format
                if i == 0 and e.bold_first_row:
                    cell.style["bold"] = True
                elif k < len(formats) and formats[k]:
                    cell.style["num_fmt"] = formats[k]

    def value(self, row: int, col: int) -> Any:
        c = self.cells.get((row, col))
        return None if c is None or c.value is _UNSET else c.value


def _cell_value(v: Any, date1904: bool) -> tuple[Any, str | None]:
    """A value as the cell will hold it (dates become serial numbers), and the number format a date
    needs when no other is given."""
    if hasattr(v, "item") and not isinstance(v, bool | int | float | str):  # numpy scalar
        v = v.item()
    if isinstance(v, str):
        return ILLEGAL.sub("", v)[:_MAX_TEXT], None
    if v is None or isinstance(v, bool | int):
        return v, None
    if isinstance(v, float):
        return (v if math.isfinite(v) else None), None
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return _serial(v, date1904)
    try:
        f = float(v)  # Decimal, Fraction …
    except (TypeError, ValueError):
        return ILLEGAL.sub("", str(v))[:_MAX_TEXT], None
    return (f if math.isfinite(f) else None), None


def _serial(v, date1904: bool) -> tuple[float, str]:
    if isinstance(v, dt.time):
        return (v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) / 86400, "h:mm:ss"
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    if isinstance(v, dt.datetime):
        fmt, when = "yyyy-mm-dd h:mm:ss", v.replace(tzinfo=None)
    else:
        fmt, when = "yyyy-mm-dd", dt.datetime(v.year, v.month, v.day)
    delta = when - epoch
    serial = delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    if not date1904 and serial < 61:  # Excel's phantom 29 February 1900
        serial -= 1
    return serial, fmt


# =================================================================================================
# editing one worksheet's XML
# =================================================================================================

#: CT_Worksheet's children, in the order the schema requires
_SHEET_ORDER = {k: i for i, k in enumerate(
    "sheetPr dimension sheetViews sheetFormatPr cols sheetData sheetCalcPr sheetProtection protectedRanges "
    "scenarios autoFilter sortState dataConsolidate customSheetViews mergeCells phoneticPr conditionalFormatting "
    "dataValidations hyperlinks printOptions pageMargins pageSetup headerFooter rowBreaks colBreaks "
    "customProperties cellWatches ignoredErrors smartTags drawing legacyDrawing legacyDrawingHF drawingHF picture "
    "oleObjects controls webPublishItems tableParts extLst".split())}


def new_sheet_xml(tab_color: str | None) -> str:
    # our sheets print landscape, one page wide: a report split across pages by column is unreadable
    tab = f'<tabColor rgb="{argb(tab_color)}"/>' if tab_color else ""
    return (f'{DECL}<worksheet xmlns="{MAIN_NS}" xmlns:r="{R_NS}"><sheetPr>{tab}<pageSetUpPr fitToPage="1"/>'
            '</sheetPr><dimension ref="A1"/><sheetViews>'
            '<sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData/>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>')


class SheetXml:
    """A worksheet part split around its cells: ``head`` (before ``<sheetData>``), ``body`` (the rows)
    and ``tail`` (after), so the small ends can be edited freely and the body only row by row."""

    def __init__(self, xml: str, part: str):
        self.p, root = prefix_of(xml, "worksheet")
        p = self.p
        self.root_tag = root.group(0)
        sd = re.compile(rf"<{p}sheetData\b[^>]*?(/?)>").search(xml, root.end())
        if sd is None:
            raise Unsupported(f"{part} has no <sheetData>")
        if sd.group(1):
            body, sd_end = "", sd.end()
        else:
            close = xml.find(f"</{p}sheetData>", sd.end())
            if close < 0:
                raise Unsupported(f"{part}: <sheetData> is not closed")
            body, sd_end = xml[sd.end():close], close + len(f"</{p}sheetData>")
        end = xml.rfind(f"</{p}worksheet>")
        if end < sd_end:
            raise Unsupported(f"{part}: <worksheet> is not closed")
        self.pre, self.head, self.body = xml[:root.end()], xml[root.end():sd.start()], body
        self.sd_open = sd.group(0) if not sd.group(1) else f"<{p}sheetData>"
        self.tail, self.post = xml[sd_end:end], xml[end:]
        self._self_closed = bool(sd.group(1))

    def text(self) -> str:
        if self._self_closed and not self.body:
            sd = f"<{self.p}sheetData/>"
        else:
            sd = f"{self.sd_open}{self.body}</{self.p}sheetData>"
        return self.pre + self.head + sd + self.tail + self.post

    def insert(self, name: str, fragment: str) -> None:
        """Put a new top-level element where the schema orders it (after any of the same name)."""
        rank = _SHEET_ORDER[name]
        if rank < _SHEET_ORDER["sheetData"]:
            pos = next((s for n, s, _ in children_of(self.head, 0, len(self.head))
                        if _SHEET_ORDER.get(n, -1) > rank), len(self.head))
            self.head = self.head[:pos] + fragment + self.head[pos:]
        else:
            pos = next((s for n, s, _ in children_of(self.tail, 0, len(self.tail))
                        if _SHEET_ORDER.get(n, -1) > rank), len(self.tail))
            self.tail = self.tail[:pos] + fragment + self.tail[pos:]

    def find_in_head(self, name: str) -> tuple[int, int] | None:
        return next(((s, e) for n, s, e in children_of(self.head, 0, len(self.head)) if n == name), None)

    def r_prefix(self) -> tuple[str, str]:
        """The prefix bound to the relationships namespace, and a declaration to add when none is."""
        pfx = ns_prefix(self.root_tag, R_NS)
        return (pfx, "") if pfx else ("r", f' xmlns:r="{R_NS}"')


def edit_cells(doc: SheetXml, ed: SheetChanges, styles: Callable[[], Styles]) -> None:
    """Insert the new cells and row heights into the rows, then widen ``<dimension>``."""
    rows: dict[int, list[tuple[int, _Cell]]] = {}
    for (r, c), cell in ed.cells.items():
        if (cell.value is _UNSET or cell.value is None) and not cell.style:
            continue  # nothing to write: a blank over a blank
        rows.setdefault(r, []).append((c, cell))
    if not rows and not ed.heights:
        return
    for cells in rows.values():
        cells.sort(key=lambda x: x[0])
    writer = _RowWriter(doc.p, styles, _column_styles(doc))
    doc.body = writer.splice(doc.body, rows, ed.heights)
    if rows:
        _widen_dimension(doc, min(rows), max(rows), min(c[0][0] for c in rows.values()),
                         max(c[-1][0] for c in rows.values()))


def _column_styles(doc: SheetXml) -> Callable[[int], int]:
    """The format of each column (``<col style>``): what a new cell there starts from, as in Excel."""
    ranges = []
    for m in re.finditer(rf"<{doc.p}col\b([^>]*?)/?>", doc.head):
        lo, hi, st = get_attr(m.group(1), "min"), get_attr(m.group(1), "max"), get_attr(m.group(1), "style")
        if lo and hi and st and st != "0":
            ranges.append((int(lo), int(hi), int(st)))

    @functools.cache
    def style(col: int) -> int:
        return next((st for lo, hi, st in ranges if lo <= col <= hi), 0)

    return style


class _RowWriter:
    """Rewrites the ``<row>`` elements that get cells; every other byte of ``<sheetData>`` stays.

    A new cell starts from the format its row (``customFormat``) or column gives the empty cells
    there, as a cell typed in Excel does, so results blend into a formatted sheet."""

    def __init__(self, p: str, styles: Callable[[], Styles], column_style: Callable[[int], int]):
        self.p = p
        self._styles = styles
        self._column_style = column_style
        self._row = re.compile(rf"<{p}row\b([^>]*?)(/?)>")
        self._cells = re.compile(rf"<{p}c\b([^>]*?)(?:/>|>(.*?)</{p}c>)", re.S)
        self._has_value = re.compile(rf"<{p}(?:v|f|is)\b")

    def splice(self, body: str, rows: dict[int, list[tuple[int, _Cell]]], heights: dict[int, float]) -> str:
        targets = sorted(set(rows) | set(heights))
        out: list[str] = []
        pos, i, n = 0, 0, len(targets)
        close = f"</{self.p}row>"
        for m in self._row.finditer(body):
            if i == n:
                break
            r_text = get_attr(m.group(1), "r")
            if r_text is None:
                raise Unsupported("a row without its number")
            r = int(r_text)
            while i < n and targets[i] < r:
                out.append(body[pos:m.start()])
                pos = m.start()
                out.append(self._new_row(targets[i], rows.get(targets[i], ()), heights.get(targets[i])))
                i += 1
            if i < n and targets[i] == r:
                if m.group(2):
                    content, end = "", m.end()
                else:
                    c = body.find(close, m.end())
                    if c < 0:
                        raise Unsupported(f"row {r} is not closed")
                    content, end = body[m.end():c], c + len(close)
                out.append(body[pos:m.start()])
                out.append(self._edit_row(r, m.group(1), content, rows.get(r, ()), heights.get(r)))
                pos = end
                i += 1
        out.append(body[pos:])
        for r in targets[i:]:
            out.append(self._new_row(r, rows.get(r, ()), heights.get(r)))
        return "".join(out)

    # ---- one row ----

    def _new_row(self, r: int, cells, height: float | None) -> str:
        attrs = f' r="{r}"' + (f' ht="{num_text(height)}" customHeight="1"' if height is not None else "")
        body = "".join(self._cell(r, c, cell, self._column_style(c)) for c, cell in cells)
        return f"<{self.p}row{attrs}>{body}</{self.p}row>" if body else f"<{self.p}row{attrs}/>"

    def _edit_row(self, r: int, attrs: str, content: str, cells, height: float | None) -> str:
        p = self.p
        if height is not None:
            attrs = set_attr(set_attr(attrs, "ht", num_text(height)), "customHeight", "1")
        if cells:
            row_style = get_attr(attrs, "s") if get_attr(attrs, "customFormat") in ("1", "true") else None
            base = (lambda c: int(row_style)) if row_style else self._column_style
            attrs = self._spans(attrs, cells[0][0], cells[-1][0])
            last = self._last_col(content)
            if last < cells[0][0]:  # the usual case: new columns right of everything in the row
                new = "".join(self._cell(r, c, cell, base(c)) for c, cell in cells)
                ext = content.find(f"<{p}extLst")
                content = content + new if ext < 0 else content[:ext] + new + content[ext:]
            else:
                content = self._merge(r, content, cells, base)
        return f"<{p}row{attrs}>{content}</{p}row>"

    def _last_col(self, content: str) -> int:
        tag = f"<{self.p}c"
        k = len(content)
        while True:
            k = content.rfind(tag, 0, k)
            if k < 0:
                return 0
            nxt = content[k + len(tag):k + len(tag) + 1]
            if nxt in (" ", "\t", "\n", "\r"):
                break
            if nxt in (">", "/"):
                raise Unsupported("a cell without its reference")
        end = content.find(">", k)
        ref = get_attr(content[k + len(tag):end], "r")
        if ref is None:
            raise Unsupported("a cell without its reference")
        return parse_cell_ref(ref)[1]

    def _merge(self, r: int, content: str, cells, base: Callable[[int], int]) -> str:
        """New cells among existing ones: in column order; a cell that exists keeps its value and gets
        only its format changed, and is never overwritten when it holds something."""
        out: list[str] = []
        pos = 0
        todo = list(cells)
        j = 0
        for m in self._cells.finditer(content):
            ref = get_attr(m.group(1), "r")
            if ref is None:
                raise Unsupported("a cell without its reference")
            col = parse_cell_ref(ref)[1]
            while j < len(todo) and todo[j][0] < col:
                out.append(content[pos:m.start()])
                pos = m.start()
                out.append(self._cell(r, todo[j][0], todo[j][1], base(todo[j][0])))
                j += 1
            if j < len(todo) and todo[j][0] == col:
                out.append(content[pos:m.start()])
                out.append(self._over(r, col, todo[j][1], m))
                pos = m.end()
                j += 1
        tail = content[pos:]
        ext = tail.find(f"<{self.p}extLst")
        rest = "".join(self._cell(r, c, cell, base(c)) for c, cell in todo[j:])
        out.append(tail + rest if ext < 0 else tail[:ext] + rest + tail[ext:])
        return "".join(out)

    def _over(self, r: int, col: int, cell: _Cell, m: re.Match) -> str:
        attrs, inner = m.group(1), m.group(2)
        holds = inner is not None and self._has_value.search(inner) is not None
        base = int(get_attr(attrs, "s") or 0)
        if cell.value is not _UNSET and cell.value is not None:
            if holds:
                raise Conflict(f"{col_letters(col)}{r}")
            return self._cell(r, col, cell, base)
        if not cell.style:
            return m.group(0)
        tag = f"<{self.p}c" + set_attr(attrs, "s", str(self._styles().derive(base, cell.style)))
        return tag + "/>" if inner is None else f"{tag}>{inner}</{self.p}c>"

    def _spans(self, attrs: str, lo: int, hi: int) -> str:
        spans = get_attr(attrs, "spans")
        if spans is None:
            return attrs
        try:
            nums = [int(x) for part in spans.split() for x in part.split(":")]
        except ValueError:
            return attrs
        return set_attr(attrs, "spans", f"{min(nums + [lo])}:{max(nums + [hi])}")

    # ---- one cell ----

    def _cell(self, r: int, c: int, cell: _Cell, base: int) -> str:
        p = self.p
        ref = f"{col_letters(c)}{r}"
        s = self._styles().derive(base, cell.style) if cell.style else base
        sa = f' s="{s}"' if s else ""
        v = cell.value
        if v is _UNSET or v is None:
            return f'<{p}c r="{ref}"{sa}/>'
        if isinstance(v, bool):
            return f'<{p}c r="{ref}"{sa} t="b"><{p}v>{int(v)}</{p}v></{p}c>'
        if isinstance(v, str):
            space = ' xml:space="preserve"' if v != v.strip() or "\n" in v else ""
            return f'<{p}c r="{ref}"{sa} t="inlineStr"><{p}is><{p}t{space}>{esc(v)}</{p}t></{p}is></{p}c>'
        return f'<{p}c r="{ref}"{sa}><{p}v>{num_text(v)}</{p}v></{p}c>'


def _widen_dimension(doc: SheetXml, r1: int, r2: int, c1: int, c2: int) -> None:
    m = re.search(rf"<{doc.p}dimension\b([^>]*?)/?>", doc.head)
    if m is None:
        return  # optional; applications work it out
    ref = get_attr(m.group(1), "ref")
    try:
        ar1, ac1, ar2, ac2 = areas_of(ref)[0] if ref else (r1, c1, r2, c2)
    except ValueError:
        return
    new = f"{col_letters(min(ac1, c1))}{min(ar1, r1)}:{col_letters(max(ac2, c2))}{max(ar2, r2)}"
    tag = m.group(0)
    doc.head = doc.head[:m.start()] + f"<{doc.p}dimension" + set_attr(m.group(1), "ref", new) + \
        ("/>" if tag.endswith("/>") else ">") + doc.head[m.end():]


def edit_cols(doc: SheetXml, widths: dict[int, float]) -> None:
    """Column widths: a ``<col>`` range that holds a changed column is split around it, so the
    other columns of the range keep their width and style."""
    if not widths:
        return
    p = doc.p
    found = doc.find_in_head("cols")
    col_re = re.compile(rf"<{p}col\b([^>]*?)(?:/>|>\s*</{p}col>)")
    entries: list[list] = []  # [min, max, attrs]
    if found:
        for m in col_re.finditer(doc.head, found[0], found[1]):
            lo, hi = get_attr(m.group(1), "min"), get_attr(m.group(1), "max")
            if lo is None or hi is None:
                raise Unsupported("a <col> without min/max")
            entries.append([int(lo), int(hi), m.group(1)])
    for col, width in sorted(widths.items()):
        hit = next((e for e in entries if e[0] <= col <= e[1]), None)
        attrs = hit[2] if hit else ""
        new = set_attr(set_attr(attrs, "width", num_text(width)), "customWidth", "1")
        if hit:
            entries.remove(hit)
            if hit[0] < col:
                entries.append([hit[0], col - 1, attrs])
            if col < hit[1]:
                entries.append([col + 1, hit[1], attrs])
        entries.append([col, col, new if hit else f' min="{col}" max="{col}"{new}'])
    entries.sort(key=lambda e: e[0])
    body = "".join(f"<{p}col" + set_attr(set_attr(a, "min", str(lo)), "max", str(hi)) + "/>" for lo, hi, a in entries)
    if found:
        s, e = found
        opening = re.match(rf"<{p}cols\b([^>]*?)/?>", doc.head[s:e])
        assert opening is not None  # found: the <cols> element starts there
        attrs = opening.group(1)
        doc.head = doc.head[:s] + f"<{p}cols{attrs}>{body}</{p}cols>" + doc.head[e:]
    else:
        doc.insert("cols", f"<{p}cols>{body}</{p}cols>")


def edit_freeze(doc: SheetXml, cell: str) -> None:
    """Freeze panes in the first sheet view: its old pane and selections are replaced."""
    p = doc.p
    r, c = parse_cell_ref(cell)
    xs, ys = c - 1, r - 1
    pane = ""
    if xs or ys:
        active = "bottomRight" if xs and ys else ("bottomLeft" if ys else "topRight")
        pane = (f"<{p}pane" + (f' xSplit="{xs}"' if xs else "") + (f' ySplit="{ys}"' if ys else "")
                + f' topLeftCell="{col_letters(c)}{r}" activePane="{active}" state="frozen"/>'
                + f'<{p}selection pane="{active}" activeCell="{col_letters(c)}{r}" sqref="{col_letters(c)}{r}"/>')
    m = re.search(rf"<{p}sheetView\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>", doc.head)
    if m is None:
        doc.insert("sheetViews",
                   f'<{p}sheetViews><{p}sheetView workbookViewId="0">{pane}</{p}sheetView></{p}sheetViews>')
        return
    if m.group(2):
        doc.head = doc.head[:m.start()] + f"<{p}sheetView{m.group(1)}>{pane}</{p}sheetView>" + doc.head[m.end():]
        return
    close = doc.head.find(f"</{p}sheetView>", m.end())
    if close < 0:
        raise Unsupported("<sheetView> is not closed")
    inner = re.sub(rf"<{p}(?:pane|selection)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?:/>|>.*?</{p}(?:pane|selection)>)",
                   "", doc.head[m.end():close], flags=re.S)
    doc.head = doc.head[:m.end()] + pane + inner + doc.head[close:]


def add_color_scales(doc: SheetXml, scales: Sequence[ColorScale]) -> None:
    p = doc.p
    priority = max([0] + [int(x) for x in re.findall(r'\bpriority="(\d+)"', doc.tail)])
    for e in scales:
        sqref = " ".join(a.strip() for a in e.ref.split(","))
        colors = [e.min_color] + ([e.mid_color] if e.mid_color else []) + [e.max_color]
        cfvo = f'<{p}cfvo type="min"/>' + (f'<{p}cfvo type="percentile" val="50"/>' if e.mid_color else "") + \
            f'<{p}cfvo type="max"/>'
        priority += 1
        doc.insert("conditionalFormatting", (
            f'<{p}conditionalFormatting sqref="{sqref}"><{p}cfRule type="colorScale" priority="{priority}">'
            f'<{p}colorScale>{cfvo}' + "".join(f'<{p}color rgb="{argb(x)}"/>' for x in colors)
            + f"</{p}colorScale></{p}cfRule></{p}conditionalFormatting>"))
