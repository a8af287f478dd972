"""Workbook files in and out, and no machine learning: reading a file into a Table (``read``,
``table``), the edits SheetDL makes to a workbook (``edits``), writing a copy with them applied
(``write``; the part-by-part package editor's internals in ``_xlsx``, the openpyxl fallback in
``openpyxl_writer``, what either lost in ``inventory``), and safe files on disk (``files``).
"""

from .edits import (
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
    dumps,
    edit_from_dict,
    loads,
    png_size,
    value_from_json,
    value_to_json,
)
from .files import STALE_TEMP_SECONDS, excel_lock_file, pid_alive, remove_stale_temp_files, set_mode
from .inventory import describe_lost, package_inventory
from .openpyxl_writer import apply_edits
from .read import EXCEL_ERRORS, SUPPORTED, ExcelTable, Workbook, check_file, open_workbook, raw_sheet, sheet_details
from .table import (
    OUTPUT_SHEET_PREFIX,
    SETTINGS_SHEET,
    Table,
    clean_headers,
    column_index,
    column_letter,
    find_header_row,
    read_table,
    table_from_book,
)
from .write import conversion_note, existing_sheet_names, objects_right_col, write_workbook

__all__ = [
    "Table",
    "read_table",
    "table_from_book",
    "ExcelTable",
    "raw_sheet",
    "value_to_json",
    "value_from_json",
    "clean_headers",
    "column_letter",
    "column_index",
    "find_header_row",
    "SETTINGS_SHEET",
    "OUTPUT_SHEET_PREFIX",
    "Workbook",
    "open_workbook",
    "check_file",
    "sheet_details",
    "EXCEL_ERRORS",
    "SUPPORTED",
    "Edit",
    "AddSheet",
    "WriteCells",
    "FormatRange",
    "SetColumnWidth",
    "SetRowHeight",
    "ColorScale",
    "AddChart",
    "AddPicture",
    "FreezePanes",
    "png_size",
    "edit_from_dict",
    "dumps",
    "loads",
    "write_workbook",
    "existing_sheet_names",
    "conversion_note",
    "objects_right_col",
    "apply_edits",
    "package_inventory",
    "describe_lost",
    "remove_stale_temp_files",
    "excel_lock_file",
    "pid_alive",
    "set_mode",
    "STALE_TEMP_SECONDS",
]
