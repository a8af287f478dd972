"""The Python API: the same engine the CLI and the add-in use, on a pandas DataFrame."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .engine import FittedModel, load_model
from .run import train_workbook
from .schema import TaskSetting
from .settings import Device, FineTune, PictureNetworkChoice, Settings
from .sheets import Table
from .training import ProgressFn

__all__ = ["fit", "load"]


def fit(
    data: pd.DataFrame | Table,
    *,
    target: str,
    ignore: Sequence[str] = (),
    task: TaskSetting = "auto",
    time_budget: float = 60.0,
    device: Device = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
    image_folder=None,
    fine_tune: FineTune = "auto",
    picture_network: PictureNetworkChoice = "auto",
) -> FittedModel:
    """Train on the rows whose ``target`` is filled; returns a model that predicts the others.

    Column kinds are inferred as for a workbook; ``model.results`` is not kept — use the CLI or
    :func:`sheetdl.run.train_workbook` for the full report. Relative picture paths in image columns
    start at ``image_folder`` (default: the current folder). ``fine_tune`` ("auto", "yes", "no"):
    adapt the pretrained picture network's last block to the pictures (auto: when a GPU trains).
    ``picture_network`` ("auto", "efficientnet-lite0", "resnet18", "scratch"): which pretrained network
    reads pictures (auto: EfficientNet-Lite0, installed with SheetDL).
    """
    settings = Settings(target=target, ignore=tuple(ignore), task=task, time_budget=time_budget,
                        device=device, seed=seed, fine_tune=fine_tune,
                        picture_network=picture_network)
    table = data if isinstance(data, Table) else Table.from_dataframe(data)
    model, _ = train_workbook(table, settings, progress=progress, image_folder=image_folder, reasons=False,
                              ignore=ignore)
    return model


def load(path) -> FittedModel:
    """A model saved by :meth:`FittedModel.save` or by ``sheetdl train``."""
    return load_model(path)
