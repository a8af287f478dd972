"""The AddPicture edit: it round-trips as JSON, refuses what is not a PNG, and both file writers put the
picture where it was asked for, at its size, with its bytes, without touching anything else; LibreOffice
draws it."""

from __future__ import annotations

import base64
import io
import posixpath
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import openpyxl
import pytest

xlsxwriter = pytest.importorskip("xlsxwriter")

from builders import (  # noqa: E402
    soffice_convert,  # noqa: E402
    solid_png,
    zip_members,
)

from sheetdl.sheets import edits as E  # noqa: E402
from sheetdl.sheets import (
    package_inventory,  # noqa: E402
    write_workbook,  # noqa: E402
)

RED, GREEN, BLUE = (255, 0, 0), (0, 200, 0), (0, 0, 255)
EMU_PER_PX = 9525
XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R_EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"


# ---- fixtures ----------------------------------------------------------------------------------


def make_plain(path: Path) -> Path:
    """A workbook without any drawing or picture (so no png content type either)."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    ws.write_column(0, 0, ["x", 1, 2, 3])
    wb.close()
    return path


def make_rich(path: Path) -> Path:
    """A workbook whose 'Sales' sheet has a drawing already: a chart, a picture and a text box."""
    wb = xlsxwriter.Workbook(str(path))
    data = wb.add_worksheet("Data")
    data.write_column(0, 0, ["x", 1, 2, 3])
    data.add_sparkline("C1", {"range": "Data!A2:A4"})
    sales = wb.add_worksheet("Sales")
    sales.write_column(0, 0, [3, 5, 2, 8])
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Sales!$A$1:$A$4"})
    sales.insert_chart("D2", chart)
    sales.insert_image("D20", "logo.png", {"image_data": io.BytesIO(solid_png(BLUE))})
    sales.insert_textbox("L2", "Read me first")
    wb.close()
    return path


def report_sheet_edits(name: str = "Pics") -> list[E.Edit]:
    """A new sheet with values, a chart and two pictures (a red one 80×60 and a green one 40×30)."""
    return [
        E.AddSheet(name),
        E.WriteCells(name, 1, 1, [["Epoch", "Loss"], [1, 0.9], [2, 0.5], [3, 0.4]], bold_first_row=True),
        E.AddChart(name, "line", "Loss", ["B1:B4"], "A2:A4", "D2", width=10, height=5),
        E.AddPicture.from_png(name, "B12", solid_png(RED), width=80, height=60, description="red square"),
        E.AddPicture.from_png(name, "F18", solid_png(GREEN, 4, 3), width=40, height=30,
                              description="green <&> \"quoted\""),
    ]


def anchors(drawing_xml: bytes) -> list[ET.Element]:
    return [a for a in ET.fromstring(drawing_xml) if a.tag.endswith("Anchor")]


def rel_targets(m: dict[str, bytes], part: str, rtype: str) -> dict[str, str]:
    """Id → target part of ``part``'s relationships of one type (targets relative or absolute)."""
    folder, base = posixpath.split(part)
    rels = ET.fromstring(m[f"{folder}/_rels/{base}.rels"])
    out = {}
    for el in rels:
        if el.get("Type", "").endswith("/" + rtype):
            t = el.get("Target")
            out[el.get("Id")] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(f"{folder}/{t}")
    return out


def sheet_drawing(m: dict[str, bytes], sheet_part: str) -> str:
    (drawing,) = rel_targets(m, sheet_part, "drawing").values()
    return drawing


def image_rels(m: dict[str, bytes], drawing: str) -> dict[str, str]:
    return rel_targets(m, drawing, "image")


# ---- the edit ----------------------------------------------------------------------------------


def test_the_edit_round_trips_through_json():
    png = solid_png(RED, 5, 7)
    e = E.AddPicture.from_png("Sheet 1", "C4", png, description="thumbnail of row 7")
    assert (e.width, e.height) == (5, 7) and e.png_bytes() == png
    d = e.to_dict()
    assert d["op"] == "add_picture" and d["png"] == base64.b64encode(png).decode()
    assert E.loads(E.dumps([e, E.FreezePanes("Sheet 1", "A2")])) == [e, E.FreezePanes("Sheet 1", "A2")]
    assert E.edit_from_dict(d) == e and E.Edit.from_dict(d) == e
    assert "AddPicture" in E.__all__ and E._OPS["add_picture"] is E.AddPicture
    # one side given: the other keeps the picture's proportions
    assert (E.AddPicture.from_png("S", "A1", png, width=50).height,
            E.AddPicture.from_png("S", "A1", png, height=14).width) == (70, 10)
    assert E.png_size(png) == (5, 7)


def test_numpy_sizes_become_ints():
    e = E.AddPicture.from_png("S", "A1", solid_png(RED), width=np.int64(30), height=np.int32(20))
    assert type(e.width) is int and type(e.height) is int
    assert E.dumps([e]) == E.dumps([E.AddPicture("S", "A1", e.png, 30, 20)])


@pytest.mark.parametrize("png, match", [
    ("not base64 at all!", "png is not a PNG file in base64"),
    (base64.b64encode(b"GIF89a" + bytes(40)).decode(), "png is not a PNG file in base64"),
    ("", "png is not a PNG file in base64"),
])
def test_what_is_not_a_png_is_refused_when_the_edit_is_made(png, match):
    with pytest.raises(ValueError, match=f"AddPicture on sheet 'S' at B2: {match}"):
        E.AddPicture("S", "B2", png, 10, 10)
    with pytest.raises(ValueError, match=match):
        E.loads(f'[{{"op": "add_picture", "sheet": "S", "anchor": "B2", "png": "{png}", "width": 1, "height": 1}}]')


@pytest.mark.parametrize("width, match", [(0, "at least 1 pixel"), (-3, "at least 1 pixel"),
                                          (12.5, "whole number of pixels"), (True, "whole number"),
                                          ("12", "whole number")])
def test_sizes_must_be_whole_pixels(width, match):
    png = base64.b64encode(solid_png(RED)).decode()
    with pytest.raises(ValueError, match=f"AddPicture on sheet 'S' at B2: width must be .*{match}"):
        E.AddPicture("S", "B2", png, width, 10)


def test_a_cut_off_png_fails_before_anything_is_written(tmp_path):
    whole = solid_png(RED)
    cut = E.AddPicture("Data", "B2", base64.b64encode(whole[:-20]).decode(), 10, 10)  # the head is fine
    with pytest.raises(ValueError, match="not a whole PNG file"):
        cut.png_bytes()
    bad_b64 = E.AddPicture("Data", "B2", base64.b64encode(whole).decode()[:-3] + "*==", 10, 10)
    with pytest.raises(ValueError, match="not valid base64"):
        bad_b64.png_bytes()
    src = make_plain(tmp_path / "s.xlsx")
    for e in (cut, bad_b64):
        with pytest.raises(ValueError, match="AddPicture on sheet 'Data' at B2"):
            write_workbook(src, [e], tmp_path / "o.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.xlsx"]  # no output, no temporary file


# ---- the package writer ------------------------------------------------------------------------


def test_pictures_and_a_chart_share_the_new_sheets_drawing(tmp_path):
    src = make_plain(tmp_path / "s.xlsx")
    out = tmp_path / "o.xlsx"
    assert write_workbook(src, report_sheet_edits(), out) == []
    m = zip_members(out)
    ws = openpyxl.load_workbook(out)["Pics"]
    assert len(ws._charts) == 1 and len(ws._images) == 2
    red, green = ws._images
    assert (red.anchor._from.col, red.anchor._from.row) == (1, 11)  # B12, 0-based
    assert (green.anchor._from.col, green.anchor._from.row) == (5, 17)  # F18
    assert (red.anchor.ext.width, red.anchor.ext.height) == (80 * EMU_PER_PX, 60 * EMU_PER_PX)
    assert (green.anchor.ext.width, green.anchor.ext.height) == (40 * EMU_PER_PX, 30 * EMU_PER_PX)
    assert red._data() == solid_png(RED) and green._data() == solid_png(GREEN, 4, 3)

    drawings = [n for n in m if re.fullmatch(r"xl/drawings/drawing\d+\.xml", n)]
    assert drawings == [sheet_drawing(m, "xl/worksheets/sheet2.xml")]  # one drawing for the sheet
    found = anchors(m[drawings[0]])
    assert [a.tag for a in found] == [XDR + "twoCellAnchor", XDR + "oneCellAnchor", XDR + "oneCellAnchor"]
    ids = [int(el.get("id")) for el in ET.fromstring(m[drawings[0]]).iter(XDR + "cNvPr")]
    assert len(ids) == len(set(ids)) == 3
    pics = [a.find(XDR + "pic") for a in found[1:]]
    assert [p.find(f"{XDR}nvPicPr/{XDR}cNvPr").get("descr") for p in pics] == \
        ["red square", 'green <&> "quoted"']
    for p, (w, h) in zip(pics, [(80, 60), (40, 30)]):
        ext = p.find(f"{XDR}spPr/{A}xfrm/{A}ext")
        assert (int(ext.get("cx")), int(ext.get("cy"))) == (w * EMU_PER_PX, h * EMU_PER_PX)
        assert p.find(f"{XDR}spPr/{A}prstGeom").get("prst") == "rect"
    rels = image_rels(m, drawings[0])
    embeds = [p.find(f"{XDR}blipFill/{A}blip").get(R_EMBED) for p in pics]
    assert [m[rels[rid]] for rid in embeds] == [solid_png(RED), solid_png(GREEN, 4, 3)]
    assert sorted(rels.values()) == ["xl/media/image1.png", "xl/media/image2.png"]
    types = m["[Content_Types].xml"].decode()
    assert types.count('<Default Extension="png" ContentType="image/png"/>') == 1
    ET.fromstring(m["[Content_Types].xml"])
    assert package_inventory(out)[("Pics", "pictures")] == 2


@pytest.mark.filterwarnings("ignore:Sparkline Group extension")
def test_pictures_join_an_existing_drawing_and_everything_else_stays(tmp_path):
    src = make_rich(tmp_path / "rich.xlsx")
    out = tmp_path / "o.xlsx"
    edits = [E.AddPicture.from_png("Sales", "H30", solid_png(RED), width=48, height=32, description="new"),
             *report_sheet_edits()]
    assert write_workbook(src, edits, out) == []
    before, after = zip_members(src), zip_members(out)
    sales_drawing = sheet_drawing(before, "xl/worksheets/sheet2.xml")
    drawing_rels = sales_drawing.replace("drawings/", "drawings/_rels/") + ".rels"
    may_change = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", sales_drawing,
                  drawing_rels, "xl/styles.xml"}  # styles: the new sheet's bold header
    changed = {n for n in before if before[n] != after[n]}
    assert changed <= may_change and sales_drawing in changed, changed
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out) as b:
        assert b.testzip() is None
        assert b.namelist()[:len(a.namelist())] == a.namelist()  # same order, new parts after
        for info in a.infolist():
            if info.filename not in changed:  # copied as they were, not even re-deflated
                other = b.getinfo(info.filename)
                assert (other.compress_type, other.CRC, other.compress_size) == \
                       (info.compress_type, info.CRC, info.compress_size)
    # the user's drawing is appended to, its anchors untouched
    old, new = before[sales_drawing].decode(), after[sales_drawing].decode()
    assert new.startswith(old[:old.rindex("</xdr:wsDr>")])
    assert after[drawing_rels].decode().startswith(before[drawing_rels].decode()[:-len("</Relationships>")])
    # the new picture has a media part of its own; the user's logo is still image1.png
    assert after["xl/media/image1.png"] == before["xl/media/image1.png"] == solid_png(BLUE)
    rels = image_rels(after, sales_drawing)
    last = anchors(after[sales_drawing])[-1]
    rid = last.find(f"{XDR}pic/{XDR}blipFill/{A}blip").get(R_EMBED)
    assert rels[rid] not in before and after[rels[rid]] == solid_png(RED)
    assert re.fullmatch(r"xl/media/image\d+\.png", rels[rid])
    # [Content_Types].xml had a png type already: only the new sheet's override is added
    types_old, types_new = before["[Content_Types].xml"].decode(), after["[Content_Types].xml"].decode()
    assert types_new.count('Extension="png"') == 1
    assert re.sub(r'<Override PartName="/xl/(worksheets|drawings|charts)/[^"]+"[^>]*/>', "", types_new) == \
        re.sub(r'<Override PartName="/xl/(worksheets|drawings|charts)/[^"]+"[^>]*/>', "", types_old)
    inv_before, inv_after = package_inventory(src), package_inventory(out)
    assert not inv_before - inv_after  # nothing counted went missing
    assert inv_after[("Sales", "pictures")] == inv_before[("Sales", "pictures")] + 1 == 2
    assert inv_after[("Sales", "charts")] == 1 and inv_after[("Sales", "text boxes and shapes")] == 1
    ws = openpyxl.load_workbook(out)["Sales"]
    placed = {(i.anchor._from.col, i.anchor._from.row) for i in ws._images}
    assert (7, 29) in placed and len(ws._images) == 2
    ids = [el.get("id") for el in ET.fromstring(after[sales_drawing]).iter(XDR + "cNvPr")]
    assert len(ids) == len(set(ids))


def test_a_new_picture_number_clashes_with_no_media_whatever_its_type(tmp_path):
    """A workbook whose picture is image1.jpeg: the new one is image2.png, not image1.png."""
    plain = make_plain(tmp_path / "p.xlsx")
    src = tmp_path / "jpeg.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        zout.writestr("xl/media/image1.jpeg", b"\xff\xd8\xff\xe0 not looked at")
    out = tmp_path / "o.xlsx"
    write_workbook(src, [E.AddPicture.from_png("Data", "C2", solid_png(RED))], out)
    m = zip_members(out)
    assert m["xl/media/image1.jpeg"] == b"\xff\xd8\xff\xe0 not looked at"
    assert m["xl/media/image2.png"] == solid_png(RED) and "xl/media/image1.png" not in m


def test_the_same_picture_twice_is_stored_once(tmp_path):
    src = make_plain(tmp_path / "s.xlsx")
    out = tmp_path / "o.xlsx"
    png = solid_png(RED)
    write_workbook(src, [E.AddPicture.from_png("Data", "C2", png), E.AddPicture.from_png("Data", "C9", png),
                         E.AddPicture.from_png("Data", "C16", solid_png(GREEN))], out)
    m = zip_members(out)
    assert sorted(n for n in m if n.startswith("xl/media/")) == ["xl/media/image1.png", "xl/media/image2.png"]
    assert [(i.anchor._from.row, i._data()) for i in openpyxl.load_workbook(out)["Data"]._images] == \
        [(1, png), (8, png), (15, solid_png(GREEN))]


@pytest.mark.filterwarnings("ignore:Sparkline Group extension")
def test_a_drawing_written_without_prefixes(tmp_path):
    """openpyxl writes <wsDr xmlns="…spreadsheetDrawing"> with unprefixed children: the new anchor
    declares the prefixes it uses."""
    pytest.importorskip("PIL")
    src = tmp_path / "by openpyxl.xlsx"
    openpyxl.load_workbook(make_rich(tmp_path / "rich.xlsx")).save(src)
    drawing = sheet_drawing(zip_members(src), "xl/worksheets/sheet2.xml")
    assert zip_members(src)[drawing].decode().count("<xdr:") == 0  # the case this test is about
    out = tmp_path / "o.xlsx"
    assert write_workbook(src, [E.AddPicture.from_png("Sales", "B30", solid_png(RED), width=20, height=10)],
                          out) == []
    found = anchors(zip_members(out)[drawing])
    assert found[-1].tag == XDR + "oneCellAnchor"
    ws = openpyxl.load_workbook(out)["Sales"]
    new = next(i for i in ws._images if (i.anchor._from.col, i.anchor._from.row) == (1, 29))
    assert new._data() == solid_png(RED) and new.anchor.ext.width == 20 * EMU_PER_PX


# ---- the openpyxl fallback ---------------------------------------------------------------------


def test_the_openpyxl_fallback_adds_pictures_too(tmp_path, openpyxl_only):
    pytest.importorskip("PIL")
    src = make_plain(tmp_path / "s.xlsx")
    out = tmp_path / "o.xlsx"
    assert write_workbook(src, report_sheet_edits(), out) == []
    ws = openpyxl.load_workbook(out)["Pics"]
    assert len(ws._charts) == 1 and len(ws._images) == 2
    red, green = ws._images
    assert (red.anchor._from.col, red.anchor._from.row) == (1, 11)
    assert (green.anchor._from.col, green.anchor._from.row) == (5, 17)
    assert (red.anchor.ext.width, red.anchor.ext.height) == (80 * EMU_PER_PX, 60 * EMU_PER_PX)
    assert (green.anchor.ext.width, green.anchor.ext.height) == (40 * EMU_PER_PX, 30 * EMU_PER_PX)
    assert red._data() == solid_png(RED) and green._data() == solid_png(GREEN, 4, 3)
    m = zip_members(out)
    drawing = sheet_drawing(m, "xl/worksheets/sheet2.xml")
    descr = [el.get("descr") for el in ET.fromstring(m[drawing]).iter(XDR + "cNvPr")]
    assert "red square" in descr and 'green <&> "quoted"' in descr
    ids = [el.get("id") for el in ET.fromstring(m[drawing]).iter(XDR + "cNvPr")]
    assert len(ids) == len(set(ids))
    assert 'Extension="png"' in m["[Content_Types].xml"].decode()


# ---- LibreOffice draws them --------------------------------------------------------------------


DPI = 72  # pdftoppm's resolution for the LibreOffice check


def _pages(pdf: Path, out: Path, dpi: int = DPI) -> list[np.ndarray]:
    """The PDF's pages as (h, w, 3) uint8 arrays, rasterised by pdftoppm (read as PPM, no Pillow)."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    subprocess.run([exe, "-r", str(dpi), str(pdf), str(out / "page")], check=True, capture_output=True,
                   timeout=120)
    pages = []
    for ppm in sorted(out.glob("page*.ppm")):
        data = ppm.read_bytes()
        m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
        assert m, ppm
        w, h = int(m.group(1)), int(m.group(2))
        pages.append(np.frombuffer(data, np.uint8, w * h * 3, m.end()).reshape(h, w, 3))
    return pages


def _box(page: np.ndarray, rgb: tuple[int, int, int]) -> tuple[int, int, int, int, int] | None:
    """(pixels, top, left, bottom, right) of the pixels close to one colour, or None."""
    close = (np.abs(page.astype(int) - np.array(rgb)).max(axis=2) < 40)
    if not close.any():
        return None
    ys, xs = np.nonzero(close)
    return int(close.sum()), int(ys.min()), int(xs.min()), int(ys.max()), int(xs.max())


@pytest.mark.parametrize("writer", ["package", "openpyxl"])
def test_libreoffice_draws_the_pictures(tmp_path, writer, request):
    if writer == "openpyxl":
        pytest.importorskip("PIL")
        request.getfixturevalue("openpyxl_only")
    src = make_plain(tmp_path / "s.xlsx")
    out = tmp_path / "pictures.xlsx"
    assert write_workbook(src, report_sheet_edits(), out) == []
    soffice_convert([out], tmp_path, "pdf", timeout=180)
    pages = _pages(tmp_path / "pictures.pdf", tmp_path)
    found = [(i, _box(p, RED), _box(p, GREEN)) for i, p in enumerate(pages)]
    page, red, green = next(((i, r, g) for i, r, g in found if r or g), (None, None, None))
    assert red is not None and green is not None, f"no red or green picture on any of {len(pages)} pages"
    assert not any(r or g for i, r, g in found if i != page)  # only on the sheet they were put on
    # drawn as solid rectangles: the box is (nearly) all the colour …
    for n, top, left, bottom, right in (red, green):
        assert n >= 0.9 * (bottom - top + 1) * (right - left + 1)
    # … at the sizes asked for: 80×60 and 40×30 pixels at 96 dpi (the sheet fits its page unscaled) …
    for (n, top, left, bottom, right), (w, h) in ((red, (80, 60)), (green, (40, 30))):
        assert right - left + 1 == pytest.approx(w * DPI / 96, abs=3)
        assert bottom - top + 1 == pytest.approx(h * DPI / 96, abs=3)
    # … and where they were asked for: red at B12, green lower down and to the right at F18
    assert red[1] < green[1] and red[2] < green[2]


@pytest.mark.filterwarnings("ignore:Sparkline Group extension")
def test_the_openpyxl_fallback_saves_pictures_twice(tmp_path, openpyxl_only):
    """openpyxl loses the sparkline, so the file is saved a second time with a line that says so;
    openpyxl closes a picture's bytes on saving, and the second save must still have them."""
    pytest.importorskip("PIL")
    src = make_rich(tmp_path / "rich.xlsx")
    out = tmp_path / "o.xlsx"
    asked: list[list[str]] = []

    def on_lost(lost: list[str]) -> list[E.Edit]:
        asked.append(lost)
        return [E.WriteCells("Pics", 1, 5, [["Could not be carried over"], *[[x] for x in lost]])]

    lost = write_workbook(src, report_sheet_edits(), out, on_lost=on_lost)
    assert asked == [lost] and "sparklines on sheet 'Data'" in lost
    wb = openpyxl.load_workbook(out)
    assert wb["Pics"]["E1"].value == "Could not be carried over"
    assert [i._data() for i in wb["Pics"]._images] == [solid_png(RED), solid_png(GREEN, 4, 3)]
    assert [i._data() for i in wb["Sales"]._images] == [solid_png(BLUE)]  # the user's picture, kept
