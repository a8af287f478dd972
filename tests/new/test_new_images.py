"""``sheetdl new images FOLDER``: a workbook listing a folder of pictures sorted into one subfolder
per label, read back with openpyxl and with SheetDL's own reader."""

import os
import sys
from pathlib import Path

import pytest
from builders import CSV_EVERY_SHEET, soffice_convert

from sheetdl.cli import main
from sheetdl.new import IMAGE_COLUMN, LABEL_COLUMN, make_image_workbook, scan_image_folder
from sheetdl.settings import SETTING_KEYS, read_settings_sheet

openpyxl = pytest.importorskip("openpyxl")
Image = pytest.importorskip("PIL.Image")

#: the pictures of the folder ``pets`` makes, in the order the rows must come (label None = blank)
EXPECTED = [
    ("cat/a1.jpg", "cat"),
    ("cat/a2.PNG", "cat"),  # upper-case extension; natural order puts a2 before a10
    ("cat/a10.jpeg", "cat"),
    ("cat/nested/deeper/b.png", "cat"),  # nested: still a cat
    ("dog/d1.png", "dog"),
    ("dog/D2.JPG", "dog"),
    ("dog/photo.webp", "dog"),
    ("loose.png", None),  # directly in the folder: to be predicted
]


def _picture(path: Path, colour: str = "red") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}.get(path.suffix.lower(), "PNG")
    Image.new("RGB", (12, 10), colour).save(path, format=fmt)


@pytest.fixture()
def pets(tmp_path) -> Path:
    folder = tmp_path / "Pets"
    for rel, _ in EXPECTED:
        _picture(folder / rel)
    _picture(folder / "dog" / ".hidden.png")  # hidden file: skipped
    _picture(folder / ".thumbnails" / "x.png")  # hidden folder: skipped
    _picture(folder / "__MACOSX" / "cat" / "a1.png")  # archiver's folder: never a label
    (folder / "dog" / "notes.txt").write_text("not a picture")
    (folder / "empty").mkdir()
    (folder / "empty" / "readme.md").write_text("nothing here")
    (folder / "Thumbs.db").write_bytes(b"\0")
    return folder


def _rows(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)["Data"]
    return [tuple(r) for r in ws.iter_rows(min_row=2, values_only=True)]


def test_one_row_per_picture(pets, capsys):
    assert main(["new", "images", str(pets)]) == 0
    out = capsys.readouterr().out
    made = pets / "Pets.xlsx"  # inside the folder, named after it
    wb = openpyxl.load_workbook(made)
    assert wb.sheetnames == ["Start here", "Data", "SheetDL"]
    ws = wb["Data"]
    assert [c.value for c in ws[1]] == [IMAGE_COLUMN, LABEL_COLUMN]
    assert [(t, ref) for t, ref in ws.tables.items()] == [("DataTable", f"A1:B{len(EXPECTED) + 1}")]
    assert _rows(made) == EXPECTED
    for rel, _ in EXPECTED:  # every path, from the workbook's folder, opens as the picture
        assert "\\" not in rel
        with Image.open(made.parent / rel) as im:
            assert im.size == (12, 10)
    # what it says: rows per label, the blank ones, and what was left out
    assert "Created" in out and "8 pictures, 2 labels" in out
    assert [line.split() for line in out.splitlines() if line.strip().startswith(("cat", "dog"))] == [
        ["cat", "4"], ["dog", "3"]]
    assert "(blank)" in out and "predict their label" in out
    assert "2 hidden files or folders" in out
    assert "3 files that are not pictures" in out and "dog/notes.txt" in out and "Thumbs.db" in out
    assert "'empty'" in out and 'sheetdl train "Pets.xlsx"' in out


def test_read_back_by_sheetdl(pets):
    from sheetdl.schema import infer_schema
    from sheetdl.sheets import open_workbook, read_table

    made = make_image_workbook(pets).path
    kwargs, notes = read_settings_sheet(made)
    assert notes == []
    assert (kwargs["target"], kwargs["sheet"], kwargs["task"]) == ("Label", "Data", "classification")
    assert kwargs["time_budget"] == 60 and kwargs["seed"] == 0
    table = read_table(made, sheet=kwargs["sheet"])
    assert table.columns == ["Image", "Label"] and table.excel_table == "DataTable"
    assert [tuple(r) for r in table.values.itertuples(index=False)] == EXPECTED
    assert list(table.sheet_rows) == list(range(2, len(EXPECTED) + 2))
    kinds = {c.name: c.kind for c in infer_schema(table, target="Label", task="classification").columns}
    assert kinds["Image"] == "image"
    wb = open_workbook(made)
    assert wb.sheet_names == ["Start here", "Data", "SheetDL"]
    assert [t.name for t in wb.all_tables()["Data"]] == ["DataTable"]


def test_settings_sheet_has_the_templates_dropdowns(pets):
    made = make_image_workbook(pets).path
    ws = openpyxl.load_workbook(made)["SheetDL"]
    assert [c.value for c in ws[1]] == ["Setting", "Value", "Note"]
    assert [ws.cell(r, 1).value for r in range(2, 2 + len(SETTING_KEYS))] == list(SETTING_KEYS)
    assert all(ws.cell(r, 3).value for r in range(2, 2 + len(SETTING_KEYS)))
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    row_of = {key: r for r, key in enumerate(SETTING_KEYS, start=2)}
    assert rules[f"B{row_of['Target column']}"].formula1 == "Data!$A$1:$B$1"
    assert rules[f"B{row_of['Task']}"].formula1 == '"auto,classification,regression"'
    assert rules[f"B{row_of['Device']}"].formula1 == '"auto,cpu,gpu"'
    assert rules[f"B{row_of['Seed']}"].type == "whole"
    start = " ".join(str(v) for row in openpyxl.load_workbook(made)["Start here"].values for v in row if v)
    assert 'sheetdl train "Pets.xlsx"' in start and "1 picture that was directly in 'Pets'" in start


def test_never_overwrites(pets, capsys):
    made = pets / "Pets.xlsx"
    made.write_bytes(b"my own work")
    assert main(["new", "images", str(pets)]) == 1
    err = _text(capsys.readouterr().err)
    assert "already exists" in err and "never replaces" in err and "--output" in err
    assert made.read_bytes() == b"my own work"
    other = pets.parent / "list.xlsx"
    other.write_bytes(b"mine too")
    assert main(["new", "images", str(pets), "--output", str(other)]) == 1
    assert other.read_bytes() == b"mine too"


def test_output_elsewhere_keeps_paths_relative_to_the_workbook(pets, tmp_path):
    (tmp_path / "lists").mkdir()
    assert main(["new", "images", str(pets), "--output", str(tmp_path / "lists" / "My pets")]) == 0
    made = tmp_path / "lists" / "My pets.xlsx"  # .xlsx added
    rows = _rows(made)
    assert rows == [(f"../Pets/{rel}", label) for rel, label in EXPECTED]
    assert all((made.parent / rel).is_file() for rel, _ in rows)
    assert main(["new", "images", str(pets), "--output", str(tmp_path / "lists")]) == 0  # a folder
    assert _rows(tmp_path / "lists" / "Pets.xlsx") == rows


def test_relative_folder_and_current_folder(pets, monkeypatch, capsys):
    monkeypatch.chdir(pets.parent)
    assert main(["new", "images", "Pets", "--output", "here.xlsx"]) == 0
    assert _rows(pets.parent / "here.xlsx") == [(f"Pets/{rel}", label) for rel, label in EXPECTED]
    assert 'sheetdl train "here.xlsx"' in capsys.readouterr().out


@pytest.mark.parametrize("word", ["images", "Images", "image"])
def test_images_is_never_the_template(pets, word, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", word, str(pets)]) == 0
    assert (pets / "Pets.xlsx").is_file()
    assert not list(tmp_path.glob("Classify images*.xlsx")) and not list(pets.glob("Classify images*"))


def test_images_without_a_folder_explains_both_uses(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "images"]) == 1
    err = _text(capsys.readouterr().err)
    assert "needs the folder" in err and "sheetdl new images" in err and 'sheetdl new "Classify images"' in err
    assert list(tmp_path.iterdir()) == []


def test_a_folder_given_as_a_template_name_gets_pointed_to_images(pets, monkeypatch, capsys):
    monkeypatch.chdir(pets.parent)
    assert main(["new", "Pets"]) == 1
    assert 'sheetdl new images "Pets"' in _text(capsys.readouterr().err)


def test_listing_mentions_images(capsys):
    assert main(["new"]) == 0
    assert "sheetdl new images FOLDER" in capsys.readouterr().out


def test_template_copy_takes_output_too(tmp_path, capsys):
    assert main(["new", "Classify rows", "--output", str(tmp_path / "Mine.xlsx")]) == 0
    assert (tmp_path / "Mine.xlsx").is_file()
    assert main(["new", "Classify rows", str(tmp_path / "a.xlsx"), "--output", str(tmp_path / "b.xlsx")]) == 1
    assert "Two places" in _text(capsys.readouterr().err)


# --- plain errors, and nothing written -------------------------------------------------------------
def _text(stream: str) -> str:
    """The console wraps long lines at the terminal's width: compare words, not line breaks."""
    return " ".join(stream.split())


def _fails(args: list[str], capsys, *words: str) -> str:
    assert main(args) == 1
    err = _text(capsys.readouterr().err)
    for word in words:
        assert word in err, err
    assert "What to do" in err and "Traceback" not in err
    return err


def test_not_a_folder(tmp_path, capsys):
    _fails(["new", "images", str(tmp_path / "nowhere")], capsys, "There is no folder")
    (tmp_path / "a.png").write_bytes(b"x")
    _fails(["new", "images", str(tmp_path / "a.png")], capsys, "is a file, not a folder")


def test_no_subfolders(tmp_path, capsys):
    folder = tmp_path / "Loose"
    _picture(folder / "one.png")
    _picture(folder / "two.png")
    err = _fails(["new", "images", str(folder)], capsys, "has no subfolders", "2 pictures")
    assert "one subfolder per label" in err
    assert sorted(p.name for p in folder.iterdir()) == ["one.png", "two.png"]  # nothing written


def test_no_pictures(tmp_path, capsys):
    folder = tmp_path / "Docs"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "report.pdf").write_bytes(b"%PDF")
    _picture(folder / "b" / ".hidden.png")
    _fails(["new", "images", str(folder)], capsys, "No pictures found", ".png", "report.pdf")
    assert not (folder / "Docs.xlsx").exists()


def test_pictures_only_outside_the_label_folders(tmp_path, capsys):
    folder = tmp_path / "Unsorted"
    (folder / "cat").mkdir(parents=True)
    _picture(folder / "x.png")
    _fails(["new", "images", str(folder)], capsys, "None of the subfolders", "no labels")


def test_single_label_is_made_with_a_warning(tmp_path, capsys):
    folder = tmp_path / "Cats"
    _picture(folder / "cat" / "1.png")
    _picture(folder / "2.png")
    assert main(["new", "images", str(folder)]) == 0
    err = _text(capsys.readouterr().err)
    assert "Only one label" in err and "at least two labels" in err
    assert _rows(folder / "Cats.xlsx") == [("cat/1.png", "cat"), ("2.png", None)]


# --- odd folders --------------------------------------------------------------------------------
def test_whole_number_labels_are_numbers(tmp_path):
    folder = tmp_path / "Digits"
    for digit in ("0", "1", "10"):
        _picture(folder / digit / "a.png")
    assert [label for _, label in _rows(make_image_workbook(folder).path)] == [0, 1, 10]
    folder = tmp_path / "Codes"
    for code in ("007", "7"):
        _picture(folder / code / "a.png")
    assert [label for _, label in _rows(make_image_workbook(folder).path)] == ["007", "7"]  # text kept


def test_a_name_like_a_formula_stays_text(tmp_path):
    folder = tmp_path / "F"
    _picture(folder / "=cat" / "=1.png")
    _picture(folder / "dog" / "2.png")
    from sheetdl.sheets import read_table

    made = make_image_workbook(folder).path
    assert _rows(made) == [("=cat/=1.png", "=cat"), ("dog/2.png", "dog")]
    assert {c.data_type for row in openpyxl.load_workbook(made)["Data"].iter_rows() for c in row} == {"s"}
    table = read_table(made, sheet="Data")  # stored as text, so read as text (a formula would read blank)
    assert [tuple(r) for r in table.values.itertuples(index=False)] == [("=cat/=1.png", "=cat"), ("dog/2.png", "dog")]


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs symlinks")
def test_a_link_back_up_the_tree_is_followed_once(tmp_path):
    folder = tmp_path / "Loop"
    _picture(folder / "cat" / "1.png")
    _picture(folder / "dog" / "2.png")
    os.symlink(folder, folder / "cat" / "back")
    found = scan_image_folder(folder)
    assert [(p.relative_to(folder).as_posix(), label) for p, label in found.pictures] == [
        ("cat/1.png", "cat"), ("dog/2.png", "dog")]


@pytest.mark.skipif(sys.platform == "win32", reason="Windows refuses such names itself")
def test_a_name_no_cell_can_hold_is_left_out_and_said(tmp_path, capsys):
    folder = tmp_path / "Odd"
    _picture(folder / "cat" / "ok.png")
    _picture(folder / "cat" / "bad\x01name.png")
    _picture(folder / "dog" / "2.png")
    assert main(["new", "images", str(folder)]) == 0
    assert "can't hold" in _text(capsys.readouterr().err)
    assert _rows(folder / "Odd.xlsx") == [("cat/ok.png", "cat"), ("dog/2.png", "dog")]


def test_scan_counts(pets):
    found = scan_image_folder(pets)
    assert found.per_label == {"cat": 4, "dog": 3} and found.unlabelled == 1
    assert found.hidden == 2 and found.empty_folders == ["empty"]
    assert sorted(p.name for p in found.not_pictures) == ["Thumbs.db", "notes.txt", "readme.md"]


def test_made_workbook_opens_in_libreoffice(pets, tmp_path):
    made = make_image_workbook(pets).path
    out = tmp_path / "converted"
    out.mkdir()
    soffice_convert([made], out, CSV_EVERY_SHEET)
    data = out / "Pets-Data.csv"
    if not data.exists():  # LibreOffice before 7.2 writes the first sheet only
        assert (out / "Pets.csv").stat().st_size > 0
        return
    lines = data.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Image,Label" and lines[1] == "cat/a1.jpg,cat" and len(lines) == len(EXPECTED) + 1
