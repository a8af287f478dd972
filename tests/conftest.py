"""Fixtures every test may use; builders are in builders.py (this folder is on sys.path for both)."""

import shutil

import pytest
from builders import PENGUINS

SAMPLE = PENGUINS


@pytest.fixture(scope="session")
def penguins_df():
    from palmerpenguins import load_penguins

    return load_penguins()


@pytest.fixture()
def penguins_copy(tmp_path):
    dst = tmp_path / "Penguins.xlsx"
    shutil.copyfile(SAMPLE, dst)
    return dst


@pytest.fixture()
def offline_cache(tmp_path, monkeypatch):
    """No network, and a picture cache of the test's own."""
    monkeypatch.setenv("SHEETDL_OFFLINE", "1")
    monkeypatch.setenv("SHEETDL_CACHE", str(tmp_path / "cache"))


@pytest.fixture()
def openpyxl_only(monkeypatch):
    """Copy through openpyxl, as for a package the part-by-part writer can't handle."""
    from sheetdl.sheets._xlsx import package as P

    def refuse(*args, **kwargs):
        raise P.Unsupported("for this test")

    monkeypatch.setattr(P, "Package", refuse)
