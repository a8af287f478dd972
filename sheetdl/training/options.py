"""What a training run is asked to do (FitOptions), what it tells while it runs (Progress), and the
constants that more than one step of training reads.

Imports neither Lightning nor the networks: the CLI, the server and the engine all build FitOptions
and read Progress.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Progress", "ProgressFn", "CancelFn", "FitOptions", "training_fraction"]

#: share of the time budget training may use at most; the rest is for measuring and explaining
TRAINING_SHARE = 0.85
#: share of each fold's training rows held back to decide when to stop
INNER_VALID_SHARE = 0.15
#: steps a fold may take at most (max epochs follow from the batch count; the time budget usually
#: ends training long before)
MAX_STEPS = 40000
MAX_EPOCHS = 300
#: the network's width and depth (the hidden layers of each TabM member)
HIDDEN = 128
DEPTH = 3
#: from this many training rows on a table is large: no dropout, and the learning rate is cut when
#: validation stalls (see DECAY_PATIENCE); large regression tables get fewer TabM members
LARGE_TABLE_ROWS = 10_000
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


def training_fraction(fold: int, n_folds: int, epoch: int, max_epochs: int) -> float:
    """Share of the training done (0–1) after ``epoch`` of fold ``fold`` (1-based) of ``n_folds``:
    the one formula the progress bar, the server's events and the time left are computed from."""
    return (fold - 1 + min(1.0, epoch / max(max_epochs, 1))) / max(n_folds, 1)


@dataclass
class Progress:
    """What a progress display shows; sent after every epoch and at each stage change.

    ``stage``: "pictures" (reading pictures: ``epoch`` of ``max_epochs`` pictures read), "training",
    "explaining" or "done".
    """

    stage: str
    fold: int  # 1-based
    n_folds: int
    epoch: int
    max_epochs: int
    valid_score: float | None
    elapsed: float
    remaining: float | None
    message: str = ""

    @property
    def fraction(self) -> float:
        """Share of the whole run's training done: 0 while pictures are read (they come first), 1
        once training is over."""
        if self.stage == "pictures":
            return 0.0
        if self.stage != "training":
            return 1.0
        return training_fraction(self.fold, self.n_folds, self.epoch, self.max_epochs)

    @property
    def stage_fraction(self) -> float:
        """Share of the current stage done: pictures read, or training done."""
        if self.stage == "pictures":
            return self.epoch / max(self.max_epochs, 1)
        return self.fraction


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
    #: which pretrained network reads pictures: "auto" (EfficientNet-Lite0, else ResNet-18, else a
    #: small CNN from scratch), "efficientnet-lite0", "resnet18" or "scratch"
    picture_network: str = "auto"
