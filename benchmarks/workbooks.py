"""Synthetic workbooks shaped like an analyst's: mixed kinds, blanks, an ID, a target with real signal.

``make_mixed_workbook`` is used by ``speed.py`` and may be reused by tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["make_mixed_workbook", "MIXED_COLUMNS"]

_REGIONS = ["North", "South", "East", "West", "Central"]
_PLANS = ["Basic", "Standard", "Premium"]
_CHANNELS = ["Web", "Store", "Phone", "Partner"]
_WORDS = ["called", "about", "bill", "happy", "with", "service", "slow", "internet", "moving",
          "house", "price", "too", "high", "great", "support", "asked", "for", "discount", "new",
          "phone", "late", "payment", "upgrade", "plan"]

#: The columns in order (Target always last); fewer asked → the first ones, more → "Extra n" numbers.
MIXED_COLUMNS = [
    "Customer ID", "Age", "Income", "Tenure (months)", "Monthly charge", "Region", "Plan", "City",
    "Product code", "Has card", "Paperless billing", "Signup date", "Comment", "Support calls",
    "Satisfaction", "Discount (%)", "Channel", "Score A", "Score B",
]


def _blanks(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    return rng.random(n) < share


def _features(rng: np.random.Generator, n: int) -> tuple[dict[str, list], np.ndarray]:
    """Column name → cell values (None = blank), and the logit the target is drawn from."""
    age = rng.integers(18, 81, n)
    income = np.round(rng.lognormal(10.6, 0.45, n), 2)
    tenure = rng.integers(0, 121, n)
    charge = np.round(rng.uniform(15, 120, n), 2)
    region = rng.integers(0, len(_REGIONS), n)
    plan = rng.choice(len(_PLANS), n, p=[0.5, 0.3, 0.2])
    city = np.minimum(rng.zipf(1.6, n), 40)
    product = rng.integers(1, 301, n)
    card = rng.random(n) < 0.4
    paperless = rng.random(n) < 0.6
    signup = [dt.date(2015, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 3650, n)]
    calls = rng.poisson(1.5, n)
    satisfaction = rng.integers(1, 6, n)
    discount = np.round(rng.choice([0, 0, 0, 5, 10, 15, 20], n) + 0.0, 1)
    channel = rng.integers(0, len(_CHANNELS), n)

    z = lambda x: (x - x.mean()) / (x.std() + 1e-9)  # noqa: E731
    logit = (
        0.6 * z(age.astype(float))
        - 0.5 * z(np.log(income))
        - 0.8 * z(tenure.astype(float))
        + 0.4 * z(charge)
        + np.array([0.0, 0.4, -0.3, 0.2, -0.5])[region]
        + np.array([0.5, 0.0, -0.7])[plan]
        - 0.5 * card
        + 0.45 * (calls - 1.5)
        - 0.4 * (satisfaction - 3)
        + rng.normal(0, 1.0, n)  # noise: the signal is real but not perfect
    )

    def with_blanks(values, share: float) -> list:
        holes = _blanks(rng, n, share)
        return [None if h else v for v, h in zip(values, holes)]

    charge_cells: list = [float(v) for v in charge]
    for i in np.flatnonzero(rng.random(n) < 0.01):  # a few numbers typed as text
        charge_cells[i] = f"{charge[i]:.2f}"
    comments = []
    for _ in range(n):
        k = int(rng.integers(0, 6))
        comments.append(" ".join(rng.choice(_WORDS, k)) if k else None)

    cols: dict[str, list] = {
        "Customer ID": [f"C{i + 100001}" for i in range(n)],
        "Age": with_blanks([int(v) for v in age], 0.03),
        "Income": with_blanks([float(v) for v in income], 0.05),
        "Tenure (months)": [int(v) for v in tenure],
        "Monthly charge": with_blanks(charge_cells, 0.02),
        "Region": with_blanks([_REGIONS[i] for i in region], 0.02),
        "Plan": [_PLANS[i] for i in plan],
        "City": [f"City {int(c):02d}" for c in city],
        "Product code": [f"P-{int(p):03d}" for p in product],
        "Has card": ["yes" if c else "no" for c in card],
        "Paperless billing": with_blanks(["Yes" if c else "No" for c in paperless], 0.04),
        "Signup date": signup,
        "Comment": comments,
        "Support calls": [int(v) for v in calls],
        "Satisfaction": with_blanks([int(v) for v in satisfaction], 0.05),
        "Discount (%)": [float(v) for v in discount],
        "Channel": [_CHANNELS[i] for i in channel],
        "Score A": [float(v) for v in np.round(rng.normal(50, 10, n), 1)],
        "Score B": [float(v) for v in np.round(rng.uniform(0, 1, n), 3)],
    }
    return cols, logit


def make_mixed_workbook(path, rows: int = 10_000, cols: int = 20, seed: int = 0,
                        *, target_blank: float = 0.05) -> Path:
    """Write an .xlsx of ``rows`` data rows × ``cols`` columns (header on row 1, 'Target' last).

    The target is Yes/No, drawn from several columns plus noise, blank on ``target_blank`` of rows.
    Same arguments → same cell values.
    """
    import xlsxwriter

    if rows < 1 or cols < 2:
        raise ValueError("make_mixed_workbook needs at least 1 row and 2 columns")
    rng = np.random.default_rng(seed)
    features, logit = _features(rng, rows)
    names = MIXED_COLUMNS[: cols - 1]
    for k in range(1, cols - len(MIXED_COLUMNS)):
        name = f"Extra {k}"
        features[name] = [float(v) for v in np.round(rng.normal(0, 1, rows), 3)]
        names.append(name)
    threshold = np.median(logit)
    target: list = ["Yes" if v > threshold else "No" for v in logit]
    for i in np.flatnonzero(_blanks(rng, rows, target_blank)):
        target[i] = None
    columns: list[tuple[str, list]] = [(n, features[n]) for n in names] + [("Target", target)]

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": dt.datetime(2024, 1, 1)})
    ws = wb.add_worksheet("Data")
    date_format = wb.add_format({"num_format": "yyyy-mm-dd"})
    bold = wb.add_format({"bold": True})
    writers: list[Callable] = []
    for name, values in columns:
        first = next((v for v in values if v is not None), None)
        if isinstance(first, dt.date):
            writers.append(lambda r, c, v: ws.write_datetime(r, c, v, date_format))
        else:
            writers.append(ws.write)
    ws.write_row(0, 0, [name for name, _ in columns], bold)
    for r in range(rows):
        for c, (_, values) in enumerate(columns):
            v = values[r]
            if v is not None:
                writers[c](r + 1, c, v)
    wb.close()
    return path
