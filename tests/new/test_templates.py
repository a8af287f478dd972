import sys

import pytest
from builders import CSV_EVERY_SHEET, DATA, ROOT, load_script, soffice_convert

from sheetdl.cli import main
from sheetdl.new import TEMPLATES, copy_template, find_template, templates_folder
from sheetdl.settings import SETTING_KEYS, read_settings_sheet

TEMPLATE_DIR = DATA / "templates"
openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    pytest.importorskip("xlsxwriter")
    builder = load_script("build_templates", ROOT / "templates" / "build_templates.py")
    return builder.build_all(tmp_path_factory.mktemp("templates"))


def test_every_template_is_committed_and_up_to_date(built):
    assert templates_folder() == TEMPLATE_DIR
    for fresh in built:
        shipped = TEMPLATE_DIR / fresh.name
        assert shipped.is_file(), "run python templates/build_templates.py"
        a, b = openpyxl.load_workbook(fresh), openpyxl.load_workbook(shipped)
        assert a.sheetnames == b.sheetnames
        for name in a.sheetnames:
            assert list(a[name].values) == list(b[name].values), (
                f"{shipped.name} is stale: run python templates/build_templates.py")


def test_build_is_byte_stable(built, tmp_path):
    builder = sys.modules["build_templates"]
    again = builder.build_all(tmp_path)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in built]


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_layout(name):
    path = TEMPLATE_DIR / f"{name}.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Start here", "Data", "SheetDL"]
    steps = " ".join(str(v) for row in wb["Start here"].values for v in row if v)
    assert f'sheetdl train "{name}.xlsx"' in steps and "press Train" in steps and "1." in steps

    data = wb["Data"]
    (table_ref,) = [t.ref for t in data.tables.values()]
    headers = [c.value for c in data[1] if c.value]
    assert table_ref == f"A1:{openpyxl.utils.get_column_letter(len(headers))}{data.max_row}"
    kwargs, notes = read_settings_sheet(path)
    assert notes == []
    assert kwargs["target"] in headers and kwargs["sheet"] == "Data"
    target_col = headers.index(kwargs["target"])
    targets = [row[target_col] for row in data.iter_rows(min_row=2, values_only=True)]
    assert 3 <= len(targets) <= 10 and None in targets and any(t is not None for t in targets)

    ws = wb["SheetDL"]
    assert [c.value for c in ws[1]] == ["Setting", "Value", "Note"]
    assert [ws.cell(r, 1).value for r in range(2, 2 + len(SETTING_KEYS))] == list(SETTING_KEYS)
    assert all(ws.cell(r, 3).value for r in range(2, 2 + len(SETTING_KEYS)))  # a note on each
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    row_of = {key: r for r, key in enumerate(SETTING_KEYS, start=2)}
    last = openpyxl.utils.get_column_letter(len(headers))
    assert rules[f"B{row_of['Target column']}"].formula1 == f"Data!$A$1:${last}$1"
    assert rules[f"B{row_of['Task']}"].formula1 == '"auto,classification,regression"'
    assert rules[f"B{row_of['Time budget (seconds)']}"].type == "list"
    assert rules[f"B{row_of['Device']}"].formula1 == '"auto,cpu,gpu"'


def test_image_template_has_an_image_column():
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import read_table

    path = TEMPLATE_DIR / "Classify images.xlsx"
    schema = infer_schema(read_table(path, sheet="Data"), target="Label")
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds["Image"] == "image"
    wb = openpyxl.load_workbook(path)
    start = " ".join(str(v) for row in wb["Start here"].values for v in row if v)
    # where the pictures go, the shortcut for a sorted folder, and what comes back for pictures
    assert "folder beside this workbook" in start and "sheetdl new images" in start
    assert "SheetDL Images" in start and "Coming soon" not in start
    rows = list(wb["Data"].iter_rows(min_row=2, values_only=True))
    paths = [r[0] for r in rows]
    assert all(p.startswith("photos/") and "\\" not in p for p in paths)  # relative, forward slashes
    assert any(r[-1] is None for r in rows) and any(r[-1] for r in rows)  # some labels blank


# --- sheetdl new ------------------------------------------------------------------------------
def test_new_lists_the_templates(capsys):
    assert main(["new"]) == 0
    out = capsys.readouterr().out
    for name, description in TEMPLATES.items():
        assert name in out and description[:40] in out


def test_new_copies_into_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "classify ROWS.xlsx"]) == 0
    copy = tmp_path / "Classify rows.xlsx"
    assert copy.read_bytes() == (TEMPLATE_DIR / "Classify rows.xlsx").read_bytes()
    assert 'sheetdl train "Classify rows.xlsx"' in capsys.readouterr().out


def test_new_to_a_folder_or_a_file_name(tmp_path):
    assert main(["new", "Predict a number", str(tmp_path)]) == 0
    assert (tmp_path / "Predict a number.xlsx").is_file()
    assert main(["new", "predict", str(tmp_path / "Houses")]) == 0  # unique beginning; .xlsx added
    assert (tmp_path / "Houses.xlsx").read_bytes() == (TEMPLATE_DIR / "Predict a number.xlsx").read_bytes()
    assert copy_template("Fill in missing values", tmp_path / "Gaps.xlsx") == tmp_path / "Gaps.xlsx"


def test_new_never_overwrites(tmp_path, capsys):
    mine = tmp_path / "Classify rows.xlsx"
    mine.write_bytes(b"my own work")
    assert main(["new", "Classify rows", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "never replaces" in err and "What to do" in err
    assert mine.read_bytes() == b"my own work"


def test_new_unknown_or_ambiguous_name(tmp_path, capsys):
    assert main(["new", "Forecast sales", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "is not one of the templates" in err and "'Classify rows'" in err
    assert main(["new", "classify", str(tmp_path)]) == 1
    assert "more than one template" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_new_bad_destination(tmp_path, capsys):
    assert main(["new", "Classify rows", str(tmp_path / "no such folder" / "x.xlsx")]) == 1
    assert "There is no folder" in capsys.readouterr().err
    assert main(["new", "Classify rows", str(tmp_path / "x.xlsm")]) == 1
    assert "ending in .xlsx" in capsys.readouterr().err


def test_find_template_spellings():
    assert find_template("  fill IN missing-values ").name == "Fill in missing values.xlsx"
    assert find_template("Classify images.XLSX").name == "Classify images.xlsx"


def test_training_on_a_fresh_template_is_a_plain_message_or_works(tmp_path, capsys):
    """Someone will press Train before pasting data: never a crash."""
    copy = copy_template("Classify rows", tmp_path)
    code = main(["train", str(copy), "--time-budget", "3", "--quiet", "--no-reasons"])
    assert code in (0, 1), capsys.readouterr()


# --- LibreOffice opens them -------------------------------------------------------------------


def test_templates_open_in_libreoffice(tmp_path):
    files = [TEMPLATE_DIR / f"{name}.xlsx" for name in TEMPLATES]
    soffice_convert(files, tmp_path, "pdf")
    soffice_convert(files, tmp_path, CSV_EVERY_SHEET)
    for f in files:
        pdf = (tmp_path / f.with_suffix(".pdf").name).read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 5000
        start = tmp_path / f"{f.stem}-Start here.csv"
        if not start.exists():  # LibreOffice before 7.2 writes the first sheet only
            start = tmp_path / f"{f.stem}.csv"
        text = start.read_text(encoding="utf-8")
        assert f.stem in text and "sheetdl train" in text
        data = tmp_path / f"{f.stem}-Data.csv"
        if data.exists():
            header = data.read_text(encoding="utf-8").splitlines()[0]
            assert header.split(",")[0] == openpyxl.load_workbook(f)["Data"]["A1"].value
