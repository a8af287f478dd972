"""The ``sheetdl`` command (``sheetdl = "sheetdl.cli:main"`` in pyproject.toml)."""

from .commands import main

__all__ = ["main"]
