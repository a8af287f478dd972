"""SheetEdits: what to change in a workbook, as plain data every backend applies the same way.

``layout`` decides *where* results go and says it as a list of these edits; the file writer applies
them with openpyxl and the Office.js task pane with the Excel JavaScript API after receiving them as
JSON (an xlwings backend for desktop Excel would apply the same list; none is built yet). So each
edit is deliberately dumb and explicit:

- rows and columns are 1-based numbers, ranges are A1-style strings without a sheet name
  (``"B3:D10"``); the sheet is always a separate field;
- values are literal: a string is text whatever it starts with (``=``, ``+``, ``-``, ``@`` too), never
  a formula; every backend writes it so (tests/test_literal_text.py);
- colours are ``"RRGGBB"`` hex strings;
- pictures are PNG files, carried in the edit as base64 text, with their size in pixels;
- an edit only touches the cells it names; nothing is inferred.

``to_dict``/``from_dict`` (and :func:`dumps`/:func:`loads` for a whole list) round-trip exactly,
including dates, which JSON has no type for.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import math
import operator
import struct
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

__all__ = [
    "Edit",
    "AddSheet",
    "WriteCells",
    "FormatRange",
    "SetColumnWidth",
    "SetRowHeight",
    "ColorScale",
    "AddChart",
    "AddPicture",
    "FreezePanes",
    "png_size",
    "SHEET_EDITS",
    "edit_from_dict",
    "dumps",
    "loads",
    "value_to_json",
    "value_from_json",
]


@dataclass
class Edit:
    """Base of every edit; ``op`` names it in JSON."""

    op: ClassVar[str] = ""

    def to_dict(self) -> dict:
        d = {"op": self.op}
        for f in fields(self):
            d[f.name] = _to_json(getattr(self, f.name))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Edit:
        if cls is Edit:
            return edit_from_dict(d)
        names = {f.name for f in fields(cls)}
        return cls(**{k: _from_json(v) for k, v in d.items() if k in names})


@dataclass
class AddSheet(Edit):
    """Add a sheet at the end of the workbook. ``replace``: if one of that name exists, replace it
    (at the same position); otherwise an existing name is an error (``layout`` picks free names)."""

    op: ClassVar[str] = "add_sheet"
    name: str
    replace: bool = False
    tab_color: str | None = None


@dataclass
class WriteCells(Edit):
    """Write a rectangular block of literal values with its top-left cell at (row, col).

    ``values`` is a list of rows, each a list of str / int / float / bool / date / None (None leaves
    the cell blank). ``number_formats``, if given, has one entry (an Excel format code or None) per
    column and applies to the block's rows below the first when ``bold_first_row`` is set (the first
    row is then a header), otherwise to every row.
    """

    op: ClassVar[str] = "write_cells"
    sheet: str
    row: int
    col: int
    values: list[list[Any]]
    number_formats: list[str | None] | None = None
    bold_first_row: bool = False

    @property
    def n_rows(self) -> int:
        return len(self.values)

    @property
    def n_cols(self) -> int:
        return max((len(r) for r in self.values), default=0)


@dataclass
class FormatRange(Edit):
    """Style every cell of ``ref``; a None field leaves that property alone.

    ``ref`` is one range ("A1", "A1:C9") or several separated by commas ("D4:D4,D8:D12"), as
    Excel's ``getRanges`` takes them, so scattered cells need one edit, not thousands.
    """

    op: ClassVar[str] = "format_range"
    sheet: str
    ref: str
    number_format: str | None = None
    bold: bool | None = None
    italic: bool | None = None
    font_size: float | None = None
    font_color: str | None = None
    fill: str | None = None
    wrap: bool | None = None
    horizontal: Literal["left", "center", "right"] | None = None
    #: a thin line under each cell of the range (for header rows)
    border_bottom: bool | None = None


@dataclass
class SetColumnWidth(Edit):
    """Width of column ``col`` (1-based) in Excel's character units."""

    op: ClassVar[str] = "set_column_width"
    sheet: str
    col: int
    width: float


@dataclass
class SetRowHeight(Edit):
    """Height of row ``row`` (1-based) in points (Excel's default is 15)."""

    op: ClassVar[str] = "set_row_height"
    sheet: str
    row: int
    height: float


@dataclass
class ColorScale(Edit):
    """A two- or three-colour scale conditional format on ``ref`` (lowest value → ``min_color``)."""

    op: ClassVar[str] = "color_scale"
    sheet: str
    ref: str
    min_color: str = "FFFFFF"
    max_color: str = "5B9BD5"
    mid_color: str | None = None


@dataclass
class AddChart(Edit):
    """A native chart on ``sheet`` with its top-left corner at ``anchor`` (e.g. "F3").

    Each entry of ``series`` is a one-column range on ``sheet`` whose FIRST cell is the series'
    title (a header cell) and the rest its values; ``categories`` is the range of the labels
    (without header). ``kind`` 'bar' means horizontal bars; ``reverse_categories`` lists the first
    category at the top (so a table sorted largest-first reads the same way in the chart).
    ``x_title`` names the category axis and ``y_title`` the value axis (for horizontal bars the value
    axis runs across the bottom). ``width``/``height`` are in centimetres.
    """

    op: ClassVar[str] = "add_chart"
    sheet: str
    kind: Literal["line", "bar"]
    title: str
    series: list[str]
    categories: str
    anchor: str
    x_title: str | None = None
    y_title: str | None = None
    width: float = 16.0
    height: float = 7.5
    legend: bool = True
    reverse_categories: bool = False
    #: Excel number format for the value axis labels, e.g. "0%"
    value_format: str | None = None
    #: label only every n-th category (long training curves); None lets the application decide
    category_label_step: int | None = None


@dataclass
class FreezePanes(Edit):
    """Keep rows above and columns left of ``cell`` in view ("A2" freezes the first row)."""

    op: ClassVar[str] = "freeze_panes"
    sheet: str
    cell: str


#: every PNG file starts with these 8 bytes, then its IHDR chunk (length 13) holding width and height
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_HEAD = PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR"
#: base64 characters that decode to the signature, the IHDR chunk's head, width and height (24 bytes)
_PNG_HEAD_B64 = 32


@dataclass
class AddPicture(Edit):
    """A PNG picture on ``sheet`` with its top-left corner in cell ``anchor``, shown at width × height
    pixels (96 dpi), not resized with cells; ``description`` is its alt text.

    The picture travels inside the edit (base64) because the Office.js task pane has no access to the
    server's files. Only the head of ``png`` is checked when the edit is made (cheap even for big
    pictures), so a wrong value fails here, where it was made, rather than in a writer;
    :meth:`png_bytes` decodes and checks the whole of it.
    """

    op: ClassVar[str] = "add_picture"
    sheet: str
    anchor: str
    png: str            # the PNG file, base64
    width: int
    height: int
    description: str = ""

    def __post_init__(self) -> None:
        where = f"AddPicture on sheet '{self.sheet}' at {self.anchor}"
        for name in ("width", "height"):
            value = getattr(self, name)
            try:
                if isinstance(value, bool):
                    raise TypeError
                value = operator.index(value)  # ints, numpy ints; not 12.5 or "12"
            except TypeError:
                raise ValueError(f"{where}: {name} must be a whole number of pixels, not {value!r}.") from None
            if value <= 0:
                raise ValueError(f"{where}: {name} must be at least 1 pixel, not {value}.")
            setattr(self, name, value)
        if not isinstance(self.png, str):
            raise ValueError(f"{where}: png must be the PNG file as base64 text, not {type(self.png).__name__}.")
        try:
            head = base64.b64decode(self.png[:_PNG_HEAD_B64], validate=True)
        except (binascii.Error, ValueError):
            head = b""
        if not head.startswith(_PNG_HEAD):
            raise ValueError(f"{where}: png is not a PNG file in base64 (it starts {self.png[:16]!r}).")

    @classmethod
    def from_png(cls, sheet: str, anchor: str, png: bytes, *, width: int | None = None,
                 height: int | None = None, description: str = "") -> AddPicture:
        """The edit for PNG file bytes; a size left out is the picture's own, in pixels (a width or
        height alone keeps the picture's proportions)."""
        own_w, own_h = png_size(png)
        if width is None and height is None:
            width, height = own_w, own_h
        elif width is None:
            assert height is not None
            width = max(1, round(own_w * height / own_h))
        elif height is None:
            height = max(1, round(own_h * width / own_w))
        return cls(sheet, anchor, base64.b64encode(png).decode("ascii"), width, height, description)

    def png_bytes(self) -> bytes:
        """The PNG file; ValueError when ``png`` is not base64 of a whole PNG file."""
        try:
            data = base64.b64decode(self.png, validate=True)
        except (binascii.Error, ValueError) as e:
            raise ValueError(f"AddPicture on sheet '{self.sheet}' at {self.anchor}: png is not valid base64 "
                             f"({e}).") from None
        if len(data) < 8 + 25 + 12 or not data.startswith(_PNG_HEAD) or b"IEND" not in data[-12:]:
            raise ValueError(f"AddPicture on sheet '{self.sheet}' at {self.anchor}: png is not a whole PNG file "
                             f"({len(data)} bytes, not ending with the IEND chunk every PNG file ends with).")
        return data


#: the edits that change one sheet (every edit but AddSheet), each naming it in ``sheet``
SHEET_EDITS = (WriteCells, FormatRange, SetColumnWidth, SetRowHeight, ColorScale, AddChart, AddPicture, FreezePanes)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels that a PNG file's header gives; ValueError for anything else."""
    if len(png) < 24 or not png.startswith(_PNG_HEAD):
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", png[16:24])
    if width <= 0 or height <= 0:
        raise ValueError("a PNG file without a size")
    return width, height


_OPS: dict[str, type[Edit]] = {
    c.op: c
    for c in (AddSheet, WriteCells, FormatRange, SetColumnWidth, SetRowHeight, ColorScale, AddChart, AddPicture,
              FreezePanes)
}


def edit_from_dict(d: dict) -> Edit:
    try:
        cls = _OPS[d["op"]]
    except KeyError:
        raise ValueError(f"unknown edit {d.get('op')!r}") from None
    return cls.from_dict(d)


def dumps(edits: list[Edit], **kwargs) -> str:
    """The JSON the server sends to the Office.js task pane."""
    return json.dumps([e.to_dict() for e in edits], allow_nan=False, **kwargs)


def loads(text: str) -> list[Edit]:
    return [edit_from_dict(d) for d in json.loads(text)]


# ---- value encoding -----------------------------------------------------------------------------
# JSON has no dates and no NaN; dates become {"$date": iso} / {"$datetime": iso} / {"$time": iso},
# NaN and infinities become null (a blank cell).


def _to_json(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return [_to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: _to_json(x) for k, x in v.items()}
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, _dt.datetime):
        return {"$datetime": v.isoformat()}
    if isinstance(v, _dt.date):
        return {"$date": v.isoformat()}
    if isinstance(v, _dt.time):
        return {"$time": v.isoformat()}
    if hasattr(v, "item") and not isinstance(v, int | float):  # numpy scalar
        return _to_json(v.item())
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, int):
        return int(v)
    raise TypeError(f"cannot put a {type(v).__name__} in a sheet edit")


def _from_json(v: Any) -> Any:
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    if isinstance(v, dict):
        if len(v) == 1:
            (k, s), = v.items()
            if k == "$datetime":
                return _dt.datetime.fromisoformat(s)
            if k == "$date":
                return _dt.date.fromisoformat(s)
            if k == "$time":
                return _dt.time.fromisoformat(s)
        return {k: _from_json(x) for k, x in v.items()}
    return v


def value_to_json(v: Any) -> Any:
    """A cell value (or list of them) as JSON can hold it, exactly as edits carry values (dates as
    {"$date": …}, NaN as null); :func:`value_from_json` turns it back."""
    return _to_json(v)


def value_from_json(v: Any) -> Any:
    return _from_json(v)
