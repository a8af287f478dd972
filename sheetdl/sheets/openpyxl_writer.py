"""The openpyxl side of the file writer: workbooks it loads or builds, and SheetEdits applied to them.

Two kinds of workbook go through openpyxl: an .xlsx/.xlsm package the part-by-part writer
(:mod:`._xlsx.package`) can't change safely, and a new workbook made from a source that is not a package
(.csv, or the values of an .xls/.xlsb/.ods read with python-calamine). :func:`apply_edits` applies the
same SheetEdits as :class:`.package.Package` does, with the same look (print setup, picture anchors,
chart axes), so the result does not depend on which writer made it. openpyxl loses parts of a
package it loads; :mod:`.inventory` finds out which and :mod:`.write` reports them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from copy import copy
from pathlib import Path
from xml.etree import ElementTree as ET

from ..errors import OutputError, WorkbookError
from .edits import (
    SHEET_EDITS,
    AddChart,
    AddPicture,
    AddSheet,
    ColorScale,
    Edit,
    FormatRange,
    FreezePanes,
    SetColumnWidth,
    SetRowHeight,
    WriteCells,
)

__all__ = ["apply_edits"]

_MAX_TEXT = 32767  # Excel's limit for one cell


# =================================================================================================
# applying edits with openpyxl
# =================================================================================================


def apply_edits(wb, edits: Sequence[Edit]) -> None:
    """Apply ``edits`` in order to an openpyxl workbook."""
    for e in edits:
        if isinstance(e, AddSheet):
            _add_sheet(wb, e)
            continue
        assert isinstance(e, SHEET_EDITS)  # every edit but AddSheet changes one sheet it names
        ws = _sheet(wb, e.sheet)
        if isinstance(e, WriteCells):
            _write_cells(ws, e)
        elif isinstance(e, FormatRange):
            _format_range(ws, e)
        elif isinstance(e, SetColumnWidth):
            from openpyxl.utils import get_column_letter

            ws.column_dimensions[get_column_letter(e.col)].width = e.width
        elif isinstance(e, SetRowHeight):
            ws.row_dimensions[e.row].height = e.height
        elif isinstance(e, ColorScale):
            _color_scale(ws, e)
        elif isinstance(e, AddChart):
            _add_chart(wb, ws, e)
        elif isinstance(e, AddPicture):
            _add_picture(ws, e)
        elif isinstance(e, FreezePanes):
            ws.freeze_panes = e.cell
        else:  # pragma: no cover - a new edit type without a writer
            raise TypeError(f"no file writer for {type(e).__name__}")


def _sheet(wb, name: str):
    for ws in wb.worksheets:
        if ws.title == name:
            return ws
    for ws in wb.worksheets:
        if ws.title.casefold() == name.casefold():
            return ws
    raise OutputError(f"The workbook has no sheet '{name}' to write results to.", sheet=name)


def _add_sheet(wb, e: AddSheet) -> None:
    existing = [ws for ws in wb._sheets if ws.title.casefold() == e.name.casefold()]
    index = None
    if existing:
        if not e.replace:
            raise OutputError(f"The workbook already has a sheet '{e.name}'.", sheet=e.name,
                              hint="Rename or delete that sheet, then run again.")
        index = wb._sheets.index(existing[0])
        wb.remove(existing[0])
    ws = wb.create_sheet(e.name, index)
    if e.tab_color:
        ws.sheet_properties.tabColor = _argb(e.tab_color)
    # as the package writer does (worksheet._new_sheet_xml): print landscape, one page wide
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0


def _write_cells(ws, e: WriteCells) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    bold_font = None
    for i, row in enumerate(e.values):
        r = e.row + i
        for k, v in enumerate(row):
            cell = ws.cell(row=r, column=e.col + k)
            if hasattr(v, "item") and not isinstance(v, str | int | float | bool):
                v = v.item()  # numpy scalar
            if isinstance(v, float) and v != v:
                v = None
            if isinstance(v, str):
                v = ILLEGAL_CHARACTERS_RE.sub("", v)[:_MAX_TEXT]
            _put_literal(cell, v)
            if i == 0 and e.bold_first_row:
                if bold_font is None:
                    bold_font = copy(cell.font)
                    bold_font.bold = True
                cell.font = bold_font
            elif e.number_formats and k < len(e.number_formats) and e.number_formats[k]:
                cell.number_format = e.number_formats[k]


def _put_literal(cell, v) -> None:
    """Set ``cell`` to ``v`` as SheetEdits mean it: a string is text, whatever it starts with.

    openpyxl turns a string that starts with '=' into a formula ('=1+1', '=HYPERLINK(…)' from a
    user's cell would then run in Excel); '+', '-' and '@' it already keeps as text.
    """
    cell.value = v
    if isinstance(v, str) and cell.data_type != "s":
        cell.data_type = "s"


def _argb(hex6: str) -> str:
    h = hex6.lstrip("#").upper()
    return h if len(h) == 8 else "FF" + h


def _format_range(ws, e: FormatRange) -> None:
    from openpyxl.styles import PatternFill
    from openpyxl.utils.cell import range_boundaries

    fill = PatternFill("solid", fgColor=_argb(e.fill)) if e.fill else None
    font_change = any(x is not None for x in (e.bold, e.italic, e.font_size, e.font_color))
    for area in e.ref.split(","):
        area = area.strip()
        min_col, min_row, max_col, max_row = range_boundaries(area if ":" in area else f"{area}:{area}")
        for row in ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col):
            _style_cells(row, e, fill, font_change)


def _style_cells(row, e: FormatRange, fill, font_change: bool) -> None:
    from openpyxl.styles import Side

    for cell in row:
        if e.number_format is not None:
            cell.number_format = e.number_format
        if font_change:
            f = copy(cell.font)
            if e.bold is not None:
                f.bold = e.bold
            if e.italic is not None:
                f.italic = e.italic
            if e.font_size is not None:
                f.size = e.font_size
            if e.font_color is not None:
                f.color = _argb(e.font_color)
            cell.font = f
        if fill is not None:
            cell.fill = fill
        if e.wrap is not None or e.horizontal is not None:
            a = copy(cell.alignment)
            if e.wrap is not None:
                a.wrap_text = e.wrap
            if e.horizontal is not None:
                a.horizontal = e.horizontal
            cell.alignment = a
        if e.border_bottom is not None:
            b = copy(cell.border)
            b.bottom = Side(style="thin", color="FF9BC2E6") if e.border_bottom else Side()
            cell.border = b


def _color_scale(ws, e: ColorScale) -> None:
    from openpyxl.formatting.rule import ColorScaleRule

    if e.mid_color:
        rule = ColorScaleRule(start_type="min", start_color=_argb(e.min_color), mid_type="percentile",
                              mid_value=50, mid_color=_argb(e.mid_color), end_type="max",
                              end_color=_argb(e.max_color))
    else:
        rule = ColorScaleRule(start_type="min", start_color=_argb(e.min_color), end_type="max",
                              end_color=_argb(e.max_color))
    ws.conditional_formatting.add(e.ref, rule)


def _add_chart(wb, ws, e: AddChart) -> None:
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.utils import quote_sheetname

    if e.kind == "line":
        chart = LineChart()
    elif e.kind == "bar":
        chart = BarChart()
        chart.type = "bar"
        chart.gapWidth = 60
    else:
        raise ValueError(f"unknown chart kind {e.kind!r}")
    where = quote_sheetname(ws.title)
    for ref in e.series:
        chart.add_data(Reference(ws, range_string=f"{where}!{ref}"), titles_from_data=True)
    chart.set_categories(Reference(ws, range_string=f"{where}!{e.categories}"))
    chart.title = e.title
    chart.width, chart.height = e.width, e.height
    # openpyxl ≥ 3.1 hides axes unless told otherwise
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    if e.x_title:
        chart.x_axis.title = e.x_title
    if e.y_title:
        chart.y_axis.title = e.y_title
    if e.value_format:
        chart.y_axis.number_format = e.value_format
        chart.y_axis.numFmt.sourceLinked = False if chart.y_axis.numFmt is not None else None
    if e.kind == "line":
        for s in chart.series:
            s.smooth = False
            s.marker.symbol = "none"
    if e.category_label_step and e.category_label_step > 1:
        chart.x_axis.tickLblSkip = e.category_label_step
        chart.x_axis.tickMarkSkip = e.category_label_step
    if e.reverse_categories:
        chart.x_axis.scaling.orientation = "maxMin"
        chart.y_axis.crosses = "max"  # keeps the value axis at the bottom
    chart.x_axis.tickLblPos = "low"  # labels stay clear of negative bars
    if e.legend:
        chart.legend.position = "b"
    else:
        chart.legend = None
    ws.add_chart(chart, e.anchor)


#: shape ids of pictures added through openpyxl start here, clear of the 1, 2, 3 … it numbers its
#: own charts and pictures with (it keeps the id of a picture that comes with its anchor)
_PICTURE_ID_BASE = 1024


def _add_picture(ws, e: AddPicture) -> None:
    """As the package writer does it: a one-cell anchor at the cell, the size in pixels, the alt text.
    openpyxl writes only the alt text of a picture that comes with its own frame, so it gets one."""
    from openpyxl.drawing.fill import Blip
    from openpyxl.drawing.geometry import PresetGeometry2D
    from openpyxl.drawing.image import Image
    from openpyxl.drawing.picture import PictureFrame
    from openpyxl.drawing.spreadsheet_drawing import OneCellAnchor
    from openpyxl.drawing.xdr import XDRPositiveSize2D
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.utils.units import pixels_to_EMU

    data = e.png_bytes()
    try:
        img = Image(io.BytesIO(data))  # needs Pillow, which reads the header only
    except ImportError as err:  # pragma: no cover - Pillow is a dependency
        raise OutputError("Can't add pictures to this workbook: the Pillow package is missing.",
                          sheet=ws.title, hint="Install it with: pip install pillow") from err
    except (OSError, SyntaxError, ValueError) as err:  # Pillow's errors for a damaged file
        raise ValueError(f"AddPicture on sheet '{ws.title}' at {e.anchor}: the PNG can't be read ({err}).") from err
    img.width, img.height = e.width, e.height
    row, col = coordinate_to_tuple(e.anchor.replace("$", "").upper())
    anchor = OneCellAnchor()
    anchor._from.row, anchor._from.col = row - 1, col - 1
    anchor.ext = XDRPositiveSize2D(pixels_to_EMU(e.width), pixels_to_EMU(e.height))
    frame = PictureFrame()
    shape_id = _PICTURE_ID_BASE + len(ws._images)
    frame.nvPicPr.cNvPr.id = shape_id
    frame.nvPicPr.cNvPr.name = f"Picture {shape_id}"
    frame.nvPicPr.cNvPr.descr = e.description or None
    frame.blipFill.blip = Blip()  # its r:embed is set by openpyxl on saving
    frame.spPr.prstGeom = PresetGeometry2D(prst="rect")
    frame.spPr.ln = None
    anchor.pic = frame
    img.anchor = anchor
    ws.add_image(img)


# =================================================================================================
# loading and building workbooks
# =================================================================================================


def load_package(src: Path, *, keep_vba: bool):
    import warnings

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "extension not supported" etc.: reported by the inventory
            return load_workbook(src, keep_vba=keep_vba, keep_links=True, rich_text=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, ET.ParseError) as e:
        raise WorkbookError(
            f"Can't open '{src.name}' to copy it ({e}).",
            hint="Check that it is a workbook and not password-protected or damaged; open and re-save it in "
                 "Excel if in doubt.",
        ) from e


_INT = re.compile(r"^[+-]?\d{1,15}$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def _csv_value(s: str):
    """A csv cell as Excel would mostly store it: numbers as numbers, everything else as text
    (codes with leading zeros like '007' stay text)."""
    t = s.strip()
    if t == "":
        return None
    if _INT.match(t) and not (len(t.lstrip("+-")) > 1 and t.lstrip("+-").startswith("0")):
        return int(t)
    if _FLOAT.match(t) and not re.match(r"^[+-]?0\d", t):
        return float(t)
    return s


def _read_text(src: Path) -> str:
    raw = src.read_bytes()
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1", errors="replace")  # pragma: no cover - latin-1 decodes anything


def workbook_from_csv(src: Path, sheet_name: str):
    from openpyxl import Workbook

    text = _read_text(src)
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if src.suffix.lower() == ".tsv" else csv.excel
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name
    for r, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        for c, v in enumerate(row, start=1):
            v = _csv_value(v)
            if v is not None:  # a csv cell '=1+1' is the text SheetDL read, not a formula
                _put_literal(ws.cell(row=r, column=c), v)
    return wb


def workbook_from_calamine(src: Path):
    from openpyxl import Workbook
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(src))
    except Exception as e:
        raise WorkbookError(f"Can't open '{src.name}' ({e}).",
                            hint="Check that it is a workbook and not damaged.") from e
    wb = Workbook()
    wb.remove(wb.active)
    for name in book.sheet_names:
        ws = wb.create_sheet(name[:31])
        sheet = book.get_sheet_by_name(name)
        r0, c0 = sheet.start or (0, 0)
        for i, row in enumerate(sheet.to_python(skip_empty_area=True)):
            for k, v in enumerate(row):
                if v == "" or v is None:
                    continue
                if isinstance(v, dt.timedelta):
                    v = (dt.datetime(1899, 12, 30) + v).time() if v < dt.timedelta(days=1) else str(v)
                _put_literal(ws.cell(row=r0 + i + 1, column=c0 + k + 1), v)  # values only: text stays text
    return wb


def data_sheet_name(edits: Sequence[Edit], src: Path) -> str:
    """A csv becomes one sheet; name it as the edits expect (the reader names the Table's sheet)."""
    added = {e.name for e in edits if isinstance(e, AddSheet)}
    for e in edits:
        name = getattr(e, "sheet", None)
        if name and name not in added:
            return name
    return re.sub(r"[\[\]:*?/\\]", "_", src.stem)[:31] or "Sheet1"
