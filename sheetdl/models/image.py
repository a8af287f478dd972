"""Image networks in plain torch: a frozen pretrained ResNet-18, a small CNN trained from scratch, and
the pieces around them (input scaling, batched features, Grad-CAM heat maps, heat-map pictures).

torchvision's wheel does not load against our CPU torch (and a broken torchvision breaks Lightning),
so the ResNet is written here with torchvision's state-dict names: the published ImageNet weights load
into it unchanged. The weights are fetched once with ``torch.hub`` from their published address,
checked against the hash in their file name, and kept as a safetensors copy in SheetDL's cache so that
no later run unpickles anything. Where they cannot be had (no network, ``SHEETDL_OFFLINE=1``),
:func:`load_backbone` says why in plain words and the caller trains :class:`SmallCNN` instead.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..images import cache_dir

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "RESNET18_URL", "ResNet18", "SmallCNN", "to_input", "load_backbone",
    "featurise", "gradcam", "overlay_png", "backbone_macs", "cnn_macs", "refresh_batchnorm",
    "tune_macs",
]

#: per-channel mean and spread of ImageNet's pixels (0–1 scale): the pretrained weights expect inputs
#: scaled by them, and the small CNN uses the same scaling so one input path serves both
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: torchvision's published ImageNet weights (IMAGENET1K_V1); the 8 hex digits are the start of the
#: file's sha256, which torch.hub checks
RESNET18_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
#: the file's sha256 prefix sits between the last "-" and the extension, as torch.hub expects
HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
#: environment variable that, set to 1/true/yes, keeps SheetDL off the network
OFFLINE_ENV = "SHEETDL_OFFLINE"
#: seconds to wait for the weights' server to answer (name look-up + connection) before giving up, so
#: a machine without network fails in seconds instead of hanging
CONNECT_TIMEOUT = 5.0
#: seconds any single read of the download may stall before it is abandoned
READ_TIMEOUT = 30.0
#: channel widths of the small CNN's four convolutions (32×32 input → 16 → 8 after the two pools)
SMALL_WIDTHS = (32, 64, 128, 128)
#: smallest picture side the small CNN accepts: two 2× pools must leave at least 4×4 maps
SMALL_MIN_SIZE = 16
#: heat-map overlay: strongest opacity of the colours, and heat below which the picture shows through
OVERLAY_MAX_ALPHA = 0.6
OVERLAY_COLD = 0.15


# ----------------------------------------------------------------------------------------- networks

class BasicBlock(nn.Module):
    """torchvision's ResNet basic block (two 3×3 convolutions and a shortcut), same attribute names."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """ResNet-18 (He et al., 2016) with torchvision's module names, so its ImageNet weights load with
    ``strict=True``. ``maps`` gives the last block's output (for Grad-CAM), ``features`` its average
    (the 512 numbers per picture the other models learn from); ``forward`` keeps the ImageNet head."""

    #: the SHA-256 of the pretrained weights loaded into it ("" when not known); see load_backbone
    weights_sha256: str = ""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)
        self.out_dim = 512
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def maps(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) scaled input → (B, 512, H/32, W/32) feature maps."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.maps(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class SmallCNN(nn.Module):
    """A small VGG-style network for training from scratch on a CPU when no pretrained weights exist.

    Four 3×3 convolutions with batch norm (32 → 64 channels, each followed by a 2× max-pool, then
    128 → 128 at a quarter of the input's side): about 20 million multiply-adds per 32×32 picture,
    so a 2-core CPU trains on well over a thousand pictures a second, and the last maps stay 8×8, fine
    enough for a Grad-CAM heat map to point at a part of the picture. Global average pooling lets any
    side of at least 16 pixels in. Batch norm (not group norm) because it trains faster here and costs
    nothing at prediction; even a last batch of one picture has 16+ values per channel to normalise.
    """

    def __init__(self, *, widths: tuple[int, int, int, int] = SMALL_WIDTHS) -> None:
        super().__init__()
        a, b, c, d = widths
        self.body = nn.Sequential(
            *_conv_bn_relu(3, a), nn.MaxPool2d(2),
            *_conv_bn_relu(a, b), nn.MaxPool2d(2),
            *_conv_bn_relu(b, c),
            *_conv_bn_relu(c, d),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = d
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def maps(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) scaled input → (B, out_dim, H/4, W/4) feature maps."""
        if min(x.shape[-2:]) < SMALL_MIN_SIZE:
            raise ValueError(f"SmallCNN needs pictures of at least {SMALL_MIN_SIZE}×{SMALL_MIN_SIZE} "
                             f"pixels, got {tuple(x.shape[-2:])}")
        return self.body(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.maps(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def refresh_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> None:
    """Recomputes every batch-norm layer's running statistics as the plain average over ``batches``
    (scaled inputs, e.g. the training pictures), with the weights as they now are.

    Batch norm predicts with running averages that forget at 10% a step; after a short training
    (a few dozen steps, as on a small sheet) they still remember the first, untrained steps and
    predictions can be near chance although training went well. One pass without gradients over the
    training pictures fixes that; it costs about a third of one epoch. Mode is restored afterwards.
    """
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return
    momenta = [m.momentum for m in layers]
    was_training = model.training
    try:
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
        model.train()
        with torch.no_grad():
            for x in batches:
                model(x)
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.train(was_training)


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


# ------------------------------------------------------------------------------------------- inputs

def to_input(pixels: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 pictures (B, H, W, 3) → float (B, 3, H, W) scaled by ImageNet's mean and spread.

    The result keeps the pixels' own memory order, which is torch's ``channels_last``: CPU
    convolutions ran 10–40% faster on it than on the default order here, and no copy is made to get
    there. Models should be moved with ``.to(memory_format=torch.channels_last)`` to match.
    """
    if isinstance(pixels, np.ndarray):
        pixels = torch.from_numpy(np.ascontiguousarray(pixels))
    if pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise ValueError(f"expected pictures shaped (B, H, W, 3), got {tuple(pixels.shape)}")
    x = pixels.permute(0, 3, 1, 2).to(torch.float32)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1) * 255
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def featurise(backbone: nn.Module, pixels: np.ndarray, *, batch: int = 64,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The backbone's features for every picture, (n, out_dim) float32, computed in batches so a large
    column never holds all its scaled pictures in memory at once. ``progress(done, total)`` after
    each batch."""
    n = len(pixels)
    device = _device_of(backbone)
    scale: Callable[[torch.Tensor], torch.Tensor] = getattr(backbone, "to_input", to_input)  # Lite: to [-1, 1]
    out = np.zeros((n, getattr(backbone, "out_dim", 512)), dtype=np.float32)
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.inference_mode():
            for start in range(0, n, batch):
                chunk = torch.from_numpy(np.ascontiguousarray(pixels[start:start + batch])).to(device)
                feats = backbone.features(scale(chunk))  # type: ignore[operator]  # ResNet18, SmallCNN or EfficientNetLite0
                out[start:start + len(chunk)] = feats.float().cpu().numpy()
                if progress is not None:
                    progress(min(start + batch, n), n)
    finally:
        backbone.train(was_training)
    return out


def _device_of(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


# ------------------------------------------------------------------------------------- explanations

def gradcam(maps_fn: Callable[[torch.Tensor], torch.Tensor], head_fn: Callable[[torch.Tensor], torch.Tensor],
            x: torch.Tensor, target: torch.Tensor | None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017): where in each picture the evidence for its output lies.

    ``maps_fn(x)`` gives the last convolutional maps (B, C, h, w); ``head_fn(maps)`` the outputs
    (B, n_outputs) computed from them, one row per picture. Each map is weighted by the mean gradient
    of the row's score (the ``target`` class's output, or for a number — ``target`` None — the first
    output itself) and the positive part of the sum is the heat. Returns (B, H, W) float32 in [0, 1]
    at x's size, each picture scaled to its own peak (all zero where nothing speaks for the output).
    The maps are computed without gradients: only the head needs them, so a frozen backbone costs
    no more memory than a prediction.
    """
    with torch.inference_mode(False), torch.enable_grad():
        if x.is_inference():
            x = x.clone()
        with torch.no_grad():
            maps = maps_fn(x)
        maps = maps.detach().clone().requires_grad_(True)
        out = head_fn(maps)
        if out.ndim == 1:
            out = out.unsqueeze(1)
        if target is None:
            score = out[:, 0]
        else:
            target = torch.as_tensor(target, device=out.device).long().view(-1, 1)
            if target.is_inference():
                target = target.clone()
            score = out.gather(1, target).squeeze(1)
        (grads,) = torch.autograd.grad(score.sum(), maps)
        weights = grads.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * maps).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam.float(), size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
    cam = cam.squeeze(1).clamp_min(0)
    peak = cam.flatten(1).amax(dim=1).view(-1, 1, 1)
    cam = torch.where(peak > 0, cam / peak.clamp_min(1e-12), torch.zeros_like(cam))
    return cam.cpu().numpy().astype(np.float32)


def overlay_png(pixels: np.ndarray, heat: np.ndarray, *, max_px: int = 96) -> bytes:
    """A PNG of the picture with its heat map laid over it: blue (little) through green and yellow to
    red (most), transparent where the heat is low so the picture shows through. Scaled so its longer
    side is ``max_px`` (enlarged too: a 32-pixel model input would be too small to see in a cell).
    ``heat`` may have any size; it is stretched over the picture."""
    from PIL import Image

    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"expected a picture shaped (H, W, 3), got {pixels.shape}")
    h, w = pixels.shape[:2]
    heat = np.nan_to_num(np.asarray(heat, dtype=np.float32), nan=0.0)
    if heat.shape != (h, w):
        heat = np.asarray(Image.fromarray(heat, mode="F").resize((w, h), Image.Resampling.BILINEAR))
    heat = np.clip(heat, 0.0, 1.0)
    colour = _jet(heat)
    alpha = OVERLAY_MAX_ALPHA * np.clip((heat - OVERLAY_COLD) / (1.0 - OVERLAY_COLD), 0.0, 1.0) ** 0.7
    blended = pixels.astype(np.float32) * (1 - alpha[..., None]) + colour * alpha[..., None]
    image = Image.fromarray(np.clip(blended + 0.5, 0, 255).astype(np.uint8), mode="RGB")
    scale = max_px / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != (w, h):
        method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        image = image.resize(size, method)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _jet(heat: np.ndarray) -> np.ndarray:
    """The 'jet' colour map, (H, W) in [0, 1] → (H, W, 3) in 0–255: blue, cyan, green, yellow, red;
    its darkened ends are cut off so the hottest spot is full red, not maroon."""
    t = 0.125 + 0.75 * heat
    r = np.clip(1.5 - np.abs(4 * t - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * t - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * t - 1), 0, 1)
    return np.stack([r, g, b], axis=-1) * 255


# ------------------------------------------------------------------------------------------- costs

@functools.lru_cache(maxsize=32)
def backbone_macs(size: int) -> float:
    """Multiply-adds of one size×size picture through ResNet-18's features (no ImageNet head):
    about 1.8·10⁹ at 224 pixels. For the time planner."""
    return _macs(ResNet18, "features", size)


@functools.lru_cache(maxsize=32)
def cnn_macs(size: int) -> float:
    """Multiply-adds of one size×size picture through :class:`SmallCNN`'s features. For the planner."""
    return _macs(SmallCNN, "features", size)


@functools.lru_cache(maxsize=32)
def tune_macs(size: int) -> tuple[float, float]:
    """(frozen start, tuned block) multiply-adds of one picture when fine-tuning: a training step
    costs about frozen + 3 × tuned (the block's backward pass; none for the frozen start)."""
    side = -(-size // 32)  # the last block works on maps of 1/32 the picture's side
    tuned = 2.0 * side * side * 512 * 512 * 9  # its two 3×3 convolutions, 512 → 512 channels
    return backbone_macs(size) - tuned, tuned


def _macs(make: Callable[[], nn.Module], method: str, size: int) -> float:
    """Counts convolution and linear multiply-adds with hooks on a shape-only ('meta') forward pass,
    so the count follows the network's definition and costs no arithmetic."""
    with torch.device("meta"):
        model = make()
    total = 0

    def count(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
            total += output.numel() * k
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            getattr(model, method)(torch.zeros(1, 3, size, size, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return float(total)


# ------------------------------------------------------------------------------- pretrained weights

def load_backbone(*, allow_download: bool = True, url: str = RESNET18_URL) -> tuple[ResNet18 | None, str]:
    """The pretrained ResNet-18, frozen and in eval mode, with words for the report; or (None, why not).

    Looks in this order: the safetensors copy in SheetDL's cache folder (``weights``); the published
    ``.pth`` file placed in that folder by hand (for machines without network) or left in torch.hub's
    own cache by another program; the published address, unless ``allow_download`` is False or
    ``SHEETDL_OFFLINE`` is set. A ``.pth`` is read only after its sha256 matches the prefix in its
    name, and then only as plain tensors (``weights_only``); it becomes a safetensors copy so no
    later run reads a pickle. Never raises: every problem becomes the reason returned.
    """
    try:
        model, words = _load_backbone(allow_download=allow_download, url=url)
        if model is not None:  # which weights: a saved model checks it reads pictures the same way
            found = re.search(r"sha256 ([0-9a-f]{64})", words)
            model.weights_sha256 = found.group(1) if found else ""
        return model, words
    except Exception as exc:  # noqa: BLE001 - any failure means "no pretrained model", said in words
        return None, (f"no pretrained ResNet-18: it could not be loaded ({_plain(exc)}). Pictures are "
                      f"learned from scratch with a small network instead, which needs more labelled pictures")


def _load_backbone(*, allow_download: bool, url: str) -> tuple[ResNet18 | None, str]:
    name = Path(urllib.parse.urlparse(url).path).name
    match = HASH_IN_NAME.search(name)
    if match is None:
        return None, f"the weights' address {url} has no hash in its file name to check the download by"
    hash_prefix = match.group(1)
    folder = _weights_dir()
    copy = folder / (Path(name).stem + ".safetensors")
    problems: list[str] = []

    if copy.is_file():
        model, words = _from_safetensors(copy)
        if model is not None:
            return model, words
        problems.append(words)
        with contextlib.suppress(OSError):
            copy.unlink()  # a damaged copy is rebuilt from the original below

    placed = folder / name
    hub_copy = Path(torch.hub.get_dir()) / "checkpoints" / name
    for pth, ours in ((placed, True), (hub_copy, False)):
        if pth.is_file():
            model, words = _convert(pth, hash_prefix, copy, url=url, ours=ours)
            if model is not None:
                return model, words
            problems.append(words)

    if not allow_download or _offline():
        why = "downloads are switched off" + (f" ({OFFLINE_ENV} is set)" if _offline() else "")
        return None, _not_available(why, problems, folder, url)
    folder.mkdir(parents=True, exist_ok=True)
    reachable = _reachable(url)
    if reachable is not None:
        return None, _not_available(reachable, problems, folder, url)
    try:
        with _socket_timeout(READ_TIMEOUT):
            torch.hub.download_url_to_file(url, str(placed), hash_prefix=hash_prefix, progress=False)
    except Exception as exc:  # noqa: BLE001
        with contextlib.suppress(OSError):
            placed.unlink()
        why = (f"the file downloaded from {url} did not match its published checksum (a damaged or altered "
               f"download; try again later)" if "hash" in str(exc) else
               f"the download from {url} failed ({_plain(exc)})")
        return None, _not_available(why, problems, folder, url)
    model, words = _convert(placed, hash_prefix, copy, url=url, ours=True, downloaded=True)
    if model is None and copy.is_file():  # another SheetDL process converted the same download first
        model, words = _from_safetensors(copy)
    if model is None:
        return None, _not_available(words, problems, folder, url)
    return model, words


def _weights_dir() -> Path:
    return Path(cache_dir()) / "weights"


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _not_available(why: str, problems: list[str], folder: Path, url: str) -> str:
    earlier = "".join(f"; {p}" for p in problems)
    name = Path(urllib.parse.urlparse(url).path).name
    return (f"no pretrained ResNet-18: {why}{earlier}. Pictures are learned from scratch with a small "
            f"network instead, which needs more labelled pictures. To use the pretrained one without a "
            f"network, copy {name} (from {url}) into {folder}")


def _plain(exc: BaseException) -> str:
    """The words of an error without its machinery: 'Connection refused', not '[Errno 111] …'."""
    reason = getattr(exc, "reason", None)  # urllib's URLError wraps the socket error
    if isinstance(reason, BaseException):
        exc = reason
    text = exc.strerror if isinstance(exc, OSError) else None
    if text and isinstance(exc, OSError) and exc.filename:
        text = f"{text}: {exc.filename}"
    text = text or str(reason if isinstance(reason, str) else exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _reachable(url: str) -> str | None:
    """None if the weights' server answers a connection within CONNECT_TIMEOUT, else why not.

    The name look-up runs in a daemon thread because ``getaddrinfo`` ignores socket timeouts: on a
    machine whose DNS never answers, the caller still gets its answer in seconds."""
    parts = urllib.parse.urlparse(url)
    if parts.scheme not in {"http", "https"}:
        return None  # file:// and the like need no network
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    result: list[str | None] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
                result.append(None)
        except Exception as exc:  # noqa: BLE001 - in a thread: anything is "not reachable"
            result.append(f"{host} could not be reached ({_plain(exc)}), so this computer seems to be offline")

    thread = threading.Thread(target=probe, name="sheetdl-weights-probe", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + 1)
    if not result:
        return f"{host} did not answer within {CONNECT_TIMEOUT:g} s, so this computer seems to be offline"
    return result[0]


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """torch.hub opens its URL without a timeout; the process-wide default gives it one, restored
    afterwards."""
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_state(state: dict[str, torch.Tensor], model: ResNet18) -> str | None:
    """None if ``state`` holds exactly ResNet-18's tensors with the right shapes (those of ``model``,
    a fresh one), else what is wrong. BatchNorm's ``num_batches_tracked`` may be absent
    (torchvision's files predate it). The fresh network is the one the weights then go into, so the
    check costs no second network (a network on the "meta" device would import torch's compiler,
    a second before the first picture on a computer that only predicts)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(state) - optional)
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected)
                   if not isinstance(state[k], torch.Tensor) or tuple(state[k].shape) != expected[k])
    problems = []
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if keys:
            problems.append(f"{label}: {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''} ({len(keys)})")
    if problems:
        return "the weights are not ResNet-18's (" + "; ".join(problems) + ")"
    if any(v.is_floating_point() and not bool(torch.isfinite(v).all()) for v in state.values()):
        return "the weights contain invalid numbers (NaN or infinity)"
    return None


def _build(state: dict[str, torch.Tensor]) -> tuple[ResNet18 | None, str | None]:
    """(the frozen network with ``state``'s weights, None), or (None, what is wrong with them)."""
    model = ResNet18()
    problem = _check_state(state, model)
    if problem is not None:
        return None, problem
    model.load_state_dict(state, strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(memory_format=torch.channels_last), None  # type: ignore[call-overload]  # stubs lack it


def _words(sha256: str) -> str:
    return f"ResNet-18 pretrained on ImageNet (frozen), weights sha256 {sha256}"


def _from_safetensors(path: Path) -> tuple[ResNet18 | None, str]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001
        return None, f"the saved copy {path} is damaged ({_plain(exc)})"
    model, problem = _build(state)
    if model is None:
        return None, f"{problem} in {path}"
    return model, _words(meta.get("sha256") or _sha256(path))


def _convert(pth: Path, hash_prefix: str, copy: Path, *, url: str, ours: bool,
             downloaded: bool = False) -> tuple[ResNet18 | None, str]:
    """Checks a published ``.pth`` by hash, keys and shapes, loads it, and writes the safetensors copy
    (through a temporary file, so a crash never leaves half a copy). A ``.pth`` in our own folder is
    removed once the copy exists; a fresh download also when it is rejected. torch.hub's cache is
    never touched."""
    from safetensors.torch import save_file

    keep = True
    try:
        sha = _sha256(pth)
        if not sha.startswith(hash_prefix):
            keep = not downloaded
            return None, (f"{pth} is not the published file (its sha256 starts {sha[:len(hash_prefix)]}, "
                          f"expected {hash_prefix})")
        state = torch.load(str(pth), map_location="cpu", weights_only=True)
        model, problem = _build(state) if isinstance(state, dict) else (None, "it holds no table of weights")
        if model is None:
            keep = not downloaded
            return None, f"{problem} in {pth}"
        tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        tmp = copy.with_name(copy.name + ".part")
        try:
            copy.parent.mkdir(parents=True, exist_ok=True)
            save_file(tensors, str(tmp), metadata={"sha256": sha, "source": url})
            os.replace(tmp, copy)
            keep = not ours
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()  # no copy this time: the model still works, the next run converts again
        return model, _words(sha)
    except Exception as exc:  # noqa: BLE001
        keep = not downloaded
        return None, f"{pth} could not be read ({_plain(exc)})"
    finally:
        if not keep:
            with contextlib.suppress(OSError):
                pth.unlink()
