"""An in-memory stand-in for the part of xlwings SheetDL's desktop backend uses, so it is tested on Linux
without Excel. It implements exactly these calls (and fails loudly on any other, being plain classes):

module      ``apps`` (iterable of App), ``Book.caller()``
App         ``books``, ``screen_updating`` (get/set), ``status_bar`` (set), ``alert(prompt, title=, buttons=)``
Book        ``sheets``, ``fullname``, ``name``, ``app``
Sheets      iteration, ``add(name=, after=)``
Sheet       ``name``, ``used_range``, ``tables``, ``range(address | (row, col) [, (row, col)])``, ``charts.add(left=,
            top=, width=, height=)``, ``pictures.add(path, left=, top=, width=, height=)``
Table       ``name``, ``range``, ``show_headers``, ``show_totals``
Range       ``row``, ``column``, ``shape``, ``left``, ``top``, ``options(ndim=2, err_to_str=True).value``,
            ``value =``, ``number_format =``, ``font.bold/italic/size/color =``, ``color =``, ``wrap_text =``,
            ``horizontal_alignment =``, ``borders["edge_bottom"].line_style/weight/color =``, ``column_width =``,
            ``row_height =``, ``conditional_formats.add_color_scale(colors)``
Chart       ``chart_type =``, ``set_source_data(range, plot_by=)``, ``set_x_axis_values(range)``, ``title =``,
            ``legend.visible/position =``, ``category_axis.title/reverse_order/crosses =``,
            ``value_axis.title/number_format =``, ``series`` (each ``marker_style =``)

Where it matters for SheetDL's rules it behaves as Excel does: a string assigned to ``value`` is read
as if typed (``=…`` becomes a formula, ``12`` a number, ``TRUE`` a boolean) unless it starts with an
apostrophe, which keeps the rest as text; the used range is the box around filled cells; Excel error
values read as None unless ``err_to_str``; dates read back as datetimes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def parse_area(area: str) -> tuple[int, int, int, int]:
    """'B3:D10' → (3, 2, 10, 4); one cell 'B3' → (3, 2, 3, 2)."""
    parts = area.strip().split(":")
    cells = []
    for p in parts:
        m = _CELL.match(p.strip())
        if not m:
            raise ValueError(f"bad address {area!r}")
        cells.append((int(m.group(2)), col_index(m.group(1))))
    (r1, c1), (r2, c2) = cells[0], cells[-1]
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


@dataclass
class Formula:
    text: str


class ExcelError(str):
    """An error value in a cell ('#N/A'): None through xlwings unless err_to_str."""


def typed(v: Any) -> Any:
    """What Excel stores when ``v`` is assigned to a cell's Value (as if typed)."""
    if isinstance(v, str):
        if v.startswith("'"):
            return v[1:]
        if v[:1] in ("=", "+", "-", "@") and len(v) > 1 and not re.fullmatch(r"[+-]?\d+(\.\d+)?", v):
            return Formula(v)
        if re.fullmatch(r"[+-]?\d+(\.\d+)?", v.strip()):
            return float(v)
        if v.strip().upper() in ("TRUE", "FALSE"):
            return v.strip().upper() == "TRUE"
        return v if v != "" else None
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


class Obj:
    """Attribute bag that records what was set."""

    def __init__(self, **kw) -> None:
        self.__dict__.update(kw)


class Font:
    def __init__(self, rng: Range) -> None:
        self.__dict__["_rng"] = rng

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in ("bold", "italic", "size", "color"):
            raise AttributeError(name)
        self._rng.set_style(f"font_{name}", value)


class Borders:
    def __init__(self, rng: Range) -> None:
        self.rng = rng

    def __getitem__(self, side: str):
        assert side == "edge_bottom", side
        rng = self.rng

        class Edge:
            def __setattr__(self, name: str, value: Any) -> None:
                if name not in ("line_style", "weight", "color"):
                    raise AttributeError(name)
                rng.set_style(f"border_bottom_{name}", value)

        return Edge()


class ConditionalFormats:
    def __init__(self, rng: Range) -> None:
        self.rng = rng

    def add_color_scale(self, colors):
        self.rng.sheet.color_scales.append((self.rng.address, list(colors)))


class Options:
    def __init__(self, rng: Range, ndim: int, err_to_str: bool) -> None:
        self.rng, self.ndim, self.err_to_str = rng, ndim, err_to_str

    @property
    def value(self):
        assert self.ndim == 2
        return self.rng.read(err_to_str=self.err_to_str)


class Range:
    def __init__(self, sheet: Sheet, areas: list[tuple[int, int, int, int]]) -> None:
        self.sheet = sheet
        self.areas = areas

    # ---- where
    @property
    def row(self) -> int:
        return self.areas[0][0]

    @property
    def column(self) -> int:
        return self.areas[0][1]

    @property
    def shape(self) -> tuple[int, int]:
        r1, c1, r2, c2 = self.areas[0]
        return r2 - r1 + 1, c2 - c1 + 1

    @property
    def left(self) -> float:
        return (self.column - 1) * 48.0

    @property
    def top(self) -> float:
        return (self.row - 1) * 15.0

    @property
    def address(self) -> str:
        from sheetdl.sheets import column_letter

        return ",".join(f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}" for r1, c1, r2, c2 in self.areas)

    def cells(self):
        for r1, c1, r2, c2 in self.areas:
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    yield r, c

    # ---- values
    def options(self, *, ndim: int, err_to_str: bool = False) -> Options:
        return Options(self, ndim, err_to_str)

    def read(self, *, err_to_str: bool):
        assert len(self.areas) == 1
        r1, c1, r2, c2 = self.areas[0]
        out = []
        for r in range(r1, r2 + 1):
            row = []
            for c in range(c1, c2 + 1):
                v = self.sheet.cells.get((r, c))
                if isinstance(v, ExcelError) and not err_to_str:
                    v = None
                if isinstance(v, Formula):
                    v = self.sheet.formula_results.get((r, c))
                row.append(v)
            out.append(row)
        return out

    @property
    def value(self):
        raise AssertionError("SheetDL reads values through options(ndim=2, err_to_str=True)")

    @value.setter
    def value(self, data) -> None:
        assert len(self.areas) == 1
        r0, c0 = self.row, self.column
        rows = data if isinstance(data, list) and data and isinstance(data[0], list) else [[data]]
        self.sheet.value_calls += 1
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                t = typed(v)
                if t is None:
                    self.sheet.cells.pop((r0 + i, c0 + j), None)
                else:
                    self.sheet.cells[(r0 + i, c0 + j)] = t

    # ---- formatting
    def set_style(self, key: str, value: Any) -> None:
        for rc in self.cells():
            self.sheet.styles.setdefault(rc, {})[key] = value

    @property
    def font(self) -> Font:
        return Font(self)

    @property
    def borders(self) -> Borders:
        return Borders(self)

    @property
    def conditional_formats(self) -> ConditionalFormats:
        return ConditionalFormats(self)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("sheet", "areas"):
            object.__setattr__(self, name, value)
        elif name == "value":
            type(self).value.fset(self, value)
        elif name in ("number_format", "color", "wrap_text", "horizontal_alignment"):
            self.set_style(name, value)
        elif name == "column_width":
            for c in range(self.areas[0][1], self.areas[0][3] + 1):
                self.sheet.column_widths[c] = value
        elif name == "row_height":
            for r in range(self.areas[0][0], self.areas[0][2] + 1):
                self.sheet.row_heights[r] = value
        else:
            raise AttributeError(f"the stand-in does not implement setting Range.{name}")


@dataclass
class Table:
    name: str
    range: Range
    show_headers: bool = True
    show_totals: bool = False


class Chart:
    def __init__(self, **where) -> None:
        self.where = where
        self.legend = Obj()
        self.category_axis = Obj()
        self.value_axis = Obj()
        self.series: list[Obj] = []
        self.source: str | None = None
        self.x_values: str | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        allowed = ("where", "legend", "category_axis", "value_axis", "series", "source", "x_values", "chart_type",
                   "title", "plot_by")
        if name not in allowed:
            raise AttributeError(f"the stand-in does not implement setting Chart.{name}")
        object.__setattr__(self, name, value)

    def set_source_data(self, source: Range, plot_by: str | None = None) -> None:
        self.source, self.plot_by = source.address, plot_by
        self.series = [Obj(address=a) for a in source.address.split(",")]

    def set_x_axis_values(self, source: Range) -> None:
        self.x_values = source.address


class Charts(list):
    def add(self, *, left: float, top: float, width: float, height: float) -> Chart:
        c = Chart(left=left, top=top, width=width, height=height)
        self.append(c)
        return c


class Pictures(list):
    def add(self, path, *, left: float, top: float, width: float, height: float):
        with open(path, "rb") as fh:
            data = fh.read()
        p = Obj(png=data, left=left, top=top, width=width, height=height)
        self.append(p)
        return p


class Sheet:
    def __init__(self, book: Book, name: str) -> None:
        self.book = book
        self.name = name
        self.cells: dict[tuple[int, int], Any] = {}
        self.formula_results: dict[tuple[int, int], Any] = {}
        self.styles: dict[tuple[int, int], dict] = {}
        self.column_widths: dict[int, float] = {}
        self.row_heights: dict[int, float] = {}
        self.color_scales: list = []
        self.tables: list[Table] = []
        self.charts = Charts()
        self.pictures = Pictures()
        self.value_calls = 0

    def range(self, a, b=None) -> Range:
        if isinstance(a, tuple):
            r1, c1 = a
            r2, c2 = b if b is not None else a
            return Range(self, [(min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))])
        assert b is None
        return Range(self, [parse_area(x) for x in a.split(",")])

    @property
    def used_range(self) -> Range:
        if not self.cells:
            return Range(self, [(1, 1, 1, 1)])
        rows = [r for r, _ in self.cells]
        cols = [c for _, c in self.cells]
        return Range(self, [(min(rows), min(cols), max(rows), max(cols))])

    # ---- helpers for tests (not xlwings)
    def put(self, top_left: str, rows: list[list[Any]]) -> None:
        """Fill cells as a user would have (values stored as given, no parsing)."""
        r0, c0, _, _ = parse_area(top_left)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is not None:
                    self.cells[(r0 + i, c0 + j)] = v

    def get(self, address: str) -> Any:
        r, c, _, _ = parse_area(address)
        return self.cells.get((r, c))

    def style(self, address: str) -> dict:
        r, c, _, _ = parse_area(address)
        return self.styles.get((r, c), {})


class Sheets:
    def __init__(self, book: Book) -> None:
        self.book = book
        self.items: list[Sheet] = []

    def __iter__(self):
        return iter(list(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def add(self, name: str | None = None, before: Sheet | None = None, after: Sheet | None = None) -> Sheet:
        assert before is None
        if any(s.name.casefold() == (name or "").casefold() for s in self.items):
            raise ValueError(f"Excel refuses a second sheet named {name!r}")
        s = Sheet(self.book, name or f"Sheet{len(self.items) + 1}")
        index = self.items.index(after) + 1 if after is not None else 0
        self.items.insert(index, s)
        return s

    # test helper
    def new(self, name: str) -> Sheet:
        s = Sheet(self.book, name)
        self.items.append(s)
        return s


class App:
    def __init__(self) -> None:
        self.books: list[Book] = []
        self.screen_updating = True
        self.status_bar_history: list[Any] = []
        self.alerts: list[tuple[str, str | None, str]] = []
        self.answers: list[str] = []

    @property
    def status_bar(self):
        raise AssertionError("SheetDL only sets the status bar")

    @status_bar.setter
    def status_bar(self, value) -> None:
        self.status_bar_history.append(value)

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok", mode: str | None = None) -> str:
        self.alerts.append((prompt, title, buttons))
        return self.answers.pop(0) if self.answers else "ok"


@dataclass
class Book:
    fullname: str
    app: App = field(default_factory=App)

    def __post_init__(self) -> None:
        self.sheets = Sheets(self)
        self.app.books.append(self)

    @property
    def name(self) -> str:
        return self.fullname.replace("\\", "/").rsplit("/", 1)[-1]


class BookClass:
    """``xw.Book``: only ``caller()``."""

    current: Book | None = None

    @classmethod
    def caller(cls) -> Book:
        if cls.current is None:
            raise AttributeError("module 'xlwings' has no attribute '_xlwindows'")  # what Linux gives
        return cls.current


class XlwingsStandIn:
    """The module: ``apps`` and ``Book``."""

    def __init__(self, *apps: App) -> None:
        self.apps = list(apps)
        self.Book = type("Book", (BookClass,), {"current": None})
