"""One training run, as named steps: typed table → pictures read → members cross-fitted → held-out
answers and calibration → scores → training curve → explanations → the run's facts and notes.

``train_table`` is what ``sheetdl.run`` (the CLI, the add-in's server) and ``sheetdl.fit`` call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..encode import (
    PICTURE_NOTE,
    Donors,
    PictureReport,
    TargetEncoder,
    never_blank,
    pick_network,
    prepare_images,
    unseen_blank_notes,
)
from ..encode import image_folder as folder_of
from ..models import network_of
from ..schema import Schema, typed_frame
from ..sheets import Table
from ..training import (
    TUNE_EPOCHS,
    CrossFit,
    FitOptions,
    Progress,
    choose_device,
    ctrl_c_cancels,
    fine_tune_plan,
    predict_member,
    predict_net,
    train_members,
)
from . import evaluate, explain
from .model import FittedModel, number_words
from .pictures import picture_rows
from .results import CurvePoint, Results

__all__ = ["train_table", "network_words"]

#: fine-tuning that got fewer passes over the pictures than this is said to be short (TUNE_EPOCHS planned)
TUNE_MIN_EPOCHS = TUNE_EPOCHS // 2
#: fewer labelled rows than this and the report warns that the model and its scores are rough
FEW_ROWS = 50
#: fine-tuning that got fewer passes over the pictures than this is said to be short (TUNE_EPOCHS planned)
TUNE_MIN_EPOCHS = TUNE_EPOCHS // 2
#: fewer labelled rows than this: no calibration (one temperature from a handful of rows is noise)
MIN_CALIBRATION_ROWS = 30
#: measuring importance stops at this share of the time budget, so the run ends near the budget
EXPLAIN_DEADLINE_SHARE = 0.95


@dataclass
class _Run:
    """What the steps after training share: the table, its typed rows, and what training made."""

    table: Table
    schema: Schema
    frame: pd.DataFrame
    #: the encoded target of the labelled rows, in order
    y: np.ndarray
    #: positions (into frame) of the labelled rows, and of the rows to fill in (target blank)
    labelled: np.ndarray
    blank: np.ndarray
    fit: CrossFit
    pictures: list[PictureReport]
    opts: FitOptions
    t0: float

    @property
    def k(self) -> int:
        return len(self.fit.members)

    @property
    def regression(self) -> bool:
        return self.schema.task == "regression"


def train_table(table: Table, schema: Schema, opts: FitOptions, *, reasons: bool = True,
                settings: dict[str, str] | None = None) -> tuple[FittedModel, Results]:
    """Train on the labelled rows of ``table``; predict every row; measure and explain."""
    t0 = time.monotonic()
    frame = typed_frame(table, schema)
    with ctrl_c_cancels(opts):
        pictures = _prepare_pictures(frame, table, schema, opts, t0)
    target = frame[schema.target]
    is_labelled = target.notna().to_numpy(dtype=bool)
    labelled = np.flatnonzero(is_labelled)
    blank = np.flatnonzero(~is_labelled)
    target_encoder = TargetEncoder().fit(target.iloc[labelled], schema)
    y = target_encoder.transform(target.iloc[labelled], schema.classes or [])
    with ctrl_c_cancels(opts):
        fit = train_members(frame, y, labelled, schema, target_encoder, opts)
    blank_free = never_blank(schema, frame, labelled, fit.practised)
    model = FittedModel(schema=schema, target_encoder=target_encoder, members=fit.members,
                        settings=dict(settings or {}), blank_free=blank_free,
                        donors=Donors.sample(frame, labelled, schema.features, opts.seed) if blank_free else None)
    run = _Run(table=table, schema=schema, frame=frame, y=y, labelled=labelled, blank=blank, fit=fit,
               pictures=pictures, opts=opts, t0=t0)
    try:
        # on the training device: a model planned for a GPU has many TabM members, and the CPU would
        # take minutes over them
        model.predict_device = fit.device
        outputs, spread = _answers(model, run)
        res = _results(model, run, outputs, spread)
        _score(res, run, outputs[labelled], target_encoder)
        res.curve = _curve([m.history for m in fit.members])
        _explain(model, res, run, outputs, reasons)
        model.metrics, model.baseline, model.importances = res.metrics, res.baseline, res.importance
        if not run.regression and run.k > 1:
            model.calibration["calibration_error"] = evaluate.expected_calibration_error(y, outputs[labelled])
        res.blend = dict(model.blend)
        res.run_info = _run_info(run, model.blend)
        model.info = dict(res.run_info)
        res.settings = dict(settings or {})
        res.notes = _notes(run, model.blank_free)
        return model, res
    finally:  # the nets may have moved to the GPU to predict; models are kept and saved from the CPU
        model.predict_device = torch.device("cpu")
        for m in fit.members:
            m.net.cpu()


def _prepare_pictures(frame: pd.DataFrame, table: Table, schema: Schema, opts: FitOptions,
                      t0: float) -> list[PictureReport]:
    """Read the pictures of image columns into ``frame`` (progress and cancel as for training)."""
    if not any(c.kind == "image" and c.role == "feature" for c in schema.columns):
        return []

    def progress(done: int, total: int, message: str) -> None:
        if opts.progress:
            opts.progress(Progress("pictures", 0, 0, done, total, None, time.monotonic() - t0, None, message))

    pictures = [c.name for c in schema.features if c.kind == "image"]
    filled = np.zeros(len(frame), dtype=bool)
    for name in pictures:  # rows with a picture path in some picture column
        filled |= frame[name].map(lambda v: isinstance(v, str) and bool(v.strip())).to_numpy(bool)
    labelled = frame[schema.target].notna().to_numpy(bool)
    device = choose_device(opts.device)[1]
    pick = pick_network(opts.picture_network, allow_download=opts.allow_download)
    tune, tune_note = fine_tune_plan(opts.fine_tune, int((filled & labelled).sum()), int(filled.sum()), device,
                                     opts.time_budget, pick.network)
    if pick.network is None and (opts.fine_tune == "yes" or opts.fine_tune == "auto" and device.type == "cuda"):
        tune_note = ("Fine-tuning adapts a pretrained network, so it was not done either." if pick.note else
                     f"{PICTURE_NOTE} fine-tuning adapts a pretrained network, and 'Picture network' is set to "
                     f"from scratch, so it was not done.")
    return prepare_images(frame, table, schema, training=True, folder=opts.image_folder,
                          allowed=opts.allowed_image_folders, allow_download=opts.allow_download,
                          progress=progress, cancel=opts.cancel, fine_tune=tune, fine_tune_note=tune_note,
                          pick=pick)


def _answers(model: FittedModel, run: _Run) -> tuple[np.ndarray, np.ndarray]:
    """(answers, spread) for every row: held-out for labelled rows (each from the fold model that did
    not train on it), the members' average for the rows to fill in; the networks blended with their
    trees, and calibrated, on the held-out ones."""
    members, labelled, frame, task = model.members, run.labelled, run.frame, run.schema.task
    n_out = model.target_encoder.n_classes_ if task == "classification" else 0
    shape = (len(labelled), n_out) if n_out else len(labelled)
    net_held, trees_held = np.zeros(shape), np.zeros(shape)
    spread = np.zeros(len(frame))
    with_trees = run.k > 1 and all(m.trees is not None for m in members)
    for f, m in enumerate(members):
        pos = np.flatnonzero(run.fit.folds == f)
        if len(pos):
            enc = m.encoder.transform(frame.iloc[labelled[pos]])
            if run.regression:
                net_held[pos], spread[labelled[pos]] = predict_net(m.net, enc, model.predict_device, task, spread=True)
            else:
                net_held[pos] = predict_net(m.net, enc, model.predict_device, task)
            if with_trees:
                assert m.trees is not None
                trees_held[pos] = m.trees.predict(enc.numeric, enc.categorical)
    outputs = np.zeros((len(frame), n_out) if n_out else len(frame), dtype=np.float64)
    if run.k == 1:  # too few rows to hold any out: the labelled rows' answers are in-sample
        outputs[labelled] = model.answers_of(members, [members[0].encoder.transform(frame.iloc[labelled])])
    else:
        if with_trees:
            _blend(model, run, net_held, trees_held)
            if model.net_weight >= 1.0:  # the trees did not help: not kept, so the model file stays the network's
                for m in members:
                    m.trees = None
        w = model.net_weight
        outputs[labelled] = w * net_held + (1 - w) * trees_held if with_trees else net_held
        spread[labelled] *= w
        _calibrate(model, run.y, outputs[labelled], spread[labelled], run.fit.folds)
        if not run.regression and model.calibration:  # the held-out probabilities too, as users get them
            model.calibration["calibration_error_before"] = evaluate.expected_calibration_error(run.y,
                                                                                                outputs[labelled])
            outputs[labelled] = model.calibrated(outputs[labelled])
    if len(run.blank):
        blank_encs = [m.encoder.transform(frame.iloc[run.blank]) for m in members]
        if run.regression:
            outputs[run.blank], spread[run.blank] = model.answers_and_spread(members, blank_encs)
        else:
            outputs[run.blank] = model.answers_of(members, blank_encs)
    return outputs, spread


def _blend(model: FittedModel, run: _Run, net_held: np.ndarray, trees_held: np.ndarray) -> None:
    """The networks' share of each answer, chosen on the held-out answers (evaluate.blend_weight),
    with each model's held-out score for the report (accuracy, or RMSE in the target's units)."""
    w = round(evaluate.blend_weight(run.y, net_held, trees_held, run.schema.task), 2)

    def score(held: np.ndarray) -> float:
        if not run.regression:
            return float((held.argmax(1) == run.y).mean())
        inv = model.target_encoder.inverse_transform
        return float(np.sqrt(np.mean((inv(held) - inv(run.y)) ** 2)))

    model.blend = {"network": w, "trees": round(1 - w, 6), "trees_count": int(sum(m.trees.n_trees for m in model.members
                                                                                 if m.trees is not None)),
                   "scores": {"network": score(net_held), "trees": score(trees_held),
                              "blend": score(w * net_held + (1 - w) * trees_held)},
                   "measure": "rmse" if run.regression else "accuracy"}


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


def _results(model: FittedModel, run: _Run, outputs: np.ndarray, spread: np.ndarray) -> Results:
    """Each row's prediction, with its confidence (classification) or range (regression)."""
    labelled_mask = np.zeros(len(run.frame), dtype=bool)
    labelled_mask[run.labelled] = True
    res = Results(schema=run.schema, prediction=model.labels_of(outputs), labelled=labelled_mask,
                  device=run.fit.device.type)
    model.fill_confidence(res, outputs)
    if run.regression and model.calibration.get("interval"):
        res.low, res.high = model.interval_of(outputs, spread)
        res.interval_level = model.calibration["level"]
        res.interval_coverage = model.calibration["coverage"]
    if not run.regression and run.k > 1:
        res.reliability = evaluate.reliability(run.y, outputs[run.labelled])
    return res


def _score(res: Results, run: _Run, held: np.ndarray, target_encoder: TargetEncoder) -> None:
    """Scores on held-out rows, the model's and the naive baseline's (from each fold's training rows)."""
    y, folds, k = run.y, run.fit.folds, run.k
    if not run.regression:
        n_out = target_encoder.n_classes_
        prior = np.zeros_like(held)
        for f in range(k):
            train = y[folds != f] if k > 1 else y
            counts = np.bincount(train, minlength=n_out).astype(float)
            prior[folds == f] = counts / counts.sum()
        res.metrics = evaluate.classification_metrics(y, held)
        res.baseline = evaluate.classification_metrics(y, prior)
        res.confusion = evaluate.confusion_matrix(y, held.argmax(1), n_out)
        majority = (run.schema.classes or [])[int(np.bincount(y, minlength=n_out).argmax())]
        res.baseline_description = f"always guessing '{majority}'"
    else:
        truth = target_encoder.inverse_transform(y)
        guess = np.zeros_like(truth)
        for f in range(k):
            guess[folds == f] = truth[folds != f].mean() if k > 1 else truth.mean()
        res.metrics = evaluate.regression_metrics(truth, target_encoder.inverse_transform(held))
        res.baseline = evaluate.regression_metrics(truth, guess)
        res.baseline_description = f"always guessing the average, {number_words(float(truth.mean()))}"


def _curve(histories: list[list[dict]]) -> list[CurvePoint]:
    """The training curve: the mean over folds at each epoch, over the folds that reached it."""
    histories = [h for h in histories if h]
    curve = []
    for e in range(max((len(h) for h in histories), default=0)):
        pts = [h[e] for h in histories if len(h) > e]
        curve.append(CurvePoint(epoch=e + 1, **{key: float(np.mean([p[key] for p in pts]))
                                                for key in ("train_loss", "valid_loss", "valid_score")}))
    return curve


def _explain(model: FittedModel, res: Results, run: _Run, outputs: np.ndarray, reasons: bool) -> None:
    """Which columns matter (held-out rows), why each row got its answer, and the pictures to look at."""
    opts, members, k, labelled, folds = run.opts, model.members, run.k, run.labelled, run.fit.folds
    if opts.progress:
        opts.progress(Progress("explaining", k, k, 0, 0, None, time.monotonic() - run.t0, None,
                               "Measuring which columns matter"))
    if k > 1:
        res.importance = explain.permutation_importance(
            members, run.frame, run.y, labelled, folds, run.schema.task,
            lambda member, enc: predict_member(member, enc, model.predict_device, run.schema.task, model.net_weight),
            seed=opts.seed, kinds={c.name: c.kind for c in run.schema.features},
            deadline=run.t0 + EXPLAIN_DEADLINE_SHARE * opts.time_budget)
    if reasons:
        # each labelled row is explained by the fold model whose held-out answer it shows (the others
        # trained on it); rows to fill in by all of them, as they are answered
        groups = None if k == 1 else [(labelled[folds == f], [m]) for f, m in enumerate(members)] + [
            (run.blank, members)]
        res.reasons = model.reasons_for(run.frame, run.table.values, outputs, groups)
    if run.pictures:
        res.picture_models = {r.column: r.model_words for r in run.pictures}
        res.pictures = picture_rows(model, run.frame, run.table, res, run.pictures, folds, labelled,
                                    folder=folder_of(run.table, opts.image_folder),
                                    allowed=opts.allowed_image_folders)


def _run_info(run: _Run, blend: dict) -> dict[str, str]:
    """Facts about the run, in words, for the report."""
    members = run.fit.members
    model = network_words(members[0].net)
    if blend and blend["network"] < 1:
        model += (f"; with gradient-boosted trees (scikit-learn's HistGradientBoosting, {blend['trees_count']:,} "
                  f"trees in all), blended {blend['network']:.0%} network, {blend['trees']:.0%} trees")
    elif blend:
        model += ("; gradient-boosted trees were tried beside it and left out (on rows held out they did not "
                  "do clearly better than the network)")
    info = {
        "Device": run.fit.device_words,
        "Training rows": f"{len(run.labelled):,}",
        "Rows predicted (blank target)": f"{len(run.blank):,}",
        "Model": model,
        "Cross-fitting folds": str(run.k),
        "Epochs per fold": ", ".join(str(len(m.history)) for m in members),
        "Training time": f"{run.fit.seconds:.1f} s",
        "Total time": f"{time.monotonic() - run.t0:.1f} s",
    }
    for r in run.pictures:
        info[f"Pictures in '{r.column}'"] = (
            f"{r.n_loaded:,} read in {r.seconds:.1f} s" + (f" ({r.n_cached:,} from the cache)" if r.n_cached else "")
            + f"; {r.model_words}")
    return info


def _short_tuning_note(run: _Run) -> list[str]:
    """A warning when fine-tuning the picture network got far fewer passes over the pictures than it
    was planned with (a slower or busier computer than the plan assumed): such a model can be much
    weaker than one on the pretrained network as it is, and the user should know what to change."""
    members = run.fit.members
    tuned = any(spec.get("mode") == "tune" for spec in members[0].net.config.get("image_inputs", []))
    fewest = min(len(m.history) for m in members)
    if not tuned or fewest >= TUNE_MIN_EPOCHS:
        return []
    return [f"{PICTURE_NOTE} fine-tuning the picture network had time for only {fewest} pass"
            f"{'es' if fewest != 1 else ''} over the pictures (it needs about {TUNE_EPOCHS}); this computer "
            f"was slower than planned, and the model may be much weaker than it should be. Give a longer "
            f"'Time budget', or set 'Fine-tune pictures' to no to use the pretrained network as it is."]


def _notes(run: _Run, blank_free: list[str] | None) -> list[str]:
    """The report's notes: the table's, the columns', training's, the pictures', unseen blanks, and a
    warning first when few rows are labelled."""
    schema, table = run.schema, run.table
    notes = list(table.notes) + [n for c in schema.columns for n in c.notes] + run.fit.notes
    notes += [n for r in run.pictures for n in r.notes(table)]
    notes += _short_tuning_note(run)
    notes += unseen_blank_notes(schema, blank_free, run.frame, run.blank, table)
    if len(run.labelled) < FEW_ROWS:
        notes.insert(0, f"Only {len(run.labelled)} rows have '{schema.target}' filled in. A model learns little "
                        f"from so few, and the scores in this report are rough: add more rows with a known "
                        f"'{schema.target}' (a few hundred is a good start).")
    return notes


def network_words(net) -> str:
    """The network in words, for the report: "TabM, an efficient ensemble of 16 MLPs (3 layers × 128) …"."""
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
        name = network_of(images[0]).name
        how = {"features": f"a pretrained {name}'s features",
               "tune": f"a pretrained {name} whose last block was fine-tuned"}.get(
            images[0]["mode"], "a small CNN trained from scratch")
        extra += f"; pictures through {how}"
    return f"{kind} ({c['depth']} layers × {c['hidden']}){extra}"
