"""The engine through the Python API: fit, predict, importance, save/load, folds, cancel."""

import numpy as np
import pandas as pd
import pytest

import sheetdl
from sheetdl.training import make_folds


def test_folds_are_stratified_and_survive_a_one_row_class():
    y = np.array([0] * 50 + [1] * 10 + [2])
    folds = make_folds(y, len(y), 5, seed=0)
    for f in range(5):
        assert (y[folds == f] == 1).sum() == 2  # 10 rows of class 1 spread evenly
    assert set(np.bincount(folds)) <= {12, 13}
    assert (folds[y == 2]).size == 1


@pytest.fixture(scope="module")
def penguin_model(penguins_df):
    df = penguins_df.copy()
    # 10 s: 8 members instead of 32, and still 99.4 % right held out (the checks below ask for 90 %),
    # the top column's importance 0.30 (asked: > 0.05)
    return sheetdl.fit(df, target="species", time_budget=10, seed=0), df


def test_fit_predict_on_real_data(penguin_model):
    model, df = penguin_model
    pred = model.predict(df.drop(columns=["species"]))
    assert set(pred) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert (pred == df["species"]).mean() > 0.9
    proba = model.predict_proba(df)
    assert list(proba.columns) == ["Adelie", "Chinstrap", "Gentoo"]
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert model.metrics["accuracy"] > 0.9  # held-out, cross-fitted
    assert model.metrics["accuracy"] > model.baseline["accuracy"] + 0.3


def test_importance_names_each_input_column_once(penguin_model):
    model, df = penguin_model
    imp = model.importance()
    assert sorted(imp["column"]) == sorted(c for c in df.columns if c != "species")
    assert imp["importance"].is_monotonic_decreasing
    assert imp["importance"].iloc[0] > 0.05


def test_save_load_predict_identical(penguin_model, tmp_path):
    model, df = penguin_model
    path = tmp_path / "penguins.sheetdl"
    model.save(path)
    again = sheetdl.load(path)
    a, b = model.predict_proba(df), again.predict_proba(df)
    assert list(again.predict(df)) == list(model.predict(df))
    # equal up to float rounding (sums reduced in another order on another CPU); a wrong weight is far off
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=0, atol=1e-5)
    assert again.classes == model.classes
    assert path.read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle


def test_predicting_with_a_saved_model_never_imports_lightning(penguin_model, tmp_path):
    """Lightning takes seconds to import and only training needs it: `sheetdl predict` and a loaded
    model in the add-in's server start without it."""
    import subprocess
    import sys

    model, df = penguin_model
    model.save(tmp_path / "penguins.sheetdl")
    df.to_csv(tmp_path / "rows.csv", index=False)
    code = ("import sys, pandas as pd, sheetdl; "
            f"m = sheetdl.load({str(tmp_path / 'penguins.sheetdl')!r}); "
            f"print(len(m.predict(pd.read_csv({str(tmp_path / 'rows.csv')!r})))); "
            "print(sorted(n for n in sys.modules if n.split('.')[0] in ('lightning', 'pytorch_lightning')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == str(len(df)) and out[1] == "[]"


def test_damaged_model_file_is_refused_in_words(penguin_model, tmp_path):
    model, _ = penguin_model
    path = tmp_path / "m.sheetdl"
    model.save(path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # flip a weight byte
    path.write_bytes(bytes(data))
    with pytest.raises(sheetdl.ModelFileError, match="damaged"):
        sheetdl.load(path)
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(sheetdl.ModelFileError, match="damaged"):
        sheetdl.load(path)


def test_numeric_labels_round_trip_as_numbers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    df = pd.DataFrame({"x": x, "noise": rng.normal(size=200), "y": (x > 0).astype(int)})
    model = sheetdl.fit(df, target="y", time_budget=10)  # an easy signal: 8 members learn it
    pred = model.predict(df)
    assert all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pred)
    assert (pred.astype(int) == df["y"]).mean() > 0.85


def test_regression_learns_a_signal():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=400)
    df = pd.DataFrame({"x": x, "c": rng.choice(["a", "b"], size=400)})
    df["y"] = 3 * x + np.where(df["c"] == "a", 5.0, -5.0) + rng.normal(scale=0.3, size=400)
    model = sheetdl.fit(df, target="y", time_budget=10)  # R² ~0.996 with 8 members as with 32
    assert model.task == "regression"
    assert model.metrics["r2"] > 0.9
    assert model.metrics["rmse"] < model.baseline["rmse"] / 3


def test_cancel_stops_training_with_our_error():
    from sheetdl.engine import train_table
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import Table
    from sheetdl.training import FitOptions

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.normal(size=300), "t": rng.choice(["x", "y"], size=300)})
    table = Table.from_dataframe(df)
    schema = infer_schema(table, target="t")
    seen = []
    opts = FitOptions(time_budget=30, progress=seen.append, cancel=lambda: len(seen) >= 2)
    with pytest.raises(sheetdl.Cancelled):
        train_table(table, schema, opts)
    assert len(seen) == 2


def test_a_class_with_one_row_and_no_blank_targets():
    """Cross-fitting survives a class too small for every fold; with no blank target cells every
    labelled row still gets an out-of-fold prediction."""
    from sheetdl.engine import train_table
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import Table
    from sheetdl.training import FitOptions

    rng = np.random.default_rng(4)
    a = rng.normal(size=150)
    labels = np.where(a > 0, "up", "down").astype(object)
    labels[7] = "rare"
    df = pd.DataFrame({"a": a, "b": rng.normal(size=150), "label": labels})
    table = Table.from_dataframe(df)
    schema = infer_schema(table, target="label")
    model, res = train_table(table, schema, FitOptions(time_budget=10), reasons=True)
    assert res.labelled.all()
    assert len(res.prediction) == 150 and all(p in ("up", "down", "rare") for p in res.prediction)
    assert res.confusion.shape == (3, 3) and res.confusion.sum() == 150
    assert res.metrics["accuracy"] > 0.8
    assert len(res.reasons) == 150 and "a = " in res.reasons[0]


def _small_table():
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import Table

    rng = np.random.default_rng(5)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["x", "y"], size=200)})
    df["t"] = np.where(df["a"] > 0, "hi", "lo")
    table = Table.from_dataframe(df)
    return table, infer_schema(table, target="t")


def test_nan_loss_retries_with_a_smaller_learning_rate_then_fails_in_words(monkeypatch):
    import math

    from sheetdl.engine import train_table
    from sheetdl.models import module
    from sheetdl.training import FitOptions

    table, schema = _small_table()
    real = module.TabularModule._loss
    lrs = []

    def unstable(self, out, y, *, smoothing):
        lrs.append(self.lr)
        loss = real(self, out, y, smoothing=smoothing)
        return loss * math.nan if self.lr > 1e-4 else loss  # diverges at the default rate only

    monkeypatch.setattr(module.TabularModule, "_loss", unstable)
    # 8 s: at the small rate the budget, not early stopping, ends training; 20 s (~100 epochs a fold)
    # bought nothing the checks need, and 5 s (~35 epochs) is still 97 % right
    model, res = train_table(table, schema, FitOptions(time_budget=8), reasons=False)
    assert min(lrs) == pytest.approx(1e-4)
    assert any("smaller learning rate" in n for n in res.notes)
    assert res.metrics["accuracy"] > 0.8

    monkeypatch.setattr(module.TabularModule, "_loss", lambda self, out, y, *, smoothing: real(
        self, out, y, smoothing=smoothing) * math.nan)
    with pytest.raises(sheetdl.DataError, match="kept failing"):
        train_table(table, schema, FitOptions(time_budget=20), reasons=False)


def test_gpu_out_of_memory_falls_back_to_smaller_batches_then_cpu(monkeypatch):
    import torch

    from sheetdl import training
    from sheetdl.engine import train_table
    from sheetdl.training import fit

    table, schema = _small_table()
    seen = []
    real_fit = fit._fit_fold

    def fake_gpu(net, **kw):
        seen.append((kw["device"].type, kw["batch_size"]))
        if kw["device"].type == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real_fit(net, **kw)

    monkeypatch.setattr(fit, "choose_device", lambda setting: ("gpu", torch.device("cuda"), "GPU (test)"))
    monkeypatch.setattr(fit, "_fit_fold", fake_gpu)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(fit, "batch_size", lambda n: 128)
    model, res = train_table(table, schema, training.FitOptions(time_budget=10), reasons=False)
    assert seen[:4] == [("cuda", 128), ("cuda", 64), ("cuda", 32), ("cpu", 32)]  # first fold
    assert all(d == "cpu" for d, _ in seen[4:])  # later folds don't try the GPU again
    assert any("smaller batches" in n for n in res.notes) and any("on the CPU instead" in n for n in res.notes)
    assert "GPU ran out of memory" in res.run_info["Device"]
    assert res.metrics["accuracy"] > 0.8


def test_a_model_file_from_the_first_format_still_loads_and_predicts_the_same(tmp_path):
    """Format 1 (before TabM and PLR) stored one plain linear head as head.weight / head.bias and a net
    config without 'ensemble', 'continuous' or 'number_embedding'. Such files must keep working."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from sheetdl.engine.store import digest

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], 120),
                       "size": rng.choice(["S", "M", "L"], 120)})
    df["label"] = np.where(df["colour"] == "red", "hot", "cold")
    model = sheetdl.fit(df, target="label", time_budget=0.05)  # a tiny budget: one member, like format 1
    assert all(m.net.k == 1 for m in model.members)
    new = tmp_path / "new.sheetdl"
    model.save(new)

    tensors = load_file(str(new))
    with safe_open(str(new), framework="pt") as fh:
        d = json.loads(fh.metadata()["sheetdl"])
    old_tensors = {}
    for name, t in tensors.items():
        member, _, rest = name.partition(".")
        if rest == "head_weight":
            old_tensors[f"{member}.head.weight"] = t[0].T.contiguous()
        elif rest == "head_bias":
            old_tensors[f"{member}.head.bias"] = t[0].contiguous()
        else:
            old_tensors[name] = t
    for md in d["members"]:
        for key in ("ensemble", "continuous", "number_embedding", "image_inputs"):
            md["net"].pop(key, None)
    d["format_version"] = 1
    d.pop("calibration", None)
    description = json.dumps(d)
    old = tmp_path / "old.sheetdl"
    save_file(old_tensors, str(old), metadata={"sheetdl": description, "sha256": digest(description, old_tensors)})

    again = sheetdl.load(old)
    a = model.predict_proba(df).to_numpy()
    b = again.predict_proba(df).to_numpy()
    # the old file has no calibration: probabilities differ by the temperature only, choices not at all
    assert list(again.predict(df)) == list(model.predict(df))
    assert np.allclose(b.sum(1), 1) and (a.argmax(1) == b.argmax(1)).all()


def test_a_model_file_gets_the_permissions_of_a_normal_save(penguin_model, tmp_path):
    import os
    import stat

    model, _ = penguin_model
    path = tmp_path / "m.sheetdl"
    model.save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600


class _OneNumberEncoder:
    def slices(self):
        return {"a": ("numeric", [0])}

    def transform(self, frame):
        from sheetdl.encode import EncodedTable

        n = len(frame)
        return EncodedTable(frame[["a"]].to_numpy(np.float32), np.zeros((n, 0), np.int64),
                            np.zeros((n, 0, 1), np.int64))


class _SlopeMember:
    """A fake fold model: P(class 1) = sigmoid(slope × a)."""

    def __init__(self, slope):
        self.slope, self.encoder = slope, _OneNumberEncoder()


def _mean_probability(members, encs):
    p1 = np.mean([1 / (1 + np.exp(-m.slope * e.numeric[:, 0])) for m, e in zip(members, encs)], axis=0)
    return np.stack([1 - p1, p1], axis=1)


def test_each_row_is_explained_by_the_members_whose_answer_it_shows():
    """Reasons for a labelled row come from the fold model that gave its held-out answer, not from
    the average of models that trained on it; rows without groups are explained by every member."""
    from sheetdl.engine.explain import row_reasons

    frame = pd.DataFrame({"a": [1.0, 1.0, 1.0]})
    steep, gentle = _SlopeMember(4.0), _SlopeMember(1.0)
    chosen = np.array([1, 1, 1])
    groups = [(np.array([0]), [steep]), (np.array([1]), [gentle]), (np.array([2]), [steep, gentle])]
    by_group = row_reasons([steep, gentle], frame, frame, "classification", _mean_probability, chosen, groups=groups)
    # sigmoid(4) − ½ = 48 points, sigmoid(1) − ½ = 23, their mean 36
    assert by_group == ["a = 1 (+48%)", "a = 1 (+23%)", "a = 1 (+36%)"]
    assert row_reasons([steep, gentle], frame, frame, "classification", _mean_probability, chosen) == ["a = 1 (+36%)"] * 3


def test_training_explains_labelled_rows_with_their_own_fold_model(monkeypatch):
    from sheetdl.engine import explain, train_table
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import Table
    from sheetdl.training import FitOptions

    rng = np.random.default_rng(6)
    df = pd.DataFrame({"a": rng.normal(size=160), "b": rng.normal(size=160)})
    df["t"] = np.where(df["a"] > 0, "hi", "lo").astype(object)
    df.loc[150:, "t"] = None  # ten rows to fill in
    table = Table.from_dataframe(df)
    schema = infer_schema(table, target="t")
    calls = []
    real = explain._effects

    def spy(members, frame, *rest):
        calls.append((len(frame), tuple(id(m) for m in members)))
        return real(members, frame, *rest)

    monkeypatch.setattr(explain, "_effects", spy)
    model, res = train_table(table, schema, FitOptions(time_budget=10), reasons=True)  # which model explains
    k = len(model.members)
    assert k > 1
    ids = [id(m) for m in model.members]
    assert [c[1] for c in calls[:k]] == [(i,) for i in ids]  # each fold's held-out rows, by that fold's model
    assert sum(c[0] for c in calls[:k]) == 150
    assert calls[k] == (10, tuple(ids))  # the rows to fill in, by every fold model
    assert len(res.reasons) == 160 and all(r for r in res.reasons)


class _TwoNumberEncoder(_OneNumberEncoder):
    def slices(self):
        return {"a": ("numeric", [0]), "b": ("numeric", [1])}

    def transform(self, frame):
        from sheetdl.encode import EncodedTable

        n = len(frame)
        return EncodedTable(frame[["a", "b"]].to_numpy(np.float32), np.zeros((n, 0), np.int64),
                            np.zeros((n, 0, 1), np.int64))


class _SumMember:
    """A fake model: P(class 1) = sigmoid(10 a + 10 b): either column alone makes it 99.995 % sure."""

    encoder = _TwoNumberEncoder()


def _sum_probability(members, encs):
    p1 = np.mean([1 / (1 + np.exp(-10 * (e.numeric[:, 0] + e.numeric[:, 1]))) for e in encs], axis=0)
    return np.stack([1 - p1, p1], axis=1)


def test_a_sure_answer_names_the_columns_that_agree_on_it():
    """Making one column typical hardly moves a sure answer that two columns back; they are named
    together rather than 'no single column stands out'. One column alone keeps its percentage."""
    from sheetdl.engine.explain import row_reasons

    frame = pd.DataFrame({"a": [1.0, 1.0, 0.0], "b": [1.0, 0.0, 0.0]})
    reasons = row_reasons([_SumMember()], frame, frame, "classification", _sum_probability, np.array([1, 1, 1]))
    assert reasons[0] == "a = 1 and b = 1 both point to this answer; no single column decides"
    assert reasons[1] == "a = 1 (+50%)"
    assert reasons[2] == "no single column stands out"


@pytest.mark.parametrize("rows, shuffles", [(200, 3), (4_000, 2), (8_000, 1)])
def test_permutation_repeats_shrink_as_folds_grow(rows, shuffles):
    """Each column is shuffled about PERMUTED_ROWS times a fold (3 repeats at most, 1 at least), and
    the column that decides the answer still comes out on top."""
    from sheetdl.engine.explain import permutation_importance

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    y = (frame["a"] > 0).to_numpy().astype(int)
    member = _SumMember()
    member.net = "net"
    calls = []

    def predict(member, enc):
        calls.append(len(enc))
        p1 = 1 / (1 + np.exp(-10 * enc.numeric[:, 0]))
        return np.stack([1 - p1, p1], axis=1)

    folds = np.arange(rows) % 2
    out = permutation_importance([member, member], frame, y, np.arange(rows), folds, "classification", predict)
    assert len(calls) == 2 * (1 + 2 * shuffles)  # per fold: the base answer, then each column's shuffles
    assert [i.column for i in out] == ["a", "b"] and out[0].drop > 0.3 and out[1].drop == 0


def test_values_in_reasons_are_written_as_a_person_reads_them():
    from sheetdl.engine.explain import _show

    assert [_show(v) for v in (2009.0, 3750.0, 39.1, 12.3456, 250000.0, 123456.7, -5.0, float("nan"))] == [
        "2009", "3750", "39.1", "12.35", "250,000", "123,457", "-5", "(blank)"]
