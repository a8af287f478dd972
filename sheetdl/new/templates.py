"""Workbooks that start a task: ``sheetdl new`` lists the templates and copies one for the user to
fill in.

The template workbooks are built by ``templates/build_templates.py`` (beside the package in a clone
of the repository) and committed, so an analyst starts from a file that already has the right
sheets, an example layout and a settings sheet with dropdowns. Nothing here ever replaces a file.

``sheetdl new images FOLDER``, a workbook made from a folder of pictures, is :mod:`.from_folder`'s;
the command itself is :mod:`.command`. What the two kinds of workbook share stays here, where the
build script reads it too: the 'Start here' texts of a picture task, the settings dropdowns, row
heights, and writing a new file without replacing one.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from ..errors import OutputError, SheetDLError

__all__ = [
    "TEMPLATES", "templates_folder", "list_templates", "find_template", "copy_template", "destination",
    "write_new", "shown", "IMAGES_WORDS",
    "IMAGE_RESULTS", "IMAGE_TIPS", "settings_validation", "row_height",
]

#: The templates, in the order ``sheetdl new`` lists them, each with the line that describes it.
#: The build script reads this too, so the list and the files can't drift apart.
TEMPLATES: dict[str, str] = {
    "Classify rows": "Predict a category for each row (Yes/No, or several labels).",
    "Predict a number": "Predict a number for each row, such as a price or an amount.",
    "Fill in missing values": "Fill in the blank cells of one column from the other columns.",
    "Classify images": "Label pictures listed by file path, with other columns if you have them.",
}

#: The word after ``sheetdl new`` that means "from a folder of pictures" (never a template's name).
IMAGES_WORDS = frozenset({"images", "image"})

#: Choices offered by the dropdowns of the SheetDL sheet (shared with the template build script).
TASK_CHOICES = ["auto", "classification", "regression"]
TIME_CHOICES = [30, 60, 120, 300, 600, 1800]
DEVICE_CHOICES = ["auto", "cpu", "gpu"]

#: Width of the text column of 'Start here', in characters; rows get their height from it because
#: neither Excel nor LibreOffice grows a row for wrapped text when it opens a file.
TEXT_WIDTH = 92
LINE_HEIGHT = 15
#: The workbook's text face, as in the templates (Excel's default).
FONT = "Calibri"

#: What a picture task gives back, as the 'Start here' sheets say it (template and new workbooks).
IMAGE_RESULTS: list[str] = [
    "On the 'Data' sheet, new columns right of your data: 'Predicted Label', 'Confidence', 'Review' "
    "('Check' where the model is less sure than the 'Review threshold' setting, 70%) and 'Why'.",
    "Rows you left blank get SheetDL's answer, shaded yellow. The other rows get the answer the "
    "model gives without having seen theirs, so you can check it against your labels.",
    "A 'SheetDL Report' sheet, in plain words: how often the model is right on pictures it did not "
    "learn from, compared with guessing.",
    "A 'SheetDL Images' sheet showing the pictures the model was least sure of or got wrong, each "
    "beside a heat map of the parts of the picture that decided its answer.",
    "A model file ('… (SheetDL).sheetdl') to label new pictures later with: sheetdl predict "
    "\"New pictures.xlsx\" --model \"… (SheetDL).sheetdl\"",
]

#: The tips on the 'Start here' sheet of a picture task (template and new workbooks).
IMAGE_TIPS: list[str] = [
    "The more labelled pictures, the better: a few dozen per label is a start, hundreds are better. "
    "Try to have about as many of each label.",
    "Any picture file works: .jpg, .png, .bmp, .gif, .tif or .webp, of any size.",
    "Write each label the same way every time: 'Cat' and 'cat' are two different labels (from a "
    "folder of pictures, the labels are the subfolders' names as written).",
    "Columns you add beside the pictures (a date, a place, a measurement) are used too.",
    "Pictures unlike everyday photos (X-rays, slides, scans)? Set 'Fine-tune pictures' to yes on the "
    "SheetDL sheet and give a longer time budget; with a GPU, SheetDL fine-tunes by itself.",
]


# --- templates -----------------------------------------------------------------------------------
def templates_folder() -> Path:
    """The folder holding the template workbooks: package data in ``sheetdl/data/templates/``."""
    folder = Path(str(files("sheetdl") / "data" / "templates"))
    if all((folder / f"{name}.xlsx").is_file() for name in TEMPLATES):
        return folder
    raise SheetDLError("The template workbooks are missing from this copy of SheetDL.",
                       hint=f"Reinstall SheetDL (pip install --force-reinstall sheetdl); they belong in {folder}.")


def list_templates() -> list[tuple[str, str]]:
    """(name, one-line description) of every template."""
    return list(TEMPLATES.items())


def _norm(text: str) -> str:
    text = re.sub(r"\.xlsx\s*$", "", text.strip(), flags=re.IGNORECASE)
    return re.sub(r"[^0-9a-z]+", " ", text.casefold()).strip()


def find_template(name: str) -> Path:
    """The template called ``name``: case and spacing don't matter, '.xlsx' is optional, and a
    unique beginning ('predict') is enough."""
    wanted = _norm(name)
    names = list(TEMPLATES)
    matches = [n for n in names if _norm(n) == wanted]
    if not matches and wanted:
        matches = [n for n in names if _norm(n).startswith(wanted)]
    if len(matches) != 1:
        listed = ", ".join(f"'{n}'" for n in names)
        what = "matches more than one template" if matches else "is not one of the templates"
        hint = 'Run "sheetdl new" to see what each one is for, then for example: sheetdl new "Classify rows"'
        if not matches and Path(name).expanduser().is_dir():
            hint = (f"'{name}' is a folder: to make a workbook from the pictures in it (one subfolder per "
                    f'label), run: sheetdl new images "{name}"')
        raise SheetDLError(f"'{name}' {what}. The templates are: {listed}.", hint=hint)
    return templates_folder() / f"{matches[0]}.xlsx"


def destination(default_name: str, path: str | Path | None, default_folder: Path | None = None) -> Path:
    """Where a new workbook goes: ``path`` as a folder (then under ``default_name``) or a file name
    ('.xlsx' added when left out); without ``path``, ``default_folder`` (else this folder)."""
    if path is None or str(path).strip() == "":
        return (default_folder if default_folder is not None else Path.cwd()) / default_name
    text = str(path)
    dest = Path(text).expanduser()
    if dest.is_dir() or text.endswith(("/", "\\")):
        if not dest.is_dir():
            raise OutputError(f"There is no folder '{dest}'.",
                              hint="Create the folder first, or give the path of an existing one.")
        return dest / default_name
    if dest.suffix.lower() != ".xlsx":
        if dest.suffix.lower() in (".xls", ".xlsm", ".xlsb", ".ods", ".csv"):
            raise OutputError(f"The new workbook '{dest.name}' must be an Excel workbook ending in .xlsx.",
                              hint=f"Give a name like '{dest.stem}.xlsx'.")
        dest = dest.with_name(dest.name + ".xlsx")
    if not dest.parent.is_dir():
        raise OutputError(f"There is no folder '{dest.parent}' to put '{dest.name}' in.",
                          hint="Create the folder first, or give another place for the workbook.")
    return dest


def write_new(dest: Path, data: bytes, *, hint: str) -> None:
    """Write ``data`` to ``dest``, which must not exist yet ('x' mode: no race can replace a file)."""
    try:
        with open(dest, "xb") as out:
            out.write(data)
    except FileExistsError:
        raise OutputError(f"'{dest}' already exists; SheetDL never replaces a file.", hint=hint) from None
    except OSError as e:
        raise OutputError(f"Could not write '{dest}': {e.strerror or e}.",
                          hint="Check that the folder exists and that you may write to it.") from None


def copy_template(name: str, path: str | Path | None = None) -> Path:
    """Copy the template ``name`` to ``path`` (a folder or a file name; default: the current
    folder, under the template's own name) and return where it went. Never replaces a file."""
    template = find_template(name)
    dest = destination(template.name, path)
    write_new(dest, template.read_bytes(),
               hint=f'Give the copy another name, for example: sheetdl new "{template.stem}" '
                    f'"{dest.stem} 2.xlsx" (or move the existing file away first).')
    return dest


# --- shared with the template build script and sheetdl new images --------------------------------
def row_height(text: str, width: int = TEXT_WIDTH, extra: float = 0) -> float:
    """Height in points of a row holding ``text`` wrapped at ``width`` characters (a safe
    over-estimate)."""
    lines, line = 1, 0
    for word in text.split():
        if line and line + 1 + len(word) > width * 1.1:
            lines, line = lines + 1, len(word)
        else:
            line += len(word) + (1 if line else 0)
    return LINE_HEIGHT * lines + 3 + extra


#: the fine-tuning setting's dropdown
FINE_TUNE_CHOICES = ("auto", "yes", "no")
PICTURE_NETWORK_CHOICES = ("auto", "EfficientNet-Lite0", "ResNet-18", "from scratch")
#: the review threshold's dropdown (any other share is accepted too)
REVIEW_CHOICES = ("50%", "60%", "70%", "80%", "90%")


def settings_validation(key: str, headers: str, data_sheet: str) -> dict | None:
    """The dropdown (data validation) of a setting's Value cell, in xlsxwriter's words; ``headers``
    is the formula of the data sheet's header row ('=Data!$A$1:$B$1'). Shared by the template build
    script (xlsxwriter) and the workbooks :mod:`.from_folder` makes (openpyxl)."""
    if key == "Target column":
        return {"validate": "list", "source": headers, "error_type": "warning",
                "error_title": "Not a header",
                "error_message": f"This is not one of the headers in row 1 of the '{data_sheet}' sheet. "
                                 "Pick the column to predict from the list."}
    if key == "Ignore columns":  # several names separated by commas are fine, hence 'information'
        return {"validate": "list", "source": headers, "error_type": "information",
                "error_title": "Several columns",
                "error_message": "Several columns are fine: separate their headers with commas."}
    if key == "Task":
        return {"validate": "list", "source": TASK_CHOICES,
                "error_title": "Task", "error_message": "Pick auto, classification or regression."}
    if key == "Time budget (seconds)":
        return {"validate": "list", "source": [str(t) for t in TIME_CHOICES], "error_type": "information",
                "error_title": "Time budget",
                "error_message": "Any number of seconds works, or a duration such as '2 minutes'."}
    if key == "Device":
        return {"validate": "list", "source": DEVICE_CHOICES,
                "error_title": "Device", "error_message": "Pick auto, cpu or gpu."}
    if key == "Review threshold":
        return {"validate": "list", "source": list(REVIEW_CHOICES), "error_type": "information",
                "error_title": "Review threshold",
                "error_message": "Any share works, like 65%; leave it blank for no review marks."}
    if key == "Fine-tune pictures":
        return {"validate": "list", "source": list(FINE_TUNE_CHOICES),
                "error_title": "Fine-tune pictures", "error_message": "Pick auto, yes or no."}
    if key == "Picture network":
        return {"validate": "list", "source": list(PICTURE_NETWORK_CHOICES),
                "error_title": "Picture network",
                "error_message": "Pick auto, EfficientNet-Lite0, ResNet-18 or from scratch."}
    if key == "Seed":
        return {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": 2**32 - 1,
                "error_title": "Seed", "error_message": "The seed is a whole number, such as 0."}
    return None


def shown(path: Path) -> Path:
    """A path as the user reads it best: relative to the current folder when it is inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
