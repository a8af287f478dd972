"""Training: cross-fitting, the Lightning Trainer (its callbacks: callbacks.py), device choice.

Every labelled row gets an honest prediction from a model that never saw it (k-fold cross-fitting);
blank-target rows get the average of the k fold models. Each fold fits its own encoders on its own
training rows and stops early on an inner validation split, so the held-out fold stays untouched.
Side effects — progress, cancel, the time budget — are callbacks; nothing here knows about Excel.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from ..encode.tabular import EncodedTable, TableEncoder, TargetEncoder
from ..errors import Cancelled, DataError
from ..encode.blanks import GapPractice, blank_columns, rare_gaps
from ..models.tabular import N_BINS, NUMBER_EMBEDDING, TabularNet
from .picture_plan import PIXEL_MODES, picture_folds
from ..schema.infer import Schema

if TYPE_CHECKING:  # Lightning is imported only to train: predicting a saved model never needs it
    from ..models.module import TabularModule

__all__ = ["Progress", "FitOptions", "Member", "choose_device", "choose_shape", "make_folds", "n_folds_for",
           "train_members"]

#: cross-fitting folds by number of labelled rows: (up to this many rows, folds)
FOLD_RULE = ((5_000, 5), (50_000, 3))
FOLDS_ABOVE = 2
#: the optimiser's starting learning rate; divided by 10 (twice at most) when training diverges
LEARNING_RATE = 1e-3
#: a GPU that runs out of memory halves the batch down to this before giving up on the GPU
MIN_BATCH_SIZE = 32
#: share of each fold's training rows held back to decide when to stop
INNER_VALID_SHARE = 0.15
#: epochs without improvement before a fold stops
PATIENCE = 8
#: epochs without improvement before the learning rate is cut (the best weights are put back first):
#: a smaller step settles into the minimum the large one keeps jumping over. Only on tables of at
#: least LARGE_TABLE_ROWS training rows: on small ones the validation split is too small for "no
#: better for 4 epochs" to mean much, and cutting on it measured worse (breast_cancer −0.35 pt,
#: credit_data −0.13 pt, penguins ±0)
DECAY_PATIENCE = 4
#: the learning rate is multiplied by this at each cut
DECAY_FACTOR = 0.2
#: cuts at most; after the last, PATIENCE epochs without improvement end the fold
MAX_DECAYS = 2
#: share of a fold's time after which the rate is cut anyway, for training the budget (not early
#: stopping) ends: the last stretch is spent settling rather than exploring
LATE_DECAY_SHARE = 0.7
#: steps a fold may take at most (max epochs follow from the batch count; the time budget usually
#: ends training long before)
MAX_STEPS = 40000
MAX_EPOCHS = 300


@dataclass
class Progress:
    """What a progress display shows; sent after every epoch and at each stage change."""

    stage: str  # "training" | "explaining" | "done"
    fold: int  # 1-based
    n_folds: int
    epoch: int
    max_epochs: int
    valid_score: float | None
    elapsed: float
    remaining: float | None
    message: str = ""


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


@dataclass(kw_only=True)
class FitOptions:
    time_budget: float = 60.0
    device: str = "auto"
    seed: int = 0
    progress: ProgressFn | None = None
    cancel: CancelFn | None = None
    #: where relative picture paths start (default: the workbook's folder, else the current folder)
    image_folder: Path | None = None
    #: pictures outside these folders are refused (the add-in server sets this); None = anywhere
    allowed_image_folders: list[Path] | None = None
    #: may SheetDL fetch pretrained picture weights from the internet (once, then cached)?
    allow_download: bool = True
    #: adapt the pretrained picture network's last block to these pictures: "auto" (when training on
    #: a GPU and it fits the time budget), "yes" (when it fits the time budget) or "no"
    fine_tune: str = "auto"


@dataclass
class Member:
    """One fold's model: its own encoders and network."""

    encoder: TableEncoder
    net: TabularNet
    history: list[dict]
    valid_rows: np.ndarray  # labelled-row positions this member never trained on


def n_folds_for(n_labelled: int) -> int:
    for limit, k in FOLD_RULE:
        if n_labelled <= limit:
            return k
    return FOLDS_ABOVE


def choose_device(setting: str) -> tuple[str, torch.device, str]:
    """(Lightning accelerator, torch device, words for the report)."""
    from ..errors import SettingsError

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


def _batch_size(n_train: int) -> int:
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
#: share of the time budget training may use at most; the rest is for measuring and explaining
TRAINING_SHARE = 0.85
#: (TabM members, number embeddings?) to choose from, best first. When not even one member fits the
#: plan, the embeddings stay unless they cost much more than a plain MLP (see PLR_AFFORDABLE): on a
#: table of a few numbers (diamonds) they are cheap and worth more than the epochs they take
SHAPES = ((32, True), (16, True), (8, True), (4, True), (2, True), (1, True))
HIDDEN = 128
DEPTH = 3
#: a linear path from the inputs to the output beside the MLP (see models/tabular.py)
ADDITIVE = True
#: practise the blanks too few training rows have, so such rows are answered from their other
#: columns (see gaps.py)
GAP_PRACTICE = True
#: dropout after each hidden layer, for tables with fewer training rows than LARGE_TABLE_ROWS: large
#: tables regularise themselves, and their training is cut by the budget, not by overfitting, so
#: dropout would only slow it (diamonds, 24k rows a fold: RMSE 0.0991 → 0.0965 without it)
DROPOUT = 0.1
LARGE_TABLE_ROWS = 10_000
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
#: Lightning precision of GPU training (where the GPU has bfloat16)
GPU_PRECISION = "bf16-mixed"
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
    from ..models.tabular import IMAGE_EMBEDDING, N_BINS

    n_plr = sum(continuous) if plr else 0
    width = n_plr * NUMBER_EMBEDDING + (n_numeric - n_plr) + embed_width + IMAGE_EMBEDDING * len(image_inputs or [])
    embeddings = n_plr * N_BINS * (NUMBER_EMBEDDING + 4)
    return (embeddings + image_macs(image_inputs or []) + width * n_outputs  # the additive path
            + k * (width * hidden + (depth - 1) * hidden * hidden + hidden * n_outputs))


def image_macs(image_inputs: list[dict]) -> float:
    """Multiply-adds of the picture branches for one row."""
    from ..models.tabular import IMAGE_EMBEDDING

    total = 0.0
    for spec in image_inputs:
        if spec["mode"] == "features":
            total += spec["dim"] * IMAGE_EMBEDDING
        elif spec["mode"] == "tune":
            from ..models.image import backbone_macs

            total += backbone_macs(spec["size"])
        else:
            from ..models.image import cnn_macs

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
    batch = _batch_size(n_fit)
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


#: below this much work per step (batch × members × width), one thread beats two: the step is too
#: small to split, and a second thread that waits for a busy core costs more than it brings
SINGLE_THREAD_WORK = 256 * 8 * 128


@contextlib.contextmanager
def _threads_for(work: int, device: torch.device):
    before = torch.get_num_threads()
    if device.type == "cpu" and work < SINGLE_THREAD_WORK and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _quiet_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"lightning\..*")
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # CUDA graphs (models/module.py): the warm-up's gradients meet the weights on another stream once
    warnings.filterwarnings("ignore", message=r".*AccumulateGrad node's stream does not match.*")


def to_tensors(enc: EncodedTable, device: torch.device, *, pictures_stay: bool = False) -> tuple[torch.Tensor, ...]:
    """(numeric, categorical, text, *images) on ``device``. ``pictures_stay``: pictures as pixels
    (B, H, W, 3) stay in the computer's memory and travel to the device a batch at a time: 10,000
    pictures at 224 px are 1.5 GB, more than a laptop's GPU can spare beside training."""
    return tuple(torch.from_numpy(np.ascontiguousarray(a)) if pictures_stay and i >= 3 and a.ndim == 4
                 else torch.as_tensor(a, device=device) for i, a in enumerate(enc.arrays))


def _has_pixels(net) -> bool:
    """Does the network read pixels itself (rather than a frozen network's features)?"""
    return any(spec["mode"] in PIXEL_MODES for spec in net.config.get("image_inputs", []))


#: rows per forward pass when predicting pictures from pixels (a CNN's activations are large)
PIXEL_PREDICT_BATCH = 256
#: the same for 224-px pictures through the pretrained ResNet-18 (~13 MB of activations each)
TUNE_PREDICT_BATCH = 64


def _pixel_batch(net) -> int:
    tune = any(spec["mode"] == "tune" for spec in net.config.get("image_inputs", []))
    return TUNE_PREDICT_BATCH if tune else PIXEL_PREDICT_BATCH


@torch.no_grad()
def predict_net(net: TabularNet, enc: EncodedTable, device: torch.device, task: str, batch: int = 8192,
                *, spread: bool = False):
    """Class probabilities (n, k) or standardised numbers (n,). With ``spread`` (regression), also the
    standard deviation of the TabM members' numbers, (n,) — zeros for a single member.

    Pictures read from pixels (a CNN, or a fine-tuned ResNet) go through their network once per
    distinct picture and net (``_picture_embeddings``): explaining asks the same net about the same
    pictures in shuffled orders dozens of times, and on a CPU each ResNet pass costs seconds."""
    net.eval().to(device)
    inputs = to_tensors(enc, device, pictures_stay=True)  # pixels are read by _picture_embeddings
    n = len(inputs[0])
    heavy = [b for b, spec in enumerate(net.config.get("image_inputs", [])) if spec["mode"] in PIXEL_MODES]
    given = {b: _picture_embeddings(net, b, enc.images[b], device) for b in heavy} if n else {}
    outs, spreads = [], []
    work = min(n, batch) * net.k * net.config["hidden"]
    with _threads_for(work, device):
        for s in range(0, n, batch):
            rows = {b: e[s : s + batch] for b, e in given.items()}
            each = net.members(*(t[s : s + batch] for t in inputs), image_embeddings=rows).float()
            out = net.combine(each)
            outs.append(torch.softmax(out, 1) if task == "classification" else out.squeeze(1))
            if spread:
                spreads.append(each[:, :, 0].std(dim=1, unbiased=False))
    if not outs:
        k = net.config["n_outputs"]
        empty = np.zeros((0, k) if task == "classification" else (0,), np.float32)
        return (empty, np.zeros(0, np.float32)) if spread else empty
    mean = torch.cat(outs).cpu().numpy()
    return (mean, torch.cat(spreads).cpu().numpy()) if spread else mean


#: pictures whose embeddings a net remembers at most (256 bytes each)
PICTURE_MEMO_MAX = 200_000


def _picture_embeddings(net: TabularNet, b: int, pictures: np.ndarray, device: torch.device) -> torch.Tensor:
    """Picture branch ``b``'s output for each row, (n, IMAGE_EMBEDDING) on ``device``, remembered on
    the net by each picture's content (a BLAKE2 digest) and the device, so a picture seen before costs
    nothing. A trained net's weights don't change, and training builds new nets, so what is
    remembered stays right."""
    import hashlib

    memo = net.__dict__.setdefault("_picture_memo", {})
    if len(memo) > PICTURE_MEMO_MAX:  # a model kept by the add-in's server, predicting sheet after sheet
        memo.clear()
    pictures = np.ascontiguousarray(pictures)
    # by device too: a GPU's numbers differ from the CPU's in the last bits, and a model trained (and
    # explained) on a GPU must predict on the CPU exactly as it will after saving and loading
    keys = [(b, device.type, hashlib.blake2b(memoryview(p), digest_size=16).digest()) for p in pictures]
    todo = list(dict.fromkeys(k for k in keys if k not in memo))
    if todo:
        first = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        rows = [first[k] for k in todo]
        step = _pixel_batch(net)
        branch = net.images[b]
        with _threads_for(SINGLE_THREAD_WORK, device):
            for s in range(0, len(rows), step):
                part = rows[s : s + step]
                out = branch(torch.as_tensor(pictures[part], device=device)).float().cpu()
                for k, e in zip(todo[s : s + step], out):
                    memo[k] = e
    return torch.stack([memo[k] for k in keys]).to(device) if keys else torch.zeros(0, device=device)


@contextlib.contextmanager
def ctrl_c_cancels(opts: FitOptions):
    """Turn the first Ctrl-C into a clean cancel (checked between batches); a second one stops hard."""
    if threading.current_thread() is not threading.main_thread():
        yield opts
        return
    pressed = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if pressed.is_set():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        pressed.set()

    user_cancel = opts.cancel
    opts.cancel = lambda: pressed.is_set() or bool(user_cancel and user_cancel())
    signal.signal(signal.SIGINT, handler)
    try:
        yield opts
    finally:
        signal.signal(signal.SIGINT, previous)
        opts.cancel = user_cancel
    if pressed.is_set():
        raise Cancelled()


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def _fit_fold(net: TabularNet, *, task: str, enc_fit: EncodedTable, enc_stop: EncodedTable, y_fit: np.ndarray,
              y_stop: np.ndarray, fold: int, n_folds: int, start: float, fold_deadline: float,
              total_deadline: float, opts: FitOptions, ensemble: int, lr: float, batch_size: int,
              device: torch.device, gaps: GapPractice | None = None) -> TabularModule:
    """Train one fold's network in place; returns the module (its ``history`` is the curve)."""
    import lightning as L

    from .callbacks import Budget, RestoreBest
    from ..models.module import TabularDataModule, TabularModule

    cuda = device.type == "cuda"
    steps_per_epoch = -(-len(y_fit) // batch_size)
    max_epochs = int(min(MAX_EPOCHS, max(20, MAX_STEPS // steps_per_epoch)))
    # pixels go through convolutions, which keep a GPU busy without graphs
    module = TabularModule(net, task=task, max_epochs=max_epochs, lr=lr, cuda_graphs=cuda and not _has_pixels(net),
                           gaps=gaps.to(device) if gaps is not None else None)
    data = TabularDataModule(
        (*to_tensors(enc_fit, device, pictures_stay=True), torch.as_tensor(y_fit, device=device)),
        (*to_tensors(enc_stop, device, pictures_stay=True), torch.as_tensor(y_stop, device=device)),
        batch_size=batch_size,
        seed=opts.seed + fold,
        valid_batch_size=_pixel_batch(net) if _has_pixels(net) else None,
    )
    trainer = L.Trainer(
        accelerator="gpu" if cuda else "cpu",
        devices=1,
        precision=GPU_PRECISION if cuda and torch.cuda.is_bf16_supported() else "32-true",
        max_epochs=max_epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[
            RestoreBest(PATIENCE, start=time.monotonic(), deadline=fold_deadline,
                        decay_patience=DECAY_PATIENCE if len(y_fit) >= LARGE_TABLE_ROWS else math.inf),
            Budget(deadline=fold_deadline, fold=fold + 1, n_folds=n_folds, start=start,
                   total_deadline=total_deadline, opts=opts, max_epochs=max_epochs),
        ],
    )
    with _threads_for(batch_size * ensemble * HIDDEN + (SINGLE_THREAD_WORK if _has_pixels(net) else 0), device):
        trainer.fit(module, datamodule=data)
    if _has_pixels(net):
        _refresh_picture_batchnorm(net, enc_fit, device)
    net.settle_tuned()
    return module


def _refresh_picture_batchnorm(net: TabularNet, enc: EncodedTable, device: torch.device) -> None:
    """A CNN's batch-norm statistics, recomputed over the fold's training pictures with its final
    weights: on a small sheet a fold takes only a few dozen steps, too few for the running averages
    to forget the untrained start, and predictions would be near chance although training went well."""
    from ..models.image import refresh_batchnorm, to_input

    for b, branch in enumerate(net.images):
        if branch.cnn is None:
            continue
        branch.cnn.to(device)  # Lightning hands the trained network back on the CPU
        pixels = torch.as_tensor(enc.images[b])
        step = PIXEL_PREDICT_BATCH
        refresh_batchnorm(branch.cnn, (to_input(pixels[s : s + step].to(device)) for s in range(0, len(pixels), step)))


def train_members(
    frame: pd.DataFrame,
    y: np.ndarray,
    labelled: np.ndarray,
    schema: Schema,
    target_encoder: TargetEncoder,
    opts: FitOptions,
) -> tuple[list[Member], np.ndarray, str, float, list[str], torch.device]:
    """Cross-fit k members on the labelled rows.

    ``frame``: typed features of every row; ``y``: encoded target of the labelled rows, in order;
    ``labelled``: positions (into frame) of the labelled rows. Returns the members, the fold of each
    labelled row, the device description, the seconds spent, notes for the report (retries after
    an unstable start or a GPU out of memory), and the device training ended on (where predicting and
    explaining are fastest too).
    """
    import lightning as L

    from ..models.module import Diverged

    _quiet_lightning()
    _, device, device_words = choose_device(opts.device)
    notes: list[str] = []
    task = schema.task
    n = len(labelled)
    k = min(n_folds_for(n), n) if n >= 2 else 1
    k = picture_folds(k, n, schema, opts.time_budget, device)
    folds = make_folds(y if task == "classification" else None, n, k, opts.seed)
    # the rows to fill in: their blanks are practised too (gaps.py), so numbers blank there get an indicator
    to_fill = frame.iloc[np.setdiff1d(np.arange(len(frame)), labelled)] if GAP_PRACTICE else None
    practised = blank_columns(to_fill, schema.features) if GAP_PRACTICE else []
    start = time.monotonic()
    total_deadline = start + TRAINING_SHARE * opts.time_budget
    members: list[Member] = []
    attempt = {"lr": LEARNING_RATE, "batch_size": None, "device": device}
    for f in range(k):
        train_pos = np.flatnonzero(folds != f) if k > 1 else np.arange(n)
        inner = make_folds(y[train_pos] if task == "classification" else None, len(train_pos),
                           max(2, round(1 / INNER_VALID_SHARE)), opts.seed + 1000 + f)
        fit_pos, stop_pos = train_pos[inner != 0], train_pos[inner == 0]
        if len(stop_pos) == 0 or len(fit_pos) < 2:  # tiny data: watch the training rows themselves
            fit_pos = stop_pos = train_pos
        rows_fit = labelled[fit_pos]
        encoder = TableEncoder().fit(frame.iloc[rows_fit], schema.features, blank_columns=practised)
        enc_all = encoder.transform(frame.iloc[labelled[train_pos]])
        pos_index = {p: i for i, p in enumerate(train_pos)}
        enc_fit = enc_all.take(np.array([pos_index[p] for p in fit_pos]))
        enc_stop = enc_all.take(np.array([pos_index[p] for p in stop_pos]))
        gaps = rare_gaps(frame.iloc[rows_fit], encoder, to_fill) if GAP_PRACTICE else None
        L.seed_everything(opts.seed + f, workers=False, verbose=False)
        n_outputs = target_encoder.n_classes_ if task == "classification" else 1
        if f == 0:  # one shape for every fold, planned from the first
            from ..models.tabular import embedding_dim

            embed_width = sum(embedding_dim(c) for c in encoder.cardinalities) + 16 * len(encoder.vocab_sizes)
            ensemble, plr = choose_shape(
                n_fit=len(fit_pos), n_folds=k, time_budget=opts.time_budget, device=device,
                regression=task == "regression",
                macs=lambda m, p: forward_macs(encoder.n_numeric, encoder.continuous, embed_width, n_outputs, m,
                                               plr=p, image_inputs=encoder.image_inputs))
        def build() -> TabularNet:
            return TabularNet(
                n_numeric=encoder.n_numeric,
                cardinalities=encoder.cardinalities,
                vocab_sizes=encoder.vocab_sizes,
                n_outputs=n_outputs,
                hidden=HIDDEN,
                depth=DEPTH,
                dropout=DROPOUT if len(fit_pos) < LARGE_TABLE_ROWS else 0.0,
                continuous=encoder.continuous,
                ensemble=ensemble,
                number_embedding=NUMBER_EMBEDDING if plr else 0,
                number_bins=N_BINS,
                image_inputs=encoder.image_inputs,
                additive=ADDITIVE,
            )

        # what a retry learned (a smaller rate, smaller batches, the CPU) holds for the later folds too
        attempt["batch_size"] = min(_batch_size(len(fit_pos)), attempt.get("batch_size") or 1 << 30)
        while True:
            now = time.monotonic()
            fold_deadline = now + max(0.0, total_deadline - now) / (k - f)
            L.seed_everything(opts.seed + f, workers=False, verbose=False)
            net = build()
            net.set_number_bins(enc_fit.numeric)
            net.start_from_pretrained()
            try:
                module = _fit_fold(net, task=task, enc_fit=enc_fit, enc_stop=enc_stop, y_fit=y[fit_pos],
                                   y_stop=y[stop_pos], fold=f, n_folds=k, start=start,
                                   fold_deadline=fold_deadline, total_deadline=total_deadline, opts=opts,
                                   ensemble=ensemble, gaps=gaps, **attempt)
                break
            except Diverged:
                if attempt["lr"] <= LEARNING_RATE / 100:
                    raise DataError(
                        f"Training on '{schema.target}' kept failing: the model's error became infinite even "
                        "with a much smaller learning rate.",
                        hint="Look for extreme values (e.g. 1E+300) or numbers in the wrong unit in the "
                             "number columns, or leave such columns out with --ignore.",
                        column=schema.target) from None
                attempt["lr"] /= 10
                _note(notes, f"Training became unstable, so SheetDL retried with a smaller learning rate "
                             f"({attempt['lr']:g}).")
            except torch.cuda.OutOfMemoryError:
                if attempt["device"].type == "cuda":
                    torch.cuda.empty_cache()
                if attempt["device"].type == "cuda" and attempt["batch_size"] > MIN_BATCH_SIZE:
                    attempt["batch_size"] //= 2
                    _note(notes, f"The GPU ran out of memory; SheetDL trained in smaller batches "
                                 f"({attempt['batch_size']} rows).")
                elif attempt["device"].type == "cuda":
                    attempt["device"] = torch.device("cpu")
                    device_words = f"CPU ({torch.get_num_threads()} threads) — the GPU ran out of memory"
                    _note(notes, "The GPU ran out of memory even with small batches, so SheetDL trained on "
                                 "the CPU instead.")
                else:
                    raise
        if opts.cancel is not None and opts.cancel():
            raise Cancelled()
        net.eval()
        members.append(Member(encoder=encoder, net=net.cpu(), history=module.history,
                              valid_rows=np.flatnonzero(folds == f) if k > 1 else np.arange(0)))
    return members, folds, device_words, time.monotonic() - start, notes, attempt["device"]
