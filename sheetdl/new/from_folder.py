"""``sheetdl new images FOLDER``: a workbook made from a folder of pictures.

A folder of pictures sorted into one subfolder per label (the way Lobe and DIGITS take data:
``Pets/cat/*.jpg``, ``Pets/dog/*.png``) becomes the same three sheets as the templates ('Start
here', 'Data', 'SheetDL'), with one row per picture: its path from the workbook's folder and its
label, blank for pictures directly in the folder (SheetDL predicts those). The scan accounts for every
file it leaves out, so the command can say what was not listed and why. The texts, dropdowns and row
heights come from :mod:`.templates`, shared with the template workbooks; the workbook is written with
openpyxl (it is new, so nothing of a user's file can be lost) and never replaces a file.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError, SheetDLError
from ..schema import IMAGE_EXTENSIONS
from ..settings import SETTING_KEYS
from .templates import (
    FONT,
    IMAGE_RESULTS,
    IMAGE_TIPS,
    TEXT_WIDTH,
    destination,
    row_height,
    settings_validation,
    shown,
    write_new,
)

__all__ = [
    "ImageFolder", "ImageWorkbook", "scan_image_folder", "make_image_workbook", "cmd_new_images",
    "IMAGE_COLUMN", "LABEL_COLUMN",
]

#: Headers, sheet and table of a workbook made from a folder of pictures.
IMAGE_COLUMN = "Image"
LABEL_COLUMN = "Label"
DATA_SHEET = "Data"
DATA_TABLE = "DataTable"
#: Settings written on a new picture workbook's SheetDL sheet (the others stay blank: defaults).
IMAGE_SETTINGS = {"Target column": LABEL_COLUMN, "Data sheet": DATA_SHEET, "Time budget (seconds)": 60,
                  "Task": "classification", "Device": "auto", "Seed": 0, "Review threshold": "70%",
                  "Fine-tune pictures": "auto", "Picture network": "auto"}
#: Folders that archivers, NAS boxes and the recycle bin create: never a label.
SYSTEM_FOLDERS = frozenset({"__macosx", "$recycle.bin", "system volume information", "@eadir"})
#: A folder of pictures as the user's system writes it, for examples in messages.
EXAMPLE_FOLDER = r"C:\Users\me\Pictures\Pets" if os.name == "nt" else "~/Pictures/Pets"
#: How many file or folder names a message lists before "and N more".
NAMES_SHOWN = 3
#: Width limits of the Image column on the Data sheet, in characters.
MIN_PATH_WIDTH, MAX_PATH_WIDTH = 14, 60


# --- the folder ----------------------------------------------------------------------------------
@dataclass
class ImageFolder:
    """What a folder of pictures holds: each picture with its label (the name of the subfolder of
    ``folder`` it is in, at any depth; None for pictures directly in ``folder``), in the order the
    rows are written, and what was left out, so the message can account for every file."""

    folder: Path
    pictures: list[tuple[Path, str | None]] = field(default_factory=list)
    hidden: int = 0                                     # hidden files and folders skipped
    not_pictures: list[Path] = field(default_factory=list)
    bad_names: list[Path] = field(default_factory=list)  # names a workbook cell can't hold
    empty_folders: list[str] = field(default_factory=list)  # label folders without pictures
    unreadable: list[Path] = field(default_factory=list)  # folders SheetDL may not look into

    @property
    def per_label(self) -> dict[str, int]:
        """Pictures per label, in row order; blank labels are not counted here."""
        return dict(Counter(label for _, label in self.pictures if label is not None))

    @property
    def unlabelled(self) -> int:
        return sum(label is None for _, label in self.pictures)


def _natural(text: str) -> tuple:
    """Sort key that puts 'img2' before 'img10' and ignores case; ties ('007', '7'; 'A', 'a') are
    broken by the name itself, so the order never depends on the file system."""
    parts = [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text.casefold())]
    return parts, text


def _hidden(entry: os.DirEntry) -> bool:
    """A dot name (macOS, Linux, '.DS_Store') or, on Windows, the hidden attribute."""
    if entry.name.startswith("."):
        return True
    try:
        attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0))


def _cell_safe(text: str) -> bool:
    """Can a workbook cell hold ``text``? Not with control characters or undecodable bytes."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return ILLEGAL_CHARACTERS_RE.search(text) is None and len(text) <= 32767


def _entries(folder: Path, found: ImageFolder) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError:
        found.unreadable.append(folder)
        return []
    return sorted(entries, key=lambda e: _natural(e.name))


def _collect(folder: Path, label: str | None, found: ImageFolder, *, recurse: bool,
             seen: set[str]) -> list[os.DirEntry]:
    """Add the pictures of ``folder`` (and, with ``recurse``, of its subfolders) under ``label``;
    return the subfolders found when not recursing (the label folders)."""
    folders: list[os.DirEntry] = []
    pending = [folder]
    while pending:
        here = pending.pop(0)
        real = os.path.realpath(here)
        if real in seen:  # a link back up the tree: looked at once only
            continue
        seen.add(real)
        subfolders = []
        for entry in _entries(here, found):
            if _hidden(entry):
                found.hidden += 1
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name.casefold() not in SYSTEM_FOLDERS:
                    subfolders.append(entry)
                continue
            if not entry.name.casefold().endswith(IMAGE_EXTENSIONS):
                found.not_pictures.append(path)
            elif not _cell_safe(os.path.relpath(path, found.folder)):
                found.bad_names.append(path)
            else:
                found.pictures.append((path, label))
        if recurse:
            pending[0:0] = [Path(e.path) for e in subfolders]  # depth first, in name order
        else:
            folders.extend(subfolders)
    return folders


def scan_image_folder(folder: str | Path) -> ImageFolder:
    """The pictures in ``folder``, labelled by the subfolder they are in (searched to any depth),
    those directly in ``folder`` unlabelled. Raises :class:`SheetDLError` in plain words when there is
    nothing to learn from: not a folder, no subfolders, no pictures, or no picture in a subfolder."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise SheetDLError(f"There is no folder '{folder}'.",
                           hint="Check the name and place of the folder that holds your pictures.")
    if not folder.is_dir():
        raise SheetDLError(f"'{folder}' is a file, not a folder.",
                           hint="Give the folder that holds your pictures, sorted into one subfolder "
                                "per label (for example Pets/cat and Pets/dog).")
    found = ImageFolder(folder=folder)
    seen: set[str] = set()
    label_folders = _collect(folder, None, found, recurse=False, seen=seen)
    if folder in found.unreadable:
        raise SheetDLError(f"SheetDL may not look inside '{folder}'.",
                           hint="Check that you have permission to open the folder.")
    root_pictures, found.pictures = found.pictures, []
    for entry in label_folders:
        before = len(found.pictures)
        if not _cell_safe(entry.name):
            found.bad_names.append(Path(entry.path))
            continue
        _collect(Path(entry.path), entry.name, found, recurse=True, seen=seen)
        if len(found.pictures) == before:
            found.empty_folders.append(entry.name)
    found.pictures.extend(root_pictures)  # the ones to predict come last

    kinds = ", ".join(IMAGE_EXTENSIONS)
    name = folder.resolve().name or str(folder)
    if not label_folders:
        pictures = (f" The {len(root_pictures):,} pictures in it are not sorted yet." if root_pictures
                    else "")
        raise SheetDLError(
            f"'{folder}' has no subfolders: SheetDL takes each picture's label from the name of the "
            f"subfolder it is in.{pictures}",
            hint=f"Make one subfolder per label inside '{name}' (for example '{name}/cat' and "
                 f"'{name}/dog') and move the pictures you have labelled into them; pictures left "
                 "directly in the folder get a blank label, for SheetDL to predict. Or copy the empty "
                 'template: sheetdl new "Classify images".')
    if not found.pictures:
        others = len(found.not_pictures)
        seen_files = (f" It holds {others:,} other file{'s' if others != 1 else ''} "
                      f"(such as {found.not_pictures[0].name})." if others else "")
        raise SheetDLError(
            f"No pictures found in '{folder}' or its subfolders.{seen_files}",
            hint=f"SheetDL reads picture files ending in {kinds}. Check that this is the right folder.")
    if not found.per_label:
        raise SheetDLError(
            f"None of the subfolders of '{folder}' holds pictures, so there are no labels to learn from "
            f"(the {found.unlabelled:,} pictures directly in it have none).",
            hint=f"Move the pictures you have labelled into subfolders named after their label (for "
                 f"example '{name}/cat'), then run this again.")
    return found


def _relative(path: Path, base: Path) -> str:
    """``path`` as written in the Image column: from the workbook's folder, with forward slashes
    (so the workbook works on Windows and macOS alike); absolute on another drive."""
    try:
        text = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    except ValueError:  # another drive on Windows
        text = os.path.abspath(path)
    return text.replace(os.sep, "/")


def _label_values(labels: list[str]) -> dict[str, object]:
    """Folder names as cells: whole numbers ('0' … '9') as numbers when every label is one, so a
    label typed into a blank cell matches; otherwise text as written ('007' stays '007')."""
    if labels and all(re.fullmatch(r"-?(0|[1-9]\d{0,14})", label) for label in labels):
        return {label: int(label) for label in labels}
    return {label: label for label in labels}


# --- the workbook --------------------------------------------------------------------------------
@dataclass
class ImageWorkbook:
    """What :func:`make_image_workbook` made: the workbook and what went into it."""

    path: Path
    found: ImageFolder
    warnings: list[str] = field(default_factory=list)


def make_image_workbook(folder: str | Path, output: str | Path | None = None) -> ImageWorkbook:
    """Make a workbook listing every picture in ``folder`` (one row each: Image = the path from the
    workbook's folder, Label = the subfolder's name, blank for pictures directly in ``folder``),
    with 'Start here' and 'SheetDL' sheets like the templates. ``output`` is a file or a folder;
    by default the workbook goes inside ``folder`` as '<folder name>.xlsx', so the paths keep
    working when the folder is moved or shared. Never replaces a file."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        scan_image_folder(folder)  # raises the plain message
    name = (folder.resolve().name or "Pictures") + ".xlsx"
    dest = destination(name, output, default_folder=folder)
    hint = (f'Give the workbook another name, for example: sheetdl new images "{folder}" --output '
            f'"{dest.with_name(dest.stem + " 2.xlsx")}" (or move the existing file away first).')
    if dest.exists():
        raise OutputError(f"'{dest}' already exists; SheetDL never replaces a file.", hint=hint)
    found = scan_image_folder(folder)
    warnings = []
    if len(found.per_label) == 1:
        (only,) = found.per_label
        warnings.append(f"Only one label was found ('{only}'): SheetDL needs pictures of at least two labels "
                        f"to learn to tell them apart. Add a subfolder of pictures for each other label "
                        f"(or fill in Label cells on the Data sheet), then train.")
    write_new(dest, _image_workbook_bytes(found, dest), hint=hint)
    return ImageWorkbook(path=dest, found=found, warnings=warnings)


# --- writing (openpyxl: the workbook is new, so nothing of a user's file can be lost) ------------
def _openpyxl_validation(rule: dict, input_title: str, input_message: str):
    from openpyxl.worksheet.datavalidation import DataValidation

    if rule["validate"] == "list":
        source = rule["source"]
        formula = source.lstrip("=") if isinstance(source, str) else '"' + ",".join(source) + '"'
        dv = DataValidation(type="list", formula1=formula, allow_blank=True)
    else:
        dv = DataValidation(type="whole", operator="between", formula1=str(rule["minimum"]),
                            formula2=str(rule["maximum"]), allow_blank=True)
    dv.errorStyle = rule.get("error_type", "stop")
    dv.errorTitle, dv.error = rule["error_title"], rule["error_message"]
    dv.promptTitle, dv.prompt = input_title[:32], input_message[:255]
    dv.showErrorMessage = dv.showInputMessage = True
    return dv


def _styles() -> dict:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    top_wrap = Alignment(wrap_text=True, vertical="top")
    grey = Side(style="thin", color="BFBFBF")
    font = {"name": FONT, "size": 11}  # a Font without a name shows in a serif face in LibreOffice
    return {
        "title": Font(**{**font, "size": 16}, bold=True, color="1F4E79"),
        "subtitle": (Font(**font, italic=True, color="404040"), top_wrap),
        "heading": Font(**{**font, "size": 12}, bold=True, color="1F4E79"),
        "number": (Font(**font, bold=True), Alignment(horizontal="right", vertical="top")),
        "wrap": top_wrap,
        "command": (Font(name="Courier New", size=11, bold=True), PatternFill("solid", fgColor="F2F2F2"),
                    Alignment(wrap_text=True, vertical="center")),
        "header": Font(**font, bold=True),
        "value": (PatternFill("solid", fgColor="FFF2CC"), Border(left=grey, right=grey, top=grey, bottom=grey),
                  Alignment(horizontal="left", vertical="top")),
    }


def _start_here_lines(found: ImageFolder, dest: Path) -> tuple[str, list[tuple[str, str | None]]]:
    """(intro, steps) of the 'Start here' sheet; a step's style 'command' is a line to type."""
    labels = found.per_label
    n = len(found.pictures)
    intro = (f"The pictures in the folder '{found.folder.resolve().name}', one per row on the 'Data' sheet: "
             f"{n:,} picture{'s' if n != 1 else ''}, {len(labels)} label{'s' if len(labels) != 1 else ''} "
             f"taken from the subfolder names. Made by: sheetdl new images.")
    if found.unlabelled:
        one = found.unlabelled == 1
        blank = (f"Here {_plural(found.unlabelled, 'picture')} that {'was' if one else 'were'} directly in "
                 f"'{found.folder.resolve().name}', not in a label's subfolder, {'has' if one else 'have'} a "
                 "blank Label.")
    else:
        blank = "None is blank yet."
    steps: list[tuple[str, str | None]] = [
        ("The 'Data' sheet lists one picture per row. 'Image' is the picture's file, as a path from this "
         "workbook's folder; 'Label' is the name of the subfolder it was in. Keep the workbook and the "
         "pictures together: move or copy the whole folder, not the workbook alone.", None),
        (f"Rows whose Label is blank get SheetDL's answer. {blank} To have more pictures labelled, put them "
         "in the folder and add a row with the picture's path, leaving its Label blank.", None),
        ("The 'SheetDL' sheet is already set up: Target column = Label, Task = classification. The other "
         "settings can stay as they are; the Note column says what each one does.", None),
        ("Train. In a terminal opened in this workbook's folder, type the line below (save and close the "
         "workbook first if you changed it). Or, in Excel with the SheetDL add-in, press Train. The "
         "'Time budget' setting says how long it may take.", None),
        (f'sheetdl train "{dest.name}"', "command"),
        (f"Open the result: '{dest.stem} (SheetDL).xlsx' appears beside this workbook. This workbook "
         "itself is never changed.", None),
    ]
    return intro, steps


def _image_workbook_bytes(found: ImageFolder, dest: Path) -> bytes:
    """The new workbook, in memory: nothing half-written is left behind if anything fails."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo


    st = _styles()
    wb = Workbook()
    wb.properties.title = f"SheetDL: {dest.stem}"
    wb.properties.subject = "SheetDL workbook made from a folder of pictures"
    wb.properties.creator = "SheetDL"

    # Start here
    ws = wb.active
    ws.title = "Start here"
    ws.sheet_view.showGridLines = False
    ws.column_dimensions["A"].width = 4
    ws.column_dimensions["B"].width = TEXT_WIDTH
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    intro, steps = _start_here_lines(found, dest)
    ws["A1"] = dest.stem
    ws["A1"].font = st["title"]
    ws.row_dimensions[1].height = 24
    ws.merge_cells("A2:B2")
    ws["A2"] = intro
    ws["A2"].font, ws["A2"].alignment = st["subtitle"]
    ws.row_dimensions[2].height = row_height(intro, TEXT_WIDTH + 4)
    r = 4

    def bullet(mark: str, text: str, style: str | None = None) -> None:
        nonlocal r
        if style == "command":
            cell = ws.cell(r, 2, text)
            cell.font, cell.fill, cell.alignment = st["command"]
            ws.row_dimensions[r].height = max(20, row_height(text))
        else:
            number = ws.cell(r, 1, mark)
            number.font, number.alignment = st["number"]
            ws.cell(r, 2, text).alignment = st["wrap"]
            ws.row_dimensions[r].height = row_height(text)
        r += 1

    for heading, lines in (("Steps", steps), ("What comes back", [(t, "•") for t in IMAGE_RESULTS]),
                           ("Tips", [(t, "•") for t in IMAGE_TIPS])):
        ws.cell(r, 1, heading).font = st["heading"]
        r += 1
        n = 0
        for text, style in lines:
            if style == "command":
                bullet("", text, "command")
            elif style == "•":
                bullet("•", text)
            else:
                n += 1
                bullet(f"{n}.", text)
        r += 1

    # Data: an Excel Table, so rows pasted below join it
    data = wb.create_sheet(DATA_SHEET)
    base = dest.parent
    values = _label_values(list(found.per_label))
    data.append([IMAGE_COLUMN, LABEL_COLUMN])
    for cell in data[1]:
        cell.font = st["header"]
    widest = len(IMAGE_COLUMN)
    for r_, (path, label) in enumerate(found.pictures, start=2):
        text = _relative(path, base)
        widest = max(widest, len(text))
        cell = data.cell(r_, 1, text)
        cell.data_type = "s"  # a file named '=x.png' is a name, not a formula
        if label is not None:
            cell = data.cell(r_, 2, values[label])
            if isinstance(cell.value, str):
                cell.data_type = "s"
    last = len(found.pictures) + 1
    table = Table(displayName=DATA_TABLE, ref=f"A1:B{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    data.add_table(table)
    data.column_dimensions["A"].width = max(MIN_PATH_WIDTH, min(MAX_PATH_WIDTH, widest + 2))
    data.column_dimensions["B"].width = max(12, min(40, max((len(str(v)) for v in values.values()), default=0) + 4))
    data["A1"].comment = Comment("Paths to the picture files, from this workbook's folder (or full paths).",
                                 "SheetDL", width=260, height=60)
    data["B1"].comment = Comment("The label to predict. Rows where it is blank get a prediction.",
                                 "SheetDL", width=260, height=60)
    data.freeze_panes = "A2"

    # SheetDL: the settings, with dropdowns
    settings = wb.create_sheet("SheetDL")
    settings.column_dimensions["A"].width = 24
    settings.column_dimensions["B"].width = 22
    settings.column_dimensions["C"].width = 92
    settings.append(["Setting", "Value", "Note"])
    for cell in settings[1]:
        cell.font = st["header"]
    headers = f"={DATA_SHEET}!$A$1:${get_column_letter(2)}$1"
    for r_, (key, note) in enumerate(SETTING_KEYS.items(), start=2):
        settings.cell(r_, 1, key).font = st["header"]
        value = settings.cell(r_, 2, IMAGE_SETTINGS.get(key))
        value.fill, value.border, value.alignment = st["value"]
        settings.cell(r_, 3, note).alignment = st["wrap"]
        rule = settings_validation(key, headers, DATA_SHEET)
        if rule:
            dv = _openpyxl_validation(rule, key, note)
            dv.add(f"B{r_}")
            settings.add_data_validation(dv)
    settings.freeze_panes = "A2"
    for sheet, orientation in ((data, "portrait"), (settings, "landscape")):
        sheet.page_setup.orientation = orientation
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True

    wb.active = 0
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- the command ---------------------------------------------------------------------------------
def _names(paths: list[Path], folder: Path) -> str:
    listed = [_relative(p, folder) for p in paths[:NAMES_SHOWN]]
    more = f" and {len(paths) - NAMES_SHOWN:,} more" if len(paths) > NAMES_SHOWN else ""
    return ", ".join(listed) + more


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def _say_image_workbook(made: ImageWorkbook, say: Callable[[str], None], warn: Callable[[str], None]) -> None:
    found = made.found
    made_at = shown(made.path)
    labels = found.per_label
    say(f"Created {made_at}: {_plural(len(found.pictures), 'picture')}, {_plural(len(labels), 'label')}.")
    width = max([len(label) for label in labels] + [len("(blank)")])
    for label, count in labels.items():
        say(f"  {label:<{width}}  {count:>7,}")
    if found.unlabelled:
        say(f"  {'(blank)':<{width}}  {found.unlabelled:>7,}  directly in '{found.folder.resolve().name}', "
            "not in a label's subfolder: SheetDL will predict their label")
    left_out = []
    if found.hidden:
        left_out.append(_plural(found.hidden, "hidden file or folder", "hidden files or folders"))
    if found.not_pictures:
        not_pictures = _plural(len(found.not_pictures), "file that is not a picture", "files that are not pictures")
        left_out.append(f"{not_pictures} ({_names(found.not_pictures, found.folder)})")
    if found.empty_folders:
        left_out.append(f"{_plural(len(found.empty_folders), 'folder')} without pictures "
                        f"({', '.join(repr(f) for f in found.empty_folders[:NAMES_SHOWN])}"
                        f"{' …' if len(found.empty_folders) > NAMES_SHOWN else ''})")
    if left_out:
        say("Left out: " + "; ".join(left_out) + ".")
    if found.bad_names:
        warn(f"{_plural(len(found.bad_names), 'file or folder')} left out because a workbook cell can't hold "
             f"its name (it has control characters or unreadable letters): {_names(found.bad_names, found.folder)}. "
             "Rename them and run this again into a new workbook to include them.")
    if found.unreadable:
        warn(f"SheetDL may not look inside {_names(found.unreadable, found.folder)}; the pictures there are "
             "not listed. Check the folder's permissions.")
    for text in made.warnings:
        warn(text)
    folder = made.path.parent
    where = "" if folder.resolve() == Path.cwd().resolve() else f" (in a terminal opened in '{shown(folder)}')"
    say(f"Open it to check the labels, then train{where}: sheetdl train \"{made.path.name}\"")


def _images_usage() -> SheetDLError:
    return SheetDLError(
        "'sheetdl new images' needs the folder that holds your pictures, sorted into one subfolder per "
        "label (for example Pets/cat and Pets/dog).",
        hint=f'Give the folder: sheetdl new images "{EXAMPLE_FOLDER}" (the workbook goes inside it; '
             'choose another place with --output). To copy the empty picture template instead: '
             'sheetdl new "Classify images".')


def cmd_new_images(folder: str | None, output: str | None, say: Callable[[str], None],
                   warn: Callable[[str], None]) -> int:
    """``sheetdl new images FOLDER [--output PATH]``, as :func:`.command.cmd_new` hands it over:
    make the workbook, then say what went into it and what was left out."""
    if not folder:
        raise _images_usage()
    _say_image_workbook(make_image_workbook(folder, output), say, warn)
    return 0
