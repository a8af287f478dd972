"""FittedModel: the trained members, their encoders and what we learned about them; and the
orchestration of one training run (typed table → members → held-out results → explanations).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from . import evaluate, explain
from ..encode import blanks as gaps
from ..training import fit as training
from ..encode.tabular import TargetEncoder, _label_key
from ..errors import DataError
from .results import CurvePoint, Importance, Results
from ..schema.infer import Schema
from ..schema.typed import typed_frame
from ..sheets.table import Table

__all__ = ["FittedModel", "train_table"]

#: fewer labelled rows than this and the report warns that the model and its scores are rough
FEW_ROWS = 50


@dataclass
class FittedModel:
    """A trained SheetDL model. Predicts for tables or DataFrames with the same columns."""

    schema: Schema
    target_encoder: TargetEncoder
    members: list[training.Member]
    metrics: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    importances: list[Importance] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    #: learned on out-of-fold predictions: {"temperature": T} (classification) or
    #: {"interval": q, "spread_floor": s0, "level": 0.9} (regression); empty = none
    calibration: dict[str, float] = field(default_factory=dict)
    #: feature columns never blank in training (nor practised): a blank there later is named in the
    #: report (gaps.unseen_blank_notes); None for models saved before this was recorded
    blank_free: list[str] | None = None
    #: a sample of the training rows' values, to answer those blanks from the rows most like them
    #: (gaps.Donors); None for models saved before, which read such a blank as a typical value
    donors: gaps.Donors | None = field(default=None, repr=False, compare=False)
    #: where predictions are computed: the CPU, except while training explains itself on a GPU
    predict_device: torch.device = field(default_factory=lambda: torch.device("cpu"), repr=False, compare=False)

    # ---- the public API ----------------------------------------------------------------
    @property
    def task(self) -> str:
        return self.schema.task

    @property
    def target(self) -> str:
        return self.schema.target

    @property
    def classes(self) -> list | None:
        return self.schema.classes

    def predict(self, data: pd.DataFrame | Table, *, image_folder=None) -> pd.Series:
        """The prediction for every row, labels as the user wrote them. Relative picture paths start at
        ``image_folder`` (default: the workbook's folder for a Table, else the current folder)."""
        out = self._outputs(self._table(data), image_folder)
        return pd.Series(self._labels(out), name=f"Predicted {self.target}", dtype=object)

    def predict_proba(self, data: pd.DataFrame | Table, *, image_folder=None) -> pd.DataFrame:
        """Classification: one column per class (the class label as column name)."""
        if self.task != "classification":
            raise DataError(f"'{self.target}' is a number the model predicts, so there are no class probabilities.",
                            hint="Use predict() instead.")
        out = self._outputs(self._table(data), image_folder)
        return pd.DataFrame(out, columns=[str(c) for c in self.classes])

    def interval(self, data: pd.DataFrame | Table, *, image_folder=None) -> tuple[np.ndarray, np.ndarray]:
        """Regression: (low, high) for every row, a range meant to hold the true value for
        ``calibration['level']`` of rows (90%), checked on held-out rows during training."""
        if self.task != "regression":
            raise DataError(f"'{self.target}' is a category, so there is no numeric range to give.",
                            hint="Use predict_proba() for how sure the model is.")
        filled = self._filled(self._frame(self._table(data), image_folder=image_folder))
        return self._interval(*self._spread_of(filled))

    def importance(self) -> pd.DataFrame:
        """Permutation importance measured on held-out rows during training."""
        return pd.DataFrame(
            [{"column": i.column, "importance": i.drop, "spread": i.spread} for i in self.importances],
            columns=["column", "importance", "spread"],
        )

    def save(self, path) -> None:
        from .store import save_model

        save_model(self, path)

    def results_for(self, table: Table, *, reasons: bool = True, image_folder=None,
                    allowed_image_folders=None) -> Results:
        """Predictions (with confidence and reasons) for every row of another table."""
        frame, reports = self._frame(table, image_folder=image_folder, allowed=allowed_image_folders,
                                     with_reports=True)
        filled = self._filled(frame)
        ranged = self.task == "regression" and self.calibration.get("interval")
        # a number's range needs the members' spread too: one pass gives both (the same mean)
        outputs, spread = self._spread_of(filled) if ranged else (self._answers(filled), None)
        res = Results(schema=self.schema, prediction=self._labels(outputs),
                      labelled=np.zeros(len(frame), dtype=bool))
        self._fill_confidence(res, outputs)
        if ranged:
            res.low, res.high = self._interval(outputs, spread)
        if reasons:
            res.reasons = self._reasons(frame, table.values, outputs, filled=filled)
        res.notes += gaps.unseen_blank_notes(self.schema, self.blank_free, frame, np.arange(len(frame)), table,
                                             filled.neighbours)
        if reports:
            from ..encode.pictures import image_folder as folder_of, picture_rows

            res.picture_models = {r.column: r.model_words for r in reports}
            res.notes += [n for r in reports for n in r.notes(table)]
            res.pictures = picture_rows(self, frame, table, res, reports, np.zeros(0, np.int64),
                                        np.zeros(0, np.int64), folder=folder_of(table, image_folder),
                                        allowed=allowed_image_folders)
        return res

    # ---- internals ------------------------------------------------------------------------
    def _feature_schema(self) -> Schema:
        """The schema without its target, for tables where the target column may be absent."""
        cols = [c for c in self.schema.columns if c.role == "feature"]
        return Schema(columns=cols, target=self.schema.target, task=self.schema.task,
                      task_reason=self.schema.task_reason, classes=self.schema.classes)

    def _table(self, data) -> Table:
        return data if isinstance(data, Table) else Table.from_dataframe(data)

    def _frame(self, table: Table, *, image_folder=None, allowed=None, with_reports: bool = False):
        """The typed features of ``table``, pictures read the way the model was trained to read them."""
        from ..encode.pictures import prepare_images

        frame = typed_frame(table, self._feature_schema())
        reports = prepare_images(frame, table, self.schema, training=False, folder=image_folder, allowed=allowed)
        return (frame, reports) if with_reports else frame

    def _outputs(self, table: Table, image_folder=None) -> np.ndarray:
        return self._answers(self._filled(self._frame(table, image_folder=image_folder)))

    def _answers(self, filled: gaps.Filled) -> np.ndarray:
        """The members' calibrated mean answer for each row of ``filled``, averaged over a row's
        neighbours where its blanks were filled from them."""
        return filled.mean(self._ensemble(self.members, [m.encoder.transform(filled.frame) for m in self.members]))

    def _filled(self, frame: pd.DataFrame) -> gaps.Filled:
        """``frame`` as predicted: blanks the model never saw answered from the training rows most like
        them (gaps.Donors), where the model kept a sample of them."""
        if self.donors is None or not self.blank_free:
            return gaps.Filled.identity(frame)
        return self.donors.fill(frame, self.blank_free)

    def _spread_of(self, filled: gaps.Filled) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread (standardised) per row; a filled row's spread grows by how much its answer
        differs over its neighbours' values."""
        mean, spread = self._ensemble_spread(self.members, [m.encoder.transform(filled.frame) for m in self.members])
        return filled.mean(mean), filled.mean(spread) + filled.spread(mean)

    def _ensemble(self, members, encs) -> np.ndarray:
        """The fold members' mean answer (calibrated probabilities / standardised numbers)."""
        device = self.predict_device
        outs = [training.predict_net(m.net, e, device, self.task) for m, e in zip(members, encs)]
        return self._calibrated(np.mean(outs, axis=0))

    def _calibrated(self, outputs: np.ndarray) -> np.ndarray:
        t = self.calibration.get("temperature", 1.0)
        return evaluate.apply_temperature(outputs, t) if self.task == "classification" and t != 1.0 else outputs

    def _ensemble_spread(self, members, encs) -> tuple[np.ndarray, np.ndarray]:
        device = self.predict_device
        pairs = [training.predict_net(m.net, e, device, self.task, spread=True) for m, e in zip(members, encs)]
        return np.mean([p[0] for p in pairs], axis=0), np.mean([p[1] for p in pairs], axis=0)

    def _interval(self, mean: np.ndarray, spread: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standardised mean and member spread → (low, high) in the user's units."""
        q = self.calibration.get("interval", float("nan"))
        half = q * (np.asarray(spread) + self.calibration.get("spread_floor", 1.0))
        inv = self.target_encoder.inverse_transform
        return inv(mean - half), inv(mean + half)

    def _labels(self, outputs: np.ndarray) -> list:
        if self.task == "classification":
            return [self.classes[i] for i in outputs.argmax(1)]
        return list(self.target_encoder.inverse_transform(outputs))

    def _fill_confidence(self, res: Results, outputs: np.ndarray) -> None:
        if self.task == "classification":
            res.probabilities = outputs
            res.confidence = outputs.max(1)

    def _reasons(self, frame: pd.DataFrame, raw: pd.DataFrame, outputs: np.ndarray,
                 groups: list[tuple[np.ndarray, list]] | None = None, filled: gaps.Filled | None = None) -> list[str]:
        """Reasons for each row's answer; ``groups`` (row positions, members) and ``filled`` as in
        explain.row_reasons."""
        chosen = outputs.argmax(1) if self.task == "classification" else None
        return explain.row_reasons(
            self.members, frame, raw, self.task, self._ensemble, chosen,
            target_sd=self.target_encoder.std_, number_format=_number_words, groups=groups, filled=filled,
        )


#: fewer labelled rows than this: no calibration (one temperature from a handful of rows is noise)
MIN_CALIBRATION_ROWS = 30


def _calibrate(model: FittedModel, y: np.ndarray, held: np.ndarray, spread: np.ndarray, folds: np.ndarray) -> None:
    """Learn the calibration from out-of-fold answers: a temperature for probabilities, or the
    conformal width of the Low–High interval (scaled by the TabM members' disagreement)."""
    if len(y) < MIN_CALIBRATION_ROWS:
        return
    if model.task == "classification":
        t = evaluate.fit_temperature(y, held)
        model.calibration = {"temperature": t}
        return
    floor = float(np.median(spread)) if np.any(spread > 0) else 1.0
    floor = floor if floor > 0 else 1.0
    scores = np.abs(np.asarray(y, dtype=np.float64) - held) / (spread + floor)
    level = evaluate.INTERVAL_LEVEL
    model.calibration = {"interval": evaluate.conformal_quantile(scores, level), "spread_floor": floor,
                         "level": level, "coverage": evaluate.cross_conformal_coverage(scores, folds, level)}


def _model_words(net) -> str:
    c = net.config
    kind = (f"TabM, an efficient ensemble of {c.get('ensemble', 1)} MLPs" if c.get("ensemble", 1) > 1
            else "MLP")
    embedded = any(c.get("continuous", [])) and c.get("number_embedding", 0)
    extra = ""
    if embedded:
        extra = (" with piecewise-linear embeddings of numbers (PLE)" if c.get("number_bins")
                 else " with learned embeddings of numbers (PLR)")
    if c.get("additive"):
        extra += ", plus an additive model of the columns"
    images = c.get("image_inputs") or []
    if images:
        how = {"features": "a pretrained ResNet-18's features",
               "tune": "a pretrained ResNet-18 whose last block was fine-tuned"}.get(
            images[0]["mode"], "a small CNN trained from scratch")
        extra += f"; pictures through {how}"
    return f"{kind} ({c['depth']} layers × {c['hidden']}){extra}"


def _number_words(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"


def _encode_labels(values: Sequence, classes: list) -> np.ndarray:
    index = {_label_key(c): i for i, c in enumerate(classes)}
    return np.fromiter((index[_label_key(v)] for v in values), dtype=np.int64, count=len(values))


def _prepare_pictures(frame: pd.DataFrame, table: Table, schema: Schema, opts: training.FitOptions, t0: float):
    """Read the pictures of image columns into ``frame`` (progress and cancel as for training)."""
    if not any(c.kind == "image" and c.role == "feature" for c in schema.columns):
        return []
    from ..encode.pictures import prepare_images
    from ..training.picture_plan import fine_tune_plan

    def progress(done: int, total: int, message: str) -> None:
        if opts.progress:
            opts.progress(training.Progress("pictures", 0, 0, done, total, None, time.monotonic() - t0, None,
                                            message))

    pictures = [c.name for c in schema.features if c.kind == "image"]
    filled = np.zeros(len(frame), dtype=bool)
    for name in pictures:  # rows with a picture path in some picture column
        filled |= frame[name].map(lambda v: isinstance(v, str) and bool(v.strip())).to_numpy(bool)
    labelled = frame[schema.target].notna().to_numpy(bool)
    device = training.choose_device(opts.device)[1]
    tune, tune_note = fine_tune_plan(opts.fine_tune, int((filled & labelled).sum()), int(filled.sum()), device,
                                     opts.time_budget)
    return prepare_images(frame, table, schema, training=True, folder=opts.image_folder,
                          allowed=opts.allowed_image_folders, allow_download=opts.allow_download,
                          progress=progress, cancel=opts.cancel, fine_tune=tune, fine_tune_note=tune_note)


def train_table(table: Table, schema: Schema, opts: training.FitOptions, *, reasons: bool = True,
                settings: dict[str, str] | None = None) -> tuple[FittedModel, Results]:
    """Train on the labelled rows of ``table``; predict every row; measure and explain."""
    t0 = time.monotonic()
    frame = typed_frame(table, schema)
    with training.ctrl_c_cancels(opts):
        pictures = _prepare_pictures(frame, table, schema, opts, t0)
    target = frame[schema.target]
    is_labelled = target.notna().to_numpy(dtype=bool)
    labelled = np.flatnonzero(is_labelled)
    blank = np.flatnonzero(~is_labelled)
    target_encoder = TargetEncoder().fit(target.iloc[labelled], schema)
    if schema.task == "classification":
        y = _encode_labels(list(target.iloc[labelled]), schema.classes)
    else:
        y = target_encoder.transform(target.iloc[labelled], [])

    with training.ctrl_c_cancels(opts):
        members, folds, device_words, train_seconds, training_notes, device = training.train_members(
            frame, y, labelled, schema, target_encoder, opts)
    practised = gaps.blank_columns(frame.iloc[blank], schema.features) if training.GAP_PRACTICE else ()
    blank_free = gaps.never_blank(schema, frame, labelled, practised)
    model = FittedModel(schema=schema, target_encoder=target_encoder, members=members,
                        settings=dict(settings or {}), blank_free=blank_free,
                        donors=gaps.Donors.sample(frame, labelled, schema.features, opts.seed) if blank_free else None)
    try:
        return _measure_and_explain(model, frame, table, schema, target_encoder, y, labelled, blank, is_labelled,
                                    folds, device, device_words, train_seconds, training_notes, pictures,
                                    opts, reasons, settings, t0)
    finally:  # the nets may have moved to the GPU to predict; models are kept and saved from the CPU
        model.predict_device = torch.device("cpu")
        for m in members:
            m.net.cpu()


def _measure_and_explain(model, frame, table, schema, target_encoder, y, labelled, blank, is_labelled, folds,
                         device, device_words, train_seconds, training_notes, pictures, opts, reasons, settings,
                         t0) -> tuple[FittedModel, Results]:
    """Held-out and blank-row predictions, calibration, scores, explanations: on the training device
    (a model planned for a GPU has many TabM members, and the CPU would take minutes over it)."""
    members = model.members
    model.predict_device = device
    k = len(members)

    # held-out predictions for labelled rows, fold average for blank rows
    n_out = target_encoder.n_classes_ if schema.task == "classification" else 0
    regression = schema.task == "regression"
    outputs = np.zeros((len(frame), n_out) if n_out else len(frame), dtype=np.float64)
    spread = np.zeros(len(frame))
    for f, m in enumerate(members):
        pos = np.flatnonzero(folds == f)
        if len(pos):
            enc = m.encoder.transform(frame.iloc[labelled[pos]])
            if regression:
                outputs[labelled[pos]], spread[labelled[pos]] = training.predict_net(m.net, enc, device, schema.task,
                                                                                     spread=True)
            else:
                outputs[labelled[pos]] = training.predict_net(m.net, enc, device, schema.task)
    if k == 1:  # too few rows to hold any out: the labelled rows' answers are in-sample
        outputs[labelled] = model._ensemble(members, [members[0].encoder.transform(frame.iloc[labelled])])
    else:
        _calibrate(model, y, outputs[labelled], spread[labelled], folds)
        if not regression and model.calibration:  # the held-out probabilities too, as users get them
            model.calibration["calibration_error_before"] = evaluate.expected_calibration_error(y, outputs[labelled])
            outputs[labelled] = model._calibrated(outputs[labelled])
    if len(blank):
        blank_encs = [m.encoder.transform(frame.iloc[blank]) for m in members]
        if regression:
            outputs[blank], spread[blank] = model._ensemble_spread(members, blank_encs)
        else:
            outputs[blank] = model._ensemble(members, blank_encs)

    res = Results(schema=schema, prediction=model._labels(outputs), labelled=is_labelled)
    model._fill_confidence(res, outputs)
    if regression and model.calibration.get("interval"):
        res.low, res.high = model._interval(outputs, spread)
        res.interval_level = model.calibration["level"]
        res.interval_coverage = model.calibration["coverage"]
    if not regression and k > 1:
        res.reliability = evaluate.reliability(y, outputs[labelled])

    # scores on held-out rows, model vs. naive baseline (from each fold's training rows)
    held = outputs[labelled]
    if schema.task == "classification":
        prior = np.zeros_like(held)
        for f in range(k):
            train = y[folds != f] if k > 1 else y
            counts = np.bincount(train, minlength=n_out).astype(float)
            prior[folds == f] = counts / counts.sum()
        res.metrics = evaluate.classification_metrics(y, held)
        res.baseline = evaluate.classification_metrics(y, prior)
        res.confusion = evaluate.confusion_matrix(y, held.argmax(1), n_out)
        majority = schema.classes[int(np.bincount(y, minlength=n_out).argmax())]
        res.baseline_description = f"always guessing '{majority}'"
    else:
        truth = target_encoder.inverse_transform(y)
        guess = np.zeros_like(truth)
        for f in range(k):
            guess[folds == f] = truth[folds != f].mean() if k > 1 else truth.mean()
        res.metrics = evaluate.regression_metrics(truth, target_encoder.inverse_transform(held))
        res.baseline = evaluate.regression_metrics(truth, guess)
        res.baseline_description = f"always guessing the average, {_number_words(float(truth.mean()))}"

    # the training curve: mean over folds at each epoch they all reached
    histories = [m.history for m in members if m.history]
    if histories:
        longest = max(len(h) for h in histories)
        for e in range(longest):
            pts = [h[e] for h in histories if len(h) > e]
            res.curve.append(CurvePoint(epoch=e + 1, **{key: float(np.mean([p[key] for p in pts]))
                                                        for key in ("train_loss", "valid_loss", "valid_score")}))

    # explanations
    if opts.progress:
        opts.progress(training.Progress("explaining", k, k, 0, 0, None, time.monotonic() - t0, None,
                                   "Measuring which columns matter"))
    if k > 1:
        res.importance = explain.permutation_importance(
            members, frame, y, labelled, folds, schema.task,
            lambda net, enc: training.predict_net(net, enc, device, schema.task),
            seed=opts.seed, kinds={c.name: c.kind for c in schema.features},
            deadline=t0 + 0.95 * opts.time_budget)
    if reasons:
        # each labelled row is explained by the fold model whose held-out answer it shows (the others
        # trained on it); rows to fill in by all of them, as they are answered
        groups = None if k == 1 else [(labelled[folds == f], [m]) for f, m in enumerate(members)] + [(blank, members)]
        res.reasons = model._reasons(frame, table.values, outputs, groups)
    if pictures:
        from ..encode.pictures import image_folder, picture_rows

        res.picture_models = {r.column: r.model_words for r in pictures}
        res.pictures = picture_rows(model, frame, table, res, pictures, folds, labelled,
                                    folder=image_folder(table, opts.image_folder),
                                    allowed=opts.allowed_image_folders)

    model.metrics, model.baseline, model.importances = res.metrics, res.baseline, res.importance
    if not regression and k > 1:
        model.calibration["calibration_error"] = evaluate.expected_calibration_error(y, outputs[labelled])
    total = time.monotonic() - t0
    res.run_info = {
        "Device": device_words,
        "Training rows": f"{len(labelled):,}",
        "Rows predicted (blank target)": f"{len(blank):,}",
        "Model": _model_words(members[0].net),
        "Cross-fitting folds": str(k),
        "Epochs per fold": ", ".join(str(len(m.history)) for m in members),
        "Training time": f"{train_seconds:.1f} s",
        "Total time": f"{total:.1f} s",
    }
    for r in pictures:
        res.run_info[f"Pictures in '{r.column}'"] = (
            f"{r.n_loaded:,} read in {r.seconds:.1f} s" + (f" ({r.n_cached:,} from the cache)" if r.n_cached else "")
            + f"; {r.model_words}")
    model.info = dict(res.run_info)
    res.settings = dict(settings or {})
    res.notes = list(table.notes) + [n for c in schema.columns for n in c.notes] + training_notes
    res.notes += [n for r in pictures for n in r.notes(table)]
    res.notes += gaps.unseen_blank_notes(schema, model.blank_free, frame, blank, table)
    if len(labelled) < FEW_ROWS:
        res.notes.insert(0, f"Only {len(labelled)} rows have '{schema.target}' filled in. A model learns little "
                            f"from so few, and the scores in this report are rough: add more rows with a known "
                            f"'{schema.target}' (a few hundred is a good start).")
    return model, res
