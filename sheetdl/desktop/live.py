"""The live backend: SheetEdits applied to a workbook open in desktop Excel, and its table read, through
xlwings' object model (Windows: COM, macOS: AppleScript) — the third backend beside the file writer
and the Office.js pane, applying the same list of edits.

Only the BSD part of xlwings is used, and only the calls listed in tests/desktop/standin.py (the
in-memory stand-in the tests run against; nothing here was run against real Excel). What xlwings'
desktop engines do not offer is left out and named by :func:`apply_live_edits`'s return value:

- ``FreezePanes``: ``Sheet.freeze_panes.freeze_at`` exists only in xlwings' remote engine (0.37.8);
- a sheet's tab colour, a picture's alt text and a chart's "label every n-th category": no call;
- ``AddSheet(replace=True)``: never done live (it would delete a sheet of the user's).

Rules, the same as the file writer's: text is written as text (a leading apostrophe, so ``=1+1``,
``+x``, ``007`` or ``1/2`` stay as typed, never a formula, number or date); results go only into new
sheets and into cells that are empty; before anything is written every cell a WriteCells edit targets
on an existing sheet is read back, and if the user typed into one of them (or a sheet name is taken)
nothing is written and :class:`~sheetdl.errors.OutputError` says where.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from typing import Any

from ..errors import OutputError, cell_list
from ..settings import find_settings_sheet, settings_from_rows
from ..sheets import (
    AddChart,
    AddPicture,
    AddSheet,
    ColorScale,
    Edit,
    ExcelTable,
    FormatRange,
    FreezePanes,
    SetColumnWidth,
    SetRowHeight,
    Table,
    Workbook,
    WriteCells,
    column_letter,
    raw_sheet,
    table_from_book,
)

__all__ = ["apply_live_edits", "read_live_table", "live_settings", "live_sheet_names", "MAX_ADDRESS"]

#: longest address handed to Excel's Range() at once (COM refuses one over 255 characters)
MAX_ADDRESS = 250
_MAX_TEXT = 32767  # Excel's limit for one cell
_CM = 72 / 2.54  # points per centimetre
_PX = 0.75  # points per pixel at 96 dpi


# =================================================================================================
# reading
# =================================================================================================


def live_sheet_names(book) -> list[str]:
    return [s.name for s in book.sheets]


def _sheet(book, name: str):
    sheets = list(book.sheets)
    for s in sheets:
        if s.name == name:
            return s
    for s in sheets:
        if s.name.casefold() == name.casefold():
            return s
    return None


def _grid(rng) -> list[list[Any]]:
    """A range's values as rows, Excel errors as their text ('#N/A'), dates at midnight as dates (as
    the file reader gives them)."""
    rows = rng.options(ndim=2, err_to_str=True).value or []
    return [[v.date() if isinstance(v, dt.datetime) and v.time() == dt.time() else v for v in row] for row in rows]


def _excel_tables(sheet) -> list[ExcelTable]:
    out = []
    for t in sheet.tables:
        rng = t.range
        rows, cols = rng.shape
        headers = 1 if t.show_headers else 0
        out.append(ExcelTable(name=t.name, first_row=rng.row, first_col=rng.column, last_row=rng.row + rows - 1,
                              last_col=rng.column + cols - 1, header_rows=headers,
                              totals_rows=1 if t.show_totals else 0))
    return out


def read_live_table(book, *, sheet: str | None = None) -> Table:
    """The data table of a workbook open in Excel, as it is now (unsaved edits included), found by the
    same rules as the file reader (:func:`sheetdl.sheets.table_from_book`): the sheet asked for (or an
    Excel Table's name), else the one holding the most data; the header row; an Excel Table as defined.

    Not known live, so not noted as the file reader notes them: hidden or filtered rows, and merged
    cells above the header (used there only to tell group titles from the header).
    """
    names = live_sheet_names(book)
    tables = {}
    for s in book.sheets:
        found = _excel_tables(s)
        if found:
            tables[s.name] = found

    def load(name: str):
        s = _sheet(book, name)
        used = s.used_range
        raw = raw_sheet(name, _grid(used), used.row, used.column)
        return raw

    wb = Workbook(_book_path(book), names, load, tables=tables)
    table = table_from_book(wb, sheet=sheet, source=str(book.fullname))
    return table


def _book_path(book):
    from pathlib import PurePath

    return PurePath(str(book.fullname or book.name))


def live_settings(book) -> tuple[dict[str, Any], list[str]]:
    """The SheetDL sheet's settings of an open workbook, as :func:`sheetdl.settings.read_settings_sheet`
    reads them from a file: keyword arguments for Settings, and notes."""
    name = find_settings_sheet(live_sheet_names(book))
    if name is None:
        return {}, []
    s = _sheet(book, name)
    used = s.used_range
    grid = _grid(used)
    # settings_from_rows counts from A1: pad the used range's offset back in
    rows = [[None] * (used.column - 1) + list(r) for r in grid]
    rows = [[] for _ in range(used.row - 1)] + rows
    return settings_from_rows(rows, name)


# =================================================================================================
# writing
# =================================================================================================


def apply_live_edits(book, edits: Sequence[Edit]) -> list[str]:
    """Apply ``edits`` to the open workbook ``book`` (an xlwings Book); return, in plain words, what
    of them xlwings could not apply (see the module docstring). Raises OutputError, before writing
    anything, when a result would land on a cell that is no longer empty or a sheet name is taken."""
    _preflight(book, edits)
    skipped: list[str] = []
    app = book.app
    updating = app.screen_updating
    app.screen_updating = False
    try:
        for e in edits:
            if isinstance(e, AddSheet):
                last = list(book.sheets)[-1]
                book.sheets.add(name=e.name, after=last)
                if e.tab_color:
                    _once(skipped, "the colour of SheetDL's sheet tabs")
                continue
            s = _sheet(book, e.sheet)  # type: ignore[attr-defined]
            if s is None:  # pragma: no cover - _preflight checked
                raise OutputError(f"The workbook has no sheet '{e.sheet}' to write results to.")  # type: ignore
            if isinstance(e, WriteCells):
                _write_cells(s, e)
            elif isinstance(e, FormatRange):
                _format_range(s, e)
            elif isinstance(e, SetColumnWidth):
                s.range((1, e.col)).column_width = e.width
            elif isinstance(e, SetRowHeight):
                s.range((e.row, 1)).row_height = e.height
            elif isinstance(e, ColorScale):
                colors = [e.min_color] + ([e.mid_color] if e.mid_color else []) + [e.max_color]
                s.range(e.ref).conditional_formats.add_color_scale(["#" + c for c in colors])
            elif isinstance(e, AddChart):
                _add_chart(s, e, skipped)
            elif isinstance(e, AddPicture):
                _add_picture(s, e)
                if e.description:
                    _once(skipped, "the pictures' descriptions (alt text)")
            elif isinstance(e, FreezePanes):
                _once(skipped, "frozen header rows on SheetDL's sheets")
            else:  # pragma: no cover - a new edit type without a live writer
                raise TypeError(f"no live writer for {type(e).__name__}")
    finally:
        app.screen_updating = updating
    return skipped


def _once(skipped: list[str], what: str) -> None:
    if what not in skipped:
        skipped.append(what)


def _preflight(book, edits: Sequence[Edit]) -> None:
    """Everything that would make the edits overwrite or delete something, checked before any is applied."""
    existing = {n.casefold(): n for n in live_sheet_names(book)}
    added: set[str] = set()
    for e in edits:
        if isinstance(e, AddSheet):
            key = e.name.casefold()
            if key in existing or key in added:
                raise OutputError(f"The workbook already has a sheet '{existing.get(key, e.name)}', so SheetDL "
                                  "won't add its own by that name.", sheet=e.name,
                                  hint="Rename or delete that sheet, then run again.")
            added.add(key)
            continue
        name = e.sheet  # type: ignore[attr-defined]
        if name.casefold() in added:
            continue
        if name.casefold() not in existing:
            raise OutputError(f"The workbook has no sheet '{name}' to write results to (was it renamed or "
                              "deleted while SheetDL worked?).", sheet=name,
                              hint="Put the sheet back, or run SheetDL again.")
        if isinstance(e, WriteCells) and e.values:
            s = _sheet(book, name)
            block = s.range((e.row, e.col), (e.row + e.n_rows - 1, e.col + max(e.n_cols, 1) - 1))
            grid = block.options(ndim=2, err_to_str=True).value or []
            taken = [f"{column_letter(e.col + j)}{e.row + i}" for i, row in enumerate(grid)
                     for j, v in enumerate(row) if not (v is None or v == "")]
            if taken:
                raise OutputError(
                    f"SheetDL's results would go into cells of sheet '{name}' that are no longer empty "
                    f"({cell_list(taken)}), so nothing was written.", sheet=name, cells=taken[:50],
                    hint="Move what you typed there (or delete it), then run SheetDL again.")


def _literal(v: Any) -> Any:
    """A value as Excel must receive it to keep it as SheetEdits mean it: text as text."""
    if hasattr(v, "item") and not isinstance(v, str | int | float | bool):
        v = v.item()  # numpy scalar
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, str):
        # Excel reads what it is given as if typed: '=1+1' would become a formula, '007' a number,
        # '1/2' a date; a leading apostrophe keeps any text as it is (and is not part of the value)
        return "'" + v[:_MAX_TEXT]
    return v


def _write_cells(s, e: WriteCells) -> None:
    rows = [[_literal(v) for v in row] for row in e.values]
    if not rows:
        return
    widths = {len(r) for r in rows}
    if len(widths) == 1:
        if widths != {0}:
            s.range((e.row, e.col)).value = rows  # one block: one call to Excel
    else:  # a ragged block: row by row, so no cell outside the edit is touched
        for i, row in enumerate(rows):
            if row:
                s.range((e.row + i, e.col)).value = [row]
    first = e.row + (1 if e.bold_first_row else 0)
    last = e.row + len(rows) - 1
    if e.bold_first_row:
        s.range((e.row, e.col), (e.row, e.col + max(widths) - 1)).font.bold = True
    if e.number_formats and last >= first:
        for k, fmt in enumerate(e.number_formats):
            if fmt:
                s.range((first, e.col + k), (last, e.col + k)).number_format = fmt


def _areas(ref: str) -> list[str]:
    """A comma-separated list of ranges cut into addresses Excel takes in one Range() call."""
    out: list[str] = []
    current = ""
    for area in (a.strip() for a in ref.split(",")):
        if not area:
            continue
        if current and len(current) + 1 + len(area) > MAX_ADDRESS:
            out.append(current)
            current = area
        else:
            current = f"{current},{area}" if current else area
    if current:
        out.append(current)
    return out


def _format_range(s, e: FormatRange) -> None:
    for address in _areas(e.ref):
        r = s.range(address)
        if e.number_format is not None:
            r.number_format = e.number_format
        if e.bold is not None:
            r.font.bold = e.bold
        if e.italic is not None:
            r.font.italic = e.italic
        if e.font_size is not None:
            r.font.size = e.font_size
        if e.font_color is not None:
            r.font.color = "#" + e.font_color
        if e.fill is not None:
            r.color = "#" + e.fill
        if e.wrap is not None:
            r.wrap_text = e.wrap
        if e.horizontal is not None:
            r.horizontal_alignment = e.horizontal
        if e.border_bottom:
            edge = r.borders["edge_bottom"]
            edge.line_style = "continuous"
            edge.weight = "thin"
            edge.color = "#9BC2E6"


def _add_chart(s, e: AddChart, skipped: list[str]) -> None:
    at = s.range(e.anchor)
    chart = s.charts.add(left=at.left, top=at.top, width=e.width * _CM, height=e.height * _CM)
    chart.chart_type = "line" if e.kind == "line" else "bar_clustered"
    # each series' first cell is its title; Excel takes a text first cell above numbers as the name
    chart.set_source_data(s.range(",".join(e.series)), plot_by="columns")
    chart.set_x_axis_values(s.range(e.categories))
    chart.title = e.title
    chart.legend.visible = e.legend
    if e.legend:
        chart.legend.position = "bottom"
    if e.x_title:
        chart.category_axis.title = e.x_title
    if e.y_title:
        chart.value_axis.title = e.y_title
    if e.value_format:
        chart.value_axis.number_format = e.value_format
    if e.reverse_categories:
        chart.category_axis.reverse_order = True
        chart.category_axis.crosses = "maximum"  # keeps the value axis at the bottom
    if e.kind == "line":
        for series in chart.series:
            series.marker_style = "none"
    if e.category_label_step and e.category_label_step > 1:
        _once(skipped, "the training curve's spacing of axis labels")


def _add_picture(s, e: AddPicture) -> None:
    at = s.range(e.anchor)
    fd, path = tempfile.mkstemp(suffix=".png", prefix="sheetdl-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(e.png_bytes())
        s.pictures.add(path, left=at.left, top=at.top, width=e.width * _PX, height=e.height * _PX)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass

