"""Why the model predicts what it does: column importance and per-row reasons.

Both ask the same question of a trained model — what happens to its answer when one column's value
is replaced by another row's? — once over held-out rows (importance: how much the score drops) and
once per row (reasons: which columns pushed this row's answer most).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..encode import EncodedTable, Filled
from ..schema import IMAGE_EXTENSIONS
from .results import Importance

__all__ = ["permutation_importance", "row_reasons"]

#: permutation repeats per fold model at most (fewer when the time budget runs short)
REPEATS = 3
#: ...and only as many as it takes to shuffle about this many rows per column and fold: a fold of
#: 3,000+ held-out rows measures a column's drop as well in one shuffle as a small one does in three
#: (on a 10,000-row sheet, 3 repeats took ~3 s of a ~18 s run)
PERMUTED_ROWS = 3_000
#: per-row reasons use every fold model while rows × columns × models stays under this
REASON_BUDGET_ROWS = 2_000_000
#: a column is named as a reason only if it moved the answer at least this much
MIN_PROBABILITY_EFFECT = 0.02  # 2 percentage points
MIN_NUMBER_EFFECT_SD = 0.02  # 2% of the target's standard deviation
#: a sure answer (99.9 %) hardly moves when one column is made typical, though the columns that make it
#: sure may still be clear: those that move its log-odds by at least this much (odds × e) are named
#: as agreeing, when no column moves the probability itself
MIN_LOG_ODDS_EFFECT = 1.0


def _replace(enc: EncodedTable, block: str, idx: list[int], source_rows: np.ndarray) -> EncodedTable:
    """A copy of ``enc`` whose column (block, idx) takes its values from ``source_rows``."""
    if block == "images":  # one array per picture column: swap in the other rows' pictures
        images = list(enc.images)
        images[idx[0]] = enc.images[idx[0]][source_rows]
        return EncodedTable(enc.numeric, enc.categorical, enc.text, tuple(images))
    numeric, categorical, text = enc.numeric, enc.categorical, enc.text
    if block == "numeric":
        numeric = numeric.copy()
        numeric[:, idx] = enc.numeric[source_rows][:, idx]
    elif block == "categorical":
        categorical = categorical.copy()
        categorical[:, idx] = enc.categorical[source_rows][:, idx]
    else:
        text = text.copy()
        text[:, idx] = enc.text[source_rows][:, idx]
    return EncodedTable(numeric, categorical, text, enc.images)


def _score(task: str, out: np.ndarray, y: np.ndarray) -> float:
    if task == "classification":
        return float((out.argmax(1) == y).mean())
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return 1.0 - float(((out - y) ** 2).sum()) / ss_tot


def permutation_importance(members, frame: pd.DataFrame, y: np.ndarray, labelled: np.ndarray,
                           folds: np.ndarray, task: str, predict, *, seed: int = 0,
                           deadline: float | None = None, kinds: dict[str, str] | None = None) -> list[Importance]:
    """Score drop on each member's held-out rows when one input column is shuffled among them.

    ``predict(member, enc) -> outputs`` (its network blended with its trees); ``y`` holds encoded
    targets of the labelled rows. A categorical column is one input, not one per level; so is a date
    (its several numbers move together).
    """
    rng = np.random.default_rng(seed)
    drops: dict[str, list[float]] = {}
    for f, m in enumerate(members):
        pos = np.flatnonzero(folds == f)
        if len(pos) < 2:
            continue
        enc = m.encoder.transform(frame.iloc[labelled[pos]])
        base = _score(task, predict(m, enc), y[pos])
        repeats = min(REPEATS, max(1, -(-PERMUTED_ROWS // len(pos))))
        for col, (block, idx) in m.encoder.slices().items():
            for _ in range(repeats):
                if deadline is not None and time.monotonic() > deadline and drops.get(col):
                    break
                shuffled = _replace(enc, block, idx, rng.permutation(len(pos)))
                drops.setdefault(col, []).append(base - _score(task, predict(m, shuffled), y[pos]))
    out = [
        Importance(column=c, drop=float(np.mean(d)), spread=float(np.std(d)), kind=(kinds or {}).get(c, ""))
        for c, d in drops.items()
    ]
    return sorted(out, key=lambda i: -i.drop)


def _typical(enc: EncodedTable, encoder, column: str) -> EncodedTable:
    """A copy of ``enc`` (encoded by ``encoder``, a TableEncoder) whose ``column`` holds a typical
    value: the training median for numbers and dates (encoded as 0, not missing), the most frequent
    category of the encoder's training rows (its typical_code: 0 where it kept no value, so it has
    no other code), no words, and for pictures the average picture of these rows (features or pixels)."""
    block, idx = encoder.slices()[column]
    if block == "images":
        images = list(enc.images)
        a = enc.images[idx[0]]
        mean = a.astype(np.float32).mean(axis=0) if len(a) else np.zeros(a.shape[1:], np.float32)
        images[idx[0]] = np.repeat(mean.astype(a.dtype)[None], len(a), axis=0)
        return EncodedTable(enc.numeric, enc.categorical, enc.text, tuple(images))
    numeric, categorical, text = enc.numeric, enc.categorical, enc.text
    if block == "numeric":
        numeric = numeric.copy()
        numeric[:, idx] = 0.0
    elif block == "categorical":
        categorical = categorical.copy()
        categorical[:, idx] = encoder.encoders[column].typical_code
    else:
        text = text.copy()
        text[:, idx] = 0
    return EncodedTable(numeric, categorical, text, enc.images)


def row_reasons(members, frame: pd.DataFrame, raw: pd.DataFrame, task: str, predict_all,
                chosen: np.ndarray | None, *, target_sd: float = 1.0, number_format=None,
                groups: list[tuple[np.ndarray, list]] | None = None, filled: Filled | None = None) -> list[str]:
    """For each row, the one to three columns that pushed its answer most, in words.

    The effect of a column is how much the answer moves when its value is replaced by a typical
    one (occlusion): "Flipper length (mm) = 217 (+41%)" means that flipper length, rather than a
    typical one, raised the probability of the predicted class by 41 points. ``predict_all(members,
    encs)`` averages the members; ``chosen`` is each row's predicted class index (classification).
    ``groups``: (row positions, the members whose answer those rows show), so a labelled row is
    explained by the fold model that gave its held-out answer, not by models that trained on it;
    default: every row by every member. ``filled`` (encode.Filled): rows with blanks the model never
    saw were answered as the average over their nearest training rows' values there; for them a
    column is made typical before those rows are chosen (see _refilled_effects), the blank cells are
    not credited (their values were not the row's) but named as blank. One pass per column and
    member keeps this cheap enough for every row of a sheet.
    """
    n = len(frame)
    if n == 0 or not members:
        return []
    slices = members[0].encoder.slices()
    if not slices:
        return [""] * n
    columns = list(slices)
    if filled is None:
        filled = Filled.identity(frame)
    groups = groups if groups is not None else [(np.arange(n), list(members))]
    rows_predicted = filled.frame
    chosen_each = None if chosen is None else filled.expand(np.asarray(chosen))
    effects = np.zeros((len(rows_predicted), len(columns)))
    odds = np.zeros((len(rows_predicted), len(columns)))  # the same effects on the log-odds (classification)
    for rows, group in groups:
        rows = filled.positions(rows)
        if len(rows) and group:
            part = rows_predicted.iloc[rows]
            effects[rows], odds[rows] = _effects(group, part, columns, predict_all, task,
                                                 None if chosen_each is None else chosen_each[rows])
    effects, odds = filled.mean(effects), filled.mean(odds)
    blanks: list[list[str]] = [[] for _ in range(n)]  # the cells answered from neighbours' values, by row
    for col, where in filled.filled.items():
        for row in np.flatnonzero(where):
            blanks[row].append(col)
        if col in columns:
            effects[where, columns.index(col)] = odds[where, columns.index(col)] = 0.0
    if filled.owner is not None:
        _refilled_effects(effects, odds, filled, frame, columns, predict_all, task,
                          None if chosen is None else np.asarray(chosen), groups)
    threshold = MIN_PROBABILITY_EFFECT if task == "classification" else MIN_NUMBER_EFFECT_SD
    fmt = number_format or (lambda v: f"{v:,.3g}")
    cells = _Cells(raw)
    top = np.argsort(-np.abs(effects), axis=1)[:, :3]  # each row's three strongest columns, strongest first
    out = []
    for i in range(n):
        parts = []
        for j in top[i]:
            e = effects[i, j]
            if abs(e) < threshold:
                break
            sign = "+" if e > 0 else "−"
            size = f"{abs(e) * 100:.0f}%" if task == "classification" else fmt(abs(e) * target_sd)
            parts.append(f"{cells.named(columns[j], i)} ({sign}{size})")
        if not parts and task == "classification":
            parts = _agreeing(odds[i], columns, cells, i)
        if blanks[i]:
            named = (" and ".join(blanks[i]) if len(blanks[i]) <= 2  # the report's notes list them all
                     else f"{blanks[i][0]} and {len(blanks[i]) - 1} more columns")
            parts.append(f"{named} blank: answered as similar rows are")
        out.append("; ".join(parts) if parts else "no single column stands out")
    return out


class _Cells:
    """The user's cells by column, read out of the frame once per column named (read through pandas
    one at a time, the ~29,000 cells the reasons of 10,000 rows name took 0.6 s of a 26 s run)."""

    def __init__(self, raw: pd.DataFrame):
        self.raw = raw
        self.columns: dict[str, list] = {}

    def named(self, col: str, i: int) -> str:
        """'Column = value' for row ``i``, as the user's sheet holds it."""
        if col not in self.columns:
            self.columns[col] = list(self.raw[col]) if col in self.raw.columns else [None] * len(self.raw)
        return f"{col} = {_show(self.columns[col][i])}"


def _agreeing(odds: np.ndarray, columns: list[str], cells: _Cells, i: int) -> list[str]:
    """For a sure answer no single column moves: the (up to two) columns that each make it clearly
    surer, as one reason: "Bill length (mm) = 39.1 and Island = Torgersen both point to this answer;
    no single column decides"."""
    strong = [j for j in np.argsort(-odds)[:2] if odds[j] >= MIN_LOG_ODDS_EFFECT]
    if not strong:
        return []
    named = " and ".join(cells.named(columns[j], i) for j in strong)
    return [f"{named} {'both point' if len(strong) > 1 else 'points'} to this answer; no single column decides"]


def _effects(members, frame: pd.DataFrame, columns: list[str], predict_all, task: str,
             chosen: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Two (rows × columns) arrays: how much each column's value, rather than a typical one, moved each
    row's answer (the chosen class's probability, or the standardised number; ``members`` averaged),
    and for classification the same on the chosen class's log-odds (zeros for numbers)."""
    n = len(frame)
    use = members if n * len(columns) * len(members) <= REASON_BUDGET_ROWS else members[:1]
    encs = [m.encoder.transform(frame) for m in use]

    def answer(encs_now):
        out = predict_all(use, encs_now)
        return out[np.arange(n), chosen] if task == "classification" else out

    base = answer(encs)
    base_odds = _log_odds(base) if task == "classification" else None
    effects = np.zeros((n, len(columns)))
    odds = np.zeros((n, len(columns)))
    for j, col in enumerate(columns):
        typical = [_typical(e, m.encoder, col) for m, e in zip(use, encs)]  # each with its own codes
        now = answer(typical)
        effects[:, j] = base - now
        if task == "classification":
            odds[:, j] = base_odds - _log_odds(now)
    return effects, odds


def _log_odds(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.log(p) - np.log1p(-p)


def _refilled_effects(effects: np.ndarray, odds: np.ndarray, filled: Filled, frame: pd.DataFrame, columns: list[str],
                      predict_all, task: str, chosen: np.ndarray | None, groups) -> None:
    """Effects (in place) for rows answered from their nearest training rows' values (encode.Filled).

    Made typical in the predicted rows themselves, the column that chose those neighbours looks
    idle: a penguin without measurements is answered Gentoo because the rows nearest it are Biscoe
    Gentoos, and with their measurements the island hardly matters any more. So for these rows each
    column the neighbours are chosen by is made typical in the row first and the neighbours chosen
    again, as the answer was reached. Columns that choose no neighbours (words, pictures) keep their
    effects. Skipped, leaving the plain effects, when it would cost more than REASON_BUDGET_ROWS."""
    donors = filled.donors
    assert donors is not None  # rows were filled from donors' values
    names = [c for c in columns if c in donors.kinds]
    rows_filled = np.flatnonzero(np.any(list(filled.filled.values()), axis=0))
    if not names or not len(rows_filled):
        return
    members = max(len(g) for _, g in groups)
    if len(rows_filled) * max(filled.neighbours, 1) * (len(names) + 1) * members > REASON_BUDGET_ROWS:
        return
    typical = donors.typical()
    for rows, group in groups:
        rows = np.intersect1d(rows, rows_filled)
        if not len(rows) or not group:
            continue
        part = frame.iloc[rows]

        def answer(typed: pd.DataFrame, group=group, rows=rows) -> np.ndarray:
            f = donors.fill(typed, filled.columns)
            out = predict_all(group, [m.encoder.transform(f.frame) for m in group])
            if task == "classification":
                assert chosen is not None  # the class each row's answer is about
                out = out[np.arange(len(f.frame)), f.expand(chosen[rows])]
            return f.mean(out)

        base = answer(part)
        for col in names:
            own = ~filled.filled.get(col, np.zeros(len(frame), dtype=bool))[rows]  # the row's own value
            changed = part.copy()
            values = changed[col].to_numpy(copy=True)
            values[own] = typical[col]
            changed[col] = pd.Series(values, index=changed.index, dtype=part[col].dtype)
            now = answer(changed)
            j = columns.index(col)
            effects[rows, j] = np.where(own, base - now, 0.0)
            if task == "classification":
                odds[rows, j] = np.where(own, _log_odds(base) - _log_odds(now), 0.0)


def _show(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "(blank)"
    if isinstance(v, float):
        # years and other whole numbers under 10,000 as the sheet shows them (2009, not 2,009); large
        # numbers in full with separators (250,000, not 2.5e+05); the rest to 4 significant digits
        if 1e4 <= abs(v) < 1e15:
            return f"{v:,.0f}"
        return str(int(v)) if v.is_integer() else f"{v:.4g}"
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d")
    s = str(v)
    if s.casefold().endswith(IMAGE_EXTENSIONS):  # a picture: its file name says more than its folder
        s = s.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return s if len(s) <= 30 else s[:29] + "…"

