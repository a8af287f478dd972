"""User text is shown as it is written, never read as markup or a formula.

Headers like ``Weight [kg]``, ``Price [$]`` or ``Note [/b]`` are common; rich reads ``[...]`` as
markup, so printed carelessly they vanish (``Weight ``) or end the run in a ``MarkupError``. In a
workbook, text that starts with ``=``, ``+``, ``-`` or ``@`` must stay text, never become a formula.
"""

import contextlib
import io
import os
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from sheetdl.cli import main

ROOT = Path(__file__).resolve().parents[2]

HEADERS = ["Note [/b]", "Weight [kg]", "Price [$]", "Dose [mg/kg]", "Outcome [y/n]"]
LABELS = ("ok [1]", "bad [/i]")


def _bracket_book(path: Path, n: int = 80, blanks: int = 6) -> Path:
    rng = random.Random(0)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(HEADERS)
    for i in range(n):
        weight = rng.uniform(40, 120)
        label = None if i < blanks else LABELS[weight > 80]
        ws.append([rng.choice(["a [b]", "[red]c[/red]", "[bold]", "plain"]), round(weight, 1),
                   round(rng.uniform(1, 9), 2), rng.choice(["1 [mg]", "2 [/]", "3"]), label])
    wb.save(path)
    return path


def _flat(text: str) -> str:
    """Console text with rich's line wrapping undone."""
    return " ".join(text.split())


def _run(argv) -> tuple[int, str, str]:
    """main() with its output caught, where a module-scoped fixture can't use capsys; wide enough that
    rich does not wrap the lines this file looks for."""
    out, err = io.StringIO(), io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "250"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("brackets [x]")
    src = _bracket_book(folder / "Book [v2].xlsx")
    code, out, err = _run(["train", str(src), "--target", "Outcome [y/n]", "--time-budget", "8"])
    return SimpleNamespace(src=src, code=code, out=out, err=err,
                           model=folder / "Book [v2] (SheetDL).sheetdl",
                           result=folder / "Book [v2] (SheetDL).xlsx")


# ------------------------------------------------------------------------------------------------
# The console


@pytest.mark.parametrize("header", ["Note [/b]", "Weight [kg]", "Price [$]", "[bold]Odd", "Tag [link=x]"])
def test_unknown_target_names_the_columns_literally(tmp_path, capsys, header):
    path = tmp_path / "Book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append([header, "Plan"])
    wb.active.append([1, "x"])
    wb.active.append([2, "y"])
    wb.save(path)
    assert main(["train", str(path), "--target", "nope"]) == 1
    err = _flat(capsys.readouterr().err)
    assert "There is no column 'nope'" in err
    assert header in err
    assert "Traceback" not in err and "MarkupError" not in err
    assert "did not expect" not in err  # not handled as a bug of ours either


def test_unknown_target_with_brackets_in_the_target_itself(tmp_path, capsys):
    path = _bracket_book(tmp_path / "Book.xlsx", n=10)
    assert main(["train", str(path), "--target", "Mass [/kg]"]) == 1
    err = _flat(capsys.readouterr().err)
    assert "There is no column 'Mass [/kg]'" in err
    assert "Weight [kg]" in err and "Dose [mg/kg]" in err and "Note [/b]" in err


def test_train_prints_the_plan_with_headers_as_written(trained):
    assert trained.code == 0, trained.err
    assert "did not expect" not in trained.err
    out = trained.out
    for header in HEADERS:
        assert header in out, header
    assert "Book [v2].xlsx" in out
    assert "ok [1]" in out and "bad [/i]" in out  # the labels, in the task's reason
    assert "Book [v2] (SheetDL).xlsx" in out  # where the results are
    assert "Book [v2] (SheetDL).sheetdl" in out


def test_results_workbook_keeps_the_bracketed_headers(trained):
    ws = openpyxl.load_workbook(trained.result)["Data"]
    headers = [c.value for c in ws[1]]
    assert headers[:5] == HEADERS
    assert "Predicted Outcome [y/n]" in headers


def test_predict_prints_new_columns_and_target_literally(trained, tmp_path, capsys):
    other = tmp_path / "More [2].xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADERS[:4] + ["Extra [/i]"])
    ws.append(["a [b]", 90.0, 3.0, "1 [mg]", "x"])
    ws.append(["plain", 45.0, 2.0, "3", "y"])
    wb.save(other)
    code = main(["predict", str(other), "--model", str(trained.model)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = captured.out.replace("\n", "")
    assert "'Extra [/i]'" in out and "new to the model" in out
    assert "Predicting 'Outcome [y/n]'" in out
    assert "More [2] (SheetDL).xlsx" in out
    assert "Traceback" not in captured.err


def test_predict_error_names_missing_columns_literally(trained, tmp_path, capsys):
    other = tmp_path / "Wrong.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Note [/b]", "Other"])
    wb.active.append(["a", 1])
    wb.save(other)
    code = main(["predict", str(other), "--model", str(trained.model)])
    err = _flat(capsys.readouterr().err)
    assert code == 1
    assert "Weight [kg]" in err and "Traceback" not in err and "did not expect" not in err


def test_explain_prints_target_importance_and_settings_literally(trained):
    code, out, err = _run(["explain", str(trained.model)])
    assert code == 0, err
    assert "Model predicting 'Outcome [y/n]'" in out
    assert "Weight [kg]" in out  # the importance table
    assert "Outcome [y/n]" in out.split("Model predicting", 1)[1]


def test_progress_descriptions_are_literal():
    """A picture column's name reaches the progress bar's description."""
    from rich.console import Console

    from sheetdl.cli.console import Console as CliConsole
    from sheetdl.training import Progress

    ui = CliConsole(quiet=False)
    buf = io.StringIO()
    ui.out = Console(file=buf, force_terminal=True, width=200, color_system=None)
    ui.progress(Progress("pictures", 0, 0, 1, 4, None, 0.1, None, "Looking at pictures in 'Photo [/b]': 1 of 4"))
    ui.stop_progress()  # stopping draws the bar once more, with the latest description
    ui.progress(Progress("explaining", 1, 1, 0, 0, None, 0.2, None, "Measuring [bold]which[/bold] columns"))
    ui.stop_progress()
    text = buf.getvalue()
    assert "Photo [/b]" in text
    assert "Measuring [bold]which[/bold] columns" in text


def test_console_methods_never_read_markup(capsys):
    from sheetdl.cli.console import Console as CliConsole
    from sheetdl.errors import DataError

    ui = CliConsole(quiet=False)
    ui.say("Weight [kg] and [/b] and :warning:")
    ui.status("Status [red]x[/red]")
    ui.warn("Careful [/]")
    ui.error("Broken [bold]")
    ui.user_error(DataError("Column 'Dose [mg/kg]' [/i]", hint="Rename 'Note [/b]'."))
    captured = capsys.readouterr()
    out, err = captured.out, captured.err
    assert "Weight [kg] and [/b] and :warning:" in out
    assert "Status [red]x[/red]" in out
    assert "Warning: Careful [/]" in err
    assert "Error: Broken [bold]" in err
    assert "Error: Column 'Dose [mg/kg]' [/i]" in err
    assert "What to do: Rename 'Note [/b]'." in err


def test_subprocess_unknown_target_is_a_plain_message(tmp_path):
    path = tmp_path / "Book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Note [/b]", "Weight [kg]", "Price [$]"])
    wb.active.append(["a [b]", 1, 2])
    wb.active.append(["c", 3, 4])
    wb.save(path)
    env = {**os.environ, "COLUMNS": "250"}
    done = subprocess.run([sys.executable, "-m", "sheetdl", "train", str(path), "--target", "nope"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "There is no column 'nope'" in done.stderr
    assert "Note [/b]" in done.stderr and "Weight [kg]" in done.stderr and "Price [$]" in done.stderr
    assert "Traceback" not in done.stderr and "MarkupError" not in done.stderr


# ------------------------------------------------------------------------------------------------
# The workbook: text that starts like a formula stays text

FORMULA_LIKE = ["=1+1", "+SUM(A1)", "-x", "@foo", '=HYPERLINK("http://example.com","click")', "-1+2",
                "=Note [/b]"]
_FORMULA_TAG = __import__("re").compile(r"<(\w+:)?f[\s>/]")


def _sheet_xmls(path: Path) -> dict[str, str]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist()
                if n.startswith("xl/worksheets/sheet") and n.endswith(".xml")}


def _assert_no_formulas(path: Path) -> None:
    for name, xml in _sheet_xmls(path).items():
        assert not _FORMULA_TAG.search(xml), f"a formula in {name}: {_FORMULA_TAG.search(xml).group(0)}"


def _assert_text(ws, ref: str, value: str) -> None:
    cell = ws[ref]
    assert cell.value == value, (ref, cell.value)
    assert cell.data_type == "s", (ref, cell.data_type)


def _source_with_formula_like_text(path: Path) -> Path:
    """A workbook whose header and cells hold text (not formulas) starting with = + - @."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for k, v in enumerate(["=Header", "-Dash", "@At", "+Plus"], start=1):
        c = ws.cell(1, k, v)
        c.data_type = "s"
    for r, v in enumerate(FORMULA_LIKE, start=2):
        c = ws.cell(r, 1, v)
        c.data_type = "s"
        ws.cell(r, 2, r)
    wb.save(path)
    return path


def _formula_like_edits():
    from sheetdl.sheets.edits import AddSheet, WriteCells

    rows = [[v, f"-{v} pushed it down"] for v in FORMULA_LIKE]
    return [
        WriteCells("Data", 1, 6, [["=Predicted", "-Why"]], bold_first_row=True),
        WriteCells("Data", 2, 6, rows),
        AddSheet("SheetDL Report"),
        WriteCells("SheetDL Report", 1, 1, [["@Column", "+Importance"], ["-Why starts with a dash", 1]]),
    ]


def _check_formula_like_output(out: Path) -> None:
    _assert_no_formulas(out)
    wb = openpyxl.load_workbook(out)
    ws = wb["Data"]
    for ref, v in {"A1": "=Header", "B1": "-Dash", "C1": "@At", "D1": "+Plus", "F1": "=Predicted", "G1": "-Why"}.items():
        _assert_text(ws, ref, v)
    for r, v in enumerate(FORMULA_LIKE, start=2):
        _assert_text(ws, f"A{r}", v)  # the user's own cells, copied
        _assert_text(ws, f"F{r}", v)  # ours, written
        _assert_text(ws, f"G{r}", f"-{v} pushed it down")
    rep = wb["SheetDL Report"]
    _assert_text(rep, "A1", "@Column")
    _assert_text(rep, "B1", "+Importance")
    _assert_text(rep, "A2", "-Why starts with a dash")


@pytest.mark.parametrize("writer", ["package", "openpyxl"])
def test_formula_like_text_is_written_as_text(tmp_path, monkeypatch, writer):
    from sheetdl.sheets._xlsx import package as P
    from sheetdl.sheets.write import write_workbook

    if writer == "openpyxl":  # as for a package the part-by-part writer can't change safely
        def refuse(*args, **kwargs):
            raise P.Unsupported("for this test")

        monkeypatch.setattr(P, "Package", refuse)
    src = _source_with_formula_like_text(tmp_path / "Source.xlsx")
    out = tmp_path / "Out.xlsx"
    write_workbook(src, _formula_like_edits(), out)
    _check_formula_like_output(out)


def test_formula_like_text_from_a_csv_stays_text(tmp_path):
    """A csv is copied into a new workbook cell by cell: '=1+1' in it is text, as SheetDL read it."""
    import csv

    from sheetdl.sheets.write import write_workbook

    src = tmp_path / "Data.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["=Header", "-Dash", "@At", "+Plus"])
        for r, v in enumerate(FORMULA_LIKE, start=2):
            w.writerow([v, r, "", ""])
    out = tmp_path / "Out.xlsx"
    write_workbook(src, _formula_like_edits(), out)
    _check_formula_like_output(out)
    ws = openpyxl.load_workbook(out)["Data"]
    assert ws["B2"].value == 2 and ws["B2"].data_type == "n"  # numbers stay numbers


def test_formula_like_text_from_values_only_files_stays_text(tmp_path):
    """.xls/.xlsb/.ods are copied value by value (read with python-calamine); text stays text."""
    from sheetdl.sheets.openpyxl_writer import workbook_from_calamine

    src = _source_with_formula_like_text(tmp_path / "Source.xlsx")  # calamine reads .xlsx the same way
    ws = workbook_from_calamine(src)["Data"]
    for ref, v in {"A1": "=Header", "B1": "-Dash", "C1": "@At", "D1": "+Plus"}.items():
        _assert_text(ws, ref, v)
    for r, v in enumerate(FORMULA_LIKE, start=2):
        _assert_text(ws, f"A{r}", v)


def test_training_on_formula_like_headers_and_values_writes_text(tmp_path):
    """End to end from a csv: headers, categories, labels and the Why texts that quote them."""
    import csv

    rng = random.Random(1)
    src = tmp_path / "Signs.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["-Risk", "@Tag", "=Score [pts]", "+Label"])
        for i in range(90):
            risk = rng.uniform(0, 10)
            tag = rng.choice(["=1+1", "-x", "@foo", "+SUM(A1)"])
            label = "" if i % 15 == 0 else ("-low" if risk < 5 else "+high")
            w.writerow([f"{risk:.2f}", tag, f"{rng.uniform(0, 1):.3f}", label])
    code, out, err = _run(["train", str(src), "--target", "+Label", "--time-budget", "8"])
    assert code == 0, err
    assert "did not expect" not in err
    result = tmp_path / "Signs (SheetDL).xlsx"
    _assert_no_formulas(result)
    wb = openpyxl.load_workbook(result)
    ws = wb[wb.sheetnames[0]]
    headers = [c.value for c in ws[1]]
    assert headers[:4] == ["-Risk", "@Tag", "=Score [pts]", "+Label"]
    assert "Predicted +Label" in headers and "Why" in headers
    strings = [c for sheet in wb.worksheets for row in sheet.iter_rows() for c in row
               if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert {c.value for c in strings} >= {"=1+1", "-x", "@foo", "+SUM(A1)", "-low", "+high", "-Risk"}
    assert all(c.data_type == "s" for c in strings), [(c.coordinate, c.value) for c in strings if c.data_type != "s"]
    whys = [ws.cell(r, headers.index("Why") + 1).value for r in range(2, ws.max_row + 1)]
    assert any(isinstance(w, str) and "-Risk" in w for w in whys)
    assert "-Risk" in out and "=Score [pts]" in out and "+Label" in out


# ------------------------------------------------------------------------------------------------
# The task pane: it puts text into the page, never HTML (tests/test_taskpane.py drives it in Chromium)


def test_the_task_pane_never_parses_html():
    import re

    pane = ROOT / "sheetdl" / "data" / "addin" / "taskpane"
    for path in sorted(pane.glob("*.js")):
        code = path.read_text(encoding="utf-8")
        found = re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment"
                           r"|DOMParser|srcdoc|\beval\s*\(|new Function", code)
        assert not found, f"{path.name}: {found}"
    html = (pane / "taskpane.html").read_text(encoding="utf-8")
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline handlers (the CSP forbids them anyway)
