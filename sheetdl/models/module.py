"""Lightning wrappers: the training step, and a DataModule that slices batches from tensors.

The encoded table lives in tensors on the training device; a batch is an index slice of them, so
there is no per-row Python in the loop and no worker processes (a spreadsheet fits in memory).
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import lightning as L
import torch
from torch import nn
from torch.nn import functional as F

from .tabular import TabularNet


class Diverged(RuntimeError):
    """The training loss became NaN or infinite (learning rate too high for this data)."""


__all__ = ["Diverged", "TensorBatches", "TabularDataModule", "TabularModule"]

#: on a GPU, steps between checks that the training loss is still a number (see _train_loss)
GPU_CHECK_EVERY = 32
#: record the training step's forward and backward as CUDA graphs (see TabularModule._graphed_loss);
#: benchmarks turn it off to compare
CUDA_GRAPHS = True
#: (numeric, categorical, text, *images, target)
Batch = tuple[torch.Tensor, ...]


class TensorBatches:
    """An iterable of batches sliced from tensors already on the device (pictures may stay in the
    computer's memory: see ``training.to_tensors``); reshuffled each pass."""

    def __init__(self, tensors: tuple[torch.Tensor, ...], batch_size: int, *, shuffle: bool, seed: int = 0):
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)
        n = len(tensors[0])
        # drop a last batch of one row: BatchNorm-free, but a 1-row step is pure noise
        self._n_batches = max(1, -(-n // batch_size))

    def __len__(self) -> int:
        return self._n_batches

    def __iter__(self):
        n = len(self.tensors[0])
        device = self.tensors[0].device
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        on_device = order.to(device) if order is not None else None
        for start in range(0, n, self.batch_size):
            if order is None:
                yield tuple(t[start : start + self.batch_size] for t in self.tensors)
            else:
                # a tensor kept in the computer's memory (pictures) is sliced there; Lightning moves
                # the batch to the training device
                idx, idx_here = on_device[start : start + self.batch_size], order[start : start + self.batch_size]
                yield tuple(t[idx] if t.device == device else t[idx_here] for t in self.tensors)


class TabularDataModule(L.LightningDataModule):
    """Owns the training and validation tensors of one fold."""

    def __init__(self, train: tuple[torch.Tensor, ...], valid: tuple[torch.Tensor, ...], *, batch_size: int, seed: int,
                 valid_batch_size: int | None = None):
        super().__init__()
        self.train, self.valid = train, valid
        self.batch_size = batch_size
        self.seed = seed
        self.valid_batch_size = valid_batch_size or max(batch_size, 4096)

    def train_dataloader(self):
        return TensorBatches(self.train, self.batch_size, shuffle=True, seed=self.seed)

    def val_dataloader(self):
        return TensorBatches(self.valid, self.valid_batch_size, shuffle=False)


class TabularModule(L.LightningModule):
    """Loss, optimiser and the per-epoch validation score; the network itself is a plain module."""

    def __init__(
        self,
        net: TabularNet,
        *,
        task: Literal["classification", "regression"],
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        label_smoothing: float = 0.05,
        max_epochs: int = 100,
        cuda_graphs: bool = False,
        gaps=None,
    ) -> None:
        super().__init__()
        self.net = net
        self.cuda_graphs = cuda_graphs and CUDA_GRAPHS
        #: the recorded training loss (not a submodule: it wraps ``net``, which is one already)
        self.__dict__["_graphed"] = None
        self._graph_rows: int | None = None
        #: training steps that replayed the graph (benchmarks and tests read it)
        self.graphed_steps = 0
        self.task = task
        #: rare blanks to practise on training batches (an ``encode.GapPractice``), or None
        self.gaps = gaps
        self.lr, self.weight_decay, self.label_smoothing = lr, weight_decay, label_smoothing
        self.max_epochs = max_epochs
        self._valid_outputs: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._train_loss_sum: torch.Tensor | float = 0.0
        self._train_batches = 0
        #: one dict per epoch: train_loss, valid_loss, valid_score
        self.history: list[dict[str, float]] = []

    def forward(self, *inputs):
        return self.net(*inputs)

    def _loss(self, out: torch.Tensor, y: torch.Tensor, *, smoothing: float) -> torch.Tensor:
        if self.task == "classification":
            return F.cross_entropy(out, y, label_smoothing=smoothing)
        return F.mse_loss(out.squeeze(1), y)

    def _members_loss(self, *batch: torch.Tensor) -> torch.Tensor:
        """TabM: every member learns on its own loss; they only meet when predicting."""
        *inputs, y = batch
        each = self.net.members(*inputs)
        k = each.shape[1]
        return self._loss(each.reshape(-1, each.shape[2]), y.repeat_interleave(k), smoothing=self.label_smoothing)

    def _graphed_loss(self, batch: Batch):
        """The training loss recorded as CUDA graphs (forward and backward), or None to run it as usual.

        A small network's step on a GPU is bound by launching its ~150 kernels one at a time from
        Python (an H100 was busy 0.7 ms of a 7 ms step); a graph launches them all at once. The graph
        is recorded on the first full batch of a fold and replayed for every batch of that size (a
        last, shorter batch runs as usual). The weights are updated in place by the optimiser, and
        put back in place by early stopping, so the graph keeps seeing the current ones. Any failure
        to record falls back to ordinary steps: the graph is a speed-up, never a requirement.
        """
        rows = len(batch[0])
        if self._graph_rows is None:
            self._graph_rows = rows
            try:
                step = _TrainingLoss(self)
                self.__dict__["_graphed"] = torch.cuda.make_graphed_callables(
                    step, tuple(t.detach().clone() for t in batch))
            except Exception as exc:  # noqa: BLE001 — any reason at all: train without the graph
                logging.getLogger(__name__).info("training without CUDA graphs: %s", exc)
                self.__dict__["_graphed"] = None
        return self._graphed if rows == self._graph_rows else None

    def on_train_end(self) -> None:
        self.__dict__["_graphed"] = None  # frees the graph's memory pool with the fold

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        if stage == "train" and self.gaps is not None:
            batch = (*self.gaps.apply(batch[0], batch[1]), *batch[2:])
        *inputs, y = batch
        if stage == "train" and hasattr(self.net, "members"):
            graphed = self._graphed_loss(batch) if self.cuda_graphs else None
            if graphed is None:
                return self._train_loss(self._members_loss(*batch))
            self.graphed_steps += 1
            return self._train_loss(graphed(*batch))
        out = self(*inputs)
        if stage == "train":
            return self._train_loss(self._loss(out, y, smoothing=self.label_smoothing))
        self._valid_outputs.append((out.detach().float(), y))
        return self._loss(out, y, smoothing=0.0)

    def _train_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """Adds the step's loss to the epoch's sum and stops on a loss that is not a number.

        On a GPU the sum stays a tensor and is looked at every ``GPU_CHECK_EVERY`` steps: reading a
        number back from the GPU waits for every queued step, and doing it on each step made training
        steps ~3× slower (the CPU could no longer queue work ahead). A bad step is then caught a few
        steps late, which changes nothing: the fold is retried from scratch either way."""
        detached = loss.detach().float()
        self._train_loss_sum = self._train_loss_sum + detached
        self._train_batches += 1
        if detached.device.type == "cpu" or self._train_batches % GPU_CHECK_EVERY == 0:
            self._check_finite()
        return loss

    def _check_finite(self) -> None:
        value = float(self._train_loss_sum)
        if not math.isfinite(value):  # one bad step poisons every weight: stop, let the caller retry
            raise Diverged(value)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "valid")

    def on_validation_epoch_end(self) -> None:
        if not self._valid_outputs:
            return
        out = torch.cat([o for o, _ in self._valid_outputs])
        y = torch.cat([t for _, t in self._valid_outputs])
        self._valid_outputs.clear()
        valid_loss = float(self._loss(out, y, smoothing=0.0))
        if self.task == "classification":
            score = float((out.argmax(1) == y).float().mean())
        else:
            ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
            score = 1.0 - float(((out.squeeze(1) - y) ** 2).sum()) / ss_tot
        if self.trainer.sanity_checking:
            return
        self._check_finite()
        train_loss = float(self._train_loss_sum) / max(self._train_batches, 1)
        self._train_loss_sum, self._train_batches = 0.0, 0
        self.history.append({"train_loss": train_loss, "valid_loss": valid_loss, "valid_score": score})
        # what early stopping and the progress display read
        self.log_dict({"valid_loss": valid_loss, "valid_score": score}, prog_bar=False, logger=False)

    def configure_optimizers(self):
        groups = self.net.optimizer_groups(self.lr) if hasattr(self.net, "optimizer_groups") else self.parameters()
        # on a GPU one fused kernel updates every weight: the step of a small network is bound by
        # kernel launches, and the per-tensor update took ~1.6 ms of an ~8 ms step on an H100
        cuda = next(self.net.parameters()).is_cuda
        opt = torch.optim.AdamW(groups, lr=self.lr, weight_decay=self.weight_decay,
                                **({"fused": True} if cuda else {"foreach": True}))
        return opt


class _TrainingLoss(nn.Module):
    """The training step's loss as a module of its own, so CUDA can record it as one graph."""

    module: TabularModule  # kept out of the module tree (see __init__)

    def __init__(self, module: TabularModule) -> None:
        super().__init__()
        self.net = module.net
        self.__dict__["module"] = module

    def forward(self, *batch: torch.Tensor) -> torch.Tensor:
        return self.module._members_loss(*batch)
