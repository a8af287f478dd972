"""Reaching desktop Excel through xlwings, or saying plainly why not.

xlwings is an optional dependency (``pip install "sheetdl[desktop]"``): its interactive engine only
exists on Windows and macOS, and it is a compiled package that not every platform and Python has a
wheel for. On Linux it imports but cannot reach any Excel (``xw.apps`` raises, ``Book.caller()``
fails with an AttributeError), so every way in goes through :func:`xlwings_module` and
:func:`find_open_book`, which turn that into a :class:`~sheetdl.errors.SheetDLError` in words.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import SheetDLError

__all__ = ["xlwings_module", "find_open_book", "caller_book", "excel_supported", "NO_EXCEL_HINT"]

NO_EXCEL_HINT = ("Writing into a workbook open in Excel needs desktop Excel for Windows or macOS on this "
                 "computer. Leave out --live to get the results in a copy of the workbook.")


def excel_supported() -> bool:
    """Whether xlwings could reach a desktop Excel on this system at all."""
    return sys.platform in ("win32", "darwin")


def xlwings_module(hint: str = NO_EXCEL_HINT):
    """``import xlwings``, or an error that says what to install (``hint``: what else the user can do)."""
    if not excel_supported():
        raise SheetDLError("Desktop Excel can't be reached on this computer: xlwings talks to Excel for "
                           f"Windows or macOS only, and this is {sys.platform}.", hint=hint)
    try:
        import xlwings
    except ImportError:
        raise SheetDLError("Working with a workbook open in Excel needs the xlwings package, which is not "
                           "installed.", hint='Install it with: pip install "sheetdl[desktop]"') from None
    return xlwings


def _same_file(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def find_open_book(path: Path, xw=None):
    """The xlwings Book of ``path`` if a running Excel has it open, else None (also when no Excel runs)."""
    xw = xw or xlwings_module()
    try:
        apps = list(xw.apps)
    except Exception:  # no Excel running: xlwings raises its own errors, which differ by platform
        return None
    for app in apps:
        try:
            books = list(app.books)
        except Exception:  # an Excel busy with a dialog refuses calls
            continue
        for book in books:
            try:
                if _same_file(book.fullname, path):
                    return book
            except Exception:
                continue
    return None


def caller_book(xw=None):
    """The workbook that was active when the SheetDL ribbon button was pressed."""
    xw = xw or xlwings_module()
    try:
        return xw.Book.caller()
    except Exception as e:
        raise SheetDLError(f"SheetDL could not find the workbook to work on ({e}).",
                           hint="Click into the workbook (not the add-in) and press the button again.") from None
