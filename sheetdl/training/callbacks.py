"""The training loop's side effects as Lightning callbacks: progress, cancel, the time budget, and
early stopping that keeps the best weights. Imported only when training (Lightning takes seconds to
import, and predicting with a saved model never needs it)."""

from __future__ import annotations

import math
import time

import lightning as L

from ..errors import Cancelled
from . import options
from .options import FitOptions, Progress, training_fraction

__all__ = ["Budget", "RestoreBest"]


class Budget(L.Callback):
    """Progress, cancel and time budget, checked after every batch and epoch."""

    def __init__(self, *, deadline: float, fold: int, n_folds: int, start: float, total_deadline: float,
                 opts: FitOptions, max_epochs: int):
        self.deadline, self.fold, self.n_folds = deadline, fold, n_folds
        self.start, self.total_deadline, self.opts, self.max_epochs = start, total_deadline, opts, max_epochs

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.opts.cancel is not None and self.opts.cancel():
            raise Cancelled()
        if time.monotonic() > self.deadline:
            trainer.should_stop = True

    # Lightning calls callbacks' on_validation_epoch_end *before* the module's, where the epoch's
    # scores are recorded; on_train_epoch_end comes after validation, so history is up to date.
    def on_train_epoch_end(self, trainer, pl_module):
        if self.opts.progress is None or not pl_module.history:
            return
        now = time.monotonic()
        epoch = len(pl_module.history)
        done = training_fraction(self.fold, self.n_folds, epoch, self.max_epochs)
        elapsed = now - self.start
        by_pace = elapsed / done - elapsed if done > 0 else None
        by_budget = max(0.0, self.total_deadline - now)
        remaining = min(by_pace, by_budget) if by_pace is not None else by_budget
        self.opts.progress(Progress("training", self.fold, self.n_folds, epoch, self.max_epochs,
                                             pl_module.history[-1]["valid_score"], elapsed, remaining))


class RestoreBest(L.Callback):
    """Early stopping on validation loss that keeps the best weights in memory and puts them back.

    Before stopping, the learning rate is cut (``MAX_DECAYS`` times by ``DECAY_FACTOR``, in
    ``options``) whenever validation has not improved for ``DECAY_PATIENCE`` epochs, or once when the
    fold has used ``LATE_DECAY_SHARE`` of its time; each cut restarts from the best weights. A schedule
    driven by the validation curve and the clock suits training whose length the time budget decides
    better than a fixed cosine schedule, which would need the number of epochs in advance.
    """

    def __init__(self, patience: int, *, start: float | None = None, deadline: float | None = None,
                 decay_patience: float | None = None, max_decays: int | None = None):
        self.patience = patience
        self.decay_patience = options.DECAY_PATIENCE if decay_patience is None else decay_patience
        self.decays_left = options.MAX_DECAYS if max_decays is None else max_decays
        self.start, self.deadline = start, deadline
        self.best = math.inf
        self.best_state: dict | None = None
        self.bad_epochs = 0
        self.seen = 0

    def _late(self) -> bool:
        if self.start is None or self.deadline is None or self.deadline <= self.start:
            return False
        return time.monotonic() - self.start >= options.LATE_DECAY_SHARE * (self.deadline - self.start)

    def _cut(self, trainer, pl_module) -> None:
        pl_module.net.load_state_dict(self.best_state)
        for opt in trainer.optimizers:
            for group in opt.param_groups:
                group["lr"] *= options.DECAY_FACTOR
        self.decays_left -= 1
        self.bad_epochs = 0

    def on_train_epoch_end(self, trainer, pl_module):  # after validation: see Budget
        if len(pl_module.history) == self.seen:  # no validation ran this epoch
            return
        self.seen = len(pl_module.history)
        loss = pl_module.history[-1]["valid_loss"]
        if loss < self.best - 1e-4 or self.best_state is None:
            self.best = loss
            self.best_state = {k: v.detach().clone() for k, v in pl_module.net.state_dict().items()}
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.decays_left > 0 and (self.bad_epochs >= self.decay_patience
                                     or (self.decays_left == options.MAX_DECAYS and self._late())):
            self._cut(trainer, pl_module)
        elif self.bad_epochs >= self.patience:
            trainer.should_stop = True

    def on_fit_end(self, trainer, pl_module):
        if self.best_state is not None:
            pl_module.net.load_state_dict(self.best_state)
