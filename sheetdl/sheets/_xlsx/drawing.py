"""The XML of what the package writer draws over a sheet: charts, pictures and their anchors.

A sheet's charts and pictures live in its one drawing part (``xl/drawings/drawingN.xml``), each as
an anchor that says where it sits; a chart's own XML is a part of its own. This module writes that
XML and works out where things go (cell sizes in pixels, so that a chart asked for in centimetres
ends in the right cell). Which parts exist and how they refer to each other is :mod:`.package`'s
business: it makes the parts and relationships and hands their ids in here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..edits import AddChart, AddPicture
from .worksheet import MAX_COL, MAX_ROW, SheetChanges, SheetXml
from .xmltext import (
    DECL,
    ILLEGAL,
    R_NS,
    Unsupported,
    areas_of,
    col_letters,
    esc,
    get_attr,
    ns_prefix,
    num_text,
    parse_cell_ref,
    prefix_of,
    quote_attr,
)

# ---- sizes, for placing a chart by cells ----------------------------------------------------------

_EMU_PER_PX = 9525
_MAX_DIGIT_PX = 7  # Calibri 11, Excel's default font


def _width_px(width: float) -> int:
    if width < 1:
        return int(width * (_MAX_DIGIT_PX + 5) + 0.5)
    return int(width * _MAX_DIGIT_PX + 0.5) + 5


def cell_sizes(doc: SheetXml, ed: SheetChanges) -> tuple[Callable[[int], int], Callable[[int], int]]:
    """Pixel width of a column and height of a row (1-based), as this sheet will have them."""
    fmt = re.search(rf"<{doc.p}sheetFormatPr\b([^>]*)>", doc.head)
    default_w, default_h = 64, 20
    if fmt:
        w, h = get_attr(fmt.group(1), "defaultColWidth"), get_attr(fmt.group(1), "defaultRowHeight")
        default_w = _width_px(float(w)) if w else default_w
        default_h = round(float(h) * 4 / 3) if h else default_h
    cols: list[tuple[int, int, int]] = []
    for m in re.finditer(rf"<{doc.p}col\b([^>]*?)/?>", doc.head):
        a = m.group(1)
        lo, hi, w = get_attr(a, "min"), get_attr(a, "max"), get_attr(a, "width")
        if lo and hi:
            px = 0 if get_attr(a, "hidden") in ("1", "true") else (_width_px(float(w)) if w else default_w)
            cols.append((int(lo), int(hi), px))
    rows = {r: round(h * 4 / 3) for r, h in ed.heights.items()}

    def col_px(c: int) -> int:
        return next((px for lo, hi, px in cols if lo <= c <= hi), default_w)

    return col_px, (lambda r: rows.get(r, default_h))


def _span(first: int, length: int, size: Callable[[int], int], limit: int) -> tuple[int, int]:
    """The (1-based) cell and the offset in pixels where something ``length`` pixels long that
    starts at the top/left of cell ``first`` ends."""
    i, left = first, length
    while i < limit and left >= size(i):
        left -= size(i)
        i += 1
    return i, left


# =================================================================================================
# charts and pictures
# =================================================================================================

_C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_XDR_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _abs(r1: int, c1: int, r2: int, c2: int) -> str:
    a = f"${col_letters(c1)}${r1}"
    return a if (r1, c1) == (r2, c2) else f"{a}:${col_letters(c2)}${r2}"


def _rich(text: str, vertical: bool = False) -> str:
    body = '<a:bodyPr rot="-5400000" vert="horz"/>' if vertical else "<a:bodyPr/>"
    return (f"<c:title><c:tx><c:rich>{body}<a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr><a:r>"
            f'<a:rPr lang="en-US"/><a:t>{esc(text)}</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>')


def _cache(values: Sequence[Any], numeric: bool) -> str:
    pts = "".join(f'<c:pt idx="{i}"><c:v>{esc(num_text(v) if numeric else str(v))}</c:v></c:pt>'
                  for i, v in enumerate(values)
                  if v is not None and (not numeric or isinstance(v, int | float)))
    if numeric:
        return f"<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val=\"{len(values)}\"/>{pts}</c:numCache>"
    return f'<c:strCache><c:ptCount val="{len(values)}"/>{pts}</c:strCache>'


def _data_ref(sheet: str, area: tuple[int, int, int, int], values: Sequence[Any], numeric: bool) -> str:
    f = f"<c:f>{esc(_quote_sheet(sheet) + '!' + _abs(*area))}</c:f>"
    kind = "numRef" if numeric else "strRef"
    return f"<c:{kind}>{f}{_cache(values, numeric)}</c:{kind}>"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def chart_xml(e: AddChart, sheet: str, value: Callable[[int, int], Any]) -> str:
    """A line chart or a horizontal bar chart, with the values it shows cached in it, so viewers that
    don't recalculate show them too. Structure as Excel and xlsxwriter write it."""
    cat_area = areas_of(e.categories)[0]
    cats = [value(r, c) for r in range(cat_area[0], cat_area[2] + 1) for c in range(cat_area[1], cat_area[3] + 1)]
    numeric_cats = any(v is not None for v in cats) and all(v is None or _is_number(v) for v in cats)
    cat_xml = _data_ref(sheet, cat_area, cats, numeric_cats)
    line = e.kind == "line"
    series = []
    for i, ref in enumerate(e.series):
        r1, c1, r2, _ = areas_of(ref)[0]
        title = value(r1, c1)
        vals = [value(r, c1) for r in range(r1 + 1, r2 + 1)]
        tx = f"<c:tx>{_data_ref(sheet, (r1, c1, r1, c1), [None if title is None else str(title)], False)}</c:tx>"
        style = ('<c:spPr><a:ln w="22225" cap="rnd"><a:round/></a:ln></c:spPr>'
                 '<c:marker><c:symbol val="none"/></c:marker>' if line else '<c:invertIfNegative val="0"/>')
        tail = '<c:smooth val="0"/>' if line else ""
        series.append(f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>{tx}{style}<c:cat>{cat_xml}</c:cat>'
                      f"<c:val>{_data_ref(sheet, (r1 + 1, c1, r2, c1), vals, True)}</c:val>{tail}</c:ser>")
    cat_id, val_id = 50010001, 50010002
    if line:
        plot = (f'<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>{"".join(series)}'
                f'<c:marker val="1"/><c:axId val="{cat_id}"/><c:axId val="{val_id}"/></c:lineChart>')
    else:
        plot = (f'<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="0"/>'
                f'{"".join(series)}<c:gapWidth val="60"/><c:axId val="{cat_id}"/><c:axId val="{val_id}"/></c:barChart>')
    # the category axis runs along the bottom of a line chart and up the side of a bar chart
    cat_pos, val_pos = ("b", "l") if line else ("l", "b")
    step = e.category_label_step if e.category_label_step and e.category_label_step > 1 else None
    cat_ax = (f'<c:catAx><c:axId val="{cat_id}"/><c:scaling><c:orientation '
              f'val="{"maxMin" if e.reverse_categories else "minMax"}"/></c:scaling><c:delete val="0"/>'
              f'<c:axPos val="{cat_pos}"/>' + (_rich(e.x_title, vertical=not line) if e.x_title else "")
              + '<c:numFmt formatCode="General" sourceLinked="1"/><c:majorTickMark val="out"/>'
              '<c:minorTickMark val="none"/><c:tickLblPos val="low"/>'
              f'<c:crossAx val="{val_id}"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
              '<c:lblOffset val="100"/>'
              + (f'<c:tickLblSkip val="{step}"/><c:tickMarkSkip val="{step}"/>' if step else "")
              + '<c:noMultiLvlLbl val="0"/></c:catAx>')
    num_fmt = (f'<c:numFmt formatCode={quote_attr(e.value_format)} sourceLinked="0"/>' if e.value_format
               else '<c:numFmt formatCode="General" sourceLinked="1"/>')
    # with the categories reversed, the value axis crosses at the last one, so it stays at the bottom
    val_ax = (f'<c:valAx><c:axId val="{val_id}"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
              f'<c:delete val="0"/><c:axPos val="{val_pos}"/><c:majorGridlines/>'
              + (_rich(e.y_title, vertical=line) if e.y_title else "") + num_fmt
              + '<c:majorTickMark val="out"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
              f'<c:crossAx val="{cat_id}"/><c:crosses val="{"max" if e.reverse_categories else "autoZero"}"/>'
              '<c:crossBetween val="between"/></c:valAx>')
    legend = '<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>' if e.legend else ""
    title = _rich(e.title) if e.title else ""
    return (f'{DECL}<c:chartSpace xmlns:c="{_C_NS}" xmlns:a="{_A_NS}" xmlns:r="{R_NS}">'
            '<c:date1904 val="0"/><c:lang val="en-US"/><c:roundedCorners val="0"/><c:chart>'
            f'{title}<c:autoTitleDeleted val="{0 if e.title else 1}"/><c:plotArea><c:layout/>{plot}{cat_ax}{val_ax}'
            f'</c:plotArea>{legend}<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
            '<c:printSettings><c:headerFooter/><c:pageMargins b="0.75" l="0.7" r="0.7" t="0.75" header="0.3" '
            'footer="0.3"/><c:pageSetup/></c:printSettings></c:chartSpace>')


def _anchor_xml(frm: tuple[int, int], to: tuple[int, int, int, int], shape_id: int, rid: str,
                declare: bool) -> str:
    """A chart's place in a drawing: from its top-left cell to the cell (and offset) where it ends;
    ``editAs="oneCell"`` keeps its size when rows or columns are resized, as Excel does."""
    (fr, fc), (tr, tro, tc, tco) = frm, to
    ns = f' xmlns:xdr="{_XDR_NS}" xmlns:a="{_A_NS}"' if declare else ""
    return (f'<xdr:twoCellAnchor editAs="oneCell"{ns}><xdr:from><xdr:col>{fc - 1}</xdr:col><xdr:colOff>0</xdr:colOff>'
            f'<xdr:row>{fr - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>{tc - 1}</xdr:col>'
            f'<xdr:colOff>{tco * _EMU_PER_PX}</xdr:colOff><xdr:row>{tr - 1}</xdr:row>'
            f'<xdr:rowOff>{tro * _EMU_PER_PX}</xdr:rowOff></xdr:to><xdr:graphicFrame macro="">'
            f'<xdr:nvGraphicFramePr><xdr:cNvPr id="{shape_id}" name="Chart {shape_id - 1}"/><xdr:cNvGraphicFramePr/>'
            '</xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
            f'<a:graphicData uri="{_C_NS}"><c:chart xmlns:c="{_C_NS}" xmlns:r="{R_NS}" r:id="{rid}"/>'
            '</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>')


def _picture_xml(frm: tuple[int, int], size_px: tuple[int, int], shape_id: int, rid: str, description: str,
                 declare: bool) -> str:
    """A picture's place in a drawing: its top-left cell and its size. A one-cell anchor keeps that
    size exactly whatever the rows and columns measure in the application that opens the file (a
    two-cell anchor would be stretched to cells measured with guessed font metrics); it moves with its
    cell and is not resized with it. Structure as Excel writes an inserted picture."""
    (fr, fc), (w, h) = frm, size_px
    cx, cy = w * _EMU_PER_PX, h * _EMU_PER_PX
    ns = f' xmlns:xdr="{_XDR_NS}" xmlns:a="{_A_NS}"' if declare else ""
    descr = f" descr={quote_attr(ILLEGAL.sub('', description))}" if description else ""
    return (f'<xdr:oneCellAnchor{ns}><xdr:from><xdr:col>{fc - 1}</xdr:col><xdr:colOff>0</xdr:colOff>'
            f'<xdr:row>{fr - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="{cx}" cy="{cy}"/>'
            f'<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="{shape_id}" name="Picture {shape_id - 1}"{descr}/>'
            '<xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill>'
            f'<a:blip xmlns:r="{R_NS}" r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
            f'<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/>'
            '</xdr:oneCellAnchor>')


# =================================================================================================
# a drawing part
# =================================================================================================

#: a sheet's drawing part before anything is drawn on it
EMPTY_DRAWING = f'{DECL}<xdr:wsDr xmlns:xdr="{_XDR_NS}" xmlns:a="{_A_NS}"></xdr:wsDr>'


class DrawingXml:
    """A sheet's drawing part with anchors being added to it. New shapes get ids that no shape of
    the part has, and declare the namespaces they use unless the part binds them to the usual
    prefixes; they go after the existing ones (so they are drawn on top), in the order added."""

    def __init__(self, xml: str, part: str):
        self.xml, self.part = xml, part
        self.p, _ = prefix_of(xml, "wsDr")
        self.declare = not (self.p == "xdr:" and ns_prefix(xml[:2000], _A_NS) == "a")
        self._next_id = max([1] + [int(x) for x in re.findall(r"<[\w.-]*:?cNvPr\b[^>]*?\bid=\"(\d+)\"", xml)]) + 1
        self._anchors: list[str] = []

    def add_picture(self, e: AddPicture, rid: str) -> None:
        """A picture at its cell; ``rid``: the drawing's relationship to the picture's media part."""
        self._anchors.append(_picture_xml(parse_cell_ref(e.anchor), (e.width, e.height), self._next_id, rid,
                                          e.description, self.declare))
        self._next_id += 1

    def add_chart(self, e: AddChart, rid: str, col_px: Callable[[int], int], row_px: Callable[[int], int]) -> None:
        """A chart from its cell to where its size (in cm) ends among cells measuring ``col_px`` wide
        and ``row_px`` high; ``rid``: the drawing's relationship to the chart part."""
        r, c = parse_cell_ref(e.anchor)
        w_px, h_px = round(e.width / 2.54 * 96), round(e.height / 2.54 * 96)
        tc, tco = _span(c, w_px, col_px, MAX_COL)
        tr, tro = _span(r, h_px, row_px, MAX_ROW)
        self._anchors.append(_anchor_xml((r, c), (tr, tro, tc, tco), self._next_id, rid, self.declare))
        self._next_id += 1

    def text(self) -> str:
        """The part's XML with the new anchors in it."""
        dp, text = self.p, self.xml
        close = text.rfind(f"</{dp}wsDr>")
        if close < 0:
            m = re.search(rf"<{dp}wsDr\b[^>]*/>", text)
            if m is None:
                raise Unsupported(f"{self.part} has no <wsDr>")
            text = text[:m.end() - 2] + f"></{dp}wsDr>" + text[m.end():]
            close = text.rfind(f"</{dp}wsDr>")
        return text[:close] + "".join(self._anchors) + text[close:]
