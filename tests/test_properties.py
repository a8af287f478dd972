"""Property test: awkward small tables go through the whole engine, or end in one of SheetDL's own errors.

Hypothesis draws small tables (30–120 rows) with the shapes real sheets have and the engine finds hard:
numbers with two or three values, categories too rare to reach every fold (or missing from a block of
rows), columns blank on a long run of rows, a class with one row, long free text, and headers and
cells that look like markup, formulas or brackets (`Weight [kg]`, `[/b]`, `[bold]x`, `=1+1`, `-x`,
`@a`). Each goes train → reasons → importance → report layout → save → load → predict (columns in
another order, a few cells blank that were never blank in training). Anything raised that is not a
:class:`sheetdl.errors.SheetDLError` fails the test. Derandomized, so CI sees the same examples each run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sheetdl
from sheetdl.errors import SheetDLError

#: headers and cells that mean something to rich, Excel or a shell
ODD_NAMES = ["Weight [kg]", "[/b]", "[bold]x", "=1+1", "-x", "@a", "Price ($)", "a'b \"c\"", "Größe",
             "[link=http://x]y[/link]", "\\[x]", "+1", "Rate %", "  padded  ", "x" * 60]
ODD_CELLS = ["[/b]", "[bold]x", "=1+1", "-x", "@a", "[red]", "\\[y]", "+1", "a\nb", "ünï", "#N/A?", "[/]"]
PLAIN_NAMES = ["Age", "Plan", "Region", "Score", "Notes", "Flag", "Count", "Level", "Size", "Colour"]
WORDS = "the a customer paid late early often never [b] =x sometimes bold @home -plan [/i] service".split()

COLUMN_KINDS = ["number", "low_card_number", "category", "rare_category", "bool", "long_text", "odd_text"]


@st.composite
def tables(draw):
    """(DataFrame, target header, seed for the values)."""
    n = draw(st.integers(30, 120))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    kinds = draw(st.lists(st.sampled_from(COLUMN_KINDS), min_size=1, max_size=5))
    names = draw(st.lists(st.sampled_from(ODD_NAMES + PLAIN_NAMES), min_size=len(kinds) + 1,
                          max_size=len(kinds) + 1, unique_by=lambda s: s.strip().casefold()))
    cols: dict[str, object] = {}
    signal = rng.normal(size=n)
    for name, kind in zip(names[1:], kinds):
        if kind == "number":
            v = signal * rng.uniform(0.5, 2) + rng.normal(size=n)
        elif kind == "low_card_number":
            v = rng.choice(rng.normal(size=draw(st.integers(1, 3))).round(2) * 10, size=n)
        elif kind == "category":
            v = np.where(signal > 0, "high", "low").astype(object)
            v[rng.random(n) < 0.3] = rng.choice(ODD_CELLS)
        elif kind == "rare_category":  # levels with 1–2 rows, and one only in a block of rows
            v = rng.choice(["a", "b"], size=n).astype(object)
            v[rng.choice(n, size=min(n, 3), replace=False)] = rng.choice(["once", "[rare]", "=1+1"], size=min(n, 3))
            start = int(rng.integers(0, n - 10))
            v[start:start + 10] = "only here"
        elif kind == "bool":
            v = signal + rng.normal(size=n) > 0
        elif kind == "long_text":
            v = np.array([" ".join(rng.choice(WORDS, size=int(rng.integers(20, 80)))) for _ in range(n)], dtype=object)
        else:  # odd_text: few values, all of them markup or formulas
            v = rng.choice(ODD_CELLS, size=n).astype(object)
        v = pd.Series(v, dtype=object if not np.issubdtype(np.asarray(v).dtype, np.number) else float)
        if draw(st.booleans()):  # blank on a contiguous run of rows (a whole fold's worth or more)
            start = int(rng.integers(0, n))
            v.iloc[start:start + int(n * rng.uniform(0.2, 0.6))] = None
        cols[name] = v

    target = names[0]
    task = draw(st.sampled_from(["two classes", "classes with a one-row class", "number", "low-card number"]))
    if task == "two classes":
        y = np.where(signal + 0.5 * rng.normal(size=n) > 0, "yes", "no").astype(object)
    elif task == "classes with a one-row class":
        y = rng.choice(["[red]", "=A1", "plain"], size=n).astype(object)
        y[int(rng.integers(0, n))] = "one row"
    elif task == "number":
        y = (3 * signal + rng.normal(size=n)).astype(object)
    else:
        y = rng.choice([0.0, 1.0, 2.0], size=n).astype(object)
    blank = rng.random(n) < draw(st.sampled_from([0.0, 0.1, 0.3]))
    y[blank] = None
    cols[target] = y
    order = draw(st.permutations(list(cols)))
    return pd.DataFrame({c: cols[c] for c in order}), target, seed


def _through_the_engine(df: pd.DataFrame, target: str, seed: int, folder) -> str:
    """'done', or the message of the SheetDL error that refused the table; anything else raises."""
    from sheetdl.engine import train_table
    from sheetdl.report import layout, summary_sentences
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import Table
    from sheetdl.training import FitOptions

    try:
        table = Table.from_dataframe(df)
        schema = infer_schema(table, target=target)
        model, res = train_table(table, schema, FitOptions(time_budget=1, seed=0, device="cpu"), reasons=True)
        assert len(res.prediction) == len(df)
        assert res.reasons is not None and len(res.reasons) == len(df)
        summary_sentences(res, table)
        layout(res, table, ["Sheet1"])
        imp = model.importance()
        assert set(imp["column"]) <= set(table.columns)

        model.save(folder / "m.sheetdl")
        loaded = sheetdl.load(folder / "m.sheetdl")
        rng = np.random.default_rng(seed)
        new = df[list(rng.permutation(df.columns))].copy()
        features = [c for c in new.columns if c != target]
        new.loc[rng.random(len(new)) < 0.2, rng.choice(features)] = None  # blanks the model may not know
        new_table = Table.from_dataframe(new)
        again = loaded.results_for(new_table, reasons=True)
        assert len(again.prediction) == len(new)
        layout(again, new_table, ["Sheet1"])
        assert len(loaded.predict(new)) == len(new)
        if loaded.task == "classification":
            proba = loaded.predict_proba(new)
            assert np.allclose(proba.to_numpy().sum(axis=1), 1, atol=1e-4)
        else:
            low, high = loaded.interval(new)
            assert (np.asarray(low) <= np.asarray(high)).all()
    except SheetDLError as e:  # a refusal in words is a fine answer to an awkward table
        return str(e)
    return "done"


@pytest.mark.filterwarnings("ignore")
def test_awkward_tables_end_in_results_or_our_errors(tmp_path):
    outcomes: list[str] = []

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],  # shrinking would refit dozens of times
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(tables())
    def check(example):
        df, target, seed = example
        folder = tmp_path / str(len(outcomes))
        folder.mkdir()
        outcomes.append(_through_the_engine(df, target, seed, folder))

    check()
    refused = [o for o in outcomes if o != "done"]
    print(f"{len(outcomes) - len(refused)} of {len(outcomes)} tables went through; refusals: {refused}")
    # the tables are built to be learnable: most must get all the way through, or the test proves nothing
    assert len(refused) <= len(outcomes) // 3, refused
