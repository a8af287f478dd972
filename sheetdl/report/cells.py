"""Cell helpers shared by the sheets SheetDL writes (data columns, report, importance, images).

A result becomes a cell here: an A1 reference, a plain Python value (numpy scalars unwrapped, NaN
blank), a regression prediction rounded to a sensible number of decimals and its number format, a
column wide enough for its text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..sheets import column_letter

# colours (RRGGBB)
HEADER_FILL = "DDEBF7"  # light blue: header cells SheetDL wrote
HEADING_COLOR = "1F4E79"  # dark blue: a sheet's title and headings
MUTED_COLOR = "595959"  # grey: explanations under a heading


def cell_ref(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


def native(v: Any) -> Any:
    """A plain Python value for a cell: numpy scalars unwrapped, NaN/NaT → None."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).to_pydatetime()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def finite(v) -> float:
    v = native(v)
    return float(v) if isinstance(v, int | float) else float("-inf")


def decimals_for(values) -> int:
    """Decimals that show a regression prediction sensibly: about three significant digits of its
    spread (house prices → whole numbers; a 0-5 rating → 2 decimals)."""
    arr = np.array([native(v) for v in values], dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return 2
    scale = float(np.std(arr)) or float(np.median(np.abs(arr)))
    if scale <= 0:
        return 2
    return int(min(6, max(0, 2 - math.floor(math.log10(scale)))))


def rounded(v, decimals: int):
    v = native(v)
    if not isinstance(v, int | float) or isinstance(v, bool):
        return v
    r = round(float(v), decimals)
    return int(r) if decimals == 0 else r


def number_format(decimals: int) -> str:
    return "#,##0" if decimals == 0 else "#,##0." + "0" * decimals


def text_width(values: Sequence[Any], lo: float, hi: float) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    return float(min(hi, max(lo, longest + 2)))
