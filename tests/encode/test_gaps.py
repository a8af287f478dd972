"""Rare blanks are practised in training, so rows with them are answered from their other columns."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import sheetdl
from sheetdl.encode import TableEncoder
from sheetdl.encode.blanks import GAP_LEARNED_ROWS, GAP_MAX_SHARE, rare_gaps
from sheetdl.schema import Column
from sheetdl.training import fit as training


def _features(frame: pd.DataFrame) -> list[Column]:
    kinds = {"n1": "number", "n2": "number", "group": "category", "common": "number"}
    return [Column(name=c, kind=kinds[c], role="feature", reason="") for c in frame.columns]


def _frame(n: int = 200, rare_rows=(3, 7), common_rows: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"n1": rng.normal(size=n), "n2": rng.normal(size=n),
                      "group": rng.choice(["A", "B", "C"], n).astype(object), "common": rng.normal(size=n)})
    f.loc[list(rare_rows), ["n1", "group"]] = np.nan
    f.loc[9, "n2"] = np.nan
    f.loc[:common_rows - 1, "common"] = np.nan
    return f


def test_rare_blanks_become_patterns_over_the_encoded_inputs():
    frame = _frame(common_rows=GAP_LEARNED_ROWS)
    enc = TableEncoder().fit(frame, _features(frame))
    gaps = rare_gaps(frame, enc)
    # 'common' has enough blanks for the network to learn what they mean: it is left alone
    assert gaps.columns == ["n1", "n2", "group"]
    slices = enc.slices()
    num, cat = gaps.numeric_mask.numpy(), gaps.categorical_mask.numpy()
    # two combinations the rows have: n1 with group (rows 3, 7), and n2 alone (row 9)
    assert len(num) == 2
    both = [p for p in range(2) if cat[p].any()]
    assert len(both) == 1 and num[both[0], slices["n1"][1]].all() and not num[both[0], slices["n2"][1]].any()
    assert not num[:, slices["common"][1]].any()
    # a blank is encoded as the encoders encode a real one: fill value 0 with the indicator on, code 0
    blank = enc.transform(pd.DataFrame({"n1": [np.nan], "n2": [np.nan], "group": [None], "common": [np.nan]}))
    assert np.allclose(gaps.numeric_blank.numpy(), blank.numeric[0])
    assert gaps.categorical_blank.tolist() == [0]
    assert 0 < gaps.share <= GAP_MAX_SHARE

    # applied to a batch, about `share` of the rows get one pattern; the others are untouched
    torch.manual_seed(0)
    real = enc.transform(frame.iloc[:0].reindex(range(4000)).fillna({"n1": 1.0, "n2": 1.0, "common": 1.0})
                         .assign(group="B"))
    x_num, x_cat = torch.as_tensor(real.numeric), torch.as_tensor(real.categorical)
    num2, cat2 = gaps.apply(x_num, x_cat)
    changed = (num2 != x_num).any(1) | (cat2 != x_cat).any(1)
    assert abs(changed.float().mean().item() - gaps.share) < 0.03
    ind = slices["n1"][1][1]  # n1's missing indicator
    assert torch.equal(num2[:, ind] == 1, cat2[:, 0] == 0)  # n1 and group are blanked together


def test_no_rare_blanks_no_practice():
    frame = _frame(rare_rows=(), common_rows=GAP_LEARNED_ROWS + 5).drop(index=9)
    enc = TableEncoder().fit(frame, _features(frame))
    assert rare_gaps(frame, enc) is None


def _islands(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """The species follows the size exactly; the island only mostly (85 %). Two rows have no size."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["small", "medium", "large"], n)
    home = {"small": "North", "medium": "East", "large": "South"}
    others = ["North", "East", "South"]
    island = [home[s] if rng.random() < 0.85 else others[rng.integers(3)] for s in species]
    centre = {"small": 10.0, "medium": 20.0, "large": 30.0}
    size = np.array([centre[s] for s in species]) + rng.uniform(-4, 4, n)
    df = pd.DataFrame({"island": island, "size": size, "species": species})
    df["weight"] = df["size"] * 3 + rng.normal(0, 1, n)
    df.loc[[0, 1], ["size", "weight"]] = np.nan  # two rows measured nothing
    return df


@pytest.mark.parametrize("practice", [True, False])
def test_rows_with_a_rare_blank_are_answered_from_their_other_columns(monkeypatch, practice):
    monkeypatch.setattr(training, "GAP_PRACTICE", practice)
    df = _islands()
    model = sheetdl.fit(df, target="species", time_budget=8, seed=0)
    unmeasured = pd.DataFrame({"island": ["North", "East", "South"], "size": [np.nan] * 3,
                               "weight": [np.nan] * 3})
    guess = list(model.predict(unmeasured))
    if practice:
        # without a size, the island is the best guess there is
        assert guess == ["small", "medium", "large"]
    else:
        # what the practice fixes: the blank read as the median size, or as the two blank rows' species
        assert guess != ["small", "medium", "large"]
    # measured rows are still answered from their size
    measured = pd.DataFrame({"island": ["South", "North"], "size": [10.0, 30.0], "weight": [30.0, 90.0]})
    assert list(model.predict(measured)) == ["small", "large"]


@pytest.mark.parametrize("practice", [True, False])
def test_blanks_only_rows_to_fill_have_are_practised(monkeypatch, practice):
    """No training row lacks a size, but three rows to fill in do: their blanks are practised, so
    they are answered by island; without the practice the blank is read as the median size (and the
    report names those cells)."""
    from sheetdl.engine import train_table
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import Table
    from sheetdl.training import FitOptions

    monkeypatch.setattr(training, "GAP_PRACTICE", practice)
    df = _islands().iloc[2:].reset_index(drop=True)  # every training row measured
    fill = pd.DataFrame({"island": ["North", "East", "South", "North"], "size": [np.nan, np.nan, np.nan, 30.0],
                         "species": [None] * 4, "weight": [np.nan, np.nan, np.nan, 90.0]})
    df = pd.concat([df, fill], ignore_index=True)
    df["species"] = df["species"].astype(object)
    table = Table.from_dataframe(df)
    schema = infer_schema(table, target="species")
    model, res = train_table(table, schema, FitOptions(time_budget=8), reasons=False)
    guess = list(res.prediction[-4:])
    noted = [n for n in res.notes if "has not learned what a blank" in n]
    if practice:
        assert guess == ["small", "medium", "large", "large"]
        assert not noted
        assert "size" not in model.blank_free  # saved: later blanks there are known
    else:
        assert guess[:3] != ["small", "medium", "large"] and guess[3] == "large"
        at = res.notes.index(noted[0])
        assert res.notes[at + 1:at + 3] == ["    'size': B600, B601 and B602", "    'weight': D600, D601 and D602"]


def test_blanks_never_seen_in_training_are_reported_with_their_cells(tmp_path):
    """A column filled in on every row of the training sheet, blank on rows of another sheet the saved
    model predicts: the model read those blanks as a fill value it never learned from, and the report
    says so, with the cells. Columns that had blanks in training, or whose blanks were practised
    (rows to fill in had them), don't get a note; nor do models saved before this was recorded."""
    from sheetdl.engine import train_table
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import Table
    from sheetdl.training import FitOptions

    rng = np.random.default_rng(5)
    n = 120
    df = pd.DataFrame({"size": rng.normal(size=n), "weight": rng.normal(size=n),
                       "island": rng.choice(["A", "B"], n).astype(object), "length": rng.normal(size=n)})
    df["label"] = np.where(df["size"] > 0, "big", "small").astype(object)
    df.loc[[10, 11], "label"] = None          # rows to fill in
    df.loc[10, "size"] = np.nan               # ... one with a size never blank in the labelled rows
    df.loc[[3, 40, 11], "weight"] = np.nan    # weight has blanks among the labelled rows
    table = Table.from_dataframe(df)
    schema = infer_schema(table, target="label")
    model, res = train_table(table, schema, FitOptions(time_budget=20), reasons=False)
    assert not [n for n in res.notes if "has not learned what a blank" in n]

    model.save(tmp_path / "m.sheetdl")
    loaded = sheetdl.load(tmp_path / "m.sheetdl")
    other = df.drop(columns="label").iloc[:12].copy()
    other.loc[[2, 5, 6, 7, 8, 9], "length"] = np.nan
    other.loc[[4], ["size", "weight"]] = np.nan
    other.loc[10, "island"] = None
    notes = loaded.results_for(Table.from_dataframe(other), reasons=False).notes
    at = [i for i, n in enumerate(notes) if "has not learned what a blank" in n]
    assert len(at) == 1
    assert notes[at[0] + 1:] == ["    'island': C12", "    'length': D4, D7, D8, D9, D10 and 1 more"]

    # a model saved before training recorded this (None) says nothing
    loaded.blank_free = None
    assert not [n for n in loaded.results_for(Table.from_dataframe(other), reasons=False).notes
                if "has not learned" in n]


def test_the_note_lists_a_few_columns_and_counts_the_rest():
    from sheetdl.encode.blanks import _LISTED_COLUMNS, unseen_blank_notes
    from sheetdl.schema import Schema
    from sheetdl.sheets import Table

    n_cols = _LISTED_COLUMNS + 3
    df = pd.DataFrame({f"c{i}": [1.0, np.nan, 3.0] for i in range(n_cols)})
    cols = [Column(name=c, kind="number", role="feature", reason="") for c in df.columns]
    notes = unseen_blank_notes(Schema(columns=cols, target="y", task="regression", task_reason=""), list(df.columns),
                               df, np.arange(3), Table.from_dataframe(df))
    assert notes[1] == "    'c0': A3" and len(notes) == 1 + _LISTED_COLUMNS + 1
    assert notes[-1] == "    and 3 more columns"


# ---- blanks the model never saw: answered from the training rows most like them ------------------
def test_donors_fill_a_blank_with_the_values_of_the_nearest_rows(monkeypatch):
    from sheetdl.encode import blanks as gaps

    monkeypatch.setattr(gaps, "FILL_NEIGHBOURS", 3)
    donors = gaps.Donors(
        pd.DataFrame({"size": [1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0],
                      "island": pd.Series(["A", "A", "A", "B", "B", "B", "A"], dtype=object),
                      "day": pd.to_datetime(["2020-01-01"] * 6 + ["2020-06-01"]).astype("datetime64[ns]"),
                      "flag": [0.0, 1.0, 0.0, 1.0, 1.0, 1.0, np.nan]}),
        {"size": "number", "island": "category", "day": "date", "flag": "boolean"})
    frame = pd.DataFrame({"size": [5.0, np.nan, np.nan], "island": ["A", "B", "A"],
                          "day": pd.to_datetime(["2020-01-01"] * 3).astype("datetime64[ns]"),
                          "flag": [1.0, 1.0, 0.0]})
    filled = donors.fill(frame, ["size"])
    # the measured row is predicted once, each blank one three times with its neighbours' sizes:
    # row 1 (island B, flag 1) from the three B rows; row 2 (island A, flag 0, January) from the two
    # A rows that match it all and the A row of January with the other flag (the June A row and the B
    # rows differ in two columns)
    assert list(filled.owner) == [0, 1, 1, 1, 2, 2, 2]
    assert filled.neighbours == 3
    assert filled.frame["size"].iloc[0] == 5.0
    assert sorted(filled.frame["size"].iloc[1:4]) == [10.0, 11.0, 12.0]
    assert sorted(filled.frame["size"].iloc[4:7]) == [1.0, 2.0, 3.0]
    assert (filled.frame["island"].iloc[1:4] == "B").all()  # the other cells stay the row's own
    assert filled.frame["day"].dtype == frame["day"].dtype and filled.frame["size"].dtype == np.float64
    assert list(filled.filled) == ["size"] and list(filled.filled["size"]) == [False, True, True]
    # answers are averaged back per row, and their spread over the neighbours measured
    answers = np.array([7.0, 1.0, 2.0, 3.0, 5.0, 5.0, 5.0])
    assert np.allclose(filled.mean(answers), [7.0, 2.0, 5.0])
    assert np.allclose(filled.spread(answers), [0.0, np.std([1.0, 2.0, 3.0]), 0.0])
    assert list(filled.positions(np.array([0, 2]))) == [0, 4, 5, 6]
    # nothing blank there: the frame as it is
    assert donors.fill(frame.iloc[:1], ["size"]).owner is None
    # the kept rows survive the model file's JSON, blanks and dates included
    back = gaps.Donors.from_json(json.loads(json.dumps(donors.to_json())))
    pd.testing.assert_frame_equal(back.frame, donors.frame)
    assert back.kinds == donors.kinds


def test_a_blank_never_seen_in_training_is_answered_from_the_rows_most_like_it(tmp_path):
    """Every training row has a size; another sheet predicted with the saved model has rows without
    one. They are answered as the training rows from their island would be (the island mostly says
    the species), not as a penguin of median size; the Why column doesn't name the size they lack,
    and the report says how those rows were answered. A model without kept rows reads the median."""
    from sheetdl.sheets import Table

    df = _islands().iloc[2:].reset_index(drop=True)
    model = sheetdl.fit(df, target="species", time_budget=8, seed=0)
    assert model.donors is not None and len(model.donors.frame) == len(df)
    model.save(tmp_path / "m.sheetdl")
    loaded = sheetdl.load(tmp_path / "m.sheetdl")
    other = pd.DataFrame({"island": ["North", "East", "South", "South"], "size": [np.nan, np.nan, np.nan, 10.0],
                          "weight": [np.nan, np.nan, np.nan, 30.0]})
    assert list(loaded.predict(other)) == ["small", "medium", "large", "small"]
    res = loaded.results_for(Table.from_dataframe(other))
    assert list(res.prediction) == ["small", "medium", "large", "small"]
    # the island chose the rows whose sizes answered them: it gets the credit; the blanks are named
    assert res.reasons[0].startswith("island = North (+") and res.reasons[1].startswith("island = East (+")
    assert all(why.endswith("size and weight blank: answered as similar rows are") and "size =" not in why
               for why in res.reasons[:3]), res.reasons
    assert res.reasons[3].startswith("size = 10 (+")
    note = [n for n in res.notes if "has not learned what a blank" in n]
    assert len(note) == 1 and "answered as the 20 rows it learned from that are most like them" in note[0]
    proba = loaded.predict_proba(other)
    assert np.allclose(proba.to_numpy().sum(1), 1.0) and (proba.to_numpy()[:3].max(1) < 0.99).all()

    loaded.donors = None  # as a model saved before: the blank is read as a typical size
    assert list(loaded.predict(other))[:3] != ["small", "medium", "large"]
    assert not [n for n in loaded.results_for(Table.from_dataframe(other), reasons=False).notes
                if "most like them" in n]


def test_a_number_predicted_with_a_blank_never_seen_gets_a_wider_range():
    """Regression: the Low–High range of a row answered from its neighbours' values includes how much
    the answer differs over them."""
    df = _islands().iloc[2:].reset_index(drop=True).drop(columns="species")
    model = sheetdl.fit(df, target="weight", time_budget=8, seed=0)
    other = pd.DataFrame({"island": ["South", "South"], "size": [30.0, np.nan]})
    low, high = model.interval(other)
    assert np.all(np.isfinite(low)) and np.all(low < high)
    guess = model.predict(other).to_numpy(dtype=float)
    assert 60 < guess[1] < 110 and (high[1] - low[1]) > 1.5 * (high[0] - low[0])
