"""Fine-tuning the pretrained picture network's last block: when it happens, what it trains, what is
saved, and that a saved fine-tuned model predicts the same after loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from builders import fake_pretrained_weights, picture_book

import sheetdl
from sheetdl import training
from sheetdl.engine import train_table
from sheetdl.errors import DataError, SettingsError
from sheetdl.models.image import ResNet18, tune_macs
from sheetdl.models.tabular import TUNED_LR_SHARE, TabularNet
from sheetdl.models.tuning import crop_and_flip, frozen_start
from sheetdl.settings import Settings
from sheetdl.training import FitOptions, picture_plan

pytestmark = pytest.mark.usefixtures("offline_cache")  # no network, a cache of its own

CPU = torch.device("cpu")
GPU = torch.device("cuda")


# ---- the decision ----------------------------------------------------------------------------------

def test_auto_fine_tunes_on_a_gpu_only_and_no_never_does():
    assert picture_plan.fine_tune_plan("auto", 500, 500, GPU, 60) == (True, "")
    assert picture_plan.fine_tune_plan("auto", 500, 500, CPU, 60) == (False, "")  # silently: nobody asked
    assert picture_plan.fine_tune_plan("no", 500, 500, GPU, 600) == (False, "")
    assert picture_plan.fine_tune_plan("yes", 20, 20, CPU, 60) == (True, "")  # a few pictures fit on a CPU


def test_asked_for_but_too_slow_for_the_budget_says_how_long_it_would_take():
    tune, note = picture_plan.fine_tune_plan("yes", 2_000, 2_000, CPU, 60)
    assert not tune
    assert "fine-tuning the picture network on 2,000 pictures would take about" in note
    assert "processor (no GPU)" in note and "time budget (60 seconds)" in note
    minutes = int(note.split("Set 'Time budget' to ")[1].split(" minutes")[0])
    # and that much budget is indeed enough
    assert picture_plan.fine_tune_plan("yes", 2_000, 2_000, CPU, minutes * 60)[0]


def test_too_many_pictures_to_hold_in_memory_are_not_fine_tuned():
    n = picture_plan.TUNE_MAX_PICTURES + 1
    tune, note = picture_plan.fine_tune_plan("yes", 100, n, GPU, 24 * 3600)
    assert not tune and f"{n:,}" in note and "memory" in note


def test_the_setting_reads_the_users_words():
    assert Settings(fine_tune="Yes").fine_tune == "yes"
    assert Settings(fine_tune=True).fine_tune == "yes"
    assert Settings(fine_tune=0).fine_tune == "no"
    assert Settings(fine_tune=" ").fine_tune == "auto"
    with pytest.raises(SettingsError, match="'Fine-tune pictures'.*one of auto, yes or no.*'maybe'"):
        Settings(fine_tune="maybe")
    assert Settings().describe()["Fine-tune pictures"] == "auto"


def test_fine_tuning_costs_are_planned_from_the_network():
    frozen, tuned = tune_macs(224)
    assert 1.5e9 < frozen < 1.7e9 and 2.0e8 < tuned < 2.6e8  # ResNet-18: ~1.8·10⁹ in all at 224 px


# ---- the pieces ------------------------------------------------------------------------------------

def test_crop_and_flip_keeps_shapes_and_mirrors_with_full_crops():
    torch.manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    out = crop_and_flip(x, min_scale=1.0)
    assert out.shape == x.shape
    for i in range(2):  # a full-size crop is the picture itself or its mirror image
        same = torch.allclose(out[i], x[i], atol=1e-4)
        mirrored = torch.allclose(out[i], x[i].flip(-1), atol=1e-4)
        assert same or mirrored
    torch.manual_seed(1)
    flips = [torch.allclose(o, xi.flip(-1), atol=1e-4) for o, xi in zip(crop_and_flip(x.repeat(16, 1, 1, 1),
                                                                                        min_scale=1.0), x.repeat(16, 1, 1, 1))]
    assert 0 < sum(flips) < len(flips)  # about half are mirrored


def test_only_the_last_block_and_the_head_learn_and_the_block_more_slowly(tmp_path):
    sha = fake_pretrained_weights(tmp_path / "cache")
    net = TabularNet(n_numeric=0, cardinalities=[], vocab_sizes=[], n_outputs=2,
                     image_inputs=[{"mode": "tune", "size": 64, "weights": sha}])
    branch = net.images[0]
    net.start_from_pretrained()
    pretrained = ResNet18()
    from safetensors.torch import load_file

    pretrained.load_state_dict(load_file(str(tmp_path / "cache" / "weights" / "resnet18-f37072fd.safetensors")))
    assert torch.equal(branch.block.conv2.weight, pretrained.layer4[1].conv2.weight)
    groups = net.optimizer_groups(1e-3)
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(1e-3 * TUNED_LR_SHARE)]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in branch.block.parameters()}
    # the frozen start is shared, not part of the model (nor of what is saved)
    assert not any(k.startswith("images.0.stem") or "layer" in k for k in net.state_dict())
    start = frozen_start(sha)
    assert start is frozen_start(sha) and not any(p.requires_grad for p in start.parameters())
    before = {k: v.clone() for k, v in start.state_dict().items()}
    # one training step: the block's weights move, its batch-norm statistics and the frozen start don't
    net.train()
    stats = branch.block.bn1.running_mean.clone()
    w = branch.block.conv1.weight.clone()
    opt = torch.optim.AdamW(groups)
    pixels = torch.randint(0, 255, (4, 64, 64, 3), dtype=torch.uint8)
    out = net(torch.zeros(4, 0), torch.zeros(4, 0, dtype=torch.long), torch.zeros(4, 0, 0, dtype=torch.long), pixels)
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 1, 0, 1])).backward()
    opt.step()
    assert not torch.equal(branch.block.conv1.weight, w)
    assert torch.equal(branch.block.bn1.running_mean, stats)
    assert all(torch.equal(v, before[k]) for k, v in start.state_dict().items())


def test_settled_weights_are_exactly_what_float16_saving_keeps(tmp_path):
    sha = fake_pretrained_weights(tmp_path / "cache")
    net = TabularNet(n_numeric=0, cardinalities=[], vocab_sizes=[], n_outputs=2,
                     image_inputs=[{"mode": "tune", "size": 64, "weights": sha}])
    with torch.no_grad():
        net.images[0].block.conv1.weight.add_(1e-5)
    net.settle_tuned()
    w = net.images[0].block.conv1.weight
    assert torch.equal(w, w.half().float())


# ---- end to end ------------------------------------------------------------------------------------

def test_a_fine_tuned_picture_model_trains_saves_small_and_predicts_the_same_after_loading(tmp_path):
    sha = fake_pretrained_weights(tmp_path / "cache")
    src = picture_book(tmp_path, n=32, blank=4, extra_number=True)
    table = sheetdl.read_table(src)
    schema = sheetdl.schema.infer_schema(table, target="Shape")
    # 15 s: the plan fine-tunes 28 pictures from 12.75 s on (two folds; a rule, not a measurement), and
    # the checks are about what was tuned, saved and loaded, not how well
    model, res = train_table(table, schema, FitOptions(time_budget=15, fine_tune="yes", picture_network="resnet18"),
                             reasons=True)
    photo = model.schema.column("Photo")
    assert photo.parse["image"]["mode"] == "tune" and photo.parse["image"]["weights"] == sha
    assert "last block fine-tuned on these pictures" in res.picture_models["Photo"]
    assert "whose last block was fine-tuned" in res.run_info["Model"]
    assert res.pictures and all(p.heatmap for p in res.pictures)  # Grad-CAM through the tuned block
    assert {"Photo", "Size"} <= {i.column for i in res.importance}
    assert all(not p.is_cuda for m in model.members for p in m.net.parameters())

    path = tmp_path / "m.sheetdl"
    model.save(path)
    # the tuned block (4.7M weights) is saved in float16, once per fold; the frozen rest not at all
    per_fold = 4_720_000 * 2
    assert path.stat().st_size < len(model.members) * per_fold * 1.1
    loaded = sheetdl.load(path)
    assert list(loaded.predict(table)) == list(model.predict(table))
    a = model.predict_proba(table).to_numpy()
    b = loaded.predict_proba(table).to_numpy()
    # the same weights, but sums may be reduced in another order (another CPU, another batch): a few
    # 1e-7 apart; a wrong or lost weight moves probabilities by far more than 1e-5
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)

    # without the pretrained weights, predicting says so in words
    import shutil

    shutil.rmtree(tmp_path / "cache" / "weights")
    import sheetdl.models.tuning as tuning

    tuning._FROZEN.clear()
    with pytest.raises(DataError, match="pretrained ResNet-18, whose weights can't be loaded"):
        sheetdl.load(path).predict(table)


def test_fine_tuning_asked_for_on_a_slow_computer_falls_back_with_a_note(tmp_path):
    fake_pretrained_weights(tmp_path / "cache")
    src = picture_book(tmp_path, n=40, blank=0)
    table = sheetdl.read_table(src)
    schema = sheetdl.schema.infer_schema(table, target="Shape")
    model, res = train_table(table, schema, FitOptions(time_budget=2, fine_tune="yes", device="cpu",
                                                       picture_network="resnet18"), reasons=False)
    assert model.schema.column("Photo").parse["image"]["mode"] == "features"
    assert any("Set 'Time budget' to" in n for n in res.notes)


def test_fine_tuning_without_the_pretrained_weights_says_why_it_was_not_done(tmp_path):
    src = picture_book(tmp_path, n=24, blank=0)  # ResNet-18 asked for: no weights in the cache, and offline
    table = sheetdl.read_table(src)
    schema = sheetdl.schema.infer_schema(table, target="Shape")
    model, res = train_table(table, schema, FitOptions(time_budget=5, fine_tune="yes", device="cpu",
                                                       picture_network="resnet18"), reasons=False)
    assert model.schema.column("Photo").parse["image"]["mode"] == "pixels"
    assert any("downloads are switched off" in n and "Fine-tuning adapts a pretrained network, so it was not "
               "done either." in n for n in res.notes)


def test_the_cli_takes_fine_tune_and_the_report_names_it(tmp_path, capsys):
    import openpyxl

    from sheetdl.cli import main

    fake_pretrained_weights(tmp_path / "cache")
    src = picture_book(tmp_path, n=24, blank=2)
    # 15 s: the plan fine-tunes 22 pictures from 10 s on
    assert main(["train", str(src), "--target", "Shape", "--time-budget", "15", "--fine-tune", "yes",
                 "--picture-network", "resnet18", "--quiet", "--no-reasons"]) == 0
    wb = openpyxl.load_workbook(tmp_path / "shapes (SheetDL).xlsx")
    report = " ".join(str(c.value) for row in wb["SheetDL Report"].iter_rows() for c in row if c.value)
    assert "fine-tuned" in report and "Fine-tune pictures" in report
    capsys.readouterr()
    # asked for but too slow for the budget (of a CPU): the console says so too, with the budget that would do
    assert main(["train", str(src), "--target", "Shape", "--time-budget", "2", "--fine-tune", "yes",
                 "--picture-network", "resnet18", "--device", "cpu", "--no-reasons", "--overwrite", "--output",
                 str(tmp_path / "again.xlsx")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "About the pictures: fine-tuning the picture network on 22 pictures would take about" in out
    assert "Set 'Time budget' to" in out
    assert main(["train", str(src), "--target", "Shape", "--fine-tune", "sometimes", "--quiet"]) != 0
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert "'Fine-tune pictures' given with --fine-tune should be one of auto, yes or no; it is 'sometimes'" in err


def test_predicting_runs_each_picture_through_its_network_once(tmp_path):
    """Explaining asks a net about the same pictures in shuffled orders many times: each distinct
    picture goes through the (slow) picture network once, and the answers are the direct ones."""
    from sheetdl.encode import EncodedTable

    sha = fake_pretrained_weights(tmp_path / "cache")
    net = TabularNet(n_numeric=1, cardinalities=[], vocab_sizes=[], n_outputs=2,
                     image_inputs=[{"mode": "tune", "size": 64, "weights": sha}])
    net.start_from_pretrained()
    net.eval()
    seen = []
    net.images[0].block.register_forward_hook(lambda module, inputs, output: seen.append(len(inputs[0])))
    rng = np.random.default_rng(0)
    pics = rng.integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    pics[5] = pics[0]  # the same picture on two rows

    def table(p):
        return EncodedTable(np.zeros((6, 1), np.float32), np.zeros((6, 0), np.int64), np.zeros((6, 0, 1), np.int64),
                            (p,))

    first = training.predict_net(net, table(pics), CPU, "classification")
    assert sum(seen) == 5
    with torch.no_grad():
        direct = torch.softmax(net(*training.to_tensors(table(pics), CPU)), 1).numpy()
    np.testing.assert_allclose(first, direct, atol=1e-5)
    seen.clear()
    order = [3, 5, 1, 0, 4, 2]
    again = training.predict_net(net, table(pics[order]), CPU, "classification")
    assert seen == []  # nothing new to look at
    np.testing.assert_allclose(again, first[order], atol=1e-6)


def test_fine_tuning_cut_short_by_a_slower_computer_says_so(tmp_path, monkeypatch):
    """The plan thought fine-tuning fits (here: a computer pretending to be a thousand times faster);
    it got only a pass or two before the budget ran out, and the report says the model may be weak
    and what to change."""
    fake_pretrained_weights(tmp_path / "cache")
    monkeypatch.setattr(picture_plan, "CONV_MACS_PER_SECOND", picture_plan.CONV_MACS_PER_SECOND * 1000)
    src = picture_book(tmp_path, n=24, blank=0)
    table = sheetdl.read_table(src)
    model, res = train_table(table, sheetdl.schema.infer_schema(table, target="Shape"),
                             FitOptions(time_budget=2, fine_tune="yes", device="cpu", picture_network="resnet18"),
                             reasons=False)
    assert model.schema.column("Photo").parse["image"]["mode"] == "tune"
    short = [n for n in res.notes if "fine-tuning the picture network had time for only" in n]
    assert len(short) == 1 and "set 'Fine-tune pictures' to no" in short[0]
    epochs = [int(e) for e in res.run_info["Epochs per fold"].split(", ")]
    assert min(epochs) < picture_plan.TUNE_EPOCHS // 2
