"""Image networks: ResNet-18 weights loading (built here, served from a file:// address), the small CNN,
Grad-CAM and heat-map pictures. Nothing here touches the network."""

from __future__ import annotations

import hashlib
import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from sheetdl.models import image as im
from sheetdl.models.image import (
    ResNet18,
    SmallCNN,
    backbone_macs,
    cnn_macs,
    featurise,
    gradcam,
    load_backbone,
    overlay_png,
    refresh_batchnorm,
    to_input,
)

# --------------------------------------------------------------------------------------- weights

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _save_named(state: dict, folder: Path, *, prefix: str | None = None) -> Path:
    """Saves ``state`` as torch.hub names published weights: resnet18-<sha256 prefix>.pth."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "weights.pth"
    torch.save(state, tmp)
    path = folder / f"resnet18-{prefix or _sha(tmp)[:8]}.pth"
    tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A randomly initialised ResNet-18 saved like torchvision's file (without num_batches_tracked,
    as the published one), and its tensors to compare against."""
    torch.manual_seed(0)
    state = {k: v for k, v in ResNet18().state_dict().items() if not k.endswith("num_batches_tracked")}
    state["bn1.running_mean"] = torch.randn(64)  # something a fresh model would not have
    return _save_named(state, tmp_path_factory.mktemp("published")), state


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SHEETDL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no real torch.hub copy may leak in
    monkeypatch.delenv("SHEETDL_OFFLINE", raising=False)
    return tmp_path / "cache" / "weights"


def test_download_checks_converts_and_later_runs_read_only_the_safetensors_copy(published, cache, monkeypatch):
    pth, state = published
    model, words = load_backbone(url=pth.as_uri())
    assert model is not None, words
    assert words.startswith("ResNet-18 pretrained on ImageNet (frozen), weights sha256 ")
    assert _sha(pth) in words
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert torch.equal(model.state_dict()["bn1.running_mean"], state["bn1.running_mean"])
    assert torch.equal(model.layer3[0].downsample[0].weight, state["layer3.0.downsample.0.weight"])
    assert sorted(p.name for p in cache.iterdir()) == [pth.stem + ".safetensors"]

    # the second run: no network, no pickle — only the safetensors copy
    def no_pickles(*args, **kwargs):
        raise AssertionError("torch.load must not be called once the safetensors copy exists")

    monkeypatch.setattr(torch, "load", no_pickles)
    again, words_again = load_backbone(url=pth.as_uri(), allow_download=False)
    assert again is not None, words_again
    assert words_again == words
    assert torch.equal(again.fc.weight, state["fc.weight"])


def test_wrong_hash_is_refused_and_nothing_is_kept(published, cache, tmp_path):
    pth, state = published
    wrong = _save_named(state, tmp_path / "wrong", prefix="0123abcd")
    model, why = load_backbone(url=wrong.as_uri())
    assert model is None
    assert "did not match its published checksum" in why and "from scratch" in why
    assert not cache.exists() or not any(cache.iterdir())


def test_loading_the_weights_does_not_import_torchs_compiler(published, cache, tmp_path):
    """Checking the weights' shapes once built a network on torch's "meta" device, which imports
    torch._dynamo: a second more before `sheetdl predict` reads its first picture."""
    import os
    import subprocess
    import sys

    load_backbone(url=published[0].as_uri())  # the safetensors copy that later runs read
    code = ("import sys; from sheetdl.models.image import load_backbone; "
            f"m, why = load_backbone(url={published[0].as_uri()!r}, allow_download=False); "
            "print(m is not None, why[:40]); "
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, SHEETDL_CACHE=str(cache.parent))).stdout.split("\n")
    assert out[0].startswith("True ResNet-18 pretrained") and out[1] == "False"


def test_wrong_keys_are_refused(cache, tmp_path):
    state = {k: v for k, v in ResNet18().state_dict().items() if not k.startswith("layer4.1.")}
    state["head.weight"] = torch.zeros(3, 3)
    state["fc.weight"] = torch.zeros(10, 512)
    model, why = load_backbone(url=_save_named(state, tmp_path / "keys").as_uri())
    assert model is None
    assert "not ResNet-18's" in why and "missing: layer4.1." in why and "unexpected: head.weight" in why
    assert "wrong shape: fc.weight" in why
    assert not list(cache.glob("*.safetensors")) and not list(cache.glob("*.pth"))


def test_offline_and_unreachable_fail_fast_with_a_reason(published, cache, monkeypatch):
    pth, _ = published
    monkeypatch.setenv("SHEETDL_OFFLINE", "1")
    start = time.perf_counter()
    model, why = load_backbone()  # the real address: must not even be tried
    assert model is None and "SHEETDL_OFFLINE" in why and "copy resnet18-f37072fd.pth" in why
    model, why = load_backbone(url=pth.as_uri())
    assert model is None and "switched off" in why
    monkeypatch.delenv("SHEETDL_OFFLINE")
    model, why = load_backbone(url=pth.as_uri(), allow_download=False)
    assert model is None and "switched off" in why
    # nothing listens on the discard port: refused at once, not hung
    model, why = load_backbone(url="http://127.0.0.1:9/models/resnet18-f37072fd.pth")
    assert model is None and "127.0.0.1 could not be reached (Connection refused)" in why
    assert time.perf_counter() - start < 10


def test_a_server_that_never_answers_is_given_up_in_seconds(cache, monkeypatch):
    """getaddrinfo ignores socket timeouts, so the look-up runs in a thread the caller stops waiting for."""
    monkeypatch.setattr(im, "CONNECT_TIMEOUT", 0.2)

    def never_answers(*args, **kwargs):
        time.sleep(3)
        raise TimeoutError("timed out")

    monkeypatch.setattr(im.socket, "create_connection", never_answers)
    start = time.perf_counter()
    model, why = load_backbone()
    assert model is None and "download.pytorch.org did not answer within 0.2 s" in why
    assert time.perf_counter() - start < 3


def test_a_file_copied_into_the_cache_by_hand_is_used_without_network(published, cache, monkeypatch):
    pth, state = published
    cache.mkdir(parents=True)
    shutil.copyfile(pth, cache / pth.name)
    monkeypatch.setenv("SHEETDL_OFFLINE", "1")
    model, words = load_backbone(url="https://example.invalid/models/" + pth.name)
    assert model is not None, words
    assert sorted(p.name for p in cache.iterdir()) == [pth.stem + ".safetensors"]


def test_a_damaged_copy_is_rebuilt(published, cache):
    pth, state = published
    cache.mkdir(parents=True)
    (cache / (pth.stem + ".safetensors")).write_bytes(b"not a safetensors file")
    model, words = load_backbone(url=pth.as_uri())
    assert model is not None, words
    assert torch.equal(model.conv1.weight, state["conv1.weight"])
    assert load_backbone(url=pth.as_uri(), allow_download=False)[0] is not None


def test_never_raises_when_the_cache_cannot_be_written(published, tmp_path, monkeypatch):
    pth, _ = published
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    monkeypatch.setenv("SHEETDL_CACHE", str(blocker))  # the cache 'folder' is a file
    monkeypatch.delenv("SHEETDL_OFFLINE", raising=False)
    model, why = load_backbone(url=pth.as_uri())
    assert model is None and why.startswith("no pretrained ResNet-18: it could not be loaded (")
    assert str(blocker) in why and "from scratch" in why


# -------------------------------------------------------------------------------------- networks

def test_resnet18_shapes_and_torchvision_names():
    model = ResNet18().eval()
    x = torch.randn(2, 3, 64, 96)
    assert model.maps(x).shape == (2, 512, 2, 3)
    assert model.features(x).shape == (2, 512)
    assert model(x).shape == (2, 1000)
    keys = model.state_dict().keys()
    assert {"conv1.weight", "bn1.running_var", "layer2.0.downsample.0.weight", "layer2.0.downsample.1.bias",
            "layer4.1.bn2.num_batches_tracked", "fc.bias"} <= set(keys)
    assert len([k for k in keys if not k.endswith("num_batches_tracked")]) == 102  # as torchvision's file


def test_to_input_scales_by_imagenet_statistics():
    pixels = torch.zeros(2, 5, 7, 3, dtype=torch.uint8)
    pixels[..., 0] = 124  # ≈ ImageNet's mean red
    pixels[..., 2] = 255
    x = to_input(pixels.numpy())
    assert x.shape == (2, 3, 5, 7) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert x[:, 0].abs().max() < 0.01
    assert torch.allclose(x[:, 1], torch.tensor(-0.456 / 0.224))
    assert torch.allclose(x[:, 2], torch.tensor((1 - 0.406) / 0.225))


def test_featurise_in_batches_matches_one_pass_and_reports_progress():
    torch.manual_seed(0)
    net = SmallCNN().eval()
    pixels = np.random.default_rng(0).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    seen: list[tuple[int, int]] = []
    feats = featurise(net, pixels, batch=4, progress=lambda done, total: seen.append((done, total)))
    assert feats.shape == (10, net.out_dim) and feats.dtype == np.float32
    with torch.no_grad():
        direct = net.features(to_input(pixels)).numpy()
    np.testing.assert_allclose(feats, direct, rtol=1e-4, atol=1e-5)
    assert seen == [(4, 10), (8, 10), (10, 10)]
    assert featurise(ResNet18(), pixels[:3]).shape == (3, 512)


def test_small_cnn_accepts_any_side_from_16_and_a_batch_of_one_in_training():
    net = SmallCNN().train()
    assert net.maps(torch.randn(1, 3, 16, 16)).shape == (1, net.out_dim, 4, 4)
    assert net.features(torch.randn(1, 3, 40, 24)).shape == (1, net.out_dim)
    with pytest.raises(ValueError, match="at least 16"):
        net.features(torch.randn(2, 3, 8, 8))


def _squares(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy grey pictures; class 1 has a dark 8×8 square somewhere, class 0 none. Returns pixels,
    labels and a mask of where each square is."""
    pixels = rng.integers(150, 256, (n, 32, 32, 3)).astype(np.uint8)
    labels = rng.integers(0, 2, n)
    mask = np.zeros((n, 32, 32), dtype=bool)
    for i in np.flatnonzero(labels):
        r, c = rng.integers(0, 25, 2)
        pixels[i, r:r + 8, c:c + 8] = rng.integers(0, 60, (8, 8, 3))
        mask[i, r:r + 8, c:c + 8] = True
    return pixels, labels, mask


@pytest.fixture(scope="module")
def trained_squares():
    """SmallCNN + linear head trained briefly on the squares problem (a second or two on 2 cores)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pixels, labels, _ = _squares(192, rng)
    x, y = to_input(pixels), torch.from_numpy(labels)
    body = SmallCNN()
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(body.out_dim, 2))
    body.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW([*body.parameters(), *head.parameters()], lr=3e-3)
    for _ in range(3):
        for i in range(0, len(x), 32):
            loss = F.cross_entropy(head(body.maps(x[i:i + 32])), y[i:i + 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
    refresh_batchnorm(body, [x])  # 18 steps leave the running statistics stale
    return body.eval(), head.eval()


def test_refresh_batchnorm_averages_over_the_batches_and_keeps_the_mode():
    net = SmallCNN().eval()
    x = torch.randn(8, 3, 16, 16) * 3 + 2
    refresh_batchnorm(net, [x[:4], x[4:]])
    first = net.body[1]
    assert not net.training and first.momentum == 0.1 and int(first.num_batches_tracked) == 2
    with torch.no_grad():
        out = net.body[0](x)
    np.testing.assert_allclose(first.running_mean, out.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)


def test_small_cnn_learns_a_tiny_problem(trained_squares):
    body, head = trained_squares
    pixels, labels, _ = _squares(200, np.random.default_rng(1))
    with torch.no_grad():
        predicted = head(body.maps(to_input(pixels))).argmax(1).numpy()
    assert (predicted == labels).mean() >= 0.95


def test_gradcam_points_at_the_square_that_decides_the_class(trained_squares):
    body, head = trained_squares
    pixels, labels, mask = _squares(40, np.random.default_rng(2))
    keep = labels == 1
    pixels, mask = pixels[keep], mask[keep]
    x = to_input(pixels)
    with torch.inference_mode():  # as a caller deep in prediction code might be
        heat = gradcam(body.maps, head, x, torch.ones(len(x), dtype=torch.long))
    assert heat.shape == (len(x), 32, 32) and heat.dtype == np.float32
    assert heat.min() >= 0 and np.allclose(heat.max(axis=(1, 2)), 1)
    inside = np.array([h[m].mean() for h, m in zip(heat, mask)])
    outside = np.array([h[~m].mean() for h, m in zip(heat, mask)])
    assert np.mean(inside > 2 * outside) >= 0.9
    peaks = [np.unravel_index(h.argmax(), h.shape) for h in heat]
    near = [np.any(m[max(r - 4, 0):r + 5, max(c - 4, 0):c + 5]) for (r, c), m in zip(peaks, mask)]
    assert np.mean(near) >= 0.9


def test_gradcam_arithmetic_on_a_hand_made_head():
    """maps = the picture's first two channels; output k = mean of channel k (a linear head), so the
    heat for class k is exactly channel k's positive part, scaled to its peak."""
    x = torch.zeros(2, 3, 4, 4)
    x[0, 0, 1, 2], x[0, 0, 3, 3] = 2.0, 1.0
    x[0, 1] = 5.0
    x[1, 1, 0, 0], x[1, 1, 2, 1] = -1.0, 4.0

    def maps_fn(t: torch.Tensor) -> torch.Tensor:
        return t[:, :2]

    def head_fn(maps: torch.Tensor) -> torch.Tensor:
        return maps.mean(dim=(2, 3))

    heat = gradcam(maps_fn, head_fn, x, torch.tensor([0, 1]))
    expected = np.zeros((2, 4, 4), dtype=np.float32)
    expected[0, 1, 2], expected[0, 3, 3] = 1.0, 0.5
    expected[1, 2, 1] = 1.0
    np.testing.assert_allclose(heat, expected, atol=1e-6)

    # a number (no class): the output itself; upsampled to the picture's size
    big = F.interpolate(x, size=(8, 8), mode="nearest")
    heat = gradcam(lambda t: F.avg_pool2d(t[:, :1], 2), lambda m: m.mean(dim=(2, 3)), big, None)
    assert heat.shape == (2, 8, 8)
    assert heat[0].max() == 1 and heat[0, 2:4, 4:6].min() > 0.5 and heat[0, :2, :2].max() == 0
    assert not heat[1].any()  # nothing speaks for the output: all cold, not NaN


def test_gradcam_on_resnet18_has_the_pictures_size():
    model = ResNet18().eval()
    x = torch.randn(2, 3, 64, 64)
    heat = gradcam(model.maps, lambda m: model.fc(m.mean(dim=(2, 3))), x, torch.tensor([3, 7]))
    assert heat.shape == (2, 64, 64) and 0 <= heat.min() and heat.max() <= 1


# -------------------------------------------------------------------------------------- pictures

def test_overlay_png_is_a_picture_of_the_right_size_hot_where_the_heat_is():
    pixels = np.full((32, 64, 3), 200, dtype=np.uint8)
    heat = np.zeros((8, 16), dtype=np.float32)
    heat[:, :4] = 1.0  # the left quarter is hot
    png = overlay_png(pixels, heat, max_px=96)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (96, 48)
    rgb = np.asarray(image.convert("RGB")).astype(int)
    r, g, b = rgb[24, 5]
    assert r > 200 and b < 150  # red over the hot part
    assert np.abs(rgb[:, 60:] - 200).max() <= 2  # the cold part shows the picture untouched

    small = Image.open(io.BytesIO(overlay_png(np.zeros((300, 200, 3), np.uint8), np.ones((300, 200)), max_px=60)))
    assert small.size == (40, 60)


def test_cost_estimates_follow_the_networks():
    assert backbone_macs(224) == pytest.approx(1.814e9, rel=0.01)  # ResNet-18's published 1.8 GMACs
    assert cnn_macs(32) == pytest.approx(4 * cnn_macs(16))
    assert 5e6 < cnn_macs(32) < 5e7
    assert im.cnn_macs(64) == pytest.approx(4 * cnn_macs(32))
