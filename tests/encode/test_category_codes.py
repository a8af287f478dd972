"""A category encoder may keep no value of its own (every training row of a fold blank there): then
the only code it emits is 0, its embedding has one row, and nothing may assume code 1 exists.

Found on a 1,014-row sheet: explaining the rows set such a column to "code 1, the most frequent
category" and the embedding raised IndexError ('SheetDL ran into a problem it did not expect')."""

import numpy as np
import pandas as pd
import pytest
import torch

from sheetdl.encode import CategoryEncoder, TableEncoder
from sheetdl.schema import Column


def test_an_encoder_that_kept_no_value_emits_only_code_0():
    empty = CategoryEncoder().fit(pd.Series([None, np.nan, None], dtype=object))
    assert empty.cardinality == 1
    assert empty.transform(pd.Series(["F", None, "M"], dtype=object)).tolist() == [0, 0, 0]
    assert empty.typical_code == 0  # the only code it has
    kept = CategoryEncoder().fit(pd.Series(["M", "F", "F", "M", "F"], dtype=object))
    assert kept.categories_ == ["F", "M"] and kept.typical_code == 1  # the most frequent value
    # encoders saved before typical_code existed read it from what they kept
    assert CategoryEncoder.from_json(empty.to_json()).typical_code == 0
    assert CategoryEncoder.from_json({"categories_": ["F"], "fitted_": True}).typical_code == 1


def _net(encoder: TableEncoder, n_outputs: int = 2):
    from sheetdl.models.tabular import TabularNet

    torch.manual_seed(0)
    return TabularNet(n_numeric=encoder.n_numeric, cardinalities=encoder.cardinalities,
                      vocab_sizes=encoder.vocab_sizes, n_outputs=n_outputs, hidden=8, depth=1,
                      continuous=encoder.continuous).eval()


class _Member:
    def __init__(self, encoder, net):
        self.encoder, self.net = encoder, net


def _probabilities(members, encs):
    outs = []
    with torch.no_grad():
        for m, e in zip(members, encs):
            outs.append(torch.softmax(m.net(*(torch.as_tensor(a) for a in e.arrays)), dim=1).numpy())
    return np.mean(outs, axis=0)


def _fold_frames():
    """A fold whose training rows are all blank in 'sex', and rows to explain that have it."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"bp": rng.normal(120, 10, 40), "sex": pd.Series([None] * 40, dtype=object)})
    rows = pd.DataFrame({"bp": [110.0, 130.0, 125.0], "sex": pd.Series(["F", "M", None], dtype=object)})
    features = [Column(name="bp", kind="number", role="feature", reason=""),
                Column(name="sex", kind="category", role="feature", reason="")]
    return train, rows, features


def test_reasons_for_a_category_a_fold_never_saw_filled():
    from sheetdl.engine.explain import row_reasons

    train, rows, features = _fold_frames()
    encoder = TableEncoder().fit(train, features)
    assert encoder.cardinalities == [1]
    member = _Member(encoder, _net(encoder))
    reasons = row_reasons([member], rows, rows, "classification", _probabilities, np.array([0, 1, 0]))
    assert len(reasons) == 3
    # the fold read every 'sex' as unknown: it cannot be a reason for any answer
    assert not any("sex" in r for r in reasons)


def test_each_member_makes_a_category_typical_with_its_own_codes():
    """One fold kept no value of 'sex', the other kept both: each is made typical its own way."""
    from sheetdl.engine.explain import row_reasons

    train, rows, features = _fold_frames()
    other = train.assign(sex=np.where(np.arange(40) % 3 == 0, "M", "F").astype(object))
    members = [_Member(e, _net(e)) for e in (TableEncoder().fit(train, features),
                                               TableEncoder().fit(other, features))]
    assert [m.encoder.cardinalities for m in members] == [[1], [3]]
    reasons = row_reasons(members, rows, rows, "classification", _probabilities, np.array([0, 1, 0]))
    assert len(reasons) == 3


def test_permutation_importance_of_a_category_a_fold_never_saw_filled():
    from sheetdl.engine.explain import permutation_importance

    train, rows, features = _fold_frames()
    frame = pd.concat([train, rows], ignore_index=True)
    encoder = TableEncoder().fit(train, features)
    member = _Member(encoder, _net(encoder))
    y = (frame["bp"] > 120).to_numpy().astype(int)
    folds = np.arange(len(frame)) % 2

    def predict(m, enc):
        return _probabilities([_Member(encoder, m.net)], [enc])

    out = permutation_importance([member, member], frame, y, np.arange(len(frame)), folds, "classification",
                                 predict)
    assert {i.column for i in out} == {"bp", "sex"}
    assert next(i for i in out if i.column == "sex").drop == 0  # every code 0: shuffling changes nothing


def _sheet(seed: int = 0, n: int = 300) -> pd.DataFrame:
    """Vital signs decide the risk; 'Ward' is filled in only on rows whose risk is blank, so every
    fold's training rows are blank there."""
    rng = np.random.default_rng(seed)
    bp = rng.choice(np.arange(90, 160, 10), n).astype(float)
    hr = rng.choice([60.0, 70.0, 80.0, 90.0], n)
    risk = np.where(bp >= 140, "high", np.where(bp >= 120, "mid", "low")).astype(object)
    df = pd.DataFrame({"BP": bp, "HeartRate": hr, "Ward": pd.Series([None] * n, dtype=object), "Risk": risk})
    blank = np.arange(n - 30, n)
    df.loc[blank, "Risk"] = None
    df.loc[blank, "Ward"] = np.where(blank % 2 == 0, "North", "South")
    return df


def test_training_explains_rows_of_a_category_no_training_row_has():
    """End to end: the category's every fold encoder kept no value; training explains every row,
    and a saved model explains another table with that column filled in."""
    from sheetdl.engine import train_table
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import Table
    from sheetdl.training import FitOptions

    table = Table.from_dataframe(_sheet())
    schema = infer_schema(table, target="Risk")
    assert next(c for c in schema.columns if c.name == "Ward").kind == "category"
    model, res = train_table(table, schema, FitOptions(time_budget=6), reasons=True)
    assert len(model.members) > 1
    assert all(m.encoder.cardinalities == [1] for m in model.members)
    assert len(res.reasons) == 300 and all(res.reasons)
    assert {i.column for i in res.importance} == {"BP", "HeartRate", "Ward"}


def test_a_saved_model_explains_a_category_a_fold_never_saw_filled(tmp_path):
    import sheetdl
    from sheetdl.sheets import Table

    df = _sheet(1)
    model = sheetdl.fit(df, target="Risk", time_budget=5)
    path = tmp_path / "m.sheetdl"
    model.save(path)
    loaded = sheetdl.load(path)
    new = df.iloc[-10:].drop(columns="Risk").reset_index(drop=True)
    res = loaded.results_for(Table.from_dataframe(new))
    assert len(res.reasons) == 10 and all(res.reasons)
    assert list(loaded.predict(new)) == list(model.predict(new))


@pytest.mark.parametrize("filled", [0, 2])
def test_rare_blank_practice_and_codes_stay_within_the_embedding(filled):
    """Whether a fold kept no value (every row blank) or kept values seen once (no value reached
    MIN_CATEGORY_COUNT, so the encoder keeps them all), the blank it practises is code 0 and every
    code it emits for the rows to fill has a row in its embedding."""
    from sheetdl.encode import rare_gaps

    train, rows, features = _fold_frames()
    train = train.assign(sex=pd.Series([None] * (40 - filled) + ["F", "M"][:filled], dtype=object))
    encoder = TableEncoder().fit(train, features)
    assert encoder.cardinalities == [1 + filled]
    gaps = rare_gaps(train, encoder, to_fill=rows)
    assert gaps is None or gaps.categorical_blank.tolist() == [0]
    codes = encoder.transform(rows).categorical
    assert 0 <= codes.min() and codes.max() < encoder.cardinalities[0]
    net = _net(encoder)
    assert net.embeddings[0].num_embeddings == encoder.cardinalities[0]
