"""The rows shown on the Images sheet: the labelled rows the model got wrong and those it was least
sure of, each with a thumbnail of its picture and a Grad-CAM heat map of where the model looked,
from a fold model that did not train on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from ..encode import PictureReport, backbone_for, class_key
from ..images import load_column, picture_path, resolve_path, thumbnail_png
from ..models import gradcam, input_scaling, overlay_png
from ..sheets import Table
from ..training import to_tensors
from .results import PICTURE_PX, PictureRow, Results

__all__ = ["picture_rows"]


#: rows on the Images sheet: at most this many mistakes, and this many rows in all
MAX_WRONG_SHOWN = 12
MAX_SHOWN = 24


def picture_rows(model, frame: pd.DataFrame, table: Table, res: Results, reports: list[PictureReport],
                 folds: np.ndarray, labelled: np.ndarray, *, folder: Path, allowed=None) -> list[PictureRow]:
    """The rows worth a look (mistakes first, then the least sure), each with a thumbnail of its
    picture and a Grad-CAM heat map from a fold model that did not train on it."""
    if not reports:
        return []
    column = reports[0].column
    has_picture = frame[column].map(lambda v: v is not None and not isinstance(v, (str, float))).to_numpy(bool)
    regression = model.task == "regression"
    truth = frame[model.target] if model.target in frame.columns else None
    is_labelled = res.labelled.astype(bool)
    pred = res.prediction

    def known(i: int):
        return None if truth is None or not is_labelled[i] else truth.iat[i]

    rows_wrong: list[int] = []
    if regression:
        err = np.array([abs(float(pred[i]) - float(known(i))) if is_labelled[i] and has_picture[i] else -1.0
                        for i in range(len(frame))])
        rows_wrong = [int(i) for i in np.argsort(-err, kind="stable") if err[i] > 0][:MAX_WRONG_SHOWN]
        width = (res.high - res.low) if res.low is not None else np.zeros(len(frame))
        unsure_order = np.argsort(-np.nan_to_num(width, nan=-1.0), kind="stable")
    else:
        conf = res.confidence
        assert conf is not None  # classification: every row has one
        wrong = [i for i in range(len(frame))
                 if is_labelled[i] and has_picture[i] and _key(known(i)) != _key(pred[i])]
        rows_wrong = sorted(wrong, key=lambda i: -conf[i])[:MAX_WRONG_SHOWN]
        unsure_order = np.argsort(conf, kind="stable")
    shown = set(rows_wrong)
    rows_unsure: list[int] = []
    for i in unsure_order:
        if len(rows_wrong) + len(rows_unsure) >= MAX_SHOWN:
            break
        if has_picture[i] and int(i) not in shown:
            rows_unsure.append(int(i))
    chosen = [(i, "wrong") for i in rows_wrong] + [(i, "unsure") for i in rows_unsure]
    if not chosen:
        return []

    paths = [table.values[column].iat[i] if column in table.values.columns else None for i, _ in chosen]
    display, display_ok, _ = load_column(paths, folder, PICTURE_PX, allowed=allowed)
    heat = _heat_maps(model, frame, [i for i, _ in chosen], column, folds, labelled, paths, folder, allowed,
                      reports[0].mode)
    out = []
    for j, (i, why) in enumerate(chosen):
        thumb = None
        try:
            if paths[j] is not None:  # the same check as the pixels: the allowed folders, at the open
                where = (picture_path(str(paths[j]), folder, allowed) if allowed is not None
                         else resolve_path(str(paths[j]), folder))
                thumb = thumbnail_png(where, PICTURE_PX, allowed=allowed)
        except Exception:  # shown as an empty cell; the row is still listed
            thumb = None
        overlay = None
        if heat is not None and display_ok[j]:
            overlay = overlay_png(display[j], _resize(heat[j], PICTURE_PX), max_px=PICTURE_PX)
        confidence = None if res.confidence is None else float(res.confidence[i])
        out.append(PictureRow(row=i, column=column, path=str(paths[j]), why=why, label=known(i),
                              prediction=pred[i], confidence=confidence, thumbnail=thumb, heatmap=overlay))
    return out


def _key(v):
    return None if v is None else class_key(v)


def _resize(heat: np.ndarray, px: int) -> np.ndarray:
    t = torch.as_tensor(np.asarray(heat, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(px, px), mode="bilinear", align_corners=False)[0, 0].numpy()


def _heat_maps(model, frame, rows: list[int], column: str, folds, labelled, paths, folder, allowed,
               mode: str) -> np.ndarray | None:
    """Grad-CAM heat maps (len(rows), h, w) for the picture column, or None if they can't be made."""
    n = len(frame)
    member_of = np.zeros(n, dtype=np.int64)
    if len(model.members) > 1:
        member_of[labelled] = folds
    backbone = None
    if mode == "features":
        spec = next(c for c in model.schema.columns if c.name == column).parse.get("image") or {}
        backbone = backbone_for(spec, column)
        pixels, _, _ = load_column(paths, folder, spec["size"], allowed=allowed)
    result: list[np.ndarray | None] = [None] * len(rows)
    for m_index in sorted(set(int(member_of[i]) for i in rows)):
        member = model.members[m_index]
        which = [j for j, i in enumerate(rows) if member_of[i] == m_index]
        enc = member.encoder.transform(frame.iloc[[rows[j] for j in which]])
        inputs = to_tensors(enc, torch.device("cpu"))
        image_cols = [c for c in member.encoder.columns if member.encoder.kinds[c] == "image"]
        if column not in image_cols:
            return None
        b = image_cols.index(column)
        net = member.net.eval().cpu()  # heat maps for a few rows: the CPU, where the backbone is
        branch = net.images[b]
        if mode in ("pixels", "tune"):
            x = branch.to_input(inputs[3 + b])
            maps_fn = branch.scaled_maps

            def head_fn(maps, branch=branch, net=net, inputs=inputs, b=b):
                return net.combine(net.members(*inputs, image_embeddings={b: branch.from_maps(maps)}))
        else:
            x = input_scaling(spec)(torch.as_tensor(pixels[which]))
            assert backbone is not None  # "features": the pretrained network read the pictures
            maps_fn = backbone.maps

            def head_fn(maps, branch=branch, net=net, inputs=inputs, b=b):
                return net.combine(net.members(*inputs, image_embeddings={b: branch(maps.mean(dim=(2, 3)))}))
        if model.task == "classification":
            with torch.no_grad():
                target = net(*inputs).argmax(1)
        else:
            target = None
        maps = gradcam(maps_fn, head_fn, x, target)
        for k, j in enumerate(which):
            result[j] = maps[k]
    done = [r for r in result if r is not None]
    return np.stack(done) if len(done) == len(result) else None
