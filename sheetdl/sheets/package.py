"""The .xlsx/.xlsm writer that changes only what it must.

openpyxl rebuilds a workbook from its own model of it, so whatever it does not model (sparklines, text
boxes, slicers, chart styles, x14 extensions …) is missing from its copy, and loading and saving every
cell of a big sheet takes seconds. This writer treats the workbook as the zip package it is: every part
the edits do not concern is copied byte for byte (its compressed bytes, not even re-deflated), and the
few parts it must change are changed by text surgery that leaves the rest of their XML as it was:

- a sheet that gets cells: only the ``<row>`` elements that get cells are rewritten (new cells go in
  column order; existing cells are never overwritten); ``<dimension>``, ``<cols>``, the sheet view's
  pane, conditional formats and ``<drawing>`` are updated or added where the schema wants them;
- ``xl/styles.xml``: the fonts, fills, borders, number formats and cell formats the edits need are
  appended; existing indexes never move, so every existing cell keeps its look;
- ``xl/workbook.xml``, its rels and ``[Content_Types].xml``: new sheets are appended at the end, so no
  sheet index a defined name or a view refers to shifts;
- new sheets, drawings, charts and pictures are new parts, appended to the zip; a sheet's pictures and
  charts share its one drawing part (the one it has, or a new one).

Anything this writer can't change safely (strict OOXML, rows or cells without their reference, a part
that is not UTF-8, missing parts …) raises :class:`Unsupported` before anything is written; the caller
then falls back to openpyxl, which says what it lost.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import posixpath
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree as ET

from ..edits import (
    AddChart,
    AddPicture,
    AddSheet,
    ColorScale,
    Edit,
    FormatRange,
    FreezePanes,
    SetColumnWidth,
    SetRowHeight,
    WriteCells,
)
from ..errors import OutputError, WorkbookError

__all__ = ["Package", "Unsupported"]


class Unsupported(Exception):
    """The package is one this writer can't change safely; use the openpyxl path instead."""


class _Conflict(Exception):
    """An edit would overwrite a cell that already holds a value (``layout`` must never do that)."""


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_RT = _R_NS + "/"  # relationship types: _RT + "worksheet"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
_CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
_CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_CT_PNG = "image/png"
_CT_MAIN = {
    False: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    True: "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
}
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAX_TEXT = 32767  # Excel's limit for one cell
_MAX_ROW, _MAX_COL = 1_048_576, 16_384
#: changed parts bigger than this are deflated at level 1 (speed over size)
_FAST_DEFLATE_BYTES = 1 << 20


# =================================================================================================
# small XML helpers (text level)
# =================================================================================================

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
#: a start, end or empty tag; attribute values may hold '>'
_TAG = re.compile(r"""<(?:!--.*?-->|\?.*?\?>|!\[CDATA\[.*?\]\]>"""
                  r"""|(/?)([\w.-]+:)?([\w.-]+)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>)""", re.S)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _qa(s: str) -> str:
    """An attribute value, quoted."""
    return '"' + _esc(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;") + '"'


@functools.lru_cache(maxsize=None)
def _attr_re(name: str) -> re.Pattern:
    return re.compile(rf"""(^|\s){re.escape(name)}\s*=\s*("[^"]*"|'[^']*')""")


def _get(attrs: str, name: str) -> str | None:
    """An attribute's value from the attribute text of a tag (entities left as they are)."""
    m = _attr_re(name).search(attrs)
    return m.group(2)[1:-1] if m else None


def _set(attrs: str, name: str, value: str) -> str:
    rx = _attr_re(name)
    if rx.search(attrs):
        return rx.sub(lambda m: f"{m.group(1)}{name}={_qa(value)}", attrs, count=1)
    return f"{attrs} {name}={_qa(value)}"


def _num(x: float) -> str:
    """A number as XML text: integers without '.0'."""
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, int):
        return str(x)
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


@functools.lru_cache(maxsize=None)
def _letters(col: int) -> str:
    s = ""
    while col:
        col, rem = divmod(col - 1, 26)
        s = chr(65 + rem) + s
    return s


_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _cell_ref(ref: str) -> tuple[int, int]:
    """(row, col) of 'B7'."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)), _col_number(m.group(1))


def _areas(ref: str) -> list[tuple[int, int, int, int]]:
    """(first row, first col, last row, last col) of each range in 'A1:C3,E5'."""
    out = []
    for area in ref.split(","):
        a, _, b = area.strip().partition(":")
        r1, c1 = _cell_ref(a)
        r2, c2 = _cell_ref(b) if b else (r1, c1)
        out.append((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
    return out


def _children(xml: str, start: int, stop: int) -> list[tuple[str, int, int]]:
    """(local name, start, end) of each element at the top level of ``xml[start:stop]``.

    An ``mc:AlternateContent`` is named after the element in its first choice, so new elements are
    placed by the schema order of what it wraps.
    """
    out: list[tuple[str, int, int]] = []
    depth, open_at, name = 0, 0, ""
    for m in _TAG.finditer(xml, start, stop):
        if m.group(3) is None:  # comment, processing instruction, CDATA
            continue
        if m.group(1):
            depth -= 1
            if depth == 0:
                out.append((name, open_at, m.end()))
            if depth < 0:
                break
        elif m.group(5):
            if depth == 0:
                out.append((m.group(3), m.start(), m.end()))
        else:
            if depth == 0:
                open_at, name = m.start(), m.group(3)
            depth += 1
    for i, (name, s, e) in enumerate(out):
        if name == "AlternateContent":
            inner = re.search(r"<(?:[\w.-]+:)?Choice\b[^>]*>\s*<(?:[\w.-]+:)?([\w.-]+)", xml[s:e])
            if inner:
                out[i] = (inner.group(1), s, e)
    return out


def _decode(data: bytes, name: str) -> str:
    """A part as text; only UTF-8 parts are edited (every Office application writes them)."""
    head = data[:200]
    m = re.search(rb"""encoding\s*=\s*["']([\w.-]+)["']""", head)
    if m and m.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise Unsupported(f"{name} is not UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise Unsupported(f"{name} is not UTF-8") from e


def _prefix_of(xml: str, local: str) -> tuple[str, re.Match]:
    """The namespace prefix ('' or 'x:') of a document's root element, and the match of its tag."""
    m = re.search(rf"<([\w.-]+:)?{local}\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", xml)
    if m is None or m.group(2).rstrip().endswith("/"):
        raise Unsupported(f"no <{local}> element")
    return m.group(1) or "", m


def _ns_prefix(root_tag: str, uri: str) -> str | None:
    m = re.search(rf"""xmlns:([\w.-]+)\s*=\s*["']{re.escape(uri)}["']""", root_tag)
    return m.group(1) if m else None


# =================================================================================================
# styles: formats appended to xl/styles.xml
# =================================================================================================

#: number formats every application knows by number (locale-independent ones only)
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10,
                    "0.00E+00": 11, "# ?/?": 12, "# ??/??": 13, "mm:ss": 45, "[h]:mm:ss": 46,
                    "mmss.0": 47, "##0.0E+0": 48, "@": 49}
_FONT_ORDER = {k: i for i, k in enumerate(
    "b i strike condense extend outline shadow u vertAlign sz color name family charset scheme".split())}
_BORDER_ORDER = {k: i for i, k in enumerate("start end left right top bottom diagonal vertical horizontal".split())}
_XF_ORDER = {"alignment": 0, "protection": 1}
_FONT_KEYS = ("bold", "italic", "size", "color")
_EMPTY_STYLES = (
    _DECL + f'<styleSheet xmlns="{_MAIN_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
    '<family val="2"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
    '<bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
    'borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)


def _argb(hex6: str) -> str:
    h = hex6.lstrip("#").upper()
    return h if len(h) == 8 else "FF" + h


class _Styles:
    """The cell formats the edits need, each derived from the format the cell already has (so a bold
    header keeps the workbook's default font and size) and appended to ``xl/styles.xml``."""

    _KINDS = ("numFmts", "fonts", "fills", "borders", "cellXfs")

    def __init__(self, xml: str):
        self.xml = xml
        self.p, _ = _prefix_of(xml, "styleSheet")
        try:
            root = ET.fromstring(xml.encode("utf-8"))
        except ET.ParseError as e:
            raise Unsupported(f"xl/styles.xml: {e}") from e
        if root.tag != f"{{{_MAIN_NS}}}styleSheet":
            raise Unsupported("xl/styles.xml is not transitional SpreadsheetML")
        self.old: dict[str, list[ET.Element]] = {}
        for kind in self._KINDS:
            el = root.find(f"{{{_MAIN_NS}}}{kind}")
            if el is None and kind != "numFmts":
                raise Unsupported(f"xl/styles.xml has no <{kind}>")
            self.old[kind] = list(el) if el is not None else []
        if not (self.old["fonts"] and self.old["cellXfs"]):
            raise Unsupported("xl/styles.xml has no fonts or cell formats")
        self.new: dict[str, list[str]] = {k: [] for k in self._KINDS}
        self._index: dict[str, dict[str, int]] = {}
        self._formats = {el.get("formatCode"): int(el.get("numFmtId", "0")) for el in self.old["numFmts"]}
        self._next_format = max([163] + list(self._formats.values())) + 1
        self._cache: dict[tuple, int] = {}

    # ---- the public side ----

    def derive(self, base: int, style: dict) -> int:
        """The index of cell format ``base`` with ``style`` applied (appended once, then reused)."""
        key = (base, tuple(sorted(style.items())))
        idx = self._cache.get(key)
        if idx is None:
            idx = self._cache[key] = self._derive(base, style)
        return idx

    def render(self) -> str | None:
        """styles.xml with the new entries appended; None when nothing was added."""
        if not any(self.new.values()):
            return None
        xml = self.xml
        for kind in self._KINDS:
            if self.new[kind]:
                xml = self._append(xml, kind)
        return xml

    # ---- deriving ----

    def _derive(self, base: int, style: dict) -> int:
        xfs = self.old["cellXfs"]
        xf = xfs[base] if 0 <= base < len(xfs) else xfs[0]
        attrs = {k: v for k, v in xf.attrib.items() if "}" not in k}
        kids = {_local(c.tag): c for c in xf if _ns(c.tag) == _MAIN_NS and _local(c.tag) in _XF_ORDER}
        if any(k in style for k in _FONT_KEYS):
            attrs["fontId"] = str(self._add("fonts", self._font(int(attrs.get("fontId", 0)), style)))
            attrs["applyFont"] = "1"
        if "fill" in style:
            p = self.p
            pattern = (f'<{p}patternFill patternType="solid"><{p}fgColor rgb="{_argb(style["fill"])}"/>'
                       f'<{p}bgColor indexed="64"/></{p}patternFill>') if style["fill"] else \
                f'<{p}patternFill patternType="none"/>'
            fill = f"<{p}fill>{pattern}</{p}fill>"
            attrs["fillId"] = str(self._add("fills", fill))
            attrs["applyFill"] = "1"
        if "border_bottom" in style:
            attrs["borderId"] = str(self._add("borders", self._border(int(attrs.get("borderId", 0)),
                                                                      style["border_bottom"])))
            attrs["applyBorder"] = "1"
        if "num_fmt" in style:
            attrs["numFmtId"] = str(self._format_id(style["num_fmt"]))
            attrs["applyNumberFormat"] = "1"
        align = None
        if "wrap" in style or "horizontal" in style:
            a = dict(kids["alignment"].attrib) if "alignment" in kids else {}
            if "wrap" in style:
                a["wrapText"] = "1" if style["wrap"] else "0"
            if "horizontal" in style:
                a["horizontal"] = style["horizontal"]
            align = f"<{self.p}alignment" + "".join(f" {k}={_qa(v)}" for k, v in a.items() if "}" not in k) + "/>"
            attrs["applyAlignment"] = "1"
        inner = align if align is not None else (_ser(kids["alignment"], self.p) if "alignment" in kids else "")
        if "protection" in kids:
            inner += _ser(kids["protection"], self.p)
        head = f"<{self.p}xf" + "".join(f" {k}={_qa(v)}" for k, v in attrs.items())
        return self._add("cellXfs", f"{head}>{inner}</{self.p}xf>" if inner else head + "/>")

    def _font(self, font_id: int, style: dict) -> str:
        fonts = self.old["fonts"]
        base = fonts[font_id] if 0 <= font_id < len(fonts) else fonts[0]
        parts = {_local(c.tag): _ser(c, self.p) for c in base if _ns(c.tag) == _MAIN_NS}
        for key, tag in (("bold", "b"), ("italic", "i")):
            if key in style:
                parts.pop(tag, None)
                if style[key]:
                    parts[tag] = f"<{self.p}{tag}/>"
        if "size" in style:
            parts["sz"] = f'<{self.p}sz val="{_num(style["size"])}"/>'
        if "color" in style:
            parts["color"] = f'<{self.p}color rgb="{_argb(style["color"])}"/>'
        body = "".join(parts[k] for k in sorted(parts, key=lambda k: _FONT_ORDER.get(k, 99)))
        return f"<{self.p}font>{body}</{self.p}font>"

    def _border(self, border_id: int, bottom: bool) -> str:
        borders = self.old["borders"]
        base = borders[border_id] if 0 <= border_id < len(borders) else None
        parts = {} if base is None else {_local(c.tag): _ser(c, self.p) for c in base if _ns(c.tag) == _MAIN_NS}
        for side in ("left", "right", "top", "diagonal"):
            parts.setdefault(side, f"<{self.p}{side}/>")
        parts["bottom"] = (f'<{self.p}bottom style="thin"><{self.p}color rgb="FF9BC2E6"/></{self.p}bottom>'
                           if bottom else f"<{self.p}bottom/>")
        attrs = "" if base is None else "".join(f" {k}={_qa(v)}" for k, v in base.attrib.items() if "}" not in k)
        body = "".join(parts[k] for k in sorted(parts, key=lambda k: _BORDER_ORDER.get(k, 99)))
        return f"<{self.p}border{attrs}>{body}</{self.p}border>"

    def _format_id(self, code: str) -> int:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        if code not in self._formats:
            self._formats[code] = self._next_format
            self.new["numFmts"].append(f'<{self.p}numFmt numFmtId="{self._next_format}" formatCode={_qa(code)}/>')
            self._next_format += 1
        return self._formats[code]

    def _add(self, kind: str, xml: str) -> int:
        """Index of an entry with this XML: an existing equal one, or a new one appended."""
        index = self._index.get(kind)
        if index is None:
            index = self._index[kind] = {}
            for i, el in enumerate(self.old[kind]):
                index.setdefault(_ser(el, self.p), i)
        if xml not in index:
            index[xml] = len(self.old[kind]) + len(self.new[kind])
            self.new[kind].append(xml)
        return index[xml]

    # ---- writing ----

    def _append(self, xml: str, kind: str) -> str:
        p = self.p
        total = len(self.old[kind]) + len(self.new[kind])
        entries = "".join(self.new[kind])
        m = re.search(rf"<{p}{kind}\b([^>]*?)(/?)>", xml)
        if m is None:  # only <numFmts> may be missing: it is the stylesheet's first child
            _, root = _prefix_of(xml, "styleSheet")
            return xml[:root.end()] + f'<{p}{kind} count="{total}">{entries}</{p}{kind}>' + xml[root.end():]
        attrs = _set(m.group(1), "count", str(total))
        if m.group(2):
            return xml[:m.start()] + f"<{p}{kind}{attrs}>{entries}</{p}{kind}>" + xml[m.end():]
        close = xml.find(f"</{p}{kind}>", m.end())
        if close < 0:
            raise Unsupported(f"xl/styles.xml: <{kind}> is not closed")
        return xml[:m.start()] + f"<{p}{kind}{attrs}>" + xml[m.end():close] + entries + xml[close:]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ser(el: ET.Element, p: str) -> str:
    """A SpreadsheetML element (from ElementTree) back as text with prefix ``p``; elements and
    attributes of other namespaces are left out (styles entries have none that matter)."""
    if _ns(el.tag) != _MAIN_NS:
        return ""
    attrs = ""
    for k, v in el.attrib.items():
        if k.startswith(f"{{{_XML_NS}}}"):
            attrs += f" xml:{_local(k)}={_qa(v)}"
        elif "}" not in k:
            attrs += f" {k}={_qa(v)}"
    inner = (_esc(el.text) if el.text and el.text.strip() else "") + "".join(_ser(c, p) for c in el)
    tag = p + _local(el.tag)
    return f"<{tag}{attrs}>{inner}</{tag}>" if inner else f"<{tag}{attrs}/>"


# =================================================================================================
# what the edits do to one sheet, collected before the sheet's XML is touched once
# =================================================================================================

_UNSET = object()


class _Cell:
    __slots__ = ("value", "style")

    def __init__(self) -> None:
        self.value: Any = _UNSET  # _UNSET: not written; None: written blank
        self.style: dict = {}


@dataclass
class _SheetEdits:
    """What the edits do to one sheet, gathered first so that its XML is gone through once."""

    cells: dict[tuple[int, int], _Cell] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    freeze: str | None = None
    scales: list[ColorScale] = field(default_factory=list)
    #: charts and pictures in the order they were asked for (later ones are drawn on top), each picture
    #: with its PNG bytes
    drawn: list[tuple[AddChart | AddPicture, bytes | None]] = field(default_factory=list)

    def cell(self, row: int, col: int) -> _Cell:
        if not (1 <= row <= _MAX_ROW and 1 <= col <= _MAX_COL):
            raise OutputError(f"Cell {_letters(col) if col > 0 else '?'}{row} is outside a sheet.")
        c = self.cells.get((row, col))
        if c is None:
            c = self.cells[(row, col)] = _Cell()
        return c

    def add(self, e: Edit, date1904: bool) -> None:
        if isinstance(e, WriteCells):
            self._write(e, date1904)
        elif isinstance(e, FormatRange):
            style = {k: v for k, v in (
                ("num_fmt", e.number_format), ("bold", e.bold), ("italic", e.italic), ("size", e.font_size),
                ("color", e.font_color), ("fill", e.fill), ("wrap", e.wrap), ("horizontal", e.horizontal),
                ("border_bottom", e.border_bottom)) if v is not None}
            for r1, c1, r2, c2 in _areas(e.ref):
                for r in range(r1, r2 + 1):
                    for c in range(c1, c2 + 1):
                        self.cell(r, c).style.update(style)
        elif isinstance(e, SetColumnWidth):
            self.widths[e.col] = float(e.width)
        elif isinstance(e, SetRowHeight):
            self.heights[e.row] = float(e.height)
        elif isinstance(e, ColorScale):
            _areas(e.ref)
            self.scales.append(e)
        elif isinstance(e, AddChart):
            if e.kind not in ("line", "bar"):
                raise ValueError(f"unknown chart kind {e.kind!r}")
            for ref in [e.categories, e.anchor, *e.series]:
                _areas(ref)
            self.drawn.append((e, None))
        elif isinstance(e, AddPicture):
            _cell_ref(e.anchor)
            self.drawn.append((e, e.png_bytes()))  # a broken picture fails here, before anything is written
        elif isinstance(e, FreezePanes):
            _cell_ref(e.cell)
            self.freeze = e.cell
        else:  # pragma: no cover - a new edit type without a writer
            raise TypeError(f"no file writer for {type(e).__name__}")

    def _write(self, e: WriteCells, date1904: bool) -> None:
        formats = e.number_formats or []
        for i, row in enumerate(e.values):
            for k, v in enumerate(row):
                cell = self.cell(e.row + i, e.col + k)
                v, date_format = _cell_value(v, date1904)
                cell.value = v
                if date_format and "num_fmt" not in cell.style:
                    cell.style["num_fmt"] = date_format
                if i == 0 and e.bold_first_row:
                    cell.style["bold"] = True
                elif k < len(formats) and formats[k]:
                    cell.style["num_fmt"] = formats[k]

    def value(self, row: int, col: int) -> Any:
        c = self.cells.get((row, col))
        return None if c is None or c.value is _UNSET else c.value


def _cell_value(v: Any, date1904: bool) -> tuple[Any, str | None]:
    """A value as the cell will hold it (dates become serial numbers), and the number format a date
    needs when no other is given."""
    if hasattr(v, "item") and not isinstance(v, bool | int | float | str):  # numpy scalar
        v = v.item()
    if isinstance(v, str):
        return _ILLEGAL.sub("", v)[:_MAX_TEXT], None
    if v is None or isinstance(v, bool | int):
        return v, None
    if isinstance(v, float):
        return (v if math.isfinite(v) else None), None
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return _serial(v, date1904)
    try:
        f = float(v)  # Decimal, Fraction …
    except (TypeError, ValueError):
        return _ILLEGAL.sub("", str(v))[:_MAX_TEXT], None
    return (f if math.isfinite(f) else None), None


def _serial(v, date1904: bool) -> tuple[float, str]:
    if isinstance(v, dt.time):
        return (v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) / 86400, "h:mm:ss"
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    if isinstance(v, dt.datetime):
        fmt, when = "yyyy-mm-dd h:mm:ss", v.replace(tzinfo=None)
    else:
        fmt, when = "yyyy-mm-dd", dt.datetime(v.year, v.month, v.day)
    delta = when - epoch
    serial = delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    if not date1904 and serial < 61:  # Excel's phantom 29 February 1900
        serial -= 1
    return serial, fmt


# =================================================================================================
# editing one worksheet's XML
# =================================================================================================

#: CT_Worksheet's children, in the order the schema requires
_SHEET_ORDER = {k: i for i, k in enumerate(
    "sheetPr dimension sheetViews sheetFormatPr cols sheetData sheetCalcPr sheetProtection protectedRanges "
    "scenarios autoFilter sortState dataConsolidate customSheetViews mergeCells phoneticPr conditionalFormatting "
    "dataValidations hyperlinks printOptions pageMargins pageSetup headerFooter rowBreaks colBreaks "
    "customProperties cellWatches ignoredErrors smartTags drawing legacyDrawing legacyDrawingHF drawingHF picture "
    "oleObjects controls webPublishItems tableParts extLst".split())}


def _new_sheet_xml(tab_color: str | None) -> str:
    # our sheets print landscape, one page wide: a report split across pages by column is unreadable
    tab = f'<tabColor rgb="{_argb(tab_color)}"/>' if tab_color else ""
    return (f'{_DECL}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_R_NS}"><sheetPr>{tab}<pageSetUpPr fitToPage="1"/>'
            '</sheetPr><dimension ref="A1"/><sheetViews>'
            '<sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData/>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>')


class _SheetXml:
    """A worksheet part split around its cells: ``head`` (before ``<sheetData>``), ``body`` (the rows)
    and ``tail`` (after), so the small ends can be edited freely and the body only row by row."""

    def __init__(self, xml: str, part: str):
        self.p, root = _prefix_of(xml, "worksheet")
        p = self.p
        self.root_tag = root.group(0)
        sd = re.compile(rf"<{p}sheetData\b[^>]*?(/?)>").search(xml, root.end())
        if sd is None:
            raise Unsupported(f"{part} has no <sheetData>")
        if sd.group(1):
            body, sd_end = "", sd.end()
        else:
            close = xml.find(f"</{p}sheetData>", sd.end())
            if close < 0:
                raise Unsupported(f"{part}: <sheetData> is not closed")
            body, sd_end = xml[sd.end():close], close + len(f"</{p}sheetData>")
        end = xml.rfind(f"</{p}worksheet>")
        if end < sd_end:
            raise Unsupported(f"{part}: <worksheet> is not closed")
        self.pre, self.head, self.body = xml[:root.end()], xml[root.end():sd.start()], body
        self.sd_open = sd.group(0) if not sd.group(1) else f"<{p}sheetData>"
        self.tail, self.post = xml[sd_end:end], xml[end:]
        self._self_closed = bool(sd.group(1))

    def text(self) -> str:
        if self._self_closed and not self.body:
            sd = f"<{self.p}sheetData/>"
        else:
            sd = f"{self.sd_open}{self.body}</{self.p}sheetData>"
        return self.pre + self.head + sd + self.tail + self.post

    def insert(self, name: str, fragment: str) -> None:
        """Put a new top-level element where the schema orders it (after any of the same name)."""
        rank = _SHEET_ORDER[name]
        if rank < _SHEET_ORDER["sheetData"]:
            pos = next((s for n, s, _ in _children(self.head, 0, len(self.head))
                        if _SHEET_ORDER.get(n, -1) > rank), len(self.head))
            self.head = self.head[:pos] + fragment + self.head[pos:]
        else:
            pos = next((s for n, s, _ in _children(self.tail, 0, len(self.tail))
                        if _SHEET_ORDER.get(n, -1) > rank), len(self.tail))
            self.tail = self.tail[:pos] + fragment + self.tail[pos:]

    def find_in_head(self, name: str) -> tuple[int, int] | None:
        return next(((s, e) for n, s, e in _children(self.head, 0, len(self.head)) if n == name), None)

    def r_prefix(self) -> tuple[str, str]:
        """The prefix bound to the relationships namespace, and a declaration to add when none is."""
        pfx = _ns_prefix(self.root_tag, _R_NS)
        return (pfx, "") if pfx else ("r", f' xmlns:r="{_R_NS}"')


def _edit_cells(doc: _SheetXml, ed: _SheetEdits, styles: Callable[[], _Styles]) -> None:
    """Insert the new cells and row heights into the rows, then widen ``<dimension>``."""
    rows: dict[int, list[tuple[int, _Cell]]] = {}
    for (r, c), cell in ed.cells.items():
        if (cell.value is _UNSET or cell.value is None) and not cell.style:
            continue  # nothing to write: a blank over a blank
        rows.setdefault(r, []).append((c, cell))
    if not rows and not ed.heights:
        return
    for cells in rows.values():
        cells.sort(key=lambda x: x[0])
    writer = _RowWriter(doc.p, styles, _column_styles(doc))
    doc.body = writer.splice(doc.body, rows, ed.heights)
    if rows:
        _widen_dimension(doc, min(rows), max(rows), min(c[0][0] for c in rows.values()),
                         max(c[-1][0] for c in rows.values()))


def _column_styles(doc: _SheetXml) -> Callable[[int], int]:
    """The format of each column (``<col style>``): what a new cell there starts from, as in Excel."""
    ranges = []
    for m in re.finditer(rf"<{doc.p}col\b([^>]*?)/?>", doc.head):
        lo, hi, st = _get(m.group(1), "min"), _get(m.group(1), "max"), _get(m.group(1), "style")
        if lo and hi and st and st != "0":
            ranges.append((int(lo), int(hi), int(st)))

    @functools.lru_cache(maxsize=None)
    def style(col: int) -> int:
        return next((st for lo, hi, st in ranges if lo <= col <= hi), 0)

    return style


class _RowWriter:
    """Rewrites the ``<row>`` elements that get cells; every other byte of ``<sheetData>`` stays.

    A new cell starts from the format its row (``customFormat``) or column gives the empty cells
    there, as a cell typed in Excel does, so results blend into a formatted sheet."""

    def __init__(self, p: str, styles: Callable[[], _Styles], column_style: Callable[[int], int]):
        self.p = p
        self._styles = styles
        self._column_style = column_style
        self._row = re.compile(rf"<{p}row\b([^>]*?)(/?)>")
        self._cells = re.compile(rf"<{p}c\b([^>]*?)(?:/>|>(.*?)</{p}c>)", re.S)
        self._has_value = re.compile(rf"<{p}(?:v|f|is)\b")

    def splice(self, body: str, rows: dict[int, list[tuple[int, _Cell]]], heights: dict[int, float]) -> str:
        targets = sorted(set(rows) | set(heights))
        out: list[str] = []
        pos, i, n = 0, 0, len(targets)
        close = f"</{self.p}row>"
        for m in self._row.finditer(body):
            if i == n:
                break
            r_text = _get(m.group(1), "r")
            if r_text is None:
                raise Unsupported("a row without its number")
            r = int(r_text)
            while i < n and targets[i] < r:
                out.append(body[pos:m.start()])
                pos = m.start()
                out.append(self._new_row(targets[i], rows.get(targets[i], ()), heights.get(targets[i])))
                i += 1
            if i < n and targets[i] == r:
                if m.group(2):
                    content, end = "", m.end()
                else:
                    c = body.find(close, m.end())
                    if c < 0:
                        raise Unsupported(f"row {r} is not closed")
                    content, end = body[m.end():c], c + len(close)
                out.append(body[pos:m.start()])
                out.append(self._edit_row(r, m.group(1), content, rows.get(r, ()), heights.get(r)))
                pos = end
                i += 1
        out.append(body[pos:])
        for r in targets[i:]:
            out.append(self._new_row(r, rows.get(r, ()), heights.get(r)))
        return "".join(out)

    # ---- one row ----

    def _new_row(self, r: int, cells, height: float | None) -> str:
        attrs = f' r="{r}"' + (f' ht="{_num(height)}" customHeight="1"' if height is not None else "")
        body = "".join(self._cell(r, c, cell, self._column_style(c)) for c, cell in cells)
        return f"<{self.p}row{attrs}>{body}</{self.p}row>" if body else f"<{self.p}row{attrs}/>"

    def _edit_row(self, r: int, attrs: str, content: str, cells, height: float | None) -> str:
        p = self.p
        if height is not None:
            attrs = _set(_set(attrs, "ht", _num(height)), "customHeight", "1")
        if cells:
            row_style = _get(attrs, "s") if _get(attrs, "customFormat") in ("1", "true") else None
            base = (lambda c: int(row_style)) if row_style else self._column_style
            attrs = self._spans(attrs, cells[0][0], cells[-1][0])
            last = self._last_col(content)
            if last < cells[0][0]:  # the usual case: new columns right of everything in the row
                new = "".join(self._cell(r, c, cell, base(c)) for c, cell in cells)
                ext = content.find(f"<{p}extLst")
                content = content + new if ext < 0 else content[:ext] + new + content[ext:]
            else:
                content = self._merge(r, content, cells, base)
        return f"<{p}row{attrs}>{content}</{p}row>"

    def _last_col(self, content: str) -> int:
        tag = f"<{self.p}c"
        k = len(content)
        while True:
            k = content.rfind(tag, 0, k)
            if k < 0:
                return 0
            nxt = content[k + len(tag):k + len(tag) + 1]
            if nxt in (" ", "\t", "\n", "\r"):
                break
            if nxt in (">", "/"):
                raise Unsupported("a cell without its reference")
        end = content.find(">", k)
        ref = _get(content[k + len(tag):end], "r")
        if ref is None:
            raise Unsupported("a cell without its reference")
        return _cell_ref(ref)[1]

    def _merge(self, r: int, content: str, cells, base: Callable[[int], int]) -> str:
        """New cells among existing ones: in column order; a cell that exists keeps its value and gets
        only its format changed, and is never overwritten when it holds something."""
        out: list[str] = []
        pos = 0
        todo = list(cells)
        j = 0
        for m in self._cells.finditer(content):
            ref = _get(m.group(1), "r")
            if ref is None:
                raise Unsupported("a cell without its reference")
            col = _cell_ref(ref)[1]
            while j < len(todo) and todo[j][0] < col:
                out.append(content[pos:m.start()])
                pos = m.start()
                out.append(self._cell(r, todo[j][0], todo[j][1], base(todo[j][0])))
                j += 1
            if j < len(todo) and todo[j][0] == col:
                out.append(content[pos:m.start()])
                out.append(self._over(r, col, todo[j][1], m))
                pos = m.end()
                j += 1
        tail = content[pos:]
        ext = tail.find(f"<{self.p}extLst")
        rest = "".join(self._cell(r, c, cell, base(c)) for c, cell in todo[j:])
        out.append(tail + rest if ext < 0 else tail[:ext] + rest + tail[ext:])
        return "".join(out)

    def _over(self, r: int, col: int, cell: _Cell, m: re.Match) -> str:
        attrs, inner = m.group(1), m.group(2)
        holds = inner is not None and self._has_value.search(inner) is not None
        base = int(_get(attrs, "s") or 0)
        if cell.value is not _UNSET and cell.value is not None:
            if holds:
                raise _Conflict(f"{_letters(col)}{r}")
            return self._cell(r, col, cell, base)
        if not cell.style:
            return m.group(0)
        tag = f"<{self.p}c" + _set(attrs, "s", str(self._styles().derive(base, cell.style)))
        return tag + "/>" if inner is None else f"{tag}>{inner}</{self.p}c>"

    def _spans(self, attrs: str, lo: int, hi: int) -> str:
        spans = _get(attrs, "spans")
        if spans is None:
            return attrs
        try:
            nums = [int(x) for part in spans.split() for x in part.split(":")]
        except ValueError:
            return attrs
        return _set(attrs, "spans", f"{min(nums + [lo])}:{max(nums + [hi])}")

    # ---- one cell ----

    def _cell(self, r: int, c: int, cell: _Cell, base: int) -> str:
        p = self.p
        ref = f"{_letters(c)}{r}"
        s = self._styles().derive(base, cell.style) if cell.style else base
        sa = f' s="{s}"' if s else ""
        v = cell.value
        if v is _UNSET or v is None:
            return f'<{p}c r="{ref}"{sa}/>'
        if isinstance(v, bool):
            return f'<{p}c r="{ref}"{sa} t="b"><{p}v>{int(v)}</{p}v></{p}c>'
        if isinstance(v, str):
            space = ' xml:space="preserve"' if v != v.strip() or "\n" in v else ""
            return f'<{p}c r="{ref}"{sa} t="inlineStr"><{p}is><{p}t{space}>{_esc(v)}</{p}t></{p}is></{p}c>'
        return f'<{p}c r="{ref}"{sa}><{p}v>{_num(v)}</{p}v></{p}c>'


def _widen_dimension(doc: _SheetXml, r1: int, r2: int, c1: int, c2: int) -> None:
    m = re.search(rf"<{doc.p}dimension\b([^>]*?)/?>", doc.head)
    if m is None:
        return  # optional; applications work it out
    ref = _get(m.group(1), "ref")
    try:
        ar1, ac1, ar2, ac2 = _areas(ref)[0] if ref else (r1, c1, r2, c2)
    except ValueError:
        return
    new = f"{_letters(min(ac1, c1))}{min(ar1, r1)}:{_letters(max(ac2, c2))}{max(ar2, r2)}"
    tag = m.group(0)
    doc.head = doc.head[:m.start()] + f"<{doc.p}dimension" + _set(m.group(1), "ref", new) + \
        ("/>" if tag.endswith("/>") else ">") + doc.head[m.end():]


def _edit_cols(doc: _SheetXml, widths: dict[int, float]) -> None:
    """Column widths: a ``<col>`` range that holds a changed column is split around it, so the
    other columns of the range keep their width and style."""
    if not widths:
        return
    p = doc.p
    found = doc.find_in_head("cols")
    col_re = re.compile(rf"<{p}col\b([^>]*?)(?:/>|>\s*</{p}col>)")
    entries: list[list] = []  # [min, max, attrs]
    if found:
        for m in col_re.finditer(doc.head, found[0], found[1]):
            lo, hi = _get(m.group(1), "min"), _get(m.group(1), "max")
            if lo is None or hi is None:
                raise Unsupported("a <col> without min/max")
            entries.append([int(lo), int(hi), m.group(1)])
    for col, width in sorted(widths.items()):
        hit = next((e for e in entries if e[0] <= col <= e[1]), None)
        attrs = hit[2] if hit else ""
        new = _set(_set(attrs, "width", _num(width)), "customWidth", "1")
        if hit:
            entries.remove(hit)
            if hit[0] < col:
                entries.append([hit[0], col - 1, attrs])
            if col < hit[1]:
                entries.append([col + 1, hit[1], attrs])
        entries.append([col, col, new if hit else f' min="{col}" max="{col}"{new}'])
    entries.sort(key=lambda e: e[0])
    body = "".join(f"<{p}col" + _set(_set(a, "min", str(lo)), "max", str(hi)) + "/>" for lo, hi, a in entries)
    if found:
        s, e = found
        attrs = re.match(rf"<{p}cols\b([^>]*?)/?>", doc.head[s:e]).group(1)
        doc.head = doc.head[:s] + f"<{p}cols{attrs}>{body}</{p}cols>" + doc.head[e:]
    else:
        doc.insert("cols", f"<{p}cols>{body}</{p}cols>")


def _edit_freeze(doc: _SheetXml, cell: str) -> None:
    """Freeze panes in the first sheet view: its old pane and selections are replaced."""
    p = doc.p
    r, c = _cell_ref(cell)
    xs, ys = c - 1, r - 1
    pane = ""
    if xs or ys:
        active = "bottomRight" if xs and ys else ("bottomLeft" if ys else "topRight")
        pane = (f"<{p}pane" + (f' xSplit="{xs}"' if xs else "") + (f' ySplit="{ys}"' if ys else "")
                + f' topLeftCell="{_letters(c)}{r}" activePane="{active}" state="frozen"/>'
                + f'<{p}selection pane="{active}" activeCell="{_letters(c)}{r}" sqref="{_letters(c)}{r}"/>')
    m = re.search(rf"<{p}sheetView\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>", doc.head)
    if m is None:
        doc.insert("sheetViews",
                   f'<{p}sheetViews><{p}sheetView workbookViewId="0">{pane}</{p}sheetView></{p}sheetViews>')
        return
    if m.group(2):
        doc.head = doc.head[:m.start()] + f"<{p}sheetView{m.group(1)}>{pane}</{p}sheetView>" + doc.head[m.end():]
        return
    close = doc.head.find(f"</{p}sheetView>", m.end())
    if close < 0:
        raise Unsupported("<sheetView> is not closed")
    inner = re.sub(rf"<{p}(?:pane|selection)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?:/>|>.*?</{p}(?:pane|selection)>)",
                   "", doc.head[m.end():close], flags=re.S)
    doc.head = doc.head[:m.end()] + pane + inner + doc.head[close:]


def _add_color_scales(doc: _SheetXml, scales: Sequence[ColorScale]) -> None:
    p = doc.p
    priority = max([0] + [int(x) for x in re.findall(r'\bpriority="(\d+)"', doc.tail)])
    for e in scales:
        sqref = " ".join(a.strip() for a in e.ref.split(","))
        colors = [e.min_color] + ([e.mid_color] if e.mid_color else []) + [e.max_color]
        cfvo = f'<{p}cfvo type="min"/>' + (f'<{p}cfvo type="percentile" val="50"/>' if e.mid_color else "") + \
            f'<{p}cfvo type="max"/>'
        priority += 1
        doc.insert("conditionalFormatting", (
            f'<{p}conditionalFormatting sqref="{sqref}"><{p}cfRule type="colorScale" priority="{priority}">'
            f'<{p}colorScale>{cfvo}' + "".join(f'<{p}color rgb="{_argb(x)}"/>' for x in colors)
            + f"</{p}colorScale></{p}cfRule></{p}conditionalFormatting>"))


# ---- sizes, for placing a chart by cells ----------------------------------------------------------

_EMU_PER_PX = 9525
_MAX_DIGIT_PX = 7  # Calibri 11, Excel's default font


def _width_px(width: float) -> int:
    if width < 1:
        return int(width * (_MAX_DIGIT_PX + 5) + 0.5)
    return int(width * _MAX_DIGIT_PX + 0.5) + 5


def _sizes(doc: _SheetXml, ed: _SheetEdits) -> tuple[Callable[[int], int], Callable[[int], int]]:
    """Pixel width of a column and height of a row (1-based), as this sheet will have them."""
    fmt = re.search(rf"<{doc.p}sheetFormatPr\b([^>]*)>", doc.head)
    default_w, default_h = 64, 20
    if fmt:
        w, h = _get(fmt.group(1), "defaultColWidth"), _get(fmt.group(1), "defaultRowHeight")
        default_w = _width_px(float(w)) if w else default_w
        default_h = round(float(h) * 4 / 3) if h else default_h
    cols: list[tuple[int, int, int]] = []
    for m in re.finditer(rf"<{doc.p}col\b([^>]*?)/?>", doc.head):
        a = m.group(1)
        lo, hi, w = _get(a, "min"), _get(a, "max"), _get(a, "width")
        if lo and hi:
            px = 0 if _get(a, "hidden") in ("1", "true") else (_width_px(float(w)) if w else default_w)
            cols.append((int(lo), int(hi), px))
    rows = {r: round(h * 4 / 3) for r, h in ed.heights.items()}

    def col_px(c: int) -> int:
        return next((px for lo, hi, px in cols if lo <= c <= hi), default_w)

    return col_px, (lambda r: rows.get(r, default_h))


def _span(first: int, length: int, size: Callable[[int], int], limit: int) -> tuple[int, int]:
    """The (1-based) cell and the offset in pixels where something ``length`` pixels long that
    starts at the top/left of cell ``first`` ends."""
    i, left = first, length
    while i < limit and left >= size(i):
        left -= size(i)
        i += 1
    return i, left


# =================================================================================================
# charts
# =================================================================================================

_C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_XDR_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _abs(r1: int, c1: int, r2: int, c2: int) -> str:
    a = f"${_letters(c1)}${r1}"
    return a if (r1, c1) == (r2, c2) else f"{a}:${_letters(c2)}${r2}"


def _rich(text: str, vertical: bool = False) -> str:
    body = '<a:bodyPr rot="-5400000" vert="horz"/>' if vertical else "<a:bodyPr/>"
    return (f"<c:title><c:tx><c:rich>{body}<a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr><a:r>"
            f'<a:rPr lang="en-US"/><a:t>{_esc(text)}</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>')


def _cache(values: Sequence[Any], numeric: bool) -> str:
    pts = "".join(f'<c:pt idx="{i}"><c:v>{_esc(_num(v) if numeric else str(v))}</c:v></c:pt>'
                  for i, v in enumerate(values)
                  if v is not None and (not numeric or isinstance(v, int | float)))
    if numeric:
        return f"<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val=\"{len(values)}\"/>{pts}</c:numCache>"
    return f'<c:strCache><c:ptCount val="{len(values)}"/>{pts}</c:strCache>'


def _data_ref(sheet: str, area: tuple[int, int, int, int], values: Sequence[Any], numeric: bool) -> str:
    f = f"<c:f>{_esc(_quote_sheet(sheet) + '!' + _abs(*area))}</c:f>"
    kind = "numRef" if numeric else "strRef"
    return f"<c:{kind}>{f}{_cache(values, numeric)}</c:{kind}>"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _chart_xml(e: AddChart, sheet: str, value: Callable[[int, int], Any]) -> str:
    """A line chart or a horizontal bar chart, with the values it shows cached in it, so viewers that
    don't recalculate show them too. Structure as Excel and xlsxwriter write it."""
    cat_area = _areas(e.categories)[0]
    cats = [value(r, c) for r in range(cat_area[0], cat_area[2] + 1) for c in range(cat_area[1], cat_area[3] + 1)]
    numeric_cats = any(v is not None for v in cats) and all(v is None or _is_number(v) for v in cats)
    cat_xml = _data_ref(sheet, cat_area, cats, numeric_cats)
    line = e.kind == "line"
    series = []
    for i, ref in enumerate(e.series):
        r1, c1, r2, _ = _areas(ref)[0]
        title = value(r1, c1)
        vals = [value(r, c1) for r in range(r1 + 1, r2 + 1)]
        tx = f"<c:tx>{_data_ref(sheet, (r1, c1, r1, c1), [None if title is None else str(title)], False)}</c:tx>"
        style = ('<c:spPr><a:ln w="22225" cap="rnd"><a:round/></a:ln></c:spPr>'
                 '<c:marker><c:symbol val="none"/></c:marker>' if line else '<c:invertIfNegative val="0"/>')
        tail = '<c:smooth val="0"/>' if line else ""
        series.append(f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>{tx}{style}<c:cat>{cat_xml}</c:cat>'
                      f"<c:val>{_data_ref(sheet, (r1 + 1, c1, r2, c1), vals, True)}</c:val>{tail}</c:ser>")
    cat_id, val_id = 50010001, 50010002
    if line:
        plot = (f'<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>{"".join(series)}'
                f'<c:marker val="1"/><c:axId val="{cat_id}"/><c:axId val="{val_id}"/></c:lineChart>')
    else:
        plot = (f'<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="0"/>'
                f'{"".join(series)}<c:gapWidth val="60"/><c:axId val="{cat_id}"/><c:axId val="{val_id}"/></c:barChart>')
    # the category axis runs along the bottom of a line chart and up the side of a bar chart
    cat_pos, val_pos = ("b", "l") if line else ("l", "b")
    step = e.category_label_step if e.category_label_step and e.category_label_step > 1 else None
    cat_ax = (f'<c:catAx><c:axId val="{cat_id}"/><c:scaling><c:orientation '
              f'val="{"maxMin" if e.reverse_categories else "minMax"}"/></c:scaling><c:delete val="0"/>'
              f'<c:axPos val="{cat_pos}"/>' + (_rich(e.x_title, vertical=not line) if e.x_title else "")
              + '<c:numFmt formatCode="General" sourceLinked="1"/><c:majorTickMark val="out"/>'
              '<c:minorTickMark val="none"/><c:tickLblPos val="low"/>'
              f'<c:crossAx val="{val_id}"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
              '<c:lblOffset val="100"/>'
              + (f'<c:tickLblSkip val="{step}"/><c:tickMarkSkip val="{step}"/>' if step else "")
              + '<c:noMultiLvlLbl val="0"/></c:catAx>')
    num_fmt = (f'<c:numFmt formatCode={_qa(e.value_format)} sourceLinked="0"/>' if e.value_format
               else '<c:numFmt formatCode="General" sourceLinked="1"/>')
    # with the categories reversed, the value axis crosses at the last one, so it stays at the bottom
    val_ax = (f'<c:valAx><c:axId val="{val_id}"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
              f'<c:delete val="0"/><c:axPos val="{val_pos}"/><c:majorGridlines/>'
              + (_rich(e.y_title, vertical=line) if e.y_title else "") + num_fmt
              + '<c:majorTickMark val="out"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
              f'<c:crossAx val="{cat_id}"/><c:crosses val="{"max" if e.reverse_categories else "autoZero"}"/>'
              '<c:crossBetween val="between"/></c:valAx>')
    legend = '<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>' if e.legend else ""
    title = _rich(e.title) if e.title else ""
    return (f'{_DECL}<c:chartSpace xmlns:c="{_C_NS}" xmlns:a="{_A_NS}" xmlns:r="{_R_NS}">'
            '<c:date1904 val="0"/><c:lang val="en-US"/><c:roundedCorners val="0"/><c:chart>'
            f'{title}<c:autoTitleDeleted val="{0 if e.title else 1}"/><c:plotArea><c:layout/>{plot}{cat_ax}{val_ax}'
            f'</c:plotArea>{legend}<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
            '<c:printSettings><c:headerFooter/><c:pageMargins b="0.75" l="0.7" r="0.7" t="0.75" header="0.3" '
            'footer="0.3"/><c:pageSetup/></c:printSettings></c:chartSpace>')


def _anchor_xml(frm: tuple[int, int], to: tuple[int, int, int, int], shape_id: int, rid: str,
                declare: bool) -> str:
    """A chart's place in a drawing: from its top-left cell to the cell (and offset) where it ends;
    ``editAs="oneCell"`` keeps its size when rows or columns are resized, as Excel does."""
    (fr, fc), (tr, tro, tc, tco) = frm, to
    ns = f' xmlns:xdr="{_XDR_NS}" xmlns:a="{_A_NS}"' if declare else ""
    return (f'<xdr:twoCellAnchor editAs="oneCell"{ns}><xdr:from><xdr:col>{fc - 1}</xdr:col><xdr:colOff>0</xdr:colOff>'
            f'<xdr:row>{fr - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>{tc - 1}</xdr:col>'
            f'<xdr:colOff>{tco * _EMU_PER_PX}</xdr:colOff><xdr:row>{tr - 1}</xdr:row>'
            f'<xdr:rowOff>{tro * _EMU_PER_PX}</xdr:rowOff></xdr:to><xdr:graphicFrame macro="">'
            f'<xdr:nvGraphicFramePr><xdr:cNvPr id="{shape_id}" name="Chart {shape_id - 1}"/><xdr:cNvGraphicFramePr/>'
            '</xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
            f'<a:graphicData uri="{_C_NS}"><c:chart xmlns:c="{_C_NS}" xmlns:r="{_R_NS}" r:id="{rid}"/>'
            '</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>')


_MEDIA_NAME = re.compile(r"^xl/media/image(\d+)\.[^/]*$", re.I)


def _picture_xml(frm: tuple[int, int], size_px: tuple[int, int], shape_id: int, rid: str, description: str,
                 declare: bool) -> str:
    """A picture's place in a drawing: its top-left cell and its size. A one-cell anchor keeps that
    size exactly whatever the rows and columns measure in the application that opens the file (a
    two-cell anchor would be stretched to cells measured with guessed font metrics); it moves with its
    cell and is not resized with it. Structure as Excel writes an inserted picture."""
    (fr, fc), (w, h) = frm, size_px
    cx, cy = w * _EMU_PER_PX, h * _EMU_PER_PX
    ns = f' xmlns:xdr="{_XDR_NS}" xmlns:a="{_A_NS}"' if declare else ""
    descr = f" descr={_qa(_ILLEGAL.sub('', description))}" if description else ""
    return (f'<xdr:oneCellAnchor{ns}><xdr:from><xdr:col>{fc - 1}</xdr:col><xdr:colOff>0</xdr:colOff>'
            f'<xdr:row>{fr - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="{cx}" cy="{cy}"/>'
            f'<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="{shape_id}" name="Picture {shape_id - 1}"{descr}/>'
            '<xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill>'
            f'<a:blip xmlns:r="{_R_NS}" r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
            f'<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/>'
            '</xdr:oneCellAnchor>')


# =================================================================================================
# the package
# =================================================================================================


@dataclass
class _Sheet:
    name: str
    part: str
    kind: str  # relationship type: worksheet, chartsheet, dialogsheet …
    rid: str


def _rels_path(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def _parse_rels(data: bytes, part: str) -> list[tuple[str, str, str]]:
    """(Id, type's last segment, target part name) of each internal relationship in a .rels part."""
    folder = posixpath.dirname(part)
    out = []
    for el in ET.fromstring(data).iter(f"{{{_REL_NS}}}Relationship"):
        if el.get("TargetMode") == "External":
            continue
        target = unquote(el.get("Target", ""))
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append((el.get("Id", ""), el.get("Type", "").rsplit("/", 1)[-1], target))
    return out


def _empty_rels() -> str:
    return f'{_DECL}<Relationships xmlns="{_REL_NS}"></Relationships>'


class Package:
    """A copy of a workbook package being made: the source zip, plus the parts changed, added and
    removed so far. ``apply`` may be called more than once (the report's "could not be carried over"
    section comes after a first save); ``save`` writes the copy to an open binary file."""

    def __init__(self, path, *, macro_enabled: bool):
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as e:
            raise WorkbookError(
                f"Can't open '{self.path.name}' to copy it ({e}).",
                hint="Check that it is a workbook and not password-protected or damaged; open and re-save it in "
                     "Excel if in doubt.") from e
        try:
            self._setup(macro_enabled)
        except (ValueError, KeyError, IndexError) as e:
            self._zip.close()
            raise Unsupported(f"{self.path.name}: {e!r}") from e
        except BaseException:
            self._zip.close()
            raise

    def _setup(self, macro_enabled: bool) -> None:
        self._infos = self._zip.infolist()
        self._names = {i.filename.lower(): i.filename for i in self._infos}
        self._parts: dict[str, bytes | str] = {}  # changed and new parts
        self._new: list[str] = []  # new part names, in the order they were made
        self._removed: set[str] = set()
        self._collect = False  # drop parts nothing refers to any more (after replacing a sheet)
        self._media_parts: dict[bytes, str] = {}  # PNG bytes → the media part made for them
        if any(i.flag_bits & 0x1 for i in self._infos):
            raise Unsupported("encrypted zip members")
        self._types = self._text("[Content_Types].xml")
        self.book = next((t for _, rtype, t in self._rels("") if rtype == "officeDocument"), None)
        if not self.book or not self._exists(self.book):
            raise Unsupported("no workbook part")
        self._book_rels = _rels_path(self.book)
        if not self._exists(self._book_rels):
            raise Unsupported("the workbook part has no relationships")
        book_xml = self._text(self.book)
        self._bp, root = _prefix_of(book_xml, "workbook")
        if f'"{_MAIN_NS}"' not in root.group(0) and f"'{_MAIN_NS}'" not in root.group(0):
            raise Unsupported("not transitional SpreadsheetML (strict OOXML?)")
        self._sheets = self._read_sheets(book_xml)
        pr = re.search(rf"<{self._bp}workbookPr\b([^>]*)>", book_xml)
        self.date1904 = bool(pr) and _get(pr.group(1), "date1904") in ("1", "true")
        self._styles: _Styles | None = None
        self._styles_part = next((t for _, rtype, t in self._rels(self.book) if rtype == "styles"), None)
        self._set_main_type(macro_enabled)

    # ---- the public side ----

    @property
    def drops_parts(self) -> bool:
        """Whether the copy leaves out parts of the source (a replaced sheet's old content, the macros
        of an .xlsm saved as .xlsx); otherwise it holds every part of the source, so nothing is lost."""
        return self._collect

    def apply(self, edits: Sequence[Edit]) -> None:
        """Apply ``edits`` in order. Each sheet's XML is rewritten once, after all its edits are known."""
        pending: dict[str, tuple[_Sheet, _SheetEdits]] = {}
        for e in edits:
            if isinstance(e, AddSheet):
                sheet = self._add_sheet(e)
                pending[sheet.part] = (sheet, _SheetEdits())
                continue
            sheet = self._find(e.sheet)
            pending.setdefault(sheet.part, (sheet, _SheetEdits()))[1].add(e, self.date1904)
        for sheet, ed in pending.values():
            try:
                self._edit_sheet(sheet, ed)
            except (ValueError, KeyError, IndexError) as e:  # the edits were checked: the sheet is odd
                raise Unsupported(f"{sheet.part}: {e!r}") from e
            except _Conflict as c:
                raise OutputError(
                    f"SheetDL would have written over cell {c} of sheet '{sheet.name}', which already holds "
                    "a value; nothing was written.",
                    hint="This is a bug in SheetDL: please report it. Your workbook was not changed.",
                    sheet=sheet.name) from None

    def save(self, f) -> None:
        """Write the copy: parts in the source's order, each unchanged one with its compressed bytes as
        they were, then the new parts."""
        if self._styles is not None:
            text = self._styles.render()
            if text is not None:
                self._put(self._styles_part, text)
        if self._collect:
            self._collect_garbage()
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
            for info in self._infos:
                name = info.filename
                if name in self._removed:
                    continue
                if name in self._parts:
                    self._write(out, name, self._parts[name], info)
                else:
                    _copy_member(self._zip, out, info)
            for name in self._new:
                if name not in self._removed:
                    self._write(out, name, self._parts[name], None)

    def close(self) -> None:
        self._zip.close()

    # ---- parts ----

    def _exists(self, name: str) -> bool:
        if name in self._removed:
            return False
        return name in self._parts or name.lower() in self._names

    def _read(self, name: str) -> bytes:
        if name in self._removed:
            raise KeyError(name)
        data = self._parts.get(name)
        if data is not None:
            return data.encode("utf-8") if isinstance(data, str) else data
        real = self._names.get(name.lower())
        if real is None:
            raise KeyError(name)
        return self._zip.read(real)

    def _text(self, name: str) -> str:
        data = self._parts.get(name)
        if isinstance(data, str):
            return data
        try:
            return _decode(self._read(name), name)
        except KeyError:
            raise Unsupported(f"missing part {name}") from None

    def _put(self, name: str, data: str | bytes) -> None:
        real = self._names.get(name.lower(), name)
        self._removed.discard(real)
        if real not in self._parts and real.lower() not in self._names and real not in self._new:
            self._new.append(real)
        self._parts[real] = data

    def _remove(self, name: str) -> None:
        real = self._names.get(name.lower(), name)
        self._removed.add(real)
        self._types = re.sub(rf"<(?:[\w.-]+:)?Override\b[^>]*PartName=\"/{re.escape(real)}\"[^>]*/>", "",
                             self._types, flags=re.I)
        self._put("[Content_Types].xml", self._types)

    def _fresh(self, stem: str, ext: str) -> str:
        n = 1
        while self._exists(f"{stem}{n}{ext}") or f"{stem}{n}{ext}".lower() in self._names:
            n += 1
        return f"{stem}{n}{ext}"

    def _write(self, out: zipfile.ZipFile, name: str, data, like: zipfile.ZipInfo | None) -> None:
        data = data.encode("utf-8") if isinstance(data, str) else data
        info = zipfile.ZipInfo(name, date_time=like.date_time if like else (1980, 1, 1, 0, 0, 0))
        info.compress_type = like.compress_type if like else zipfile.ZIP_DEFLATED
        if like is not None:
            info.external_attr = like.external_attr
        # a big sheet deflates 4x faster at level 1, for a file ~15% bigger (Excel re-packs it on saving)
        out.writestr(info, data, compresslevel=1 if len(data) > _FAST_DEFLATE_BYTES else None)

    # ---- relationships and content types ----

    def _rels(self, part: str) -> list[tuple[str, str, str]]:
        """(Id, type's last segment, target part) of a part's internal relationships."""
        name = _rels_path(part) if part else "_rels/.rels"
        try:
            return _parse_rels(self._read(name), part)
        except KeyError:
            return []
        except ET.ParseError as e:
            raise Unsupported(f"{name}: {e}") from e

    def _add_rel(self, part: str, rtype: str, target: str) -> str:
        """Add a relationship from ``part`` to ``target``; its new Id."""
        name = _rels_path(part)
        text = self._text(name) if self._exists(name) else _empty_rels()
        ids = set(re.findall(r"""\bId\s*=\s*["']([^"']*)["']""", text))
        n = 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        rel_target = posixpath.relpath(target, posixpath.dirname(part) or ".")
        m = re.search(r"</(?:[\w.-]+:)?Relationships\s*>", text)
        if m is None:
            m = re.search(r"<(?:[\w.-]+:)?Relationships\b[^>]*/>", text)
            if m is None:
                raise Unsupported(f"{name} has no <Relationships>")
            text = text[:m.start()] + m.group(0)[:-2] + "></Relationships>" + text[m.end():]
            m = re.search(r"</Relationships\s*>", text)
        rel = f'<Relationship Id="{rid}" Type="{_RT}{rtype}" Target={_qa(rel_target)}/>'
        text = text[:m.start()] + rel + text[m.start():]
        self._put(name, text)
        return rid

    def _drop_rels(self, part: str, rtype: str) -> bool:
        """Remove ``part``'s relationships of one type; whether there were any."""
        name = _rels_path(part)
        if not self._exists(name):
            return False
        text = self._text(name)
        new = re.sub(rf"""<(?:[\w.-]+:)?Relationship\b[^>]*Type\s*=\s*["'][^"']*/{rtype}["'][^>]*/>""", "", text)
        if new != text:
            self._put(name, new)
            return True
        return False

    def _override(self, part: str, ctype: str) -> None:
        name = re.escape(part)
        tag = r"<(?:[\w.-]+:)?Override\b[^>]*"
        rx = re.compile(rf'({tag}PartName="/{name}"[^>]*ContentType=")([^"]*)(")', re.I)
        rx2 = re.compile(rf'({tag}ContentType=")([^"]*)("[^>]*PartName="/{name}")', re.I)
        for r in (rx, rx2):
            m = r.search(self._types)
            if m:
                if m.group(2) != ctype:
                    self._types = self._types[:m.start(2)] + ctype + self._types[m.end(2):]
                    self._put("[Content_Types].xml", self._types)
                return
        m = re.search(r"</(?:[\w.-]+:)?Types\s*>", self._types)
        if m is None:
            raise Unsupported("[Content_Types].xml has no <Types>")
        self._types = (self._types[:m.start()] + f'<Override PartName="/{part}" ContentType="{ctype}"/>'
                       + self._types[m.start():])
        self._put("[Content_Types].xml", self._types)

    def _set_main_type(self, macro_enabled: bool) -> None:
        """The workbook part's content type says .xlsx or .xlsm (Excel refuses a file whose name and
        content type disagree); an .xlsx can't hold macros, so they are dropped from it."""
        self._override(self.book, _CT_MAIN[macro_enabled])
        if not macro_enabled and self._drop_rels(self.book, "vbaProject"):
            self._collect = True

    # ---- sheets ----

    def _read_sheets(self, book_xml: str) -> list[_Sheet]:
        rels = {rid: (rtype, target) for rid, rtype, target in self._rels(self.book)}
        try:
            root = ET.fromstring(book_xml.encode("utf-8"))
        except ET.ParseError as e:
            raise Unsupported(f"{self.book}: {e}") from e
        out = []
        for el in root.iter(f"{{{_MAIN_NS}}}sheet"):
            rid = el.get(f"{{{_R_NS}}}id", "")
            rtype, target = rels.get(rid, ("", ""))
            out.append(_Sheet(el.get("name", ""), target, rtype, rid))
        self._max_sheet_id = max([0] + [int(el.get("sheetId", "0") or 0) for el in root.iter(f"{{{_MAIN_NS}}}sheet")])
        return out

    def _find(self, name: str) -> _Sheet:
        worksheets = [s for s in self._sheets if s.kind == "worksheet"]
        sheet = next((s for s in worksheets if s.name == name), None) or \
            next((s for s in worksheets if s.name.casefold() == name.casefold()), None)
        if sheet is None:
            raise OutputError(f"The workbook has no sheet '{name}' to write results to.", sheet=name)
        if not self._exists(sheet.part):
            raise Unsupported(f"sheet part {sheet.part} is missing")
        return sheet

    def _add_sheet(self, e: AddSheet) -> _Sheet:
        bad = re.search(r"[\[\]:*?/\\]", e.name)
        if bad or not e.name.strip() or len(e.name) > 31 or e.name.startswith("'") or e.name.endswith("'"):
            raise OutputError(f"'{e.name}' can't be a sheet name: Excel allows up to 31 characters, without "
                              "[ ] : * ? / \\ and not starting or ending with an apostrophe.", sheet=e.name)
        existing = next((s for s in self._sheets if s.name.casefold() == e.name.casefold()), None)
        if existing is not None:
            if not e.replace:
                raise OutputError(f"The workbook already has a sheet '{e.name}'.", sheet=e.name,
                                  hint="Rename or delete that sheet, then run again.")
            return self._replace_sheet(existing, e)
        part = self._fresh("xl/worksheets/sheet", ".xml")
        rid = self._add_rel(self.book, "worksheet", part)
        self._max_sheet_id += 1
        book = self._text(self.book)
        p = self._bp
        m = re.search(rf"</{p}sheets\s*>", book)
        if m is None:
            raise Unsupported("the workbook has no <sheets>")
        rp = _ns_prefix(_prefix_of(book, "workbook")[1].group(0), _R_NS)
        rid_attr = f'{rp}:id="{rid}"' if rp else f'xmlns:r="{_R_NS}" r:id="{rid}"'
        tag = f'<{p}sheet name={_qa(e.name)} sheetId="{self._max_sheet_id}" {rid_attr}/>'
        self._put(self.book, book[:m.start()] + tag + book[m.start():])
        self._put(part, _new_sheet_xml(e.tab_color))
        self._override(part, _CT_SHEET)
        sheet = _Sheet(e.name, part, "worksheet", rid)
        self._sheets.append(sheet)
        return sheet

    def _replace_sheet(self, sheet: _Sheet, e: AddSheet) -> _Sheet:
        """An empty sheet in place of an existing one, at the same position and under the same part
        name; what only the old sheet used (its drawings, tables, comments …) is dropped on saving, and
        so is the calculation chain, which may list the old sheet's formulas."""
        if sheet.kind != "worksheet":
            raise Unsupported("replacing a chart sheet")
        rels = _rels_path(sheet.part)
        if self._exists(rels):
            self._remove(rels)
        self._put(sheet.part, _new_sheet_xml(e.tab_color))
        self._drop_rels(self.book, "calcChain")
        self._collect = True
        if sheet.name != e.name:
            book = self._text(self.book)
            for m in re.finditer(rf"<{self._bp}sheet\b([^>]*?)/?>", book):
                if _get(m.group(1), "name") is not None and re.search(
                        rf"""[\w.-]+:id\s*=\s*["']{re.escape(sheet.rid)}["']""", m.group(1)):
                    new = f"<{self._bp}sheet" + _set(m.group(1), "name", e.name) + "/>"
                    self._put(self.book, book[:m.start()] + new + book[m.end():])
                    break
            sheet.name = e.name
        return sheet

    def _styles_for(self) -> _Styles:
        if self._styles is None:
            if self._styles_part is None or not self._exists(self._styles_part):
                # the usual name first: some readers (openpyxl) look for it there, whatever the rels say
                self._styles_part = "xl/styles.xml" if not self._exists("xl/styles.xml") else \
                    self._fresh("xl/styles", ".xml")
                self._put(self._styles_part, _EMPTY_STYLES)
                self._add_rel(self.book, "styles", self._styles_part)
                self._override(self._styles_part, _CT_STYLES)
            self._styles = _Styles(self._text(self._styles_part))
        return self._styles

    def _edit_sheet(self, sheet: _Sheet, ed: _SheetEdits) -> None:
        if not (ed.cells or ed.widths or ed.heights or ed.freeze or ed.scales or ed.drawn):
            return
        doc = _SheetXml(self._text(sheet.part), sheet.part)
        _edit_cells(doc, ed, self._styles_for)
        _edit_cols(doc, ed.widths)
        if ed.freeze:
            _edit_freeze(doc, ed.freeze)
        if ed.scales:
            _add_color_scales(doc, ed.scales)
        if ed.drawn:
            self._add_drawn(sheet, doc, ed)
        self._put(sheet.part, doc.text())

    # ---- drawings: charts and pictures ----

    def _add_drawn(self, sheet: _Sheet, doc: _SheetXml, ed: _SheetEdits) -> None:
        """Charts and pictures, appended to the sheet's drawing (made when it has none)."""
        drawing = next((t for _, rtype, t in self._rels(sheet.part) if rtype == "drawing"), None)
        if drawing is not None and not self._exists(drawing):
            raise Unsupported(f"drawing part {drawing} is missing")
        if drawing is None:
            drawing = self._fresh("xl/drawings/drawing", ".xml")
            self._put(drawing, f'{_DECL}<xdr:wsDr xmlns:xdr="{_XDR_NS}" xmlns:a="{_A_NS}"></xdr:wsDr>')
            self._override(drawing, _CT_DRAWING)
            rid = self._add_rel(sheet.part, "drawing", drawing)
            pfx, decl = doc.r_prefix()
            doc.insert("drawing", f'<{doc.p}drawing{decl} {pfx}:id="{rid}"/>')
        text = self._text(drawing)
        dp, _ = _prefix_of(text, "wsDr")
        declare = not (dp == "xdr:" and _ns_prefix(text[:2000], _A_NS) == "a")
        next_id = max([1] + [int(x) for x in re.findall(r"<[\w.-]*:?cNvPr\b[^>]*?\bid=\"(\d+)\"", text)]) + 1
        col_px, row_px = _sizes(doc, ed)
        anchors = []
        for e, png in ed.drawn:
            r, c = _cell_ref(e.anchor)
            if isinstance(e, AddPicture):
                rid = self._add_rel(drawing, "image", self._media(png))
                anchors.append(_picture_xml((r, c), (e.width, e.height), next_id, rid, e.description, declare))
                next_id += 1
                continue
            chart = self._fresh("xl/charts/chart", ".xml")
            self._put(chart, _chart_xml(e, sheet.name, ed.value))
            self._override(chart, _CT_CHART)
            rid = self._add_rel(drawing, "chart", chart)
            w_px, h_px = round(e.width / 2.54 * 96), round(e.height / 2.54 * 96)
            tc, tco = _span(c, w_px, col_px, _MAX_COL)
            tr, tro = _span(r, h_px, row_px, _MAX_ROW)
            anchors.append(_anchor_xml((r, c), (tr, tro, tc, tco), next_id, rid, declare))
            next_id += 1
        close = text.rfind(f"</{dp}wsDr>")
        if close < 0:
            m = re.search(rf"<{dp}wsDr\b[^>]*/>", text)
            if m is None:
                raise Unsupported(f"{drawing} has no <wsDr>")
            text = text[:m.end() - 2] + f"></{dp}wsDr>" + text[m.end():]
            close = text.rfind(f"</{dp}wsDr>")
        self._put(drawing, text[:close] + "".join(anchors) + text[close:])

    def _media(self, png: bytes) -> str:
        """The media part holding these PNG bytes: a new ``xl/media/imageN.png`` whose number no
        existing picture uses (whatever its extension), or the one made earlier for the same bytes."""
        part = self._media_parts.get(png)
        if part is not None and self._exists(part):
            return part
        used = {int(m.group(1)) for name in [*self._names, *(n.lower() for n in self._parts)]
                if (m := _MEDIA_NAME.match(name))}
        n = 1
        while n in used:
            n += 1
        part = self._media_parts[png] = f"xl/media/image{n}.png"
        self._put(part, png)
        self._default_type("png", _CT_PNG)
        return part

    def _default_type(self, ext: str, ctype: str) -> None:
        """A ``<Default>`` content type for an extension, unless the package has one (kept as it is)."""
        if re.search(rf"""<(?:[\w.-]+:)?Default\b[^>]*\bExtension\s*=\s*["']{re.escape(ext)}["']""",
                     self._types, re.I):
            return
        p, root = _prefix_of(self._types, "Types")
        last = None
        for last in re.finditer(r"<(?:[\w.-]+:)?Default\b[^>]*>", self._types):
            pass
        at = last.end() if last is not None else root.end()
        self._types = self._types[:at] + f'<{p}Default Extension="{ext}" ContentType="{ctype}"/>' + \
            self._types[at:]
        self._put("[Content_Types].xml", self._types)

    # ---- dropping what nothing refers to any more ----

    def _reachable(self, read: Callable[[str], list[tuple[str, str, str]]]) -> set[str]:
        seen: set[str] = set()
        todo = [""]
        while todo:
            part = todo.pop()
            for _, _, target in read(part):
                key = target.lower()
                if key not in seen:
                    seen.add(key)
                    todo.append(target)
        return seen

    def _collect_garbage(self) -> None:
        """Parts the source's relationships reached and the copy's don't (the old content of a
        replaced sheet, the macros of a workbook saved as .xlsx) are left out, with their content types
        and relationships. Parts nothing referred to in the source stay, as they were."""

        def original(part: str) -> list[tuple[str, str, str]]:
            real = self._names.get((_rels_path(part) if part else "_rels/.rels").lower())
            try:
                return _parse_rels(self._zip.read(real), part) if real else []
            except ET.ParseError:
                return []

        before = self._reachable(original)
        after = self._reachable(self._rels)
        for key in sorted(before - after):
            real = self._names.get(key)
            if real is None or real in self._removed:
                continue
            self._remove(real)
            rels = _rels_path(real)
            if rels.lower() in self._names:
                self._remove(rels)


# =================================================================================================
# copying a zip member without inflating and deflating it again
# =================================================================================================


def _copy_member(src: zipfile.ZipFile, out: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy one member's compressed bytes as they are (byte-identical, and no time spent deflating).

    zipfile has no public call for this; ``ZipFile.open`` on the destination with a ZipInfo whose
    sizes and CRC are known writes the local header, after which the raw bytes are appended and the
    entry is closed by hand. Members with a data descriptor or an unusual method fall back to
    decompressing and compressing again (the content stays identical)."""
    can = _CAN_COPY_RAW and all(hasattr(out, a) for a in ("_didModify", "start_dir", "filelist", "NameToInfo", "fp"))
    raw = _raw_bytes(src, info) if can else None
    if raw is None:
        data = src.read(info.filename)
        new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
        new.compress_type = info.compress_type if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
            else zipfile.ZIP_DEFLATED
        new.external_attr = info.external_attr
        out.writestr(new, data)
        return
    new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    new.compress_type = info.compress_type
    new.external_attr = info.external_attr
    new.create_system = info.create_system
    new.flag_bits = info.flag_bits & 0x800  # keep only "the name is UTF-8"
    new.CRC = info.CRC
    new.compress_size = info.compress_size
    new.file_size = info.file_size
    zip64 = info.file_size > zipfile.ZIP64_LIMIT or info.compress_size > zipfile.ZIP64_LIMIT
    out._writecheck(new)  # noqa: SLF001 - duplicate names, sizes
    fp = out.fp
    new.header_offset = fp.tell()
    fp.write(new.FileHeader(zip64))
    fp.write(raw)
    out.filelist.append(new)
    out.NameToInfo[new.filename] = new
    out.start_dir = fp.tell()
    out._didModify = True  # noqa: SLF001 - so close() writes the central directory


#: the zipfile internals the raw copy relies on (stable since Python 3.6); without them, re-deflate
_CAN_COPY_RAW = hasattr(zipfile.ZipFile, "_writecheck") and hasattr(zipfile.ZipInfo, "FileHeader")


def _raw_bytes(src: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The compressed bytes of a stored or deflated member, or None when they can't be taken as they are."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        return None
    fp = src.fp
    if fp is None:
        return None
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        return None
    name_len = int.from_bytes(header[26:28], "little")
    extra_len = int.from_bytes(header[28:30], "little")
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    data = fp.read(info.compress_size)
    if len(data) != info.compress_size:
        return None
    return data
