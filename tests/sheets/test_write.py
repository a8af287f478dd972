"""The file writer: a copy of the workbook with the edits applied, written atomically, and an honest
list of what could not be carried over."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import openpyxl
import pytest

xlsxwriter = pytest.importorskip("xlsxwriter")

from builders import N, sha, solid_png, write_results  # noqa: E402

from sheetdl.errors import OutputError, WorkbookError  # noqa: E402
from sheetdl.sheets import (  # noqa: E402
    describe_lost,
    package_inventory,
)
from sheetdl.sheets import edits as E  # noqa: E402
from sheetdl.sheets import files as F  # noqa: E402
from sheetdl.sheets import write as W  # noqa: E402
from sheetdl.sheets.write import conversion_note, existing_sheet_names, objects_right_col, write_workbook  # noqa: E402

# ---- fixtures ----------------------------------------------------------------------------------


def _data(ws, bold=None):
    ws.write(0, 0, "Customer report")  # a title above the table
    ws.write_row(2, 0, ["Tenure", "Plan", "Churn"], bold)
    for i in range(N):
        ws.write_row(3 + i, 0, [i + 1, "AB"[i % 2], None if i % 4 == 0 else ("Yes" if i % 3 else "No")])


def make_plain(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Customers")
    _data(ws, wb.add_format({"bold": True}))
    ws.write(3, 5, "a note in F4")
    ws.write_formula(4, 5, "=A4*2", None, 2)
    other = wb.add_worksheet("Lookup")
    other.write_row(0, 0, ["Plan", "Price"])
    other.write_row(1, 0, ["A", 9.5])
    wb.close()
    return path


@pytest.fixture()
def plain(tmp_path) -> Path:
    return make_plain(tmp_path / "plain.xlsx")


def sheet_values(path: Path) -> dict[str, dict[str, object]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}
            for ws in wb.worksheets}


# ---- the happy path ----------------------------------------------------------------------------


def test_results_written_and_original_untouched(plain, tmp_path):
    before_hash = sha(plain)
    before = sheet_values(plain)
    out = tmp_path / "plain (SheetDL).xlsx"
    lost = write_results(plain, out)
    assert lost == []  # a plain workbook loses nothing
    assert sha(plain) == before_hash  # the source is only read

    after = sheet_values(out)
    for sheet, values in before.items():  # every original cell is as it was
        for ref, v in values.items():
            assert after[sheet][ref] == v, (sheet, ref)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Customers", "Lookup", "SheetDL Report", "SheetDL Importance"]
    ws = wb["Customers"]
    assert ws["G3"].value == "Predicted Churn" and ws["H3"].value == "Confidence"
    assert ws["G3"].font.b
    assert ws["G5"].value == "Yes" and ws["H5"].number_format == "0%"
    assert ws["H4"].value == pytest.approx(0.5)
    assert ws["G4"].fill.fgColor.rgb.endswith("FFF2CC")  # row 4's Churn was blank
    assert ws["G5"].fill.fill_type is None

    report = wb["SheetDL Report"]
    charts = report._charts
    assert len(charts) == 1 and type(charts[0]).__name__ == "LineChart"
    cf = report.conditional_formatting
    assert any(rule.type == "colorScale" for rng in cf for rule in rng.rules)
    imp = wb["SheetDL Importance"]
    assert len(imp._charts) == 1
    bar = imp._charts[0]
    assert type(bar).__name__ == "BarChart" and bar.type == "bar"
    assert imp["A6"].value == "Tenure" and imp["A5"].value == "Column"
    assert stat.S_IMODE(os.stat(out).st_mode) != 0o600  # not the temp file's private mode


def test_report_reads_back_with_formats(plain, tmp_path):
    out = tmp_path / "o.xlsx"
    write_results(plain, out)
    ws = openpyxl.load_workbook(out)["SheetDL Report"]
    found = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    acc = found["Accuracy"]
    assert ws.cell(acc.row, 2).value == 0.75 and ws.cell(acc.row, 2).number_format == "0.0%"
    assert ws.column_dimensions["A"].width >= 30
    assert "Could not be carried over" not in found


def test_second_run_gets_new_sheet_names(plain, tmp_path):
    first = tmp_path / "first.xlsx"
    write_results(plain, first)
    second = tmp_path / "second.xlsx"
    write_results(first, second, max_col=8)  # the first run's columns G:H are data now
    names = openpyxl.load_workbook(second).sheetnames
    assert names[-2:] == ["SheetDL Report 2", "SheetDL Importance 2"]


def test_text_that_looks_like_a_formula_stays_text(plain, tmp_path):
    out = tmp_path / "o.xlsx"
    write_workbook(plain, [E.WriteCells("Customers", 20, 1, [["=HYPERLINK(\"x\")", "ok\x07"]])], out)
    ws = openpyxl.load_workbook(out)["Customers"]
    assert ws["A20"].data_type == "s" and ws["A20"].value == '=HYPERLINK("x")'
    assert ws["B20"].value == "ok"  # control characters Excel can't store are dropped


# ---- nothing is lost; what openpyxl loses (when it has to copy) is reported ------------------------


def make_rich(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Customers")
    _data(ws)
    sales = wb.add_worksheet("Sales")
    sales.write_column(0, 0, [3, 5, 2, 8])
    for anchor in ("D2", "D20"):
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": "=Sales!$A$1:$A$4"})
        sales.insert_chart(anchor, chart)
    sales.add_sparkline("B1", {"range": "Sales!A1:A4"})
    sales.write_comment("A1", "a note")
    logo = wb.add_worksheet("Logo")
    logo.insert_image("B2", "logo.png", {"image_data": io.BytesIO(solid_png((0xff, 0, 0), 4, 4))})
    info = wb.add_worksheet("Info")
    info.insert_textbox("B2", "Read me first")
    wb.close()
    return path


def test_rich_workbook_loses_nothing(tmp_path):
    src = make_rich(tmp_path / "rich.xlsx")
    out = tmp_path / "out.xlsx"
    assert write_results(src, out) == []
    before, after = package_inventory(src), package_inventory(out)
    assert all(after[k] == n for k, n in before.items())  # sparklines, text box, picture, charts, comment
    wb = openpyxl.load_workbook(out)
    assert len(wb["Sales"]._charts) == 2
    assert "Could not be carried over" not in [c.value for c in wb["SheetDL Report"]["A"]]


def test_rich_workbook_losses_are_reported_by_openpyxl(tmp_path, openpyxl_only):
    src = make_rich(tmp_path / "rich.xlsx")
    out = tmp_path / "out.xlsx"
    lost = write_results(src, out)
    assert "sparklines on sheet 'Sales'" in lost
    assert "text boxes and shapes on sheet 'Info'" in lost
    after = package_inventory(out)
    # openpyxl keeps pictures only when Pillow is installed: reported exactly when dropped
    assert ("1 picture on sheet 'Logo'" in lost) == (after.get(("Logo", "pictures"), 0) == 0)
    # openpyxl 3.1 re-writes charts and comments: kept, so not reported
    assert len(openpyxl.load_workbook(out)["Sales"]._charts) == 2
    assert not any("chart" in x or "comment" in x for x in lost)
    # ... and the report says what was lost
    ws = openpyxl.load_workbook(out)["SheetDL Report"]
    col_a = [c.value for c in ws["A"] if c.value]
    assert "Could not be carried over" in col_a
    assert "• sparklines on sheet 'Sales'" in col_a
    assert col_a.index("Could not be carried over") > col_a.index("Columns")


def test_inventory_counts_and_sentences(tmp_path):
    rich = package_inventory(make_rich(tmp_path / "rich.xlsx"))
    assert rich[("Sales", "charts")] == 2
    assert rich[("Sales", "sparklines")] == 1
    assert rich[("Sales", "comments (notes)")] == 1
    assert rich[("Logo", "pictures")] == 1
    assert rich[("Info", "text boxes and shapes")] == 1
    plain = package_inventory(make_plain(tmp_path / "plain.xlsx"))
    assert plain == {}
    lost = describe_lost(rich, plain)
    assert "2 charts on sheet 'Sales'" in lost
    assert "1 picture on sheet 'Logo'" in lost
    assert "1 comment (note) on sheet 'Sales'" in lost
    assert describe_lost(rich, rich) == []


def _data_bars(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    ws.write_column(0, 0, [1, 2, 3])
    ws.conditional_format("A1:A3", {"type": "data_bar", "bar_solid": True})
    wb.close()
    return path


def test_data_bar_options_kept(tmp_path):
    assert write_workbook(_data_bars(tmp_path / "bars.xlsx"), [], tmp_path / "o.xlsx") == []


def test_data_bar_options_reported_by_openpyxl(tmp_path, openpyxl_only):
    lost = write_workbook(_data_bars(tmp_path / "bars.xlsx"), [], tmp_path / "o.xlsx")
    assert lost == ["options of conditional formats from newer Excel (data bars, icon sets) on sheet 'Data'"]


def _with_macros(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Customers")
    _data(ws)
    vba = path.with_name("vbaProject.bin")
    vba.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 508)  # xlsxwriter only copies the bytes
    wb.add_vba_project(str(vba))
    wb.close()
    return path


def test_macros_kept_in_xlsm_and_reported_when_lost(tmp_path):
    src = _with_macros(tmp_path / "m.xlsm")
    assert write_workbook(src, [], tmp_path / "o.xlsm") == []
    assert "xl/vbaProject.bin" in __import__("zipfile").ZipFile(tmp_path / "o.xlsm").namelist()
    assert write_workbook(src, [], tmp_path / "o.xlsx") == ["macros (VBA)"]


def test_objects_over_the_data_push_results_right(tmp_path):
    src = make_rich(tmp_path / "rich.xlsx")
    assert objects_right_col(src, "Sales", 1, 10) >= 10  # a chart from D2 spans to about L
    assert objects_right_col(src, "Sales", 200, 300) == 0
    assert objects_right_col(src, "Customers") == 0
    assert objects_right_col(tmp_path / "x.csv", "x") == 0


# ---- never a half file, never the source -------------------------------------------------------


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".~")]


def test_failed_edit_leaves_nothing(plain, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(OutputError, match="no sheet 'Nope'"):
        write_workbook(plain, [E.WriteCells("Nope", 1, 1, [["x"]])], out_dir / "o.xlsx")
    assert list(out_dir.iterdir()) == []


def test_interrupted_save_removes_the_temp_file_and_keeps_the_old_output(plain, tmp_path, monkeypatch):
    out = tmp_path / "o.xlsx"
    out.write_bytes(b"previous result")

    def broken_save(wb, tmp):
        Path(tmp).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(W, "save_synced", broken_save)
    with pytest.raises(KeyboardInterrupt):
        write_workbook(plain, [], out)
    assert out.read_bytes() == b"previous result"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("through_openpyxl", [False, True])
def test_failing_lost_section_removes_the_temp_file(tmp_path, request, through_openpyxl):
    if through_openpyxl:
        request.getfixturevalue("openpyxl_only")
    src = _with_macros(tmp_path / "m.xlsm")
    out = tmp_path / "o.xlsx"  # an .xlsx can't hold the macros: they are lost

    def bad(lost):
        assert "macros (VBA)" in lost
        return [E.WriteCells("Missing sheet", 1, 1, [["x"]])]

    with pytest.raises(OutputError):
        write_workbook(src, [], out, on_lost=bad)
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_read_only_folder_is_a_plain_error(plain, tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(F.tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError, match="read-only") as e:
        write_workbook(plain, [], tmp_path / "o.xlsx")
    assert "--output" in str(e.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_really_read_only_folder(plain, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="read-only"):
            write_workbook(plain, [], ro / "o.xlsx")
    finally:
        ro.chmod(0o755)


def test_output_over_the_source_is_refused(plain, tmp_path):
    before = sha(plain)
    with pytest.raises(OutputError, match="never changes the original"):
        write_workbook(plain, [], plain)
    sneaky = tmp_path / "sub" / ".." / plain.name
    (tmp_path / "sub").mkdir()
    with pytest.raises(OutputError):
        write_workbook(plain, [], sneaky)
    assert sha(plain) == before


def test_output_must_be_a_workbook(plain, tmp_path):
    with pytest.raises(OutputError, match=".xlsx"):
        write_workbook(plain, [], tmp_path / "o.csv")
    write_workbook(plain, [], tmp_path / "o.xlsm")  # allowed: a macro-enabled workbook without macros
    assert openpyxl.load_workbook(tmp_path / "o.xlsm").sheetnames == ["Customers", "Lookup"]
    with pytest.raises(OutputError, match="does not exist"):
        write_workbook(plain, [], tmp_path / "nowhere" / "o.xlsx")


def test_missing_or_broken_source(tmp_path):
    with pytest.raises(WorkbookError):
        write_workbook(tmp_path / "nope.xlsx", [], tmp_path / "o.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(WorkbookError):
        write_workbook(bad, [], tmp_path / "o.xlsx")
    assert _leftovers(tmp_path) == []


# ---- sources that are not xlsx -----------------------------------------------------------------


def test_csv_becomes_a_new_workbook(tmp_path):
    src = tmp_path / "people.csv"
    src.write_text("Name,Age,Code,Churn\nAnn,31,007,Yes\nBob,45.5,12,\nCé,,x,No\n", encoding="utf-8")
    before = sha(src)
    out = tmp_path / "people (SheetDL).xlsx"
    lost = write_workbook(src, [E.WriteCells("people", 1, 5, [["Predicted Churn"], ["Yes"], ["No"], ["No"]])], out)
    assert lost == []
    assert conversion_note(src) == "The original was a .csv file; the result is a new .xlsx workbook."
    assert conversion_note(tmp_path / "x.xlsx") is None
    assert sha(src) == before
    ws = openpyxl.load_workbook(out)["people"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0] == ["Name", "Age", "Code", "Churn", "Predicted Churn"]
    assert rows[1] == ["Ann", 31, "007", "Yes", "Yes"]  # numbers as numbers, codes stay text
    assert rows[2][:4] == ["Bob", 45.5, 12, None]
    assert rows[3][0] == "Cé"
    assert existing_sheet_names(src) == []


def test_existing_sheet_names(plain):
    assert existing_sheet_names(plain) == ["Customers", "Lookup"]
    bad = plain.with_name("bad.xlsx")
    bad.write_bytes(b"nope")
    with pytest.raises(WorkbookError):
        existing_sheet_names(bad)


# ---- edits the layout does not use yet ---------------------------------------------------------


def test_every_edit_applies(plain, tmp_path):
    out = tmp_path / "o.xlsx"
    edits = [
        E.AddSheet("Extra", tab_color="FF0000"),
        E.WriteCells("Extra", 1, 1, [["h1", "h2"], [1, 2], [3, 4]], number_formats=["0.0", None], bold_first_row=True),
        E.FormatRange("Extra", "A2:B3", italic=True, font_size=9, font_color="C00000", wrap=True, fill="EEEEEE"),
        E.SetColumnWidth("Extra", 2, 30),
        E.SetRowHeight("Extra", 1, 28),
        E.ColorScale("Extra", "A2:B3", mid_color="FFEB84"),
        E.AddChart("Extra", "bar", "t", ["B1:B3"], "A2:A3", "D2", value_format="0%", legend=False),
        E.FreezePanes("Extra", "A2"),
        E.AddSheet("Lookup", replace=True),
    ]
    write_workbook(plain, edits, out)
    wb = openpyxl.load_workbook(out)
    ws = wb["Extra"]
    assert ws["A1"].font.b and ws["A2"].number_format == "0.0" and ws["A2"].font.i
    assert ws["A2"].alignment.wrap_text and ws.column_dimensions["B"].width == 30
    assert ws.row_dimensions[1].height == 28 and ws.freeze_panes == "A2"
    assert ws.sheet_properties.tabColor.rgb == "FFFF0000"
    assert len(ws._charts) == 1
    assert wb.sheetnames.index("Lookup") == 1 and wb["Lookup"]["A1"].value is None
    with pytest.raises(OutputError, match="already has a sheet"):
        write_workbook(plain, [E.AddSheet("customers")], tmp_path / "o2.xlsx")


def _inject(src: Path, dst: Path, parts: dict[str, str], content_types: str = "") -> Path:
    """A copy of ``src`` with extra package parts, as Excel would write them."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml" and content_types:
                data = data.replace(b"</Types>", content_types.encode() + b"</Types>")
            zout.writestr(item, data)
        for name, text in parts.items():
            zout.writestr(name, text)
    return dst


def _styled_and_unknown(tmp_path: Path) -> Path:
    rich = make_rich(tmp_path / "rich.xlsx")
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'microsoft.com/office/2011/relationships/chartStyle" Target="style1.xml"/></Relationships>')
    src = _inject(rich, tmp_path / "styled.xlsx", {
        "xl/charts/_rels/chart1.xml.rels": rels,
        "xl/charts/style1.xml": '<cs:chartStyle xmlns:cs="http://schemas.microsoft.com/office/drawing/2012/chartStyle"/>',
        "xl/webextensions/webextension1.xml": "<we:webextension xmlns:we='urn:x'/>",
        "xl/somethingNew/part1.xml": "<x/>",
    }, '<Override PartName="/xl/charts/style1.xml" ContentType="application/vnd.ms-office.chartstyle+xml"/>')
    return src


def test_chart_styles_and_unknown_parts_kept(tmp_path):
    import zipfile

    src = _styled_and_unknown(tmp_path)
    out = tmp_path / "o.xlsx"
    assert write_results(src, out) == []
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out) as b:
        for name in ("xl/charts/style1.xml", "xl/charts/_rels/chart1.xml.rels", "xl/webextensions/webextension1.xml",
                     "xl/somethingNew/part1.xml"):
            assert a.read(name) == b.read(name)


def test_chart_styles_and_unknown_parts_reported_by_openpyxl(tmp_path, openpyxl_only):
    src = _styled_and_unknown(tmp_path)
    lost = write_workbook(src, [], tmp_path / "o.xlsx")
    assert "chart style and colour settings on sheet 'Sales'" in lost
    assert "Office add-ins saved in the workbook" in lost
    assert "other parts of the file (xl/somethingNew)" in lost
