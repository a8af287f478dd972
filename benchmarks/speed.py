"""How long does `sheetdl train` take, end to end, on a realistic 10,000 × 20 workbook?

    python benchmarks/speed.py                 # 10,000 rows × 20 columns, default time budget
    python benchmarks/speed.py --rows 50000 --cols 30 --keep

Builds a mixed workbook in a temporary folder (see workbooks.make_mixed_workbook), then runs the CLI
as a user would, in a fresh process, so start-up and imports count. The goal is ≤ 20 s. This reports a
number; it is not a pass/fail test (exit status is the CLI's, so a crash is still visible).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workbooks import make_mixed_workbook  # noqa: E402

TARGET_SECONDS = 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="data rows (default 10000)")
    parser.add_argument("--cols", type=int, default=20, help="columns incl. the target (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the workbook's values")
    parser.add_argument("--keep", action="store_true", help="keep the workbook and print its path")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="sheetdl-speed-"))
    try:
        book = folder / f"mixed_{args.rows}x{args.cols}.xlsx"
        t0 = time.perf_counter()
        make_mixed_workbook(book, rows=args.rows, cols=args.cols, seed=args.seed)
        built = time.perf_counter() - t0

        cmd = [sys.executable, "-m", "sheetdl", "train", str(book), "--target", "Target", "--quiet"]
        env = dict(os.environ)  # the checkout importable even when sheetdl is not installed
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0

        print(f"workbook : {args.rows:,} rows x {args.cols} columns (built in {built:.1f} s)")
        print(f"command  : sheetdl train {book.name} --target Target --quiet (default time budget)")
        verdict = ("the CLI failed" if proc.returncode != 0
                   else "met" if wall <= TARGET_SECONDS else "MISSED")
        print(f"wall time: {wall:.1f} s  (target <= {TARGET_SECONDS:.0f} s: {verdict})")
        if proc.returncode != 0:
            print(f"the CLI exited with status {proc.returncode}", file=sys.stderr)
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-20:]
            print("\n".join(tail), file=sys.stderr)
        if args.keep:
            print(f"kept     : {book}")
        return proc.returncode
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
