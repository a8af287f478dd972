"""SheetDL: deep learning for the rows of a spreadsheet.

    >>> import sheetdl
    >>> model = sheetdl.fit(df, target="Churn", time_budget=60)
    >>> model.predict(new_rows)
    >>> model.save("churn.sheetdl"); sheetdl.load("churn.sheetdl")
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import fit, load
from .errors import (
    Cancelled,
    DataError,
    ModelFileError,
    OutputError,
    SettingsError,
    SheetDLError,
    WorkbookError,
)
from .training import Progress
from .model import FittedModel
from .results import Results
from .schema import Schema
from .settings import Settings
from .table import Table, read_table

__all__ = [
    "__version__",
    "fit",
    "load",
    "read_table",
    "FittedModel",
    "Progress",
    "Results",
    "Schema",
    "Settings",
    "Table",
    "SheetDLError",
    "WorkbookError",
    "DataError",
    "SettingsError",
    "ModelFileError",
    "OutputError",
    "Cancelled",
]
