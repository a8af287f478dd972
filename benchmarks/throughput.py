"""Training throughput of the default model on large sheets: rows a second and seconds an epoch.

    python benchmarks/throughput.py                       # 100k and 1M rows × 50 columns, on the CPU
    python benchmarks/throughput.py --rows 100000 --device cuda

Builds a synthetic table (40 numbers, 10 categories, a yes/no target), encodes it as training does,
builds the network the size rules choose for a table that large (``training.choose_ensemble``: TabM
members, width, batch size), and times whole training epochs through the same Lightning module and
tensor batches ``sheetdl train`` uses. Encoding time is reported apart. The goal on 2 CPU cores is
≥ 50,000 rows/s for 1M × 50. A number, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_ROWS_PER_SECOND = 50_000


def make_frame(rows: int, cols: int = 50, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_cat = cols // 5
    n_num = cols - n_cat
    x = rng.normal(size=(rows, n_num)).astype(np.float64)
    x[rng.random((rows, n_num)) < 0.02] = np.nan
    frame = pd.DataFrame(x, columns=[f"n{i}" for i in range(n_num)])
    levels = np.array([f"level {i}" for i in range(12)], dtype=object)
    for j in range(n_cat):
        frame[f"c{j}"] = levels[rng.integers(0, 12, rows)]
    signal = np.nan_to_num(x[:, 0]) + np.sin(np.nan_to_num(x[:, 1]) * 2) + (frame["c0"] == "level 3") * 1.0
    y = (signal + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64)
    return frame, y


def measure(rows: int, cols: int, device_setting: str, epochs: int, graphs: bool = True,
            batch: int | None = None) -> dict:
    import lightning as L
    import torch

    from sheetdl import training
    from sheetdl.encode import TableEncoder
    from sheetdl.models import NUMBER_EMBEDDING, TabularNet, embedding_dim
    from sheetdl.models.module import TabularDataModule, TabularModule
    from sheetdl.schema import Column
    from sheetdl.training.fit import quiet_lightning
    from sheetdl.training.options import DEPTH, HIDDEN, INNER_VALID_SHARE
    from sheetdl.training.predict import threads_for

    quiet_lightning()
    accelerator, device, words = training.choose_device(device_setting)
    frame, y = make_frame(rows, cols)
    features = [Column(name=c, kind="number" if c.startswith("n") else "category", role="feature", reason="")
                for c in frame.columns]
    t0 = time.perf_counter()
    encoder = TableEncoder().fit(frame, features)
    enc = encoder.transform(frame)
    encode_s = time.perf_counter() - t0

    # the shape train_members would choose for a sheet this large
    k = training.n_folds_for(rows)
    n_fit = int(rows * (k - 1) / k * (1 - INNER_VALID_SHARE))
    embed_width = sum(embedding_dim(c) for c in encoder.cardinalities)
    ensemble, plr = training.choose_shape(
        n_fit=n_fit, n_folds=k, time_budget=60.0, device=device,
        macs=lambda m, p: training.forward_macs(encoder.n_numeric, encoder.continuous, embed_width, 2, m, plr=p))
    batch = batch or training.batch_size(n_fit)
    net = TabularNet(n_numeric=encoder.n_numeric, cardinalities=encoder.cardinalities, vocab_sizes=[],
                     n_outputs=2, hidden=HIDDEN, depth=DEPTH, continuous=encoder.continuous,
                     ensemble=ensemble, number_embedding=NUMBER_EMBEDDING if plr else 0)
    tensors = (*training.to_tensors(enc, device), torch.as_tensor(y, device=device))
    valid = tuple(t[:1024] for t in tensors)
    data = TabularDataModule(tensors, valid, batch_size=batch, seed=0)
    module = TabularModule(net, task="classification", max_epochs=epochs, cuda_graphs=graphs and device.type == "cuda")
    precision = "bf16-mixed" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "32-true"
    times: list[float] = []

    class _Clock(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            self.t = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - self.t)

    trainer = L.Trainer(accelerator=accelerator, devices=1, precision=precision, max_epochs=epochs, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, callbacks=[_Clock()])
    with threads_for(batch * ensemble * HIDDEN, device):
        trainer.fit(module, datamodule=data)
    epoch_s = min(times)  # the first epoch can carry warm-up; report the best steady one
    return {"rows": rows, "cols": cols, "device": words, "members": ensemble, "plr": plr, "batch": batch,
            "encode_s": encode_s, "epoch_s": epoch_s, "rows_per_s": rows / epoch_s,
            "loss": module.history[-1]["train_loss"] if module.history else float("nan")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--cols", type=int, default=50)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    p.add_argument("--epochs", type=int, default=2, help="epochs to time (the fastest is reported)")
    p.add_argument("--batch", type=int, nargs="+", help="time these batch sizes instead of the one training picks")
    p.add_argument("--no-graphs", action="store_true", help="on a GPU, run steps one kernel at a time (no CUDA graphs)")
    args = p.parse_args(argv)
    print("| rows | columns | device | TabM members | PLR | batch | encode s | s / epoch | training rows/s |")
    print("| ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for rows, batch in [(r, b) for r in args.rows for b in args.batch or [None]]:
        r = measure(rows, args.cols, args.device, args.epochs, graphs=not args.no_graphs, batch=batch)
        print(f"| {r['rows']:,} | {r['cols']} | {r['device']} | {r['members']} | {'yes' if r['plr'] else 'no'} | {r['batch']:,} | {r['encode_s']:.1f} "
              f"| {r['epoch_s']:.2f} | {r['rows_per_s']:,.0f} |", flush=True)
    print(f"\ngoal on 2 CPU cores: >= {TARGET_ROWS_PER_SECOND:,} training rows/s for 1,000,000 x 50")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
