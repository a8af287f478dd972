"""Reading workbook files into raw cell grids: calamine for Excel/ODS, the csv module for text files.

This module knows about files, not about tables: it hands :mod:`.table` one grid of cleaned
cells per sheet (blank cells, whitespace-only text and Excel error values already ``None``), where the
grid sits on the sheet, and which Excel Tables (ListObjects) the sheet holds. Finding the header and
the data region is the table module's job.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from ..errors import WorkbookError

__all__ = [
    "EXCEL_ERRORS",
    "SUPPORTED",
    "ExcelTable",
    "RawSheet",
    "raw_sheet",
    "SheetDetails",
    "Workbook",
    "clean_cells",
    "check_file",
    "open_workbook",
    "sheet_details",
]

#: what an analyst can hand us, by file extension
EXCEL_EXTENSIONS = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xlsb", ".xls", ".xla", ".ods")
CSV_EXTENSIONS = (".csv", ".tsv", ".tab")
SUPPORTED = "xlsx, xlsm, xlsb, xls, ods, csv"

#: Excel error values; calamine gives '' for most of them in xlsx and the text in other formats
EXCEL_ERRORS = frozenset(
    {
        "#N/A", "#N/A!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!",
        "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
        "#EXTERNAL!", "#PYTHON!",
    }
)

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
#: the stream name an encrypted OOXML package carries inside its OLE container (UTF-16 LE)
_ENCRYPTION_MARK = "EncryptionInfo".encode("utf-16-le")


@dataclass
class ExcelTable:
    """An Excel Table (ListObject) as its XML part describes it; rows and columns are 1-based."""

    name: str
    first_row: int
    first_col: int
    last_row: int
    last_col: int
    header_rows: int = 1
    totals_rows: int = 0
    columns: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return (self.last_row - self.first_row + 1) * (self.last_col - self.first_col + 1)


@dataclass
class RawSheet:
    """The used range of one sheet: ``cells[i, j]`` is the cell at row ``row0 + i``, column ``col0 + j``
    (both 1-based on the sheet). Cells are cleaned: blank, whitespace-only and Excel errors are None."""

    name: str
    cells: np.ndarray
    row0: int = 1
    col0: int = 1
    #: rightmost column (1-based) holding anything, errors and stray spaces included
    max_col: int = 0
    tables: list[ExcelTable] = field(default_factory=list)
    #: merged cells as (first row, first col, last row, last col), 1-based on the sheet
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def n_filled(self) -> int:
        return int(np.count_nonzero(not_blank(self.cells))) if self.cells.size else 0


class Workbook:
    """An opened workbook: its sheet names and a way to load each sheet's cells."""

    def __init__(self, path: Path, sheet_names: list[str], loader, hidden=(), tables=None) -> None:
        self.path = path
        #: an .xlsx/.xlsm package whose sheet XML :func:`sheet_details` can look into
        self.is_package = False
        self.sheet_names = sheet_names
        self.hidden = set(hidden)
        self._loader = loader
        self._tables: dict[str, list[ExcelTable]] = tables or {}
        self._cache: dict[str, RawSheet] = {}

    def sheet(self, name: str) -> RawSheet:
        if name not in self._cache:
            raw = self._loader(name)
            raw.tables = self._tables.get(name, [])
            self._cache[name] = raw
        return self._cache[name]

    def tables(self, name: str) -> list[ExcelTable]:
        return self._tables.get(name, [])

    def all_tables(self) -> dict[str, list[ExcelTable]]:
        return self._tables


def open_workbook(path) -> Workbook:
    """Open ``path`` for reading, or raise :class:`WorkbookError` saying plainly why not."""
    path = Path(path)
    ext, head = check_file(path)
    if ext in CSV_EXTENSIONS:
        return _open_csv(path)
    return _open_calamine(path, ext, head)


def check_file(path) -> tuple[str, bytes]:
    """The checks that need no parsing: the file exists, has a workbook's extension, is not empty,
    not password-protected and, for a package, its zip directory reads. Raises :class:`WorkbookError`;
    returns (extension, first bytes). Cheap, so callers run it before anything else opens the file."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"No file at {path}.", hint="Check the file name and the folder it is in.")
    if path.is_dir():
        raise _not_a_workbook(path)
    ext = path.suffix.lower()
    if ext in CSV_EXTENSIONS:
        return ext, b""
    if ext not in EXCEL_EXTENSIONS:
        raise _not_a_workbook(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise WorkbookError(
            f"Could not open '{path.name}': {exc.strerror or exc}.",
            hint="If the file is open in another program, close it there and try again.",
        ) from None
    if not head:
        raise WorkbookError(f"'{path.name}' is an empty file (0 bytes), not a workbook.",
                            hint="Open it in Excel to check it, save it again and retry.")
    if head.startswith(_CFB_MAGIC) and ext not in (".xls", ".xla"):
        # an .xlsx inside an OLE container is how Excel stores a password-protected file
        if _looks_encrypted(path) or not _opens_as_xls(path):
            raise _password_protected(path)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path):
                pass
        except (zipfile.BadZipFile, OSError, ValueError):
            raise _damaged(path) from None
    elif not head.startswith(_CFB_MAGIC) and ext in (".xlsx", ".xlsm", ".xltx", ".xltm", ".xlsb", ".ods"):
        raise _not_a_workbook(path)  # these are zip packages; text or anything else is no workbook
    return ext, head


def _damaged(path: Path) -> WorkbookError:
    return WorkbookError(
        f"'{path.name}' could not be opened: it looks damaged.",
        hint="Open it in Excel, save it again (File > Save As > Excel Workbook) and retry.",
    )


def _not_a_workbook(path: Path) -> WorkbookError:
    return WorkbookError(
        f"'{path.name}' is not a workbook SheetDL can read ({SUPPORTED}).",
        hint="Open it in Excel and save it as an Excel Workbook (.xlsx), then try again.",
    )


def _password_protected(path: Path) -> WorkbookError:
    return WorkbookError(
        f"'{path.name}' is password-protected, so SheetDL can't read it.",
        hint="In Excel, save a copy without a password (File > Info > Protect Workbook > "
        "Encrypt with Password, clear it) and use that copy.",
    )


def _looks_encrypted(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            data = fh.read(64 * 1024 * 1024)
    except OSError:
        return False
    return _ENCRYPTION_MARK in data


def _opens_as_xls(path: Path) -> bool:
    import python_calamine as pc

    try:
        with open(path, "rb") as fh:
            pc.CalamineWorkbook.from_filelike(fh)
        return True
    except Exception:
        return False


# ---------------------------------------------------------------------------------------------------
# Excel and ODS through calamine


def _open_calamine(path: Path, ext: str, head: bytes) -> Workbook:
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError:
        raise _password_protected(path) from None
    except Exception:
        # the extension may lie (an .xls saved as .xlsx…): let calamine look at the content
        wb = None
        if head.startswith((_ZIP_MAGIC, _CFB_MAGIC)):
            try:
                with open(path, "rb") as fh:
                    wb = pc.CalamineWorkbook.from_filelike(fh)
            except Exception:
                wb = None
        if wb is None:
            if head.startswith((_ZIP_MAGIC, _CFB_MAGIC)):
                raise WorkbookError(
                    f"'{path.name}' could not be opened: it looks damaged.",
                    hint="Open it in Excel, save it again (File > Save As > Excel Workbook) and retry.",
                ) from None
            raise _not_a_workbook(path) from None
    assert wb is not None  # opened above, or refused in words

    names = list(wb.sheet_names)
    hidden = set()
    try:
        for meta in wb.sheets_metadata:
            typ = str(getattr(meta, "typ", "worksheet")).lower()
            vis = str(getattr(meta, "visible", "visible")).lower()
            if "hidden" in vis or "worksheet" not in typ:  # hidden sheets, chart sheets
                hidden.add(meta.name)
    except Exception:  # metadata is a nicety
        pass

    tables: dict[str, list[ExcelTable]] = {}
    if head.startswith(_ZIP_MAGIC) and ext in (".xlsx", ".xlsm", ".xltx", ".xltm"):
        try:
            tables = read_excel_tables(path)
        except Exception:  # a table we can't parse shouldn't stop us reading the sheet itself
            tables = {}

    def load(name: str) -> RawSheet:
        try:
            sh = wb.get_sheet_by_name(name)
            rows = sh.to_python()
            start, end = (sh.start, sh.end) if rows else ((0, 0), (0, 0))
            if rows and (start is None or end is None or len(rows) != end[0] - start[0] + 1):
                # offsets we can't trust: read from A1 so row and column numbers are absolute
                rows, start = sh.to_python(skip_empty_area=False), (0, 0)
        except pc.PasswordError:
            raise _password_protected(path) from None
        except Exception as exc:
            raise WorkbookError(
                f"Could not read sheet '{name}' of '{path.name}': {exc}.",
                hint="Open the file in Excel, save it again and retry.",
                sheet=name,
            ) from None
        if start is None:
            start = (0, 0)
        raw = raw_sheet(name, rows, int(start[0]) + 1, int(start[1]) + 1)
        try:
            raw.merged = [(int(a[0]) + 1, int(a[1]) + 1, int(b[0]) + 1, int(b[1]) + 1)
                          for a, b in (sh.merged_cell_ranges or ())]
        except Exception:  # merged cells are a hint for finding the header, nothing more
            raw.merged = []
        return raw

    book = Workbook(path, names, load, hidden=hidden, tables=tables)
    book.is_package = head.startswith(_ZIP_MAGIC) and ext in (".xlsx", ".xlsm", ".xltx", ".xltm")
    return book


def raw_sheet(name: str, rows: list[list], row0: int, col0: int) -> RawSheet:
    """A sheet's cells as read (row lists, top-left at sheet row ``row0``, column ``col0``) → a cleaned
    RawSheet; the file reader and the live Excel reader (sheetdl.desktop) both build theirs here."""
    height = len(rows)
    width = max((len(r) for r in rows), default=0)
    grid = np.empty((height, width), dtype=object)
    grid.fill("")
    for i, r in enumerate(rows):
        grid[i, : len(r)] = r
    # rightmost column holding anything at all (before errors and spaces become blank)
    raw_filled = _filled_raw(grid)
    cols = np.flatnonzero(raw_filled.any(axis=0)) if grid.size else np.array([], dtype=int)
    max_col = col0 + int(cols[-1]) if len(cols) else 0
    cells = clean_cells(grid)
    return RawSheet(name=name, cells=cells, row0=row0, col0=col0, max_col=max_col)


def _clean_one(v):
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip()
        if not s or s in EXCEL_ERRORS:
            return None
        return v
    if isinstance(v, float) and v != v:  # NaN
        return None
    return v


_clean_vec = np.frompyfunc(_clean_one, 1, 1)


def clean_cells(grid: np.ndarray) -> np.ndarray:
    """Blank, whitespace-only and Excel-error cells → None; everything else as stored."""
    if grid.size == 0:
        return grid.astype(object)
    return _clean_vec(grid).astype(object)


def _filled_raw(grid: np.ndarray) -> np.ndarray:
    return np.frompyfunc(lambda v: not (v is None or (isinstance(v, str) and v == "")), 1, 1)(
        grid
    ).astype(bool)


def not_blank(cells: np.ndarray) -> np.ndarray:
    """Where a grid of cells (an object array, blank cells None) holds something."""
    return np.asarray(cells != None, dtype=bool)  # noqa: E711 - element-wise on an object array


# ---------------------------------------------------------------------------------------------------
# Excel Tables (ListObjects), from the package parts, with the standard library only

_REL_TABLE = "/table"
_CELL_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(el, name: str):
    """Attribute by local name, whatever its namespace (transitional or strict OOXML)."""
    for k, v in el.attrib.items():
        if _local(k) == name:
            return v
    return None


def _rid(el):
    for k, v in el.attrib.items():
        if k.startswith("{") and _local(k) == "id":
            return v
    return None


def _resolve(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def _rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def _read_rels(zf: zipfile.ZipFile, part: str) -> dict[str | None, tuple[str, str]]:
    """Relationship id → (type, resolved target part)."""
    name = _rels_path(part)
    if name not in zf.namelist():
        return {}
    root = ElementTree.fromstring(zf.read(name))
    out = {}
    for rel in root:
        if _local(rel.tag) != "Relationship":
            continue
        if (rel.get("TargetMode") or "").lower() == "external":
            continue
        out[rel.get("Id")] = (rel.get("Type") or "", _resolve(part, rel.get("Target") or ""))
    return out


def _parse_ref(ref: str) -> tuple[int, int, int, int] | None:
    parts = ref.split(":")
    if len(parts) == 1:
        parts = parts * 2
    out = []
    for p in parts[:2]:
        m = _CELL_RE.match(p.strip())
        if not m:
            return None
        col = 0
        for ch in m.group(1).upper():
            col = col * 26 + ord(ch) - 64
        out.append((int(m.group(2)), col))
    (r1, c1), (r2, c2) = out
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _workbook_part(zf: zipfile.ZipFile) -> str | None:
    """The workbook part the package's root rels point at (usually xl/workbook.xml), if present."""
    part = "xl/workbook.xml"
    for _id, (typ, target) in _read_rels(zf, "").items():
        if typ.endswith("/officeDocument"):
            part = target
    return part if part in set(zf.namelist()) else None


def read_excel_tables(path) -> dict[str, list[ExcelTable]]:
    """Sheet name → the Excel Tables on it, parsed from ``xl/tables/tableN.xml`` and the rels."""
    out: dict[str, list[ExcelTable]] = {}
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        wb_part = _workbook_part(zf)
        if wb_part is None:
            return out
        wb_rels = _read_rels(zf, wb_part)
        root = ElementTree.fromstring(zf.read(wb_part))
        for el in root.iter():
            if _local(el.tag) != "sheet":
                continue
            sheet_name = _attr(el, "name")
            rel = wb_rels.get(_rid(el) or "")
            if not sheet_name or not rel or rel[1] not in names:
                continue
            for typ, target in _read_rels(zf, rel[1]).values():
                if not typ.endswith(_REL_TABLE) or target not in names:
                    continue
                t = _parse_table_part(zf.read(target))
                if t is not None:
                    out.setdefault(sheet_name, []).append(t)
    return out


def _parse_table_part(xml: bytes) -> ExcelTable | None:
    root = ElementTree.fromstring(xml)
    ref = _parse_ref(_attr(root, "ref") or "")
    if ref is None:
        return None
    name = _attr(root, "displayName") or _attr(root, "name") or "Table"
    header_rows = int(_attr(root, "headerRowCount") or 1)
    totals_rows = int(_attr(root, "totalsRowCount") or 0)
    cols = []
    for el in root.iter():
        if _local(el.tag) == "tableColumn":
            cols.append(_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), _attr(el, "name") or ""))
    r1, c1, r2, c2 = ref
    return ExcelTable(name, r1, c1, r2, c2, header_rows=header_rows, totals_rows=totals_rows, columns=cols)


# ---------------------------------------------------------------------------------------------------
# What the cell values don't show: formulas never calculated, hidden rows and columns, filters


@dataclass
class SheetDetails:
    """Facts about one sheet that calamine's cell values hide; rows and columns are 1-based."""

    #: formula cells saved without a result (the file was written by a program that doesn't calculate)
    uncalculated: list[tuple[int, int]] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    #: the sheet has an AutoFilter (rows hidden by it are "filtered out", not just hidden)
    filtered: bool = False


_CHUNK = 8 * 1024 * 1024
# a formula cell with no result: <c r="B2"><f>A2*2</f></c>, <f .../>, an empty <v/>; a t="str" cell
# with an empty <v></v> is a formula whose result is "" and is left alone
_UNCALC_RE = re.compile(
    rb'<c\b([^>]*)>\s*<f\b[^>]*(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>')
_REF_RE = re.compile(rb'\br="\$?([A-Za-z]{1,3})\$?(\d+)"')
_ROW_TAG_RE = re.compile(rb"<row\b[^>]*>")
_COL_TAG_RE = re.compile(rb"<col\b[^>]*/?>")
_HIDDEN_RE = re.compile(rb'\bhidden="(?:1|true)"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def sheet_details(path, sheet_name: str) -> SheetDetails:
    """Read one sheet's XML as a stream (a big sheet is never held in memory whole) for what the
    values alone don't tell. An unreadable part gives empty details: this is advice, not reading."""
    out = SheetDetails()
    try:
        with zipfile.ZipFile(path) as zf:
            part = _sheet_part(zf, sheet_name)
            if part is None:
                return out
            with zf.open(part) as fh:
                tail = b""
                while True:
                    chunk = fh.read(_CHUNK)
                    data = tail + chunk
                    if not chunk:
                        cut = len(data)
                    else:  # leave an element that may be cut in half for the next round
                        cut = data.rfind(b"<c ")
                        cut = data.rfind(b"<", 0, len(data)) if cut < 0 else cut
                        cut = max(cut, 0)
                    _scan(data[:cut], out)
                    tail = data[cut:]
                    if not chunk:
                        break
    except Exception:
        return SheetDetails()
    return out


def _scan(data: bytes, out: SheetDetails) -> None:
    if b"<f" in data:
        for m in _UNCALC_RE.finditer(data):
            attrs = m.group(1)
            if re.search(rb'\bt="str"', attrs):
                continue
            ref = _REF_RE.search(attrs)
            if ref:
                out.uncalculated.append((int(ref.group(2)), _col_number(ref.group(1))))
    if b"autoFilter" in data:
        out.filtered = True
    if b"hidden=" not in data:
        return
    for m in _ROW_TAG_RE.finditer(data):
        tag = m.group(0)
        if _HIDDEN_RE.search(tag):
            r = re.search(rb'\br="(\d+)"', tag)
            if r:
                out.hidden_rows.add(int(r.group(1)))
    for m in _COL_TAG_RE.finditer(data):
        tag = m.group(0)
        if _HIDDEN_RE.search(tag):
            lo = re.search(rb'\bmin="(\d+)"', tag)
            hi = re.search(rb'\bmax="(\d+)"', tag)
            if lo and hi:
                out.hidden_cols.update(range(int(lo.group(1)), min(int(hi.group(1)), 16384) + 1))


def _sheet_part(zf: zipfile.ZipFile, sheet_name: str) -> str | None:
    names = set(zf.namelist())
    wb_part = _workbook_part(zf)
    if wb_part is None:
        return None
    rels = _read_rels(zf, wb_part)
    for el in ElementTree.fromstring(zf.read(wb_part)).iter():
        if _local(el.tag) == "sheet" and _attr(el, "name") == sheet_name:
            rel = rels.get(_rid(el) or "")
            return rel[1] if rel and rel[1] in names else None
    return None


# ---------------------------------------------------------------------------------------------------
# CSV

_CSV_DELIMITERS = (",", ";", "\t", "|")
_INT_RE = re.compile(r"^[-+]?(?:0|[1-9]\d{0,14})$")
_DOT_DEC_RE = re.compile(r"^[-+]?(?:\d{1,15}\.\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_COMMA_DEC_RE = re.compile(r"^[-+]?\d{1,15},\d+$")
_COMMA_DEC_GROUPED_RE = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})+(?:,\d+)?$")


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    sample = text[: 64 * 1024]
    lines = sample.splitlines()[:50]
    if len(lines) > 1 and len(sample) == 64 * 1024:
        lines = lines[:-1]  # the last line may be cut
    best, best_score = ",", (-1.0, 0)
    for d in _CSV_DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=d) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = d, score
    return best


def _open_csv(path: Path) -> Workbook:
    name = path.stem

    def load(_name: str) -> RawSheet:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise WorkbookError(f"Could not open '{path.name}': {exc.strerror or exc}.") from None
        if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise _not_a_workbook(path)
        text = _decode(data)
        delim = _sniff_delimiter(text)
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
        except csv.Error as exc:
            raise WorkbookError(f"'{path.name}' could not be read as CSV: {exc}.",
                                hint="Open it in Excel and save it as an Excel Workbook (.xlsx).") from None
        raw = raw_sheet(name, rows, 1, 1)
        raw.cells = _csv_numbers(raw.cells, decimal_comma_allowed=delim != ",")
        return raw

    return Workbook(path, [name], load)


def _csv_numbers(cells: np.ndarray, *, decimal_comma_allowed: bool) -> np.ndarray:
    """CSV holds only text: turn plainly numeric cells into floats, as Excel would on opening.

    Leading-zero codes ("00123") and anything with symbols stay text; the schema reads those. A column
    is read with a decimal comma only when the file isn't comma-separated and the column's numbers
    use a comma and never a decimal point.
    """
    out = cells.copy()
    for j in range(cells.shape[1]):
        col = cells[:, j]
        uniq = {v for v in col if v is not None}
        comma = False
        if decimal_comma_allowed:
            n_comma = sum(1 for u in uniq if _COMMA_DEC_RE.match(u.strip()) or
                          (_COMMA_DEC_GROUPED_RE.match(u.strip()) and "," in u))
            n_dot = sum(1 for u in uniq if _DOT_DEC_RE.match(u.strip()))
            comma = n_comma > 0 and n_dot == 0
        conv = {}
        for u in uniq:
            s = u.strip()
            if _INT_RE.match(s):
                conv[u] = float(s)
            elif comma and (_COMMA_DEC_RE.match(s) or _COMMA_DEC_GROUPED_RE.match(s)):
                conv[u] = float(s.replace(".", "").replace(",", "."))
            elif not comma and _DOT_DEC_RE.match(s):
                conv[u] = float(s)
        if conv:
            out[:, j] = [conv.get(v, v) if v is not None else None for v in col]
    return out
