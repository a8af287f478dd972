"""Cross-fitting: one network per fold, each trained by the Lightning Trainer (its callbacks:
``callbacks.py``).

Every labelled row gets an honest prediction from a model that never saw it (k-fold cross-fitting);
blank-target rows get the average of the k fold models. Each fold fits its own encoders on its own
training rows and stops early on an inner validation split, so the held-out fold stays untouched.
Side effects — progress, cancel, the time budget — are callbacks; nothing here knows about Excel.
Lightning is imported only when a fold trains: predicting with a saved model never needs it.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
import torch

from ..encode import EncodedTable, GapPractice, TableEncoder, TargetEncoder, blank_columns, rare_gaps
from ..errors import Cancelled, DataError
from ..models import (
    N_BINS,
    NUMBER_EMBEDDING,
    TEXT_DIM,
    TabularNet,
    Trees,
    embedding_dim,
    fit_trees,
    refresh_batchnorm,
    to_input,
)
from ..schema import Schema, Task
from .options import (
    DECAY_PATIENCE,
    DEPTH,
    HIDDEN,
    INNER_VALID_SHARE,
    LARGE_TABLE_ROWS,
    MAX_EPOCHS,
    MAX_STEPS,
    TRAINING_SHARE,
    FitOptions,
)
from .picture_plan import picture_folds
from .plan import batch_size, choose_device, choose_shape, forward_macs, make_folds, n_folds_for
from .predict import PIXEL_PREDICT_BATCH, SINGLE_THREAD_WORK, has_pixels, pixel_batch, threads_for, to_tensors

if TYPE_CHECKING:  # Lightning is imported only to train: predicting a saved model never needs it
    from ..models.module import TabularModule

__all__ = ["Member", "CrossFit", "train_members", "ctrl_c_cancels", "quiet_lightning", "GAP_PRACTICE"]

#: the optimiser's starting learning rate; divided by 10 (twice at most) when training diverges
LEARNING_RATE = 1e-3
#: a GPU that runs out of memory halves the batch down to this before giving up on the GPU
MIN_BATCH_SIZE = 32
#: epochs without improvement before a fold stops
PATIENCE = 8
#: a linear path from the inputs to the output beside the MLP (see models/tabular.py)
ADDITIVE = True
#: practise the blanks too few training rows have, so such rows are answered from their other
#: columns (see encode/blanks.py)
GAP_PRACTICE = True
#: dropout after each hidden layer, for tables with fewer training rows than LARGE_TABLE_ROWS: large
#: tables regularise themselves, and their training is cut by the budget, not by overfitting, so
#: dropout would only slow it (diamonds, 24k rows a fold: RMSE 0.0991 → 0.0965 without it)
DROPOUT = 0.1
#: Lightning precision of GPU training (where the GPU has bfloat16)
GPU_PRECISION: Final = "bf16-mixed"
#: the inner validation split of fold f is drawn with seed + INNER_SPLIT_SEED + f, apart from the
#: seeds the folds' own training draws from (seed + f)
INNER_SPLIT_SEED = 1000
#: boosted trees beside each fold's network (models/trees.py), blended with it by how well each
#: answers the rows it did not train on (engine/train.py): on the wide benchmark's tuning half
#: (benchmarks/wide.py) neither alone was best on every kind of table
TREES = True
#: the trees may take this share of training's time at most (each fold's its share of it): they boost
#: as many rounds as fit (models/trees.py). Uncapped, digits' ten classes (1,000 trees a fold) took most
#: of a 20 s budget on a busy machine and left its networks 9 points short (wide benchmark, tuning half)
TREES_TIME_SHARE = 0.25


@dataclass
class Member:
    """One fold's model: its own encoders and network."""

    encoder: TableEncoder
    net: TabularNet
    history: list[dict]
    #: labelled-row positions this member never trained on (None: a model loaded from a file)
    valid_rows: np.ndarray | None
    #: boosted trees fitted on the same rows and inputs (None: none, e.g. a single fold or no inputs
    #: they can read); blended with the network's answer by the model's weight
    trees: Trees | None = None


def quiet_lightning() -> None:
    """Lightning's logs and warnings are for programmers; a SheetDL user sees our own progress."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"lightning\..*")
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # CUDA graphs (models/module.py): the warm-up's gradients meet the weights on another stream once
    warnings.filterwarnings("ignore", message=r".*AccumulateGrad node's stream does not match.*")


@contextmanager
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


def _fit_fold(net: TabularNet, *, task: Task, enc_fit: EncodedTable, enc_stop: EncodedTable, y_fit: np.ndarray,
              y_stop: np.ndarray, fold: int, n_folds: int, start: float, fold_deadline: float,
              total_deadline: float, opts: FitOptions, ensemble: int, lr: float, batch_size: int,
              device: torch.device, gaps: GapPractice | None = None) -> TabularModule:
    """Train one fold's network in place; returns the module (its ``history`` is the curve)."""
    import lightning as L

    from ..models.module import TabularDataModule, TabularModule
    from .callbacks import Budget, RestoreBest

    cuda = device.type == "cuda"
    steps_per_epoch = -(-len(y_fit) // batch_size)
    max_epochs = int(min(MAX_EPOCHS, max(20, MAX_STEPS // steps_per_epoch)))
    # pixels go through convolutions, which keep a GPU busy without graphs
    module = TabularModule(net, task=task, max_epochs=max_epochs, lr=lr, cuda_graphs=cuda and not has_pixels(net),
                           gaps=gaps.to(device) if gaps is not None else None)
    data = TabularDataModule(
        (*to_tensors(enc_fit, device, pictures_stay=True), torch.as_tensor(y_fit, device=device)),
        (*to_tensors(enc_stop, device, pictures_stay=True), torch.as_tensor(y_stop, device=device)),
        batch_size=batch_size,
        seed=opts.seed + fold,
        valid_batch_size=pixel_batch(net) if has_pixels(net) else None,
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
    with threads_for(batch_size * ensemble * HIDDEN + (SINGLE_THREAD_WORK if has_pixels(net) else 0), device):
        trainer.fit(module, datamodule=data)
    if has_pixels(net):
        _refresh_picture_batchnorm(net, enc_fit, device)
    net.settle_tuned()
    return module


def _refresh_picture_batchnorm(net: TabularNet, enc: EncodedTable, device: torch.device) -> None:
    """A CNN's batch-norm statistics, recomputed over the fold's training pictures with its final
    weights: on a small sheet a fold takes only a few dozen steps, too few for the running averages
    to forget the untrained start, and predictions would be near chance although training went well."""
    for b, branch in enumerate(net.image_branches):
        if branch.cnn is None:
            continue
        branch.cnn.to(device)  # Lightning hands the trained network back on the CPU
        pixels = torch.as_tensor(enc.images[b])
        step = PIXEL_PREDICT_BATCH
        refresh_batchnorm(branch.cnn, (to_input(pixels[s : s + step].to(device)) for s in range(0, len(pixels), step)))


@dataclass
class CrossFit:
    """What cross-fitting made: one member per fold, and what happened on the way."""

    members: list[Member]
    #: the fold of each labelled row
    folds: np.ndarray
    #: the device training ended on (where predicting and explaining are fastest too) ...
    device: torch.device
    #: ... and in words for the report: "CPU (2 threads)", "GPU (NVIDIA …)"
    device_words: str
    seconds: float
    #: for the report: retries after an unstable start or a GPU out of memory
    notes: list[str]
    #: feature columns whose blanks were practised (the rows to fill in have them; see encode/blanks.py)
    practised: list[str]


@dataclass
class _Attempt:
    """How the folds train; what a retry learned (a smaller rate, smaller batches, the CPU) holds for
    the later folds too."""

    lr: float
    batch_size: int  # 0 until the first fold sets it
    device: torch.device
    device_words: str


@dataclass
class _Fold:
    """One fold's rows and what was fitted on them before its network trains."""

    index: int
    fit_pos: np.ndarray  # positions (into the labelled rows) the network learns from ...
    stop_pos: np.ndarray  # ... and those that decide when it stops
    encoder: TableEncoder
    enc_fit: EncodedTable
    enc_stop: EncodedTable
    gaps: GapPractice | None


@dataclass
class _Shape:
    """The network every fold builds, planned from the first fold."""

    n_outputs: int
    ensemble: int
    plr: bool


def train_members(frame: pd.DataFrame, y: np.ndarray, labelled: np.ndarray, schema: Schema,
                  target_encoder: TargetEncoder, opts: FitOptions) -> CrossFit:
    """Cross-fit k members on the labelled rows.

    ``frame``: typed features of every row; ``y``: encoded target of the labelled rows, in order;
    ``labelled``: positions (into frame) of the labelled rows.
    """
    import lightning as L

    quiet_lightning()
    _, device, device_words = choose_device(opts.device)
    task = schema.task
    n = len(labelled)
    k = min(n_folds_for(n), n) if n >= 2 else 1
    k = picture_folds(k, n, schema, opts.time_budget, device)
    folds = make_folds(y if task == "classification" else None, n, k, opts.seed)
    # the rows to fill in: their blanks are practised too (encode/blanks.py), so numbers blank there get an indicator
    to_fill = frame.iloc[np.setdiff1d(np.arange(len(frame)), labelled)] if GAP_PRACTICE else None
    practised = blank_columns(to_fill, schema.features) if GAP_PRACTICE else []
    start = time.monotonic()
    total_deadline = start + TRAINING_SHARE * opts.time_budget
    attempt = _Attempt(lr=LEARNING_RATE, batch_size=0, device=device, device_words=device_words)
    notes: list[str] = []
    members: list[Member] = []
    shape: _Shape | None = None
    for f in range(k):
        fold = _fold(frame, y, labelled, folds, f, k, schema, practised, to_fill, opts.seed)
        L.seed_everything(opts.seed + f, workers=False, verbose=False)
        n_outputs = target_encoder.n_classes_ if task == "classification" else 1
        if shape is None:  # one shape for every fold, planned from the first
            shape = _plan_shape(fold, n_outputs, k, task, opts.time_budget, device)
        attempt.batch_size = min(batch_size(len(fold.fit_pos)), attempt.batch_size or 1 << 30)
        trees = _fit_trees(fold, y, k, schema, n_outputs, opts.seed + f,
                           TREES_TIME_SHARE * (total_deadline - start) / k)
        if opts.cancel is not None and opts.cancel():
            raise Cancelled()
        net, module = _train_fold(fold, y, k, shape, attempt, notes, schema, opts, start, total_deadline)
        if opts.cancel is not None and opts.cancel():
            raise Cancelled()
        net.eval()
        members.append(Member(encoder=fold.encoder, net=net.cpu(), history=module.history,
                              valid_rows=np.flatnonzero(folds == f) if k > 1 else np.arange(0), trees=trees))
    if any(m.trees is None for m in members):  # blended only where every fold has its trees
        for m in members:
            m.trees = None
    return CrossFit(members=members, folds=folds, device=attempt.device, device_words=attempt.device_words,
                    seconds=time.monotonic() - start, notes=notes, practised=practised)


def _fold(frame: pd.DataFrame, y: np.ndarray, labelled: np.ndarray, folds: np.ndarray, f: int, k: int,
          schema: Schema, practised: list[str], to_fill: pd.DataFrame | None, seed: int) -> _Fold:
    """Fold ``f``'s rows, split again into rows to learn from and rows to stop on, with the encoders
    and the blank practice fitted on the rows it learns from."""
    train_pos = np.flatnonzero(folds != f) if k > 1 else np.arange(len(labelled))
    inner = make_folds(y[train_pos] if schema.task == "classification" else None, len(train_pos),
                       max(2, round(1 / INNER_VALID_SHARE)), seed + INNER_SPLIT_SEED + f)
    fit_pos, stop_pos = train_pos[inner != 0], train_pos[inner == 0]
    if len(stop_pos) == 0 or len(fit_pos) < 2:  # tiny data: watch the training rows themselves
        fit_pos = stop_pos = train_pos
    rows_fit = labelled[fit_pos]
    encoder = TableEncoder().fit(frame.iloc[rows_fit], schema.features, blank_columns=practised)
    enc_all = encoder.transform(frame.iloc[labelled[train_pos]])
    pos_index = {p: i for i, p in enumerate(train_pos)}
    return _Fold(
        index=f, fit_pos=fit_pos, stop_pos=stop_pos, encoder=encoder,
        enc_fit=enc_all.take(np.array([pos_index[p] for p in fit_pos])),
        enc_stop=enc_all.take(np.array([pos_index[p] for p in stop_pos])),
        gaps=rare_gaps(frame.iloc[rows_fit], encoder, to_fill) if GAP_PRACTICE else None,
    )


def _fit_trees(fold: _Fold, y: np.ndarray, k: int, schema: Schema, n_outputs: int, seed: int,
               seconds: float) -> Trees | None:
    """The fold's boosted trees, on all its training rows (those the network learns from and those
    that stop it: the trees need no stopping rows below 10,000 rows). None with a single fold: nothing
    is held out to weigh them against the network."""
    if not TREES or k < 2:
        return None
    parts = [(fold.fit_pos, fold.enc_fit)]
    if fold.stop_pos is not fold.fit_pos:  # tiny data watches its training rows: they are in once
        parts.append((fold.stop_pos, fold.enc_stop))
    rows = np.concatenate([p for p, _ in parts])
    numeric = np.concatenate([e.numeric for _, e in parts])
    categorical = np.concatenate([e.categorical for _, e in parts])
    targets = y[rows]
    if fold.gaps is not None:
        numeric, categorical, targets = _practised_gaps(fold.gaps, numeric, categorical, targets, seed)
    return fit_trees(numeric, categorical, fold.encoder.cardinalities, targets, schema.task,
                     n_outputs if schema.task == "classification" else 0, seed, seconds=seconds)


def _practised_gaps(gaps: GapPractice, numeric: np.ndarray, categorical: np.ndarray, y: np.ndarray, seed: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The trees' rows plus copies of a share of them blanked in the rare-blank patterns the network
    practises (encode/blanks.py), so the trees too answer a row with such a blank from its other
    columns rather than as a typical value (their blank flags tell them which rows those are)."""
    rng = np.random.default_rng(seed + INNER_SPLIT_SEED)
    chosen = np.flatnonzero(rng.random(len(y)) < gaps.share)
    if len(chosen) == 0:
        return numeric, categorical, y
    pattern = rng.integers(len(gaps.numeric_mask), size=len(chosen))
    num_mask = gaps.numeric_mask.cpu().numpy()[pattern]
    cat_mask = gaps.categorical_mask.cpu().numpy()[pattern]
    blank_num = np.where(num_mask, gaps.numeric_blank.cpu().numpy()[None, :], numeric[chosen])
    blank_cat = np.where(cat_mask, gaps.categorical_blank.cpu().numpy()[None, :], categorical[chosen])
    return (np.concatenate([numeric, blank_num.astype(numeric.dtype)]),
            np.concatenate([categorical, blank_cat.astype(categorical.dtype)]), np.concatenate([y, y[chosen]]))


def _plan_shape(fold: _Fold, n_outputs: int, k: int, task: str, time_budget: float, device: torch.device) -> _Shape:
    """TabM members and number embeddings that fit the time budget (see plan.choose_shape)."""
    encoder = fold.encoder
    embed_width = sum(embedding_dim(c) for c in encoder.cardinalities) + TEXT_DIM * len(encoder.vocab_sizes)
    ensemble, plr = choose_shape(
        n_fit=len(fold.fit_pos), n_folds=k, time_budget=time_budget, device=device, regression=task == "regression",
        macs=lambda m, p: forward_macs(encoder.n_numeric, encoder.continuous, embed_width, n_outputs, m,
                                       plr=p, image_inputs=encoder.image_inputs))
    return _Shape(n_outputs=n_outputs, ensemble=ensemble, plr=plr)


def _build(fold: _Fold, shape: _Shape) -> TabularNet:
    encoder = fold.encoder
    return TabularNet(
        n_numeric=encoder.n_numeric,
        cardinalities=encoder.cardinalities,
        vocab_sizes=encoder.vocab_sizes,
        n_outputs=shape.n_outputs,
        hidden=HIDDEN,
        depth=DEPTH,
        dropout=DROPOUT if len(fold.fit_pos) < LARGE_TABLE_ROWS else 0.0,
        continuous=encoder.continuous,
        ensemble=shape.ensemble,
        number_embedding=NUMBER_EMBEDDING if shape.plr else 0,
        number_bins=N_BINS,
        image_inputs=encoder.image_inputs,
        additive=ADDITIVE,
    )


def _train_fold(fold: _Fold, y: np.ndarray, k: int, shape: _Shape, attempt: _Attempt, notes: list[str],
                schema: Schema, opts: FitOptions, start: float, total_deadline: float
                ) -> tuple[TabularNet, TabularModule]:
    """Build and train the fold's network, again with a smaller learning rate when training diverges
    and with smaller batches (then on the CPU) when the GPU runs out of memory."""
    import lightning as L

    from ..models.module import Diverged

    f = fold.index
    while True:
        now = time.monotonic()
        fold_deadline = now + max(0.0, total_deadline - now) / (k - f)
        L.seed_everything(opts.seed + f, workers=False, verbose=False)
        net = _build(fold, shape)
        net.set_number_bins(fold.enc_fit.numeric)
        net.start_from_pretrained()
        try:
            module = _fit_fold(net, task=schema.task, enc_fit=fold.enc_fit, enc_stop=fold.enc_stop,
                               y_fit=y[fold.fit_pos], y_stop=y[fold.stop_pos], fold=f, n_folds=k, start=start,
                               fold_deadline=fold_deadline, total_deadline=total_deadline, opts=opts,
                               ensemble=shape.ensemble, gaps=fold.gaps, lr=attempt.lr, batch_size=attempt.batch_size,
                               device=attempt.device)
            return net, module
        except Diverged:
            if attempt.lr <= LEARNING_RATE / 100:
                raise DataError(
                    f"Training on '{schema.target}' kept failing: the model's error became infinite even "
                    "with a much smaller learning rate.",
                    hint="Look for extreme values (e.g. 1E+300) or numbers in the wrong unit in the "
                         "number columns, or leave such columns out with --ignore.",
                    column=schema.target) from None
            attempt.lr /= 10
            _note(notes, f"Training became unstable, so SheetDL retried with a smaller learning rate "
                         f"({attempt.lr:g}).")
        except torch.cuda.OutOfMemoryError:
            if attempt.device.type != "cuda":  # out of memory on the CPU is not ours to handle
                raise
            _after_gpu_out_of_memory(attempt, notes)


def _after_gpu_out_of_memory(attempt: _Attempt, notes: list[str]) -> None:
    """Halve the batch, down to MIN_BATCH_SIZE, then move to the CPU."""
    torch.cuda.empty_cache()
    if attempt.batch_size > MIN_BATCH_SIZE:
        attempt.batch_size //= 2
        _note(notes, f"The GPU ran out of memory; SheetDL trained in smaller batches ({attempt.batch_size} rows).")
    else:
        attempt.device = torch.device("cpu")
        attempt.device_words = f"CPU ({torch.get_num_threads()} threads) — the GPU ran out of memory"
        _note(notes, "The GPU ran out of memory even with small batches, so SheetDL trained on the CPU instead.")
