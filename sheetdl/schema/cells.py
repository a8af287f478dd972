"""Reading cell values: what a raw cell holds, in the workbook's own spelling.

Kind inference (``kinds.py``) and the typed frame (``typed.py``) both read cells through here, so a
column is read the same way when its kind is decided and when a model learns from it or predicts:

- every raw value gets a normalised key ``(tag, value)`` (``_norm``); blank cells get None, and one
  column's keys are computed once (``Cells``);
- numbers written as text: "1,234", "3,5" (decimal comma, decided per column), "12%", "$5", "(3)";
- dates written as text: ISO, 03/04/2024 (day or month first, decided per column), "4 Mar 2024";
- yes/no words: yes/no, y/n, true/false, 1/0;
- spellings of a category that differ only in case or spacing, read as one value;
- target labels as the user wrote them, and finding a column by name ignoring case and spaces.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections import Counter

import numpy as np
import pandas as pd

#: cells that mean "no value" in a number, date or yes/no column: blank, not unreadable
PLACEHOLDERS = frozenset({"n/a", "na", "-", "--", "?", "null", "none", "missing", "nan", "#n/a"})

_BOOL_WORDS = {
    "yes": ("yes/no", True), "no": ("yes/no", False),
    "y": ("y/n", True), "n": ("y/n", False),
    "true": ("true/false", True), "false": ("true/false", False),
    "1": ("1/0", True), "0": ("1/0", False),
}


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


class Cells:
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
            floats = self.floats if self.floats is not None else np.zeros(0)
            self._rows = [None if x != x else ("num", x) for x in floats.tolist()]
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

    def subset(self, mask: np.ndarray) -> Cells:
        sub = Cells.__new__(Cells)
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


def is_placeholder(k) -> bool:
    return k is not None and k[0] == "str" and k[1].casefold() in PLACEHOLDERS


def cell_text(k) -> str:
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


def guess_decimal_comma(strings) -> bool:
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


def number_of(k, decimal_comma: bool) -> float | None:
    if k is None:
        return None
    tag, v = k
    if tag in ("num", "time"):
        return v
    if tag == "str":
        return _parse_number(v, decimal_comma)
    return None


# dates written as text -------------------------------------------------------------------------------

DMY_LIKE_RE = re.compile(r"\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*")
DATE_LOOSE_RE = re.compile(
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


def date_order(strings) -> tuple[str, bool]:
    """'dmy' or 'mdy' for dates like 03/04/2024, decided for the whole column; and whether the
    column's own dates settle it (a day above 12 on one side)."""
    day_first = month_first = 0
    seps: Counter[str] = Counter()
    for s in strings:
        m = DMY_LIKE_RE.fullmatch(s)
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


def parse_dates(strings, order: str) -> dict[str, pd.Timestamp]:
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


def date_of(k, parsed: dict) -> pd.Timestamp | None:
    if k is None:
        return None
    tag, v = k
    ts = v if tag == "date" else parsed.get(v) if tag == "str" else None
    if ts is None or not (_TS_MIN <= ts <= _TS_MAX):
        return None
    return ts


# yes/no ----------------------------------------------------------------------------------------------


def bool_token(k):
    """(vocabulary, truth) of a key, or None when it isn't a yes/no word."""
    tag, v = k
    if tag == "bool":
        return ("true/false", v)
    if tag == "num" and v in (0.0, 1.0):
        return ("1/0", v == 1.0)
    if tag == "str":
        return _BOOL_WORDS.get(v.casefold())
    return None


# spellings -------------------------------------------------------------------------------------------


def spelling_key(text: str) -> str:
    """'  NEW  york ' and 'New York' are one category: case and runs of spaces don't count."""
    return " ".join(text.split()).casefold()


def common_spellings(texts: Counter) -> dict[str, str]:
    """Spelling key → the way the column writes that value most often (ties: the first in sort order)."""
    groups: dict[str, list[str]] = {}
    for t in sorted(texts):
        groups.setdefault(spelling_key(t), []).append(t)
    return {key: max(ts, key=lambda t: texts[t]) for key, ts in groups.items()}


# ---------------------------------------------------------------------------------------------------
# Names: a column is found by its header, ignoring case and spaces


def name_key(name) -> str:
    return "".join(str(name).split()).casefold()


def column_listing(columns) -> str:
    cols = list(columns)
    if not cols:
        return "(none)"
    shown = ", ".join(cols[:40])
    return shown + (f" and {len(cols) - 40} more" if len(cols) > 40 else "")


def find_column(columns: list[str], name: str) -> int | None:
    """Index of the column called ``name``: exactly, else ignoring case and spaces (if unambiguous)."""
    for i, c in enumerate(columns):
        if c == name:
            return i
    hits = [i for i, c in enumerate(columns) if name_key(c) == name_key(name)]
    return hits[0] if len(hits) == 1 else None


# ---------------------------------------------------------------------------------------------------
# Target labels


def label_of(k, base_kind: str, decimal_comma: bool = False):
    """A target cell as the label the user wrote: stripped text, whole numbers as int, bools as bool."""
    if k is None:
        return None
    tag, v = k
    if base_kind == "number":
        x = number_of(k, decimal_comma)
        if x is None:
            return None
        return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)
    if tag == "bool":
        return v
    if tag == "num":
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if tag == "str":
        return v
    return cell_text(k)


def label_key(label):
    if isinstance(label, bool):
        return ("bool", label)
    if isinstance(label, (int, float)):
        return ("num", float(label))
    return ("str", " ".join(str(label).split()).casefold())


def label_sort_key(label):
    if isinstance(label, (bool, int, float)):
        return (0, float(label), 0 if isinstance(label, bool) else 1, "")
    return (1, 0.0, 0, str(label).casefold() + "\x00" + str(label))
