"""What a run found out, as plain data: per-row predictions, confidence and reasons, the model's
scores, importances, the training curve, notes.

The engine fills :class:`Results`; ``sheetdl.report`` lays them out in the workbook. All per-row arrays
are aligned with ``table.values`` rows (same order, same length).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..schema import Schema

__all__ = ["Importance", "CurvePoint", "PictureRow", "Results", "PICTURE_PX"]

#: the pictures of a PictureRow (thumbnail and heat map) are this many pixels wide/high
PICTURE_PX = 96


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
    #: the networks' blend with boosted trees (FittedModel.blend: each one's share and held-out score);
    #: empty when the networks answered alone
    blend: dict = field(default_factory=dict)
    #: the device training ended on, as torch names it ("cpu" or "cuda"); None when a saved model predicted
    device: str | None = None
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
