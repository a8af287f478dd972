"""Table: the data region of one sheet, with its header found and each row's sheet row number kept.

CONTRACT (owned by the reader work; other modules rely on exactly this):

- ``Table.values`` is a pandas DataFrame of *raw* cell values, dtype object, one column per header,
  in sheet order; blank cells and Excel errors (#N/A, #DIV/0! …) are ``None``. Values keep the
  Python type the workbook stored: str, int, float, bool, datetime.datetime/date/time.
- ``Table.columns`` are the cleaned, unique header names (stray spaces stripped; blank headers named
  "Column F"; duplicates made unique as "Price (2)").
- ``Table.letters[i]`` is the Excel column letter of column i; ``Table.sheet_rows[j]`` the 1-based
  Excel row number of data row j. ``cell(column, j)`` gives "B17".
- ``Table.notes`` are plain-language remarks for the report ("found the header on row 3, below a title").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import WorkbookError, cell_list
from .read import not_blank, open_workbook, sheet_details

__all__ = ["Table", "read_table", "table_from_book"]


@dataclass
class Table:
    sheet: str
    columns: list[str]
    values: pd.DataFrame
    sheet_rows: np.ndarray
    letters: list[str]
    header_row: int = 1
    source: str = ""
    excel_table: str | None = None
    notes: list[str] = field(default_factory=list)
    #: rightmost used column (1-based) on the sheet, anything included, so results go right of it
    sheet_max_col: int = 0

    def cell(self, column: str, row_index: int) -> str:
        """Excel reference of data row ``row_index`` (0-based) in ``column``."""
        return f"{self.letters[self.columns.index(column)]}{int(self.sheet_rows[row_index])}"

    @property
    def n_rows(self) -> int:
        return len(self.values)

    @property
    def last_col(self) -> int:
        """1-based index of the table's rightmost column."""
        return column_index(self.letters[-1]) if self.letters else 0

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, *, sheet: str = "data", source: str = "") -> Table:
        """A Table for the Python API: header on row 1, data from row 2, columns from A."""
        names = [str(c).strip() for c in df.columns]
        values = df.copy()
        values.columns = names
        values = values.astype(object).where(pd.notna(values), None)
        letters = [column_letter(i + 1) for i in range(len(names))]
        return cls(
            sheet=sheet,
            columns=names,
            values=values.reset_index(drop=True),
            sheet_rows=np.arange(2, len(df) + 2),
            letters=letters,
            header_row=1,
            source=source,
            sheet_max_col=len(names),
        )


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A → 1, AA → 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


#: how many non-empty rows from the top are looked at when searching for the header
HEADER_SCAN_ROWS = 50
#: share of a header row's filled cells that must be text ("mostly text")
HEADER_MIN_TEXT_SHARE = 0.5
#: how many rows below a candidate header are checked to look like data of a similar width
HEADER_LOOKAHEAD_ROWS = 5
#: data rows below a header fill at least this share of the header's width (median)...
HEADER_MIN_FILL = 0.3
#: ...and at most this multiple of it (plus one), so a short title row is not taken for a header
HEADER_MAX_GROWTH = 1.5
#: sheet names SheetDL owns: its settings sheet, and the prefix of its output sheets
SETTINGS_SHEET = "SheetDL"
OUTPUT_SHEET_PREFIX = "SheetDL "


def read_table(path, *, sheet: str | None = None) -> Table:
    """Read the data table of a workbook (xlsx/xlsm/xls/xlsb/ods/csv). See module docstring.

    ``sheet`` names the sheet (or an Excel Table) to read; without it, the sheet holding the most data
    is used, skipping SheetDL's own sheets.
    """
    return table_from_book(open_workbook(path), sheet=sheet, source=str(path))


def table_from_book(wb, *, sheet: str | None = None, source: str = "") -> Table:
    """The data table of an opened workbook: a file's (:func:`read_table`) or one open in Excel, which
    the live reader (sheetdl.desktop) wraps in the same :class:`~.read.Workbook` interface, so both
    find the sheet, the header and the region by the same rules."""
    notes: list[str] = []
    name, table_ref = _choose_sheet(wb, sheet, notes)
    raw = wb.sheet(name)
    if table_ref is None and raw.tables:
        table_ref = max(raw.tables, key=lambda t: t.size)
    if raw.cells.size == 0 or not not_blank(raw.cells).any():
        if not any(wb.sheet(n).n_filled for n in wb.sheet_names if not _is_sheetdl_sheet(n)):
            raise WorkbookError(
                f"'{wb.path.name}' is empty: no sheet holds any data.",
                hint="Put your table on a sheet (one row per example, one column per feature) and save.",
            )
        raise WorkbookError(
            f"Sheet '{name}' is empty.",
            hint="Put your table on it, or choose the sheet that holds your data.",
            sheet=name,
        )
    if table_ref is not None:
        table = _from_excel_table(raw, table_ref, notes)
    else:
        table = _from_range(raw, notes)
    table.source = source
    table.sheet_max_col = max(raw.max_col, table.last_col)
    if getattr(wb, "is_package", False):
        _check_details(table, sheet_details(wb.path, name),
                       last_row=table_ref.last_row - table_ref.totals_rows if table_ref is not None else None)
    return table


def _check_details(table: Table, details, *, last_row: int | None) -> None:
    """Formulas saved without results stop the run (their cells would silently read blank); hidden
    and filtered rows and hidden columns are used like the others, and a note says so."""
    cols = {column_index(letter): letter for letter in table.letters}
    top = table.header_row
    bottom = last_row if last_row is not None else 1_048_576
    uncalc = [f"{cols[c]}{r}" for r, c in details.uncalculated if c in cols and top < r <= bottom]
    if uncalc:
        n = len(uncalc)
        raise WorkbookError(
            f"Sheet '{table.sheet}' has {n:,} formula{'s' if n != 1 else ''} "
            f"whose result{'s were' if n != 1 else ' was'} "
            f"never saved ({cell_list(uncalc)}), so SheetDL would read {'those cells' if n != 1 else 'that cell'} "
            "as blank. The file was probably written by a program that stores formulas without working "
            "them out.",
            hint="Open the file in Excel (or LibreOffice), save it, and run SheetDL again: saving stores "
                 "each formula's result.",
            sheet=table.sheet,
            cells=uncalc[:50],
        )
    hidden = sorted(set(table.sheet_rows.tolist()) & details.hidden_rows) if details.hidden_rows else []
    if hidden:
        refs = [str(r) for r in hidden]
        n = len(hidden)
        if details.filtered:
            table.notes.append(
                f"{n:,} row{'s are' if n != 1 else ' is'} hidden by a filter on sheet '{table.sheet}' "
                f"(row{'s' if n != 1 else ''} {cell_list(refs)}); SheetDL used every row, filtered out or not. "
                "To leave rows out, delete them or clear their target cell.")
        else:
            table.notes.append(
                f"Row{'s' if n != 1 else ''} {cell_list(refs)} of sheet '{table.sheet}' "
                f"{'are' if n != 1 else 'is'} hidden in Excel; SheetDL used {'them' if n != 1 else 'it'} "
                "like every other row.")
    hidden_cols = [cols[c] for c in sorted(details.hidden_cols) if c in cols]
    for letter in hidden_cols:
        name = table.columns[table.letters.index(letter)]
        table.notes.append(
            f"Column {letter} ('{name}') of sheet '{table.sheet}' is hidden in Excel; SheetDL used it. "
            "To leave it out, add it to the columns to ignore.")


def _is_sheetdl_sheet(name: str) -> bool:
    return name == SETTINGS_SHEET or name.startswith(OUTPUT_SHEET_PREFIX)


def _key(name: str) -> str:
    return "".join(str(name).split()).casefold()


def _choose_sheet(wb, sheet: str | None, notes: list[str]):
    """(sheet name, Excel Table or None): the sheet asked for, else the one holding the most data."""
    names = wb.sheet_names
    if not names:
        raise WorkbookError(
            f"'{wb.path.name}' has no sheets.",
            hint="Open it in Excel, put your table on a sheet and save it again.",
        )
    if sheet is not None:
        if sheet in names:
            return sheet, None
        matches = [n for n in names if _key(n) == _key(sheet)]
        if len(matches) == 1:
            return matches[0], None
        for sheet_name, tables in wb.all_tables().items():  # an Excel Table's name works too
            for t in tables:
                if _key(t.name) == _key(sheet):
                    return sheet_name, t
        raise WorkbookError(
            f"There is no sheet named '{sheet}' in '{wb.path.name}'. The sheets are: "
            + ", ".join(f"'{n}'" for n in names) + ".",
            hint="Check the spelling of the sheet name.",
            sheet=sheet,
        )
    candidates = [n for n in names if not _is_sheetdl_sheet(n) and n not in wb.hidden]
    if not candidates:
        candidates = [n for n in names if not _is_sheetdl_sheet(n)] or list(names)
    if len(candidates) == 1:
        return candidates[0], None
    sizes = {}
    for n in candidates:
        raw = wb.sheet(n)
        sizes[n] = max([raw.n_filled] + [t.size for t in raw.tables])
    best = max(candidates, key=lambda n: sizes[n])  # the first of the largest, in sheet order
    if sizes[best] and best != candidates[0]:
        notes.append(f"Used sheet '{best}', the one holding the most data.")
    return best, None


def _cell_text(v) -> str:
    """A header cell as text: '2024' for the number 2024, spaces and line breaks collapsed."""
    import datetime as _dt

    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time() else v.isoformat(sep=" ")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    return " ".join(str(v).split())


def clean_headers(cells, letters: list[str]) -> list[str]:
    """Header cells → unique names: blank → 'Column F'; a repeated name → 'Price (2)'."""
    names = [_cell_text(v) or f"Column {letter}" for v, letter in zip(cells, letters)]
    seen = {_key(n) for n in names}
    used: set[str] = set()
    out = []
    for n in names:
        k = _key(n)
        if k in used:
            i = 2
            while _key(f"{n} ({i})") in used or _key(f"{n} ({i})") in seen:
                i += 1
            n = f"{n} ({i})"
            k = _key(n)
        used.add(k)
        out.append(n)
    return out


def _is_text(v) -> bool:
    return isinstance(v, str)


_is_text_vec = np.frompyfunc(_is_text, 1, 1)


def find_header_row(cells: np.ndarray, group_rows=frozenset()) -> int:
    """Index (into ``cells``) of the header row; see the HEADER_* constants for the rule.

    ``group_rows`` are rows holding cells merged across columns ("Measurements" over three
    columns): such a row is taken for titles over groups of columns, not the header, when the next
    row is a header of its own (mostly text, at least as wide).
    """
    filled = not_blank(cells)
    widths = filled.sum(axis=1)
    rows = np.flatnonzero(widths > 0)
    scan = rows[:HEADER_SCAN_ROWS]
    if _plain_header_on_top(cells, filled, widths, rows, scan, group_rows):
        return int(rows[0])
    for k, r in enumerate(scan):
        n = int(widths[r])
        if n < 2 and r not in group_rows:
            continue
        text = _is_text_vec(cells[r][filled[r]]).astype(bool)
        if text.mean() < HEADER_MIN_TEXT_SHARE:
            continue
        if r in group_rows and k + 1 < len(scan):
            nxt = scan[k + 1]
            nxt_text = _is_text_vec(cells[nxt][filled[nxt]]).astype(bool)
            if widths[nxt] >= n and nxt_text.mean() >= HEADER_MIN_TEXT_SHARE:
                continue
        if n < 2:
            continue
        below = rows[k + 1 : k + 1 + HEADER_LOOKAHEAD_ROWS]
        if len(below) == 0:
            continue
        cols = np.flatnonzero(filled[r])
        inside = filled[below][:, cols[0] : cols[-1] + 1].sum(axis=1)
        outside = widths[below] - inside
        if (
            np.median(inside) >= max(1.0, n * HEADER_MIN_FILL)
            and np.median(inside) <= n * HEADER_MAX_GROWTH + 1
            and np.median(outside) <= max(1.0, n * 0.5)
        ):
            return int(r)
    # no row looks like a header followed by data: take the widest row near the top
    return int(scan[np.argmax(widths[scan])])


def _plain_header_on_top(cells: np.ndarray, filled: np.ndarray, widths: np.ndarray, rows: np.ndarray,
                         scan: np.ndarray, group_rows) -> bool:
    """Is the first filled row a header as most sheets have it: all text, no name twice, as wide as
    any row below it, and nothing below it outside its columns? Then it is the header, however sparse
    the data under it (a wide sheet of weekly columns mostly blank fills less than HEADER_MIN_FILL of
    them, and a data row further down could otherwise pass for a header)."""
    first = rows[0] if len(rows) else None
    if first is None or first in group_rows or widths[first] < 2 or widths[first] < widths[scan].max():
        return False
    names = cells[first][filled[first]]
    if not _is_text_vec(names).astype(bool).all() or len({str(v).strip() for v in names}) < len(names):
        return False
    below = rows[1 : 1 + HEADER_LOOKAHEAD_ROWS]
    if len(below) == 0:
        return False
    cols = np.flatnonzero(filled[first])
    inside = filled[below][:, cols[0] : cols[-1] + 1].sum(axis=1)
    return bool(np.all(widths[below] == inside))


def _from_range(raw, notes: list[str]) -> Table:
    cells = raw.cells
    group_rows = {r1 - raw.row0 for r1, c1, r2, c2 in getattr(raw, "merged", ()) if c2 > c1}
    h = find_header_row(cells, group_rows)
    filled = not_blank(cells)
    cols = np.flatnonzero(filled[h])
    c1, c2 = int(cols[0]), int(cols[-1])
    letters = [column_letter(raw.col0 + j) for j in range(c1, c2 + 1)]
    names = clean_headers(cells[h, c1 : c2 + 1], letters)
    body = cells[h + 1 :, c1 : c2 + 1]
    keep = np.flatnonzero(filled[h + 1 :, c1 : c2 + 1].any(axis=1))
    header_row = raw.row0 + h
    if len(keep) == 0:
        raise WorkbookError(
            f"Sheet '{raw.name}' has a header on row {header_row} but no rows of data below it.",
            hint="Put one example per row below the header row, or choose the sheet that holds your data.",
            sheet=raw.name,
        )
    first_filled = int(np.flatnonzero(filled.any(axis=1))[0])
    if h > first_filled:
        if (h - 1) in group_rows:
            notes.append(
                f"Found the header on row {header_row} of sheet '{raw.name}'; the merged cells above it "
                "look like titles over groups of columns and were left out."
            )
        else:
            notes.append(
                f"Found the header on row {header_row} of sheet '{raw.name}' "
                "(rows above it look like a title)."
            )
    return Table(
        sheet=raw.name,
        columns=names,
        values=_frame(body[keep], names),
        sheet_rows=(raw.row0 + h + 1 + keep).astype(np.int64),
        letters=letters,
        header_row=header_row,
        notes=notes,
    )


def _from_excel_table(raw, t, notes: list[str]) -> Table:
    width = t.last_col - t.first_col + 1
    data_first = t.first_row + t.header_rows
    data_last = t.last_row - t.totals_rows
    letters = [column_letter(t.first_col + j) for j in range(width)]

    def block(r1: int, r2: int) -> np.ndarray:
        """Sheet rows r1..r2 of the table's columns, blank where outside the used range."""
        out = np.full((max(0, r2 - r1 + 1), width), None, dtype=object)
        h, w = raw.cells.shape
        i1, i2 = max(r1 - raw.row0, 0), min(r2 - raw.row0, h - 1)
        j1, j2 = max(t.first_col - raw.col0, 0), min(t.last_col - raw.col0, w - 1)
        if i1 <= i2 and j1 <= j2:
            out[i1 + raw.row0 - r1 : i2 + raw.row0 - r1 + 1,
                j1 + raw.col0 - t.first_col : j2 + raw.col0 - t.first_col + 1] = raw.cells[i1 : i2 + 1, j1 : j2 + 1]
        return out

    if t.header_rows and len(t.columns) != width:
        header = block(t.first_row, t.first_row)[0]
    else:
        header = np.array((t.columns + [None] * width)[:width], dtype=object)
    names = clean_headers(header, letters)
    body = block(data_first, data_last)
    keep = np.flatnonzero(not_blank(body).any(axis=1)) if body.size else np.array([], dtype=int)
    notes.append(f"Used the Excel Table '{t.name}' on sheet '{raw.name}'.")
    if len(keep) == 0:
        raise WorkbookError(
            f"The Excel Table '{t.name}' on sheet '{raw.name}' has no rows of data.",
            hint="Fill in its rows, or choose the sheet that holds your data.",
            sheet=raw.name,
        )
    return Table(
        sheet=raw.name,
        columns=names,
        values=_frame(body[keep], names),
        sheet_rows=(data_first + keep).astype(np.int64),
        letters=letters,
        header_row=t.first_row if t.header_rows else data_first,
        excel_table=t.name,
        notes=notes,
    )


def _frame(body: np.ndarray, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {n: pd.Series(body[:, j], dtype=object) for j, n in enumerate(names)}, dtype=object
    ).reset_index(drop=True)
