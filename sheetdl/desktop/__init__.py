"""Desktop Excel through xlwings: the live backend (read the open workbook's table, apply SheetEdits to
it), the ribbon add-in (``SheetDL.xlam`` built from xlwings' BSD quickstart add-in), and the background
jobs its buttons start so Excel stays usable while a model trains.

Nothing here was run against real Excel: it is tested against an in-memory stand-in for the xlwings
calls it uses (tests/desktop/standin.py).
"""

from .excel import NO_EXCEL_HINT, caller_book, excel_supported, find_open_book, xlwings_module
from .live import apply_live_edits, live_settings, live_sheet_names, read_live_table

__all__ = [
    "apply_live_edits",
    "read_live_table",
    "live_settings",
    "live_sheet_names",
    "find_open_book",
    "caller_book",
    "xlwings_module",
    "excel_supported",
    "NO_EXCEL_HINT",
]
