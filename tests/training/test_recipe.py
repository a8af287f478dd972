"""The accuracy recipe: TabM members over piecewise-linear number embeddings, the size rules, calibration, intervals."""

import numpy as np
import pandas as pd
import pytest
import torch

import sheetdl
from sheetdl.engine import evaluate
from sheetdl.models.tabular import PeriodicEmbeddings, PiecewiseLinearEmbeddings, TabularNet, quantile_edges
from sheetdl.training import choose_ensemble, choose_shape, forward_macs
from sheetdl.training.callbacks import RestoreBest
from sheetdl.training.options import LARGE_TABLE_ROWS
from sheetdl.training.plan import LARGE_REGRESSION_MEMBERS


def _net(k: int, n_outputs: int = 3) -> TabularNet:
    torch.manual_seed(0)
    return TabularNet(n_numeric=4, cardinalities=[5], vocab_sizes=[], n_outputs=n_outputs,
                      continuous=[True, True, False, True], ensemble=k)


def _same_probabilities(a, b, df) -> None:
    """Two models that should answer alike: equal probabilities up to float rounding (a sum reduced in
    another order on another CPU moves them ~1e-7); a wrong or lost weight moves them far more than 1e-5."""
    np.testing.assert_allclose(a.predict_proba(df).to_numpy(), b.predict_proba(df).to_numpy(), rtol=0, atol=1e-5)


def test_tabm_members_predict_as_one():
    net = _net(4).eval()
    num, cat, txt = torch.randn(7, 4), torch.randint(0, 5, (7, 1)), torch.zeros(7, 0, 32, dtype=torch.long)
    each = net.members(num, cat, txt)
    assert each.shape == (7, 4, 3)
    mean_prob = torch.softmax(each, -1).mean(1)
    assert torch.allclose(torch.softmax(net(num, cat, txt), 1), mean_prob, atol=1e-6)
    # members differ (their own input scaling and heads) but share the trunk
    assert not torch.allclose(each[:, 0], each[:, 1])
    assert sum(p.numel() for p in net.trunk.parameters()) == sum(p.numel() for p in _net(1).trunk.parameters())


def test_one_member_is_a_plain_mlp_and_regression_averages():
    net = _net(1, n_outputs=1).eval()
    num, cat, txt = torch.randn(5, 4), torch.randint(0, 5, (5, 1)), torch.zeros(5, 0, 32, dtype=torch.long)
    assert torch.equal(net(num, cat, txt), net.members(num, cat, txt)[:, 0])
    net4 = _net(4, n_outputs=1).eval()
    assert torch.allclose(net4(num, cat, txt), net4.members(num, cat, txt).mean(1), atol=1e-6)


def test_piecewise_linear_encoding_fills_the_bins_below_a_number():
    ple = PiecewiseLinearEmbeddings(2, n_bins=4)
    ple.set_bins([[0.0, 1.0, 2.0, 4.0], [0.0, 1.0]])  # the second column: one bin, three empty ones
    x = torch.tensor([[-1.0, -1.0], [0.5, 0.5], [3.0, 3.0], [6.0, 0.0]])
    z = ple.encode(x)
    # the first bin is open below, the last real bin open above: the encoding extends linearly
    assert torch.allclose(z[:, 0], torch.tensor([[-1.0, 0, 0, 0], [0.5, 0, 0, 0], [1, 1, 0.5, 0], [1, 1, 2, 0]]))
    assert torch.allclose(z[:, 1], torch.tensor([[-1.0, 0, 0, 0], [0.5, 0, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0]]))
    # the bins' weights start at zero: a fresh embedding is linear in x, training bends it
    assert ple(x).shape == (4, 2 * 8)
    assert torch.allclose(ple(x).view(4, 2, 8), x[..., None] * ple.linear_weight + ple.linear_bias)


def test_additive_path_starts_at_zero_and_learns_what_is_linear():
    torch.manual_seed(0)
    net = TabularNet(n_numeric=2, cardinalities=[4], vocab_sizes=[], n_outputs=2, continuous=[True, True],
                     ensemble=4, number_bins=8, additive=True).eval()
    num, cat, txt = torch.randn(6, 2), torch.randint(0, 4, (6, 1)), torch.zeros(6, 0, 32, dtype=torch.long)
    with_path = net.members(num, cat, txt)
    path, net.additive = net.additive, None
    without = net.members(num, cat, txt)
    assert torch.equal(with_path, without)  # it starts at zero: the MLP's start is unchanged
    # one linear map from the inputs, shared by the members: it adds the same to each member's output
    net.additive = path
    with torch.no_grad():
        path.bias.copy_(torch.tensor([1.0, -1.0]))
    shift = net.members(num, cat, txt) - without
    assert torch.allclose(shift, torch.tensor([1.0, -1.0]).expand(6, 4, 2), atol=1e-6)

    # trained on a linear boundary, the path carries part of the answer
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    df["y"] = np.where(df["a"] + 0.5 * df["b"] > 0, "up", "down")
    model = sheetdl.fit(df, target="y", time_budget=6)
    path = model.members[0].net.additive
    assert path is not None and float(path.weight.abs().sum()) > 0.1
    from sheetdl.engine import network_words

    assert network_words(model.members[0].net).endswith(", plus an additive model of the columns")
    assert model.metrics["accuracy"] > 0.93


def test_piecewise_linear_forward_is_the_encoding_times_the_bin_weights():
    """forward looks up each number's bin instead of building the (rows, numbers, bins) encoding;
    values and the weights' gradients must be those of the encoding, beyond the bins at both ends."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.normal(size=2000), rng.integers(0, 3, 2000), rng.exponential(size=2000)])
    ple = PiecewiseLinearEmbeddings(3, n_bins=16)
    ple.set_bins(quantile_edges(values, 16))
    ple.double()
    with torch.no_grad():
        ple.weight.normal_()
    x = torch.tensor(np.vstack([values[:500], [[-9.0, -4.0, -2.0], [9.0, 5.0, 40.0], [0.0, 1.0, 0.5]]]))

    def reference(x):
        out = torch.einsum("bnt,ntd->bnd", ple.encode(x), ple.weight)
        return (out + x[..., None] * ple.linear_weight + ple.linear_bias).flatten(1)

    assert torch.allclose(ple(x), reference(x), atol=1e-10)
    fast = torch.autograd.grad((ple(x) ** 2).sum(), [ple.weight, ple.linear_weight])
    slow = torch.autograd.grad((reference(x) ** 2).sum(), [ple.weight, ple.linear_weight])
    assert all(torch.allclose(a, b, atol=1e-8) for a, b in zip(fast, slow))


def test_bins_are_quantiles_and_few_values_get_few_bins():
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.normal(size=1000), rng.integers(0, 3, 1000), np.full(1000, 7.0)])
    edges = quantile_edges(values)
    assert len(edges[0]) == 49 and edges[0] == sorted(edges[0]) and edges[0][0] == values[:, 0].min()
    assert edges[1][0] == 0.0 and edges[1][-1] == 2.0 and len(edges[1]) < 49 and 1.0 in edges[1]
    assert edges[2] == [6.5, 7.5]  # one value: one bin around it


def test_models_embed_numbers_piecewise_linearly_and_old_periodic_models_still_load(tmp_path, monkeypatch):
    import json

    from safetensors import safe_open

    from sheetdl.encode import tabular as encode
    from sheetdl.training import fit as training

    # the networks' own formats (3 to 7): trees beside them make a model format 9 (tests/engine/test_blend.py)
    monkeypatch.setattr(training, "TREES", False)

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"calls": rng.integers(0, 10, 300).astype(float), "minutes": rng.gamma(2, 50, 300)})
    df["churn"] = np.where(df["calls"] >= 4, "yes", "no")  # a threshold, what the bins are for
    model = sheetdl.fit(df, target="churn", time_budget=6)
    net = model.members[0].net
    assert isinstance(net.plr, PiecewiseLinearEmbeddings) and net.config["number_bins"] == 48
    # the bins come from the fold's training rows: calls has ten values, so far fewer than 48 bins
    edges = net.plr.edges[0]
    real = int((edges[1:] > edges[:-1]).sum())
    assert 9 <= real < 48 and bool((edges[1:] >= edges[:-1]).all())
    assert model.metrics["accuracy"] > 0.95
    path = tmp_path / "ple.sheetdl"
    model.save(path)
    with safe_open(str(path), framework="pt") as fh:
        assert json.loads(fh.metadata()["sheetdl"])["format_version"] == 7  # numbers clipped at 10
    again = sheetdl.load(path)
    assert list(again.predict(df)) == list(model.predict(df))
    _same_probabilities(again, model, df)
    assert again.members[0].net.additive is not None

    # numbers clipped as before 24 Nov 2026 (at 3): the model needs no newer format than its network
    # the older formats below: 1 s each, since what is checked is the network's make-up, the format
    # number and that a loaded model predicts the same (the same networks come out as at 3 s)
    monkeypatch.setattr(encode, "SOFT_CLIP", encode.SOFT_CLIP_BEFORE)
    clipped = sheetdl.fit(df, target="churn", time_budget=1)
    clipped.save(tmp_path / "ple6.sheetdl")
    with safe_open(str(tmp_path / "ple6.sheetdl"), framework="pt") as fh:
        assert json.loads(fh.metadata()["sheetdl"])["format_version"] == 6  # with the additive path

    # a model saved before the additive path (format 5) loads and predicts without one
    monkeypatch.setattr(training, "ADDITIVE", False)
    plain = sheetdl.fit(df, target="churn", time_budget=1)
    assert plain.members[0].net.additive is None and "additive" not in plain.members[0].net.config
    path = tmp_path / "ple5.sheetdl"
    plain.save(path)
    with safe_open(str(path), framework="pt") as fh:
        assert json.loads(fh.metadata()["sheetdl"])["format_version"] == 5
    assert list(sheetdl.load(path).predict(df)) == list(plain.predict(df))
    _same_probabilities(sheetdl.load(path), plain, df)

    # a model saved before PLE (periodic embeddings, format 3) loads and predicts as it did
    monkeypatch.setattr(training, "N_BINS", 0)
    old = sheetdl.fit(df, target="churn", time_budget=1)
    assert isinstance(old.members[0].net.plr, PeriodicEmbeddings) and "number_bins" not in old.members[0].net.config
    path = tmp_path / "plr.sheetdl"
    old.save(path)
    with safe_open(str(path), framework="pt") as fh:
        assert json.loads(fh.metadata()["sheetdl"])["format_version"] == 3
    assert list(sheetdl.load(path).predict(df)) == list(old.predict(df))
    _same_probabilities(sheetdl.load(path), old, df)


def test_ensemble_size_shrinks_with_data_and_grows_on_a_gpu():
    def k_for(n_fit, device="cpu", budget=60.0):
        return choose_ensemble(n_fit=n_fit, n_folds=3, time_budget=budget, device=torch.device(device),
                               macs=lambda m: forward_macs(20, [True] * 15 + [False] * 5, 16, 2, m))

    sizes = [k_for(n) for n in (300, 3_000, 30_000, 300_000)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 1 and sizes[-1] == 1
    assert k_for(30_000, "cuda") >= k_for(30_000)
    assert k_for(3_000, budget=600) >= k_for(3_000)


def test_large_regression_tables_get_one_member():
    def shape(n_fit, regression):
        return choose_shape(n_fit=n_fit, n_folds=5, time_budget=600, device=torch.device("cuda"),
                            regression=regression, macs=lambda m, p: forward_macs(6, [True] * 6, 10, 1, m, plr=p))

    # a GPU could afford 32 members on either; numbers of a large table get one (see LARGE_REGRESSION_MEMBERS)
    assert shape(LARGE_TABLE_ROWS * 3, regression=False) == (32, True)
    assert shape(LARGE_TABLE_ROWS * 3, regression=True) == (LARGE_REGRESSION_MEMBERS, True)
    assert shape(LARGE_TABLE_ROWS // 2, regression=True) == (32, True)


def test_embeddings_stay_while_one_member_with_them_fits_the_plan():
    """A table like TV16 (20k training rows, 14 measured numbers, 15 flags) gets a small ensemble with
    number embeddings; a larger one, one member with them while that fits the plan, though they cost
    more than PLR_AFFORDABLE × a plain MLP; beyond that (or on a short budget), and on a million rows of
    50 numbers, a plain MLP."""
    def shape(n_fit, n_numeric, n_continuous, budget=60.0):
        continuous = [True] * n_continuous + [False] * (n_numeric - n_continuous)
        return choose_shape(n_fit=n_fit, n_folds=3 if n_fit < 50_000 else 2, time_budget=budget,
                            device=torch.device("cpu"),
                            macs=lambda m, p: forward_macs(n_numeric, continuous, 10, 2, m, plr=p))

    macs = [forward_macs(29, [True] * 14 + [False] * 15, 10, 2, 1, plr=p) for p in (True, False)]
    assert macs[0] > 1.5 * macs[1]  # dearer than the cost rule alone allows
    assert shape(20_500, 29, 14) == (2, True)
    assert shape(30_000, 29, 14) == (1, True)
    assert shape(40_000, 29, 14) == (1, False)  # not even one member fits: the cost rule decides
    assert shape(20_500, 29, 14, budget=10) == (1, False)
    assert shape(425_000, 50, 50) == (1, False)


def test_temperature_softens_overconfident_probabilities():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    right = rng.random(4000) < 0.75  # right 75% of the time …
    pred = np.where(right, y, 1 - y)
    proba = np.full((4000, 2), 0.02)
    proba[np.arange(4000), pred] = 0.98  # … but 98% sure
    t = evaluate.fit_temperature(y, proba)
    assert t > 1.5
    calibrated = evaluate.apply_temperature(proba, t)
    assert np.array_equal(calibrated.argmax(1), proba.argmax(1))  # accuracy untouched
    assert calibrated.max(1).mean() == pytest.approx(0.75, abs=0.02)
    assert evaluate.expected_calibration_error(y, calibrated) < evaluate.expected_calibration_error(y, proba)
    bins = evaluate.reliability(y, calibrated)
    assert sum(b["rows"] for b in bins) == 4000


def test_conformal_interval_holds_its_level_on_other_folds():
    rng = np.random.default_rng(1)
    scores = np.abs(rng.normal(size=3000))
    folds = np.arange(3000) % 5
    assert evaluate.cross_conformal_coverage(scores, folds, 0.9) == pytest.approx(0.9, abs=0.02)
    assert evaluate.conformal_quantile(scores, 0.9) == pytest.approx(1.645, abs=0.1)


def test_regression_gets_an_interval_that_covers_held_out_rows(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    df = pd.DataFrame({"x": x, "kind": rng.choice(["a", "b"], 400), "y": 3 * x + rng.normal(scale=0.5, size=400)})
    # 10 s (8 members, not 16): the conformal range holds its level whatever the model; coverage 0.90
    # held out and 0.93-0.96 on all rows either way
    model = sheetdl.fit(df, target="y", time_budget=10, seed=0)
    cal = model.calibration
    assert cal["level"] == 0.9 and 0.8 <= cal["coverage"] <= 0.98
    low, high = model.interval(df)
    pred = model.predict(df).astype(float).to_numpy()
    assert np.all(low <= pred + 1e-9) and np.all(pred <= high + 1e-9)
    assert ((df["y"] >= low) & (df["y"] <= high)).mean() > 0.8
    path = tmp_path / "r.sheetdl"
    model.save(path)
    again = sheetdl.load(path)
    assert again.calibration == model.calibration
    assert np.allclose(again.interval(df)[0], low)


def test_classification_is_calibrated_on_out_of_fold_rows():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, 2))
    y = np.where(x[:, 0] + 0.8 * rng.normal(size=600) > 0, "yes", "no")  # noisy: confidence must be modest
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y})
    # 10 s (4 members, not 16): temperature ~0.94 and calibration error ~0.02 either way
    model = sheetdl.fit(df, target="y", time_budget=10, seed=0)
    assert 0.2 < model.calibration["temperature"] < 5
    assert model.calibration["calibration_error"] < 0.1


def test_same_seed_same_model_on_the_cpu():
    """The suite's one check that a seed gives the same model twice (a budget far above what 150 rows
    need, so early stopping, not the clock, ends every fold)."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.normal(size=150), "b": rng.choice(["x", "y", "z"], 150)})
    df["y"] = np.where(df["a"] + (df["b"] == "x") > 0.3, "up", "down")
    one = sheetdl.fit(df, target="y", time_budget=120, seed=5)
    two = sheetdl.fit(df, target="y", time_budget=120, seed=5)
    assert list(one.predict(df)) == list(two.predict(df))
    _same_probabilities(two, one, df)


def test_learning_rate_is_cut_from_the_best_weights_before_stopping():
    from types import SimpleNamespace

    from sheetdl.training import options as training

    net = torch.nn.Linear(2, 1)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    module = SimpleNamespace(net=net, history=[])
    trainer = SimpleNamespace(optimizers=[opt], should_stop=False)
    cb = RestoreBest(8, decay_patience=2, max_decays=2)

    def epoch(loss: float) -> None:
        module.history.append({"valid_loss": loss})
        cb.on_train_epoch_end(trainer, module)

    epoch(1.0)
    best = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)  # the weights wander off …
    epoch(1.1)
    epoch(1.2)  # … two epochs without improvement: back to the best weights, a smaller step
    assert torch.equal(net.weight, best)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * training.DECAY_FACTOR)
    epoch(0.9)  # improves at the smaller rate
    epoch(1.0)
    epoch(1.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * training.DECAY_FACTOR**2)
    for _ in range(7):
        epoch(1.0)
    assert not trainer.should_stop  # the last rate gets the full patience
    epoch(1.0)
    assert trainer.should_stop


def test_rate_is_cut_once_when_the_fold_runs_out_of_time():
    import time
    from types import SimpleNamespace

    from sheetdl.training import options as training

    net = torch.nn.Linear(2, 1)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    module = SimpleNamespace(net=net, history=[])
    trainer = SimpleNamespace(optimizers=[opt], should_stop=False)
    now = time.monotonic()
    cb = RestoreBest(8, start=now - 100, deadline=now + 10)  # 90 % of its time gone
    for loss in (1.0, 0.9, 0.8):  # still improving
        module.history.append({"valid_loss": loss})
        cb.on_train_epoch_end(trainer, module)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * training.DECAY_FACTOR)  # once, not per epoch
