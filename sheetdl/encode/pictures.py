"""Picture columns: from the paths written in a sheet to what the network reads.

Before encoding, each cell of an image column is replaced (in the typed frame) by what the network
reads for that picture:

- **features** — when pretrained ImageNet weights are available (cached, or fetched once by
  ``torch.hub``): the frozen ResNet-18's 512 numbers for the picture. Computing them is the slow part,
  so they are cached by path + size + modification time; a second run reads them back.
- **pixels** — otherwise (offline): the decoded picture at ``SCRATCH_SIZE`` pixels, which a small CNN
  learns from, from scratch. The report says so.

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
from ..models import ResNet18, featurise, load_backbone
from ..schema import Column, Schema
from ..sheets import Table

__all__ = ["PictureReport", "prepare_images", "image_folder", "backbone_for", "FEATURES_VARIANT", "PICTURE_NOTE"]

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


FEATURES_VARIANT = "resnet18-{sha}"


def _image_columns(schema: Schema) -> list[Column]:
    return [c for c in schema.columns if c.role == "feature" and c.kind == "image"]


def _choose(allow_download: bool, fine_tune: bool = False, fine_tune_note: str = ""
            ) -> tuple[dict, ResNet18 | None, str, str]:
    """(spec, backbone or None, words, note): pretrained features when the weights can be had (or,
    with ``fine_tune``, pixels for the pretrained network whose last block then trains on them),
    else pixels for a CNN trained from scratch (and a note saying why, and how to get the better
    model). ``fine_tune_note`` says why fine-tuning was asked for but not done."""
    backbone, words = load_backbone(allow_download=allow_download)
    if backbone is not None:
        sha = getattr(backbone, "weights_sha256", "")
        if fine_tune:
            return ({"mode": "tune", "shape": [PRETRAINED_SIZE, PRETRAINED_SIZE, 3], "dtype": "uint8",
                     "size": PRETRAINED_SIZE, "weights": sha}, None,
                    words.replace("(frozen)", "with its last block fine-tuned on these pictures (random crops "
                                              "and mirror images)"), "")
        return ({"mode": "features", "shape": [512], "dtype": "float32", "size": PRETRAINED_SIZE, "weights": sha},
                backbone, words, fine_tune_note)
    spec = {"mode": "pixels", "shape": [SCRATCH_SIZE, SCRATCH_SIZE, 3], "dtype": "uint8", "size": SCRATCH_SIZE}
    note = f"{PICTURE_NOTE} {words}"
    if fine_tune:
        note += " Fine-tuning adapts that pretrained network, so it was not done either."
    return spec, None, f"a small CNN trained from scratch on {SCRATCH_SIZE}×{SCRATCH_SIZE} pictures", note


def prepare_images(frame: pd.DataFrame, table: Table, schema: Schema, *, training: bool,
                   folder: Path | None = None, allowed=None, allow_download: bool = True,
                   progress=None, cancel=None, fine_tune: bool = False, fine_tune_note: str = ""
                   ) -> list[PictureReport]:
    """Replace the paths in ``frame``'s picture columns by features or pixels (in place).

    ``training``: choose how pictures are read and record it in the column (``parse["image"]``) so
    that predicting later reads them the same way; otherwise use what the column recorded.
    ``fine_tune``: when pretrained weights are available, read pixels for fine-tuning them
    (``picture_plan.fine_tune_plan`` decides; ``fine_tune_note`` says why not, when it was asked for).
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
        chosen, backbone, chosen_words, chosen_note = _choose(allow_download, fine_tune, fine_tune_note)
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
            variant=FEATURES_VARIANT.format(sha=spec.get("weights", "")[:16]) if spec["mode"] == "features" else None,
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
    backbone: ResNet18 | None
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


def backbone_for(spec: dict, column: str):
    """The backbone a saved model was trained with, or a plain error if it can't be loaded here."""
    backbone, words = load_backbone()
    if backbone is None:
        raise DataError(
            f"This model reads the pictures in column '{column}' with a pretrained ResNet-18, whose weights "
            f"can't be loaded on this computer ({words}).",
            hint="Connect to the internet once so SheetDL can fetch the weights, or train the model again here.",
            column=column)
    if spec.get("weights") and getattr(backbone, "weights_sha256", "") and backbone.weights_sha256 != spec["weights"]:
        raise DataError(
            f"The pretrained picture weights on this computer differ from those the model was trained with "
            f"(column '{column}').", hint="Train the model again on this computer.", column=column)
    return backbone
