"""Time planning for picture columns: how many cross-fitting folds a network that learns from pixels
can afford, and whether fine-tuning the pretrained network fits the time budget.

A rule on the data's size and the device's pace, as for the tabular network's shape
(``plan.choose_shape``): planned seconds = folds × epochs × training rows × multiply-adds a
step / the device's multiply-adds a second. The paces were measured (see the constants).
"""

from __future__ import annotations

import math

import torch

from ..encode import PICTURE_NOTE
from ..images import PRETRAINED_SIZE
from ..models import RESNET18, cnn_macs, tune_cost
from ..schema import Schema
from .options import INNER_VALID_SHARE, TRAINING_SHARE

__all__ = ["PIXEL_MODES", "picture_folds", "fine_tune_plan", "TUNE_MAX_PICTURES", "TUNE_EPOCHS"]

#: epochs a CNN trained from scratch on pictures needs to do well (the digits reach ~98% in ~10)
CNN_EPOCHS = 10
#: multiply-adds a second a CPU sustains training a small CNN (forward + backward ≈ 3 × forward): convolutions
#: use the cores far better than small matrix products. Measured 22 Nov 2026, 2 cores, quiet: SmallCNN at
#: 32 px, batch 64: ~900–1,400 pictures/s ≈ 5–8·10¹⁰; we plan with less, as for the MLP
CONV_MACS_PER_SECOND = 4e10
#: epochs fine-tuning the pretrained network's last block is planned with (it starts from features
#: that already work, so it needs fewer passes than a CNN from scratch)
TUNE_EPOCHS = 8
#: multiply-adds a second a GPU sustains on convolutions in bf16 — a laptop's GPU, not a data
#: centre's: an H100 sustained ~5·10¹² fine-tuning at our small batches (see benchmarks/README.md)
GPU_CONV_MACS_PER_SECOND = 3e12
#: fine-tuning keeps every picture decoded at 224 px in memory (150 kB each): at most this many
TUNE_MAX_PICTURES = 10_000
#: picture modes whose network reads pixels (a CNN from scratch, a fine-tuned pretrained block)
PIXEL_MODES = ("pixels", "tune")


def _conv_pace(device: torch.device) -> float:
    return GPU_CONV_MACS_PER_SECOND if device.type == "cuda" else CONV_MACS_PER_SECOND


def _picture_step_macs(spec: dict) -> tuple[float, int]:
    """(multiply-adds of one training step's picture work per row, epochs it is planned with)."""
    if spec.get("mode") == "pixels":
        return 3 * cnn_macs(spec["size"]), CNN_EPOCHS
    if spec.get("mode") == "tune":
        frozen, tuned = tune_cost(spec)
        return frozen + 3 * tuned, TUNE_EPOCHS
    return 0.0, 0


def _picture_seconds(folds: int, n: int, specs: list[dict], device: torch.device) -> float:
    """Planned seconds of training ``folds`` folds on ``n`` labelled rows' pictures."""
    n_fit = n * (folds - 1) / folds * (1 - INNER_VALID_SHARE)
    return sum(folds * epochs * n_fit * macs for macs, epochs in map(_picture_step_macs, specs)) / _conv_pace(device)


def picture_folds(k: int, n: int, schema: Schema, time_budget: float, device: torch.device) -> int:
    """Fewer cross-fitting folds when a network learns from pictures (a CNN from scratch, or the
    pretrained one's last block being fine-tuned): each fold needs several passes over its pictures,
    and five short folds learn less than three long ones. The most folds (at least 2, at most ``k``)
    whose planned training fits the budget."""
    specs = [c.parse.get("image") or {} for c in schema.features if c.kind == "image"]
    specs = [s for s in specs if s.get("mode") in PIXEL_MODES]
    if not specs or k <= 2:
        return k

    for folds in range(k, 2, -1):
        if _picture_seconds(folds, n, specs, device) <= TRAINING_SHARE * time_budget:
            return folds
    return 2


def fine_tune_plan(setting: str, n_pictures: int, n_in_memory: int, device: torch.device,
                   time_budget: float, network: str | None = RESNET18) -> tuple[bool, str]:
    """(fine-tune the pretrained picture network?, a note for the report when the answer is not
    what the setting asked for). ``network``: the pretrained network picked (None: none could be
    loaded). "auto" fine-tunes on a GPU; "yes" on any device; either only when
    two folds of it (``n_pictures``: labelled rows with a picture) fit the time budget and the
    pictures (``n_in_memory``: every row's) fit in memory."""
    if (setting == "no" or (setting == "auto" and device.type != "cuda") or n_pictures == 0
            or network is None):  # no pretrained network: nothing to fine-tune (pick_network's note says so)
        return False, ""

    if n_in_memory > TUNE_MAX_PICTURES:
        return False, (f"{PICTURE_NOTE} fine-tuning keeps every picture in memory, so SheetDL does it for "
                       f"at most {TUNE_MAX_PICTURES:,} pictures; this sheet has {n_in_memory:,}, so the "
                       f"pretrained network was used as it is.")
    seconds = _picture_seconds(2, n_pictures, [{"mode": "tune", "size": PRETRAINED_SIZE, "network": network}],
                               device)
    if seconds <= TRAINING_SHARE * time_budget:
        return True, ""
    where = "the GPU" if device.type == "cuda" else "this computer's processor (no GPU)"
    need = _duration_words(seconds / TRAINING_SHARE, up=True)
    return False, (f"{PICTURE_NOTE} fine-tuning the picture network on {n_pictures:,} pictures would take "
                   f"about {need} on {where}, more than the time budget ({_duration_words(time_budget)}), so the "
                   f"pretrained network was used as it is. Set 'Time budget' to {need} or more to fine-tune.")


def _duration_words(seconds: float, *, up: bool = False) -> str:
    """'45 seconds', '12 minutes', '2.5 hours'; ``up``: rounded up, for a time that must be enough."""
    whole = math.ceil if up else round
    if seconds < 90:
        return f"{max(1, whole(seconds))} seconds"
    if seconds < 90 * 60:
        return f"{whole(seconds / 60)} minutes"
    return f"{(math.ceil(seconds / 360) / 10) if up else round(seconds / 3600, 1)} hours"
