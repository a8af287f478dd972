"""Kind inference for one column: number, category, boolean, date, text, image, id or constant.

``infer_schema`` (``infer.py``) calls ``feature_guess`` for each feature column and ``base_guess`` /
``forced_guess`` for the target; each returns a ``Guess``: the kind, the reason in plain words, the
blank and unreadable cells, and how the column's text is read (``parse``). The thresholds every
decision rests on are named below; the schema package exports them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import cell_list
from ..sheets import Table
from .cells import (
    DATE_LOOSE_RE,
    DMY_LIKE_RE,
    Cells,
    bool_token,
    cell_text,
    common_spellings,
    date_of,
    date_order,
    guess_decimal_comma,
    is_placeholder,
    number_of,
    parse_dates,
    spelling_key,
)

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
#: a cell ending in one of these (any case) names a picture file
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: words that make a column name look like an identifier ("Customer ID", "OrderNo")
ID_WORDS = frozenset({"id", "ids", "key", "code", "uuid", "guid", "ref", "sku", "identifier"})
ID_LAST_WORDS = frozenset({"no", "nr", "num", "number", "#"})


Kind = Literal["number", "category", "boolean", "date", "text", "image", "id", "constant"]


@dataclass
class Guess:
    kind: Kind
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


def base_guess(cells: Cells) -> Guess:
    """number / boolean / date / image / category / text, before id and constant are considered."""
    n_eff = cells.n_filled - cells.n_placeholder
    n_blank = cells.n_rows - cells.n_filled
    if cells.n_filled == 0:
        return Guess("constant", "ignored: every cell is blank", n_missing=cells.n_rows)
    if cells.floats is not None:  # only numbers: no text to read
        distinct = np.unique(cells.floats[~np.isnan(cells.floats)])
        if len(distinct) == 2 and distinct[0] == 0.0 and distinct[1] == 1.0:
            return Guess("boolean", "boolean (1/0)", n_missing=n_blank, n_distinct=2)
        reason = f"number, {n_blank:,} blank{'s' if n_blank != 1 else ''} filled" if n_blank else "number"
        return Guess("number", reason, n_missing=n_blank, parse={"decimal_comma": False},
                      n_distinct=len(distinct))

    strings = cells.strings()
    n_image = sum(
        c for k, c in cells.counts.items() if k[0] == "str" and k[1].casefold().endswith(IMAGE_EXTENSIONS)
    )
    if n_image >= IMAGE_MIN_SHARE * cells.n_filled:
        g = Guess("image", "image: file paths to pictures", n_missing=n_blank)
        g.n_distinct = len(cells.counts)
        return g

    if n_eff > 0:
        tokens = {k: bool_token(k) for k in cells.counts if not is_placeholder(k)}
        if all(t is not None for t in tokens.values()):
            vocab = {t[0] for t in tokens.values()}
            truths = {t[1] for t in tokens.values()}
            if len(vocab) == 1 and truths == {True, False}:
                spell = {}
                for truth in (True, False):
                    ks = [k for k, t in tokens.items() if t[1] is truth]
                    spell[truth] = cell_text(max(ks, key=lambda k: cells.counts[k]))
                g = Guess("boolean", f"boolean ({spell[True]}/{spell[False]})",
                           n_missing=n_blank + cells.n_placeholder)
                g.n_distinct = 2
                return g

        comma = guess_decimal_comma(strings)
        numbers = {k: number_of(k, comma) for k in cells.counts if not is_placeholder(k)}
        n_num = sum(cells.counts[k] for k, x in numbers.items() if x is not None)
        if n_num >= NUMBER_MIN_SHARE * n_eff:
            bad = {k for k, x in numbers.items() if x is None}
            g = Guess("number", "number", n_missing=n_blank + cells.n_placeholder,
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
            if k[0] == "date" or (k[0] == "str" and DATE_LOOSE_RE.search(k[1]))
        )
        n_date = 0
        if maybe >= DATE_MIN_SHARE * n_eff:
            order, settled = date_order(strings)
            parsed = parse_dates(strings, order)
            dates = {k: date_of(k, parsed) for k in cells.counts if not is_placeholder(k)}
            n_date = sum(cells.counts[k] for k, x in dates.items() if x is not None)
        if n_date and n_date >= DATE_MIN_SHARE * n_eff:
            bad = {k for k, x in dates.items() if x is None}
            g = Guess("date", "date", n_missing=n_blank + cells.n_placeholder,
                       parse={"date_order": order})
            g.unreadable = cells.unreadable_rows(bad)
            g.n_unreadable = len(g.unreadable)
            g.n_distinct = len({x for x in dates.values() if x is not None})
            if not settled and any(DMY_LIKE_RE.fullmatch(s) for s in strings):
                words = "day/month/year" if order == "dmy" else "month/day/year"
                g.notes.append(f"Dates written like 03/04/2024 were read as {words}.")
            return g

    texts: Counter[str] = Counter()
    for k, c in cells.counts.items():
        texts[cell_text(k)] += c
    spellings = common_spellings(texts)
    n_distinct = len(set(spellings.values()))
    words_per_cell = sum(len(t.split()) * c for t, c in texts.items()) / cells.n_filled
    chars = sum(len(t) * c for t, c in texts.items()) / cells.n_filled
    free = words_per_cell >= TEXT_MIN_WORDS or chars >= TEXT_MIN_CHARS
    if n_distinct <= CATEGORY_MAX_VALUES or n_distinct <= CATEGORY_MAX_SHARE * cells.n_filled or not free:
        g = Guess("category", f"category, {n_distinct:,} value{'s' if n_distinct != 1 else ''}",
                   n_missing=n_blank)
        g.parse = {"free_text": free}
        if len(spellings) <= SPELLINGS_KEPT_MAX:  # kept with the model, so predict reads them alike
            g.parse["spellings"] = spellings
        merged = _merged_spellings(texts, spellings)
        if merged:
            g.notes.append(merged)
    else:
        g = Guess("text", f"text, free text in {len(texts):,} different values", n_missing=n_blank)
        g.parse = {"free_text": free}
        n_distinct = len(texts)
    g.n_distinct = n_distinct
    return g


def _merged_spellings(texts: Counter, spellings: dict[str, str], limit: int = 3) -> str | None:
    """The note saying which spellings were taken as one value, or None when there were none."""
    variants: dict[str, list[str]] = {}
    for t in sorted(texts, key=lambda t: -texts[t]):
        main = spellings[spelling_key(t)]
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


def feature_guess(cells: Cells, name: str) -> Guess:
    g = base_guess(cells)
    g.notes = [n.replace("Values that differ", f"In column '{name}', values that differ", 1) for n in g.notes]
    if g.kind in ("constant", "image"):
        return g
    n_blank = cells.n_rows - cells.n_filled
    if g.n_distinct <= 1:
        if min(n_blank, cells.n_filled) >= MARKER_MIN_SHARE * cells.n_rows:
            return Guess("category", "category, 1 value or blank", n_missing=n_blank, n_distinct=1)
        where = "row" if n_blank == 0 else "filled row"
        return Guess("constant", f"ignored: the same value on every {where}", n_missing=n_blank,
                      n_distinct=g.n_distinct)
    all_different = g.n_distinct == cells.n_filled and cells.n_filled >= ID_MIN_ROWS
    if not all_different or g.n_unreadable:
        return g
    if g.kind == "number":
        comma = g.parse["decimal_comma"]
        if cells.floats is not None:
            in_order = cells.floats[~np.isnan(cells.floats)]
        else:
            in_order = np.array([x for k in cells.rows if (x := number_of(k, comma)) is not None], dtype=float)
        whole = bool(np.all(np.mod(in_order, 1) == 0))
        # row numbers: 1, 2, 3… down the sheet (a sorted run of another quantity would be rare)
        run = whole and bool(np.all(np.diff(in_order) == 1))
        if whole and (run or _id_like_name(name)):
            return Guess("id", "ignored: a different value on every row", n_missing=n_blank,
                          n_distinct=g.n_distinct)
    elif g.kind in ("category", "text") and (not g.parse.get("free_text") or _id_like_name(name)):
        return Guess("id", "ignored: a different value on every row", n_missing=n_blank,
                      n_distinct=g.n_distinct)
    return g


def forced_guess(cells: Cells, kind: Kind) -> Guess:
    """The user set the kind: count what doesn't read as that kind, but keep it."""
    n_blank = cells.n_rows - cells.n_filled
    g = Guess(kind, f"{kind} (you chose this)", n_missing=n_blank)
    strings = cells.strings()
    if kind == "number":
        comma = guess_decimal_comma(strings)
        g.parse = {"decimal_comma": comma}
        bad = {k for k in cells.counts if not is_placeholder(k) and number_of(k, comma) is None}
    elif kind == "date":
        order, _ = date_order(strings)
        g.parse = {"date_order": order}
        parsed = parse_dates(strings, order)
        bad = {k for k in cells.counts if not is_placeholder(k) and date_of(k, parsed) is None}
    elif kind == "boolean":
        bad = {k for k in cells.counts if not is_placeholder(k) and bool_token(k) is None}
    else:
        bad = set()
    if kind in ("number", "date", "boolean"):
        g.n_missing += cells.n_placeholder
    g.unreadable = cells.unreadable_rows(bad)
    g.n_unreadable = len(g.unreadable)
    return g


def unreadable_note(table: Table, col: str, g: Guess) -> str:
    cells = [table.cell(col, j) for j in g.unreadable]
    what = {"number": "text", "date": "cells that are not dates", "boolean": "cells that are not yes/no"}
    n = len(cells)
    return (
        f"Column '{col}' has {what.get(g.kind, 'unreadable cells')} in {n:,} row{'s' if n != 1 else ''} "
        f"({cell_list(cells)}); they were treated as blank."
    )
