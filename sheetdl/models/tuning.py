"""Fine-tuning a pretrained picture network on a sheet's pictures: its last block trains, the rest stays
frozen and shared. For ResNet-18 the last residual block; for EfficientNet-Lite0 the last inverted
residual block and the head convolution (``efficientnet.Tail``). ``network`` is the name
``models.networks`` gives it ("resnet18" when not said: models saved before there was a choice).

- :class:`FrozenStart` — the network up to that block, in eval mode, without gradients; one instance
  per network and set of weights (:func:`frozen_start`), never saved with a model (the weights'
  sha256 names it).
- :func:`tuned_block` / :func:`pretrained_block_state` — the trainable block and where it starts.
- :func:`crop_and_flip` — the augmentation: random square crops and mirror images, batched.

``models.tabular.ImageBranch`` (mode "tune") puts these together; ``training`` plans the time.
"""

from __future__ import annotations

import threading

import torch
from torch import nn
from torch.nn import functional as F

from .efficientnet import TUNED_BLOCKS, EfficientNetLite0, Tail
from .image import BasicBlock, ResNet18, load_backbone
from .networks import EFFICIENTNET, RESNET18, load_network, pretrained_efficientnet

__all__ = ["FrozenStart", "frozen_start", "tuned_block", "pretrained_block_state", "freeze_batchnorm_stats",
           "crop_and_flip"]


class FrozenStart(nn.Module):
    """A pretrained network up to the block fine-tuning trains (ResNet-18: stem, layers 1–3 and the
    first block of layer 4; EfficientNet-Lite0: all but its last block, batch norms folded), always
    in eval mode and without gradients. Fine-tuning trains only what follows.

    One instance per network and set of weights is shared by every model that needs it
    (``frozen_start``) and is never part of a saved model: the weights come from SheetDL's cache or
    the installed weights package, checked by their sha256, as they do for frozen features.
    """

    def __init__(self, backbone: nn.Module, last_block_state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.weights_sha256 = getattr(backbone, "weights_sha256", "")
        #: where fine-tuning starts (not a submodule: it is trained in copies, never here)
        self.last_block_state = {k: v.detach().clone() for k, v in last_block_state.items()}
        if isinstance(backbone, ResNet18):
            b = backbone
            self.stem: nn.Module | None = nn.Sequential(b.conv1, b.bn1, b.relu, b.maxpool)
            self.body: nn.Module = nn.Sequential(b.layer1, b.layer2, b.layer3, b.layer4[0])
        else:
            self.stem = None
            self.body = backbone  # EfficientNet-Lite0: its own start()
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> FrozenStart:  # stays in eval mode: batch norm keeps ImageNet's
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) scaled input → the tuned block's input (B, C, h, w)."""
        if self.stem is None:
            assert isinstance(self.body, EfficientNetLite0)
            return self.body.start(x, TUNED_BLOCKS)
        return self.body(self.stem(x))


_FROZEN: dict[tuple[str, str], FrozenStart] = {}
_FROZEN_LOCK = threading.Lock()


def frozen_start(weights_sha256: str, network: str = RESNET18) -> FrozenStart:
    """The shared frozen start of the pretrained ``network`` whose weights have this sha256.

    Raises RuntimeError (the caller has already told the user in words: see
    ``encode.backbone_for``) if those weights are not on this computer.
    """
    with _FROZEN_LOCK:
        found = _FROZEN.get((network, weights_sha256))
        if found is not None:
            return found
        if network == EFFICIENTNET:
            full = pretrained_efficientnet()
            fused, _ = load_network(EFFICIENTNET)
            if fused is None:
                raise RuntimeError("pretrained EfficientNet-Lite0 weights are needed")
            backbone, state = fused, full.tail_state(TUNED_BLOCKS)
        else:
            resnet, words = load_backbone()
            if resnet is None:
                raise RuntimeError(f"pretrained ResNet-18 weights are needed: {words}")
            backbone, state = resnet, resnet.layer4[1].state_dict()
        if weights_sha256 and getattr(backbone, "weights_sha256", "") != weights_sha256:
            raise RuntimeError(f"the pretrained {network} weights on this computer differ from the model's")
        start = FrozenStart(backbone, state).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        _FROZEN[(network, weights_sha256)] = start
        return start


def tuned_block(network: str = RESNET18) -> nn.Module:
    """A block shaped like the pretrained network's last one (ResNet-18: layer4[1], 512 channels out;
    EfficientNet-Lite0: its last block and head convolution, 1,280): fine-tuning trains it, starting
    from the pretrained values (``pretrained_block_state``); a saved model carries its own values.
    Its ``out_dim`` is its channels out. Its batch norms keep their running statistics
    (``freeze_batchnorm_stats``): batches of a few dozen pictures estimate them badly, while the
    weights and norms' scales learn."""
    if network == EFFICIENTNET:
        block: nn.Module = Tail(TUNED_BLOCKS)
    else:
        block = BasicBlock(512, 512)
        block.out_dim = 512  # type: ignore[assignment]  # as Tail's, for the branch's sizes
    return block.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


def pretrained_block_state(weights_sha256: str, network: str = RESNET18) -> dict[str, torch.Tensor]:
    """The pretrained values of the tuned block, where fine-tuning starts."""
    start = frozen_start(weights_sha256, network)
    return {k: v.clone() for k, v in start.last_block_state.items()}


def freeze_batchnorm_stats(module: nn.Module) -> None:
    """Puts ``module``'s batch norms in eval mode (running statistics used, not updated)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def crop_and_flip(x: torch.Tensor, *, min_scale: float = 0.6, flip: bool = True) -> torch.Tensor:
    """Training augmentation for fine-tuning, in one batched resampling: each picture is cropped to a
    random square of ``min_scale``–1 of its side, at a random place, mirrored left–right half of the
    time, and scaled back to its size. Runs on whatever device ``x`` is on."""
    b = x.shape[0]
    scale = torch.empty(b, device=x.device).uniform_(min_scale, 1.0)
    room = 1.0 - scale
    tx = (torch.rand(b, device=x.device) * 2 - 1) * room
    ty = (torch.rand(b, device=x.device) * 2 - 1) * room
    sx = scale * ((torch.rand(b, device=x.device) < 0.5).float() * -2 + 1 if flip else 1.0)
    theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2] = sx, tx
    theta[:, 1, 1], theta[:, 1, 2] = scale, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.contiguous(memory_format=torch.channels_last)
