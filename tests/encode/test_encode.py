import numpy as np
import pandas as pd
import pytest

from sheetdl.encode import (
    SOFT_CLIP,
    SOFT_CLIP_BEFORE,
    CategoryEncoder,
    DateEncoder,
    NotFittedError,
    NumberEncoder,
    TableEncoder,
    TextEncoder,
)
from sheetdl.schema import Column


def test_number_encoder_is_robust_and_flags_missing():
    x = np.array([1.0, 2.0, 3.0, 4.0, np.nan, 1e9])
    enc = NumberEncoder().fit(x)
    out = enc.transform(x)
    assert out.shape == (6, 2)  # value + missing indicator
    assert out[4, 1] == 1.0 and out[0, 1] == 0.0
    assert abs(out[5, 0]) < SOFT_CLIP + 0.5  # the outlier is softly clipped, not 1e9
    assert out[4, 0] == pytest.approx(0.0)  # missing → the median


def test_a_skewed_tail_stays_nearly_linear_and_old_models_clip_as_they_did():
    """Values a few robust standard deviations out (a skewed column's tail) keep most of their
    distance; a model saved before the bound was recorded keeps the old, tighter one."""
    enc = NumberEncoder().fit(np.concatenate([np.linspace(-1.0, 1.0, 101), [9.0]]))
    z7 = float(enc.transform(np.array([7.0 * enc.scale_ + enc.center_]))[0, 0])  # 7 robust sds out
    assert 5.5 < z7 < 7.0
    state = enc.to_json()
    del state["clip_"]
    old = NumberEncoder.from_json(state)
    assert float(old.transform(np.array([7.0 * enc.scale_ + enc.center_]))[0, 0]) == pytest.approx(
        7.0 / np.sqrt(1 + (7.0 / SOFT_CLIP_BEFORE) ** 2), rel=1e-5)


def test_number_encoder_without_missing_has_no_indicator():
    enc = NumberEncoder().fit(np.array([1.0, 2.0, 3.0]))
    assert enc.transform(np.array([np.nan, 2.0])).shape == (2, 1)


def test_encoders_refuse_to_transform_before_fit():
    with pytest.raises(NotFittedError):
        NumberEncoder().transform(np.array([1.0]))


def test_category_code_zero_is_missing_rare_and_unseen():
    train = pd.Series(["a", "a", "b", "b", "b", "rare", None], dtype=object)
    enc = CategoryEncoder().fit(train)
    codes = enc.transform(pd.Series(["b", "a", "rare", None, "never seen"], dtype=object))
    assert codes[0] == 1 and codes[1] == 2  # by frequency
    assert list(codes[2:]) == [0, 0, 0]
    assert enc.cardinality == 3


def test_date_encoder_gives_elapsed_time_and_circles():
    d = pd.Series(pd.to_datetime(["2020-01-01", "2021-06-15", None]))
    out = DateEncoder().fit(d).transform(d)
    assert out.shape == (3, 2 + 4)
    assert np.all(out[2, 2:] == 0)  # a blank date has no month / weekday


def test_text_encoder_keeps_frequent_words():
    s = pd.Series(["great product", "great service", "bad product", None], dtype=object)
    enc = TextEncoder().fit(s)
    out = enc.transform(pd.Series(["great unknownword product"], dtype=object))
    assert set(out[0][out[0] > 0]) == {enc.vocabulary_.index("great") + 1, enc.vocabulary_.index("product") + 1}


def test_table_encoder_round_trips_through_json_and_fits_on_given_rows_only():
    frame = pd.DataFrame({
        "n": [1.0, 2.0, np.nan, 4.0],
        "c": pd.Series(["x", "y", "x", "y"], dtype=object),
        "t": pd.Series(["a b", "b c", "a c", None], dtype=object),
    })
    cols = [Column("n", "number", "feature", ""), Column("c", "category", "feature", ""),
            Column("t", "text", "feature", "")]
    enc = TableEncoder().fit(frame.iloc[:2], cols)
    assert enc.encoders["n"].indicator_ is False  # the NaN was not in the training rows
    again = TableEncoder.from_json(enc.to_json())
    a, b = enc.transform(frame), again.transform(frame)
    assert np.array_equal(a.numeric, b.numeric) and np.array_equal(a.categorical, b.categorical)
    assert np.array_equal(a.text, b.text)
    assert set(enc.slices()) == {"n", "c", "t"}
