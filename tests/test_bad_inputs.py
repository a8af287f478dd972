"""The catalogue of bad inputs (tests/bad_inputs/, built by build.py there): each case ends in a plain
message (what, where, what to do; no traceback) or, where the rest of the data is usable, a finished
run whose report says what was skipped. The user's file is never changed.

docs/reliability.md lists every case with what the user sees and the test below that shows it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from builders import sha

from sheetdl.cli import main
from sheetdl.errors import SheetDLError
from sheetdl.schema import infer_schema, typed_frame
from sheetdl.sheets import read_table

BAD = Path(__file__).resolve().parent / "bad_inputs"
ROOT = BAD.parents[1]


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """rich wraps at the terminal's width; long enough lines keep paths in one piece."""
    monkeypatch.setenv("COLUMNS", "2000")


def copy_of(name: str, folder: Path) -> Path:
    dst = folder / name
    shutil.copyfile(BAD / name, dst)
    return dst


def report_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    ws = wb["SheetDL Report"]
    return " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)


def data_cells(path: Path, sheet: str, max_col: int) -> list[list]:
    ws = openpyxl.load_workbook(path)[sheet]
    return [[c.value for c in row] for row in ws.iter_rows(max_col=max_col)]


# ---------------------------------------------------------------------------------------------------
# cases that stop with a message: what is wrong, where, and what to do


ERRORS = [
    # (file, extra arguments, text that must be in the message)
    ("empty_workbook.xlsx", [], ["'empty_workbook.xlsx' is empty: no sheet holds any data", "What to do: Put your table"]),
    ("headers_only.xlsx", [], ["Sheet 'Data' has a header on row 1 but no rows of data below it"]),
    ("clean.xlsx", ["--target", "Lable"], ["There is no column 'Lable' on sheet 'Data'",
                                           "Size, Colour, Weight, Label", "Check the spelling"]),
    ("target_all_blank.xlsx", [], ["Every cell in the target column 'Label' (column D) is blank",
                                   "Fill in the target for the rows you know"]),
    ("target_one_class.xlsx", [], ["'Label' has the same value 'big' on every labelled row"]),
    ("target_many_values.xlsx", ["--target", "City"],
     ["'City' (column C) holds 224 different values in 400 labelled rows", "group rare values"]),
    ("target_is_dates.xlsx", ["--target", "When"], ["'When' (column B) holds dates",
                                                    "Choose a column of categories"]),
    ("formulas_not_calculated.xlsx", [], ["Sheet 'Data' has 40 formulas whose results were never saved",
                                          "B2, B3, B4, B5, B6 and 35 more",
                                          "Open the file in Excel (or LibreOffice), save it"]),
    ("zero_bytes.xlsx", [], ["'zero_bytes.xlsx' is an empty file (0 bytes)"]),
    ("text_named_xlsx.xlsx", [], ["'text_named_xlsx.xlsx' is not a workbook SheetDL can read",
                                  "save it as an Excel Workbook (.xlsx)"]),
    ("truncated.xlsx", [], ["'truncated.xlsx' could not be opened: it looks damaged"]),
    ("password_protected.xlsx", [], ["'password_protected.xlsx' is password-protected",
                                     "save a copy without a password"]),
    ("unsupported.docx", [], ["'unsupported.docx' is not a workbook SheetDL can read (xlsx, xlsm, xlsb, xls, ods, csv)"]),
    ("clean.xlsx", ["--sheet", "Sales"], ["There is no sheet named 'Sales' in 'clean.xlsx'. The sheets are: 'Data'"]),
    ("clean.xlsx", ["--output", "out.csv"], ["The output 'out.csv' should be an Excel workbook ending in .xlsx"]),
    ("clean.xlsx", ["--in-place", "--output", "x.xlsx"], ["--in-place and --output can't be used together"]),
    ("semicolon.csv", ["--in-place"], ["'semicolon.csv' is not an Excel workbook (.xlsx or .xlsm), so SheetDL can't write into it"]),
    ("clean.xlsx", ["--target", "Label", "--ignore", "Label"], ["'Label' is the target column, so it can't also be ignored"]),
]


@pytest.mark.parametrize("name,args,expected", ERRORS, ids=[f"{e[0]}{''.join(e[1][:1])}" for e in ERRORS])
def test_stops_with_a_plain_message(tmp_path, capsys, name, args, expected):
    src = copy_of(name, tmp_path)
    before = sha(src)
    if "--target" not in args:
        args = ["--target", "Label", *args]
    code = main(["train", str(src), *args, "--time-budget", "10", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1, err
    for text in expected:
        assert text in " ".join(err.split()), err
    assert "Error:" in err and "What to do:" in err
    assert "Traceback" not in err
    assert sha(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing written, no placeholder left


def test_missing_file_and_folder(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.xlsx"), "--target", "x"]) == 1
    assert main(["train", str(tmp_path), "--target", "x"]) == 1
    err = capsys.readouterr().err
    assert "There is no file at" in err and "is a folder, not a workbook" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------------
# cases that are read, with what could not be used said in plain words


def _read(name: str, target: str = "Label"):
    table = read_table(BAD / name)
    return table, infer_schema(table, target=target)


def kinds(schema) -> dict[str, str]:
    return {c.name: c.kind for c in schema.columns}


def test_duplicate_blank_and_numeric_headers():
    assert _read("duplicate_headers.xlsx")[0].columns == ["Price", "Price (2)", "Label"]
    assert _read("blank_header.xlsx")[0].columns == ["Size", "Column B", "Label"]
    assert _read("numeric_headers.xlsx")[0].columns == ["2023", "2024", "Label"]


def test_merged_group_titles_above_the_header():
    table, schema = _read("merged_headers.xlsx")
    assert table.columns == ["Size", "Colour", "Weight", "Label"] and table.header_row == 2
    assert table.n_rows == 60
    assert any("merged cells above it look like titles over groups of columns" in n for n in table.notes)


def test_header_below_a_title_block():
    table, _ = _read("title_block.xlsx")
    assert table.header_row == 4 and table.n_rows == 60
    assert "Found the header on row 4 of sheet 'Data' (rows above it look like a title)." in table.notes


def test_excel_table_totals_row_left_out():
    table, _ = _read("excel_table_totals.xlsx")
    assert table.excel_table == "Sales" and table.n_rows == 60 and int(table.sheet_rows[-1]) == 61
    assert "Total" not in table.values["Size"].tolist()


def test_class_with_one_row_trains_with_a_note():
    _, schema = _read("target_class_one_row.xlsx")
    assert "huge" in schema.classes
    assert any("Only one labelled row has huge in 'Label'" in n for n in schema.column("Label").notes)


def test_numbers_stored_as_text_in_every_common_form():
    table, schema = _read("numbers_as_text.xlsx")
    col = schema.column("Amount")
    assert col.kind == "number"
    values = typed_frame(table, schema)["Amount"].tolist()
    assert values[:6] == [1234.0, 5.0, 0.12, -3.0, 42.0, 7.0]
    assert values[7] == 1000.0 and values[8] == -2.5
    # "€1.234,50" (a decimal comma in a column that uses decimal points) is named by cell, not guessed
    assert col.n_unreadable == 4
    assert "Column 'Amount' has text in 4 rows (A8, A18, A28 and A38); they were treated as blank." in col.notes
    table, schema = _read("decimal_comma_text.xlsx")
    assert typed_frame(table, schema)["Amount"].tolist()[:3] == [0.05, 1.15, 2.25]


def test_placeholders_are_blank_not_text():
    _, schema = _read("placeholders.xlsx")
    col = schema.column("Amount")
    assert col.kind == "number" and col.n_missing == 8 and col.n_unreadable == 0


def test_every_excel_error_value_is_blank():
    table, schema = _read("excel_errors.xlsx")
    assert schema.column("Amount").kind == "number"
    assert table.values["Amount"].isna().sum() == 20  # 7 classic errors and 10 newer ones, each a blank
    assert not any(isinstance(v, str) for v in table.values["Amount"])


def test_formulas_use_their_saved_results():
    table, _ = _read("formulas_cached.xlsx")
    assert table.values["Double"].tolist()[:4] == [0, 2, 4, 6]


def test_dates_as_serials_and_as_text():
    _, schema = _read("dates_serial.xlsx")
    assert schema.column("Joined").kind == "date"
    table, schema = _read("dates_text.xlsx")
    frame = typed_frame(table, schema)
    for i in range(1, 6):
        assert schema.column(f"Date {i}").kind == "date"
        assert str(frame[f"Date {i}"].iloc[1].date()) == "2023-01-18"


def test_booleans_in_every_form():
    _, schema = _read("booleans.xlsx")
    reasons = [schema.column(f"Flag {i}").reason for i in range(1, 6)]
    assert reasons == ["boolean (yes/no)", "boolean (TRUE/FALSE)", "boolean (TRUE/FALSE)", "boolean (Y/N)",
                       "boolean (1/0)"]


def test_same_category_spelt_with_other_capitals_and_spaces():
    table, schema = _read("category_spelling.xlsx")
    region = schema.column("Region")
    assert region.kind == "category" and region.reason == "category, 2 values"
    assert any("In column 'Region', values that differ only in capitals or spaces were taken as one: "
               "'New York' (also written" in n for n in region.notes)
    frame = typed_frame(table, schema)
    assert set(frame["Region"]) == {"New York", "Boston"}
    assert len(schema.classes) == 2  # 'Yes', 'yes ', ' YES' are one class in the target too
    assert any("labels that differ only in capitals or spaces" in n for n in schema.column("Label").notes)


def test_new_spellings_at_prediction_time_map_to_the_trained_ones():
    import pandas as pd

    from sheetdl.sheets import Table

    table, schema = _read("category_spelling.xlsx")
    other = Table.from_dataframe(pd.DataFrame({"Region": ["  BOSTON", "new   YORK"], "Size": [1, 2],
                                               "Label": [None, None]}))
    assert typed_frame(other, schema)["Region"].tolist() == ["Boston", "New York"]


def test_hidden_rows_and_columns_are_used_and_said():
    table, _ = _read("hidden_rows_columns.xlsx")
    assert table.n_rows == 60 and "Weight" in table.columns
    assert "Rows 5 and 9 of sheet 'Data' are hidden in Excel; SheetDL used them like every other row." in table.notes
    assert any("Column C ('Weight') of sheet 'Data' is hidden in Excel" in n for n in table.notes)


def test_filtered_rows_are_used_and_said():
    table, _ = _read("filtered_rows.xlsx")
    assert table.n_rows == 60
    assert any("hidden by a filter on sheet 'Data'" in n and "used every row" in n for n in table.notes)


def test_longest_cells_and_emoji_and_right_to_left_text():
    table, schema = _read("long_cells.xlsx")
    assert len(table.values["Notes"][0]) == 32767 and schema.column("Notes").kind == "text"
    table, schema = _read("emoji_rtl.xlsx")
    assert table.columns == ["Name 🙂", "שם", "Label"]
    assert schema.column("שם").kind == "category" and set(schema.classes) == {"✅", "❌"}


def test_image_paths_are_an_image_column_and_kept_as_written():
    table, schema = _read("image_paths.xlsx")
    photo = schema.column("Photo")
    assert photo.kind == "image" and photo.role == "feature"
    assert r"\\server\share\photo.jpg" in table.values["Photo"].tolist()


def test_pictures_that_cannot_be_used_are_listed_by_cell_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHEETDL_OFFLINE", "1")
    monkeypatch.setenv("SHEETDL_CACHE", str(tmp_path / "cache"))
    src = copy_of("image_paths.xlsx", tmp_path)
    shutil.copytree(BAD / "images", tmp_path / "images")
    # 5 s: the report's list of unusable pictures is what is checked, not what the CNN learned
    code = main(["train", str(src), "--target", "Label", "--time-budget", "5", "--no-reasons", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    text = report_text(tmp_path / f"{src.stem} (SheetDL).xlsx")
    assert "7 pictures in column 'Photo' could not be used and were treated as blank" in text
    for cell, words in (("A2", "no picture at"), ("A3", "could not be read"), ("A4", "is not a picture"),
                        ("A5", "too large"), ("A6", "Windows path"), ("A7", "etc/passwd.png"),
                        ("A8", "Windows path")):  # listed by cell, with what is wrong
        assert re.search(rf"cell {cell}: (?:(?!cell A\d).)*{re.escape(words)}", text), (cell, words)


def test_a_column_of_pictures_none_of_which_can_be_read_stops_with_where_to_look(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHEETDL_OFFLINE", "1")
    monkeypatch.setenv("SHEETDL_CACHE", str(tmp_path / "cache"))
    src = copy_of("image_paths.xlsx", tmp_path)  # the pictures folder is NOT copied along
    code = main(["train", str(src), "--target", "Label", "--time-budget", "10", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "None of the 40 pictures named in column 'Photo' could be read" in out + err
    assert str(tmp_path) in (out + err).replace("\n", "")
    assert "Traceback" not in out + err


@pytest.mark.parametrize("name", ["clean.xls", "clean.ods", "semicolon.csv"])
def test_other_formats_are_read(name):
    table, schema = _read(name)
    assert table.columns == ["Size", "Colour", "Weight", "Label"] and table.n_rows == 60
    assert kinds(schema) == {"Size": "number", "Colour": "category", "Weight": "number", "Label": "category"}
    assert table.values["Size"].tolist()[:2] == read_table(BAD / "clean.xlsx").values["Size"].tolist()[:2]


def test_two_thousand_columns(tmp_path):
    import xlsxwriter

    path = tmp_path / "wide.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    ws.write_row(0, 0, [f"c{j}" for j in range(1999)] + ["Label"])
    for i in range(1, 31):
        ws.write_row(i, 0, [(i * j) % 7 for j in range(1999)] + ["ab"[i % 2]])
    wb.close()
    t0 = time.perf_counter()
    table = read_table(path)
    schema = infer_schema(table, target="Label")
    assert len(table.columns) == 2000 and table.letters[-1] == "BXX"
    assert len(schema.columns) == 2000
    assert time.perf_counter() - t0 < 60


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """200,000 rows × 6 columns (the full 1,048,576 rows are measured by benchmarks/big_sheet.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from big_sheet import write_big_sheet
    finally:
        sys.path.pop(0)
    return write_big_sheet(tmp_path_factory.mktemp("big") / "big.xlsx", 200_000)


def test_two_hundred_thousand_rows(big):
    path = big
    table = read_table(path)
    schema = infer_schema(table, target="Churn")
    assert table.n_rows == 200_000 and int(table.sheet_rows[-1]) == 200_001
    assert schema.task == "classification"


# ---------------------------------------------------------------------------------------------------
# finished runs: the data that can be used is used; the report says what was skipped


RUNS = [
    # (file, text the report must hold)
    ("numbers_as_text.xlsx", ["Column 'Amount' has text in 4 rows (A8, A18, A28 and A38)"]),
    ("hidden_rows_columns.xlsx", ["Rows 5 and 9 of sheet 'Data' are hidden in Excel"]),
    ("category_spelling.xlsx", ["values that differ only in capitals or spaces were taken as one"]),
    ("emoji_rtl.xlsx", ["✅"]),
    ("clean.ods", ["only the values of the .ods file were copied"]),
]


@pytest.mark.parametrize("name,expected", RUNS, ids=[r[0] for r in RUNS])
def test_finished_run_reports_what_it_skipped(tmp_path, capsys, name, expected):
    src = copy_of(name, tmp_path)
    before = sha(src)
    # 3 s: the report's notes on what was skipped and the untouched cells are checked, not the model
    # (60 rows: 10 s only bought 32 ensemble members instead of a few)
    code = main(["train", str(src), "--target", "Label", "--time-budget", "3", "--no-reasons", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in out + err
    result = tmp_path / f"{src.stem} (SheetDL).xlsx"
    text = report_text(result)
    for t in expected:
        assert t in text, text
    assert sha(src) == before
    if src.suffix == ".xlsx":  # the user's cells: 0 changed
        width = len(read_table(src).columns)
        assert data_cells(result, "Data", width) == data_cells(src, "Data", width)


# ---------------------------------------------------------------------------------------------------
# property: random cells and shapes, written to a real workbook, give only SheetDL's own errors

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st

_cell = st.one_of(
    st.none(),
    st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["#N/A", "n/a", "-", "1,234", "$5", "12%", "(3)", "3,5", "yes", "No", "TRUE", "2024-01-31",
                     "31/01/2024", "a.png", "  ", "'42"]),
    st.dates(min_value=__import__("datetime").date(1900, 3, 1)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cell, min_size=1, max_size=6), min_size=0, max_size=12),
       top=st.integers(1, 4), left=st.integers(1, 3), target=st.integers(0, 5))
def test_random_workbooks_give_only_our_errors(tmp_path, rows, top, left, target):
    path = tmp_path / "random.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if isinstance(v, str) and v.startswith("="):
                v = " " + v
            ws.cell(top + i, left + j, v)
    wb.save(path)
    try:
        table = read_table(path)
        name = table.columns[min(target, len(table.columns) - 1)]
        schema = infer_schema(table, target=name)
        typed_frame(table, schema)
    except SheetDLError as e:
        assert e.message and "Traceback" not in str(e)


# ---------------------------------------------------------------------------------------------------
# the output side: where results go, and when they can't


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    src = folder / "clean.xlsx"
    shutil.copyfile(BAD / "clean.xlsx", src)
    # a model to predict with: the tests below check where outputs go, not its answers
    assert main(["train", str(src), "--target", "Label", "--time-budget", "3", "--no-reasons", "--quiet"]) == 0
    return folder / "clean (SheetDL).sheetdl"


def _predict(src: Path, model: Path, *more) -> int:
    return main(["predict", str(src), "--model", str(model), "--no-reasons", "--quiet", *more])


def test_existing_output_gets_a_new_name(tmp_path, model):
    src = copy_of("clean.xlsx", tmp_path)
    (tmp_path / "clean (SheetDL).xlsx").write_bytes(b"an earlier result")
    assert _predict(src, model) == 0
    assert (tmp_path / "clean (SheetDL).xlsx").read_bytes() == b"an earlier result"
    assert (tmp_path / "clean (SheetDL 2).xlsx").is_file()


def test_existing_output_named_with_output_is_refused(tmp_path, model, capsys):
    src = copy_of("clean.xlsx", tmp_path)
    (tmp_path / "r.xlsx").write_bytes(b"keep me")
    assert _predict(src, model, "--output", str(tmp_path / "r.xlsx")) == 1
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "r.xlsx").read_bytes() == b"keep me"


def test_read_only_output_folder(tmp_path, model, capsys, monkeypatch):
    import sheetdl.sheets.files as F

    def refuse(*a, **k):  # we run as root here, so a chmod'ed folder would still be writable
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(F.tempfile, "mkstemp", refuse)
    src = copy_of("clean.xlsx", tmp_path)
    assert _predict(src, model) == 1
    err = capsys.readouterr().err
    assert f"Can't write to the folder '{tmp_path}': it is read-only" in " ".join(err.split())
    assert "What to do: Choose a folder you can write to" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.xlsx"]  # the reserved name is released


def test_workbook_open_in_excel_is_read_with_a_warning(tmp_path, model, capsys):
    src = copy_of("clean.xlsx", tmp_path)
    (tmp_path / "~$clean.xlsx").write_bytes(b"\x00" * 165)  # Excel's owner file
    before = sha(src)
    assert _predict(src, model) == 0
    err = capsys.readouterr().err
    assert "Warning:" in err and "looks open in Excel" in " ".join(err.split())
    assert sha(src) == before
    assert "looks open in Excel" in report_text(tmp_path / "clean (SheetDL).xlsx")


def test_model_on_a_workbook_with_other_columns(tmp_path, model, capsys):
    src = tmp_path / "other.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Size", "Shade", "Weight", "Price"])
    wb.active.append([1.0, "red", 2.0, 3])
    wb.save(src)
    assert _predict(src, model) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "has no column 'Colour', which the model learned from" in err
    assert "The columns are: Size, Shade, Weight, Price" in err and "Traceback" not in err


def test_new_columns_are_named_and_left_alone(tmp_path, model, capsys):
    src = tmp_path / "more.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Size", "Colour", "Weight", "Shop"])
    wb.active.append([1.0, "red", 2.0, "A"])
    wb.active.append([8.0, "blue", 16.0, "B"])
    wb.save(src)
    assert main(["predict", str(src), "--model", str(model), "--no-reasons"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "'Shop' is new to the model; it was left out" in out


@pytest.mark.parametrize("damage", ["truncated", "tampered"])
def test_damaged_model_file(tmp_path, model, capsys, damage):
    bad = tmp_path / "bad.sheetdl"
    data = bytearray(model.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[-10] ^= 0xFF  # one weight byte changed: the SHA-256 no longer matches
    bad.write_bytes(bytes(data))
    src = copy_of("clean.xlsx", tmp_path)
    assert _predict(src, bad) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "'bad.sheetdl' is not a SheetDL model file, or it is damaged" in err and "Train the model again" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.sheetdl", "clean.xlsx"]


# ---------------------------------------------------------------------------------------------------
# --in-place


def test_in_place_writes_into_the_workbook_after_a_backup(tmp_path, model, capsys):
    src = copy_of("clean.xlsx", tmp_path)
    original = src.read_bytes()
    (tmp_path / "clean (before SheetDL).xlsx").write_bytes(b"an older backup")
    assert _predict(src, model, "--in-place") == 0
    assert (tmp_path / "clean (before SheetDL).xlsx").read_bytes() == b"an older backup"  # never overwritten
    assert (tmp_path / "clean (before SheetDL 2).xlsx").read_bytes() == original
    wb = openpyxl.load_workbook(src)
    assert [c.value for c in wb["Data"][1]][4] == "Predicted Label" and "SheetDL Report" in wb.sheetnames
    assert data_cells(src, "Data", 4) == data_cells(tmp_path / "clean (before SheetDL 2).xlsx", "Data", 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clean (before SheetDL 2).xlsx", "clean (before SheetDL).xlsx", "clean.xlsx"]


def test_in_place_refuses_a_workbook_open_in_excel(tmp_path, model, capsys):
    src = copy_of("clean.xlsx", tmp_path)
    (tmp_path / "~$clean.xlsx").write_bytes(b"\x00" * 165)
    before = sha(src)
    assert _predict(src, model, "--in-place") == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "'clean.xlsx' is open in Excel" in err and "close it in Excel" in err
    assert sha(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.xlsx", "~$clean.xlsx"]


def test_in_place_train(tmp_path):
    src = copy_of("clean.xlsx", tmp_path)
    original = src.read_bytes()
    assert main(["train", str(src), "--target", "Label", "--time-budget", "3", "--no-reasons", "--quiet",
                 "--in-place"]) == 0
    assert (tmp_path / "clean (before SheetDL).xlsx").read_bytes() == original
    assert (tmp_path / "clean (SheetDL).sheetdl").is_file()
    assert "SheetDL Report" in openpyxl.load_workbook(src).sheetnames


# ---------------------------------------------------------------------------------------------------
# faults while writing


def test_ctrl_c_inside_the_package_writer_leaves_nothing(tmp_path, model, capsys, monkeypatch):
    from sheetdl.sheets._xlsx import package

    def interrupted(self, file):
        file.write(b"PK half a workbook")
        raise KeyboardInterrupt

    monkeypatch.setattr(package.Package, "save", interrupted)
    src = copy_of("clean.xlsx", tmp_path)
    before = sha(src)
    assert _predict(src, model) == 130
    assert "nothing was written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.xlsx"]
    assert sha(src) == before


_WRITER = """
import os, sys, time
os.fsync = lambda fd: time.sleep(60)  # on a fast machine, still be mid-write when the kill comes
from sheetdl.sheets import WriteCells
from sheetdl.sheets import write_workbook
src, out = sys.argv[1], sys.argv[2]
write_workbook(src, [WriteCells("Data", 1, 7, [["Predicted"]] + [[i * 0.5] for i in range(200000)])], out)
"""


def test_kill_9_while_writing_leaves_the_original_and_no_half_file(tmp_path, big):
    src = tmp_path / "big.xlsx"
    shutil.copyfile(big, src)
    before = sha(src)
    out = tmp_path / "big (SheetDL).xlsx"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(src), str(out)], cwd=ROOT)
    deadline = time.time() + 120
    temp = []
    while time.time() < deadline and proc.poll() is None:
        temp = [p for p in tmp_path.iterdir() if p.name.startswith(".~")]
        if temp and temp[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the writer finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert sha(src) == before
    assert not out.exists()  # no half file at the destination
    left = [p.name for p in tmp_path.iterdir() if p.name != "big.xlsx"]
    assert left and all(n.startswith(".~") and n.endswith(".tmp") for n in left)
    # the next write in that folder removes what the killed run left behind
    from sheetdl.sheets import remove_stale_temp_files

    assert remove_stale_temp_files(tmp_path) == left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.xlsx"]


def test_two_runs_on_the_same_workbook_at_once(tmp_path, model):
    src = copy_of("clean.xlsx", tmp_path)
    cmd = [sys.executable, "-m", "sheetdl", "predict", str(src), "--model", str(model), "--no-reasons", "--quiet"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["clean (SheetDL 2).xlsx", "clean (SheetDL).xlsx", "clean.xlsx"]
    for n in names[:2]:
        assert "Predicted Label" in [c.value for c in openpyxl.load_workbook(tmp_path / n)["Data"][1]]


def test_reserving_a_name_is_atomic(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from sheetdl.cli.output import reserve_output

    src = tmp_path / "Book.xlsx"
    src.write_bytes(b"x")
    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(lambda _: reserve_output(src).name, range(16)))
    assert len(set(names)) == 16


def test_a_name_claimed_by_a_killed_run_is_freed(tmp_path):
    from sheetdl.cli.output import RESERVED, reserve_output

    src = tmp_path / "Book.xlsx"
    src.write_bytes(b"x")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "Book (SheetDL).xlsx").write_text(RESERVED.format(pid=dead.pid))  # left by kill -9
    (tmp_path / "Book (SheetDL 2).xlsx").write_text(RESERVED.format(pid=os.getpid()))  # a live run's
    (tmp_path / "Book (SheetDL 3).xlsx").write_bytes(b"a real result")
    assert reserve_output(src).name == "Book (SheetDL).xlsx"
    assert (tmp_path / "Book (SheetDL 2).xlsx").is_file() and (tmp_path / "Book (SheetDL 3).xlsx").is_file()


def test_in_place_leaves_a_workbook_changed_during_the_run(tmp_path, model, capsys, monkeypatch):
    from sheetdl.cli import output

    src = copy_of("clean.xlsx", tmp_path)
    real = output.write_results

    def and_the_user_saves_meanwhile(source, table, results, output):
        lost = real(source, table, results, output)
        os.utime(src, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns + 5_000_000_000))
        return lost

    monkeypatch.setattr(output, "write_results", and_the_user_saves_meanwhile)
    before = sha(src)
    assert _predict(src, model, "--in-place") == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "'clean.xlsx' was changed on disk while SheetDL worked, so it was left as it was" in err
    assert sha(src) == before
    assert "SheetDL Report" in openpyxl.load_workbook(tmp_path / "clean (SheetDL).xlsx").sheetnames


def test_in_place_keeps_the_macros_of_an_xlsm(tmp_path, model):
    import zipfile

    import xlsxwriter

    src = tmp_path / "macros.xlsm"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Data")
    for i, row in enumerate(data_cells(BAD / "clean.xlsx", "Data", 4)):
        ws.write_row(i, 0, row)
    vba = tmp_path / "vbaProject.bin"
    vba.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 508)  # xlsxwriter only copies the bytes
    wb.add_vba_project(str(vba))
    wb.close()
    vba.unlink()
    assert _predict(src, model, "--in-place") == 0
    assert "xl/vbaProject.bin" in zipfile.ZipFile(src).namelist()
    assert "SheetDL Report" in openpyxl.load_workbook(src).sheetnames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["macros (before SheetDL).xlsm", "macros.xlsm"]
