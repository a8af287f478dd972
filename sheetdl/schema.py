"""Schema: what each column is (kind) and what we do with it (role), with the reason for each.

CONTRACT (owned by the schema work; the engine relies on exactly this):

``infer_schema(table, target=..., ignore=(), task="auto", kinds=None)`` is a pure function of the
Table. ``typed_frame(table, schema)`` turns raw cells into typed pandas columns, one per *feature* and
the target, by kind:

- number   → float64, NaN for blank/unreadable ("1,234", "12%", "$5", "(3)" read as numbers)
- category → object, stripped strings (ints written without ".0"), None for blank; spellings that
             differ only in case or spacing read as one (the training table's most common spelling,
             kept in ``Column.parse["spellings"]``)
- boolean  → float64 1.0 / 0.0 / NaN (yes/no, true/false, y/n, 1/0)
- date     → datetime64[ns], NaT for blank/unreadable
- text     → object str / None
- image    → object str (the path as written) / None
- target   → classification: object labels as the user wrote them (str stripped; whole numbers as
             int; bool as bool), None where blank; regression: float64, NaN where blank.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError, SettingsError, cell_list
from .table import Table

__all__ = ["Kind", "Role", "Task", "TaskSetting", "Column", "Schema", "infer_schema", "typed_frame"]

Kind = Literal["number", "category", "boolean", "date", "text", "image", "id", "constant"]
Role = Literal["target", "feature", "ignored"]
Task = Literal["classification", "regression"]
TaskSetting = Literal["auto", "classification", "regression"]

#: kinds a model can learn from
FEATURE_KINDS: tuple[str, ...] = ("number", "category", "boolean", "date", "text", "image")


@dataclass
class Column:
    name: str
    kind: Kind
    role: Role
    reason: str
    letter: str = ""
    n_missing: int = 0
    #: cells that held something we could not read as this kind (treated as blank)
    n_unreadable: int = 0
    notes: list[str] = field(default_factory=list)
    #: how this column's text is read, decided once on the training table and reused on new ones:
    #: {"decimal_comma": bool} for numbers, {"date_order": "dmy" | "mdy"} for dates
    parse: dict[str, Any] = field(default_factory=dict)


@dataclass
class Schema:
    columns: list[Column]
    target: str
    task: Task
    task_reason: str
    #: class labels as the user wrote them, in a stable order; None for regression
    classes: list[Any] | None = None

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.role == "feature"]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["classes"] = _labels_to_json(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Schema":
        cols = [Column(**c) for c in d["columns"]]
        return cls(
            columns=cols,
            target=d["target"],
            task=d["task"],
            task_reason=d["task_reason"],
            classes=_labels_from_json(d.get("classes")),
        )


def _labels_to_json(labels):
    if labels is None:
        return None
    return [{"type": type(v).__name__, "value": v} for v in labels]


def _labels_from_json(items):
    if items is None:
        return None
    out = []
    for it in items:
        t, v = it["type"], it["value"]
        out.append(bool(v) if t == "bool" else int(v) if t == "int" else float(v) if t == "float" else str(v))
    return out


# ---------------------------------------------------------------------------------------------------
# Thresholds: every decision below names the constant it rests on.

#: a column is numbers when at least this share of its filled cells (placeholders aside) read as numbers
NUMBER_MIN_SHARE = 0.8
#: ...dates when at least this share read as dates
DATE_MIN_SHARE = 0.8
#: ...pictures when at least this share of its filled cells are file names ending in a picture extension
IMAGE_MIN_SHARE = 0.8
#: a text column with at most this many different values is a category...
CATEGORY_MAX_VALUES = 20
#: ...as is one whose different values are at most this share of its filled rows
CATEGORY_MAX_SHARE = 0.1
#: a category's spellings (its values, keyed ignoring case and spaces) are saved with the model up to
#: this many values; above it, each table's most common spelling is used
SPELLINGS_KEPT_MAX = 5000
#: free text: at least this many words per cell on average...
TEXT_MIN_WORDS = 3
#: ...or at least this many characters per cell on average
TEXT_MIN_CHARS = 30
#: "a different value on every row" only means an id column with at least this many filled rows
ID_MIN_ROWS = 10
#: one value and blanks is a marker ("x" or blank) when both the value and the blanks fill this share
MARKER_MIN_SHARE = 0.05
#: a target of whole numbers with at most this many different values is classification...
CLASSIFICATION_MAX_INT_CLASSES = 10
#: ...or at most this many when at least MANY_ROWS rows are labelled
CLASSIFICATION_MAX_INT_CLASSES_MANY_ROWS = 20
MANY_ROWS = 1000
#: a target with more classes than this needs TARGET_MIN_ROWS_PER_CLASS labelled rows per class on average
TARGET_MAX_CLASSES = 100
TARGET_MIN_ROWS_PER_CLASS = 5
#: regression needs at least this many labelled rows
REGRESSION_MIN_ROWS = 5
#: cells that mean "no value" in a number, date or yes/no column: blank, not unreadable
PLACEHOLDERS = frozenset({"n/a", "na", "-", "--", "?", "null", "none", "missing", "nan", "#n/a"})
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: columns SheetDL writes beside the data; read back, they must not be learned from
OUTPUT_COLUMNS = ("Confidence", "Low", "High", "Why")
#: words that make a column name look like an identifier ("Customer ID", "OrderNo")
ID_WORDS = frozenset({"id", "ids", "key", "code", "uuid", "guid", "ref", "sku", "identifier"})
ID_LAST_WORDS = frozenset({"no", "nr", "num", "number", "#"})

_BOOL_WORDS = {
    "yes": ("yes/no", True), "no": ("yes/no", False),
    "y": ("y/n", True), "n": ("y/n", False),
    "true": ("true/false", True), "false": ("true/false", False),
    "1": ("1/0", True), "0": ("1/0", False),
}
_KINDS = ("number", "category", "boolean", "date", "text", "image", "id", "constant")


# ---------------------------------------------------------------------------------------------------
# Cells: each raw value gets a normalised key (tag, value); blank cells get None.


def _norm(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return ("bool", bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        try:
            x = float(v)
        except (OverflowError, ValueError):
            return ("str", str(v))
        return ("num", x) if math.isfinite(x) else None
    if isinstance(v, str):
        s = v.strip()
        return ("str", s) if s else None
    if isinstance(v, (pd.Timestamp, _dt.datetime, np.datetime64)):
        ts = pd.Timestamp(v)
        if ts is pd.NaT or pd.isna(ts):
            return None
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        return ("date", ts)
    if isinstance(v, _dt.date):
        return ("date", pd.Timestamp(v.year, v.month, v.day))
    if isinstance(v, _dt.time):
        return ("time", v.hour + v.minute / 60 + (v.second + v.microsecond / 1e6) / 3600)
    if isinstance(v, (_dt.timedelta, pd.Timedelta, np.timedelta64)):
        td = pd.Timedelta(v)
        return None if pd.isna(td) else ("time", td.total_seconds() / 3600)
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    s = str(v).strip()
    return ("str", s) if s else None


_NUMERIC_TYPES = frozenset({float, int, type(None), np.float64, np.float32, np.int64, np.int32})


class _Cells:
    """One column's cells, normalised once: ``rows[j]`` is row j's key (None for blank) and
    ``counts`` how often each key occurs. A column holding only numbers (most of a workbook) keeps
    them in ``floats`` (NaN for blank) and builds ``rows``/``counts`` only if asked."""

    def __init__(self, arr: np.ndarray) -> None:
        arr = np.asarray(arr, dtype=object)
        self.n_rows = len(arr)
        self.floats: np.ndarray | None = None
        self._rows: list | None = None
        self._counts: Counter | None = None
        if set(map(type, arr)) <= _NUMERIC_TYPES:
            try:
                f = np.array(arr, dtype=float)  # None → NaN
            except (OverflowError, ValueError, TypeError):
                f = None
            if f is not None:
                f[~np.isfinite(f)] = np.nan
                self.floats = f
                self.n_filled = int(np.count_nonzero(~np.isnan(f)))
                self.n_placeholder = 0
                return
        try:
            raw = Counter(zip(map(type, arr), arr))
            norm = {key: _norm(key[1]) for key in raw}
            rows = [norm[key] for key in zip(map(type, arr), arr)]
        except TypeError:  # something unhashable: read it as its text
            rows = [_norm(v if _hashable(v) else str(v)) for v in arr]
        self._set_rows(rows)

    def _set_rows(self, rows: list) -> None:
        self._rows = rows
        self._counts = Counter(k for k in rows if k is not None)
        self.n_filled = sum(self._counts.values())
        self.n_placeholder = sum(
            c for k, c in self._counts.items() if k[0] == "str" and k[1].casefold() in PLACEHOLDERS
        )

    @property
    def rows(self) -> list:
        if self._rows is None:
            self._rows = [None if x != x else ("num", x) for x in self.floats.tolist()]
        return self._rows

    @property
    def counts(self) -> Counter:
        if self._counts is None:
            self._counts = Counter(k for k in self.rows if k is not None)
        return self._counts

    @property
    def filled(self) -> np.ndarray:
        if self.floats is not None:
            return ~np.isnan(self.floats)
        return np.array([k is not None for k in self.rows], dtype=bool)

    def subset(self, mask: np.ndarray) -> "_Cells":
        sub = _Cells.__new__(_Cells)
        sub.n_rows = int(np.count_nonzero(mask))
        sub._rows = sub._counts = None
        sub.floats = None
        if self.floats is not None:
            sub.floats = self.floats[mask]
            sub.n_filled = int(np.count_nonzero(~np.isnan(sub.floats)))
            sub.n_placeholder = 0
        else:
            sub._set_rows([k for k, m in zip(self.rows, mask) if m])
        return sub

    def strings(self) -> list[str]:
        if self.floats is not None:
            return []
        return [k[1] for k in self.counts if k[0] == "str"]

    def unreadable_rows(self, bad: set) -> list[int]:
        return [j for j, k in enumerate(self.rows) if k in bad] if bad else []


def _hashable(v) -> bool:
    try:
        hash(v)
        return True
    except TypeError:
        return False


def _is_placeholder(k) -> bool:
    return k is not None and k[0] == "str" and k[1].casefold() in PLACEHOLDERS


def _text(k) -> str:
    """A key as the text a category holds: whole numbers without '.0', TRUE/FALSE, ISO dates."""
    tag, v = k
    if tag == "str":
        return v
    if tag == "num":
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if tag == "bool":
        return "TRUE" if v else "FALSE"
    if tag == "date":
        return v.date().isoformat() if v == v.normalize() else v.isoformat(sep=" ")
    if tag == "time":
        return repr(v)
    return str(v)


# numbers stored as text ------------------------------------------------------------------------------

_NUM_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_CURRENCY = "$€£¥₹₽₩₺¢"
_SPACES_RE = re.compile(r"[\s\u00a0\u202f\u2009'’]")
_GROUPED_COMMA_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_GROUPED_DOT_RE = re.compile(r"[-+]?\d{1,3}(?:\.\d{3})+(?:,\d*)?")
_LEADING_ZERO_RE = re.compile(r"[-+]?0\d")
# decimal-comma evidence: a comma not followed by exactly three digits, or dots grouping thousands
_COMMA_DECIMAL_RE = re.compile(r"[-+]?(?:\d+,\d{1,2}|\d+,\d{4,}|\d{4,},\d+|0,\d+|\d{1,3}(?:\.\d{3})+,\d+)")
_DOT_DECIMAL_RE = re.compile(r"[-+]?(?:\d+\.\d{1,2}|\d+\.\d{4,}|\d{4,}\.\d+|0\.\d+|\d{1,3}(?:,\d{3})+\.\d+)")


def _number_core(s: str) -> tuple[str, bool, bool] | None:
    """Strip what surrounds a number written as text: apostrophe, currency, brackets, %."""
    t = s.strip()
    if t.startswith("'"):
        t = t[1:].strip()
    neg = False
    if len(t) > 2 and t[0] == "(" and t[-1] == ")":
        neg, t = True, t[1:-1].strip()
    pct = t.endswith("%")
    if pct:
        t = t[:-1].strip()
    t = t.strip(_CURRENCY).strip()
    if len(t) > 1 and t[0] in "+-" and t[1] in _CURRENCY:  # -$5
        t = t[0] + t[2:].strip()
    t = _SPACES_RE.sub("", t)
    if not t:
        return None
    return t, neg, pct


def _decimal_comma(strings) -> bool:
    """Does this column write "3,5" for three and a half? Only when its text numbers say so."""
    comma = dot = 0
    for s in strings:
        core = _number_core(s)
        if core is None:
            continue
        t = core[0]
        if _COMMA_DECIMAL_RE.fullmatch(t):
            comma += 1
        elif _DOT_DECIMAL_RE.fullmatch(t):
            dot += 1
    return comma > dot


def _parse_number(s: str, decimal_comma: bool) -> float | None:
    core = _number_core(s)
    if core is None:
        return None
    t, neg, pct = core
    if decimal_comma:
        if _GROUPED_DOT_RE.fullmatch(t):
            t = t.replace(".", "")
        if t.count(",") == 1:
            t = t.replace(",", ".")
    elif "," in t:
        if not _GROUPED_COMMA_RE.fullmatch(t):
            return None
        t = t.replace(",", "")
    if not _NUM_RE.fullmatch(t) or (_LEADING_ZERO_RE.match(t) and "." not in t):
        return None  # "0123" is a code, not a number
    x = float(t)
    if not math.isfinite(x):
        return None
    if pct:
        x /= 100
    return -x if neg else x


def _number_of(k, decimal_comma: bool) -> float | None:
    if k is None:
        return None
    tag, v = k
    if tag in ("num", "time"):
        return v
    if tag == "str":
        return _parse_number(v, decimal_comma)
    return None


# dates written as text -------------------------------------------------------------------------------

_DMY_LIKE_RE = re.compile(r"\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*")
_DATE_LOOSE_RE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}[ -]?[A-Za-z]{3,9}\.?[ -]\d{2,4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"
    r"|[A-Za-z]{3,9} \d{4}"
)
_ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y/%m/%d", "%Y.%m.%d")
_NAMED_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y",
                  "%d-%b-%Y", "%d-%b-%y", "%d %b %y", "%b %Y", "%B %Y", "%d. %B %Y")


def _order_formats(order: str) -> list[str]:
    out = []
    for sep in "/.-":
        d = f"%d{sep}%m" if order == "dmy" else f"%m{sep}%d"
        for y in ("%Y", "%y"):
            base = f"{d}{sep}{y}"
            out += [base, base + " %H:%M", base + " %H:%M:%S"]
    return out


def _date_order(strings) -> tuple[str, bool]:
    """'dmy' or 'mdy' for dates like 03/04/2024, decided for the whole column; and whether the
    column's own dates settle it (a day above 12 on one side)."""
    day_first = month_first = 0
    seps = Counter()
    for s in strings:
        m = _DMY_LIKE_RE.fullmatch(s)
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(3))
        seps[m.group(2)] += 1
        if a > 12 >= b:
            day_first += 1
        elif b > 12 >= a:
            month_first += 1
    if day_first or month_first:
        return ("dmy" if day_first >= month_first else "mdy"), True
    if not seps:
        return "dmy", True
    # nothing settles it: dots are European (day first); slashes and dashes read month first
    return ("dmy" if seps.most_common(1)[0][0] == "." else "mdy"), False


_TS_MIN, _TS_MAX = pd.Timestamp.min, pd.Timestamp.max


def _parse_dates(strings, order: str) -> dict[str, pd.Timestamp]:
    """Text → Timestamp for the strings that match one of the explicit formats (no guessing per cell)."""
    todo = [s for s in dict.fromkeys(strings) if any(ch.isdigit() for ch in s)]
    out: dict[str, pd.Timestamp] = {}
    for fmt in (*_ISO_FORMATS, *_order_formats(order), *_NAMED_FORMATS):
        if not todo:
            break
        parsed = pd.to_datetime(pd.Series(todo, dtype=object), format=fmt, errors="coerce")
        left = []
        for s, ts in zip(todo, parsed):
            if pd.isna(ts):
                left.append(s)
            else:
                out[s] = ts
        todo = left
    return out


def _date_of(k, parsed: dict) -> pd.Timestamp | None:
    if k is None:
        return None
    tag, v = k
    ts = v if tag == "date" else parsed.get(v) if tag == "str" else None
    if ts is None or not (_TS_MIN <= ts <= _TS_MAX):
        return None
    return ts


# yes/no ----------------------------------------------------------------------------------------------


def _bool_token(k):
    """(vocabulary, truth) of a key, or None when it isn't a yes/no word."""
    tag, v = k
    if tag == "bool":
        return ("true/false", v)
    if tag == "num" and v in (0.0, 1.0):
        return ("1/0", v == 1.0)
    if tag == "str":
        return _BOOL_WORDS.get(v.casefold())
    return None


# ---------------------------------------------------------------------------------------------------
# Kind inference


@dataclass
class _Guess:
    kind: str
    reason: str
    n_missing: int = 0
    n_unreadable: int = 0
    unreadable: list[int] = field(default_factory=list)  # row indexes
    parse: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    n_distinct: int = 0


def _name_words(name: str) -> list[str]:
    return [w.casefold() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|#", name)]


def _id_like_name(name: str) -> bool:
    words = _name_words(name)
    if not words:
        return False
    return words[0] in ID_WORDS or words[-1] in ID_WORDS or words[-1] in ID_LAST_WORDS


def _base_guess(cells: _Cells) -> _Guess:
    """number / boolean / date / image / category / text, before id and constant are considered."""
    n_eff = cells.n_filled - cells.n_placeholder
    n_blank = cells.n_rows - cells.n_filled
    if cells.n_filled == 0:
        return _Guess("constant", "ignored: every cell is blank", n_missing=cells.n_rows)
    if cells.floats is not None:  # only numbers: no text to read
        distinct = np.unique(cells.floats[~np.isnan(cells.floats)])
        if len(distinct) == 2 and distinct[0] == 0.0 and distinct[1] == 1.0:
            return _Guess("boolean", "boolean (1/0)", n_missing=n_blank, n_distinct=2)
        reason = f"number, {n_blank:,} blank{'s' if n_blank != 1 else ''} filled" if n_blank else "number"
        return _Guess("number", reason, n_missing=n_blank, parse={"decimal_comma": False},
                      n_distinct=len(distinct))

    strings = cells.strings()
    n_image = sum(
        c for k, c in cells.counts.items() if k[0] == "str" and k[1].casefold().endswith(IMAGE_EXTENSIONS)
    )
    if n_image >= IMAGE_MIN_SHARE * cells.n_filled:
        g = _Guess("image", "image: file paths to pictures", n_missing=n_blank)
        g.n_distinct = len(cells.counts)
        return g

    if n_eff > 0:
        tokens = {k: _bool_token(k) for k in cells.counts if not _is_placeholder(k)}
        if all(t is not None for t in tokens.values()):
            vocab = {t[0] for t in tokens.values()}
            truths = {t[1] for t in tokens.values()}
            if len(vocab) == 1 and truths == {True, False}:
                spell = {}
                for truth in (True, False):
                    ks = [k for k, t in tokens.items() if t[1] is truth]
                    spell[truth] = _text(max(ks, key=lambda k: cells.counts[k]))
                g = _Guess("boolean", f"boolean ({spell[True]}/{spell[False]})",
                           n_missing=n_blank + cells.n_placeholder)
                g.n_distinct = 2
                return g

        comma = _decimal_comma(strings)
        numbers = {k: _number_of(k, comma) for k in cells.counts if not _is_placeholder(k)}
        n_num = sum(cells.counts[k] for k, x in numbers.items() if x is not None)
        if n_num >= NUMBER_MIN_SHARE * n_eff:
            bad = {k for k, x in numbers.items() if x is None}
            g = _Guess("number", "number", n_missing=n_blank + cells.n_placeholder,
                       parse={"decimal_comma": comma})
            g.unreadable = cells.unreadable_rows(bad)
            g.n_unreadable = len(g.unreadable)
            g.n_distinct = len({x for x in numbers.values() if x is not None})
            filled = g.n_missing + g.n_unreadable
            if filled:
                g.reason = f"number, {filled:,} blank{'s' if filled != 1 else ''} filled"
            return g

        # parse text as dates only where enough of it looks like dates: parsing is the slow part
        maybe = sum(
            c for k, c in cells.counts.items()
            if k[0] == "date" or (k[0] == "str" and _DATE_LOOSE_RE.search(k[1]))
        )
        n_date = 0
        if maybe >= DATE_MIN_SHARE * n_eff:
            order, settled = _date_order(strings)
            parsed = _parse_dates(strings, order)
            dates = {k: _date_of(k, parsed) for k in cells.counts if not _is_placeholder(k)}
            n_date = sum(cells.counts[k] for k, x in dates.items() if x is not None)
        if n_date and n_date >= DATE_MIN_SHARE * n_eff:
            bad = {k for k, x in dates.items() if x is None}
            g = _Guess("date", "date", n_missing=n_blank + cells.n_placeholder,
                       parse={"date_order": order})
            g.unreadable = cells.unreadable_rows(bad)
            g.n_unreadable = len(g.unreadable)
            g.n_distinct = len({x for x in dates.values() if x is not None})
            if not settled and any(_DMY_LIKE_RE.fullmatch(s) for s in strings):
                words = "day/month/year" if order == "dmy" else "month/day/year"
                g.notes.append(f"Dates written like 03/04/2024 were read as {words}.")
            return g

    texts = Counter()
    for k, c in cells.counts.items():
        texts[_text(k)] += c
    spellings = _spellings(texts)
    n_distinct = len(set(spellings.values()))
    words = sum(len(t.split()) * c for t, c in texts.items()) / cells.n_filled
    chars = sum(len(t) * c for t, c in texts.items()) / cells.n_filled
    free = words >= TEXT_MIN_WORDS or chars >= TEXT_MIN_CHARS
    if n_distinct <= CATEGORY_MAX_VALUES or n_distinct <= CATEGORY_MAX_SHARE * cells.n_filled or not free:
        g = _Guess("category", f"category, {n_distinct:,} value{'s' if n_distinct != 1 else ''}",
                   n_missing=n_blank)
        g.parse = {"free_text": free}
        if len(spellings) <= SPELLINGS_KEPT_MAX:  # kept with the model, so predict reads them alike
            g.parse["spellings"] = spellings
        merged = _merged_spellings(texts, spellings)
        if merged:
            g.notes.append(merged)
    else:
        g = _Guess("text", f"text, free text in {len(texts):,} different values", n_missing=n_blank)
        g.parse = {"free_text": free}
        n_distinct = len(texts)
    g.n_distinct = n_distinct
    return g


def _spelling_key(text: str) -> str:
    """'  NEW  york ' and 'New York' are one category: case and runs of spaces don't count."""
    return " ".join(text.split()).casefold()


def _spellings(texts: Counter) -> dict[str, str]:
    """Spelling key → the way the column writes that value most often (ties: the first in sort order)."""
    groups: dict[str, list[str]] = {}
    for t in sorted(texts):
        groups.setdefault(_spelling_key(t), []).append(t)
    return {key: max(ts, key=lambda t: texts[t]) for key, ts in groups.items()}


def _merged_spellings(texts: Counter, spellings: dict[str, str], limit: int = 3) -> str | None:
    """The note saying which spellings were taken as one value, or None when there were none."""
    variants: dict[str, list[str]] = {}
    for t in sorted(texts, key=lambda t: -texts[t]):
        main = spellings[_spelling_key(t)]
        if t != main:
            variants.setdefault(main, []).append(t)
    if not variants:
        return None
    shown = [f"'{main}' (also written " + ", ".join(f"'{v}'" for v in vs[:3])
             + (f" and {len(vs) - 3} more" if len(vs) > 3 else "") + ")"
             for main, vs in list(variants.items())[:limit]]
    more = f" and {len(variants) - limit} more" if len(variants) > limit else ""
    return ("Values that differ only in capitals or spaces were taken as one: " + "; ".join(shown) + more
            + ". Each was read as its most common spelling.")


def _feature_guess(cells: _Cells, name: str) -> _Guess:
    g = _base_guess(cells)
    g.notes = [n.replace("Values that differ", f"In column '{name}', values that differ", 1) for n in g.notes]
    if g.kind in ("constant", "image"):
        return g
    n_blank = cells.n_rows - cells.n_filled
    if g.n_distinct <= 1:
        if min(n_blank, cells.n_filled) >= MARKER_MIN_SHARE * cells.n_rows:
            return _Guess("category", "category, 1 value or blank", n_missing=n_blank, n_distinct=1)
        where = "row" if n_blank == 0 else "filled row"
        return _Guess("constant", f"ignored: the same value on every {where}", n_missing=n_blank,
                      n_distinct=g.n_distinct)
    all_different = g.n_distinct == cells.n_filled and cells.n_filled >= ID_MIN_ROWS
    if not all_different or g.n_unreadable:
        return g
    if g.kind == "number":
        comma = g.parse["decimal_comma"]
        if cells.floats is not None:
            in_order = cells.floats[~np.isnan(cells.floats)]
        else:
            in_order = np.array([x for k in cells.rows if (x := _number_of(k, comma)) is not None], dtype=float)
        whole = bool(np.all(np.mod(in_order, 1) == 0))
        # row numbers: 1, 2, 3… down the sheet (a sorted run of another quantity would be rare)
        run = whole and bool(np.all(np.diff(in_order) == 1))
        if whole and (run or _id_like_name(name)):
            return _Guess("id", "ignored: a different value on every row", n_missing=n_blank,
                          n_distinct=g.n_distinct)
    elif g.kind in ("category", "text") and (not g.parse.get("free_text") or _id_like_name(name)):
        return _Guess("id", "ignored: a different value on every row", n_missing=n_blank,
                      n_distinct=g.n_distinct)
    return g


def _forced_guess(cells: _Cells, kind: str) -> _Guess:
    """The user set the kind: count what doesn't read as that kind, but keep it."""
    n_blank = cells.n_rows - cells.n_filled
    g = _Guess(kind, f"{kind} (you chose this)", n_missing=n_blank)
    strings = cells.strings()
    if kind == "number":
        comma = _decimal_comma(strings)
        g.parse = {"decimal_comma": comma}
        bad = {k for k in cells.counts if not _is_placeholder(k) and _number_of(k, comma) is None}
    elif kind == "date":
        order, _ = _date_order(strings)
        g.parse = {"date_order": order}
        parsed = _parse_dates(strings, order)
        bad = {k for k in cells.counts if not _is_placeholder(k) and _date_of(k, parsed) is None}
    elif kind == "boolean":
        bad = {k for k in cells.counts if not _is_placeholder(k) and _bool_token(k) is None}
    else:
        bad = set()
    if kind in ("number", "date", "boolean"):
        g.n_missing += cells.n_placeholder
    g.unreadable = cells.unreadable_rows(bad)
    g.n_unreadable = len(g.unreadable)
    return g


def _unreadable_note(table: Table, col: str, g: _Guess) -> str:
    cells = [table.cell(col, j) for j in g.unreadable]
    what = {"number": "text", "date": "cells that are not dates", "boolean": "cells that are not yes/no"}
    n = len(cells)
    return (
        f"Column '{col}' has {what.get(g.kind, 'unreadable cells')} in {n:,} row{'s' if n != 1 else ''} "
        f"({cell_list(cells)}); they were treated as blank."
    )


# ---------------------------------------------------------------------------------------------------
# Names


def _key(name) -> str:
    return "".join(str(name).split()).casefold()


def _column_listing(columns) -> str:
    cols = list(columns)
    if not cols:
        return "(none)"
    shown = ", ".join(cols[:40])
    return shown + (f" and {len(cols) - 40} more" if len(cols) > 40 else "")


def _find(columns: list[str], name: str) -> int | None:
    """Index of the column called ``name``: exactly, else ignoring case and spaces (if unambiguous)."""
    for i, c in enumerate(columns):
        if c == name:
            return i
    hits = [i for i, c in enumerate(columns) if _key(c) == _key(name)]
    return hits[0] if len(hits) == 1 else None


def _resolve(table: Table, name, what: str) -> int:
    i = _find(table.columns, str(name))
    if i is None:
        raise DataError(
            f"There is no column '{name}' on sheet '{table.sheet}'. "
            f"The columns are: {_column_listing(table.columns)}.",
            hint=f"Check the spelling of {what}.",
            sheet=table.sheet,
            column=str(name),
        )
    return i


def _is_output_column(name: str, target: str, has_prediction: bool) -> bool:
    base = re.sub(r" \(\d+\)$", "", name.strip())
    if _key(base) == _key(f"Predicted {target}"):
        return True
    return has_prediction and any(_key(base) == _key(o) for o in OUTPUT_COLUMNS)


# ---------------------------------------------------------------------------------------------------
# Target labels


def _label(k, base_kind: str, decimal_comma: bool = False):
    """A target cell as the label the user wrote: stripped text, whole numbers as int, bools as bool."""
    if k is None:
        return None
    tag, v = k
    if base_kind == "number":
        x = _number_of(k, decimal_comma)
        if x is None:
            return None
        return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)
    if tag == "bool":
        return v
    if tag == "num":
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if tag == "str":
        return v
    return _text(k)


def _label_key(label):
    if isinstance(label, bool):
        return ("bool", label)
    if isinstance(label, (int, float)):
        return ("num", float(label))
    return ("str", " ".join(str(label).split()).casefold())


def _sort_key(label):
    if isinstance(label, (bool, int, float)):
        return (0, float(label), 0 if isinstance(label, bool) else 1, "")
    return (1, 0.0, 0, str(label).casefold() + "\x00" + str(label))


def _show(labels, limit: int = 5) -> str:
    shown = [str(_text(("bool", x)) if isinstance(x, bool) else x) for x in labels[:limit]]
    more = f" and {len(labels) - limit:,} more" if len(labels) > limit else ""
    return ", ".join(shown) + more


def _target_error_where(table: Table, i: int) -> str:
    return f"'{table.columns[i]}' (column {table.letters[i]})" if i < len(table.letters) else f"'{table.columns[i]}'"


# ---------------------------------------------------------------------------------------------------


def infer_schema(
    table: Table,
    *,
    target: str,
    ignore=(),
    task: TaskSetting = "auto",
    kinds: dict[str, Kind] | None = None,
) -> Schema:
    """Decide each column's kind and role, and the task, with a reason in plain words for each."""
    if task not in ("auto", "classification", "regression"):
        raise SettingsError(
            f"The task '{task}' is not one SheetDL knows.",
            hint="Use auto, classification or regression.",
        )
    seen: dict[str, str] = {}
    for c in table.columns:
        if c in seen:
            raise DataError(
                f"Two columns on sheet '{table.sheet}' are both named '{c}'.",
                hint="Give each column its own name in the header row.",
                sheet=table.sheet,
                column=c,
            )
        seen[c] = c
    if isinstance(ignore, str):
        ignore = [ignore]
    t_idx = _resolve(table, target, "the target column")
    target_name = table.columns[t_idx]
    ignored = {_resolve(table, n, "the columns to ignore") for n in ignore or ()}
    overrides: dict[int, str] = {}
    for n, k in (kinds or {}).items():
        if k not in _KINDS:
            raise SettingsError(
                f"The kind '{k}' set for column '{n}' is not one SheetDL knows.",
                hint="Use one of: " + ", ".join(_KINDS) + ".",
                column=str(n),
            )
        overrides[_resolve(table, n, "the column names given with their kinds")] = k
    if t_idx in ignored:
        raise DataError(
            f"'{target_name}' is the target column, so it can't also be ignored.",
            hint="Remove it from the columns to ignore, or choose another target.",
            sheet=table.sheet,
            column=target_name,
        )

    has_prediction = any(
        _is_output_column(c, target_name, False) for i, c in enumerate(table.columns) if i != t_idx
    )
    columns: list[Column] = []
    target_col = None
    target_info = None
    for i, name in enumerate(table.columns):
        letter = table.letters[i] if i < len(table.letters) else ""
        arr = table.values.iloc[:, i].to_numpy(dtype=object)
        if i == t_idx:
            target_col, target_info = _infer_target(table, i, arr, task, overrides.get(i))
            columns.append(target_col)
            continue
        if i in ignored:
            columns.append(Column(name, "constant", "ignored", "ignored: you asked to ignore it", letter,
                                  n_missing=int(sum(v is None for v in arr))))
            _set_ignored_kind(columns[-1], arr, name)
            continue
        if _is_output_column(name, target_name, has_prediction):
            columns.append(Column(name, "text", "ignored", "ignored: SheetDL's own output from an earlier run",
                                  letter))
            _set_ignored_kind(columns[-1], arr, name)
            continue
        cells = _Cells(arr)
        g = _forced_guess(cells, overrides[i]) if i in overrides else _feature_guess(cells, name)
        role = "feature"
        reason = g.reason
        notes = list(g.notes)
        if g.kind not in FEATURE_KINDS:
            role = "ignored"
            if i in overrides:
                reason = f"ignored: you set it as {g.kind}"
        if g.n_unreadable:
            notes.append(_unreadable_note(table, name, g))
        columns.append(Column(name, g.kind, role, reason, letter, n_missing=int(g.n_missing),
                              n_unreadable=int(g.n_unreadable), notes=notes, parse=dict(g.parse)))

    task_, task_reason, classes = target_info
    return Schema(columns=columns, target=target_name, task=task_, task_reason=task_reason, classes=classes)


def _set_ignored_kind(col: Column, arr: np.ndarray, name: str) -> None:
    """An ignored column still gets a kind, so the report can say what it held."""
    try:
        col.kind = _feature_guess(_Cells(arr), name).kind
    except Exception:  # the kind of a column nobody uses is a nicety
        pass


def _infer_target(table: Table, i: int, arr: np.ndarray, task: str, forced_kind: str | None):
    name = table.columns[i]
    letter = table.letters[i] if i < len(table.letters) else ""
    where = _target_error_where(table, i)
    all_cells = _Cells(arr)
    labelled = all_cells.filled
    if not labelled.any():
        raise DataError(
            f"Every cell in the target column {where} is blank, so there is nothing to learn from.",
            hint="Fill in the target for the rows you know.",
            sheet=table.sheet,
            column=name,
        )
    cells = all_cells.subset(labelled)
    g = _forced_guess(cells, forced_kind) if forced_kind else _base_guess(cells)
    kind = g.kind
    if kind in ("date", "image"):
        what = "dates" if kind == "date" else "picture file names"
        raise DataError(
            f"The target column {where} holds {what}; SheetDL can predict categories or numbers.",
            hint="Choose a column of categories (like Yes/No) or numbers as the target.",
            sheet=table.sheet,
            column=name,
        )
    comma = bool(g.parse.get("decimal_comma", False))
    numeric = kind == "number" or (kind == "boolean" and g.reason.endswith("(1/0)"))
    col = Column(name, kind if kind in _KINDS else "category", "target", "target", letter,
                 n_missing=int(all_cells.n_rows - cells.n_filled), parse=dict(g.parse))

    if task == "regression" or (task == "auto" and kind == "number"):
        if not numeric:
            if task == "regression":
                raise DataError(
                    f"The target column {where} holds {'yes/no values' if kind == 'boolean' else 'text'}, "
                    "not numbers, so it can't be predicted as a number (regression).",
                    hint="Set the task to classification, or choose a column of numbers as the target.",
                    sheet=table.sheet,
                    column=name,
                )
        if cells.floats is not None:
            bad, nums = [], cells.floats
        else:
            values = [_number_of(k, comma) for k in cells.rows]
            bad = [j for j, x in zip(np.flatnonzero(labelled), values) if x is None]
            nums = np.array([x for x in values if x is not None], dtype=float)
        if bad:
            col.n_unreadable = len(bad)
            g.unreadable = [int(j) for j in bad]
            g.kind = "number"
            col.notes.append(_unreadable_note(table, name, g))
        distinct = np.unique(nums)
        whole = bool(len(nums)) and bool(np.all(np.mod(nums, 1) == 0))
        limit = CLASSIFICATION_MAX_INT_CLASSES_MANY_ROWS if len(nums) >= MANY_ROWS else CLASSIFICATION_MAX_INT_CLASSES
        if task == "auto" and whole and 2 <= len(distinct) <= limit:
            pass  # few whole numbers: classes, handled below
        else:
            if len(distinct) == 1:
                raise _same_value_error(table, i, _show([_label(("num", float(distinct[0])), "number")]))
            if len(nums) < REGRESSION_MIN_ROWS:
                raise DataError(
                    f"Only {len(nums)} row{'s' if len(nums) != 1 else ''} have a number in the target "
                    f"column {where}; SheetDL needs at least {REGRESSION_MIN_ROWS} to learn from.",
                    hint="Fill in the target for more of the rows you know.",
                    sheet=table.sheet,
                    column=name,
                )
            col.kind = "number"
            if task == "regression":
                reason = f"regression: you asked for it; '{name}' holds numbers with {len(distinct):,} different values"
            else:
                reason = f"regression: '{name}' holds numbers with {len(distinct):,} different values"
            return col, ("regression", reason, None)

    # classification
    labels = [_label(k, kind, comma) for k in cells.rows]
    spelling: dict[tuple, Counter] = {}
    for lab in labels:
        if lab is not None:
            spelling.setdefault(_label_key(lab), Counter())[lab] += 1
    # one class per label key (so "yes" and "Yes" are one class), spelt the most common way;
    # counted by key, since False == 0 and True == 1 would merge in a plain Counter
    by_key = {key: max(sorted(c, key=_sort_key), key=lambda s: c[s]) for key, c in spelling.items()}
    size = {key: sum(c.values()) for key, c in spelling.items()}
    classes = sorted(by_key.values(), key=_sort_key)
    if len(classes) == 1:
        raise _same_value_error(table, i, _show(classes))
    n_labelled = sum(size.values())
    if len(classes) == n_labelled and n_labelled >= ID_MIN_ROWS:
        raise DataError(
            f"The target column {where} has a different value on every labelled row, "
            "so there are no groups to learn.",
            hint="Choose a column whose values repeat (like categories) or hold numbers as the target.",
            sheet=table.sheet,
            column=name,
        )
    if len(classes) > TARGET_MAX_CLASSES and n_labelled < TARGET_MIN_ROWS_PER_CLASS * len(classes):
        raise DataError(
            f"The target column {where} holds {len(classes):,} different values in {n_labelled:,} labelled "
            f"rows (about {n_labelled / len(classes):.1f} rows each), too few to learn each one "
            f"({_show(classes)}).",
            hint=f"Choose a target with fewer values, group rare values into one (like 'Other'), or label "
                 f"at least {TARGET_MIN_ROWS_PER_CLASS} rows for each value.",
            sheet=table.sheet,
            column=name,
        )
    variants = {by_key[key]: [str(v) for v in c if v != by_key[key]] for key, c in spelling.items()
                if isinstance(by_key[key], str) and len(c) > 1}
    if variants:
        shown = "; ".join(f"'{main}' (also written " + ", ".join(f"'{v}'" for v in vs[:3]) + ")"
                          for main, vs in list(variants.items())[:3])
        col.notes.append(f"In the target '{name}', labels that differ only in capitals or spaces were taken "
                         f"as one: {shown}. Predictions use the most common spelling.")
    lonely = [c for c in classes if size[_label_key(c)] == 1]
    if lonely:
        col.notes.append(
            f"Only one labelled row has {_show(lonely)} in '{name}'; SheetDL can't learn much about "
            f"{'it' if len(lonely) == 1 else 'them'}. Label more rows like {'it' if len(lonely) == 1 else 'them'} if you can."
        )
    if task == "classification":
        reason = f"classification: you asked for it; '{name}' holds {len(classes):,} different values ({_show(classes)})"
    elif numeric and kind == "number":
        reason = (f"classification: '{name}' holds whole numbers with only {len(classes):,} "
                  f"different values ({_show(classes)})")
    else:
        reason = f"classification: '{name}' holds {len(classes):,} categories ({_show(classes)})"
    return col, ("classification", reason, classes)


def _same_value_error(table: Table, i: int, value: str) -> DataError:
    name = table.columns[i]
    return DataError(
        f"'{name}' has the same value '{value}' on every labelled row, so there is nothing to tell apart.",
        hint="Fill in the target for rows with other values, or choose another target column.",
        sheet=table.sheet,
        column=name,
    )


# ---------------------------------------------------------------------------------------------------
# Typed frame


def typed_frame(table: Table, schema: Schema) -> pd.DataFrame:
    """Raw cells → typed columns for the features and the target (see the module docstring).

    Columns are found by name (ignoring case and spaces), so a schema saved with a model works on
    another table with the same columns; a missing target column is all blank (nothing labelled).
    """
    wanted = [c for c in schema.columns if c.role in ("feature", "target")]
    found: dict[str, int | None] = {c.name: _find(table.columns, c.name) for c in wanted}
    missing = [c.name for c in wanted if c.role == "feature" and found[c.name] is None]
    if missing:
        listed = ", ".join(f"'{m}'" for m in missing)
        raise DataError(
            f"Sheet '{table.sheet}' has no column{'s' if len(missing) > 1 else ''} {listed}, which the "
            f"model learned from. The columns are: {_column_listing(table.columns)}.",
            hint="Add the missing columns (with the same header) or rename them back.",
            sheet=table.sheet,
            column=missing[0],
        )
    n = table.n_rows
    out: dict[str, pd.Series] = {}
    for c in wanted:
        i = found[c.name]
        arr = table.values.iloc[:, i].to_numpy(dtype=object) if i is not None else np.full(n, None, dtype=object)
        cells = _Cells(arr)
        if c.role == "target":
            out[c.name] = _typed_target(cells, c, schema)
        else:
            out[c.name] = _typed(cells, c.kind, c.parse)
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    return frame


def _typed(cells: _Cells, kind: str, parse: dict) -> pd.Series:
    if cells.floats is not None and kind in ("number", "boolean"):
        f = cells.floats.copy()
        if kind == "boolean":
            f[(f != 0.0) & (f != 1.0)] = np.nan
        return pd.Series(f, dtype="float64")
    rows = cells.rows
    if kind == "number":
        comma = parse.get("decimal_comma")
        if comma is None:
            comma = _decimal_comma(cells.strings())
        conv = {k: _number_of(k, comma) for k in cells.counts}
        vals = [np.nan if k is None or conv[k] is None else conv[k] for k in rows]
        return pd.Series(np.array(vals, dtype="float64"))
    if kind == "boolean":
        conv = {k: _bool_token(k) for k in cells.counts}
        vals = [np.nan if k is None or conv[k] is None else float(conv[k][1]) for k in rows]
        return pd.Series(np.array(vals, dtype="float64"))
    if kind == "date":
        strings = cells.strings()
        order = parse.get("date_order") or _date_order(strings)[0]
        parsed = _parse_dates(strings, order)
        conv = {k: _date_of(k, parsed) for k in cells.counts}
        vals = np.array(
            [np.datetime64("NaT", "ns") if k is None or conv[k] is None else conv[k].to_datetime64() for k in rows],
            dtype="datetime64[ns]",
        ) if rows else np.array([], dtype="datetime64[ns]")
        return pd.Series(vals, dtype="datetime64[ns]")
    # category, text, image (and anything else) as text
    conv = {k: _text(k) for k in cells.counts}
    if kind == "category":  # one spelling per value: the training table's, else this table's commonest
        known = parse.get("spellings") or {}
        texts = Counter()
        for k, c in cells.counts.items():
            texts[conv[k]] += c
        here = _spellings(texts)
        conv = {k: known.get(_spelling_key(t)) or here[_spelling_key(t)] for k, t in conv.items()}
    return pd.Series([None if k is None else conv[k] for k in rows], dtype=object)


def _typed_target(cells: _Cells, col: Column, schema: Schema) -> pd.Series:
    if schema.task == "regression":
        return _typed(cells, "number", col.parse)
    comma = bool(col.parse.get("decimal_comma", False))
    known = {_label_key(c): c for c in schema.classes or []}
    conv = {}
    for k in cells.counts:
        lab = _label(k, col.kind, comma)
        if lab is not None:
            lab = known.get(_label_key(lab), lab)
        conv[k] = lab
    return pd.Series([None if k is None else conv[k] for k in cells.rows], dtype=object)
