"""`sheetdl train/predict BOOK --live` and `sheetdl addin … --desktop`: on Linux plain words, no traceback
and nothing else changes; with an open workbook (the stand-in) the results land in it."""

from __future__ import annotations

import sys

import pytest
from standin import Book
from test_desktop_jobs import small_book

import sheetdl.desktop as desktop
from sheetdl.cli import main


def test_live_on_linux_says_plainly_excel_is_not_here(tmp_path, capsys):
    book = tmp_path / "Flowers.xlsx"
    book.write_bytes(b"")
    assert main(["train", str(book), "--target", "Kind", "--live"]) == 1
    err = ' '.join(capsys.readouterr().err.split())
    assert "Desktop Excel can't be reached on this computer" in err and "Traceback" not in err
    assert "Leave out --live" in err


def test_addin_desktop_on_linux_says_plainly_where_to_install(capsys):
    assert main(["addin", "install", "--desktop", "--yes"]) == 1
    err = ' '.join(capsys.readouterr().err.split())
    assert "Desktop Excel can't be reached" in err and "Traceback" not in err and "Windows or Mac" in err


@pytest.fixture()
def open_in_excel(monkeypatch):
    """The stand-in workbook as if Excel had it open."""
    opened: dict[str, Book] = {}
    monkeypatch.setattr(desktop, "xlwings_module", lambda hint=None: object())
    monkeypatch.setattr(desktop, "find_open_book",
                        lambda path, xw=None: next((b for n, b in opened.items() if path.name == n), None))
    return opened


def test_live_and_in_place_cant_be_combined(tmp_path, open_in_excel, capsys):
    assert main(["train", str(tmp_path / "Flowers.xlsx"), "--live", "--in-place"]) == 1
    assert "can't be used with --in-place" in ' '.join(capsys.readouterr().err.split())


def test_live_needs_the_workbook_open(tmp_path, open_in_excel, capsys):
    assert main(["train", str(tmp_path / "Flowers.xlsx"), "--live"]) == 1
    assert "'Flowers.xlsx' is not open in Excel" in ' '.join(capsys.readouterr().err.split())


def test_live_train_writes_into_the_open_workbook_and_saves_the_model_beside_it(tmp_path, open_in_excel, capsys):
    book = small_book()
    open_in_excel["Flowers.xlsx"] = book
    assert main(["train", str(tmp_path / "Flowers.xlsx"), "--live", "--quiet", "--time-budget", "3"]) == 0
    data = book.sheets.items[0]
    assert data.get("D1") == "Predicted Kind" and data.get("A1") == "Size"
    assert "SheetDL Report" in [s.name for s in book.sheets]
    assert (tmp_path / "Flowers (SheetDL).sheetdl").is_file()
    assert not (tmp_path / "Flowers (SheetDL).xlsx").exists()  # no copy: the open workbook has the results
    out = ' '.join(capsys.readouterr().out.split())
    assert "it is not saved" in out

    # predicting with that model into another open workbook
    other = small_book()
    other.fullname = str(tmp_path / "More.xlsx")
    open_in_excel["More.xlsx"] = other
    assert main(["predict", str(tmp_path / "More.xlsx"), "--live", "--quiet",
                 "--model", str(tmp_path / "Flowers (SheetDL).sheetdl")]) == 0
    assert other.sheets.items[0].get("D1") == "Predicted Kind"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the hint differs where Excel can run")
def test_in_place_refusal_is_unchanged_on_linux(tmp_path, penguins_copy, capsys):
    (penguins_copy.parent / f"~${penguins_copy.name}").write_text("lock")
    assert main(["train", str(penguins_copy), "--in-place", "--quiet"]) == 1
    err = ' '.join(capsys.readouterr().err.split())
    assert "is open in Excel" in err and "--live" not in err
