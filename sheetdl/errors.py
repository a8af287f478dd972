"""Errors a user can cause, each able to say what is wrong, where, and what to do.

Every exception that reaches the CLI, the server or the add-in is a :class:`SheetDLError`; anything
else is a bug in SheetDL. The message is written for an analyst, not a programmer: it names the sheet,
column and cells involved and ends with what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "SheetDLError",
    "WorkbookError",
    "DataError",
    "SettingsError",
    "ModelFileError",
    "OutputError",
    "Cancelled",
    "cell_list",
]


class SheetDLError(Exception):
    """Base of every error meant for the user.

    ``message`` says what is wrong; ``hint`` says what to do. ``sheet``, ``column`` and ``cells`` say
    where, so an add-in can select the cells; they are also woven into the message by whoever raises.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        sheet: str | None = None,
        column: str | None = None,
        cells: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.sheet = sheet
        self.column = column
        self.cells = list(cells)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict:
        """A JSON-friendly form for the server and the add-in."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "sheet": self.sheet,
            "column": self.column,
            "cells": self.cells,
        }


class WorkbookError(SheetDLError):
    """The file can't be opened or holds no usable table (not a workbook, empty, protected…)."""


class DataError(SheetDLError):
    """The table is readable but can't be trained on as asked (unknown target, one class…)."""


class SettingsError(SheetDLError):
    """A setting on the SheetDL sheet or a flag has a value we can't use."""


class ModelFileError(SheetDLError):
    """A saved model is missing, damaged, or doesn't fit the workbook it is applied to."""


class OutputError(SheetDLError):
    """The result can't be written where asked (read-only folder, file exists, file open)."""


class Cancelled(SheetDLError):
    """The user stopped the run; nothing was written."""

    def __init__(self, message: str = "Stopped at your request; nothing was written.") -> None:
        super().__init__(message)


def cell_list(cells: Sequence[str], limit: int = 5) -> str:
    """'B17, B40, B41 and 9 more' — cell references short enough for a sentence."""
    cells = list(cells)
    if len(cells) <= limit:
        if len(cells) <= 1:
            return "".join(cells)
        return ", ".join(cells[:-1]) + " and " + cells[-1]
    return ", ".join(cells[:limit]) + f" and {len(cells) - limit:,} more"
