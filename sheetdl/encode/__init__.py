"""Typed columns → what the network reads: encoders fitted on training rows only (``tabular``), the
blanks the model practises or meets unseen (``blanks``), and picture columns read as features or
pixels (``pictures``).
"""

from .blanks import Donors, Filled, GapPractice, blank_columns, never_blank, rare_gaps, unseen_blank_notes
from .pictures import (
    FEATURES_VARIANT,
    PICTURE_NOTE,
    NetworkPick,
    PictureReport,
    backbone_for,
    image_folder,
    pick_network,
    prepare_images,
)
from .tabular import (
    SOFT_CLIP,
    SOFT_CLIP_BEFORE,
    CategoryEncoder,
    DateEncoder,
    EncodedTable,
    ImageEncoder,
    NotFittedError,
    NumberEncoder,
    TableEncoder,
    TargetEncoder,
    TextEncoder,
    class_key,
)

__all__ = [
    "NumberEncoder",
    "CategoryEncoder",
    "DateEncoder",
    "TextEncoder",
    "ImageEncoder",
    "TargetEncoder",
    "TableEncoder",
    "EncodedTable",
    "NotFittedError",
    "SOFT_CLIP",
    "SOFT_CLIP_BEFORE",
    "class_key",
    "GapPractice",
    "blank_columns",
    "rare_gaps",
    "never_blank",
    "unseen_blank_notes",
    "NetworkPick",
    "pick_network",
    "Donors",
    "Filled",
    "PictureReport",
    "prepare_images",
    "image_folder",
    "backbone_for",
    "PICTURE_NOTE",
    "FEATURES_VARIANT",
]
