"""Saving and loading models: one safetensors file whose header carries the JSON description.

Never pickle: a model file from a colleague must not be able to run code. The JSON holds the schema,
encoders and metrics, and the values of up to 1,000 training rows in their number, yes/no, category
and date columns (gaps.Donors: blanks the model never saw are answered from the rows most like
them); the tensors hold each member's weights. A SHA-256 over both catches a file
that was truncated or edited.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..encode.tabular import SOFT_CLIP_BEFORE, TableEncoder, TargetEncoder
from ..errors import ModelFileError, OutputError
from ..encode.blanks import Donors
from ..training.fit import Member
from ..models.tabular import TabularNet
from .results import Importance
from ..sheets.write import _set_mode
from ..schema.infer import Schema

__all__ = ["save_model", "load_model", "FORMAT", "FORMAT_VERSION"]

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
FORMAT_VERSION = 7


#: state-dict names of fine-tuned pretrained blocks (picture columns), saved as float16
_TUNED_BLOCK = re.compile(r"^images\.\d+\.block\.")


def _digest(description: str, tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(description.encode())
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def _number_clips(encoder) -> set:
    """The soft clips the number (and date) encoders of a member record (empty: none recorded)."""
    out = set()
    for enc in encoder.encoders.values():
        enc = getattr(enc, "elapsed_", enc)  # a date's elapsed time is a number
        if hasattr(enc, "clip_"):
            out.add(enc.clip_)
    return out


def _format_version(model) -> int:
    """The oldest format that can hold the model, so older SheetDL versions read what they can."""
    if any(c != SOFT_CLIP_BEFORE for m in model.members for c in _number_clips(m.encoder)):
        return 7
    if any(m.net.config.get("additive") for m in model.members):
        return 6
    if any(m.net.config.get("number_bins") for m in model.members):
        return 5
    if any(spec.get("mode") == "tune" for m in model.members for spec in m.net.config.get("image_inputs", [])):
        return 4
    return 3


def save_model(model, path) -> Path:
    from .. import __version__

    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    members = []
    for i, m in enumerate(model.members):
        for name, t in m.net.state_dict().items():
            t = t.detach().cpu().contiguous()
            if _TUNED_BLOCK.match(name) and t.is_floating_point():
                t = t.half()  # fine-tuned pretrained weights, already rounded to float16 (settle_tuned)
            tensors[f"m{i}.{name}"] = t
        members.append({"encoder": m.encoder.to_json(), "net": m.net.config, "history": m.history})
    description = json.dumps({
        "format": FORMAT,
        "format_version": _format_version(model),
        "sheetdl_version": __version__,
        "schema": model.schema.to_dict(),
        "target_encoder": model.target_encoder.to_json(),
        "members": members,
        "metrics": model.metrics,
        "baseline": model.baseline,
        "importance": [vars(i) for i in model.importances],
        "settings": model.settings,
        "info": model.info,
        "calibration": model.calibration,
        # a key older SheetDL versions ignore, so the format stays the same
        "blank_free": model.blank_free,
        # likewise: training rows' values, to answer blanks the model never saw (gaps.Donors)
        "donors": model.donors.to_json() if model.donors is not None else None,
    })
    meta = {"sheetdl": description, "sha256": _digest(description, tensors)}
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sheetdl-", suffix=".tmp", dir=folder)
        os.close(fd)
    except OSError as e:
        raise OutputError(f"Can't write the model file in the folder '{folder}': {e.strerror}.",
                          hint="Choose an output in a folder you can write to (--output).") from None
    try:
        save_file(tensors, tmp, metadata=meta)
        _set_mode(tmp, path)  # a model file shared with colleagues is as readable as the workbook
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_model(path):
    from .model import FittedModel

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
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError):
        raise damaged from None
    description = meta.get("sheetdl")
    if not description or _digest(description, tensors) != meta.get("sha256"):
        raise damaged
    d = json.loads(description)
    if d.get("format") != FORMAT:
        raise damaged
    if d.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"'{path.name}' was saved by a newer SheetDL ({d.get('sheetdl_version')}).",
                             hint="Update SheetDL (pip install -U sheetdl) to use it.")
    members = []
    for i, md in enumerate(d["members"]):
        net = TabularNet(**md["net"])
        prefix = f"m{i}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if "head.weight" in state:  # format 1: one plain linear head
            state["head_weight"] = state.pop("head.weight").T[None].contiguous()
            state["head_bias"] = state.pop("head.bias")[None].contiguous()
        net.load_state_dict(state)
        net.eval()
        members.append(Member(encoder=TableEncoder.from_json(md["encoder"]), net=net,
                              history=md["history"], valid_rows=None))
    return FittedModel(
        schema=Schema.from_dict(d["schema"]),
        target_encoder=TargetEncoder.from_json(d["target_encoder"]),
        members=members,
        metrics=d.get("metrics", {}),
        baseline=d.get("baseline", {}),
        importances=[Importance(**i) for i in d.get("importance", [])],
        settings=d.get("settings", {}),
        info=d.get("info", {}),
        calibration=d.get("calibration", {}),
        blank_free=d.get("blank_free"),
        donors=Donors.from_json(d["donors"]) if d.get("donors") else None,
    )
