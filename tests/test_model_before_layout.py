"""A model file saved before the package was reorganised still loads and predicts as it did.

``tests/data/model_before_layout.sheetdl`` was trained by SheetDL at commit f08d3fd (before the layout of
issue #21) on a small table with a number, a category, a date, a yes/no and a text column (5 s budget,
seed 0) and cut to its first member so the file stays small. The expected answers below are what that
SheetDL predicted from the file. Model files name no Python modules, so moving code must not change them.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sheetdl

MODEL = Path(__file__).resolve().parent / "data" / "model_before_layout.sheetdl"

ROWS = pd.DataFrame({
    "Size": [66.3, 90.7, 79.8, 30.3, 88.6, 10.5, 83.9],
    "Colour": ["blue", "red", "blue", "green", "blue", "blue", "green"],
    "Day": pd.to_datetime(["2024-12-01", "2024-11-29", "2024-09-10", "2024-10-19", "2024-11-16", "2024-11-20",
                           "2024-07-10"]),
    "Member": [False, True, True, True, True, False, False],
    "Note": ["warm and sunny note 0", "cold rainy morning note 1", "bright clear sky note 2",
             "grey windy evening note 3", "stormy dark night note 5", "calm quiet dawn note 6",
             "hot dry afternoon note 7"],
})
#: what the model predicted when it was saved
LABELS = ["small", "big", "big", "big", "big", "small", "big"]
P_BIG = [0.400604, 0.99966, 0.982567, 0.63068, 0.997817, 0.004905, 0.998837]


@pytest.fixture(scope="module")
def model():
    return sheetdl.load(MODEL)


def test_the_file_is_small_and_holds_its_schema(model):
    assert MODEL.stat().st_size < 200_000
    assert model.target == "Label" and model.task == "classification"
    assert model.classes == ["big", "small"]
    kinds = {c.name: c.kind for c in model.schema.columns}
    assert kinds == {"Size": "number", "Colour": "category", "Day": "date", "Member": "boolean", "Note": "text",
                     "Label": "category"}


def test_it_predicts_what_it_predicted_when_saved(model):
    assert list(model.predict(ROWS)) == LABELS
    proba = model.predict_proba(ROWS)
    assert list(proba.columns) == ["big", "small"]
    assert np.allclose(proba["big"], P_BIG, atol=1e-4)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
