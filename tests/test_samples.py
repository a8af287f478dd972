import importlib.util
import sys
from pathlib import Path

import pytest

from sheetdl.settings import read_settings_sheet

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("xlsxwriter")
openpyxl = pytest.importorskip("openpyxl")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    pytest.importorskip("palmerpenguins")
    builder = _load("build_samples", ROOT / "sample_workbooks" / "build_samples.py")
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
    shipped = ROOT / "sample_workbooks" / "Penguins.xlsx"
    assert shipped.exists(), "run python sample_workbooks/build_samples.py"
    fresh, kept = openpyxl.load_workbook(penguins), openpyxl.load_workbook(shipped)
    assert kept.sheetnames == fresh.sheetnames
    for name in fresh.sheetnames:
        assert list(kept[name].values) == list(fresh[name].values), (
            f"sheet {name} of sample_workbooks/Penguins.xlsx is stale: "
            "run python sample_workbooks/build_samples.py")


def test_make_mixed_workbook_size(tmp_path):
    workbooks = _load("bench_workbooks", ROOT / "benchmarks" / "workbooks.py")
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
    workbooks = _load("bench_workbooks", ROOT / "benchmarks" / "workbooks.py")
    a = workbooks.make_mixed_workbook(tmp_path / "a.xlsx", rows=50, cols=5, seed=3)
    b = workbooks.make_mixed_workbook(tmp_path / "b.xlsx", rows=50, cols=5, seed=3)
    assert a.read_bytes() == b.read_bytes()
    ws = openpyxl.load_workbook(a, read_only=True)["Data"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Customer ID", "Age", "Income", "Tenure (months)", "Target")
    assert len(rows) == 51
