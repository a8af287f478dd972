"""The one use case the command line, the add-in's server and ``sheetdl.fit`` share: train on a
table as the settings say, or predict a table with a saved model; either way the results carry the
settings and facts the report shows.

What differs between the callers stays with them: how a table is read (a file, the task pane's
rows, a DataFrame), how progress is shown, where the results and the model go.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .engine import FittedModel, Results, train_table
from .errors import Cancelled, SettingsError
from .schema import Schema, infer_schema
from .settings import Settings, review_threshold_of
from .sheets import Table
from .training import CancelFn, FitOptions, ProgressFn

__all__ = ["train_workbook", "predict_workbook"]


def train_workbook(table: Table, settings: Settings, *, on_schema: Callable[[Schema], None] | None = None,
                   progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                   image_folder: Path | None = None, allowed_image_folders: list[Path] | None = None,
                   reasons: bool = True, ignore: Sequence[str] | None = None) -> tuple[FittedModel, Results]:
    """Train on the labelled rows of ``table`` as ``settings`` say; predict, measure and explain.

    ``on_schema`` sees the schema before training starts (the CLI shows it, the server sends it to
    the task pane). The results and the model carry the settings in the user's words, with what
    'auto' turned into (the task, the sheet, the device training ran on). ``ignore``: column names
    exactly as given (the Python API's list, where a name may hold a comma), instead of
    ``settings.ignore`` (names as a cell or a flag spells them: "ID, Notes").
    """
    if not settings.target:  # the callers ask for it in their own words first
        raise SettingsError("SheetDL needs to know which column to predict.",
                            hint="Set 'Target column' on the SheetDL sheet, or give --target.", sheet=table.sheet)
    schema = infer_schema(table, target=settings.target, ignore=settings.ignore if ignore is None else ignore,
                          task=settings.task)
    if on_schema is not None:
        on_schema(schema)
    opts = FitOptions(time_budget=settings.time_budget, device=settings.device, seed=settings.seed,
                      progress=progress, cancel=cancel, image_folder=image_folder,
                      allowed_image_folders=allowed_image_folders, fine_tune=settings.fine_tune,
                      picture_network=settings.picture_network)
    model, results = train_table(table, schema, opts, reasons=reasons)
    results.settings = settings.describe(task=schema.task, sheet=table.sheet, device=results.device)
    results.review_threshold = settings.review_threshold
    model.settings = results.settings
    return model, results


def predict_workbook(model: FittedModel, table: Table, *, origin: Mapping[str, str], origin_note: str,
                     reasons: bool = True, review_threshold: float | None = None, cancel: CancelFn | None = None,
                     image_folder: Path | None = None, allowed_image_folders: list[Path] | None = None) -> Results:
    """Predict every row of ``table`` with a saved model; the results carry the scores, importances
    and settings measured when it was trained.

    ``origin``: where the model came from, first in the run's facts ({"Model file": "Churn.sheetdl"});
    ``origin_note``: the note that says so. ``review_threshold``: None keeps the model's own.
    """
    results = model.results_for(table, reasons=reasons, image_folder=image_folder,
                                allowed_image_folders=allowed_image_folders)
    results.importance = list(model.importances)
    results.settings = dict(model.settings)
    results.run_info = {**origin, **{f"Training: {k}": v for k, v in model.info.items()}}
    results.notes = list(table.notes) + [origin_note] + results.notes
    results.review_threshold = (review_threshold if review_threshold is not None
                                else review_threshold_of(model.settings))
    results.metrics, results.baseline = dict(model.metrics), dict(model.baseline)
    if cancel is not None and cancel():
        raise Cancelled()
    return results
