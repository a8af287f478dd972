"""The ``SheetDL Importance`` sheet: how much the model relies on each column, in numbers and words.

Importance is the drop in held-out score when a column's values are shuffled (computed in
``engine/explain.py``); this sheet lists it with its spread, a word for it (``importance_words``) and a bar
chart.
"""

from __future__ import annotations

import numpy as np

from ..engine import Results
from ..sheets import AddChart, AddSheet, Edit, SetColumnWidth
from .cells import cell_ref, finite
from .report_sheet import SheetWriter

#: importance in words: "strong" at ≥ half the top drop (and ≥ STRONG_MIN), "some" at ≥ a tenth of
#: it (or ≥ SOME_MIN), "none" at or below NONE_MAX (0.1 points of accuracy / R²), else "little"
IMPORTANCE_STRONG_SHARE = 0.5
IMPORTANCE_STRONG_MIN = 0.02
IMPORTANCE_SOME_SHARE = 0.1
IMPORTANCE_SOME_MIN = 0.01
IMPORTANCE_NONE_MAX = 0.001


def importance_words(drop: float, top: float) -> str:
    """'strong' / 'some' / 'little' / 'none' for a drop in score, relative to the largest drop."""
    if not np.isfinite(drop) or drop <= IMPORTANCE_NONE_MAX:
        return "none"
    if drop >= IMPORTANCE_STRONG_SHARE * top and drop >= IMPORTANCE_STRONG_MIN:
        return "strong"
    if drop >= IMPORTANCE_SOME_SHARE * top or drop >= IMPORTANCE_SOME_MIN:
        return "some"
    return "little"


def importance_sheet(results: Results, name: str) -> list[Edit]:
    s = SheetWriter(name)
    s.edits.append(AddSheet(name))
    regression = results.task == "regression"
    score = "R²" if regression else "accuracy"
    fmt = "0.000" if regression else "0.0%"
    items = sorted(results.importance, key=lambda i: (-finite(i.drop), i.column))
    top = max((finite(i.drop) for i in items), default=0.0)

    s.title("What the model relies on")
    s.lines([f"Importance is how much the model's {score} on rows it did not train on drops when a column's "
             "values are shuffled, so the model can no longer use them.",
             "0 means the model does not use the column; Spread shows how much the drop varied between "
             "repeats."], muted=True)
    s.gap()
    kinds = {c.name: c.kind for c in results.schema.columns}
    body = [[i.column, i.kind or kinds.get(i.column, ""), i.drop, i.spread, importance_words(i.drop, top)]
            for i in items]
    first, last = s.table(["Column", "Kind", f"Importance (drop in {score})", "Spread (±)", "In words"], body,
                          [None, None, fmt, fmt, None], bold_first_col=True)
    s.center(first, last, 5)
    n = len(items)
    s.edits.append(AddChart(
        name, "bar", "Importance",
        series=[f"{cell_ref(first, 3)}:{cell_ref(last, 3)}"],
        categories=f"{cell_ref(first + 1, 1)}:{cell_ref(last, 1)}",
        anchor=cell_ref(first, 7), x_title=None, y_title=f"Drop in {score}", width=16,
        height=round(min(40.0, max(7.5, 0.6 * n + 2.5)), 1), legend=False, reverse_categories=True,
        value_format="0.00" if regression else "0%",
    ))
    for col, width in ((1, 28), (2, 12), (3, 30), (4, 12), (5, 12)):
        s.edits.append(SetColumnWidth(name, col, width))
    return s.edits
