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
    "apply_temperature",
    "fit_temperature",
    "blend_weight",
    "clearly_better",
    "BLEND_EVIDENCE",
    "reliability",
    "expected_calibration_error",
    "conformal_quantile",
    "cross_conformal_coverage",
    "INTERVAL_LEVEL",
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


# ---- calibration: confidence that means what it says -------------------------------------------

#: confidence bins of the reliability table (lower edges); the last bin includes 100%
RELIABILITY_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Soften (T > 1) or sharpen (T < 1) probabilities: softmax(log p / T)."""
    if temperature == 1.0:
        return proba
    z = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(y_true: np.ndarray, proba: np.ndarray) -> float:
    """The temperature that minimises the log loss of out-of-fold probabilities (Guo et al., 2017).

    One number for the whole model, so the ranking of classes, and with it accuracy, never changes.
    A grid over log T then a finer grid around the best is exact enough and cannot diverge.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    logp = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0))
    rows = np.arange(len(y_true))

    def loss(t: float) -> float:
        z = logp / t
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[rows, y_true] - np.log(np.exp(z).sum(axis=1))).mean())

    if len(y_true) == 0:
        return 1.0
    grid = np.exp(np.linspace(np.log(0.25), np.log(4.0), 41))
    best = min(grid, key=loss)
    fine = best * np.exp(np.linspace(-0.035, 0.035, 15))
    return float(min(fine, key=loss))


#: the network's share of the blend with the boosted trees is one of 0, 0.05, 0.1, … 1
BLEND_STEPS = 20
#: the trees get a share only where the best blend beats the networks alone on held-out rows by at
#: least this many standard errors (a sign test on the rows where their classes differ; for numbers,
#: on each row's drop in squared error): less is what choosing a share among 21 finds by chance
BLEND_EVIDENCE = 2.0


def blend_weight(y_true: np.ndarray, net: np.ndarray, trees: np.ndarray, task: str) -> float:
    """The network's share w of the blend w × network + (1 − w) × trees that answers out-of-fold rows
    best: for classes the most rows right, then (among equally many) the lowest log loss; for numbers
    the lowest squared error (standardised). One number for the whole model, from a grid; a tie goes
    to the network, and so does a blend that is not clearly better than the network alone
    (:func:`clearly_better`).

    Rows right first, as AutoGluon's ensembles choose by the score they report: on the wide benchmark's
    tuning half the log loss alone gave the trees most of the say on tables where the network was right
    more often (caravan_insurance 0.940 network, 0.935 blend; penguins_sex 0.907, 0.895). Clearly
    better, because on small tables the best of 21 shares was often luck: on penguins_sex, penguins_species
    and dt_loan (333–720 rows) the share chosen on held-out rows made the blend 0.3–2.4 points less
    accurate than the networks alone on the rows of the benchmark's own held-out folds."""
    y = np.asarray(y_true)
    net, trees = np.asarray(net, np.float64), np.asarray(trees, np.float64)
    rows = np.arange(len(y))
    if len(y) == 0:
        return 1.0
    grid = np.linspace(1.0, 0.0, BLEND_STEPS + 1)
    mixes = [w * net + (1 - w) * trees for w in grid]
    if task == "classification":
        wrong = np.array([float((m.argmax(1) != y).sum()) for m in mixes])
        loss = np.array([float(-np.log(np.clip(m[rows, y.astype(np.int64)], 1e-12, 1.0)).mean()) for m in mixes])
        loss = np.where(wrong == wrong.min(), loss, np.inf)
    else:
        loss = np.array([float(((m - y) ** 2).mean()) for m in mixes])
    # the network's largest share among the best (equal answers differ in the last bits once mixed)
    best = int(np.flatnonzero(loss <= loss.min() + 1e-9 * max(1.0, abs(loss.min())))[0])
    return float(grid[best]) if clearly_better(y, net, mixes[best], task) else 1.0


def clearly_better(y_true: np.ndarray, net: np.ndarray, blend: np.ndarray, task: str) -> bool:
    """Does ``blend`` beat ``net`` on these rows by more than chance (BLEND_EVIDENCE standard errors)?
    Classes: of the rows only one of them gets right, the blend must get right more, by at least
    BLEND_EVIDENCE × √(such rows) (4 of 4, 8 of 9, 12 of 16, 18 of 25 …). Numbers: the mean drop in squared
    error, row by row, at least BLEND_EVIDENCE standard errors above zero."""
    y = np.asarray(y_true)
    if task == "classification":
        net_right, blend_right = net.argmax(1) == y, blend.argmax(1) == y
        gained, lost = int((blend_right & ~net_right).sum()), int((net_right & ~blend_right).sum())
        return gained - lost > 0 and gained - lost >= BLEND_EVIDENCE * np.sqrt(gained + lost)
    drop = (net - y) ** 2 - (blend - y) ** 2
    mean = float(drop.mean())
    if len(drop) < 2 or mean <= 0:
        return False
    error = float(drop.std(ddof=1)) / np.sqrt(len(drop))
    return error == 0 or mean >= BLEND_EVIDENCE * error


def reliability(y_true: np.ndarray, proba: np.ndarray) -> list[dict[str, float]]:
    """Rows binned by confidence (the probability of the predicted class): in each bin, how many
    rows, their average confidence and how often the prediction was right."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    right = proba.argmax(axis=1) == np.asarray(y_true)
    out = []
    edges = RELIABILITY_EDGES
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        inside = (conf >= lo) & ((conf < hi) if i < len(edges) - 2 else (conf <= hi))
        if inside.any():
            out.append({"low": lo, "high": hi, "rows": int(inside.sum()),
                        "confidence": float(conf[inside].mean()), "accuracy": float(right[inside].mean())})
    return out


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Average gap between confidence and accuracy over the reliability bins, weighted by rows."""
    bins = reliability(y_true, proba)
    n = sum(b["rows"] for b in bins) or 1
    return float(sum(b["rows"] * abs(b["confidence"] - b["accuracy"]) for b in bins) / n)


# ---- regression intervals: split-conformal on out-of-fold residuals -----------------------------

#: share of held-out rows a Low–High interval aims to hold
INTERVAL_LEVEL = 0.9


def conformal_quantile(scores: np.ndarray, level: float = INTERVAL_LEVEL) -> float:
    """The finite-sample conformal quantile of nonconformity scores (|residual| / scale)."""
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(scores)
    if n == 0:
        return float("inf")
    rank = min(n, int(np.ceil((n + 1) * level)))
    return float(scores[rank - 1])


def cross_conformal_coverage(scores: np.ndarray, folds: np.ndarray, level: float = INTERVAL_LEVEL) -> float:
    """How often the interval held the truth on rows it was not calibrated on: each fold's rows are
    judged with the quantile of the other folds' scores."""
    scores = np.asarray(scores, dtype=np.float64)
    inside = np.zeros(len(scores), dtype=bool)
    for f in np.unique(folds):
        q = conformal_quantile(scores[folds != f], level)
        inside[folds == f] = scores[folds == f] <= q
    return float(inside.mean()) if len(scores) else float("nan")
