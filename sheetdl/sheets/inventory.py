"""What an .xlsx/.xlsm package holds, counted in the user's words, and what of it went missing.

After a workbook is written, the inventory of the input and of the output are compared, and whatever
the input has more of ("2 charts on sheet 'Sales'", "macros (VBA)") is reported as not carried over:
openpyxl drops parts it does not understand, and the part-by-part writer leaves out what a replaced
sheet or an .xlsx (no macros) can't keep. The same package reading gives the sheet list and where
charts and pictures float over a sheet (:func:`.write.objects_right_col`). This reads any package
with zipfile and ElementTree, and shares nothing with either writer, so it judges both alike.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import Counter
from xml.etree import ElementTree as ET

__all__ = ["package_inventory", "describe_lost"]

_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"


#: relationship type (its last path segment) from a sheet → what it is
_SHEET_RELS = {
    "pivotTable": "pivot tables",
    "table": "tables",
    "slicer": "slicers",
    "timeline": "timelines",
    "ctrlProp": "form controls (buttons, check boxes, lists)",
    "control": "ActiveX controls",
    "oleObject": "embedded objects",
    "threadedComment": "threaded comments (replies)",
    "queryTable": "query tables",
}


#: graphicData uri (its tail) in a drawing → what it is
_GRAPHIC_URIS = {
    "drawingml/2006/chart": "charts",
    "drawing/2014/chartex": "charts",
    "drawingml/2006/diagram": "SmartArt graphics",
    "drawing/2010/slicer": "slicers",
    "drawing/2011/timeslicer": "timelines",
}


#: markers in a sheet's XML after <sheetData> (its extension lists)
_SHEET_MARKERS = {
    "sparklines": re.compile(rb"<(?:[\w.-]+:)?sparklineGroup\b"),
    "options of conditional formats from newer Excel (data bars, icon sets)":
        re.compile(rb"<x14:conditionalFormatting\b"),
    "drop-down lists that refer to other sheets": re.compile(rb"<x14:dataValidation\b"),
}


#: whole-workbook parts → what they are
_BOOK_PARTS = [
    (re.compile(r"^xl/vbaProject\.bin$", re.I), "macros (VBA)"),
    (re.compile(r"^xl/externalLinks/externalLink\d+\.xml$", re.I), "links to other workbooks"),
    (re.compile(r"^xl/connections\.xml$", re.I), "data connections (queries)"),
    (re.compile(r"^customXml/item\d+\.xml$", re.I), "custom XML data (such as Power Query definitions)"),
    (re.compile(r"^xl/model/", re.I), "the Data Model (Power Pivot)"),
    (re.compile(r"^customUI/", re.I), "a custom ribbon"),
    (re.compile(r"^xl/richData/", re.I), "pictures in cells and linked data types"),
    (re.compile(r"^xl/metadata\.xml$", re.I), "dynamic array formula settings (formulas may show an @ sign)"),
    (re.compile(r"^xl/webextensions/", re.I), "Office add-ins saved in the workbook"),
    (re.compile(r"^xl/printerSettings/", re.I), "printer settings"),
    (re.compile(r"^docProps/custom\.xml$", re.I), "custom document properties"),
]
_COUNTED_BOOK = {"links to other workbooks"}  # the others are there or not


#: folders whose parts the counts above account for (anything else lost is reported by folder)
_KNOWN_FOLDERS = {
    "", "_rels", "docProps", "xl", "xl/_rels", "xl/worksheets", "xl/worksheets/_rels", "xl/chartsheets",
    "xl/chartsheets/_rels", "xl/dialogsheets", "xl/macrosheets", "xl/theme", "xl/theme/_rels", "xl/drawings",
    "xl/drawings/_rels", "xl/charts", "xl/charts/_rels", "xl/media", "xl/tables", "xl/tables/_rels",
    "xl/pivotTables", "xl/pivotTables/_rels", "xl/pivotCache", "xl/pivotCache/_rels", "xl/externalLinks",
    "xl/externalLinks/_rels", "xl/comments", "xl/threadedComments", "xl/persons", "xl/slicers",
    "xl/slicerCaches", "xl/timelines", "xl/timelineCaches", "xl/ctrlProps", "xl/activeX", "xl/activeX/_rels",
    "xl/embeddings", "xl/queryTables", "xl/printerSettings", "customXml", "customXml/_rels", "xl/model",
    "customUI", "customUI/_rels", "xl/richData", "xl/richData/_rels", "xl/webextensions",
    "xl/webextensions/_rels", "xl/drawings/vmlDrawing", "xl/calcChain",
}


def package_inventory(path) -> Counter:
    """What an .xlsx/.xlsm package holds, as counts keyed by (sheet name or "", what)."""
    inv: Counter = Counter()
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        for name, kind, part in workbook_sheets(z):
            if part not in names:
                continue
            where = name
            for rtype, target in part_rels(z, part):
                if rtype in _SHEET_RELS:
                    inv[(where, _SHEET_RELS[rtype])] += 1
                elif rtype == "drawing" and target in names:
                    for what, n in _drawing_counts(z, target).items():
                        inv[(where, what)] += n
                    for crtype, chart in part_rels(z, target):
                        styled = any(t in ("chartStyle", "chartColorStyle") for t, _ in part_rels(z, chart))
                        if crtype == "chart" and styled:
                            inv[(where, "chart style and colour settings")] += 1
                elif rtype == "comments" and target in names:
                    n = len(re.findall(rb"<(?:[\w.-]+:)?comment\b", z.read(target)))
                    if n:
                        inv[(where, "comments (notes)")] += n
            if kind == "worksheet":
                tail = _after_sheet_data(z, part)
                for what, rx in _SHEET_MARKERS.items():
                    n = len(rx.findall(tail))
                    if n:
                        inv[(where, what)] += n
        for part in names:
            for pattern, what in _BOOK_PARTS:
                if pattern.search(part):
                    inv[("", what)] += 1
        for part in names:
            folder = posixpath.dirname(part)
            if folder not in _KNOWN_FOLDERS and not folder.startswith(("xl/worksheets/", "xl/drawings/")):
                inv[("", f"other parts of the file ({folder})")] += 1
    return inv


def describe_lost(before: Counter, after: Counter) -> list[str]:
    """Plain sentences for everything ``before`` has more of than ``after``."""
    out = []
    for (where, what), n in before.items():
        missing = n - after.get((where, what), 0)
        if missing <= 0:
            continue
        if not where:
            out.append(f"{missing} {what}" if what in _COUNTED_BOOK and missing > 1 else what)
            continue
        out.append(f"{_counted(what, missing)} on sheet '{where}'")
    return out


def _counted(what: str, n: int) -> str:
    """'2 charts', '1 picture'; kinds that are not sensibly counted stay as they are."""
    singular = {"charts": "chart", "pictures": "picture", "pivot tables": "pivot table", "tables": "table",
                "slicers": "slicer", "timelines": "timeline", "embedded objects": "embedded object",
                "SmartArt graphics": "SmartArt graphic", "ActiveX controls": "ActiveX control",
                "query tables": "query table", "comments (notes)": "comment (note)"}
    if what in singular:
        return f"{n} {singular[what] if n == 1 else what}"
    return what


def workbook_sheets(z: zipfile.ZipFile) -> list[tuple[str, str, str]]:
    """(name, kind, part) of each sheet, in workbook order."""
    book = _main_part(z)
    rels = {rid: (rtype, target) for rid, rtype, target in _rels_with_ids(z, book)}
    root = ET.fromstring(z.read(book))
    out = []
    for el in root.iter(f"{{{_MAIN_NS}}}sheet"):
        rid = el.get(f"{{{_R_NS}}}id")
        rtype, target = rels.get(rid, ("", "")) if rid is not None else ("", "")
        out.append((el.get("name", ""), rtype, target))
    if not out:  # strict OOXML or another namespace: match by local name
        for el in root.iter():
            if el.tag.rsplit("}", 1)[-1] == "sheet":
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
                rtype, target = rels.get(rid, ("", "")) if rid is not None else ("", "")
                out.append((el.get("name", ""), rtype, target))
    return out


def _main_part(z: zipfile.ZipFile) -> str:
    for rtype, target in part_rels(z, ""):
        if rtype == "officeDocument":
            return target
    return "xl/workbook.xml"


def _rels_path(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def _rels_with_ids(z: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    try:
        data = z.read(_rels_path(part))
    except KeyError:
        return []
    out = []
    folder = posixpath.dirname(part)
    for el in ET.fromstring(data).iter(f"{{{_REL_NS}}}Relationship"):
        if el.get("TargetMode") == "External":
            continue
        target = el.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append((el.get("Id", ""), el.get("Type", "").rsplit("/", 1)[-1], target))
    return out


def part_rels(z: zipfile.ZipFile, part: str) -> list[tuple[str, str]]:
    return [(t, target) for _, t, target in _rels_with_ids(z, part)]


def _drawing_counts(z: zipfile.ZipFile, part: str) -> Counter:
    counts: Counter = Counter()
    try:
        root = ET.fromstring(z.read(part))
    except ET.ParseError:
        return counts

    def walk(el, top: bool) -> None:
        for child in el:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "AlternateContent":  # newer objects with an old-style fallback: look at the first choice
                choice = next((c for c in child if c.tag == f"{{{_MC_NS}}}Choice"), None)
                if choice is not None:
                    walk(choice, top)
                continue
            if tag == "pic":
                counts["pictures"] += 1
            elif tag in ("sp", "cxnSp"):
                counts["text boxes and shapes"] += 1
            elif tag == "grpSp":
                walk(child, False)
                continue
            elif tag == "graphicFrame":
                uri = next((g.get("uri", "") for g in child.iter() if g.tag.endswith("}graphicData")), "")
                what = next((w for tail, w in _GRAPHIC_URIS.items() if uri.endswith(tail)), "other objects")
                counts[what] += 1
            else:
                walk(child, top)

    walk(root, True)
    return counts


_END_OF_SHEET_DATA = re.compile(rb"</(?:[\w.-]+:)?sheetData>|<(?:[\w.-]+:)?sheetData\s*/>")


def _after_sheet_data(z: zipfile.ZipFile, part: str) -> bytes:
    """The sheet XML after its cells (conditional formats, extension lists), read in chunks so a big
    sheet is never held whole."""
    keep = b""
    found = False
    with z.open(part) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            buf = keep + chunk
            if found:
                keep = buf
                continue
            ends = list(_END_OF_SHEET_DATA.finditer(buf))
            last = ends[-1] if ends else None
            if last is not None:
                found = True
                keep = buf[last.end():]
            else:
                keep = buf[-64:]
    return keep if found else b""


# =================================================================================================
# where a drawing's anchors put things
# =================================================================================================

_EMU_PER_COL = 609600  # a default-width column (64 px), for anchors given as a size
_EMU_PER_ROW = 190500  # a default-height row (15 pt)


def anchor_span(anchor) -> tuple[int, int, int] | None:
    """(first row, last row, last column), 1-based, that a drawing anchor covers."""
    def num(el, tag, default=0):
        for c in el:
            if c.tag.rsplit("}", 1)[-1] == tag:
                try:
                    return int(c.text or default)
                except ValueError:
                    return default
        return default

    def child(el, tag):
        return next((c for c in el if c.tag.rsplit("}", 1)[-1] == tag), None)

    kind = anchor.tag.rsplit("}", 1)[-1]
    frm = child(anchor, "from")
    if kind == "twoCellAnchor":
        to = child(anchor, "to")
        if frm is None or to is None:
            return None
        last_col = num(to, "col") + (1 if num(to, "colOff") > 0 else 0)
        return num(frm, "row") + 1, num(to, "row") + 1, max(last_col, num(frm, "col") + 1)
    if kind == "oneCellAnchor":
        ext = child(anchor, "ext")
        if frm is None or ext is None:
            return None
        cx, cy = int(ext.get("cx", 0)), int(ext.get("cy", 0))
        c0, r0 = num(frm, "col"), num(frm, "row")
        return r0 + 1, r0 + 1 + -(-cy // _EMU_PER_ROW), c0 + -(-cx // _EMU_PER_COL)
    if kind == "absoluteAnchor":
        pos, ext = child(anchor, "pos"), child(anchor, "ext")
        if pos is None or ext is None:
            return None
        x, y = int(pos.get("x", 0)), int(pos.get("y", 0))
        cx, cy = int(ext.get("cx", 0)), int(ext.get("cy", 0))
        return y // _EMU_PER_ROW + 1, -(-(y + cy) // _EMU_PER_ROW), -(-(x + cx) // _EMU_PER_COL)
    return None
