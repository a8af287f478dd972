"""Scores on held-out rows, for the model and for the naive baseline it must beat.

No scikit-learn at run time: the few metrics we report are short and exact here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "METRIC_NAMES",
    "LOWER_IS_BETTER",
    "classification_metrics",
    "regression_metrics",
    "confusion_matrix",
    "roc_auc",
]

#: metric key → the name a user reads
METRIC_NAMES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "auc": "AUC",
    "log_loss": "Log loss",
    "mae": "Mean absolute error (MAE)",
    "rmse": "Root mean squared error (RMSE)",
    "r2": "R²",
}
LOWER_IS_BETTER = {"log_loss", "mae", "rmse"}


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney U with average ranks for ties); NaN if one class."""
    y_true = np.asarray(y_true).astype(bool)
    n_pos = int(y_true.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = np.asarray(score)[order]
    ranks = np.empty(len(s), dtype=float)
    # average ranks over ties
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    r = np.empty(len(s), dtype=float)
    r[order] = ranks
    return float((r[y_true].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: actual class index; columns: predicted class index."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return m


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """``y_true``: class indices; ``proba``: (n, n_classes) probabilities."""
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    n_classes = proba.shape[1]
    pred = proba.argmax(axis=1)
    out = {"accuracy": float((pred == y_true).mean())}
    recalls = [float((pred[y_true == c] == c).mean()) for c in range(n_classes) if (y_true == c).any()]
    out["balanced_accuracy"] = float(np.mean(recalls))
    if n_classes == 2:
        out["auc"] = roc_auc(y_true == 1, proba[:, 1])
    p = np.clip(proba[np.arange(len(y_true)), y_true], 1e-15, 1.0)
    out["log_loss"] = float(-np.log(p).mean())
    return out


def regression_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    err = pred - y_true
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "r2": float(1.0 - (err**2).sum() / ss_tot) if ss_tot > 0 else 0.0,
    }
