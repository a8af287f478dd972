"""Text-level XML helpers shared by the modules of the package writer.

The writer (:mod:`.package`) edits parts by text surgery rather than parsing and serialising them
again, so every byte it does not mean to change stays as it was. The helpers that surgery needs live
here, none of them tied to one kind of part: escaping, reading and setting an attribute in a tag's
text, numbers and cell references as Excel writes them, the top-level children of an element, a
part's namespace prefix. :class:`Unsupported` lives here too: these helpers raise it for XML the
writer won't touch, and every module of the writer raises it without importing :mod:`.package`.
"""

from __future__ import annotations

import functools
import re

__all__ = ["Unsupported"]


class Unsupported(Exception):
    """The package is one this writer can't change safely; use the openpyxl path instead."""


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

#: characters an XML part can't hold (a cell's text loses them)
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
#: a start, end or empty tag; attribute values may hold '>'
_TAG = re.compile(r"""<(?:!--.*?-->|\?.*?\?>|!\[CDATA\[.*?\]\]>"""
                  r"""|(/?)([\w.-]+:)?([\w.-]+)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>)""", re.S)


def esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def quote_attr(s: str) -> str:
    """An attribute value, quoted."""
    return '"' + esc(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;") + '"'


@functools.cache
def _attr_re(name: str) -> re.Pattern:
    return re.compile(rf"""(^|\s){re.escape(name)}\s*=\s*("[^"]*"|'[^']*')""")


def get_attr(attrs: str, name: str) -> str | None:
    """An attribute's value from the attribute text of a tag (entities left as they are)."""
    m = _attr_re(name).search(attrs)
    return m.group(2)[1:-1] if m else None


def set_attr(attrs: str, name: str, value: str) -> str:
    rx = _attr_re(name)
    if rx.search(attrs):
        return rx.sub(lambda m: f"{m.group(1)}{name}={quote_attr(value)}", attrs, count=1)
    return f"{attrs} {name}={quote_attr(value)}"


def num_text(x: float) -> str:
    """A number as XML text: integers without '.0'."""
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, int):
        return str(x)
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


@functools.cache
def col_letters(col: int) -> str:
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


def parse_cell_ref(ref: str) -> tuple[int, int]:
    """(row, col) of 'B7'."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)), _col_number(m.group(1))


def areas_of(ref: str) -> list[tuple[int, int, int, int]]:
    """(first row, first col, last row, last col) of each range in 'A1:C3,E5'."""
    out = []
    for area in ref.split(","):
        a, _, b = area.strip().partition(":")
        r1, c1 = parse_cell_ref(a)
        r2, c2 = parse_cell_ref(b) if b else (r1, c1)
        out.append((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
    return out


def children_of(xml: str, start: int, stop: int) -> list[tuple[str, int, int]]:
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


def decode_part(data: bytes, name: str) -> str:
    """A part as text; only UTF-8 parts are edited (every Office application writes them)."""
    head = data[:200]
    m = re.search(rb"""encoding\s*=\s*["']([\w.-]+)["']""", head)
    if m and m.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise Unsupported(f"{name} is not UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise Unsupported(f"{name} is not UTF-8") from e


def prefix_of(xml: str, local: str) -> tuple[str, re.Match]:
    """The namespace prefix ('' or 'x:') of a document's root element, and the match of its tag."""
    m = re.search(rf"<([\w.-]+:)?{local}\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", xml)
    if m is None or m.group(2).rstrip().endswith("/"):
        raise Unsupported(f"no <{local}> element")
    return m.group(1) or "", m


def ns_prefix(root_tag: str, uri: str) -> str | None:
    m = re.search(rf"""xmlns:([\w.-]+)\s*=\s*["']{re.escape(uri)}["']""", root_tag)
    return m.group(1) if m else None


def argb(hex6: str) -> str:
    h = hex6.lstrip("#").upper()
    return h if len(h) == 8 else "FF" + h
