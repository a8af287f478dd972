"""The version of SheetDL (written into model files and shown by ``sheetdl --version``)."""

__version__ = "0.1.0"
