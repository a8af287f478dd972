"""Results of a run, and ``layout``: where in the workbook each result goes, as SheetEdits.

CONTRACT: the engine fills :class:`Results`; ``layout(results, table)`` returns the list of
SheetEdits that every backend (files, Office.js) applies the same way.
All per-row arrays are aligned with ``table.values`` rows (same order, same length).

This module holds the Results dataclasses and the entry points (``layout``, ``summary_sentences``,
``layout_not_carried_over``); each sheet's edits are built in its own module: ``data_columns.py``
(the result columns beside the data), ``report_sheet.py`` (``SheetDL Report``),
``importance_sheet.py`` (``SheetDL Importance``), ``images_sheet.py`` (``SheetDL Images``), with the
cell helpers they share in ``cell_format.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..report.cells import _decimals
from ..report.data_columns import _data_sheet, _prediction_col
from ..sheets.edits import Edit
from ..report.importance_sheet import _importance
from ..report.report_sheet import _lost_section, _report, _Sheet, _summary
from ..schema.infer import Schema

# Re-exported: these live beside the sheet that uses them, and are imported from here too.
from ..report.data_columns import MAX_AREAS, MAX_BLOCK_ROWS, REVIEW_MARK  # noqa: F401
from ..report.importance_sheet import (  # noqa: F401
    IMPORTANCE_NONE_MAX,
    IMPORTANCE_SOME_MIN,
    IMPORTANCE_SOME_SHARE,
    IMPORTANCE_STRONG_MIN,
    IMPORTANCE_STRONG_SHARE,
    importance_words,
)
from ..report.report_sheet import METRIC_INFO, WRAP_AT  # noqa: F401

__all__ = [
    "Importance",
    "CurvePoint",
    "Results",
    "layout",
    "layout_not_carried_over",
    "importance_words",
    "REPORT_SHEET",
    "IMPORTANCE_SHEET",
    "IMAGES_SHEET",
    "PictureRow",
]


@dataclass
class Importance:
    column: str
    #: mean drop of the score (accuracy for classification, R² for regression) when the column's
    #: values are shuffled among held-out rows; 0 means the model does not use it
    drop: float
    #: standard deviation of that drop over repeats and folds
    spread: float
    kind: str = ""


@dataclass
class CurvePoint:
    epoch: int
    train_loss: float
    valid_loss: float
    #: validation score (accuracy or R²) after this epoch
    valid_score: float


@dataclass
class PictureRow:
    """One row shown on the Images sheet: its picture and where the model looked."""

    row: int  # 0-based position in the table
    column: str  # the picture column
    path: str  # the cell as written
    why: str  # "wrong" (a labelled row the model got wrong) | "unsure" (least confident)
    label: Any  # the row's target value, None if blank
    prediction: Any
    confidence: float | None  # classification: probability of the prediction
    thumbnail: bytes | None  # PNG of the picture
    heatmap: bytes | None  # PNG of the picture with the saliency heat map over it


@dataclass
class Results:
    schema: Schema
    # ---- per row --------------------------------------------------------------------------
    #: the prediction for every row, as the user would write it (labels keep their type)
    prediction: list[Any]
    #: True where the row's target cell was filled (its prediction is out-of-fold)
    labelled: np.ndarray
    #: classification: probability of the predicted class (0-1); None for regression
    confidence: np.ndarray | None = None
    #: classification: (n_rows, n_classes) probabilities in ``schema.classes`` order
    probabilities: np.ndarray | None = None
    #: regression: prediction interval (None until the accuracy issue adds it)
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    #: regression: the share of rows the interval aims to hold (0.9), and the share of held-out rows
    #: whose true value it did hold
    interval_level: float | None = None
    interval_coverage: float | None = None
    #: plain-words reasons for each row's prediction ("Flipper length 210 mm raised it…"), or None
    reasons: list[str] | None = None
    # ---- model-level ----------------------------------------------------------------------
    #: held-out (out-of-fold) scores of the model, keyed by metric name (see evaluate.METRIC_NAMES)
    metrics: dict[str, float] = field(default_factory=dict)
    #: the same scores for the naive baseline (majority class / mean)
    baseline: dict[str, float] = field(default_factory=dict)
    #: how the baseline guesses, in words: "always guessing 'No'" / "always guessing the average, 4,202"
    baseline_description: str = ""
    #: classification: rows = actual class, columns = predicted class, in ``schema.classes`` order
    confusion: np.ndarray | None = None
    #: classification: held-out rows binned by confidence — dicts with low, high (bin edges, 0-1),
    #: rows, confidence (average in the bin) and accuracy (share right in the bin)
    reliability: list[dict] | None = None
    #: training curve (mean over folds per epoch)
    curve: list[CurvePoint] = field(default_factory=list)
    importance: list[Importance] = field(default_factory=list)
    #: settings used, in the user's words: {"Target column": "Churn", "Time budget (seconds)": "60", …}
    settings: dict[str, str] = field(default_factory=dict)
    #: facts about the run: {"Device": "CPU (2 threads)", "Training time": "12.3 s", "Folds": "5", …}
    run_info: dict[str, str] = field(default_factory=dict)
    #: remarks collected along the way (header found on row 3, 12 text cells in 'Price' read as blank…)
    notes: list[str] = field(default_factory=list)
    #: parts of the input workbook the writer could not carry over (filled by the writer)
    not_carried_over: list[str] = field(default_factory=list)
    #: picture columns: the rows shown with their pictures and heat maps on the Images sheet
    pictures: list[PictureRow] = field(default_factory=list)
    #: picture columns: how the pictures were read, in words, per column
    picture_models: dict[str, str] = field(default_factory=dict)
    #: classification: predictions less sure than this (0–1) are marked "Check"; None = no marks
    review_threshold: float | None = None

    @property
    def to_review(self) -> np.ndarray | None:
        """Rows whose prediction a person should check (confidence below the review threshold)."""
        if self.review_threshold is None or self.confidence is None:
            return None
        return np.asarray(self.confidence, dtype=float) < self.review_threshold

    @property
    def task(self) -> str:
        return self.schema.task

    @property
    def target(self) -> str:
        return self.schema.target


# =================================================================================================
# layout: where each result goes. Pure function of Results + Table (+ the sheet names already taken);
# every backend applies the returned edits the same way.
# =================================================================================================

REPORT_SHEET = "SheetDL Report"
IMPORTANCE_SHEET = "SheetDL Importance"
IMAGES_SHEET = "SheetDL Images"


def layout(results: Results, table, existing_sheets: Sequence[str] = ()) -> list[Edit]:
    """The edits that put ``results`` into the workbook ``table`` came from.

    - on the data sheet, new columns right of everything the sheet uses: ``Predicted <target>``,
      ``Confidence`` (classification), ``Low``/``High`` (regression interval), ``Why`` (reasons);
      predictions for rows whose target was blank are shaded yellow;
    - a ``SheetDL Report`` sheet (what the model achieved, in words and numbers, how each column was
      used, the training curve, settings, run facts, notes);
    - a ``SheetDL Importance`` sheet when importances were computed.

    ``existing_sheets`` are the workbook's sheet names; new sheets get a number ("SheetDL Report 2")
    rather than replace anything.
    """
    report_name, importance_name, images_name = _sheet_names(existing_sheets)
    edits: list[Edit] = []
    data_edits, pred_col = _data_sheet(results, table)
    edits += data_edits
    report_edits, _ = _report(results, table, report_name, pred_col)
    edits += report_edits
    if results.importance:
        edits += _importance(results, importance_name)
    if results.pictures:
        from ..report.images_sheet import images_sheet

        edits += images_sheet(results, table, images_name)
    return edits


def summary_sentences(results: Results, table) -> list[str]:
    """The report's opening sentences, for a terminal or a task pane."""
    regression = results.task == "regression"
    decimals = _decimals(results.prediction) if regression else 2
    return _summary(results, table, _prediction_col(table), decimals)


def layout_not_carried_over(
    results: Results, table, lost: Sequence[str], existing_sheets: Sequence[str] = ()
) -> list[Edit]:
    """The "Could not be carried over" section alone, for a writer that learns what it lost only
    after ``layout`` ran: it goes at the end of the report, so nothing else moves.

    ``existing_sheets`` must be the names passed to ``layout`` (so the report's name is the same).
    """
    if not lost:
        return []
    report_name = _sheet_names(existing_sheets)[0]
    without = replace(results, not_carried_over=[])
    _, next_row = _report(without, table, report_name, _prediction_col(table))
    sheet = _Sheet(report_name, next_row)
    _lost_section(sheet, lost)
    return sheet.edits


def _sheet_names(existing: Sequence[str]) -> tuple[str, str, str]:
    """The first free set: ("SheetDL Report", "SheetDL Importance", "SheetDL Images"), then "… 2",
    "… 3" … (Excel compares sheet names without regard to case)."""
    taken = {str(n).casefold() for n in existing}
    k = 1
    while True:
        suffix = "" if k == 1 else f" {k}"
        pair = (REPORT_SHEET + suffix, IMPORTANCE_SHEET + suffix, IMAGES_SHEET + suffix)
        if not any(p.casefold() in taken for p in pair):
            return pair
        k += 1
