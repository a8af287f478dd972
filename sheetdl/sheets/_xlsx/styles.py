"""The cell formats the package writer appends to ``xl/styles.xml``.

A cell's look is an index into the stylesheet's cell formats (``cellXfs``), each of which points at a
font, fill, border and number format. Edits ask for changes ("bold", "this fill") on top of whatever
format a cell has, so :class:`Styles` derives a new format from the old one and appends it, with any
new font, fill, border or number format it needs. Nothing is ever removed or reordered: every index
an existing cell uses keeps meaning what it meant. Kept apart from the worksheet code because it is
the one part that is read with ElementTree (to compare entries) and written back as text.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from .xmltext import DECL, MAIN_NS, Unsupported, argb, esc, num_text, prefix_of, quote_attr, set_attr

_XML_NS = "http://www.w3.org/XML/1998/namespace"

#: number formats every application knows by number (locale-independent ones only)
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10,
                    "0.00E+00": 11, "# ?/?": 12, "# ??/??": 13, "mm:ss": 45, "[h]:mm:ss": 46,
                    "mmss.0": 47, "##0.0E+0": 48, "@": 49}
_FONT_ORDER = {k: i for i, k in enumerate(
    "b i strike condense extend outline shadow u vertAlign sz color name family charset scheme".split())}
_BORDER_ORDER = {k: i for i, k in enumerate("start end left right top bottom diagonal vertical horizontal".split())}
_XF_ORDER = {"alignment": 0, "protection": 1}
_FONT_KEYS = ("bold", "italic", "size", "color")
EMPTY_STYLES = (
    DECL + f'<styleSheet xmlns="{MAIN_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
    '<family val="2"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
    '<bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
    'borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)


class Styles:
    """The cell formats the edits need, each derived from the format the cell already has (so a bold
    header keeps the workbook's default font and size) and appended to ``xl/styles.xml``."""

    _KINDS = ("numFmts", "fonts", "fills", "borders", "cellXfs")

    def __init__(self, xml: str):
        self.xml = xml
        self.p, _ = prefix_of(xml, "styleSheet")
        try:
            root = ET.fromstring(xml.encode("utf-8"))
        except ET.ParseError as e:
            raise Unsupported(f"xl/styles.xml: {e}") from e
        if root.tag != f"{{{MAIN_NS}}}styleSheet":
            raise Unsupported("xl/styles.xml is not transitional SpreadsheetML")
        self.old: dict[str, list[ET.Element]] = {}
        for kind in self._KINDS:
            el = root.find(f"{{{MAIN_NS}}}{kind}")
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
        kids = {_local(c.tag): c for c in xf if _ns(c.tag) == MAIN_NS and _local(c.tag) in _XF_ORDER}
        if any(k in style for k in _FONT_KEYS):
            attrs["fontId"] = str(self._add("fonts", self._font(int(attrs.get("fontId", 0)), style)))
            attrs["applyFont"] = "1"
        if "fill" in style:
            p = self.p
            pattern = (f'<{p}patternFill patternType="solid"><{p}fgColor rgb="{argb(style["fill"])}"/>'
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
            attributes = "".join(f" {k}={quote_attr(v)}" for k, v in a.items() if "}" not in k)
            align = f"<{self.p}alignment{attributes}/>"
            attrs["applyAlignment"] = "1"
        inner = align if align is not None else (_ser(kids["alignment"], self.p) if "alignment" in kids else "")
        if "protection" in kids:
            inner += _ser(kids["protection"], self.p)
        head = f"<{self.p}xf" + "".join(f" {k}={quote_attr(v)}" for k, v in attrs.items())
        return self._add("cellXfs", f"{head}>{inner}</{self.p}xf>" if inner else head + "/>")

    def _font(self, font_id: int, style: dict) -> str:
        fonts = self.old["fonts"]
        base = fonts[font_id] if 0 <= font_id < len(fonts) else fonts[0]
        parts = {_local(c.tag): _ser(c, self.p) for c in base if _ns(c.tag) == MAIN_NS}
        for key, tag in (("bold", "b"), ("italic", "i")):
            if key in style:
                parts.pop(tag, None)
                if style[key]:
                    parts[tag] = f"<{self.p}{tag}/>"
        if "size" in style:
            parts["sz"] = f'<{self.p}sz val="{num_text(style["size"])}"/>'
        if "color" in style:
            parts["color"] = f'<{self.p}color rgb="{argb(style["color"])}"/>'
        body = "".join(parts[k] for k in sorted(parts, key=lambda k: _FONT_ORDER.get(k, 99)))
        return f"<{self.p}font>{body}</{self.p}font>"

    def _border(self, border_id: int, bottom: bool) -> str:
        borders = self.old["borders"]
        base = borders[border_id] if 0 <= border_id < len(borders) else None
        parts = {} if base is None else {_local(c.tag): _ser(c, self.p) for c in base if _ns(c.tag) == MAIN_NS}
        for side in ("left", "right", "top", "diagonal"):
            parts.setdefault(side, f"<{self.p}{side}/>")
        parts["bottom"] = (f'<{self.p}bottom style="thin"><{self.p}color rgb="FF9BC2E6"/></{self.p}bottom>'
                           if bottom else f"<{self.p}bottom/>")
        attrs = "" if base is None else "".join(f" {k}={quote_attr(v)}" for k, v in base.attrib.items() if "}" not in k)
        body = "".join(parts[k] for k in sorted(parts, key=lambda k: _BORDER_ORDER.get(k, 99)))
        return f"<{self.p}border{attrs}>{body}</{self.p}border>"

    def _format_id(self, code: str) -> int:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        if code not in self._formats:
            self._formats[code] = self._next_format
            self.new["numFmts"].append(
                f'<{self.p}numFmt numFmtId="{self._next_format}" formatCode={quote_attr(code)}/>')
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
            _, root = prefix_of(xml, "styleSheet")
            return xml[:root.end()] + f'<{p}{kind} count="{total}">{entries}</{p}{kind}>' + xml[root.end():]
        attrs = set_attr(m.group(1), "count", str(total))
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
    if _ns(el.tag) != MAIN_NS:
        return ""
    attrs = ""
    for k, v in el.attrib.items():
        if k.startswith(f"{{{_XML_NS}}}"):
            attrs += f" xml:{_local(k)}={quote_attr(v)}"
        elif "}" not in k:
            attrs += f" {k}={quote_attr(v)}"
    inner = (esc(el.text) if el.text and el.text.strip() else "") + "".join(_ser(c, p) for c in el)
    tag = p + _local(el.tag)
    return f"<{tag}{attrs}>{inner}</{tag}>" if inner else f"<{tag}{attrs}/>"
