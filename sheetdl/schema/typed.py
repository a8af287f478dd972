"""``typed_frame``: a Table's raw cells as typed pandas columns, read the way its Schema says.

The model reads its features and target through here, both when it trains and when it predicts on
a new table, so a column is read the same way each time (see ``sheetdl.schema``'s docstring for the type
each kind becomes).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..sheets import Table
from .cells import (
    Cells,
    bool_token,
    cell_text,
    column_listing,
    common_spellings,
    date_of,
    date_order,
    find_column,
    guess_decimal_comma,
    label_key,
    label_of,
    number_of,
    parse_dates,
    spelling_key,
)
from .infer import Column, Schema


def typed_frame(table: Table, schema: Schema) -> pd.DataFrame:
    """Raw cells → typed columns for the features and the target (see the module docstring).

    Columns are found by name (ignoring case and spaces), so a schema saved with a model works on
    another table with the same columns; a missing target column is all blank (nothing labelled).
    """
    wanted = [c for c in schema.columns if c.role in ("feature", "target")]
    found: dict[str, int | None] = {c.name: find_column(table.columns, c.name) for c in wanted}
    missing = [c.name for c in wanted if c.role == "feature" and found[c.name] is None]
    if missing:
        listed = ", ".join(f"'{m}'" for m in missing)
        raise DataError(
            f"Sheet '{table.sheet}' has no column{'s' if len(missing) > 1 else ''} {listed}, which the "
            f"model learned from. The columns are: {column_listing(table.columns)}.",
            hint="Add the missing columns (with the same header) or rename them back.",
            sheet=table.sheet,
            column=missing[0],
        )
    n = table.n_rows
    out: dict[str, pd.Series] = {}
    for c in wanted:
        i = found[c.name]
        arr = table.values.iloc[:, i].to_numpy(dtype=object) if i is not None else np.full(n, None, dtype=object)
        cells = Cells(arr)
        if c.role == "target":
            out[c.name] = _typed_target(cells, c, schema)
        else:
            out[c.name] = _typed(cells, c.kind, c.parse)
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    return frame


def _typed(cells: Cells, kind: str, parse: dict) -> pd.Series:
    if cells.floats is not None and kind in ("number", "boolean"):
        f = cells.floats.copy()
        if kind == "boolean":
            f[(f != 0.0) & (f != 1.0)] = np.nan
        return pd.Series(f, dtype="float64")
    rows = cells.rows
    conv: dict[Any, Any]
    if kind == "number":
        comma = parse.get("decimal_comma")
        if comma is None:
            comma = guess_decimal_comma(cells.strings())
        conv = {k: number_of(k, comma) for k in cells.counts}
        vals = [np.nan if k is None or conv[k] is None else conv[k] for k in rows]
        return pd.Series(np.array(vals, dtype="float64"))
    if kind == "boolean":
        conv = {k: bool_token(k) for k in cells.counts}
        vals = [np.nan if k is None or conv[k] is None else float(conv[k][1]) for k in rows]
        return pd.Series(np.array(vals, dtype="float64"))
    if kind == "date":
        strings = cells.strings()
        order = parse.get("date_order") or date_order(strings)[0]
        parsed = parse_dates(strings, order)
        conv = {k: date_of(k, parsed) for k in cells.counts}
        dates = np.array(
            [np.datetime64("NaT", "ns") if k is None or conv[k] is None else conv[k].to_datetime64() for k in rows],
            dtype="datetime64[ns]",
        ) if rows else np.array([], dtype="datetime64[ns]")
        return pd.Series(dates, dtype="datetime64[ns]")
    # category, text, image (and anything else) as text
    conv = {k: cell_text(k) for k in cells.counts}
    if kind == "category":  # one spelling per value: the training table's, else this table's commonest
        known = parse.get("spellings") or {}
        texts: Counter[str] = Counter()
        for k, c in cells.counts.items():
            texts[conv[k]] += c
        here = common_spellings(texts)
        conv = {k: known.get(spelling_key(t)) or here[spelling_key(t)] for k, t in conv.items()}
    return pd.Series([None if k is None else conv[k] for k in rows], dtype=object)


def _typed_target(cells: Cells, col: Column, schema: Schema) -> pd.Series:
    if schema.task == "regression":
        return _typed(cells, "number", col.parse)
    comma = bool(col.parse.get("decimal_comma", False))
    known = {label_key(c): c for c in schema.classes or []}
    conv = {}
    for k in cells.counts:
        lab = label_of(k, col.kind, comma)
        if lab is not None:
            lab = known.get(label_key(lab), lab)
        conv[k] = lab
    return pd.Series([None if k is None else conv[k] for k in cells.rows], dtype=object)
