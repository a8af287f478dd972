"""The engine: training a model on a Table's labelled rows and what comes of it.

``train_table`` (``train``) cross-fits the members, measures them on held-out rows (``evaluate``) and
explains them (``explain``, and ``pictures`` for the Images sheet's rows); the result is a
:class:`FittedModel` (``model``), which predicts for other tables and is saved to a model file
(``store``), and :class:`Results` (``results``: plain data, which ``sheetdl.report`` lays out).
"""

from .evaluate import METRIC_NAMES
from .model import FittedModel, load_model, number_words
from .results import PICTURE_PX, CurvePoint, Importance, PictureRow, Results
from .store import FORMAT, FORMAT_VERSION
from .train import network_words, train_table

__all__ = [
    "FittedModel",
    "train_table",
    "load_model",
    "Results",
    "Importance",
    "CurvePoint",
    "PictureRow",
    "PICTURE_PX",
    "FORMAT",
    "FORMAT_VERSION",
    "network_words",
    "number_words",
    "METRIC_NAMES",
]
