"""The live backend against the in-memory stand-in for xlwings (tests/desktop/standin.py): the same
SheetEdits give the same cells as the file writer; text stays text; nothing of the user's is overwritten;
the live reader finds the same Table as the file reader."""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pytest
from builders import customers_results, customers_table, solid_png
from standin import Book, ExcelError, Formula, Table

from sheetdl.desktop import apply_live_edits, live_settings, read_live_table
from sheetdl.errors import OutputError
from sheetdl.report import layout
from sheetdl.sheets import AddChart, AddPicture, AddSheet, FormatRange, WriteCells, apply_edits, read_table

HEADER = ["Tenure", "Plan", "Churn"]


def customers_book() -> Book:
    """The builders' customers as a user has them open: a title, header on row 3, a note in F."""
    book = Book("C:/Users/ana/Customers.xlsx")
    s = book.sheets.new("Customers")
    t = customers_table()
    s.put("A1", [["Customers, March"]])
    s.put("A3", [HEADER])
    s.put("A4", [[float(a), b, c] for a, b, c in t.values.itertuples(index=False)])
    s.put("F4", [["note"]])
    return book


def _openpyxl_twin(edits):
    wb = openpyxl.Workbook()
    wb.active.title = "Customers"
    apply_edits(wb, edits)
    return wb


def _same(a, b) -> bool:
    if isinstance(a, int | float) and not isinstance(a, bool) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, dt.date) and not isinstance(a, dt.datetime):
        a = dt.datetime(a.year, a.month, a.day)
    return a == b


def test_layout_edits_give_the_cells_the_file_writer_gives():
    book = customers_book()
    table, results = customers_table(), customers_results()
    edits = layout(results, table, [s.name for s in book.sheets])
    skipped = apply_live_edits(book, edits)

    twin = _openpyxl_twin(edits)
    assert [s.name for s in book.sheets] == twin.sheetnames
    compared = 0
    for ws in twin.worksheets:
        live = next(s for s in book.sheets if s.name == ws.title)
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                got = live.cells.get((cell.row, cell.column))
                assert _same(cell.value, got), (ws.title, cell.coordinate, cell.value, got)
                compared += 1
                if cell.number_format != "General":
                    assert live.styles[(cell.row, cell.column)]["number_format"] == cell.number_format
                fill = cell.fill.fgColor.rgb if cell.fill is not None and cell.fill.fill_type == "solid" else None
                if fill:
                    assert live.style(cell.coordinate).get("color") == "#" + fill[-6:], cell.coordinate
    assert compared > 100
    # the results went right of the note in F, the user's cells are as they were
    s = book.sheets.items[0]
    assert s.get("G3") == "Predicted Churn" and s.get("F4") == "note" and s.get("A1") == "Customers, March"
    # rows whose target was blank (every 4th, from row 4) are shaded yellow, the others not
    assert s.style("G4").get("color") == "#FFF2CC" and "color" not in s.style("G5")
    # charts: the report's training curve and the importance bars, as native charts
    charts = [c for sh in book.sheets for c in sh.charts]
    assert {c.chart_type for c in charts} == {"line", "bar_clustered"}
    bars = next(c for c in charts if c.chart_type == "bar_clustered")
    assert bars.category_axis.reverse_order is True and bars.legend.visible is False
    assert isinstance(skipped, list)


def test_data_columns_are_written_a_block_at_a_time():
    book = customers_book()
    edits = layout(customers_results(), customers_table(), ["Customers"])
    apply_live_edits(book, [e for e in edits if getattr(e, "sheet", None) == "Customers"])
    writes = [e for e in edits if isinstance(e, WriteCells) and e.sheet == "Customers"]
    assert book.sheets.items[0].value_calls == len(writes) <= 3


@pytest.mark.parametrize("text", ["=1+1", "+x", "-x", "@x", "007", "1/2", "TRUE", "'quoted", "=HYPERLINK(\"x\")"])
def test_text_stays_text(text):
    book = Book("C:/b.xlsx")
    s = book.sheets.new("Data")
    apply_live_edits(book, [WriteCells("Data", 2, 2, [[text]])])
    assert s.get("B2") == text


def test_the_standin_reads_text_as_excel_does_without_the_apostrophe():
    """Guards the test above: without the apostrophe, the stand-in (like Excel) turns these into
    formulas and numbers, so the backend's rule is what keeps them text."""
    s = Book("C:/b.xlsx").sheets.new("Data")
    s.range("A1").value = [["=1+1", "007", "TRUE"]]
    assert isinstance(s.get("A1"), Formula) and s.get("B1") == 7.0 and s.get("C1") is True


def test_a_cell_typed_into_while_training_stops_everything_before_anything_is_written():
    book = customers_book()
    s = book.sheets.items[0]
    s.put("G9", [["mine"]])  # where Predicted Churn goes
    edits = layout(customers_results(), customers_table(), ["Customers"])
    with pytest.raises(OutputError) as e:
        apply_live_edits(book, edits)
    assert "G9" in e.value.message and "nothing was written" in e.value.message
    assert [x.name for x in book.sheets] == ["Customers"] and s.get("G3") is None and s.get("G9") == "mine"


def test_a_taken_sheet_name_is_refused_not_replaced():
    book = customers_book()
    book.sheets.new("SheetDL Report").put("A1", [["my notes"]])
    with pytest.raises(OutputError, match="already has a sheet 'SheetDL Report'"):
        apply_live_edits(book, [AddSheet("Extra"), AddSheet("SheetDL Report", replace=True)])
    assert [x.name for x in book.sheets] == ["Customers", "SheetDL Report"]


def test_layout_picks_free_names_from_the_live_sheets():
    book = customers_book()
    book.sheets.new("SheetDL Report")
    edits = layout(customers_results(), customers_table(), [s.name for s in book.sheets])
    apply_live_edits(book, edits)
    assert "SheetDL Report 2" in [s.name for s in book.sheets]
    assert next(s for s in book.sheets if s.name == "SheetDL Report").get("A1") is None


def test_multi_area_formats_are_cut_into_addresses_excel_takes():
    book = Book("C:/b.xlsx")
    s = book.sheets.new("Data")
    cells = [f"D{r}:D{r}" for r in range(2, 400, 2)]
    apply_live_edits(book, [FormatRange("Data", ",".join(cells), fill="F8CBAD", bold=True, border_bottom=True,
                                        horizontal="center")])
    assert all(s.style(f"D{r}")["color"] == "#F8CBAD" for r in range(2, 400, 2))
    assert "color" not in s.style("D3")
    assert s.style("D2")["horizontal_alignment"] == "center" and s.style("D2")["border_bottom_weight"] == "thin"


def test_chart_and_picture_are_placed_at_their_anchor():
    book = Book("C:/b.xlsx")
    s = book.sheets.new("Data")
    s.put("A1", [["Epoch", "Loss"], [1, 0.5], [2, 0.4]])
    png = solid_png((200, 10, 10), 40, 20)
    skipped = apply_live_edits(book, [
        AddChart("Data", "line", "Training curve", ["B1:B3"], "A2:A3", "D2", x_title="Epoch", y_title="Loss",
                 width=10, height=5, category_label_step=5),
        AddPicture.from_png("Data", "C5", png, description="a red box"),
    ])
    chart, = s.charts
    assert chart.source == "B1:B3" and chart.x_values == "A2:A3" and chart.title == "Training curve"
    assert chart.where["left"] == s.range("D2").left and chart.where["width"] == pytest.approx(283.46, abs=0.01)
    assert chart.category_axis.title == "Epoch" and chart.value_axis.title == "Loss"
    assert [x.marker_style for x in chart.series] == ["none"]
    pic, = s.pictures
    assert pic.png == png and (pic.width, pic.height) == (30.0, 15.0) and pic.top == s.range("C5").top
    assert skipped == ["the training curve's spacing of axis labels", "the pictures' descriptions (alt text)"]


# ---- reading -------------------------------------------------------------------------------------


def test_live_table_is_the_table_the_file_reader_finds(tmp_path):
    book = customers_book()
    s = book.sheets.items[0]
    s.put("B6", [[ExcelError("#N/A")]])
    s.put("D4", [[dt.datetime(2024, 3, 1)]])
    s.put("D3", [["Since"]])
    live = read_live_table(book)

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    for (r, c), v in s.cells.items():
        ws.cell(r, c, "#N/A" if isinstance(v, ExcelError) else v)
    path = tmp_path / "Customers.xlsx"
    wb.save(path)
    from_file = read_table(path)

    assert live.columns == from_file.columns == ["Tenure", "Plan", "Churn", "Since"]
    assert live.header_row == from_file.header_row == 3 and live.letters == from_file.letters
    assert np.array_equal(live.sheet_rows, from_file.sheet_rows)
    assert live.sheet_max_col == from_file.sheet_max_col == 6
    assert live.values.equals(from_file.values)
    assert live.values.loc[2, "Plan"] is None  # the #N/A
    assert live.values.loc[0, "Since"] == dt.date(2024, 3, 1)
    assert live.source == "C:/Users/ana/Customers.xlsx"


def test_live_excel_table_is_used_as_defined():
    book = Book("C:/t.xlsx")
    s = book.sheets.new("Sheet1")
    s.put("B2", [["x", "y"], [1, "a"], [2, "b"], [3, None], ["Total", 6]])
    s.tables.append(Table("Sales", s.range("B2:C6"), show_totals=True))
    t = read_live_table(book)
    assert t.excel_table == "Sales" and t.columns == ["x", "y"] and list(t.sheet_rows) == [3, 4, 5]
    assert read_live_table(book, sheet="sales").excel_table == "Sales"


def test_live_settings_come_from_the_sheetdl_sheet_wherever_it_starts():
    book = customers_book()
    book.sheets.new("SheetDL").put("B2", [["Setting", "Value"], ["Target column", "Churn"],
                                          ["Time budget (seconds)", "fast"]])
    from sheetdl.errors import SettingsError

    with pytest.raises(SettingsError, match=r"C4"):
        live_settings(book)
    book.sheets.items[-1].put("C4", [[30]])
    kw, notes = live_settings(book)
    assert kw["target"] == "Churn" and kw["time_budget"] == 30


def test_no_settings_sheet_gives_no_settings():
    assert live_settings(customers_book()) == ({}, [])
