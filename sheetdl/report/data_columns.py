"""The result columns SheetDL writes on the data sheet, right of everything the sheet uses.

``Predicted <target>``, ``Confidence`` and ``Review`` (classification), ``Low``/``High`` (regression
interval), ``Why`` (reasons); predictions for rows whose target was blank are shaded yellow, and
predictions to check orange. Rows are written in blocks small enough for one Office.js request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import Results
from ..errors import OutputError
from ..sheets import Edit, FormatRange, SetColumnWidth, WriteCells
from .cells import HEADER_FILL, cell_ref, decimals_for, native, number_format, rounded, text_width

#: most rows in one WriteCells block (Excel on the web takes ~5 MB a request: 5k-20k rows)
MAX_BLOCK_ROWS = 5000
#: most ranges in one multi-area FormatRange (Excel's getRanges takes an address of ≤ 8,192 characters)
MAX_AREAS = 400
#: Excel's last column (XFD)
_MAX_COL = 16384

# colours (RRGGBB)
_FILLED_FILL = "FFF2CC"  # light yellow: predictions for rows whose target was blank
_REVIEW_FILL = "F8CBAD"  # light orange: predictions a person should check
#: what the Review column says for a prediction below the review threshold
REVIEW_MARK = "Check"


def prediction_col(table) -> int:
    return max(table.last_col, table.sheet_max_col or 0) + 1


@dataclass
class _ResultColumns:
    """The result columns, left to right: header, values, number format and width of each."""

    headers: list[str] = field(default_factory=list)
    values: list[list[Any]] = field(default_factory=list)
    formats: list[str | None] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    centred: list[int] = field(default_factory=list)  # a number next to text reads better centred

    def add(self, header: str, values: list[Any], number_format: str | None, width: float, *,
            centre: bool = False) -> None:
        self.headers.append(header)
        self.values.append(values)
        self.formats.append(number_format)
        self.widths.append(width)
        if centre:
            self.centred.append(len(self.headers) - 1)


def data_sheet(results: Results, table) -> tuple[list[Edit], int]:
    """The result columns' edits, and the column (1-based) where they start."""
    sheet = table.sheet
    start = prediction_col(table)
    n = len(results.prediction)
    if n != len(table.sheet_rows):
        raise ValueError(f"{n} predictions for {len(table.sheet_rows)} table rows")
    cols = _result_columns(results)
    last = start + len(cols.headers) - 1
    if last > _MAX_COL:
        raise OutputError(
            f"Sheet '{sheet}' has no room right of its data for SheetDL's {len(cols.headers)} result columns.",
            hint="Move or delete some columns at the far right of the sheet, or copy the table to a new sheet.",
            sheet=sheet,
        )
    hr = int(table.header_row or 1)
    edits: list[Edit] = [
        WriteCells(sheet, hr, start, [cols.headers], bold_first_row=True),
        FormatRange(sheet, f"{cell_ref(hr, start)}:{cell_ref(hr, last)}", bold=True, fill=HEADER_FILL,
                    border_bottom=True),
    ]
    rows = [int(r) for r in table.sheet_rows]
    for i, j in _runs(rows):
        for a in range(i, j, MAX_BLOCK_ROWS):  # blocks small enough for one Office.js request
            b = min(j, a + MAX_BLOCK_ROWS)
            block = [[col[k] for col in cols.values] for k in range(a, b)]
            edits.append(WriteCells(sheet, rows[a], start, block, number_formats=list(cols.formats)))
    edits += _shading(results, cols, sheet, rows, start)
    if rows:  # one range from the first to the last row: cells between runs are ours and empty
        for k in cols.centred:
            edits.append(FormatRange(sheet, f"{cell_ref(min(rows), start + k)}:{cell_ref(max(rows), start + k)}",
                                     horizontal="center"))
    for k, w in enumerate(cols.widths):
        edits.append(SetColumnWidth(sheet, start + k, round(w, 1)))
    return edits, start


def _result_columns(results: Results) -> _ResultColumns:
    """``Predicted <target>``, then Confidence, Review, Low and High, and Why, as the results have them."""
    regression = results.task == "regression"
    decimals = decimals_for(results.prediction) if regression else 0
    reg_format = number_format(decimals)
    cols = _ResultColumns()
    header = f"Predicted {results.target}"
    if regression:
        preds = [rounded(v, decimals) for v in results.prediction]
    else:
        preds = [native(v) for v in results.prediction]
    cols.add(header, preds, reg_format if regression else None, text_width([header] + preds[:2000], lo=12, hi=40))
    if results.confidence is not None:
        cols.add("Confidence", [native(v) for v in np.asarray(results.confidence, dtype=float)], "0%", 12,
                 centre=True)
    review = results.to_review
    if review is not None:
        cols.add("Review", [REVIEW_MARK if r else None for r in review], None, 9, centre=True)
    if results.low is not None and results.high is not None:
        for name, arr in (("Low", results.low), ("High", results.high)):
            cols.add(name, [rounded(v, decimals) for v in arr], reg_format, max(10, cols.widths[0] * 0.8))
    if results.reasons is not None:
        cols.add("Why", [None if r is None else str(r) for r in results.reasons], None, 60)
    return cols


def _shading(results: Results, cols: _ResultColumns, sheet: str, rows: list[int], start: int) -> list[Edit]:
    """Predictions for rows whose target was blank shaded yellow; the Review marks orange."""
    edits: list[Edit] = []
    labelled = np.asarray(results.labelled, dtype=bool)
    blank_rows = [r for r, lab in zip(rows, labelled) if not lab]
    areas = [f"{cell_ref(blank_rows[i], start)}:{cell_ref(blank_rows[j - 1], start)}" for i, j in _runs(blank_rows)]
    for a in range(0, len(areas), MAX_AREAS):
        edits.append(FormatRange(sheet, ",".join(areas[a:a + MAX_AREAS]), fill=_FILLED_FILL))
    review = results.to_review
    if review is not None:
        k = cols.headers.index("Review")
        marked = [r for r, m in zip(rows, review) if m]
        areas = [f"{cell_ref(marked[i], start + k)}:{cell_ref(marked[j - 1], start + k)}" for i, j in _runs(marked)]
        for a in range(0, len(areas), MAX_AREAS):
            edits.append(FormatRange(sheet, ",".join(areas[a:a + MAX_AREAS]), fill=_REVIEW_FILL, bold=True))
    return edits


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    """[i, j) index ranges of ``rows`` whose sheet rows follow one another."""
    out = []
    i = 0
    for k in range(1, len(rows) + 1):
        if k == len(rows) or rows[k] != rows[k - 1] + 1:
            out.append((i, k))
            i = k
    return out
