"""infer_schema and typed_frame: kinds, roles, reasons, the task, labels, and the errors a user sees."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetdl.errors import DataError, SheetDLError
from sheetdl.schema import Schema, infer_schema, typed_frame
from sheetdl.sheets import Table


def _table(cols: dict, sheet: str = "Data") -> Table:
    n = max(len(v) for v in cols.values())
    return Table.from_dataframe(pd.DataFrame({k: list(v) + [None] * (n - len(v)) for k, v in cols.items()}), sheet=sheet)


def _churn(n: int = 40, **extra) -> dict:
    cols = {"Churn": (["Yes", "No"] * n)[:n]}
    cols.update(extra)
    return cols


# --- numbers stored as text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cells, expected",
    [
        (["1,234", "5", "12,000.5"], [1234, 5, 12000.5]),
        (["1 234", "2 000", "7"], [1234, 2000, 7]),
        (["$5", "€5", "£1,000"], [5, 5, 1000]),
        (["12%", "50 %", "100%"], [0.12, 0.5, 1.0]),
        (["(3)", "-4", "+2"], [-3, -4, 2]),
        (["'42", " 7 ", "'1.5"], [42, 7, 1.5]),
        (["3,5", "1,25", "2"], [3.5, 1.25, 2]),  # decimal comma: the column says so
        (["1.234,5", "2,75", "10"], [1234.5, 2.75, 10]),
        ([1.5, "2.5", 3], [1.5, 2.5, 3]),
    ],
)
def test_numbers_as_text(cells, expected):
    t = _table(_churn(3, Price=cells))
    s = infer_schema(t, target="Churn")
    assert s.column("Price").kind == "number"
    got = typed_frame(t, s)["Price"]
    assert got.dtype == np.float64
    assert np.allclose(got.to_numpy(), expected)


def test_mostly_numbers_with_text_counts_unreadable_and_placeholders_are_blank():
    price = [float(i) for i in range(40)]
    price[3] = "call us"
    price[7] = "unknown"
    price[9] = "n/a"
    price[11] = "-"
    t = _table(_churn(40, Price=price))
    s = infer_schema(t, target="Churn")
    col = s.column("Price")
    assert col.kind == "number" and col.role == "feature"
    assert col.n_unreadable == 2
    assert col.n_missing == 2
    assert col.reason == "number, 4 blanks filled"
    assert "Column 'Price' has text in 2 rows (B5 and B9); they were treated as blank." in col.notes
    f = typed_frame(t, s)
    assert f["Price"].isna().sum() == 4


def test_unreadable_note_lists_a_few_cells_and_counts_the_rest():
    price = [float(i) for i in range(100)]
    for j in range(10):
        price[j * 3] = "TBD"
    s = infer_schema(_table(_churn(100, Price=price)), target="Churn")
    assert "Column 'Price' has text in 10 rows (B2, B5, B8, B11, B14 and 5 more)" in s.column("Price").notes[0]


# --- kinds and their reasons ------------------------------------------------------------------------


def test_each_kind_with_its_reason():
    n = 60
    rng = np.random.default_rng(1)
    words = ["good", "bad", "slow", "fast", "kind", "rude", "late", "early"]
    t = _table(
        _churn(
            n,
            CustomerID=[f"C{1000 + i}" for i in range(n)],
            Row=list(range(1, n + 1)),
            Age=[float(x) for x in rng.integers(18, 80, n)],
            Plan=(["Basic", "Pro", "Team"] * n)[:n],
            Paperless=(["Yes", "No", "No"] * n)[:n],
            Joined=[dt.datetime(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 900, n)],
            Comment=[" ".join(rng.choice(words, 6)) + f" #{i}" for i in range(n)],
            Photo=[f"photos/p{i}.jpg" for i in range(n)],
            Country=["NL"] * n,
            Empty=[None] * n,
        )
    )
    s = infer_schema(t, target="Churn")
    got = {c.name: (c.kind, c.role, c.reason) for c in s.columns}
    assert got["Churn"] == ("boolean", "target", "target")
    assert got["CustomerID"] == ("id", "ignored", "ignored: a different value on every row")
    assert got["Row"] == ("id", "ignored", "ignored: a different value on every row")
    assert got["Age"][:2] == ("number", "feature") and got["Age"][2] == "number"
    assert got["Plan"] == ("category", "feature", "category, 3 values")
    assert got["Paperless"] == ("boolean", "feature", "boolean (Yes/No)")
    assert got["Joined"] == ("date", "feature", "date")
    assert got["Comment"] == ("text", "feature", f"text, free text in {n} different values")
    assert got["Photo"] == ("image", "feature", "image: file paths to pictures")
    assert got["Country"] == ("constant", "ignored", "ignored: the same value on every row")
    assert got["Empty"][:2] == ("constant", "ignored")
    assert [c.name for c in s.features] == ["Age", "Plan", "Paperless", "Joined", "Comment", "Photo"]
    f = typed_frame(t, s)
    assert list(f.columns) == ["Churn", "Age", "Plan", "Paperless", "Joined", "Comment", "Photo"]
    assert f["Joined"].dtype == "datetime64[ns]"
    assert f["Paperless"].tolist()[:3] == [1.0, 0.0, 0.0]
    assert f["Plan"].dtype == object


@pytest.mark.parametrize(
    "values, reason",
    [
        (["yes", "no", "YES"], "boolean (yes/no)"),
        (["y", "n", "n"], "boolean (y/n)"),
        ([True, False, True], "boolean (TRUE/FALSE)"),
        (["TRUE", "false", "n/a"], "boolean (TRUE/false)"),
        ([1, 0, 0], "boolean (1/0)"),
    ],
)
def test_boolean_forms(values, reason):
    t = _table(_churn(3, Flag=values))
    s = infer_schema(t, target="Churn")
    assert (s.column("Flag").kind, s.column("Flag").reason) == ("boolean", reason)
    assert typed_frame(t, s)["Flag"].iloc[0] == 1.0


def test_yes_no_maybe_is_a_category_not_boolean():
    s = infer_schema(_table(_churn(3, Flag=["yes", "no", "maybe"])), target="Churn")
    assert s.column("Flag").kind == "category"


def test_category_of_numbers_is_written_without_point_zero():
    t = _table(_churn(4, Zip=[1012.0, "1013", "A1", 1012.0]))
    s = infer_schema(t, target="Churn", kinds={"zip": "category"})
    assert s.column("Zip").reason == "category (you chose this)"
    assert typed_frame(t, s)["Zip"].tolist() == ["1012", "1013", "A1", "1012"]


def test_leading_zero_codes_stay_text():
    s = infer_schema(_table(_churn(4, Code=["007", "012", "007", "012"])), target="Churn")
    assert s.column("Code").kind == "category"


@pytest.mark.parametrize(
    "dates, first",
    [
        (["2024-01-05", "2024-02-28", "2023-12-31 13:45"], dt.datetime(2024, 1, 5)),
        (["05/01/2024", "28/02/2024", "31/12/2023"], dt.datetime(2024, 1, 5)),  # 28 can't be a month
        (["01/05/2024", "02/28/2024", "12/31/2023"], dt.datetime(2024, 1, 5)),  # 28 can't be a month
        (["05.01.2024", "06.02.2024", "07.03.2024"], dt.datetime(2024, 1, 5)),  # dots: day first
        (["5 Jan 2024", "Feb 28, 2024", "31-Dec-2023"], dt.datetime(2024, 1, 5)),
    ],
)
def test_dates_as_text(dates, first):
    t = _table(_churn(3, When=dates))
    s = infer_schema(t, target="Churn")
    assert s.column("When").kind == "date"
    f = typed_frame(t, s)
    assert f["When"].dtype == "datetime64[ns]"
    assert f["When"].iloc[0] == pd.Timestamp(first)
    assert f["When"].notna().all()


def test_one_value_or_blank_is_a_marker_category():
    s = infer_schema(_table(_churn(20, VIP=["x", None] * 10)), target="Churn")
    assert (s.column("VIP").kind, s.column("VIP").reason) == ("category", "category, 1 value or blank")


def test_ignore_and_output_columns():
    t = _table(
        _churn(
            10,
            Age=[31, 45, 22, 60, 38, 27, 51, 44, 33, 19],
            Secret=list("abcabcabca"),
            **{"Predicted Churn": ["No"] * 10, "Confidence": [0.5] * 10, "Why (2)": ["x"] * 10, "Low": [1] * 10},
        )
    )
    s = infer_schema(t, target="Churn", ignore=["secret"])
    assert s.column("Secret").reason == "ignored: you asked to ignore it"
    for name in ("Predicted Churn", "Confidence", "Why (2)", "Low"):
        assert s.column(name).role == "ignored"
        assert s.column(name).reason == "ignored: SheetDL's own output from an earlier run"
    assert [c.name for c in s.features] == ["Age"]


def test_low_and_high_are_features_without_an_earlier_prediction():
    n = 30
    t = _table(_churn(n, Low=[float(i % 7) for i in range(n)], High=[float(i % 5) + 0.5 for i in range(n)]))
    s = infer_schema(t, target="Churn")
    assert s.column("Low").role == "feature" and s.column("High").role == "feature"


def test_kinds_override_to_ignored_kind():
    s = infer_schema(_table(_churn(4, Age=[1, 2, 3, 4])), target="Churn", kinds={"Age": "id"})
    assert (s.column("Age").role, s.column("Age").reason) == ("ignored", "ignored: you set it as id")


def test_features_are_inferred_on_all_rows_target_on_labelled_rows():
    # unlabelled rows are half the table; the feature still sees them
    t = _table({"Churn": ["Yes", "No"] * 5 + [None] * 10, "Plan": ["a"] * 10 + ["b"] * 10})
    s = infer_schema(t, target="Churn")
    assert s.column("Plan").kind == "category"
    assert s.column("Churn").n_missing == 10


# --- the task and the labels ------------------------------------------------------------------------


def test_task_classification_for_text_target():
    s = infer_schema(_table(_churn(10, Age=list(range(10)))), target="churn")
    assert s.target == "Churn"
    assert s.task == "classification"
    assert s.task_reason == "classification: 'Churn' holds 2 categories (No, Yes)"
    assert s.classes == ["No", "Yes"]


def test_task_regression_for_many_numbers():
    n = 50
    t = _table({"Price": [1.5 * i + 0.25 for i in range(n)], "Size": list(range(n, 2 * n))})
    s = infer_schema(t, target="Price")
    assert s.task == "regression" and s.classes is None
    assert s.task_reason == "regression: 'Price' holds numbers with 50 different values"
    assert typed_frame(t, s)["Price"].dtype == np.float64


def test_task_classification_for_few_whole_numbers_and_thresholds():
    few = _table({"Stars": [float(i % 5 + 1) for i in range(50)], "x": list(range(50))})
    s = infer_schema(few, target="Stars")
    assert s.task == "classification" and s.classes == [1, 2, 3, 4, 5]
    assert all(type(c) is int for c in s.classes)
    assert s.task_reason.startswith("classification: 'Stars' holds whole numbers with only 5 different values")
    many = _table({"Score": [i % 15 for i in range(100)], "x": list(range(100))})
    assert infer_schema(many, target="Score").task == "regression"  # 15 > 10 with few rows
    lots = _table({"Score": [i % 15 for i in range(1000)], "x": list(range(1000))})
    assert infer_schema(lots, target="Score").task == "classification"  # ≤ 20 with many rows


def test_forced_task_is_respected():
    t = _table({"Stars": [i % 5 + 1 for i in range(50)], "x": list(range(50))})
    assert infer_schema(t, target="Stars", task="regression").task == "regression"
    t2 = _table({"Price": [1.5 * (i % 30) for i in range(50)], "x": list(range(50))})
    s = infer_schema(t2, target="Price", task="classification")
    assert s.task == "classification" and s.classes[:3] == [0, 1.5, 3]


def test_regression_on_text_target_is_an_error():
    with pytest.raises(DataError) as e:
        infer_schema(_table(_churn(10, x=list(range(10)))), target="Churn", task="regression")
    assert "not numbers, so it can't be predicted as a number (regression)" in str(e.value)


def test_labels_round_trip_text():
    t = _table({"Churn": [" Yes", "no", "No", "yes ", "Yes", None], "x": [1, 2, 3, 4, 5, 6]})
    s = infer_schema(t, target="Churn")
    assert s.classes == ["No", "Yes"]  # case variants are one class, spelt the most common way
    s2 = Schema.from_dict(s.to_dict())
    assert s2.classes == ["No", "Yes"]
    assert typed_frame(t, s2)["Churn"].tolist() == ["Yes", "No", "No", "Yes", "Yes", None]


def test_labels_round_trip_numeric_zero_one_stays_int():
    t = _table({"Churn": [1.0, 0.0, 1.0, None, 0.0], "x": [1, 2, 3, 4, 5]})
    s = infer_schema(t, target="Churn")
    assert s.task == "classification"
    s2 = Schema.from_dict(s.to_dict())
    assert s2.classes == [0, 1] and all(type(c) is int for c in s2.classes)
    assert typed_frame(t, s2)["Churn"].tolist() == [1, 0, 1, None, 0]
    assert all(type(v) is int for v in typed_frame(t, s2)["Churn"].dropna())


def test_labels_bools_stay_bools():
    t = _table({"Churn": [True, False, True], "x": [1, 2, 3]})
    s = Schema.from_dict(infer_schema(t, target="Churn").to_dict())
    assert s.classes == [False, True]
    assert typed_frame(t, s)["Churn"].tolist() == [True, False, True]


def test_class_with_one_row_is_allowed_with_a_note():
    t = _table({"Kind": ["a", "a", "b", "b", "c"], "x": [1, 2, 3, 4, 5]})
    s = infer_schema(t, target="Kind")
    assert s.classes == ["a", "b", "c"]
    assert any("Only one labelled row has c" in n for n in s.column("Kind").notes)


def test_classes_sort_naturally():
    t = _table({"Size": ["b", "B2", "a", "10", "9", "a", "b", "B2", "10", "9"], "x": list(range(10))})
    assert infer_schema(t, target="Size").classes == ["10", "9", "a", "b", "B2"]
    t2 = _table({"Grade": [10, 9, 2, 10, 9, 2], "x": list(range(6))})
    assert infer_schema(t2, target="Grade").classes == [2, 9, 10]


# --- errors a user sees -----------------------------------------------------------------------------


def test_unknown_target_lists_columns():
    with pytest.raises(DataError) as e:
        infer_schema(_table({"A": [1], "B": [2], "Churn": ["x"]}), target="Churnn")
    assert str(e.value) == (
        "There is no column 'Churnn' on sheet 'Data'. The columns are: A, B, Churn. "
        "Check the spelling of the target column."
    )


def test_unknown_ignore_lists_columns():
    with pytest.raises(DataError) as e:
        infer_schema(_table(_churn(4, Age=[1, 2, 3, 4])), target="Churn", ignore=["Agee"])
    assert "There is no column 'Agee' on sheet 'Data'. The columns are: Churn, Age." in str(e.value)
    assert "columns to ignore" in str(e.value)


def test_no_labelled_rows():
    with pytest.raises(DataError) as e:
        infer_schema(_table({"A": [1, 2], "B": [3, 4], "Churn": [None, "  "]}), target="Churn")
    assert str(e.value) == (
        "Every cell in the target column 'Churn' (column C) is blank, so there is nothing to learn from. "
        "Fill in the target for the rows you know."
    )


def test_single_class():
    with pytest.raises(DataError) as e:
        infer_schema(_table({"Churn": ["No", "No", None, "No"], "x": [1, 2, 3, 4]}), target="Churn")
    assert str(e.value).startswith("'Churn' has the same value 'No' on every labelled row")


def test_regression_with_too_few_rows():
    with pytest.raises(DataError) as e:
        infer_schema(_table({"Price": [1.5, 2.5, 3.75, None, None], "x": [1, 2, 3, 4, 5]}), target="Price")
    assert "Only 3 rows have a number in the target column 'Price' (column A)" in str(e.value)
    assert "at least 5" in str(e.value)


def test_target_with_a_different_value_on_every_row():
    with pytest.raises(DataError, match="different value on every labelled row"):
        infer_schema(_table({"Name": [f"person {i}" for i in range(20)], "x": list(range(20))}), target="Name")


def test_target_cannot_be_ignored():
    with pytest.raises(DataError, match="can't also be ignored"):
        infer_schema(_table(_churn(4, Age=[1, 2, 3, 4])), target="Churn", ignore=["churn"])


def test_date_target_is_an_error():
    with pytest.raises(DataError, match="holds dates"):
        infer_schema(_table({"When": ["2024-01-01", "2024-02-01"], "x": [1, 2]}), target="When")


# --- typed_frame on another table -------------------------------------------------------------------


def test_typed_frame_on_a_different_table_with_the_same_columns():
    train = _table(_churn(6, Price=["3,5", "1,25", "2", "4", "5,5", "6"], Plan=list("abcabc")))
    s = Schema.from_dict(infer_schema(train, target="Churn").to_dict())
    new = _table({"plan ": ["b", "z"], "PRICE": ["1,5", "7"], "Extra": [1, 2]})  # no target, other order
    f = typed_frame(new, s)
    assert list(f.columns) == ["Churn", "Price", "Plan"]
    assert f["Price"].tolist() == [1.5, 7.0]  # the decimal comma decided on training data is kept
    assert f["Plan"].tolist() == ["b", "z"]
    assert f["Churn"].isna().all()


def test_typed_frame_missing_feature_columns():
    s = infer_schema(_table(_churn(6, Price=[1, 2, 3, 4, 5, 6], Plan=list("abcabc"))), target="Churn")
    with pytest.raises(DataError) as e:
        typed_frame(_table({"Plan": ["a"], "Other": [1]}), s)
    assert "Sheet 'Data' has no column 'Price', which the model learned from" in str(e.value)
    assert "The columns are: Plan, Other." in str(e.value)


# --- properties -------------------------------------------------------------------------------------

_cell = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["", " ", "yes", "No", "n/a", "1,234", "3,5", "12%", "(3)", "$5", "x.png", "a b c d",
                     "2024-01-02", "31/12/2023", "#N/A", "0012", "1e400", "nan"]),
    st.text(max_size=6),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
    st.times(),
)


@st.composite
def _frames(draw):
    n_cols = draw(st.integers(1, 5))
    n_rows = draw(st.integers(0, 12))
    names = draw(st.lists(st.text(min_size=0, max_size=5), min_size=n_cols, max_size=n_cols))
    data = {f"_{j}": draw(st.lists(_cell, min_size=n_rows, max_size=n_rows)) for j in range(n_cols)}
    df = pd.DataFrame(data, dtype=object)
    df.columns = names
    return df


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=_frames(), data=st.data())
def test_random_tables_raise_only_sheetdl_errors(df, data):
    try:
        t = Table.from_dataframe(df)
        target = data.draw(st.sampled_from(list(t.columns) + ["missing"]))
        task = data.draw(st.sampled_from(["auto", "classification", "regression"]))
        s = infer_schema(t, target=target, task=task)
        f = typed_frame(t, s)
    except SheetDLError:
        return
    assert len(f) == t.n_rows
    assert s.target in f.columns
    for c in s.features:
        col = f[c.name]
        if c.kind in ("number", "boolean"):
            assert col.dtype == np.float64 and not np.isinf(col.to_numpy()).any()
        elif c.kind == "date":
            assert col.dtype == "datetime64[ns]"
        else:
            assert all(v is None or isinstance(v, str) for v in col)
    labels = f[s.target].dropna()
    if s.task == "classification":
        assert set(labels.map(lambda v: (type(v), v))) <= {(type(c), c) for c in s.classes}
    s2 = Schema.from_dict(s.to_dict())
    assert s2.classes == s.classes


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.floats(-1e9, 1e9), st.integers(-10**6, 10**6)), min_size=6, max_size=30))
def test_numbers_written_as_text_read_back(values):
    text = [f"{v:,}" for v in values]
    t = _table({"y": ["a", "b"] * (len(values) // 2) + ["a"] * (len(values) % 2), "v": text})
    s = infer_schema(t, target="y")
    if s.column("v").kind != "number":
        return
    got = typed_frame(t, s)["v"].to_numpy()
    assert np.allclose(got, np.array(values, dtype=float), rtol=1e-9, equal_nan=True)
