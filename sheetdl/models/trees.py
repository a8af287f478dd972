"""Gradient-boosted trees beside the network: scikit-learn's HistGradientBoosting, fitted on a fold's
encoded inputs (the numbers and categories its network reads), kept as plain arrays and walked by our
own numpy code.

Why not keep scikit-learn's estimator: a model file must never be a pickle, and a model saved with one
scikit-learn must load with another (or with none installed). So the fitted trees are read out of the
estimator once (:meth:`Trees.from_estimator`) into arrays the model file holds as tensors, and
:meth:`Trees.predict` walks them the way scikit-learn does: a number goes left when it is at most the
split's threshold (a blank one where the split sends blanks); a category goes left when the split's
set holds it, and a category the trees never saw goes where blanks go.

The inputs are arranged before fitting so that scikit-learn's own preparation of them changes
nothing, in every version: category inputs first, each one's codes renumbered 0, 1, 2 … in the order
of the codes the fold's rows have (``order`` and ``code_map`` keep how), the numbers after them.

The trees see what the network sees, minus words and pictures: every numeric input (numbers, their
blank flags, dates' parts, yes/no) and every category code. Categories with more codes than the trees
can split on as a set (``MAX_SET_CODES``) are read as their frequency rank instead.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ..cpus import available_cpus

__all__ = ["Trees", "fit_trees", "trees_available", "MAX_SET_CODES", "TREE_ROUNDS", "MIN_TREE_ROUNDS"]

#: a category with at most this many codes is split on as a set of codes (scikit-learn's limit: its
#: 255 bins); more, and its code (1 = the most frequent value, 2 the next …) is read as a number
MAX_SET_CODES = 255
#: boosting rounds (scikit-learn's default), at its default learning rate ...
TREE_ROUNDS = 100
LEARNING_RATE = 0.1
#: ... and the fewest a tight time budget cuts them to: the rounds first boosted, and timed, to see how
#: many fit; the learning rate is raised as rounds are cut (3 times at most)
MIN_TREE_ROUNDS = 10
#: rows × trees walked at once when predicting (memory: ~40 bytes each)
_CHUNK = 1 << 21
#: the arrays a Trees is made of, by name, as the model file holds them
_ARRAYS = ("feature", "threshold", "left", "right", "leaf", "value", "missing_left", "categorical", "bitset",
           "bitsets", "roots", "output", "baseline", "order", "code_map", "tree_bitsets")


def trees_available() -> bool:
    """Can trees be fitted here (scikit-learn installed)? Predicting never needs it."""
    try:
        import sklearn.ensemble  # noqa: F401
    except ImportError:
        return False
    return True


def _inputs(numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """The trees' input matrix: numeric inputs, then category codes, as float64 (scikit-learn's)."""
    return np.concatenate([np.asarray(numeric, np.float64), np.asarray(categorical, np.float64)], axis=1)


@dataclass(eq=False)
class Trees:
    """Fitted boosted trees as arrays: one row per node of every tree, trees one after another."""

    #: per node: the input it splits on, its threshold (numbers), where it sends rows, whether it is a
    #: leaf and its value (leaves), where blanks go, and for a split on a category set, its row in bitsets
    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    left: np.ndarray  # int64, node index (global)
    right: np.ndarray  # int64
    leaf: np.ndarray  # bool
    value: np.ndarray  # float64
    missing_left: np.ndarray  # bool
    categorical: np.ndarray  # bool
    bitset: np.ndarray  # int64, row of bitsets (category splits) or -1
    #: (splits, 8): bit c set = code c goes left; 8 × 32 bits hold codes 0–255
    bitsets: np.ndarray  # int64 (uint32 values)
    #: per tree: its root node, which output it adds to, and its first row of bitsets
    roots: np.ndarray  # int64
    output: np.ndarray  # int64
    tree_bitsets: np.ndarray  # int64
    #: the starting raw value of each output (before any tree)
    baseline: np.ndarray  # float64
    #: the trees' inputs: column ``order[i]`` of the encoded inputs is the trees' input i; the first
    #: ``len(code_map)`` are categories, whose code c is read as code_map[i, c] (-1: unknown → blank)
    order: np.ndarray  # int64
    code_map: np.ndarray  # int64 (set inputs, MAX_SET_CODES + 1)
    #: "identity" (regression: standardised numbers), "sigmoid" (two classes) or "softmax"
    link: str
    #: classification: the class indices the trees answer (columns of the full output), of n_classes
    classes: list[int]
    n_classes: int
    #: how many inputs the trees read (numeric inputs + categories), and which are category sets
    n_inputs: int
    set_inputs: list[bool]
    iterations: int

    # ---- fitting -----------------------------------------------------------------------------------
    @classmethod
    def from_estimator(cls, est, order: np.ndarray, code_map: np.ndarray, set_inputs: list[bool], task: str,
                       n_classes: int) -> Trees:
        """Read a fitted HistGradientBoosting estimator's trees into arrays (``order``, ``code_map``: how
        its inputs were arranged, see :func:`_arranged`)."""
        parts: dict[str, list] = {k: [] for k in ("feature", "threshold", "left", "right", "leaf", "value",
                                                  "missing_left", "categorical", "bitset", "bitsets")}
        roots, output, tree_bitsets = [], [], []
        offset = n_bitsets = 0
        for iteration in est._predictors:
            for k, predictor in enumerate(iteration):
                nodes = predictor.nodes
                parts["feature"].append(nodes["feature_idx"].astype(np.int64))
                parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
                parts["left"].append(nodes["left"].astype(np.int64) + offset)
                parts["right"].append(nodes["right"].astype(np.int64) + offset)
                parts["leaf"].append(nodes["is_leaf"].astype(bool))
                parts["value"].append(nodes["value"].astype(np.float64))
                parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
                cat = nodes["is_categorical"].astype(bool)
                parts["categorical"].append(cat)
                parts["bitset"].append(np.where(cat, nodes["bitset_idx"].astype(np.int64) + n_bitsets, -1))
                raw = np.asarray(predictor.raw_left_cat_bitsets, dtype=np.int64).reshape(-1, 8)
                parts["bitsets"].append(raw)
                roots.append(offset)
                output.append(k)
                tree_bitsets.append(n_bitsets)
                n_bitsets += len(raw)
                offset += len(nodes)
        arrays = {k: np.concatenate(v) for k, v in parts.items()}
        if task == "classification":
            classes = [int(c) for c in est.classes_]
            link = "sigmoid" if len(classes) == 2 else "softmax"
        else:
            classes, link = [], "identity"
        return cls(**arrays,  # each part already in its dtype
                   roots=np.asarray(roots, np.int64), output=np.asarray(output, np.int64),
                   tree_bitsets=np.asarray(tree_bitsets, np.int64),
                   baseline=np.asarray(est._baseline_prediction, np.float64).reshape(-1),
                   order=np.asarray(order, np.int64),
                   code_map=np.asarray(code_map, np.int64).reshape(-1, MAX_SET_CODES + 1),
                   link=link, classes=classes, n_classes=n_classes if task == "classification" else 0,
                   n_inputs=len(order), set_inputs=list(set_inputs), iterations=len(est._predictors))

    # ---- predicting --------------------------------------------------------------------------------
    def raw(self, X: np.ndarray) -> np.ndarray:
        """The summed tree values per output, (n, outputs), before the link: scikit-learn's compiled
        tree walk where scikit-learn is installed (tens of times faster: explaining asks the trees
        again for every column), else our own (:meth:`walk`), which gives the same answers."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        compiled = self._compiled()
        if compiled is None:
            return self.walk(X)
        predictors, known, f_idx_map = compiled
        out = np.tile(self.baseline, (len(X), 1))
        threads = _threads(len(X))
        if len(X):
            for k, predictor in zip(self.output, predictors):
                out[:, k] += predictor.predict(X, known, f_idx_map, threads)
        return out

    def _compiled(self):
        """scikit-learn's TreePredictor for each tree, built once from the arrays (None: no
        scikit-learn, or one whose predictor differs from what this was written for)."""
        cached = self.__dict__.get("_predictors", False)
        if cached is not False:
            return cached
        try:
            from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
            from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

            ends = np.append(self.roots[1:], len(self.feature))
            bit_ends = np.append(self.tree_bitsets[1:], len(self.bitsets))
            predictors = []
            for t, (start, end) in enumerate(zip(self.roots, ends)):
                nodes = np.zeros(end - start, dtype=PREDICTOR_RECORD_DTYPE)
                cat = self.categorical[start:end]
                nodes["value"] = self.value[start:end]
                nodes["feature_idx"] = self.feature[start:end]
                nodes["num_threshold"] = self.threshold[start:end]
                nodes["missing_go_to_left"] = self.missing_left[start:end]
                nodes["left"] = np.where(self.leaf[start:end], 0, self.left[start:end] - start)
                nodes["right"] = np.where(self.leaf[start:end], 0, self.right[start:end] - start)
                nodes["is_leaf"] = self.leaf[start:end]
                nodes["is_categorical"] = cat
                nodes["bitset_idx"] = np.where(cat, self.bitset[start:end] - self.tree_bitsets[t], 0)
                raw = np.ascontiguousarray(self.bitsets[self.tree_bitsets[t] : bit_ends[t]], dtype=np.uint32)
                predictors.append(TreePredictor(nodes, raw, raw))
            n_sets = len(self.code_map)
            known = np.full((max(n_sets, 1), 8), 0xFFFFFFFF, dtype=np.uint32)  # unknown codes are blank already
            f_idx_map = np.zeros(self.n_inputs, dtype=np.uint32)
            f_idx_map[:n_sets] = np.arange(n_sets, dtype=np.uint32)
            compiled = (predictors, known, f_idx_map)
            if len(self.roots):  # its answer on one row must be ours
                probe = np.repeat(np.arange(-3.0, 5.0)[:, None], self.n_inputs, axis=1)
                probe[:, :n_sets] = np.abs(probe[:, :n_sets])
                mine = self.walk(probe)
                theirs = np.tile(self.baseline, (len(probe), 1))
                for k, predictor in zip(self.output, predictors):
                    theirs[:, k] += predictor.predict(probe, known, f_idx_map, 1)
                if not np.allclose(mine, theirs, rtol=1e-9, atol=1e-9):
                    compiled = None
        except Exception:  # noqa: BLE001 — any scikit-learn that can't: our own walk answers
            compiled = None
        self.__dict__["_predictors"] = compiled
        return compiled

    def walk(self, X: np.ndarray) -> np.ndarray:
        """:meth:`raw` in numpy: every row down every tree at once, one level a step."""
        X = np.asarray(X, dtype=np.float64)
        n, n_trees = len(X), len(self.roots)
        n_out = len(self.baseline)
        out = np.tile(self.baseline, (n, 1))
        if n == 0 or n_trees == 0:
            return out
        to_output = np.zeros((n_trees, n_out))
        to_output[np.arange(n_trees), self.output] = 1.0
        step = max(1, _CHUNK // n_trees)
        for s in range(0, n, step):
            part = X[s : s + step]
            m = len(part)
            node = np.tile(self.roots, m)
            row = np.repeat(np.arange(m), n_trees)
            active = np.flatnonzero(~self.leaf[node])
            while len(active):
                nd, r = node[active], row[active]
                x = part[r, self.feature[nd]]
                blank = np.isnan(x)
                go_left = np.where(blank, self.missing_left[nd], x <= self.threshold[nd])
                on_set = np.flatnonzero(self.categorical[nd] & ~blank)
                if len(on_set):
                    code = np.clip(x[on_set], 0, MAX_SET_CODES).astype(np.int64)
                    word, bit = code >> 5, code & 31
                    go_left[on_set] = ((self.bitsets[self.bitset[nd[on_set]], word] >> bit) & 1) == 1
                node[active] = np.where(go_left, self.left[nd], self.right[nd])
                active = active[~self.leaf[node[active]]]
            out[s : s + step] += self.value[node].reshape(m, n_trees) @ to_output
        return out

    def predict(self, numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes), zero for classes the trees never saw, or standardised
        numbers (n,): the network's kind of answer, from the same encoded inputs."""
        raw = self.raw(_arranged(_inputs(numeric, categorical), self.order, self.code_map))
        if self.link == "identity":
            return raw[:, 0].astype(np.float32)
        out = np.zeros((len(raw), self.n_classes), dtype=np.float64)
        if self.link == "sigmoid":
            p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            out[:, self.classes[0]], out[:, self.classes[1]] = 1.0 - p, p
        else:
            z = np.exp(raw - raw.max(axis=1, keepdims=True))
            out[:, self.classes] = z / z.sum(axis=1, keepdims=True)
        return out.astype(np.float32)

    # ---- the model file ----------------------------------------------------------------------------
    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def config(self) -> dict:
        """What the model file's JSON says about the trees (their arrays are tensors)."""
        return {"link": self.link, "classes": self.classes, "n_classes": self.n_classes, "n_inputs": self.n_inputs,
                "set_inputs": self.set_inputs, "iterations": self.iterations}

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for name in _ARRAYS:
            a = getattr(self, name)
            out[name] = torch.from_numpy(np.ascontiguousarray(a.astype(np.uint8) if a.dtype == bool else a))
        return out

    @classmethod
    def from_file(cls, config: dict, tensors: dict[str, torch.Tensor]) -> Trees:
        arrays = {name: tensors[name].numpy() for name in _ARRAYS}
        for name in ("leaf", "missing_left", "categorical"):
            arrays[name] = arrays[name].astype(bool)
        return cls(**arrays, link=config["link"], classes=[int(c) for c in config["classes"]],
                   n_classes=int(config["n_classes"]), n_inputs=int(config["n_inputs"]),
                   set_inputs=[bool(b) for b in config["set_inputs"]], iterations=int(config["iterations"]))


#: rows from which the compiled walk splits its rows between the cores (each row's answer is the
#: same either way: rows are walked independently); below it a second thread costs more than it brings
THREADED_ROWS = 2_000
#: cores the compiled walk uses at most
MAX_PREDICT_THREADS = 4


def _threads(n_rows: int) -> int:
    """Threads for walking ``n_rows`` rows: explaining asks the trees about every row once per column,
    and while the trees answer, the network's threads are idle, so the other cores can share the rows."""
    return 1 if n_rows < THREADED_ROWS else max(1, min(available_cpus(), MAX_PREDICT_THREADS))


def _arranged(X: np.ndarray, order: np.ndarray, code_map: np.ndarray) -> np.ndarray:
    """The trees' inputs from the encoded ones: columns in ``order``, the first ``len(code_map)``
    (categories) renumbered by ``code_map``, codes it does not know made blank."""
    out = X[:, order]
    for i in range(len(code_map)):
        codes = out[:, i]
        seen = np.isfinite(codes) & (codes >= 0) & (codes <= MAX_SET_CODES)
        mapped = np.full(len(codes), -1, dtype=np.int64)
        mapped[seen] = code_map[i][codes[seen].astype(np.int64)]
        out[:, i] = np.where(mapped >= 0, mapped, np.nan)
    return out


def fit_trees(numeric: np.ndarray, categorical: np.ndarray, cardinalities: list[int], y: np.ndarray, task: str,
              n_classes: int, seed: int, seconds: float | None = None) -> Trees | None:
    """Boosted trees on a fold's encoded training rows, with scikit-learn's defaults (100 rounds of up
    to 31 leaves, learning rate 0.1; early stopping from 10,000 rows), in about ``seconds`` at most:
    the first MIN_TREE_ROUNDS rounds are timed, and only as many more boosted as fit, at a learning rate
    raised in proportion (at most 3 times). None where there is nothing to split on, a single class,
    or no scikit-learn."""
    X = _inputs(numeric, categorical)
    if X.shape[1] == 0 or len(X) < 2 or not trees_available():
        return None
    if task == "classification" and len(np.unique(y)) < 2:
        return None
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    n_num = numeric.shape[1]
    sets = [n_num + j for j, c in enumerate(cardinalities) if c <= MAX_SET_CODES]
    order = np.array(sets + [j for j in range(X.shape[1]) if j not in sets], dtype=np.int64)
    code_map = np.full((len(sets), MAX_SET_CODES + 1), -1, dtype=np.int64)
    for i, j in enumerate(sets):
        present = np.unique(X[:, j]).astype(np.int64)
        code_map[i, present] = np.arange(len(present))
    set_inputs = [True] * len(sets) + [False] * (len(order) - len(sets))
    kind = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    est = kind(categorical_features=np.array(set_inputs) if sets else None, random_state=seed,
               max_iter=MIN_TREE_ROUNDS, learning_rate=LEARNING_RATE, warm_start=True)
    X = _arranged(X, order, code_map)
    y = np.asarray(y)
    # one thread: its OpenMP threads wait on each other, and on a busy computer (or beside the
    # network's threads) two took 3-8 times as long as one on tables of 300-8,000 rows
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        start = time.monotonic()
        est.fit(X, y)
        first = time.monotonic() - start  # binning the rows included: an estimate on the safe side
        rounds = TREE_ROUNDS
        if seconds is not None and first > 0:
            rounds = int(min(TREE_ROUNDS, max(MIN_TREE_ROUNDS, seconds / (first / MIN_TREE_ROUNDS))))
        if rounds > est.n_iter_ and est.n_iter_ == MIN_TREE_ROUNDS:  # (early stopping may have ended it)
            est.set_params(max_iter=rounds, learning_rate=LEARNING_RATE * min(3.0, TREE_ROUNDS / rounds))
            est.fit(X, y)
    return Trees.from_estimator(est, order, code_map, set_inputs, task, n_classes)
