"""Results → SheetEdits: where each result of a run goes in the workbook, decided once for every
backend (files, Office.js).

``layout`` (``workbook``) is the entry point: the result columns beside the data (``data_columns``), the
``SheetDL Report`` sheet (``report_sheet``), ``SheetDL Importance`` (``importance_sheet``) and
``SheetDL Images`` (``images_sheet``). Imports the engine's Results and the sheets' edits; nothing
here trains, reads or writes a file.
"""

from .data_columns import MAX_AREAS, MAX_BLOCK_ROWS, REVIEW_MARK
from .importance_sheet import importance_words
from .report_sheet import METRIC_INFO, WRAP_AT
from .workbook import IMAGES_SHEET, IMPORTANCE_SHEET, REPORT_SHEET, layout, layout_not_carried_over, summary_sentences

__all__ = [
    "layout",
    "layout_not_carried_over",
    "summary_sentences",
    "importance_words",
    "REPORT_SHEET",
    "IMPORTANCE_SHEET",
    "IMAGES_SHEET",
    "MAX_AREAS",
    "MAX_BLOCK_ROWS",
    "REVIEW_MARK",
    "METRIC_INFO",
    "WRAP_AT",
]
