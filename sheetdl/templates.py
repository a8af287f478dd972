"""Template workbooks: ``sheetdl new`` lists them and copies one for the user to fill in.

The workbooks themselves are built by ``templates/build_templates.py`` (beside the package in a clone
of the repository) and committed, so an analyst starts from a file that already has the right
sheets, an example layout and a settings sheet with dropdowns. Copying never replaces a file.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from .errors import OutputError, SheetDLError

__all__ = ["TEMPLATES", "templates_folder", "list_templates", "find_template", "copy_template", "cmd_new"]

#: The templates, in the order ``sheetdl new`` lists them, each with the line that describes it.
#: The build script reads this too, so the list and the files can't drift apart.
TEMPLATES: dict[str, str] = {
    "Classify rows": "Predict a category for each row (Yes/No, or several labels).",
    "Predict a number": "Predict a number for each row, such as a price or an amount.",
    "Fill in missing values": "Fill in the blank cells of one column from the other columns.",
    "Classify images": "Label pictures listed by file path (image support is coming).",
}


def templates_folder() -> Path:
    """The folder holding the template workbooks (``templates/`` beside the package in a clone)."""
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "templates", here / "templates"):
        if all((folder / f"{name}.xlsx").is_file() for name in TEMPLATES):
            return folder
    raise SheetDLError("The template workbooks are not installed with this copy of SheetDL.",
                       hint="Use SheetDL from a clone of the SheetDL repository (pip install -e .), "
                            "where they are in the 'templates' folder.")


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
        raise SheetDLError(f"'{name}' {what}. The templates are: {listed}.",
                           hint='Run "sheetdl new" to see what each one is for, then for example: '
                                'sheetdl new "Classify rows"')
    return templates_folder() / f"{matches[0]}.xlsx"


def _destination(template: Path, path: str | Path | None) -> Path:
    if path is None or str(path).strip() == "":
        return Path.cwd() / template.name
    text = str(path)
    dest = Path(text).expanduser()
    if dest.is_dir() or text.endswith(("/", "\\")):
        if not dest.is_dir():
            raise OutputError(f"There is no folder '{dest}'.",
                              hint="Create the folder first, or give the path of an existing one.")
        return dest / template.name
    if dest.suffix.lower() != ".xlsx":
        if dest.suffix.lower() in (".xls", ".xlsm", ".xlsb", ".ods", ".csv"):
            raise OutputError(f"The copy '{dest.name}' must be an Excel workbook ending in .xlsx.",
                              hint=f"Give a name like '{dest.stem}.xlsx'.")
        dest = dest.with_name(dest.name + ".xlsx")
    if not dest.parent.is_dir():
        raise OutputError(f"There is no folder '{dest.parent}' to put '{dest.name}' in.",
                          hint="Create the folder first, or give another place for the copy.")
    return dest


def copy_template(name: str, path: str | Path | None = None) -> Path:
    """Copy the template ``name`` to ``path`` (a folder or a file name; default: the current
    folder, under the template's own name) and return where it went. Never replaces a file."""
    template = find_template(name)
    dest = _destination(template, path)
    try:
        with open(template, "rb") as src, open(dest, "xb") as out:  # 'x': fails if the file exists
            shutil.copyfileobj(src, out)
    except FileExistsError:
        raise OutputError(
            f"'{dest}' already exists; SheetDL never replaces a file.",
            hint=f'Give the copy another name, for example: sheetdl new "{template.stem}" '
                 f'"{dest.stem} 2.xlsx" (or move the existing file away first).') from None
    except OSError as e:
        raise OutputError(f"Could not write '{dest}': {e.strerror or e}.",
                          hint="Check that the folder exists and that you may write to it.") from None
    return dest


def cmd_new(name: str | None, path: str | None, say: Callable[[str], None] = print) -> int:
    """``sheetdl new``: list the templates, or copy one and say what to do next."""
    if not name:
        say("Templates (copy one with: sheetdl new \"NAME\" [FOLDER or FILE.xlsx]):")
        width = max(len(n) for n in TEMPLATES)
        for n, description in list_templates():
            say(f"  {n:<{width}}  {description}")
        return 0
    dest = copy_template(name, path)
    try:
        shown = dest.relative_to(Path.cwd())
    except ValueError:
        shown = dest
    say(f"Created {shown}")
    say(f"Open it and follow the 'Start here' sheet; when your data is in, run: sheetdl train \"{shown}\"")
    return 0
