"""Helpers shared by the template and sample tests: load a build script, convert with LibreOffice."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: CSV filter options: comma, double quote, UTF-8, from row 1, …, and -1 = every sheet to its own
#: file 'NAME-SHEET.csv' (LibreOffice 7.2 and later).
CSV_EVERY_SHEET = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def load_script(name: str, path: Path):
    """Import a build script that is not part of the package (templates/, sample_workbooks/)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def soffice_convert(files: list[Path], out: Path, fmt: str, timeout: int = 600) -> None:
    """Convert with LibreOffice headless, in a profile of our own (other runs may be open)."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    profile = (out / "profile").as_uri()
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
                    "--outdir", str(out), *map(str, files)],
                   check=True, capture_output=True, timeout=timeout)
