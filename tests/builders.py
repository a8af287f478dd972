"""What more than one test file builds: workbooks and results for the writer's tests, small PNG files,
a file's digest, a build script loaded, LibreOffice conversions. Fixtures are in conftest.py."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sheetdl.engine import CurvePoint, Importance, Results
from sheetdl.report import layout, layout_not_carried_over
from sheetdl.schema import Column, Schema
from sheetdl.sheets import Table, existing_sheet_names, write_workbook

#: the repository's root folder
ROOT = Path(__file__).resolve().parents[1]
#: what the package carries as data (templates, the demo's workbook, the add-in's files)
DATA = ROOT / "sheetdl" / "data"
#: the add-in's web files (manifest, task pane, icons)
ADDIN = DATA / "addin"
#: the penguins sample `sheetdl demo` copies
PENGUINS = DATA / "samples" / "Penguins.xlsx"

#: CSV filter options: comma, double quote, UTF-8, from row 1, …, and -1 = every sheet to its own
#: file 'NAME-SHEET.csv' (LibreOffice 7.2 and later).
CSV_EVERY_SHEET = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def load_script(name: str, path: Path):
    """Import a build script that is not part of the package (templates/, sample_workbooks/)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def soffice_convert(files: list[Path], out: Path, fmt: str, timeout: int = 600) -> None:
    """Convert with LibreOffice headless, in a profile of our own (other runs may be open)."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    profile = (out / "profile").as_uri()
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
                    "--outdir", str(out), *map(str, files)],
                   check=True, capture_output=True, timeout=timeout)


def sha(path) -> str:
    """The SHA-256 of a file's bytes: a file SheetDL must not change compares equal before and after."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def zip_members(path: Path) -> dict[str, bytes]:
    """Every part of a workbook package, by name."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _png(width: int, height: int, color_type: int, pixel: bytes) -> bytes:
    raw = b"".join(b"\x00" + pixel * width for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def solid_png(rgb: tuple[int, int, int], w: int = 8, h: int = 6) -> bytes:
    """A PNG file of one colour, made by hand (no Pillow needed to make one)."""
    return _png(w, h, 2, bytes(rgb))


def grey_png(width: int = 4, height: int = 3, shade: int = 0x80) -> bytes:
    """A PNG file of one grey (one channel)."""
    return _png(width, height, 0, bytes([shade]))


# ---- the writer's customers: a table of N rows from sheet row 4, and results for it ----------------
N = 12


def customers_table(max_col: int = 6) -> Table:
    df = pd.DataFrame({"Tenure": range(1, N + 1), "Plan": ["AB"[i % 2] for i in range(N)],
                       "Churn": [None if i % 4 == 0 else ("Yes" if i % 3 else "No") for i in range(N)]})
    t = Table.from_dataframe(df, sheet="Customers")
    t.header_row = 3
    t.sheet_rows = np.arange(4, 4 + N)
    t.sheet_max_col = max_col  # 6: the note in column F
    return t


def customers_results() -> Results:
    schema = Schema(
        [Column("Tenure", "number", "feature", "numbers", "A"), Column("Plan", "category", "feature", "2 values", "B"),
         Column("Churn", "category", "target", "the column to predict", "C", n_missing=3)],
        target="Churn", task="classification", task_reason="'Churn' holds 2 labels.", classes=["No", "Yes"])
    labelled = np.array([i % 4 != 0 for i in range(N)])
    return Results(
        schema, ["Yes" if i % 2 else "No" for i in range(N)], labelled,
        confidence=np.linspace(0.5, 0.99, N),
        metrics={"accuracy": 0.75, "auc": 0.8}, baseline={"accuracy": 0.6, "auc": 0.5},
        baseline_description="always guessing 'Yes'", confusion=np.array([[2, 1], [1, 5]]),
        curve=[CurvePoint(e, 1 / e, 1.2 / e, 0.6) for e in range(1, 9)],
        importance=[Importance("Tenure", 0.1, 0.02), Importance("Plan", 0.01, 0.01)],
        settings={"Target column": "Churn"}, run_info={"Device": "CPU"},
    )


def write_results(src: Path, out: Path, max_col: int = 6) -> list[str]:
    """The customers' results laid out and written into a copy of ``src``; returns what was lost."""
    t, r = customers_table(max_col), customers_results()
    existing = existing_sheet_names(src)
    return write_workbook(src, layout(r, t, existing), out,
                          on_lost=lambda lost: layout_not_carried_over(r, t, lost, existing))


# ---- picture columns: a workbook of shapes, and pretrained weights where SheetDL keeps them --------


def _shape_picture(kind: str, rng: np.random.Generator, size: int = 48):
    """A light background with a reddish circle or a bluish square somewhere on it: easy to learn
    within a test's few seconds of training, even on a busy machine."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (size, size), tuple(int(x) for x in rng.integers(170, 255, 3)))
    d = ImageDraw.Draw(im)
    r = int(rng.integers(size // 4, size // 2))
    x, y = (int(v) for v in rng.integers(2, size - r - 2, 2))
    shade = rng.integers(0, 60, 3)
    ink = tuple(int(c) for c in ((200, 20, 20) if kind == "circle" else (20, 20, 200)) + shade * [-1, 1, 1])
    (d.ellipse if kind == "circle" else d.rectangle)([x, y, x + r, y + r], fill=ink)
    return im


def picture_book(folder: Path, n: int = 80, *, blank: int = 8, extra_number: bool = False,
                 missing: int = 0, seed: int = 0) -> Path:
    """A workbook of n rows: Photo (relative path), maybe Size, Shape (the label; the last ``blank`` blank)."""
    rng = np.random.default_rng(seed)
    (folder / "pics").mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Photo"] + (["Size"] if extra_number else []) + ["Shape"])
    for i in range(n):
        kind = ["circle", "square"][i % 2]
        name = f"pics/{i:03d}.png"
        _shape_picture(kind, rng).save(folder / name)
        label = kind if i < n - blank else None
        ws.append([name] + ([float(rng.normal())] if extra_number else []) + [label])
    for j in range(missing):
        ws.append([f"pics/gone_{j}.png"] + ([0.0] if extra_number else []) + ["circle"])
    path = folder / "shapes.xlsx"
    wb.save(path)
    return path


def fake_pretrained_weights(cache: Path) -> str:
    """A ResNet-18 weight file with the right keys (random values) where SheetDL keeps the real one."""
    import torch
    from safetensors.torch import save_file

    from sheetdl.models.image import ResNet18

    torch.manual_seed(0)
    state = {k: v.contiguous() for k, v in ResNet18().state_dict().items()}
    sha = "ab" * 32
    folder = cache / "weights"
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / "resnet18-f37072fd.safetensors"), metadata={"sha256": sha})
    return sha
