"""How long reading a full-height sheet takes, and how much memory: read_table + infer_schema.

    python benchmarks/big_sheet.py                 # 1,048,576 rows (Excel's limit: a header + 1,048,575)
    python benchmarks/big_sheet.py --rows 200000

Prints the time and the peak resident memory of each step. The workbook is written with xlsxwriter
(constant memory) into a temporary folder first; writing it is timed too but is not SheetDL's work.
Each step runs in this one process, so the peak memory is the whole process's (Python, pandas,
numpy and calamine included).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

EXCEL_MAX_ROWS = 1_048_576


def write_big_sheet(path, n_rows: int) -> Path:
    """A 'Data' sheet: a header and ``n_rows`` rows of six mixed columns (id, category, numbers, a
    yes/no target blank on every 10th row). Deterministic."""
    import xlsxwriter

    path = Path(path)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Data")
    ws.write_row(0, 0, ["CustomerID", "Plan", "Tenure", "Monthly", "Region", "Churn"])
    plans = ("Basic", "Plus", "Pro")
    regions = ("North", "South", "East", "West")
    for i in range(1, n_rows + 1):
        ws.write_row(i, 0, (i, plans[i % 3], i % 72, 20.0 + (i * 7919) % 9000 / 100, regions[(i * 31) % 4]))
        if i % 10:
            ws.write_string(i, 5, "Yes" if (i * 13) % 5 == 0 else "No")
    wb.close()
    return path


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=EXCEL_MAX_ROWS - 1, help="data rows below the header")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import read_table

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.xlsx"
        t0 = time.perf_counter()
        write_big_sheet(path, args.rows)
        t1 = time.perf_counter()
        print(f"wrote {args.rows:,} rows × 6 columns ({path.stat().st_size / 1e6:.1f} MB) in {t1 - t0:.1f} s "
              f"(xlsxwriter, not timed as SheetDL)")
        base = _peak_mb()
        t1 = time.perf_counter()
        table = read_table(path)
        t2 = time.perf_counter()
        after_read = _peak_mb()
        schema = infer_schema(table, target="Churn")
        t3 = time.perf_counter()
        print(f"read_table:   {t2 - t1:6.1f} s   peak memory {after_read:,.0f} MB (before: {base:,.0f} MB)")
        print(f"infer_schema: {t3 - t2:6.1f} s   peak memory {_peak_mb():,.0f} MB")
        print(f"rows {table.n_rows:,}, last sheet row {int(table.sheet_rows[-1]):,}; "
              + ", ".join(f"{c.name}: {c.kind}" for c in schema.columns))


if __name__ == "__main__":
    main()
