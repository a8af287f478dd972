"""Fine-tuning the pretrained ResNet-18 on a sheet's pictures: its last residual block trains, the rest
stays frozen and shared.

- :class:`FrozenStart` — the network up to that block, in eval mode, without gradients; one instance
  per set of weights (:func:`frozen_start`), never saved with a model (the weights' sha256 names it).
- :func:`tuned_block` / :func:`pretrained_block_state` — the trainable block and where it starts.
- :func:`crop_and_flip` — the augmentation: random square crops and mirror images, batched.

``models.tabular.ImageBranch`` (mode "tune") puts these together; ``training`` plans the time.
"""

from __future__ import annotations

import threading

import torch
from torch import nn
from torch.nn import functional as F

from .image import BasicBlock, ResNet18, load_backbone

__all__ = ["FrozenStart", "frozen_start", "tuned_block", "pretrained_block_state", "freeze_batchnorm_stats",
           "crop_and_flip"]


class FrozenStart(nn.Module):
    """The pretrained ResNet-18 up to its last residual block: stem, layers 1–3 and the first block
    of layer 4, always in eval mode and without gradients. Fine-tuning trains only what follows.

    One instance per set of weights is shared by every model that needs it (``frozen_start``) and
    is never part of a saved model: the weights come from SheetDL's cache, checked by their sha256,
    as they do for frozen features.
    """

    def __init__(self, backbone: ResNet18) -> None:
        super().__init__()
        b = backbone
        self.stem = nn.Sequential(b.conv1, b.bn1, b.relu, b.maxpool)
        self.body = nn.Sequential(b.layer1, b.layer2, b.layer3, b.layer4[0])
        self.weights_sha256 = getattr(backbone, "weights_sha256", "")
        #: where fine-tuning starts (not a submodule: it is trained in copies, never here)
        self.last_block_state = {k: v.detach().clone() for k, v in b.layer4[1].state_dict().items()}
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> FrozenStart:  # stays in eval mode: batch norm keeps ImageNet's
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) scaled input → (B, 512, H/32, W/32), the last block's input."""
        return self.body(self.stem(x))


_FROZEN: dict[str, FrozenStart] = {}
_FROZEN_LOCK = threading.Lock()


def frozen_start(weights_sha256: str) -> FrozenStart:
    """The shared frozen start of the pretrained ResNet-18 whose weights have this sha256.

    Raises RuntimeError (the caller has already told the user in words: see
    ``encode.backbone_for``) if those weights are not on this computer.
    """
    with _FROZEN_LOCK:
        found = _FROZEN.get(weights_sha256)
        if found is not None:
            return found
        backbone, words = load_backbone()
        if backbone is None:
            raise RuntimeError(f"pretrained ResNet-18 weights are needed: {words}")
        if weights_sha256 and backbone.weights_sha256 != weights_sha256:
            raise RuntimeError("the pretrained ResNet-18 weights on this computer differ from the model's")
        start = FrozenStart(backbone).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        _FROZEN[weights_sha256] = start
        return start


def tuned_block() -> nn.Module:
    """A block shaped like the pretrained ResNet-18's last residual block (layer4[1]): fine-tuning
    trains it, starting from the pretrained values (``pretrained_block_state``); a saved model
    carries its own values. Its batch norms keep their running statistics (``freeze_batchnorm_stats``):
    batches of a few dozen pictures estimate them badly, while the weights and norms' scales learn."""
    return BasicBlock(512, 512).to(memory_format=torch.channels_last)  # type: ignore[call-overload]


def pretrained_block_state(weights_sha256: str) -> dict[str, torch.Tensor]:
    """The pretrained values of the last residual block, where fine-tuning starts."""
    start = frozen_start(weights_sha256)
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
