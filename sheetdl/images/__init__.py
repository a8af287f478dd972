"""Picture columns: reading the files a sheet names, and keeping decoded copies for next time.

Imports only Pillow and NumPy (never torch), so the command line and the server stay quick to start.
"""

from __future__ import annotations

from .cache import ImageCache, cache_dir
from .load import (
    MAX_PIXELS,
    PICTURE_EXTENSIONS,
    PRETRAINED_SIZE,
    SCRATCH_SIZE,
    ImageLoadError,
    ImageProblem,
    ProblemKind,
    cached_picture,
    load_column,
    load_image,
    may_read_picture,
    open_picture,
    picture_path,
    resolve_path,
    thumbnail_png,
)
from .weights import EFFICIENTNET_LITE0, PackagedWeights, WeightsMismatch, load_state, weights_path

__all__ = [
    "PRETRAINED_SIZE",
    "SCRATCH_SIZE",
    "MAX_PIXELS",
    "ProblemKind",
    "ImageProblem",
    "ImageLoadError",
    "resolve_path",
    "PICTURE_EXTENSIONS",
    "picture_path",
    "may_read_picture",
    "open_picture",
    "cached_picture",
    "load_image",
    "load_column",
    "thumbnail_png",
    "ImageCache",
    "cache_dir",
    "EFFICIENTNET_LITE0",
    "PackagedWeights",
    "WeightsMismatch",
    "load_state",
    "weights_path",
]
