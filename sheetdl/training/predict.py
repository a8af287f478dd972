"""Running a trained network: its answers for encoded rows, on the CPU or a GPU.

Used while training (held-out answers, explaining) and by every prediction a saved model makes, so
it imports neither Lightning nor anything of the training loop.
"""

from __future__ import annotations

import contextlib
import hashlib

import numpy as np
import torch

from ..encode import EncodedTable
from ..models import TabularNet
from .picture_plan import PIXEL_MODES

__all__ = ["predict_net", "predict_member", "to_tensors", "threads_for", "has_pixels", "pixel_batch",
           "SINGLE_THREAD_WORK", "PIXEL_PREDICT_BATCH"]

#: below this much work per step (batch × members × width), one thread beats two: the step is too
#: small to split, and a second thread that waits for a busy core costs more than it brings
SINGLE_THREAD_WORK = 256 * 8 * 128


@contextlib.contextmanager
def threads_for(work: int, device: torch.device):
    before = torch.get_num_threads()
    if device.type == "cpu" and work < SINGLE_THREAD_WORK and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def to_tensors(enc: EncodedTable, device: torch.device, *, pictures_stay: bool = False) -> tuple[torch.Tensor, ...]:
    """(numeric, categorical, text, *images) on ``device``. ``pictures_stay``: pictures as pixels
    (B, H, W, 3) stay in the computer's memory and travel to the device a batch at a time: 10,000
    pictures at 224 px are 1.5 GB, more than a laptop's GPU can spare beside training."""
    return tuple(torch.from_numpy(np.ascontiguousarray(a)) if pictures_stay and i >= 3 and a.ndim == 4
                 else torch.as_tensor(a, device=device) for i, a in enumerate(enc.arrays))


def has_pixels(net) -> bool:
    """Does the network read pixels itself (rather than a frozen network's features)?"""
    return any(spec["mode"] in PIXEL_MODES for spec in net.config.get("image_inputs", []))


#: rows per forward pass when predicting pictures from pixels (a CNN's activations are large)
PIXEL_PREDICT_BATCH = 256
#: the same for 224-px pictures through the pretrained ResNet-18 (~13 MB of activations each)
TUNE_PREDICT_BATCH = 64


def pixel_batch(net) -> int:
    tune = any(spec["mode"] == "tune" for spec in net.config.get("image_inputs", []))
    return TUNE_PREDICT_BATCH if tune else PIXEL_PREDICT_BATCH


@torch.no_grad()
def predict_net(net: TabularNet, enc: EncodedTable, device: torch.device, task: str, batch: int = 8192,
                *, spread: bool = False):
    """Class probabilities (n, k) or standardised numbers (n,). With ``spread`` (regression), also the
    standard deviation of the TabM members' numbers, (n,) — zeros for a single member.

    Pictures read from pixels (a CNN, or a fine-tuned ResNet) go through their network once per
    distinct picture and net (``_picture_embeddings``): explaining asks the same net about the same
    pictures in shuffled orders dozens of times, and on a CPU each ResNet pass costs seconds."""
    net.eval().to(device)
    inputs = to_tensors(enc, device, pictures_stay=True)  # pixels are read by _picture_embeddings
    n = len(inputs[0])
    heavy = [b for b, spec in enumerate(net.config.get("image_inputs", [])) if spec["mode"] in PIXEL_MODES]
    given = {b: _picture_embeddings(net, b, enc.images[b], device) for b in heavy} if n else {}
    outs, spreads = [], []
    work = min(n, batch) * net.k * net.config["hidden"]
    with threads_for(work, device):
        for s in range(0, n, batch):
            rows = {b: e[s : s + batch] for b, e in given.items()}
            each = net.members(*(t[s : s + batch] for t in inputs), image_embeddings=rows).float()
            out = net.combine(each)
            outs.append(torch.softmax(out, 1) if task == "classification" else out.squeeze(1))
            if spread:
                spreads.append(each[:, :, 0].std(dim=1, unbiased=False))
    if not outs:
        k = net.config["n_outputs"]
        empty = np.zeros((0, k) if task == "classification" else (0,), np.float32)
        return (empty, np.zeros(0, np.float32)) if spread else empty
    mean = torch.cat(outs).cpu().numpy()
    return (mean, torch.cat(spreads).cpu().numpy()) if spread else mean


def predict_member(member, enc: EncodedTable, device: torch.device, task: str, net_weight: float = 1.0, *,
                   spread: bool = False):
    """A fold member's answer, as :func:`predict_net`'s: its network's, blended with its boosted trees'
    (``net_weight`` × network + (1 − ``net_weight``) × trees) where it has trees. The spread is the
    network's, scaled by its weight (the trees give none). A weight of 0 never runs the network."""
    trees = getattr(member, "trees", None)
    if trees is None or net_weight >= 1.0:
        return predict_net(member.net, enc, device, task, spread=spread)
    from_trees = trees.predict(enc.numeric, enc.categorical)
    if net_weight <= 0.0:
        return (from_trees, np.zeros(len(enc), np.float32)) if spread else from_trees
    if spread:
        net, net_spread = predict_net(member.net, enc, device, task, spread=True)
        return net_weight * net + (1 - net_weight) * from_trees, net_weight * net_spread
    return net_weight * predict_net(member.net, enc, device, task) + (1 - net_weight) * from_trees


#: pictures whose embeddings a net remembers at most (256 bytes each)
PICTURE_MEMO_MAX = 200_000


def _picture_embeddings(net: TabularNet, b: int, pictures: np.ndarray, device: torch.device) -> torch.Tensor:
    """Picture branch ``b``'s output for each row, (n, IMAGE_EMBEDDING) on ``device``, remembered on
    the net by each picture's content (a BLAKE2 digest) and the device, so a picture seen before costs
    nothing. A trained net's weights don't change, and training builds new nets, so what is
    remembered stays right."""
    memo = net.__dict__.setdefault("_picture_memo", {})
    if len(memo) > PICTURE_MEMO_MAX:  # a model kept by the add-in's server, predicting sheet after sheet
        memo.clear()
    pictures = np.ascontiguousarray(pictures)
    # by device too: a GPU's numbers differ from the CPU's in the last bits, and a model trained (and
    # explained) on a GPU must predict on the CPU exactly as it will after saving and loading
    keys = [(b, device.type, hashlib.blake2b(memoryview(p), digest_size=16).digest()) for p in pictures]
    todo = list(dict.fromkeys(k for k in keys if k not in memo))
    if todo:
        first: dict[tuple, int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        rows = [first[k] for k in todo]
        step = pixel_batch(net)
        branch = net.images[b]
        with threads_for(SINGLE_THREAD_WORK, device):
            for s in range(0, len(rows), step):
                part = rows[s : s + step]
                out = branch(torch.as_tensor(pictures[part], device=device)).float().cpu()
                for k, e in zip(todo[s : s + step], out):
                    memo[k] = e
    return torch.stack([memo[k] for k in keys]).to(device) if keys else torch.zeros(0, device=device)
