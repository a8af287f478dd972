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
later (``sheetdl predict`` on another sheet): the model then reads it as a typical value, and the
report says which cells (``unseen_blank_notes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .encode import TableEncoder

__all__ = ["GapPractice", "GAP_LEARNED_ROWS", "GAP_ROWS", "GAP_MAX_SHARE", "blank_columns", "rare_gaps",
           "never_blank", "unseen_blank_notes"]

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

    def to(self, device: torch.device) -> "GapPractice":
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


def unseen_blank_notes(schema, blank_free, frame: pd.DataFrame, rows: np.ndarray, table) -> list[str]:
    """Report notes for blanks in ``rows`` (rows being predicted) of the ``blank_free`` columns (see
    never_blank; None for a model saved before it was recorded): the network never learned what a
    blank there means and read the encoders' fill value, so the user should know which predictions
    rest on that. One sentence, then one indented line per column with its cells."""
    from .errors import cell_list

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
    return [("Some rows predicted are blank in a column that was filled in on every row the model learned "
             "from, so it has not learned what a blank there means and read it as a typical value (a number's "
             "middle value; a category as one too rare to learn). Check those predictions, or fill the cells "
             "in if you know them:"), *lines]
