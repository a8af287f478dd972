"""FittedModel: the trained members, their encoders and what we learned about them; predicting
with them, and saving them to a model file and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ..encode import Donors, EncodedTable, Filled, TableEncoder, TargetEncoder, prepare_images, unseen_blank_notes
from ..encode import image_folder as folder_of
from ..errors import DataError
from ..models import TabularNet, Trees
from ..schema import Schema, typed_frame
from ..sheets import Table
from ..training import Member, predict_member
from . import evaluate, explain
from .pictures import picture_rows
from .results import Importance, Results
from .store import read_model_file, write_model_file

__all__ = ["FittedModel", "load_model", "number_words"]

#: a member's boosted trees' tensors in the model file: 'm{i}.trees.{array}'
TREES_PREFIX = "trees."


@dataclass
class FittedModel:
    """A trained SheetDL model. Predicts for tables or DataFrames with the same columns."""

    schema: Schema
    target_encoder: TargetEncoder
    members: list[Member]
    metrics: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    importances: list[Importance] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    #: learned on out-of-fold predictions: {"temperature": T} (classification) or
    #: {"interval": q, "spread_floor": s0, "level": 0.9} (regression); empty = none
    calibration: dict[str, float] = field(default_factory=dict)
    #: feature columns never blank in training (nor practised): a blank there later is named in the
    #: report (encode.unseen_blank_notes); None for models saved before this was recorded
    blank_free: list[str] | None = None
    #: a sample of the training rows' values, to answer those blanks from the rows most like them
    #: (encode.Donors); None for models saved before, which read such a blank as a typical value
    donors: Donors | None = field(default=None, repr=False, compare=False)
    #: the blend of each member's network with its boosted trees, learned on out-of-fold answers:
    #: {"network": w, "trees": 1 − w, "scores": {"network": …, "trees": …, "blend": …}} (the held-out
    #: accuracy or RMSE of each); empty = the networks alone
    blend: dict = field(default_factory=dict)
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

    @property
    def net_weight(self) -> float:
        """The networks' share of each answer (1: no trees)."""
        return float(self.blend.get("network", 1.0))

    def predict(self, data: pd.DataFrame | Table, *, image_folder=None) -> pd.Series:
        """The prediction for every row, labels as the user wrote them. Relative picture paths start at
        ``image_folder`` (default: the workbook's folder for a Table, else the current folder)."""
        out = self._outputs(self._table(data), image_folder)
        return pd.Series(self.labels_of(out), name=f"Predicted {self.target}", dtype=object)

    def predict_proba(self, data: pd.DataFrame | Table, *, image_folder=None) -> pd.DataFrame:
        """Classification: one column per class (the class label as column name)."""
        if self.task != "classification":
            raise DataError(f"'{self.target}' is a number the model predicts, so there are no class probabilities.",
                            hint="Use predict() instead.")
        out = self._outputs(self._table(data), image_folder)
        return pd.DataFrame(out, columns=[str(c) for c in self.classes or []])

    def interval(self, data: pd.DataFrame | Table, *, image_folder=None) -> tuple[np.ndarray, np.ndarray]:
        """Regression: (low, high) for every row, a range meant to hold the true value for
        ``calibration['level']`` of rows (90%), checked on held-out rows during training."""
        if self.task != "regression":
            raise DataError(f"'{self.target}' is a category, so there is no numeric range to give.",
                            hint="Use predict_proba() for how sure the model is.")
        filled = self._filled(self._frame(self._table(data), image_folder=image_folder))
        return self.interval_of(*self._spread_of(filled))

    def importance(self) -> pd.DataFrame:
        """Permutation importance measured on held-out rows during training."""
        return pd.DataFrame(
            [{"column": i.column, "importance": i.drop, "spread": i.spread} for i in self.importances],
            columns=["column", "importance", "spread"],
        )

    def save(self, path, *, private: bool = False) -> None:
        """Write the model file (see store.py); :meth:`load` reads it back. ``private``: readable by
        the user only (0600), whatever the folder's other files are (the server's models)."""
        members, tensors = [], {}
        for i, m in enumerate(self.members):
            tensors.update({f"m{i}.{name}": t for name, t in m.net.state_dict().items()})
            members.append({"encoder": m.encoder.to_json(), "net": m.net.config, "history": m.history})
            if m.trees is not None:
                tensors.update({f"m{i}.{TREES_PREFIX}{name}": t for name, t in m.trees.tensors().items()})
                members[-1]["trees"] = m.trees.config()
        write_model_file(path, {
            "schema": self.schema.to_dict(),
            "target_encoder": self.target_encoder.to_json(),
            "members": members,
            "metrics": self.metrics,
            "baseline": self.baseline,
            "importance": [vars(i) for i in self.importances],
            "settings": self.settings,
            "info": self.info,
            "calibration": self.calibration,
            # a key older SheetDL versions ignore, so the format stays the same
            "blank_free": self.blank_free,
            # likewise: training rows' values, to answer blanks the model never saw (encode.Donors)
            "donors": self.donors.to_json() if self.donors is not None else None,
            # format 9 (members' "trees"); absent, or empty, for networks alone
            "blend": self.blend,
        }, tensors, private=private)

    @classmethod
    def load(cls, path) -> FittedModel:
        """A model saved by :meth:`save` (any format version this SheetDL reads)."""
        d, tensors = read_model_file(path)
        members = []
        for i, md in enumerate(d["members"]):
            net = TabularNet(**md["net"])
            prefix = f"m{i}."
            state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            own = {k[len(TREES_PREFIX):]: state.pop(k) for k in list(state) if k.startswith(TREES_PREFIX)}
            trees = Trees.from_file(md["trees"], own) if md.get("trees") else None
            if "head.weight" in state:  # format 1: one plain linear head
                state["head_weight"] = state.pop("head.weight").T[None].contiguous()
                state["head_bias"] = state.pop("head.bias")[None].contiguous()
            net.load_state_dict(state)
            net.eval()
            members.append(Member(encoder=TableEncoder.from_json(md["encoder"]), net=net,
                                  history=md["history"], valid_rows=None, trees=trees))
        return cls(
            schema=Schema.from_dict(d["schema"]),
            target_encoder=TargetEncoder.from_json(d["target_encoder"]),
            members=members,
            metrics=d.get("metrics", {}),
            baseline=d.get("baseline", {}),
            importances=[Importance(**i) for i in d.get("importance", [])],
            settings=d.get("settings", {}),
            info=d.get("info", {}),
            calibration=d.get("calibration", {}),
            blank_free=d.get("blank_free"),
            donors=Donors.from_json(d["donors"]) if d.get("donors") else None,
            blend=d.get("blend") or {},
        )

    def results_for(self, table: Table, *, reasons: bool = True, image_folder=None,
                    allowed_image_folders=None) -> Results:
        """Predictions (with confidence and reasons) for every row of another table."""
        frame, reports = self._frame(table, image_folder=image_folder, allowed=allowed_image_folders,
                                     with_reports=True)
        filled = self._filled(frame)
        ranged = self.task == "regression" and self.calibration.get("interval")
        # a number's range needs the members' spread too: one pass gives both (the same mean)
        outputs, spread = self._spread_of(filled) if ranged else (self._answers(filled), None)
        res = Results(schema=self.schema, prediction=self.labels_of(outputs),
                      labelled=np.zeros(len(frame), dtype=bool))
        self.fill_confidence(res, outputs)
        if ranged:
            assert spread is not None
            res.low, res.high = self.interval_of(outputs, spread)
        if reasons:
            res.reasons = self.reasons_for(frame, table.values, outputs, filled=filled)
        res.notes += unseen_blank_notes(self.schema, self.blank_free, frame, np.arange(len(frame)), table,
                                             filled.neighbours)
        if reports:
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
        frame = typed_frame(table, self._feature_schema())
        reports = prepare_images(frame, table, self.schema, training=False, folder=image_folder, allowed=allowed)
        return (frame, reports) if with_reports else frame

    def _outputs(self, table: Table, image_folder=None) -> np.ndarray:
        return self._answers(self._filled(self._frame(table, image_folder=image_folder)))

    def _answers(self, filled: Filled) -> np.ndarray:
        """The members' calibrated mean answer for each row of ``filled``, averaged over a row's
        neighbours where its blanks were filled from them."""
        return filled.mean(self.answers_of(self.members, [m.encoder.transform(filled.frame) for m in self.members]))

    def _filled(self, frame: pd.DataFrame) -> Filled:
        """``frame`` as predicted: blanks the model never saw answered from the training rows most like
        them (encode.Donors), where the model kept a sample of them."""
        if self.donors is None or not self.blank_free:
            return Filled.identity(frame)
        return self.donors.fill(frame, self.blank_free)

    def _spread_of(self, filled: Filled) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread (standardised) per row; a filled row's spread grows by how much its answer
        differs over its neighbours' values."""
        mean, spread = self.answers_and_spread(self.members, [m.encoder.transform(filled.frame) for m in self.members])
        return filled.mean(mean), filled.mean(spread) + filled.spread(mean)

    # ---- for training (train.py), which measures the fold members on held-out rows -----------
    def answers_of(self, members: list[Member], encs: list[EncodedTable]) -> np.ndarray:
        """The fold members' mean answer (calibrated probabilities / standardised numbers)."""
        device, w = self.predict_device, self.net_weight
        outs = [predict_member(m, e, device, self.task, w) for m, e in zip(members, encs)]
        return self.calibrated(np.mean(outs, axis=0))

    def calibrated(self, outputs: np.ndarray) -> np.ndarray:
        t = self.calibration.get("temperature", 1.0)
        return evaluate.apply_temperature(outputs, t) if self.task == "classification" and t != 1.0 else outputs

    def answers_and_spread(self, members: list[Member], encs: list[EncodedTable]) -> tuple[np.ndarray, np.ndarray]:
        """The members' mean answer (standardised numbers) and the spread of their TabM members."""
        device, w = self.predict_device, self.net_weight
        pairs = [predict_member(m, e, device, self.task, w, spread=True) for m, e in zip(members, encs)]
        return np.mean([p[0] for p in pairs], axis=0), np.mean([p[1] for p in pairs], axis=0)

    def interval_of(self, mean: np.ndarray, spread: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standardised mean and member spread → (low, high) in the user's units."""
        q = self.calibration.get("interval", float("nan"))
        half = q * (np.asarray(spread) + self.calibration.get("spread_floor", 1.0))
        inv = self.target_encoder.inverse_transform
        return inv(mean - half), inv(mean + half)

    def labels_of(self, outputs: np.ndarray) -> list:
        if self.task == "classification":
            classes = self.classes or []
            return [classes[i] for i in outputs.argmax(1)]
        return list(self.target_encoder.inverse_transform(outputs))

    def fill_confidence(self, res: Results, outputs: np.ndarray) -> None:
        if self.task == "classification":
            res.probabilities = outputs
            res.confidence = outputs.max(1)

    def reasons_for(self, frame: pd.DataFrame, raw: pd.DataFrame, outputs: np.ndarray,
                    groups: list[tuple[np.ndarray, list]] | None = None, filled: Filled | None = None) -> list[str]:
        """Reasons for each row's answer; ``groups`` (row positions, members) and ``filled`` as in
        explain.row_reasons."""
        chosen = outputs.argmax(1) if self.task == "classification" else None
        return explain.row_reasons(
            self.members, frame, raw, self.task, self.answers_of, chosen,
            target_sd=self.target_encoder.std_, number_format=number_words, groups=groups, filled=filled,
        )


def number_words(v: float) -> str:
    """A number as a reason or a baseline names it: '4,202', '3.14'."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"


def load_model(path) -> FittedModel:
    """A model saved by :meth:`FittedModel.save` or by ``sheetdl train``."""
    return FittedModel.load(path)
