"""Practising rare gaps: blank cells too few rows share for the network to learn what they mean.

A number column gets a missing-indicator when its training rows have blanks, and a category a
"missing" code; the network learns what a blank means from the rows that have one. When only a
handful do (palmerpenguins has two penguins with no measurements at all, one of each of two
species), that lesson is a few rows' noise: a penguin with nothing but its island known was
predicted from the one blank-measured penguin of the training rows, or from the median penguin, not
from its island.

So, while training, a small share of each batch's rows have the cells of such a column blanked the
way a real blank is encoded (the indicator set, the number at its fill value, the category at its
"missing" code), in the combinations the training rows actually have. The network then learns to
answer those rows from their other columns. Columns whose blanks are common (many rows, so the
blank itself may carry meaning, e.g. an income left out) are left alone, and so are tables without
any rare blanks: their training is unchanged, random draws included.

The rows the model will fill in (their target blank) are part of the same sheet, so their blanks are
known before training: where they fall in columns the training rows have few or no blanks in, they
are practised the same way, in their combinations. A blank no row of the sheet had can still turn up
later (``sheetdl predict`` on another sheet). The network never learned what it means, so such a row
is answered as the rows most like it would be: a sample of the training rows' values is kept with the
model (``Donors``), the row is predicted once with each of its nearest neighbours' values in those
cells (nearest in the columns it has), and the answers are averaged. The report says which cells
(``unseen_blank_notes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..errors import cell_list
from .tabular import TableEncoder

__all__ = ["GapPractice", "GAP_LEARNED_ROWS", "GAP_ROWS", "GAP_MAX_SHARE", "blank_columns", "rare_gaps",
           "never_blank", "unseen_blank_notes", "Donors", "Filled", "FILL_NEIGHBOURS", "DONOR_ROWS"]

#: a column with at least this many blank cells among a fold's training rows keeps its blanks as
#: they are (the network can learn what they mean from them)
GAP_LEARNED_ROWS = 20
#: each combination of rare blanks is practised on about this many rows per pass over the data
GAP_ROWS = 20
#: ... but on no more than this share of the rows in all
GAP_MAX_SHARE = 0.1
#: combinations of blanks practised at most (the most frequent), however many the rows have
MAX_PATTERNS = 256
#: kinds whose blanks the encoders turn into an indicator or a code (words and pictures are not)
_KINDS = ("number", "boolean", "category", "date")


@dataclass
class GapPractice:
    """The combinations of rare blanks, as masks over the encoded inputs, and how often to use them."""

    columns: list[str]  # the columns with rare blanks
    numeric_mask: torch.Tensor  # (patterns, numeric width) bool: which numeric inputs a pattern blanks
    categorical_mask: torch.Tensor  # (patterns, categorical width) bool
    numeric_blank: torch.Tensor  # (numeric width,) float32: the encoded blank of every numeric input
    categorical_blank: torch.Tensor  # (categorical width,) int64
    share: float  # share of training rows given one of the patterns (each pattern equally often)

    def to(self, device: torch.device) -> GapPractice:
        return GapPractice(self.columns, self.numeric_mask.to(device), self.categorical_mask.to(device),
                           self.numeric_blank.to(device), self.categorical_blank.to(device), self.share)

    def apply(self, numeric: torch.Tensor, categorical: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch's inputs with a random ``share`` of its rows blanked in one of the patterns each."""
        n = len(numeric)
        chosen = torch.rand(n, device=numeric.device) < self.share
        pattern = torch.randint(len(self.numeric_mask), (n,), device=numeric.device)
        num_mask = self.numeric_mask[pattern] & chosen[:, None]
        cat_mask = self.categorical_mask[pattern] & chosen[:, None]
        numeric = torch.where(num_mask, self.numeric_blank.to(numeric.dtype), numeric)
        categorical = torch.where(cat_mask, self.categorical_blank, categorical)
        return numeric, categorical


def blank_columns(to_fill: pd.DataFrame, columns) -> list[str]:
    """The ``columns`` (of kinds whose blanks are encoded) that have a blank in the rows to fill in."""
    return [c.name for c in columns if c.kind in _KINDS and c.name in to_fill and to_fill[c.name].isna().any()]


def rare_gaps(frame: pd.DataFrame, encoder: TableEncoder, to_fill: pd.DataFrame | None = None) -> GapPractice | None:
    """The rare blanks of ``frame`` (a fold's training rows, typed), or None when there are none.

    ``to_fill``: the rows the model will fill in (typed; their target is blank). Their blanks in
    columns the training rows have few or no blanks in are practised too, in their combinations, so
    a row to fill with a blank the training rows never had is answered from its other columns. (The
    encoder must give such numbers an indicator: ``TableEncoder.fit(..., blank_columns=...)``.)"""
    cols = [c for c in encoder.columns if encoder.kinds[c] in _KINDS]
    if not cols or len(frame) == 0:
        return None
    blank = frame[cols].isna().to_numpy()
    counts = blank.sum(axis=0)
    later = (to_fill[cols].isna().to_numpy() if to_fill is not None and len(to_fill)
             else np.zeros((0, len(cols)), dtype=bool))
    rare = [i for i, n in enumerate(counts) if 0 < n < GAP_LEARNED_ROWS or (n == 0 and later[:, i].any())]
    if not rare:
        return None
    # the combinations of rare blanks that training rows and rows to fill have (common blanks left
    # aside); only the most frequent when there are very many
    sub = np.concatenate([blank[:, rare], later[:, rare]])
    patterns, seen = np.unique(sub[sub.any(axis=1)], axis=0, return_counts=True)
    if len(patterns) > MAX_PATTERNS:
        patterns = patterns[np.sort(np.argsort(-seen, kind="stable")[:MAX_PATTERNS])]
    rare_cols = [cols[i] for i in rare]

    # what a blank of each input looks like once encoded: encode one row with every column blank
    empty = frame.iloc[:1].copy()
    for c in cols:
        empty[c] = frame[c].iloc[:0].reindex(empty.index)
    encoded = encoder.transform(empty)
    slices = encoder.slices()
    num_width, cat_width = encoded.numeric.shape[1], encoded.categorical.shape[1]
    num_mask = np.zeros((len(patterns), num_width), dtype=bool)
    cat_mask = np.zeros((len(patterns), cat_width), dtype=bool)
    for p, pattern in enumerate(patterns):
        for c, on in zip(rare_cols, pattern):
            if not on:
                continue
            block, idx = slices[c]
            (num_mask if block == "numeric" else cat_mask)[p, idx] = True
    share = min(GAP_MAX_SHARE, len(patterns) * GAP_ROWS / len(frame))
    return GapPractice(
        columns=rare_cols,
        numeric_mask=torch.as_tensor(num_mask),
        categorical_mask=torch.as_tensor(cat_mask),
        numeric_blank=torch.as_tensor(encoded.numeric[0], dtype=torch.float32),
        categorical_blank=torch.as_tensor(encoded.categorical[0], dtype=torch.int64),
        share=float(share),
    )


# ---- blanks the model never saw -----------------------------------------------------------------
#: columns listed by name at most in the note (then "and N more columns")
_LISTED_COLUMNS = 8


def never_blank(schema, frame: pd.DataFrame, rows: np.ndarray, practised=()) -> list[str]:
    """The feature columns whose blanks the model never learned about: no blank in the training
    ``rows`` and none ``practised`` (saved with the model, see unseen_blank_notes)."""
    return [col.name for col in schema.features if col.kind in _KINDS and col.name in frame
            and col.name not in practised and not frame[col.name].iloc[rows].isna().any()]


def unseen_blank_notes(schema, blank_free, frame: pd.DataFrame, rows: np.ndarray, table,
                       neighbours: int = 0) -> list[str]:
    """Report notes for blanks in ``rows`` (rows being predicted) of the ``blank_free`` columns (see
    never_blank; None for a model saved before it was recorded): the network never learned what a
    blank there means, so the user should know which predictions rest on a guess at those cells:
    the ``neighbours`` nearest training rows' values (Donors.fill), or for a model saved without
    them (0) the encoders' fill value. One sentence, then one indented line per column with its cells."""
    lines = []
    for col in schema.features:
        if col.name not in (blank_free or ()) or col.name not in frame:
            continue
        where = np.asarray(rows)[frame[col.name].iloc[rows].isna().to_numpy()]
        if not len(where):
            continue
        cells = []
        for r in where[:5]:
            try:
                cells.append(table.cell(col.name, int(r)))
            except (ValueError, IndexError):  # the column is named differently on this sheet
                cells.append(f"row {int(table.sheet_rows[int(r)])}")
        n = len(where)
        lines.append(f"    '{col.name}': {cell_list(cells) if n <= 5 else ', '.join(cells) + f' and {n - 5:,} more'}")
    if not lines:
        return []
    more = len(lines) - _LISTED_COLUMNS
    lines = lines[:_LISTED_COLUMNS] + ([f"    and {more:,} more column{'s' if more != 1 else ''}"] if more > 0 else [])
    if neighbours:
        how = (f"so it has not learned what a blank there means. Those rows were answered as the {neighbours} "
               f"rows it learned from that are most like them (in their other columns) would be, with their "
               f"values in those cells, averaging the answers. Check those predictions, or fill the cells in "
               f"if you know them:")
    else:
        how = ("so it has not learned what a blank there means and read it as a typical value (a number's "
               "middle value; a category as one too rare to learn). Check those predictions, or fill the "
               "cells in if you know them:")
    return [f"Some rows predicted are blank in a column that was filled in on every row the model learned from, {how}",
            *lines]


# ---- answering blanks the model never saw from the rows most like them ---------------------------
#: a row blank in a column the model never saw blank is answered as the average of its answers with
#: the values this many of the most similar training rows have there (similar in its other columns)
FILL_NEIGHBOURS = 20
#: training rows kept with the model to take those values from (a random sample of larger tables)
DONOR_ROWS = 1000
#: rows predicted for the filled rows of one call at most (rows × neighbours): fewer neighbours beyond
MAX_FILLED_ROWS = 200_000
#: rows whose distances to every kept row are computed at once
_CHUNK = 2048


@dataclass
class Filled:
    """Rows as predicted: each row with blanks the model never saw repeated once per neighbour, those
    cells holding the neighbour's values. ``owner`` maps them back (None: nothing was filled)."""

    frame: pd.DataFrame
    owner: np.ndarray | None
    n: int
    #: column → the original rows (bool) whose blank there was filled
    filled: dict[str, np.ndarray]
    neighbours: int = 0
    #: where the values came from, and the columns filled where blank (to fill again, engine/explain.py)
    donors: Donors | None = None
    columns: tuple = ()

    @classmethod
    def identity(cls, frame: pd.DataFrame) -> Filled:
        return cls(frame, None, len(frame), {})

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Per-row ``values`` of the original rows → one per predicted row."""
        return values if self.owner is None else np.asarray(values)[self.owner]

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """The predicted rows standing for the original ``rows``."""
        return rows if self.owner is None else np.flatnonzero(np.isin(self.owner, rows))

    def mean(self, outputs: np.ndarray) -> np.ndarray:
        """Per predicted row → per original row: the average over a row's neighbours."""
        if self.owner is None:
            return outputs
        outputs = np.asarray(outputs, dtype=np.float64)
        total = np.zeros((self.n,) + outputs.shape[1:])
        np.add.at(total, self.owner, outputs)
        counts = np.bincount(self.owner, minlength=self.n).astype(np.float64)
        return total / counts.reshape((-1,) + (1,) * (outputs.ndim - 1))

    def spread(self, outputs: np.ndarray) -> np.ndarray:
        """How much a row's answers differ over its neighbours (standard deviation; 0 where not filled)."""
        if self.owner is None:
            return np.zeros(np.shape(outputs)[:1])
        mean = self.mean(outputs)
        return np.sqrt(self.mean((np.asarray(outputs, dtype=np.float64) - mean[self.owner]) ** 2))


def _as_numbers(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "date":
        d = pd.to_datetime(values, errors="coerce")
        return ((d - pd.Timestamp("2000-01-01")).dt.total_seconds() / 86400.0).to_numpy(np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)


@dataclass
class Donors:
    """Values of up to DONOR_ROWS training rows (numbers, yes/no, categories, dates; typed as in the
    training frame), kept with the model so that a blank it never saw is answered from the rows most
    like the blank one (a k-nearest-neighbour multiple imputation, averaging the model's answers)."""

    frame: pd.DataFrame
    kinds: dict[str, str]

    @classmethod
    def sample(cls, frame: pd.DataFrame, rows: np.ndarray, features, seed: int = 0) -> Donors:
        cols = [c for c in features if c.kind in _KINDS and c.name in frame]
        rows = np.asarray(rows)
        if len(rows) > DONOR_ROWS:
            rows = np.sort(np.random.default_rng(seed).choice(rows, DONOR_ROWS, replace=False))
        part = frame.iloc[rows][[c.name for c in cols]].reset_index(drop=True)
        return cls(part, {c.name: c.kind for c in cols})

    def to_json(self) -> dict:
        cols = {}
        for c, kind in self.kinds.items():
            s = self.frame[c]
            if kind == "date":
                cols[c] = [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in s]
            elif kind in ("number", "boolean"):
                cols[c] = [float(v) if np.isfinite(v) else None for v in s.to_numpy(np.float64, na_value=np.nan)]
            else:
                cols[c] = [None if v is None or v != v else str(v) for v in s]
        return {"kinds": dict(self.kinds), "columns": cols}

    @classmethod
    def from_json(cls, state: dict) -> Donors:
        out = {}
        for c, kind in state["kinds"].items():
            v = state["columns"][c]
            if kind == "date":
                out[c] = pd.Series(pd.to_datetime(pd.Series(v, dtype=object)), dtype="datetime64[ns]")
            elif kind in ("number", "boolean"):
                out[c] = pd.Series(np.array([np.nan if x is None else x for x in v], dtype=np.float64))
            else:
                out[c] = pd.Series(v, dtype=object)
        return cls(pd.DataFrame(out), dict(state["kinds"]))

    def _inputs(self, frame: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        """Per column both have: (the rows' values, the kept rows' values, numeric?) as arrays the
        distance reads: numbers as shares of the column's 1–99 % range (float32, NaN = blank),
        categories as codes (-1 blank, -2 a value no kept row has)."""
        out = []
        for c, kind in self.kinds.items():
            if c not in frame:
                continue
            if kind in ("number", "boolean", "date"):
                x, y = _as_numbers(frame[c], kind), _as_numbers(self.frame[c], kind)
                seen = y[np.isfinite(y)]
                span = float(np.subtract(*np.quantile(seen, [0.99, 0.01]))) if len(seen) else 0.0
                span = span if span > 0 else float(np.ptp(seen)) if len(seen) else 0.0
                span = span if span > 0 else 1.0
                out.append(((x / span).astype(np.float32), (y / span).astype(np.float32), True))
            else:
                def key(v):
                    return None if v is None or v != v else str(v)

                kept = [key(v) for v in self.frame[c]]
                codes = {v: i for i, v in enumerate(dict.fromkeys(v for v in kept if v is not None))}
                y = np.array([-1 if v is None else codes[v] for v in kept], dtype=np.int64)
                x = np.array([-1 if (k := key(v)) is None else codes.get(k, -2) for v in frame[c]], dtype=np.int64)
                out.append((x, y, False))
        return out

    @staticmethod
    def _distances(inputs, rows: slice, n_kept: int) -> np.ndarray:
        """(rows × kept rows) Gower distance over the columns both have: a number's difference as a
        share of its 1–99 % range (at most 1), 0/1 for a category; blank matches only blank."""
        d = np.zeros((rows.stop - rows.start, n_kept), dtype=np.float32)
        for x, y, numeric in inputs:
            x = x[rows]
            if not numeric:
                d += x[:, None] != y[None, :]
                continue
            diff = np.subtract(x[:, None], y[None, :])
            np.abs(diff, out=diff)
            np.minimum(diff, 1.0, out=diff)  # NaN stays NaN: set below
            x_blank, y_blank = np.isnan(x), np.isnan(y)
            if x_blank.any() or y_blank.any():
                diff[:, y_blank] = 1.0
                diff[x_blank] = (~y_blank).astype(np.float32)
            d += diff
        return d

    def fill(self, frame: pd.DataFrame, columns) -> Filled:
        """``frame`` with each row that is blank in some of ``columns`` (those the model never saw
        blank) repeated once per nearest kept row, those cells taking that row's values."""
        cols = [c for c in columns if c in self.frame and c in frame]
        n = len(frame)
        if not cols or not n or not len(self.frame):
            return Filled.identity(frame)
        blank = frame[cols].isna().to_numpy()
        rows = np.flatnonzero(blank.any(axis=1))
        if not len(rows):
            return Filled.identity(frame)
        k = int(min(FILL_NEIGHBOURS, len(self.frame), max(1, MAX_FILLED_ROWS // len(rows))))
        # equally near rows are taken in a random order, the same every time (the jitter, under 1e-4,
        # only reorders rows whose distances differ by less than that)
        tie = (np.random.default_rng(0).random(len(self.frame)) * 1e-4).astype(np.float32)
        inputs = self._inputs(frame.iloc[rows])
        nearest = np.empty((len(rows), k), dtype=np.int64)
        for start in range(0, len(rows), _CHUNK):
            part = slice(start, min(start + _CHUNK, len(rows)))
            d = self._distances(inputs, part, len(self.frame))
            d += tie
            nearest[part] = (np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1]
                             else np.argsort(d, axis=1)[:, :k])
        kept = np.ones(n, dtype=bool)
        kept[rows] = False
        owner = np.concatenate([np.flatnonzero(kept), np.repeat(rows, k)])
        donor = np.concatenate([np.full(int(kept.sum()), -1), nearest.ravel()])
        out = frame.iloc[owner].reset_index(drop=True)
        for c in cols:
            mask = out[c].isna().to_numpy() & (donor >= 0)
            if mask.any():
                values = out[c].to_numpy(copy=True)
                values[mask] = self.frame[c].to_numpy()[donor[mask]]
                out[c] = pd.Series(values, dtype=out[c].dtype)
        filled = {c: frame[c].isna().to_numpy() for c in cols if frame[c].isna().any()}
        return Filled(out, owner, n, filled, k, self, tuple(columns))

    def typical(self) -> dict:
        """A typical value of each column, as the typed frame holds it: the median number or date,
        the most frequent category or yes/no (what engine/explain.py's occlusion puts in a cell)."""
        out = {}
        for c, kind in self.kinds.items():
            s = self.frame[c].dropna()
            if not len(s):
                out[c] = np.nan if kind in ("number", "boolean") else None
            elif kind in ("number", "date"):
                out[c] = s.median()
            else:
                out[c] = s.value_counts().index[0]
        return out
