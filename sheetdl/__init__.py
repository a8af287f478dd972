"""SheetDL: deep learning for the rows of a spreadsheet.

    >>> import sheetdl
    >>> model = sheetdl.fit(df, target="Churn", time_budget=60)
    >>> model.predict(new_rows)
    >>> model.save("churn.sheetdl"); sheetdl.load("churn.sheetdl")
"""

from __future__ import annotations

import os as _os

# OpenMP threads that spin while they wait turn a busy laptop into a crawl: with two cores and other
# work running, training a 10,000-row sheet took 97 s instead of 11 s. Sleeping waits cost little
# when the machine is idle. Must be set before torch loads its OpenMP runtime.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import Cancelled, DataError, ModelFileError, OutputError, SettingsError, SheetDLError, WorkbookError
from .version import __version__

# torch and Lightning take seconds to import: load them when a name that needs them is first used,
# so `sheetdl --help`, `sheetdl new` and the server's start stay quick.
_LAZY = {
    "fit": ".api",
    "load": ".api",
    "read_table": ".sheets",
    "Table": ".sheets",
    "FittedModel": ".engine",
    "Progress": ".training",
    "Results": ".engine",
    "Schema": ".schema",
    "Settings": ".settings",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sheetdl' has no attribute {name!r}")


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
