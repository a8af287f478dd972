"""GPU code paths. The tests marked ``needs_gpu`` skip themselves where there is no CUDA GPU (CI has
none); run them on a GPU machine with ``python -m pytest tests/test_gpu.py``. The graph bookkeeping is
also checked on any machine, with a stand-in for CUDA's recorder."""

from __future__ import annotations

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch

import sheetdl
from sheetdl.models import module as module_mod
from sheetdl.models.module import TabularDataModule, TabularModule
from sheetdl.models.tabular import TabularNet

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
GPU = torch.device("cuda")


def _table(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    numeric = torch.randn(n, 6, generator=g)
    categorical = torch.randint(0, 5, (n, 2), generator=g)
    text = torch.zeros(n, 0, 1, dtype=torch.long)
    y = ((numeric[:, 0] + numeric[:, 1] * numeric[:, 2] + (categorical[:, 0] == 3)) > 0).long()
    return numeric, categorical, text, y


def _train(graphs: bool, *, precision: str = "32-true", epochs: int = 3, device: torch.device = GPU
           ) -> tuple[TabularModule, TabularNet]:
    L.seed_everything(0, verbose=False)
    net = TabularNet(n_numeric=6, cardinalities=[5, 5], vocab_sizes=[], n_outputs=2, dropout=0.0,
                     continuous=[True] * 6, ensemble=8).to(device)
    fit = tuple(t.to(device) for t in _table(1000))
    valid = tuple(t.to(device) for t in _table(300, seed=1))
    module = TabularModule(net, task="classification", cuda_graphs=graphs, max_epochs=epochs)
    trainer = L.Trainer(accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, precision=precision,
                        max_epochs=epochs, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0)
    trainer.fit(module, datamodule=TabularDataModule(fit, valid, batch_size=128, seed=0))
    return module, net


@needs_gpu
def test_graphed_steps_train_exactly_like_ordinary_ones():
    graphed, net_g = _train(True)
    plain, net_p = _train(False)
    # 1000 rows in batches of 128: 7 full batches replay the graph, the last 104 rows run as usual
    assert graphed.graphed_steps == 3 * 7 and plain.graphed_steps == 0
    for a, b in zip(graphed.history, plain.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["valid_loss"] == pytest.approx(b["valid_loss"], rel=1e-4)
    for (name, a), b in zip(net_g.state_dict().items(), net_p.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)


@needs_gpu
def test_graphed_steps_learn_in_bf16():
    module, _ = _train(True, precision="bf16-mixed", epochs=6)
    assert module.graphed_steps == 6 * 7
    assert module.history[-1]["valid_score"] > 0.7  # about 55 % are one class
    assert module.history[-1]["train_loss"] < module.history[0]["train_loss"]


@needs_gpu
def test_a_graph_that_cannot_be_recorded_falls_back_to_ordinary_steps(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(torch.cuda, "make_graphed_callables", refuse)
    module, _ = _train(True)
    assert module.graphed_steps == 0 and len(module.history) == 3


@needs_gpu
def test_fit_on_the_gpu_records_a_graph_per_fold_and_predicts(monkeypatch):
    recorded = []
    real = torch.cuda.make_graphed_callables

    def spy(*args, **kwargs):
        recorded.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.cuda, "make_graphed_callables", spy)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 4))
    frame = pd.DataFrame(x, columns=list("abcd"))
    frame["kind"] = rng.choice(["red", "green", "blue"], size=2000)
    frame["y"] = np.where(x[:, 0] + x[:, 1] * x[:, 2] + (frame["kind"] == "red") > 0, "yes", "no")
    model = sheetdl.fit(frame, target="y", device="cuda", time_budget=60)
    assert model.info["Device"].startswith("GPU")
    assert len(recorded) == len(model.members)
    assert model.metrics["accuracy"] > 0.8
    assert all(not p.is_cuda for m in model.members for p in m.net.parameters())
    assert list(model.predict(frame.head(5))) == list(model.predict(frame.head(5)))


@needs_gpu
def test_the_switch_turns_graphs_off(monkeypatch):
    monkeypatch.setattr(module_mod, "CUDA_GRAPHS", False)
    module, _ = _train(True, epochs=1)
    assert module.graphed_steps == 0


class _StandIn:
    """Records nothing: hands back the step to run as it is, counting the batches it was given."""

    def __init__(self):
        self.sample_rows: list[int] = []

    def __call__(self, step, sample):
        self.sample_rows.append(len(sample[0]))
        return step


def test_the_graph_is_recorded_once_on_a_full_batch_and_a_shorter_batch_runs_as_usual(monkeypatch):
    recorder = _StandIn()
    monkeypatch.setattr(torch.cuda, "make_graphed_callables", recorder)
    graphed, net_g = _train(True, device=torch.device("cpu"))
    plain, net_p = _train(False, device=torch.device("cpu"))
    # 1000 rows in batches of 128: recorded once on the first (full) batch; 7 full batches an epoch
    # replay it, the last 104 rows run as usual
    assert recorder.sample_rows == [128]
    assert graphed.graphed_steps == 3 * 7 and plain.graphed_steps == 0
    assert graphed._graphed is None  # let go with the fold
    for (name, a), b in zip(net_g.state_dict().items(), net_p.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_a_recorder_that_fails_leaves_ordinary_steps_on_any_machine(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("CUDA error: operation not permitted when stream is capturing")

    monkeypatch.setattr(torch.cuda, "make_graphed_callables", refuse)
    module, _ = _train(True, device=torch.device("cpu"))
    assert module.graphed_steps == 0 and len(module.history) == 3
    assert module.history[-1]["train_loss"] < module.history[0]["train_loss"]
