"""Encoders: typed columns → tensors, following scikit-learn's contract.

``fit`` learns from training rows only and returns ``self``; learned state ends in ``_``;
``transform`` refuses to run before ``fit``. Code 0 means missing or unknown for categories and text
tokens; numbers get a missing-indicator. Every encoder round-trips through plain JSON (``to_json`` /
``from_json``) so a saved model holds no pickle.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..schema import Column, Schema

__all__ = [
    "NumberEncoder",
    "CategoryEncoder",
    "DateEncoder",
    "TextEncoder",
    "ImageEncoder",
    "TargetEncoder",
    "TableEncoder",
    "EncodedTable",
    "NotFittedError",
    "class_key",
]

#: a category seen fewer times than this in training is folded into "unknown" (code 0)
MIN_CATEGORY_COUNT = 2
#: at most this many categories get their own embedding; the rest are "unknown"
MAX_CATEGORIES = 1000
#: free-text columns keep this many most frequent words …
TEXT_VOCAB_SIZE = 2000
#: … and read at most this many words per cell
TEXT_MAX_TOKENS = 32
#: scaled numbers are softly clipped near this many robust standard deviations (RealMLP's trick, at a
#: wider bound than RealMLP's 3): the natural tail of a skewed column stays nearly linear, where a
#: tumour's size or a house's area says the most, while a typo (1e9 in a price) still stays bounded
SOFT_CLIP = 10.0
#: ... the bound of models saved before 24 Nov 2026 (their encoders don't record it)
SOFT_CLIP_BEFORE = 3.0

_TOKEN = re.compile(r"\w+", re.UNICODE)


class NotFittedError(RuntimeError):
    """Internal: an encoder was used before ``fit`` (a bug, never the user's doing)."""


class _Encoder:
    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{type(self).__name__} used before fit")

    def to_json(self) -> dict:
        self._check_fitted()
        return {k: v for k, v in vars(self).items()}

    @classmethod
    def from_json(cls, state: dict):
        obj = cls.__new__(cls)
        obj.__dict__.update(state)
        return obj


class NumberEncoder(_Encoder):
    """Robust scaling (median / IQR) with a soft clip, plus a missing indicator when needed."""

    def fit(self, x: np.ndarray, blank_possible: bool = False) -> NumberEncoder:
        """``blank_possible``: give the column a missing-indicator even if ``x`` has no blank (training
        practises blanks the rows to fill in have; see blanks.py)."""
        x = np.asarray(x, dtype=np.float64)
        seen = x[np.isfinite(x)]
        if len(seen) == 0:
            self.center_, self.scale_ = 0.0, 1.0
        else:
            q25, q50, q75 = np.quantile(seen, [0.25, 0.5, 0.75])
            scale = (q75 - q25) / 1.349  # IQR of a normal → its standard deviation
            if not scale > 0:
                scale = float(seen.std())
            if not scale > 0:
                scale = 1.0
            self.center_, self.scale_ = float(q50), float(scale)
        self.clip_ = SOFT_CLIP
        self.indicator_ = bool((~np.isfinite(x)).any()) or blank_possible
        self.fitted_ = True
        return self

    @property
    def width(self) -> int:
        return 2 if self.indicator_ else 1

    def transform(self, x: np.ndarray) -> np.ndarray:
        self._check_fitted()
        x = np.asarray(x, dtype=np.float64)
        missing = ~np.isfinite(x)
        z = (np.where(missing, self.center_, x) - self.center_) / self.scale_
        clip = getattr(self, "clip_", SOFT_CLIP_BEFORE)
        z = z / np.sqrt(1.0 + (z / clip) ** 2)
        cols = [z]
        if self.indicator_:
            cols.append(missing.astype(np.float64))
        return np.stack(cols, axis=1).astype(np.float32)


class CategoryEncoder(_Encoder):
    """Category → code 1..K by frequency; blank, rare and unseen values → 0."""

    def fit(self, values: pd.Series) -> CategoryEncoder:
        counts = Counter(v for v in values if v is not None and v == v)
        keep = [v for v, c in counts.most_common(MAX_CATEGORIES) if c >= MIN_CATEGORY_COUNT]
        if not keep and counts:  # tiny data: better to keep every value than none
            keep = [v for v, _ in counts.most_common(MAX_CATEGORIES)]
        self.categories_ = [str(v) for v in keep]
        self.fitted_ = True
        return self

    @property
    def cardinality(self) -> int:
        """The codes ``transform`` can give: 0 and one per kept value. Only 1 (code 0 alone) when the
        training rows kept no value, e.g. a fold whose rows are all blank in the column."""
        return len(self.categories_) + 1

    @property
    def typical_code(self) -> int:
        """The code of a typical row: the most frequent kept value (code 1), or 0, the only code an
        encoder that kept no value has (an answer can't be explained with a code its network lacks)."""
        return 1 if self.categories_ else 0

    def transform(self, values: pd.Series) -> np.ndarray:
        self._check_fitted()
        index = {v: i + 1 for i, v in enumerate(self.categories_)}
        return np.fromiter(
            (index.get(str(v), 0) if v is not None and v == v else 0 for v in values),
            dtype=np.int64,
            count=len(values),
        )


class DateEncoder(_Encoder):
    """A date becomes numbers a network can use: elapsed time, and month / weekday as circles."""

    def fit(self, values: pd.Series, blank_possible: bool = False) -> DateEncoder:
        self.elapsed_ = NumberEncoder().fit(self._elapsed(values), blank_possible)
        self.fitted_ = True
        return self

    @staticmethod
    def _elapsed(values: pd.Series) -> np.ndarray:
        d = pd.to_datetime(values, errors="coerce")
        years = (d - pd.Timestamp("2000-01-01")).dt.total_seconds() / (365.25 * 86400)
        return years.to_numpy(dtype=np.float64, na_value=np.nan)

    @property
    def width(self) -> int:
        return self.elapsed_.width + 4

    def transform(self, values: pd.Series) -> np.ndarray:
        self._check_fitted()
        d = pd.to_datetime(values, errors="coerce")
        month = d.dt.month.to_numpy(dtype=np.float64, na_value=np.nan)
        weekday = d.dt.weekday.to_numpy(dtype=np.float64, na_value=np.nan)
        circles = []
        for v, period in ((month - 1, 12.0), (weekday, 7.0)):
            angle = 2 * np.pi * np.nan_to_num(v) / period
            on = np.isfinite(v).astype(np.float64)
            circles += [np.sin(angle) * on, np.cos(angle) * on]
        return np.concatenate(
            [self.elapsed_.transform(self._elapsed(values)), np.stack(circles, axis=1).astype(np.float32)],
            axis=1,
        )

    def to_json(self) -> dict:
        self._check_fitted()
        return {"elapsed_": self.elapsed_.to_json(), "fitted_": True}

    @classmethod
    def from_json(cls, state: dict):
        obj = cls.__new__(cls)
        obj.elapsed_ = NumberEncoder.from_json(state["elapsed_"])
        obj.fitted_ = True
        return obj


class TextEncoder(_Encoder):
    """Free text → the ids of its first words (most frequent words in training; 0 = padding/unknown)."""

    def fit(self, values: pd.Series) -> TextEncoder:
        docs: Counter[str] = Counter()
        for v in values:
            if v is not None and v == v:
                docs.update(set(_TOKEN.findall(str(v).lower())))
        keep = [w for w, c in docs.most_common(TEXT_VOCAB_SIZE) if c >= MIN_CATEGORY_COUNT]
        self.vocabulary_ = keep
        self.fitted_ = True
        return self

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary_) + 1

    def transform(self, values: pd.Series) -> np.ndarray:
        self._check_fitted()
        index = {w: i + 1 for i, w in enumerate(self.vocabulary_)}
        out = np.zeros((len(values), TEXT_MAX_TOKENS), dtype=np.int64)
        for r, v in enumerate(values):
            if v is None or v != v:
                continue
            ids = [index[w] for w in _TOKEN.findall(str(v).lower()) if w in index][:TEXT_MAX_TOKENS]
            out[r, : len(ids)] = ids
        return out


class ImageEncoder(_Encoder):
    """A picture column → one array per row, already prepared by :mod:`.pictures`.

    By the time a frame reaches the encoders, each cell of an image column holds what the network
    reads for that picture: a feature vector from the frozen pretrained backbone (``mode`` "features")
    or the decoded pixels (``mode`` "pixels", trained from scratch; ``mode`` "tune", for the pretrained
    network whose last block is fine-tuned). A blank cell or a picture that could
    not be read holds None and becomes zeros — the network's "no picture".
    """

    def fit(self, values: pd.Series, *, mode: str, shape: list[int], dtype: str, weights: str = "",
            network: str = "") -> ImageEncoder:
        self.mode_, self.shape_, self.dtype_ = mode, list(shape), dtype
        #: mode "tune": which pretrained weights the network's frozen part is (their sha256)
        self.weights_ = weights
        #: modes "features" and "tune": which pretrained network ("efficientnet-lite0"; "" = ResNet-18,
        #: as in models saved before SheetDL had a choice — so those are written as they were)
        if network:
            self.network_ = network
        self.fitted_ = True
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        self._check_fitted()
        out = np.zeros((len(values), *self.shape_), dtype=self.dtype_)
        for r, v in enumerate(values):
            if v is not None and not isinstance(v, (str, float)):
                out[r] = v
        return out


class TargetEncoder(_Encoder):
    """Labels ↔ class indices (classification) or standardised numbers (regression)."""

    def fit(self, y: pd.Series, schema: Schema) -> TargetEncoder:
        self.task_ = schema.task
        if self.task_ == "classification":
            self.n_classes_ = len(schema.classes or [])
            self.mean_, self.std_ = 0.0, 1.0
        else:
            v = np.asarray(y, dtype=np.float64)
            v = v[np.isfinite(v)]
            self.n_classes_ = 0
            self.mean_ = float(v.mean())
            self.std_ = float(v.std()) or 1.0
        self.fitted_ = True
        return self

    def transform(self, y: pd.Series, classes: list) -> np.ndarray:
        self._check_fitted()
        if self.task_ == "classification":
            index = {class_key(c): i for i, c in enumerate(classes)}
            return np.fromiter((index[class_key(v)] for v in y), dtype=np.int64, count=len(y))
        return ((np.asarray(y, dtype=np.float64) - self.mean_) / self.std_).astype(np.float32)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Regression: network output → the user's units."""
        self._check_fitted()
        return np.asarray(z, dtype=np.float64) * self.std_ + self.mean_


def class_key(v):
    """Labels compare by value and kind: 1 and '1' are different classes, 1 and 1.0 are not."""
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return ("n", float(v))
    return ("s", str(v))


@dataclass
class EncodedTable:
    """The tensors a network reads, as numpy arrays (the caller moves them to the device)."""

    numeric: np.ndarray  # (n, d) float32
    categorical: np.ndarray  # (n, c) int64
    text: np.ndarray  # (n, t, TEXT_MAX_TOKENS) int64
    #: one array per image column: (n, features) float32 or (n, size, size, 3) uint8 pixels
    images: tuple[np.ndarray, ...] = ()

    def __len__(self) -> int:
        return len(self.numeric)

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """Every input array, in the order the network's ``forward`` takes them."""
        return (self.numeric, self.categorical, self.text, *self.images)

    def take(self, rows: np.ndarray) -> EncodedTable:
        return EncodedTable(self.numeric[rows], self.categorical[rows], self.text[rows],
                            tuple(a[rows] for a in self.images))


@dataclass
class TableEncoder:
    """All feature encoders of one model, and which slice of the tensors each input column owns."""

    columns: list[str] = field(default_factory=list)
    encoders: dict = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame, features: list[Column], blank_columns=()) -> TableEncoder:
        """``blank_columns``: numbers and dates to give a missing-indicator even where ``frame`` has no
        blank in them (see blanks.py: blanks of the rows to fill in are practised)."""
        self.columns, self.kinds, self.encoders = [], {}, {}
        for col in features:
            x = frame[col.name]
            enc: _Encoder
            if col.kind in ("number", "boolean"):
                enc = NumberEncoder().fit(x.to_numpy(dtype=np.float64, na_value=np.nan), col.name in blank_columns)
            elif col.kind == "category":
                enc = CategoryEncoder().fit(x)
            elif col.kind == "date":
                enc = DateEncoder().fit(x, col.name in blank_columns)
            elif col.kind == "text":
                enc = TextEncoder().fit(x)
            elif col.kind == "image":
                spec = col.parse.get("image") or {}
                if not spec:  # not prepared (no picture could be read): nothing to learn from
                    continue
                tune = spec["mode"] == "tune"
                network = spec.get("network", "")
                enc = ImageEncoder().fit(x, mode=spec["mode"], shape=spec["shape"], dtype=spec["dtype"],
                                         weights=spec.get("weights", "") if tune else "",
                                         network="" if network == "resnet18" else network)
            else:
                continue
            self.columns.append(col.name)
            self.kinds[col.name] = col.kind
            self.encoders[col.name] = enc
        self.fitted_ = True
        return self

    # -- the shape of what transform produces: the network is built from this --------------
    @property
    def n_numeric(self) -> int:
        return sum(e.width for c, e in self.encoders.items() if self.kinds[c] in ("number", "boolean", "date"))

    @property
    def continuous(self) -> list[bool]:
        """For each numeric input: does it carry a measured amount (→ number embedding) rather than a flag
        (missing indicator, yes/no, the month and weekday circles)?"""
        out: list[bool] = []
        for c, e in self.encoders.items():
            k = self.kinds[c]
            if k == "number":
                out += [True] + [False] * (e.width - 1)
            elif k == "boolean":
                out += [False] * e.width
            elif k == "date":
                out += [True] + [False] * (e.width - 1)
        return out

    @property
    def cardinalities(self) -> list[int]:
        return [e.cardinality for c, e in self.encoders.items() if self.kinds[c] == "category"]

    @property
    def vocab_sizes(self) -> list[int]:
        return [e.vocab_size for c, e in self.encoders.items() if self.kinds[c] == "text"]

    @property
    def image_inputs(self) -> list[dict]:
        """For each image column: {"mode": "features", "dim": d}, {"mode": "pixels", "size": s} or
        {"mode": "tune", "size": s, "weights": sha256}; with "network": "efficientnet-lite0" when a
        pretrained network other than ResNet-18 reads them."""
        out = []
        for c, e in self.encoders.items():
            if self.kinds[c] == "image":
                if e.mode_ == "features":
                    spec: dict = {"mode": "features", "dim": e.shape_[0]}
                elif e.mode_ == "tune":
                    spec = {"mode": "tune", "size": e.shape_[0], "weights": getattr(e, "weights_", "")}
                else:
                    spec = {"mode": "pixels", "size": e.shape_[0]}
                if getattr(e, "network_", ""):
                    spec["network"] = e.network_
                out.append(spec)
        return out

    def slices(self) -> dict[str, tuple[str, list[int]]]:
        """Input column → (block, indices in that block): what permuting one column means."""
        out, num, cat, txt, img = {}, 0, 0, 0, 0
        for c, e in self.encoders.items():
            k = self.kinds[c]
            if k in ("number", "boolean", "date"):
                out[c] = ("numeric", list(range(num, num + e.width)))
                num += e.width
            elif k == "category":
                out[c] = ("categorical", [cat])
                cat += 1
            elif k == "image":
                out[c] = ("images", [img])
                img += 1
            else:
                out[c] = ("text", [txt])
                txt += 1
        return out

    def transform(self, frame: pd.DataFrame) -> EncodedTable:
        n = len(frame)
        num, cat, txt, img = [], [], [], []
        for c, e in self.encoders.items():
            k, x = self.kinds[c], frame[c]
            if k in ("number", "boolean"):
                num.append(e.transform(x.to_numpy(dtype=np.float64, na_value=np.nan)))
            elif k == "date":
                num.append(e.transform(x))
            elif k == "category":
                cat.append(e.transform(x)[:, None])
            elif k == "image":
                img.append(e.transform(x))
            else:
                txt.append(e.transform(x)[:, None, :])
        return EncodedTable(
            numeric=np.concatenate(num, axis=1) if num else np.zeros((n, 0), np.float32),
            categorical=np.concatenate(cat, axis=1) if cat else np.zeros((n, 0), np.int64),
            text=np.concatenate(txt, axis=1) if txt else np.zeros((n, 0, TEXT_MAX_TOKENS), np.int64),
            images=tuple(img),
        )

    _KINDS = {"number": NumberEncoder, "boolean": NumberEncoder, "category": CategoryEncoder,
              "date": DateEncoder, "text": TextEncoder, "image": ImageEncoder}

    def to_json(self) -> dict:
        return {
            "columns": self.columns,
            "kinds": self.kinds,
            "encoders": {c: self.encoders[c].to_json() for c in self.columns},
        }

    @classmethod
    def from_json(cls, state: dict) -> TableEncoder:
        obj = cls()
        obj.columns = list(state["columns"])
        obj.kinds = dict(state["kinds"])
        obj.encoders = {c: cls._KINDS[obj.kinds[c]].from_json(state["encoders"][c]) for c in obj.columns}
        obj.fitted_ = True
        return obj
