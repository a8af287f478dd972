"""Desktop Excel through xlwings: the live backend (read the open workbook's table, apply SheetEdits to
it), the ribbon add-in (``SheetDL.xlam`` built from xlwings' BSD quickstart add-in), and the background
jobs its buttons start so Excel stays usable while a model trains.

Nothing here was run against real Excel: it is tested against an in-memory stand-in for the xlwings
calls it uses (tests/desktop/standin.py).
"""

from .addin import BUTTONS, UNBLOCK_STEPS, build_xlam, custom_ui, desktop_home, install_desktop, uninstall_desktop
from .excel import NO_EXCEL_HINT, caller_book, excel_supported, find_open_book, xlwings_module
from .jobs import Job, model_path_for, pending_job, running_job, start_job
from .live import apply_live_edits, live_settings, live_sheet_names, read_live_table
from .ribbon import press
from .worker import run_job

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
    "press",
    "BUTTONS",
    "UNBLOCK_STEPS",
    "build_xlam",
    "custom_ui",
    "desktop_home",
    "install_desktop",
    "uninstall_desktop",
    "Job",
    "start_job",
    "running_job",
    "pending_job",
    "model_path_for",
    "run_job",
]
