"""``layout``: where in the workbook each result goes, as SheetEdits.

CONTRACT: the engine fills :class:`~sheetdl.engine.Results`; ``layout(results, table)`` returns the
list of SheetEdits that every backend (files, Office.js) applies the same way. All per-row arrays are
aligned with ``table.values`` rows (same order, same length). A pure function of Results + Table (+ the
sheet names already taken).

Each sheet's edits are built in its own module: ``data_columns.py`` (the result columns beside the
data), ``report_sheet.py`` (``SheetDL Report``), ``importance_sheet.py`` (``SheetDL Importance``),
``images_sheet.py`` (``SheetDL Images``), with the cell helpers they share in ``cells.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..engine import Results
from ..sheets import Edit
from .cells import decimals_for
from .data_columns import data_sheet, prediction_col
from .images_sheet import images_sheet
from .importance_sheet import importance_sheet
from .report_sheet import SheetWriter, lost_section, report_sheet, summary

__all__ = ["layout", "layout_not_carried_over", "summary_sentences", "REPORT_SHEET", "IMPORTANCE_SHEET",
           "IMAGES_SHEET"]

REPORT_SHEET = "SheetDL Report"
IMPORTANCE_SHEET = "SheetDL Importance"
IMAGES_SHEET = "SheetDL Images"


def layout(results: Results, table, existing_sheets: Sequence[str] = ()) -> list[Edit]:
    """The edits that put ``results`` into the workbook ``table`` came from.

    - on the data sheet, new columns right of everything the sheet uses: ``Predicted <target>``,
      ``Confidence`` (classification), ``Low``/``High`` (regression interval), ``Why`` (reasons);
      predictions for rows whose target was blank are shaded yellow;
    - a ``SheetDL Report`` sheet (what the model achieved, in words and numbers, how each column was
      used, the training curve, settings, run facts, notes);
    - a ``SheetDL Importance`` sheet when importances were computed.

    ``existing_sheets`` are the workbook's sheet names; new sheets get a number ("SheetDL Report 2")
    rather than replace anything.
    """
    report_name, importance_name, images_name = _sheet_names(existing_sheets)
    edits: list[Edit] = []
    data_edits, pred_col = data_sheet(results, table)
    edits += data_edits
    report_edits, _ = report_sheet(results, table, report_name, pred_col)
    edits += report_edits
    if results.importance:
        edits += importance_sheet(results, importance_name)
    if results.pictures:
        edits += images_sheet(results, table, images_name)
    return edits


def summary_sentences(results: Results, table) -> list[str]:
    """The report's opening sentences, for a terminal or a task pane."""
    regression = results.task == "regression"
    decimals = decimals_for(results.prediction) if regression else 2
    return summary(results, table, prediction_col(table), decimals)


def layout_not_carried_over(
    results: Results, table, lost: Sequence[str], existing_sheets: Sequence[str] = ()
) -> list[Edit]:
    """The "Could not be carried over" section alone, for a writer that learns what it lost only
    after ``layout`` ran: it goes at the end of the report, so nothing else moves.

    ``existing_sheets`` must be the names passed to ``layout`` (so the report's name is the same).
    """
    if not lost:
        return []
    report_name = _sheet_names(existing_sheets)[0]
    without = replace(results, not_carried_over=[])
    _, next_row = report_sheet(without, table, report_name, prediction_col(table))
    sheet = SheetWriter(report_name, next_row)
    lost_section(sheet, lost)
    return sheet.edits


def _sheet_names(existing: Sequence[str]) -> tuple[str, str, str]:
    """The first free set: ("SheetDL Report", "SheetDL Importance", "SheetDL Images"), then "… 2",
    "… 3" … (Excel compares sheet names without regard to case)."""
    taken = {str(n).casefold() for n in existing}
    k = 1
    while True:
        suffix = "" if k == 1 else f" {k}"
        pair = (REPORT_SHEET + suffix, IMPORTANCE_SHEET + suffix, IMAGES_SHEET + suffix)
        if not any(p.casefold() in taken for p in pair):
            return pair
        k += 1
