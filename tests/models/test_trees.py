"""The boosted trees beside the network: read out of scikit-learn's estimator into arrays, they must
answer exactly as the estimator does (categories split as sets, codes it never saw, blanks), by
scikit-learn's compiled walk and by our own, and again after a trip through a model file."""

import numpy as np
import pytest
from safetensors.torch import load_file, save_file
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from sheetdl.models.trees import MAX_SET_CODES, Trees, _arranged, _inputs, fit_trees


def _data(n: int = 1500, seed: int = 0):
    """Numbers, a 12-code category that matters (codes from 1: 0 is 'blank or rare') and a 400-code one
    (more than a set split can hold: read as a number)."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, 4)).astype(np.float32)
    categorical = np.c_[rng.integers(1, 12, size=n), rng.integers(0, 400, size=n)]
    signal = numeric[:, 0] + (categorical[:, 0] % 3) + 0.5 * rng.normal(size=n)
    return numeric, categorical, signal


def _reference(kind, numeric, categorical, y, numeric_test, categorical_test, task):
    """scikit-learn's own answer, its categories given as categorical features in their own places."""
    mask = np.array([False] * numeric.shape[1] + [True, False])
    est = kind(categorical_features=mask, random_state=0).fit(_inputs(numeric, categorical), y)
    X = _inputs(numeric_test, categorical_test)
    return est.predict_proba(X) if task == "classification" else est.predict(X)


CASES = [
    ("three classes", "classification", 3, HistGradientBoostingClassifier),
    ("two classes", "classification", 2, HistGradientBoostingClassifier),
    ("a number", "regression", 0, HistGradientBoostingRegressor),
]


def _target(signal, task, k):
    if task == "regression":
        return signal
    return np.digitize(signal, np.quantile(signal, np.linspace(0, 1, k + 1)[1:-1]))


@pytest.mark.parametrize("name,task,k,kind", CASES, ids=[c[0] for c in CASES])
def test_trees_answer_as_scikit_learn_does_with_both_walks(name, task, k, kind):
    numeric, categorical, signal = _data()
    y = _target(signal, task, k)
    train, test = slice(0, 1000), slice(1000, None)
    trees = fit_trees(numeric[train], categorical[train], [12, 400], y[train], task, k, seed=0)
    assert trees is not None and trees.set_inputs[:1] == [True] and not trees.set_inputs[1]
    cat_test = categorical[test].copy()
    cat_test[:40, 0] = 0  # a code no training row had: goes where blanks go, as in scikit-learn
    want = _reference(kind, numeric[train], categorical[train], y[train], numeric[test], cat_test, task)
    got = trees.predict(numeric[test], cat_test)
    assert trees._compiled() is not None  # scikit-learn's compiled walk was used
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    trees.__dict__["_predictors"] = None  # our own walk, as without scikit-learn
    np.testing.assert_allclose(trees.predict(numeric[test], cat_test), want, rtol=0, atol=1e-6)
    if task == "classification":  # and the trees learned something: not a constant answer
        assert (got.argmax(1) == y[test]).mean() > 0.6


def test_blank_numbers_go_where_the_split_sends_blanks():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(800, 2))
    X[rng.random(800) < 0.3, 0] = np.nan
    y = np.where(np.isnan(X[:, 0]), 5.0, X[:, 1])
    est = HistGradientBoostingRegressor(random_state=0).fit(X, y)
    trees = Trees.from_estimator(est, np.arange(2), np.zeros((0, MAX_SET_CODES + 1), np.int64), [False, False],
                                 "regression", 0)
    np.testing.assert_allclose(trees.walk(X)[:, 0], est.predict(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(trees.raw(X)[:, 0], est.predict(X), rtol=0, atol=1e-9)


def test_trees_survive_a_model_file(tmp_path):
    numeric, categorical, signal = _data(seed=2)
    y = _target(signal, "classification", 3)
    trees = fit_trees(numeric, categorical, [12, 400], y, "classification", 3, seed=0)
    before = trees.predict(numeric, categorical)
    save_file(trees.tensors(), tmp_path / "t.safetensors")
    again = Trees.from_file(trees.config(), load_file(tmp_path / "t.safetensors"))
    np.testing.assert_array_equal(again.predict(numeric, categorical), before)


def test_a_class_missing_from_the_training_rows_gets_no_probability():
    numeric, categorical, signal = _data(seed=3)
    y = _target(signal, "classification", 3)
    y[y == 1] = 3  # classes 0, 2, 3 of 4: class 1 never seen
    trees = fit_trees(numeric, categorical, [12, 400], y, "classification", 4, seed=0)
    p = trees.predict(numeric, categorical)
    assert p.shape == (len(y), 4) and np.all(p[:, 1] == 0)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    assert (p.argmax(1) == y).mean() > 0.6


def test_no_trees_where_there_is_nothing_to_learn():
    numeric, categorical, _ = _data(n=50)
    assert fit_trees(numeric, categorical, [12, 400], np.zeros(50, int), "classification", 2, seed=0) is None
    assert fit_trees(np.zeros((50, 0), np.float32), np.zeros((50, 0), np.int64), [], np.arange(50) % 2,
                     "classification", 2, seed=0) is None


def test_arranging_puts_set_categories_first_and_blanks_unknown_codes():
    X = np.array([[0.5, 3.0, 7.0], [1.5, 9.0, 2.0]])
    code_map = np.full((1, MAX_SET_CODES + 1), -1)
    code_map[0, 3] = 0  # code 3 seen in training (→ 0); code 9 never
    out = _arranged(X, np.array([1, 0, 2]), code_map)
    np.testing.assert_array_equal(out[0], [0.0, 0.5, 7.0])
    assert np.isnan(out[1, 0]) and list(out[1, 1:]) == [1.5, 2.0]


def test_many_rows_are_walked_on_several_cores_with_the_same_answers(monkeypatch):
    """From THREADED_ROWS rows the compiled walk splits the rows between cores; every row's answer
    stays what one core (and our own walk) gives."""
    import sheetdl.models.trees as trees_module

    numeric, categorical, signal = _data(n=1000 + 2 * trees_module.THREADED_ROWS)
    y = _target(signal, "classification", 3)
    trees = fit_trees(numeric[:1000], categorical[:1000], [12, 400], y[:1000], "classification", 3, seed=0)
    X = _arranged(_inputs(numeric[1000:], categorical[1000:]), trees.order, trees.code_map)
    monkeypatch.setattr(trees_module, "available_cpus", lambda: 2)
    assert trees_module._threads(len(X)) == 2 and trees_module._threads(10) == 1
    spread = trees.raw(X)
    monkeypatch.setattr(trees_module, "available_cpus", lambda: 1)
    np.testing.assert_array_equal(spread, trees.raw(X))
    np.testing.assert_allclose(spread, trees.walk(X), rtol=0, atol=1e-9)
