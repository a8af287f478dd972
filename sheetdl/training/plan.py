"""Planning a training run from the data's size and the device's pace: how many folds, which
rows go in which fold, the batch size, the network's shape, and the device itself.

Every rule here is on the data's size, shape and kind, never on the data set: planned seconds =
folds × rows × epochs × 3 × forward multiply-adds / the device's pace (measured, see the constants).
Picture columns have their own plan beside this one (``picture_plan.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ..errors import SettingsError
from ..models import IMAGE_EMBEDDING, N_BINS, NUMBER_EMBEDDING, cnn_macs, tune_cost
from .options import DEPTH, HIDDEN, LARGE_TABLE_ROWS, MAX_EPOCHS, MAX_STEPS

__all__ = ["n_folds_for", "make_folds", "batch_size", "choose_shape", "choose_ensemble", "forward_macs",
           "image_macs", "choose_device"]

#: cross-fitting folds by number of labelled rows: (up to this many rows, folds)
FOLD_RULE = ((5_000, 5), (50_000, 3))
FOLDS_ABOVE = 2


def n_folds_for(n_labelled: int) -> int:
    for limit, k in FOLD_RULE:
        if n_labelled <= limit:
            return k
    return FOLDS_ABOVE


def choose_device(setting: str) -> tuple[str, torch.device, str]:
    """(Lightning accelerator, torch device, words for the report)."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise SettingsError(
            "You asked to train on the GPU (device: cuda), but PyTorch finds no CUDA GPU on this computer.",
            hint="Use device 'auto' or 'cpu', or install a CUDA build of PyTorch.",
        )
    if setting in ("auto", "cuda") and torch.cuda.is_available():
        return "gpu", torch.device("cuda"), f"GPU ({torch.cuda.get_device_name(0)})"
    return "cpu", torch.device("cpu"), f"CPU ({torch.get_num_threads()} threads)"


def make_folds(y: np.ndarray | None, n: int, k: int, seed: int) -> np.ndarray:
    """Fold number of each row. Classes are dealt round-robin after a shuffle, so each fold gets its
    share of every class and a class with fewer rows than folds simply misses some folds."""
    rng = np.random.default_rng(seed)
    folds = np.empty(n, dtype=np.int64)
    if y is None:
        order = rng.permutation(n)
        folds[order] = np.arange(n) % k
        return folds
    offset = 0
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        rows = rows[rng.permutation(len(rows))]
        folds[rows] = (np.arange(len(rows)) + offset) % k
        offset += len(rows)
    return folds


def batch_size(n_train: int) -> int:
    """About twenty steps an epoch on small tables, at most ``MID_BATCH`` rows until that would mean
    more than ``MAX_STEPS_PER_EPOCH`` steps; bigger batches (fewer, cheaper steps) on large tables.

    Many small steps learn more per epoch than a few large ones (TabM and RealMLP train with 256):
    on 24k training rows batches of 256 instead of 1024 cut diamonds' RMSE by ~3 % at equal time.
    """
    rows = max(n_train, 1)
    wanted = max(min(rows / 20, MID_BATCH), rows / MAX_STEPS_PER_EPOCH)
    return int(min(MAX_BATCH, max(32, 2 ** round(math.log2(wanted)))))


#: the largest batch; reached from ~1.4M training rows on
MAX_BATCH = 4096
#: the batch of mid-sized tables (from ~5k training rows on)
MID_BATCH = 256
#: steps an epoch beyond which batches grow again (~100k training rows at MID_BATCH)
MAX_STEPS_PER_EPOCH = 400
#: (TabM members, number embeddings?) to choose from, best first. When not even one member fits the
#: plan, the embeddings stay unless they cost much more than a plain MLP (see PLR_AFFORDABLE): on a
#: table of a few numbers (diamonds) they are cheap and worth more than the epochs they take
SHAPES = ((32, True), (16, True), (8, True), (4, True), (2, True), (1, True))
#: TabM members at most for regression on tables of LARGE_TABLE_ROWS training rows or more. Measured on an
#: H100 (23 Nov 2026), diamonds ln price, 5-fold, ~27k training rows a fold: 32 members RMSE 0.101,
#: 8 members 0.0945, one 0.0944; on 2 CPU cores (the budget's whole plan, 23 Nov 2026) 2 members 0.0916,
#: one 0.0908. One member is as good or better wherever it was measured. Classification tables that size
#: lost nothing with 32 (TV16 0.8910 vs 0.8906 with the CPU's 1–2; 0.8915 with 2 vs 0.8911 with one on
#: the CPU), so the cap is for numbers only
LARGE_REGRESSION_MEMBERS = 1
#: when no shape fits the plan, keep the number embeddings if they cost at most this many times the plain MLP
PLR_AFFORDABLE = 1.5
#: multiply-adds a second the training step sustains (forward + backward ≈ 3 × forward); a GPU does far
#: more. Measured 22 Nov 2026 on 2 CPU cores, quiet machine (load < 1): AdamW steps of TabularNet at
#: batch 256/512/1024 × k = 1/4/8/16/32 × PLR on/off on three table shapes (90 runs) gave 5–33·10⁹/s,
#: median 17.7·10⁹; we use ~the 25th percentile (14.5·10⁹), rounded down, since users' laptops are busy
#: too (the old 4·10⁹ was measured under a load average of 4–7)
CPU_MACS_PER_SECOND = 1.4e10
GPU_MACS_PER_SECOND = 2e12
#: epochs a fold usually needs before early stopping (more for small tables, capped by MAX_STEPS)
EXPECTED_EPOCHS = 40
#: share of the time budget the planned training may use. The plan is cautious on its own (its epochs are
#: those of a fold that never stops early, at a busy laptop's pace): the folds of tables below
#: LARGE_TABLE_ROWS stop early at a third to a half of it, and training stops at TRAINING_SHARE anyway.
#: Measured 23 Nov 2026, 2 CPU cores, seed 0, 0.4 → 1.0 (members): telco 0.8039 → 0.8060 (4 → 16),
#: breast_cancer 0.9772 → 0.9789 (8 → 16), digits 0.9828 → 0.9850, mlc_churn 0.9460 → 0.9544, attrition
#: 0.8837 → 0.8850, TV16 0.8911 → 0.8915, credit_data 0.8035 → 0.8024, penguins and ames level; the
#: slowest fit took 57 s of the 60 s budget (ames), most 20–50 s
PLANNED_SHARE = 1.0


def forward_macs(n_numeric: int, continuous: list[bool], embed_width: int, n_outputs: int, k: int,
                 hidden: int = HIDDEN, depth: int = DEPTH, plr: bool = True,
                 image_inputs: list[dict] | None = None) -> float:
    """Multiply-adds of one row through the network (number embeddings + k members of the MLP, + the
    picture branches, which the members share); a piecewise-linear embedding's clamps count as a few
    each. ``plr``: with number embeddings (PLE; the name is from when they were periodic)."""
    n_plr = sum(continuous) if plr else 0
    width = n_plr * NUMBER_EMBEDDING + (n_numeric - n_plr) + embed_width + IMAGE_EMBEDDING * len(image_inputs or [])
    embeddings = n_plr * N_BINS * (NUMBER_EMBEDDING + 4)
    return (embeddings + image_macs(image_inputs or []) + width * n_outputs  # the additive path
            + k * (width * hidden + (depth - 1) * hidden * hidden + hidden * n_outputs))


def image_macs(image_inputs: list[dict]) -> float:
    """Multiply-adds of the picture branches for one row."""
    total = 0.0
    for spec in image_inputs:
        if spec["mode"] == "features":
            total += spec["dim"] * IMAGE_EMBEDDING
        elif spec["mode"] == "tune":
            total += sum(tune_cost(spec))
        else:
            total += cnn_macs(spec["size"])
    return total


def choose_shape(*, n_fit: int, n_folds: int, macs: Callable[[int, bool], float], time_budget: float,
                 device: torch.device, regression: bool = False) -> tuple[int, bool]:
    """(TabM members, number embeddings?): the best shape whose planned training fits the budget's share.

    A rule on the data's size, shape and kind, never on the data set: planned seconds = folds × rows ×
    epochs × 3 × forward multiply-adds / the device's pace; large regression tables get at most
    ``LARGE_REGRESSION_MEMBERS`` members.
    """
    pace = GPU_MACS_PER_SECOND if device.type == "cuda" else CPU_MACS_PER_SECOND
    batch = batch_size(n_fit)
    epochs = min(EXPECTED_EPOCHS * max(1.0, 2000 / max(n_fit, 1)) ** 0.5, MAX_STEPS / -(-n_fit // batch), MAX_EPOCHS)
    cap = LARGE_REGRESSION_MEMBERS if regression and n_fit >= LARGE_TABLE_ROWS else max(k for k, _ in SHAPES)
    for k, plr in SHAPES:
        if k > cap:
            continue
        planned = n_folds * n_fit * epochs * 3 * macs(k, plr) / pace
        if planned <= PLANNED_SHARE * time_budget:
            return k, plr
    # not even one member with embeddings fits the plan: early stopping and the budget will cut
    # training short anyway, so keep them unless they make the network much dearer (many numeric columns)
    return (1, True) if macs(1, True) <= PLR_AFFORDABLE * macs(1, False) else (1, False)


def choose_ensemble(*, n_fit: int, n_folds: int, macs: Callable[[int], float], time_budget: float,
                    device: torch.device) -> int:
    """The TabM ensemble size alone (embeddings assumed), for callers that plan a fixed design."""
    return choose_shape(n_fit=n_fit, n_folds=n_folds, time_budget=time_budget, device=device,
                        macs=lambda k, plr: macs(k))[0]

