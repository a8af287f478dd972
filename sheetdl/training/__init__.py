"""Training: plan a run, cross-fit one network per fold, and run trained networks.

``options`` (FitOptions, Progress and the constants several steps read) → ``plan`` (folds, batch,
network shape, device) and ``picture_plan`` (folds and fine-tuning for picture columns) →
``predict`` (a trained network's answers) → ``fit`` (the folds; Lightning and its ``callbacks`` are
imported only when a fold trains, so predicting with a saved model never loads them).
"""

from .fit import CrossFit, Member, ctrl_c_cancels, train_members
from .options import CancelFn, FitOptions, Progress, ProgressFn, training_fraction
from .picture_plan import PIXEL_MODES, TUNE_EPOCHS, fine_tune_plan, picture_folds
from .plan import batch_size, choose_device, choose_ensemble, choose_shape, forward_macs, make_folds, n_folds_for
from .predict import predict_member, predict_net, to_tensors

__all__ = [
    "FitOptions",
    "Progress",
    "ProgressFn",
    "CancelFn",
    "training_fraction",
    "Member",
    "CrossFit",
    "train_members",
    "ctrl_c_cancels",
    "predict_net",
    "predict_member",
    "to_tensors",
    "n_folds_for",
    "make_folds",
    "batch_size",
    "choose_shape",
    "choose_ensemble",
    "forward_macs",
    "choose_device",
    "picture_folds",
    "fine_tune_plan",
    "TUNE_EPOCHS",
    "PIXEL_MODES",
]
