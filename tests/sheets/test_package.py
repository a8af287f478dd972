"""The part-by-part writer: everything of the user's workbook it does not change stays byte for byte,
what it adds is valid for openpyxl and LibreOffice, and anything odd falls back to openpyxl."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest

xlsxwriter = pytest.importorskip("xlsxwriter")

from builders import N, solid_png, write_results, zip_members  # noqa: E402

from sheetdl.errors import OutputError  # noqa: E402
from sheetdl.sheets import edits as E  # noqa: E402
from sheetdl.sheets import (  # noqa: E402
    package_inventory,  # noqa: E402
    write_workbook,
)
from sheetdl.sheets._xlsx import package as P  # noqa: E402

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# ---- fixtures ----------------------------------------------------------------------------------


def make_rich(path: Path, *, vba: bool = False) -> Path:
    """A workbook with most things openpyxl drops or rewrites, the data sheet holding many of them."""
    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True, "bg_color": "#FCE4D6"})
    ws = wb.add_worksheet("Customers")
    ws.write(0, 0, "Customer report", bold)
    ws.set_column("A:C", 14)
    rows = [[i + 1, "AB"[i % 2], None if i % 4 == 0 else ("Yes" if i % 3 else "No")] for i in range(N)]
    ws.add_table(2, 0, 2 + N, 2, {"name": "Customers", "data": rows,
                                  "columns": [{"header": "Tenure"}, {"header": "Plan"}, {"header": "Churn"}]})
    ws.write(3, 5, "a note in F4")
    ws.write_formula(4, 5, "=A5*2", None, 4)  # a formula with its cached value
    ws.add_sparkline("F6", {"range": "Customers!A4:A15"})
    ws.conditional_format("A4:A15", {"type": "data_bar", "bar_solid": True})
    ws.data_validation("C4:C15", {"validate": "list", "source": ["Yes", "No"]})
    ws.write_comment("A3", "How long they stayed, in months")
    ws.freeze_panes(3, 0)
    sales = wb.add_worksheet("Sales")
    sales.write_column(0, 0, [3, 5, 2, 8])
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Sales!$A$1:$A$4"})
    sales.insert_chart("D2", chart)
    sales.insert_image("D20", "logo.png", {"image_data": io.BytesIO(solid_png((0, 0x80, 0xff), 4, 4))})
    sales.insert_textbox("L2", "Read me first")
    sales.insert_button("L10", {"macro": "say_hello", "caption": "Press me"})  # a form control
    wb.define_name("Plans", "=Sales!$A$1:$A$4")
    wb.define_name("Customers!Local", "=Customers!$A$4")
    if vba:
        bin_path = path.with_name("vbaProject.bin")
        bin_path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 2)
        wb.add_vba_project(str(bin_path))
    wb.close()
    return path


def all_values(path: Path) -> dict[str, dict[str, object]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}
            for ws in wb.worksheets}


@pytest.fixture()
def rich(tmp_path) -> Path:
    return make_rich(tmp_path / "rich.xlsx")


# ---- everything it doesn't change stays --------------------------------------------------------

DATA_SHEET = "xl/worksheets/sheet1.xml"
MAY_CHANGE = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml", DATA_SHEET}


def test_untouched_parts_are_byte_identical(rich, tmp_path):
    out = tmp_path / "rich (SheetDL).xlsx"
    assert write_results(rich, out) == []
    before, after = zip_members(rich), zip_members(out)
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed <= MAY_CHANGE, changed
    assert "docProps/app.xml" not in changed
    with zipfile.ZipFile(rich) as a, zipfile.ZipFile(out) as b:
        assert b.testzip() is None
        assert b.namelist()[:len(a.namelist())] == a.namelist()  # same order; new parts after
        for info in a.infolist():  # not even re-deflated
            if info.filename not in changed:
                other = b.getinfo(info.filename)
                assert (other.compress_type, other.CRC, other.compress_size) == \
                       (info.compress_type, info.CRC, info.compress_size)
    assert not package_inventory(rich) - package_inventory(out)  # nothing counted went missing
    for name, data in after.items():  # every part is well-formed XML
        if name.endswith((".xml", ".rels", ".vml")):
            ET.fromstring(data)


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip("LibreOffice is not installed")
    return found


@pytest.mark.parametrize("saved_by", ["openpyxl", "LibreOffice"])
def test_workbooks_saved_by_other_applications(rich, tmp_path, saved_by):
    src = tmp_path / f"by {saved_by}.xlsx"
    if saved_by == "openpyxl":
        openpyxl.load_workbook(rich).save(src)
    else:
        profile = (tmp_path / "lo-profile").as_uri()
        subprocess.run([_soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to",
                        "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "lo"), str(rich)],
                       capture_output=True, timeout=180, check=True)
        (tmp_path / "lo" / "rich.xlsx").rename(src)
    out = tmp_path / "o.xlsx"
    assert write_results(src, out) == []
    before, after = zip_members(src), zip_members(out)
    assert {n for n in before if before[n] != after[n]} <= MAY_CHANGE
    values_before, values_after = all_values(src), all_values(out)
    for sheet, values in values_before.items():
        assert all(values_after[sheet][ref] == v for ref, v in values.items())
    ws = openpyxl.load_workbook(out)["Customers"]
    assert ws["G3"].value == "Predicted Churn" and ws["G3"].font.b and ws["H5"].number_format == "0%"


def test_data_sheet_keeps_its_extensions_and_cells(rich, tmp_path):
    out = tmp_path / "o.xlsx"
    write_results(rich, out)
    before, after = all_values(rich), all_values(out)
    for sheet, values in before.items():
        for ref, v in values.items():
            assert after[sheet][ref] == v, (sheet, ref)
    xml = zip_members(out)[DATA_SHEET].decode()
    old = zip_members(rich)[DATA_SHEET].decode()
    for marker in ("<x14:sparklineGroup", "<x14:dataBar", "<dataValidations", "<legacyDrawing", "<tableParts",
                   "<drawing ", "<pane ", "mc:Ignorable"):
        assert xml.count(marker) == old.count(marker), marker
    # every original <c> is there, as it was
    for cell in re.findall(r"<c r=\"[A-Z]+\d+\"[^>]*?(?:/>|>.*?</c>)", old):
        assert cell in xml
    # the rest of the part around the cells is unchanged
    tail_old = old[old.index("</sheetData>"):]
    tail_new = xml[xml.index("</sheetData>"):]
    assert tail_new == tail_old


def test_results_read_back_with_openpyxl(rich, tmp_path):
    out = tmp_path / "o.xlsx"
    write_results(rich, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Customers", "Sales", "SheetDL Report", "SheetDL Importance"]
    ws = wb["Customers"]
    assert ws["G3"].value == "Predicted Churn" and ws["H3"].value == "Confidence"
    assert ws["G3"].font.b and ws["G3"].fill.fgColor.rgb == "FFDDEBF7"
    assert ws["G3"].border.bottom.style == "thin"
    assert ws["G5"].value == "Yes" and ws["H5"].number_format == "0%"
    assert ws["H4"].value == pytest.approx(0.5) and ws["H4"].alignment.horizontal == "center"
    assert ws["G4"].fill.fgColor.rgb == "FFFFF2CC"  # row 4's Churn was blank
    assert ws["G5"].fill.fill_type is None
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "FFFCE4D6"  # the user's format is untouched
    assert ws.column_dimensions["G"].width > 10 and ws.column_dimensions["A"].width == pytest.approx(14.7109375)
    assert "Customers" in ws.tables and ws.tables["Customers"].ref == "A3:C15"
    assert ws.freeze_panes == "A4"
    assert {n for n in wb.defined_names} == {"Plans"} and "Local" in ws.defined_names
    assert ws.dimensions == "A1:H15"
    report = wb["SheetDL Report"]
    assert len(report._charts) == 1 and type(report._charts[0]).__name__ == "LineChart"
    assert any(rule.type == "colorScale" for rng in report.conditional_formatting for rule in rng.rules)
    found = {c.value: c for row in report.iter_rows() for c in row if isinstance(c.value, str)}
    acc = found["Accuracy"]
    assert report.cell(acc.row, 2).value == 0.75 and report.cell(acc.row, 2).number_format == "0.0%"
    title = found["SheetDL report: predicting 'Churn'"]
    assert title.font.b and title.font.sz == 16 and title.font.color.rgb == "FF1F4E79"
    assert report.row_dimensions[title.row].height == 24
    assert "Could not be carried over" not in found
    imp = wb["SheetDL Importance"]
    bar = imp._charts[0]
    assert type(bar).__name__ == "BarChart" and bar.type == "bar"
    assert bar.x_axis.scaling.orientation == "maxMin" and bar.y_axis.crosses == "max"
    header = next(r for r in range(1, 12) if imp.cell(r, 1).value == "Column")
    assert imp.cell(header + 1, 1).value == "Tenure"
    assert len(wb["Sales"]._charts) == 1


def test_the_charts_hold_their_data(rich, tmp_path):
    out = tmp_path / "o.xlsx"
    write_results(rich, out)
    m = zip_members(out)
    charts = sorted(n for n in m if n.startswith("xl/charts/chart") and n not in zip_members(rich))
    line = m[charts[0]].decode()
    assert "<c:lineChart>" in line
    assert "<c:f>'SheetDL Report'!$B$" in line  # quoted sheet name, absolute references
    assert '<c:v>Training loss</c:v>' in line and '<c:pt idx="1"><c:v>0.5</c:v></c:pt>' in line
    bar = m[charts[1]].decode()
    assert '<c:barDir val="bar"/>' in bar and '<c:orientation val="maxMin"/>' in bar
    assert "<c:strCache>" in bar and "<c:v>Tenure</c:v>" in bar and '<c:crosses val="max"/>' in bar
    assert 'formatCode="0%" sourceLinked="0"' in bar


def test_libreoffice_opens_the_result(rich, tmp_path):
    soffice = _soffice()
    out = tmp_path / "o.xlsx"
    write_results(rich, out)
    profile = (tmp_path / "lo-profile").as_uri()
    for fmt in ("pdf", "csv"):
        done = subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
                               "--outdir", str(tmp_path / fmt), str(out)], capture_output=True, timeout=180)
        assert done.returncode == 0, done.stderr
        result = tmp_path / fmt / f"o.{fmt}"
        assert result.is_file() and result.stat().st_size > 0, done.stdout
    csv_text = (tmp_path / "csv" / "o.csv").read_text(encoding="utf-8", errors="replace")
    assert "Predicted Churn" in csv_text and "Customer report" in csv_text


# ---- macros ------------------------------------------------------------------------------------


def test_xlsm_keeps_its_macros(tmp_path):
    src = make_rich(tmp_path / "m.xlsm", vba=True)
    out = tmp_path / "m (SheetDL).xlsm"
    assert write_results(src, out) == []
    before, after = zip_members(src), zip_members(out)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    types = after["[Content_Types].xml"].decode()
    assert 'PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"' in types
    assert "application/vnd.ms-office.vbaProject" in types
    assert "vbaProject" in after["xl/_rels/workbook.xml.rels"].decode()
    assert openpyxl.load_workbook(out, keep_vba=True).vba_archive is not None


def test_xlsm_saved_as_xlsx_drops_the_macros_and_says_so(tmp_path):
    src = make_rich(tmp_path / "m.xlsm", vba=True)
    out = tmp_path / "m.xlsx"
    assert write_results(src, out) == ["macros (VBA)"]
    after = zip_members(out)
    assert "xl/vbaProject.bin" not in after
    types = after["[Content_Types].xml"].decode()
    assert "macroEnabled" not in types and "spreadsheetml.sheet.main+xml" in types
    assert "vbaProject" not in after["xl/_rels/workbook.xml.rels"].decode()
    found = [c.value for c in openpyxl.load_workbook(out)["SheetDL Report"]["A"] if c.value]
    assert "Could not be carried over" in found and "• macros (VBA)" in found  # written by a second apply


# ---- cells among existing ones ----------------------------------------------------------------


def _sparse(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    ws.write_row(0, 0, ["a", None, "c", None, "e"])
    ws.write(2, 2, 3.5)
    ws.write_blank(4, 1, None, wb.add_format({"italic": True}))  # a formatted, empty cell at B5
    ws.set_column("A:E", 20, wb.add_format({"font_color": "#FF0000"}))
    wb.close()
    return path


def test_new_cells_go_in_column_and_row_order(tmp_path):
    src = _sparse(tmp_path / "s.xlsx")
    out = tmp_path / "o.xlsx"
    edits = [E.WriteCells("Data", 1, 2, [["b"]]), E.WriteCells("Data", 1, 4, [["d", None, "f"]]),
             E.WriteCells("Data", 2, 1, [[True, dt.date(2024, 2, 29), dt.datetime(2024, 1, 2, 3, 4, 5)]]),
             E.WriteCells("Data", 4, 1, [[" padded ", "=SUM(1)", 10 ** 12]]),
             E.WriteCells("Data", 5, 2, [[7]]),  # over the formatted empty cell
             E.FormatRange("Data", "C3", bold=True),  # an existing cell with a value: its format only
             E.SetColumnWidth("Data", 3, 9), E.SetRowHeight("Data", 3, 30), E.SetRowHeight("Data", 9, 12)]
    assert write_workbook(src, edits, out) == []
    xml = zip_members(out)["xl/worksheets/sheet1.xml"].decode()
    refs = re.findall(r'<c r="([A-Z]+)(\d+)"', xml)
    rows = [int(r) for _, r in refs]
    assert rows == sorted(rows)
    for r in set(rows):
        cols = [c for c, rr in refs if int(rr) == r]
        assert cols == sorted(cols, key=lambda c: (len(c), c)), (r, cols)
    assert re.findall(r'<row r="(\d+)"', xml) == ["1", "2", "3", "4", "5", "9"]
    ws = openpyxl.load_workbook(out)["Data"]
    assert [c.value for c in ws[1]] == ["a", "b", "c", "d", "e", "f"]
    assert ws["A2"].value is True and ws["B2"].value == dt.datetime(2024, 2, 29)
    assert ws["A2"].font.color.rgb == "FFFF0000" and ws["F1"].font.color.rgb != "FFFF0000"  # A:E are red
    assert ws["B2"].number_format == "yyyy-mm-dd" and ws["C2"].value == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert ws["A4"].value == " padded " and ws["B4"].value == "=SUM(1)" and ws["B4"].data_type == "s"
    assert ws["C4"].value == 10 ** 12
    assert ws["B5"].value == 7 and ws["B5"].font.i  # kept the empty cell's format
    assert ws["C3"].value == 3.5 and ws["C3"].font.b
    assert ws.column_dimensions["C"].width == 9
    assert ws.row_dimensions[3].height == 30 and ws.row_dimensions[9].height == 12
    assert ws.dimensions == "A1:F5"
    cols = [(int(a), int(b), float(w)) for a, b, w in re.findall(r'<col min="(\d+)" max="(\d+)" width="([\d.]+)"', xml)]
    assert cols == [(1, 2, 20.7109375), (3, 3, 9), (4, 5, 20.7109375)]
    assert xml.count('style="1"') == 3  # the split ranges keep the column format


def test_never_writes_over_a_value(tmp_path):
    src = _sparse(tmp_path / "s.xlsx")
    out = tmp_path / "o.xlsx"
    with pytest.raises(OutputError, match="C3 of sheet 'Data'"):
        write_workbook(src, [E.WriteCells("Data", 3, 3, [["x"]])], out)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["s.xlsx"]
    write_workbook(src, [E.WriteCells("Data", 3, 3, [[None]])], out)  # a blank leaves it alone
    assert openpyxl.load_workbook(out)["Data"]["C3"].value == 3.5


def test_styles_are_appended_never_renumbered(rich, tmp_path):
    out = tmp_path / "o.xlsx"
    write_results(rich, out)
    old = zip_members(rich)["xl/styles.xml"].decode()
    new = zip_members(out)["xl/styles.xml"].decode()
    for kind in ("fonts", "fills", "borders", "cellXfs"):
        inner_old = re.search(rf"<{kind}\b[^>]*>(.*?)</{kind}>", old, re.S).group(1)
        inner_new = re.search(rf"<{kind}\b[^>]*>(.*?)</{kind}>", new, re.S).group(1)
        assert inner_new.startswith(inner_old) and len(inner_new) > len(inner_old), kind
        count = int(re.search(rf'<{kind} count="(\d+)"', new).group(1))
        assert count == len(re.findall(rf"<{'xf' if kind == 'cellXfs' else kind[:-1]}\b", inner_new))


def test_second_run_on_its_own_output(rich, tmp_path):
    first = tmp_path / "first.xlsx"
    write_results(rich, first)
    second = tmp_path / "second.xlsx"
    assert write_results(first, second, max_col=8) == []
    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames[-2:] == ["SheetDL Report 2", "SheetDL Importance 2"]
    assert wb["Customers"]["I3"].value == "Predicted Churn" and wb["Customers"]["G3"].value == "Predicted Churn"
    styles = zip_members(second)["xl/styles.xml"].decode()
    assert styles.count('rgb="FFDDEBF7"') == 1  # the formats of the first run are reused


# ---- sheets, charts, panes ---------------------------------------------------------------------


def test_edits_on_an_existing_sheet_with_a_drawing(rich, tmp_path):
    out = tmp_path / "o.xlsx"
    edits = [E.WriteCells("Sales", 1, 2, [["Units"], [1], [2], [3]]),
             E.AddChart("Sales", "line", "Units", ["B1:B4"], "A2:A4", "D40", legend=False),
             E.ColorScale("Customers", "A4:A15", mid_color="FFEB84"), E.FreezePanes("Customers", "B2")]
    assert write_workbook(rich, edits, out) == []
    wb = openpyxl.load_workbook(out)
    assert len(wb["Sales"]._charts) == 2
    assert wb["Customers"].freeze_panes == "B2"
    rules = [r.type for rng in wb["Customers"].conditional_formatting for r in rng.rules]
    assert "colorScale" in rules and "dataBar" in rules
    m = zip_members(out)
    drawing = m["xl/drawings/drawing1.xml"].decode()  # Sales' drawing: its chart, picture and text box stay
    assert drawing.count("<xdr:twoCellAnchor") + drawing.count("<xdr:oneCellAnchor") == 4
    assert drawing.startswith(zip_members(rich)["xl/drawings/drawing1.xml"].decode()[:-len("</xdr:wsDr>")])
    sheet = m[DATA_SHEET].decode()
    prios = re.findall(r'priority="(\d+)"', sheet)
    assert len(prios) == len(set(prios))


def test_sheet_names_with_quotes_and_every_edit(rich, tmp_path):
    out = tmp_path / "o.xlsx"
    name = "Bob's & Co report"
    edits = [
        E.AddSheet(name, tab_color="FF0000"),
        E.WriteCells(name, 1, 1, [["h1", "h2"], [1, 2], [3, 4]], number_formats=["0.000", None], bold_first_row=True),
        E.FormatRange(name, "A2:B3", italic=True, font_size=9, font_color="C00000", wrap=True, fill="EEEEEE"),
        E.SetColumnWidth(name, 2, 30), E.SetRowHeight(name, 1, 28),
        E.ColorScale(name, "A2:B3,A1"),
        E.AddChart(name, "bar", "t", ["B1:B3"], "A2:A3", "D2", value_format="0%", legend=False),
        E.FreezePanes(name, "A2"),
    ]
    assert write_workbook(rich, edits, out) == []
    wb = openpyxl.load_workbook(out)
    ws = wb[name]
    assert ws["A1"].font.b and ws["A2"].number_format == "0.000" and ws["A2"].font.i and ws["A2"].font.sz == 9
    assert ws["A2"].alignment.wrap_text and ws["A2"].fill.fgColor.rgb == "FFEEEEEE"
    assert ws.column_dimensions["B"].width == 30 and ws.row_dimensions[1].height == 28
    assert ws.freeze_panes == "A2" and ws.sheet_properties.tabColor.rgb == "FFFF0000"
    assert len(ws._charts) == 1
    chart = zip_members(out)["xl/charts/chart2.xml"].decode()  # chart1 is the user's
    assert "<c:f>'Bob''s &amp; Co report'!$B$2:$B$3</c:f>" in chart and '<c:barDir val="bar"/>' in chart


def test_replacing_a_sheet_drops_what_only_it_used(rich, tmp_path):
    out = tmp_path / "o.xlsx"
    lost = write_workbook(rich, [E.AddSheet("sales", replace=True), E.WriteCells("sales", 1, 1, [["new"]])], out)
    assert "1 chart on sheet 'Sales'" in lost and "1 picture on sheet 'Sales'" in lost
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Customers", "sales"] and wb["sales"]["A1"].value == "new"
    names = set(zip_members(out))
    assert not any(n.startswith(("xl/charts/", "xl/media/")) for n in names)
    assert "xl/drawings/drawing1.xml" not in names
    assert "xl/comments1.xml" in names and "xl/tables/table1.xml" in names  # still used by 'Customers'
    types = zip_members(out)["[Content_Types].xml"].decode()
    assert "/xl/charts/chart1.xml" not in types
    with pytest.raises(OutputError, match="already has a sheet"):
        write_workbook(rich, [E.AddSheet("customers")], tmp_path / "o2.xlsx")


def test_prefixed_namespaces_are_kept(tmp_path):
    """Some generators write <x:worksheet xmlns:x=…>; new elements get the same prefix."""
    plain = _sparse(tmp_path / "s.xlsx")
    src = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename in ("xl/worksheets/sheet1.xml", "xl/styles.xml"):
                text = data.decode()
                text = re.sub(r"<(/?)(?!\?)([A-Za-z]+)", r"<\1x:\2", text)
                text = text.replace(f'xmlns="{MAIN}"', f'xmlns:x="{MAIN}"')
                data = text.encode()
            zout.writestr(item, data)
    out = tmp_path / "o.xlsx"
    write_workbook(src, [E.WriteCells("Data", 1, 7, [["new"], [1]], bold_first_row=True),
                         E.SetColumnWidth("Data", 8, 11)], out)
    xml = zip_members(out)["xl/worksheets/sheet1.xml"].decode()
    assert '<x:c r="G1" s="' in xml and "<x:col " in xml and "<c " not in xml
    ws = openpyxl.load_workbook(out)["Data"]
    assert ws["G1"].value == "new" and ws["G1"].font.b and ws["G2"].value == 1 and ws["A1"].value == "a"


# ---- what it can't handle goes through openpyxl ------------------------------------------------


def test_rows_without_numbers_fall_back_to_openpyxl(tmp_path):
    plain = _sparse(tmp_path / "s.xlsx")
    src = tmp_path / "norefs.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(src, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'(<row) r="\d+"', rb"\1", data)
            zout.writestr(item, data)
    with pytest.raises(P.Unsupported):
        book = P.Package(src, macro_enabled=False)
        try:
            book.apply([E.WriteCells("Data", 1, 7, [["x"]])])
        finally:
            book.close()
    out = tmp_path / "o.xlsx"
    assert write_workbook(src, [E.WriteCells("Data", 1, 7, [["x"]])], out) == []
    assert openpyxl.load_workbook(out)["Data"]["G1"].value == "x"


def test_strict_ooxml_is_not_edited(tmp_path):
    plain = _sparse(tmp_path / "s.xlsx")
    src = tmp_path / "strict.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(src, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = data.replace(MAIN.encode(), b"http://purl.oclc.org/ooxml/spreadsheetml/main")
            zout.writestr(item, data)
    with pytest.raises(P.Unsupported, match="strict"):
        P.Package(src, macro_enabled=False)

