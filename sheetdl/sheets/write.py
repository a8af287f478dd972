"""The file backend's writer: a copy of the user's workbook with SheetEdits applied.

An .xlsx/.xlsm (or template) is copied by :mod:`.package`, which keeps every part of the package it
does not change byte for byte and edits the few it must (the sheets that get cells, the styles, the
workbook's sheet list), so nothing of the user's workbook is lost and a big sheet is not parsed and
rebuilt cell by cell. A package that writer can't handle (strict OOXML, rows without numbers …) is
copied through openpyxl instead. openpyxl silently drops parts of a package it does not understand
(text boxes and shapes, sparklines, slicers, form controls, pictures when Pillow is missing, some x14
extensions, threaded comments …), so after either writer the inventory of the input and the output
packages are compared and everything that was in the input and is not in the output is returned in
plain words ("2 charts on sheet 'Sales'", "macros (VBA)" when an .xlsm is saved as .xlsx). It does not
notice a chart that survived with some of its formatting lost.

Rules that hold for both writers:

- the source file is only ever read (an output path that is the source is refused);
- the output appears complete or not at all: written to a temporary file in the destination folder,
  flushed to disk, then renamed over the destination; on any failure (Ctrl+C included) the temporary
  file is removed;
- a source that is not an .xlsx/.xlsm package (.csv, .xls, .xlsb, .ods) becomes a NEW .xlsx workbook
  holding its cell values. For a .csv nothing is lost (it only has values); :func:`conversion_note`
  gives the sentence to put in the report's notes. For .xls/.xlsb/.ods the formatting, formulas and
  objects are lost and returned as such.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import posixpath
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from copy import copy
from pathlib import Path
from xml.etree import ElementTree as ET

from ..edits import (
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
from ..errors import OutputError, WorkbookError
from . import package as _package

__all__ = [
    "write_workbook",
    "existing_sheet_names",
    "conversion_note",
    "objects_right_col",
    "apply_edits",
    "package_inventory",
    "describe_lost",
    "remove_stale_temp_files",
]

#: packages openpyxl can copy
PACKAGE_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
#: what the writer can produce
OUTPUT_SUFFIXES = (".xlsx", ".xlsm")
#: read with python-calamine and rebuilt as a new workbook holding their values
VALUES_ONLY_SUFFIXES = (".xls", ".xlsb", ".ods")
_MAX_TEXT = 32767  # Excel's limit for one cell


# =================================================================================================
# public entry points
# =================================================================================================


def write_workbook(
    source_path,
    edits: Sequence[Edit],
    output_path,
    *,
    on_lost: Callable[[list[str]], Sequence[Edit]] | None = None,
) -> list[str]:
    """Write a copy of ``source_path`` with ``edits`` applied to ``output_path``; return, in plain
    words, what of the source could not be carried over (empty when nothing was lost).

    ``on_lost``, if given, is called with that list when it is not empty and returns more edits
    (``layout_not_carried_over``) so the report itself can say what was lost; they are applied and
    the file is written again before it replaces anything.
    """
    src = Path(source_path)
    out = Path(output_path)
    if not src.is_file():
        raise WorkbookError(f"Can't find the workbook '{src}'.", hint="Check the file name and folder.")
    suffix = src.suffix.lower()
    out_suffix = out.suffix.lower()
    if out_suffix not in OUTPUT_SUFFIXES:
        raise OutputError(
            f"Can't write results to '{out.name}': SheetDL writes .xlsx (or .xlsm) workbooks.",
            hint="Give an output name ending in .xlsx.",
        )
    _refuse_same_file(src, out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"The folder '{folder}' does not exist, so '{out.name}' can't be written there.",
                          hint="Create the folder, or choose another place with --output.")

    if suffix in PACKAGE_SUFFIXES:
        try:
            return _write_copy(src, edits, out, folder, on_lost)
        except _package.Unsupported:
            pass  # a package the part-by-part writer can't change safely: openpyxl, which reports losses
        wb = _load_package(src, keep_vba=out_suffix == ".xlsm")
        lost_fixed: list[str] = []
    elif suffix == ".csv" or suffix == ".txt" or suffix == ".tsv":
        wb = _workbook_from_csv(src, _data_sheet_name(edits, src))
        lost_fixed = []
    elif suffix in VALUES_ONLY_SUFFIXES:
        wb = _workbook_from_calamine(src)
        lost_fixed = [f"formatting, formulas, charts and everything else but the cell values (only the values "
                      f"of the {suffix} file were copied)"]
    else:
        raise WorkbookError(f"SheetDL can't read '{src.name}': it is not a workbook it knows "
                            "(.xlsx, .xlsm, .xls, .xlsb, .ods or .csv).")

    wb.template = False
    try:  # formulas are saved without their last results; let Excel work them out on opening
        wb.calculation.fullCalcOnLoad = True
    except AttributeError:  # pragma: no cover - very old openpyxl
        pass

    apply_edits(wb, edits)

    def add_more(more: Sequence[Edit]) -> None:
        apply_edits(wb, more)

    return _save_atomically(wb, add_more, src if suffix in PACKAGE_SUFFIXES else None, list(lost_fixed),
                            out, folder, on_lost)


def _write_copy(src: Path, edits: Sequence[Edit], out: Path, folder: Path, on_lost) -> list[str]:
    """The part-by-part copy of an .xlsx/.xlsm package; raises ``package.Unsupported`` (before the
    output is touched) for a package it can't change safely."""
    book = _package.Package(src, macro_enabled=out.suffix.lower() == ".xlsm")
    try:
        book.apply(edits)
        # a copy that holds every part of the source has lost nothing: no need to take inventory
        return _save_atomically(book, book.apply, src if book.drops_parts else None, [], out, folder, on_lost)
    finally:
        book.close()


def _save_atomically(book, add_more: Callable[[Sequence[Edit]], None], package_src: Path | None,
                     lost: list[str], out: Path, folder: Path, on_lost) -> list[str]:
    """Save ``book`` (anything with ``save(file)``) to a temporary file beside ``out``, work out what
    of ``package_src`` it lost, let ``on_lost`` add edits that say so, then rename it over ``out``."""
    tmp = _temp_file(folder, out)
    try:
        _save(book, tmp)
        if package_src is not None:
            lost += describe_lost(package_inventory(package_src), package_inventory(tmp))
        if lost and on_lost is not None:
            more = list(on_lost(lost))
            if more:
                add_more(more)
                _save(book, tmp)
        _set_mode(tmp, out)
        try:
            os.replace(tmp, out)
        except PermissionError as e:
            raise OutputError(
                f"Can't replace '{out}': it is open in another program or read-only.",
                hint="Close it (in Excel too) and run again, or choose another name with --output.",
            ) from e
        _fsync_dir(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return lost


def existing_sheet_names(path) -> list[str]:
    """The sheet names of a workbook (for ``layout``, so new sheets don't collide), without loading
    the cells. A .csv has no sheets: []."""
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix in PACKAGE_SUFFIXES:
            with zipfile.ZipFile(p) as z:
                return [name for name, _, _ in _sheets(z)]
        if suffix in VALUES_ONLY_SUFFIXES:
            from python_calamine import CalamineWorkbook

            return list(CalamineWorkbook.from_path(str(p)).sheet_names)
    except (OSError, zipfile.BadZipFile, KeyError, ET.ParseError) as e:
        raise WorkbookError(f"Can't open '{p.name}' as a workbook ({e}).",
                            hint="Check that the file is a workbook and not damaged.") from e
    except Exception as e:  # calamine's own errors
        raise WorkbookError(f"Can't open '{p.name}' as a workbook ({e}).",
                            hint="Check that the file is a workbook and not damaged.") from e
    return []


def objects_right_col(path, sheet: str, first_row: int = 1, last_row: int = 1_048_576) -> int:
    """The rightmost column (1-based) covered by a chart, picture or shape floating over rows
    ``first_row``..``last_row`` of ``sheet``; 0 if none.

    A Table's ``sheet_max_col`` counts cells only; results written under a chart would be hidden, so
    whoever reads the table can take the larger of the two before ``layout``.
    """
    p = Path(path)
    if p.suffix.lower() not in PACKAGE_SUFFIXES:
        return 0
    right = 0
    with zipfile.ZipFile(p) as z:
        names = set(z.namelist())
        for name, _, part in _sheets(z):
            if name != sheet or part not in names:
                continue
            for rtype, target in _rels(z, part):
                if rtype != "drawing" or target not in names:
                    continue
                root = ET.fromstring(z.read(target))
                for anchor in root:
                    span = _anchor_span(anchor)
                    if span is None:
                        continue
                    top, bottom, last_col = span
                    if bottom >= first_row and top <= last_row:
                        right = max(right, last_col)
    return right


_EMU_PER_COL = 609600  # a default-width column (64 px), for anchors given as a size
_EMU_PER_ROW = 190500  # a default-height row (15 pt)


def _anchor_span(anchor) -> tuple[int, int, int] | None:
    """(first row, last row, last column), 1-based, that a drawing anchor covers."""
    def num(el, tag, default=0):
        for c in el:
            if c.tag.rsplit("}", 1)[-1] == tag:
                try:
                    return int(c.text or default)
                except ValueError:
                    return default
        return default

    def child(el, tag):
        return next((c for c in el if c.tag.rsplit("}", 1)[-1] == tag), None)

    kind = anchor.tag.rsplit("}", 1)[-1]
    frm = child(anchor, "from")
    if kind == "twoCellAnchor":
        to = child(anchor, "to")
        if frm is None or to is None:
            return None
        last_col = num(to, "col") + (1 if num(to, "colOff") > 0 else 0)
        return num(frm, "row") + 1, num(to, "row") + 1, max(last_col, num(frm, "col") + 1)
    if kind == "oneCellAnchor":
        ext = child(anchor, "ext")
        if frm is None or ext is None:
            return None
        cx, cy = int(ext.get("cx", 0)), int(ext.get("cy", 0))
        c0, r0 = num(frm, "col"), num(frm, "row")
        return r0 + 1, r0 + 1 + -(-cy // _EMU_PER_ROW), c0 + -(-cx // _EMU_PER_COL)
    if kind == "absoluteAnchor":
        pos, ext = child(anchor, "pos"), child(anchor, "ext")
        if pos is None or ext is None:
            return None
        x, y = int(pos.get("x", 0)), int(pos.get("y", 0))
        cx, cy = int(ext.get("cx", 0)), int(ext.get("cy", 0))
        return y // _EMU_PER_ROW + 1, -(-(y + cy) // _EMU_PER_ROW), -(-(x + cx) // _EMU_PER_COL)
    return None


def conversion_note(source_path) -> str | None:
    """The sentence for the report's notes when the result is a new workbook, not a copy."""
    suffix = Path(source_path).suffix.lower()
    if suffix in PACKAGE_SUFFIXES:
        return None
    kind = suffix.lstrip(".") or "data"
    return f"The original was a .{kind} file; the result is a new .xlsx workbook."


# =================================================================================================
# applying edits with openpyxl
# =================================================================================================


def apply_edits(wb, edits: Sequence[Edit]) -> None:
    """Apply ``edits`` in order to an openpyxl workbook."""
    for e in edits:
        if isinstance(e, AddSheet):
            _add_sheet(wb, e)
            continue
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
    # as in package.py: print landscape, one page wide
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
            cell.value = v
            if isinstance(v, str) and v.startswith("="):
                cell.data_type = "s"  # literal text, never a formula
            if i == 0 and e.bold_first_row:
                if bold_font is None:
                    bold_font = copy(cell.font)
                    bold_font.bold = True
                cell.font = bold_font
            elif e.number_formats and k < len(e.number_formats) and e.number_formats[k]:
                cell.number_format = e.number_formats[k]


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
# loading, building and saving
# =================================================================================================


def _load_package(src: Path, *, keep_vba: bool):
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


def _workbook_from_csv(src: Path, sheet_name: str):
    from openpyxl import Workbook

    text = _read_text(src)
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if src.suffix.lower() == ".tsv" else csv.excel
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name
    for row in csv.reader(io.StringIO(text), dialect):
        ws.append([_csv_value(v) for v in row])
    return wb


def _workbook_from_calamine(src: Path):
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
                ws.cell(row=r0 + i + 1, column=c0 + k + 1, value=v)
    return wb


def _data_sheet_name(edits: Sequence[Edit], src: Path) -> str:
    """A csv becomes one sheet; name it as the edits expect (the reader names the Table's sheet)."""
    added = {e.name for e in edits if isinstance(e, AddSheet)}
    for e in edits:
        name = getattr(e, "sheet", None)
        if name and name not in added:
            return name
    return re.sub(r"[\[\]:*?/\\]", "_", src.stem)[:31] or "Sheet1"


def _refuse_same_file(src: Path, out: Path) -> None:
    same = False
    if out.exists():
        try:
            same = os.path.samefile(src, out)
        except OSError:
            same = False
    else:
        same = os.path.normcase(os.path.abspath(src)) == os.path.normcase(os.path.abspath(out))
    if same:
        raise OutputError(
            f"Won't write results over your workbook '{src.name}': SheetDL never changes the original.",
            hint="Give a different output name with --output.",
        )


#: a temporary result file: '.~Customers (SheetDL).4242.sheetdl-k3j2.tmp' (4242: the writing process)
_TEMP_RE = re.compile(r"^\.~.*\.(\d+)\.sheetdl-[^.]*\.tmp$")
#: temporary files without a process number (model files) are stale after this many seconds
STALE_TEMP_SECONDS = 3600


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or we can't tell: leave its file alone
    return True


def remove_stale_temp_files(folder) -> list[str]:
    """Delete the temporary files an earlier run left behind when it was killed mid-write (kill -9,
    power cut): ours carry the writing process's number, and that process is gone. Returns their names."""
    import time

    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        m = _TEMP_RE.match(e.name)
        try:
            if m:
                stale = not _pid_alive(int(m.group(1)))
            elif e.name.startswith(".sheetdl-") and e.name.endswith(".tmp"):
                stale = now - e.stat().st_mtime > STALE_TEMP_SECONDS
            else:
                continue
            if stale and e.is_file(follow_symlinks=False):
                os.unlink(e.path)
                removed.append(e.name)
        except OSError:
            continue
    return removed


def _temp_file(folder: Path, out: Path) -> str:
    remove_stale_temp_files(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".~{out.stem[:40]}.{os.getpid()}.sheetdl-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise OutputError(
            f"Can't write to the folder '{folder}': it is read-only or you don't have permission ({e.strerror}).",
            hint="Choose a folder you can write to with --output.",
        ) from e
    os.close(fd)
    return tmp


def _save(wb, tmp: str) -> None:
    _rewind_images(wb)
    with open(tmp, "wb") as f:
        wb.save(f)
        f.flush()
        os.fsync(f.fileno())


def _rewind_images(wb) -> None:
    """Give each picture of an openpyxl workbook its bytes afresh before a save.

    openpyxl reads a picture's bytes while saving and closes the file it read them from, so a second
    save of the same workbook (after ``on_lost`` added the "could not be carried over" lines) fails
    with "I/O operation on closed file". The bytes are taken once, before the first save, and each save
    gets a new in-memory file of them. The package writer (no ``worksheets``) has nothing to do."""
    for ws in getattr(wb, "worksheets", ()):
        for img in getattr(ws, "_images", ()):
            data = getattr(img, "_sheetdl_bytes", None)
            if data is None:
                data = img._data()  # noqa: SLF001 - what openpyxl itself calls on saving
                img._sheetdl_bytes = data
            img.ref = io.BytesIO(data)


def _set_mode(tmp: str, out: Path) -> None:
    """mkstemp makes a private file; give the result the permissions a normal save would."""
    try:
        mode = os.stat(out).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.chmod(tmp, mode)
    except OSError:  # pragma: no cover - e.g. some network drives
        pass


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


# =================================================================================================
# what a package holds, and what went missing
# =================================================================================================

_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"

#: relationship type (its last path segment) from a sheet → what it is
_SHEET_RELS = {
    "pivotTable": "pivot tables",
    "table": "tables",
    "slicer": "slicers",
    "timeline": "timelines",
    "ctrlProp": "form controls (buttons, check boxes, lists)",
    "control": "ActiveX controls",
    "oleObject": "embedded objects",
    "threadedComment": "threaded comments (replies)",
    "queryTable": "query tables",
}

#: graphicData uri (its tail) in a drawing → what it is
_GRAPHIC_URIS = {
    "drawingml/2006/chart": "charts",
    "drawing/2014/chartex": "charts",
    "drawingml/2006/diagram": "SmartArt graphics",
    "drawing/2010/slicer": "slicers",
    "drawing/2011/timeslicer": "timelines",
}

#: markers in a sheet's XML after <sheetData> (its extension lists)
_SHEET_MARKERS = {
    "sparklines": re.compile(rb"<(?:[\w.-]+:)?sparklineGroup\b"),
    "options of conditional formats from newer Excel (data bars, icon sets)":
        re.compile(rb"<x14:conditionalFormatting\b"),
    "drop-down lists that refer to other sheets": re.compile(rb"<x14:dataValidation\b"),
}

#: whole-workbook parts → what they are
_BOOK_PARTS = [
    (re.compile(r"^xl/vbaProject\.bin$", re.I), "macros (VBA)"),
    (re.compile(r"^xl/externalLinks/externalLink\d+\.xml$", re.I), "links to other workbooks"),
    (re.compile(r"^xl/connections\.xml$", re.I), "data connections (queries)"),
    (re.compile(r"^customXml/item\d+\.xml$", re.I), "custom XML data (such as Power Query definitions)"),
    (re.compile(r"^xl/model/", re.I), "the Data Model (Power Pivot)"),
    (re.compile(r"^customUI/", re.I), "a custom ribbon"),
    (re.compile(r"^xl/richData/", re.I), "pictures in cells and linked data types"),
    (re.compile(r"^xl/metadata\.xml$", re.I), "dynamic array formula settings (formulas may show an @ sign)"),
    (re.compile(r"^xl/webextensions/", re.I), "Office add-ins saved in the workbook"),
    (re.compile(r"^xl/printerSettings/", re.I), "printer settings"),
    (re.compile(r"^docProps/custom\.xml$", re.I), "custom document properties"),
]
_COUNTED_BOOK = {"links to other workbooks"}  # the others are there or not

#: folders whose parts the counts above account for (anything else lost is reported by folder)
_KNOWN_FOLDERS = {
    "", "_rels", "docProps", "xl", "xl/_rels", "xl/worksheets", "xl/worksheets/_rels", "xl/chartsheets",
    "xl/chartsheets/_rels", "xl/dialogsheets", "xl/macrosheets", "xl/theme", "xl/theme/_rels", "xl/drawings",
    "xl/drawings/_rels", "xl/charts", "xl/charts/_rels", "xl/media", "xl/tables", "xl/tables/_rels",
    "xl/pivotTables", "xl/pivotTables/_rels", "xl/pivotCache", "xl/pivotCache/_rels", "xl/externalLinks",
    "xl/externalLinks/_rels", "xl/comments", "xl/threadedComments", "xl/persons", "xl/slicers",
    "xl/slicerCaches", "xl/timelines", "xl/timelineCaches", "xl/ctrlProps", "xl/activeX", "xl/activeX/_rels",
    "xl/embeddings", "xl/queryTables", "xl/printerSettings", "customXml", "customXml/_rels", "xl/model",
    "customUI", "customUI/_rels", "xl/richData", "xl/richData/_rels", "xl/webextensions",
    "xl/webextensions/_rels", "xl/drawings/vmlDrawing", "xl/calcChain",
}


def package_inventory(path) -> Counter:
    """What an .xlsx/.xlsm package holds, as counts keyed by (sheet name or "", what)."""
    inv: Counter = Counter()
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        for name, kind, part in _sheets(z):
            if part not in names:
                continue
            where = name
            for rtype, target in _rels(z, part):
                if rtype in _SHEET_RELS:
                    inv[(where, _SHEET_RELS[rtype])] += 1
                elif rtype == "drawing" and target in names:
                    for what, n in _drawing_counts(z, target).items():
                        inv[(where, what)] += n
                    for crtype, chart in _rels(z, target):
                        styled = any(t in ("chartStyle", "chartColorStyle") for t, _ in _rels(z, chart))
                        if crtype == "chart" and styled:
                            inv[(where, "chart style and colour settings")] += 1
                elif rtype == "comments" and target in names:
                    n = len(re.findall(rb"<(?:[\w.-]+:)?comment\b", z.read(target)))
                    if n:
                        inv[(where, "comments (notes)")] += n
            if kind == "worksheet":
                tail = _after_sheet_data(z, part)
                for what, rx in _SHEET_MARKERS.items():
                    n = len(rx.findall(tail))
                    if n:
                        inv[(where, what)] += n
        for part in names:
            for rx, what in _BOOK_PARTS:
                if rx.search(part):
                    inv[("", what)] += 1
        for part in names:
            folder = posixpath.dirname(part)
            if folder not in _KNOWN_FOLDERS and not folder.startswith(("xl/worksheets/", "xl/drawings/")):
                inv[("", f"other parts of the file ({folder})")] += 1
    return inv


def describe_lost(before: Counter, after: Counter) -> list[str]:
    """Plain sentences for everything ``before`` has more of than ``after``."""
    out = []
    for (where, what), n in before.items():
        missing = n - after.get((where, what), 0)
        if missing <= 0:
            continue
        if not where:
            out.append(f"{missing} {what}" if what in _COUNTED_BOOK and missing > 1 else what)
            continue
        out.append(f"{_counted(what, missing)} on sheet '{where}'")
    return out


def _counted(what: str, n: int) -> str:
    """'2 charts', '1 picture'; kinds that are not sensibly counted stay as they are."""
    singular = {"charts": "chart", "pictures": "picture", "pivot tables": "pivot table", "tables": "table",
                "slicers": "slicer", "timelines": "timeline", "embedded objects": "embedded object",
                "SmartArt graphics": "SmartArt graphic", "ActiveX controls": "ActiveX control",
                "query tables": "query table", "comments (notes)": "comment (note)"}
    if what in singular:
        return f"{n} {singular[what] if n == 1 else what}"
    return what


def _sheets(z: zipfile.ZipFile) -> list[tuple[str, str, str]]:
    """(name, kind, part) of each sheet, in workbook order."""
    book = _main_part(z)
    rels = {rid: (rtype, target) for rid, rtype, target in _rels_with_ids(z, book)}
    root = ET.fromstring(z.read(book))
    out = []
    for el in root.iter(f"{{{_MAIN_NS}}}sheet"):
        rid = el.get(f"{{{_R_NS}}}id")
        rtype, target = rels.get(rid, ("", ""))
        out.append((el.get("name", ""), rtype, target))
    if not out:  # strict OOXML or another namespace: match by local name
        for el in root.iter():
            if el.tag.rsplit("}", 1)[-1] == "sheet":
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
                rtype, target = rels.get(rid, ("", ""))
                out.append((el.get("name", ""), rtype, target))
    return out


def _main_part(z: zipfile.ZipFile) -> str:
    for rtype, target in _rels(z, ""):
        if rtype == "officeDocument":
            return target
    return "xl/workbook.xml"


def _rels_path(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def _rels_with_ids(z: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    try:
        data = z.read(_rels_path(part))
    except KeyError:
        return []
    out = []
    folder = posixpath.dirname(part)
    for el in ET.fromstring(data).iter(f"{{{_REL_NS}}}Relationship"):
        if el.get("TargetMode") == "External":
            continue
        target = el.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append((el.get("Id", ""), el.get("Type", "").rsplit("/", 1)[-1], target))
    return out


def _rels(z: zipfile.ZipFile, part: str) -> list[tuple[str, str]]:
    return [(t, target) for _, t, target in _rels_with_ids(z, part)]


def _drawing_counts(z: zipfile.ZipFile, part: str) -> Counter:
    counts: Counter = Counter()
    try:
        root = ET.fromstring(z.read(part))
    except ET.ParseError:
        return counts

    def walk(el, top: bool) -> None:
        for child in el:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "AlternateContent":  # newer objects with an old-style fallback: look at the first choice
                choice = next((c for c in child if c.tag == f"{{{_MC_NS}}}Choice"), None)
                if choice is not None:
                    walk(choice, top)
                continue
            if tag == "pic":
                counts["pictures"] += 1
            elif tag in ("sp", "cxnSp"):
                counts["text boxes and shapes"] += 1
            elif tag == "grpSp":
                walk(child, False)
                continue
            elif tag == "graphicFrame":
                uri = next((g.get("uri", "") for g in child.iter() if g.tag.endswith("}graphicData")), "")
                what = next((w for tail, w in _GRAPHIC_URIS.items() if uri.endswith(tail)), "other objects")
                counts[what] += 1
            else:
                walk(child, top)

    walk(root, True)
    return counts


_END_OF_SHEET_DATA = re.compile(rb"</(?:[\w.-]+:)?sheetData>|<(?:[\w.-]+:)?sheetData\s*/>")


def _after_sheet_data(z: zipfile.ZipFile, part: str) -> bytes:
    """The sheet XML after its cells (conditional formats, extension lists), read in chunks so a big
    sheet is never held whole."""
    keep = b""
    found = False
    with z.open(part) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            buf = keep + chunk
            if found:
                keep = buf
                continue
            last = None
            for last in _END_OF_SHEET_DATA.finditer(buf):
                pass
            if last is not None:
                found = True
                keep = buf[last.end():]
            else:
                keep = buf[-64:]
    return keep if found else b""
