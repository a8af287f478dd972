"""The model file: one safetensors file whose header carries the JSON description.

Never pickle: a model file from a colleague must not be able to run code. The JSON holds the schema,
encoders and metrics, and the values of up to 1,000 training rows in their number, yes/no, category
and date columns (encode.Donors: blanks the model never saw are answered from the rows most like
them); the tensors hold each member's weights, and its boosted trees as plain arrays of numbers
(models/trees.py: split inputs, thresholds, leaf values), never scikit-learn's objects. A SHA-256 over
both catches a file that was truncated or edited.

This module knows the file, not the model: :class:`~sheetdl.engine.FittedModel` turns itself into a
description and tensors (``save``) and back (``load``). The JSON names no Python module or class, so
moving code never breaks a saved model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..encode import SOFT_CLIP_BEFORE
from ..errors import ModelFileError, OutputError
from ..sheets import set_mode
from ..version import __version__

__all__ = ["write_model_file", "read_model_file", "digest", "FORMAT", "FORMAT_VERSION"]

FORMAT = "sheetdl-model"
#: 2: TabM members and PLR embeddings (net config gains 'ensemble', 'continuous'; calibration)
#: 3: picture columns (net config gains 'image_inputs'; image encoders; a CNN's weights when trained
#:    from scratch — a pretrained backbone is not stored, only its weights' SHA-256)
#: 4: fine-tuned pictures (image input mode 'tune': the last ResNet block's weights, float16; the
#:    frozen rest is again only named by its weights' SHA-256). Written only by models that use it,
#:    so models without it stay readable by SheetDL versions that know format 3.
#: 5: piecewise-linear number embeddings (net config gains 'number_bins'; the bins' edges are a tensor).
#:    Models with periodic (PLR) embeddings are still written as format 3 or 4.
#: 6: the additive path beside the MLP (net config gains 'additive'; weights 'additive.weight/bias').
#: 7: numbers' soft clip recorded in their encoders ('clip_', 10 robust sds; 3 when absent), so a
#:    SheetDL that would clip them at 3 refuses the model instead of predicting with other inputs.
#: 8: picture columns read by a pretrained network other than ResNet-18 (image encoders gain
#:    'network_', image inputs 'network'; a fine-tuned EfficientNet-Lite0 tail's weights). Written only
#:    by models that use it: an older SheetDL would read such pictures with the wrong network.
#: 9: boosted trees beside each member's network (members gain 'trees', their arrays are tensors
#:    'm{i}.trees.*'; the model gains 'blend', the network's share). Written only by models with trees.
FORMAT_VERSION = 9

#: tensor names of fine-tuned pretrained blocks (picture columns) of member i ('m{i}.'), saved as float16
_TUNED_BLOCK = re.compile(r"^m\d+\.images\.\d+\.block\.")


def digest(description: str, tensors: dict[str, torch.Tensor]) -> str:
    """The SHA-256 over the description and every tensor, stored beside them."""
    h = hashlib.sha256(description.encode())
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def _number_clips(encoder: dict) -> set:
    """The soft clips the number (and date) encoders of a member's encoder JSON record (empty: none)."""
    out = set()
    for enc in encoder["encoders"].values():
        if isinstance(enc.get("elapsed_"), dict):  # a date's elapsed time is a number
            enc = enc["elapsed_"]
        if "clip_" in enc:
            out.add(enc["clip_"])
    return out


def format_version(members: list[dict]) -> int:
    """The oldest format that can hold the members (their encoder and net JSON), so older SheetDL
    versions read what they can."""
    if any(m.get("trees") for m in members):
        return 9
    if any(enc.get("network_") for m in members for enc in m["encoder"]["encoders"].values()):
        return 8
    if any(c != SOFT_CLIP_BEFORE for m in members for c in _number_clips(m["encoder"])):
        return 7
    if any(m["net"].get("additive") for m in members):
        return 6
    if any(m["net"].get("number_bins") for m in members):
        return 5
    if any(spec.get("mode") == "tune" for m in members for spec in m["net"].get("image_inputs", [])):
        return 4
    return 3


def write_model_file(path, description: dict, tensors: dict[str, torch.Tensor], *, private: bool = False) -> Path:
    """Write ``description`` (JSON-able; its ``members`` hold each member's encoder and net config) and
    ``tensors`` (each member's weights, named 'm{i}.…') to ``path``, replacing it atomically."""
    path = Path(path)
    tensors = {name: _stored(name, t) for name, t in tensors.items()}
    text = json.dumps({"format": FORMAT, "format_version": format_version(description["members"]),
                       "sheetdl_version": __version__, **description})
    meta = {"sheetdl": text, "sha256": digest(text, tensors)}
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sheetdl-", suffix=".tmp", dir=folder)
        os.close(fd)
    except OSError as e:
        raise OutputError(f"Can't write the model file in the folder '{folder}': {e.strerror}.",
                          hint="Choose an output in a folder you can write to (--output).") from None
    try:
        save_file(tensors, tmp, metadata=meta)
        if private:  # it keeps up to 1,000 training rows (donors): the user's only
            os.chmod(tmp, 0o600)
        else:
            set_mode(tmp, path)  # a model file shared with colleagues is as readable as the workbook
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _stored(name: str, t: torch.Tensor) -> torch.Tensor:
    t = t.detach().cpu().contiguous()
    if _TUNED_BLOCK.match(name) and t.is_floating_point():
        t = t.half()  # fine-tuned pretrained weights, already rounded to float16 (settle_tuned)
    return t


def read_model_file(path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(description, tensors) of a model file, checked: a missing, damaged or foreign file, or one
    from a newer SheetDL, is refused in words."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"There is no model file at '{path}'.",
                             hint="Give the .sheetdl file that 'sheetdl train' wrote beside its output workbook.")
    damaged = ModelFileError(
        f"'{path.name}' is not a SheetDL model file, or it is damaged (truncated or edited).",
        hint="Train the model again with 'sheetdl train' to get a fresh model file.",
    )
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError):
        raise damaged from None
    text = meta.get("sheetdl")
    if not text or digest(text, tensors) != meta.get("sha256"):
        raise damaged
    d = json.loads(text)
    if d.get("format") != FORMAT:
        raise damaged
    if d.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"'{path.name}' was saved by a newer SheetDL ({d.get('sheetdl_version')}).",
                             hint="Update SheetDL (pip install -U sheetdl) to use it.")
    return d, tensors
