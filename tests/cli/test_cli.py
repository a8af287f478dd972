"""The CLI as a user runs it: sheetdl train / predict / explain on real workbooks."""

import subprocess
import sys

import openpyxl
import pytest
from builders import PENGUINS, sha

from sheetdl.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One training run on the penguins sample, shared by the checks below."""
    import shutil

    folder = tmp_path_factory.mktemp("train")
    src = folder / "Penguins.xlsx"
    shutil.copyfile(PENGUINS, src)
    before = sha(src)
    # 10 s: 8 ensemble members instead of 32; the penguins still come out ~99 % right (checked: > 85 %)
    code = main(["train", str(src), "--time-budget", "10", "--quiet"])
    return src, before, code


def test_train_exits_cleanly_and_leaves_the_input_untouched(trained):
    src, before, code = trained
    assert code == 0
    assert sha(src) == before
    assert (src.parent / "Penguins (SheetDL).xlsx").is_file()
    assert (src.parent / "Penguins (SheetDL).sheetdl").is_file()


def test_prediction_columns_sit_right_of_the_data(trained):
    src, _, _ = trained
    wb = openpyxl.load_workbook(src.parent / "Penguins (SheetDL).xlsx")
    ws = wb["Penguins"]
    headers = [c.value for c in ws[1]]
    assert headers[:8] == ["Species", "Island", "Bill length (mm)", "Bill depth (mm)",
                           "Flipper length (mm)", "Body mass (g)", "Sex", "Year"]
    assert headers[8] == "Predicted Species"
    assert headers[9] == "Confidence"
    assert "%" in ws.cell(2, 10).number_format
    labelled = right = blank = 0
    for r in range(2, ws.max_row + 1):
        truth, pred, conf = ws.cell(r, 1).value, ws.cell(r, 9).value, ws.cell(r, 10).value
        assert pred in ("Adelie", "Chinstrap", "Gentoo"), f"row {r}"
        assert 0 < conf <= 1
        if truth is None:
            blank += 1
        else:
            labelled += 1
            right += truth == pred
    assert blank == 20  # every blank target got a prediction
    assert right / labelled > 0.85  # out-of-fold predictions for the labelled rows


def test_report_and_importance_sheets_with_charts(trained):
    src, _, _ = trained
    wb = openpyxl.load_workbook(src.parent / "Penguins (SheetDL).xlsx")
    assert "SheetDL Report" in wb.sheetnames and "SheetDL Importance" in wb.sheetnames
    report = wb["SheetDL Report"]
    text = " ".join(str(c.value) for row in report.iter_rows() for c in row if c.value is not None)
    assert "right" in text and "of the time" in text
    assert "Bill length (mm)" in text
    assert len(report._charts) >= 1
    imp = wb["SheetDL Importance"]
    names = [imp.cell(r, 1).value for r in range(1, imp.max_row + 1)]
    for col in ("Island", "Bill length (mm)", "Sex", "Year"):
        assert names.count(col) == 1  # a category counts once, not once per level
    assert len(imp._charts) == 1
    # the sheets the input had are all still there, in order
    assert wb.sheetnames[:3] == ["About", "Penguins", "SheetDL"]


def test_predict_with_saved_model_on_another_workbook(trained, tmp_path):
    src, _, _ = trained
    other = tmp_path / "New penguins.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Birds"
    ws.append(["Island", "Bill length (mm)", "Bill depth (mm)", "Flipper length (mm)", "Body mass (g)",
               "Sex", "Year"])
    ws.append(["Biscoe", 48.0, 15.0, 220, 5200, "male", 2008])
    ws.append(["Torgersen", 38.0, 19.0, 185, 3600, "female", 2008])
    wb.save(other)
    code = main(["predict", str(other), "--model", str(src.parent / "Penguins (SheetDL).sheetdl"), "--quiet"])
    assert code == 0
    out = openpyxl.load_workbook(tmp_path / "New penguins (SheetDL).xlsx")["Birds"]
    assert out.cell(1, 8).value == "Predicted Species"
    assert [out.cell(2, 8).value, out.cell(3, 8).value] == ["Gentoo", "Adelie"]


def test_predict_names_missing_columns(trained, tmp_path, capsys):
    src, _, _ = trained
    other = tmp_path / "Wrong.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Island", "Weight"])
    wb.active.append(["Biscoe", 1])
    wb.save(other)
    code = main(["predict", str(other), "--model", str(src.parent / "Penguins (SheetDL).sheetdl")])
    assert code == 1
    err = capsys.readouterr().err
    assert "Bill length (mm)" in err and "Traceback" not in err


def test_explain_prints_scores(trained, capsys):
    src, _, _ = trained
    assert main(["explain", str(src.parent / "Penguins (SheetDL).sheetdl")]) == 0
    out = capsys.readouterr().out
    assert "Accuracy" in out and "Bill length (mm)" in out


def test_second_run_gets_a_new_name_never_overwrites(trained):
    src, _, _ = trained
    first = src.parent / "Penguins (SheetDL).xlsx"
    before = sha(first)
    from sheetdl.cli.output import default_output

    assert default_output(src).name == "Penguins (SheetDL 2).xlsx"
    assert sha(first) == before


def _book(path, rows, title="Data"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


@pytest.mark.parametrize(
    "rows,args,expected",
    [
        ([["A", "B"], [1, "x"], [2, "y"]], ["--target", "Churn"], "There is no column 'Churn'"),
        ([["A", "B"], [1, "x"], [2, "x"], [3, None]], ["--target", "B"], "same value"),
        ([["A", "B"], [1, None], [2, None]], ["--target", "B"], "blank"),
    ],
    ids=["unknown-target", "one-class", "no-labelled-rows"],
)
def test_user_errors_are_plain_words_not_tracebacks(tmp_path, capsys, rows, args, expected):
    path = _book(tmp_path / "Book.xlsx", rows)
    assert main(["train", str(path), *args, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "Book (SheetDL).xlsx").exists()


def test_unknown_target_lists_the_columns(tmp_path, capsys):
    path = _book(tmp_path / "Book.xlsx", [["Age", "Plan"], [1, "x"], [2, "y"]])
    main(["train", str(path), "--target", "Churn"])
    err = capsys.readouterr().err
    assert "Age" in err and "Plan" in err


def test_empty_sheet_and_not_a_workbook(tmp_path, capsys):
    empty = _book(tmp_path / "Empty.xlsx", [])
    assert main(["train", str(empty), "--target", "X"]) == 1
    bogus = tmp_path / "notes.xlsx"
    bogus.write_text("just some text")
    assert main(["train", str(bogus), "--target", "X"]) == 1
    err = capsys.readouterr().err
    assert err.count("Error:") == 2 and "Traceback" not in err


def test_missing_target_setting_asks_for_one(tmp_path, capsys):
    path = _book(tmp_path / "Book.xlsx", [["Age", "Plan"], [1, "x"], [2, "y"]])
    assert main(["train", str(path)]) == 1
    err = capsys.readouterr().err
    assert "--target" in err and "Age" in err


def test_console_script_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sheetdl", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "train" in out.stdout


def test_ctrl_c_during_training_writes_nothing(penguins_copy, monkeypatch, capsys):
    import os
    import signal

    from sheetdl.cli import console

    sent = []

    def press_ctrl_c(self, p):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(console.Console, "progress", press_ctrl_c)
    before = sha(penguins_copy)
    code = main(["train", str(penguins_copy), "--time-budget", "60"])
    assert code == 130
    assert "nothing was written" in capsys.readouterr().err
    assert sorted(p.name for p in penguins_copy.parent.iterdir()) == ["Penguins.xlsx"]
    assert sha(penguins_copy) == before


def test_regression_from_a_csv_with_semicolons(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    lines = ["Size;Rooms;District;Price"]
    for i in range(240):
        size = rng.uniform(30, 150)
        rooms = int(rng.integers(1, 6))
        district = rng.choice(["North", "South"])
        price = "" if i % 20 == 0 else f"{size * 3000 + rooms * 5000 + (40000 if district == 'North' else 0):.0f}"
        lines.append(f"{size:.1f};{rooms};{district};{price}")
    src = tmp_path / "flats.csv"
    src.write_text("\n".join(lines) + "\n")
    # 10 s, not the default 60: the columns and the report's regression wording are checked, not the fit
    assert main(["train", str(src), "--target", "Price", "--quiet", "--time-budget", "10"]) == 0
    wb = openpyxl.load_workbook(tmp_path / "flats (SheetDL).xlsx")
    ws = wb[wb.sheetnames[0]]
    headers = [c.value for c in ws[1]]
    assert headers[4] == "Predicted Price" and "Confidence" not in headers
    preds = [ws.cell(r, 5).value for r in range(2, 242)]
    assert all(isinstance(v, (int, float)) for v in preds)
    report = " ".join(str(c.value) for row in wb["SheetDL Report"].iter_rows() for c in row if c.value)
    assert "R²" in report and "off by" in report


def test_few_labelled_rows_are_warned_about_in_the_report(tmp_path):
    rows = [["Size", "Colour", "Label"]] + [[i, "red" if i % 2 else "blue", "A" if i % 2 else "B"] for i in range(12)]
    path = _book(tmp_path / "Tiny.xlsx", rows)
    assert main(["train", str(path), "--target", "Label", "--quiet", "--time-budget", "20"]) == 0
    report = openpyxl.load_workbook(tmp_path / "Tiny (SheetDL).xlsx")["SheetDL Report"]
    text = " ".join(str(c.value) for row in report.iter_rows() for c in row if c.value)
    assert "Only 12 rows have 'Label' filled in" in text


def test_the_demo_runs_as_the_quickstart_says(tmp_path, capsys):
    """`make demo` runs `sheetdl demo`: it must train on the bundled penguins and say where the result is."""
    folder = tmp_path / "sheetdl-demo"
    assert main(["demo", "--folder", str(folder), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert (folder / "Penguins (SheetDL).xlsx").is_file() and (folder / "Penguins (SheetDL).sheetdl").is_file()
    assert "Penguins (SheetDL).xlsx" in out.replace("\n", "")
