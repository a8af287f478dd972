"""Which picture files a job may make the server read: only image files in the folders the user allowed.

A workbook names pictures by path, and the server reads them on the user's computer; a workbook from
someone else could name any file there (and results can carry thumbnails back into the workbook). So
before a job starts, every cell of a picture column must be a picture file name (png, jpg, …) whose
real location, after following links and ``..``, lies inside a folder given to
``sheetdl serve --allow-images``. Relative paths start in the first of those folders, and a cell is
read as a path exactly as the picture loader reads it (``resolve_path``: quotes, ``file://``, ``~``,
backslashes). A cell that can be no file's name (a NUL, which makes ``os.path`` raise ValueError; a
name longer than file systems allow; text that is not valid Unicode) is refused too. A refusal names
the cells, before any training starts; the picture loader makes the same decision (one function,
``images.picture_path``) and checks the file it opened again, so a link swapped meanwhile can't lead out.

Which columns are picture columns follows the schema's rule (most filled cells end in a picture
extension); for a prediction, the picture columns of the saved model count as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

from ..errors import DataError, cell_list
from ..schema import IMAGE_EXTENSIONS, IMAGE_MIN_SHARE, PLACEHOLDERS
from ..sheets import EXCEL_ERRORS

__all__ = ["check_image_cells", "model_image_columns", "picture_columns", "outside_folders", "unusable_path"]

#: cells named in a refusal (the message lists the first few; the error carries these for the pane)
MAX_CELLS = 200
#: the longest file or folder name common file systems allow (ext4, NTFS, APFS: 255)
MAX_NAME = 255


def _text(v) -> str | None:
    if not isinstance(v, str):
        return None
    s = v.strip()
    return s if s and s not in EXCEL_ERRORS else None


def _filled(v) -> bool:
    """A cell that holds something: not blank, not an Excel error, not a placeholder like 'n/a'
    (which name no file inside a folder and are read as missing pictures)."""
    if v is None:
        return False
    if isinstance(v, str):
        text = _text(v)
        return text is not None and text.casefold() not in PLACEHOLDERS
    return not (isinstance(v, float) and v != v)


def _is_picture_name(text: str) -> bool:
    return text.casefold().endswith(IMAGE_EXTENSIONS)


def picture_columns(columns: Sequence[str], rows: Sequence[Sequence]) -> set[int]:
    """Positions of the columns the schema will read as pictures: at least IMAGE_MIN_SHARE of the
    filled cells are text ending in a picture extension."""
    found = set()
    for j in range(len(columns)):
        filled = pictures = 0
        for r in rows:
            v = r[j] if j < len(r) else None
            if not _filled(v):
                continue
            filled += 1
            t = _text(v)
            if t is not None and _is_picture_name(t):
                pictures += 1
        if filled and pictures >= IMAGE_MIN_SHARE * filled:
            found.add(j)
    return found


def model_image_columns(path: Path) -> set[str]:
    """Names of the picture columns a saved model reads (from its description only; no weights are
    loaded). Empty when the file can't be read: the prediction itself then says what is wrong."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        cols = json.loads(meta["sheetdl"])["schema"]["columns"]
        return {c["name"] for c in cols if c.get("kind") == "image" and c.get("role") != "ignored"}
    except Exception:  # any unreadable file: no extra columns; load_model reports it in plain words
        return set()


def unusable_path(text: str) -> str | None:
    """Why ``text`` can be no file's name on any computer (in words for a message), or None.

    These are what make ``os.path`` and ``Path.resolve`` raise instead of answering: checked here, in
    the one place a picture cell meets the file system, so a cell is refused in words, never a 500."""
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "characters that are not valid text"
    if any(len(part) > MAX_NAME for part in re.split(r"[\\/]", text)):
        return f"a name longer than {MAX_NAME} characters"
    return None


def outside_folders(text: str, folders: Sequence[Path]) -> bool:
    """True when the picture ``text`` names may not be read: the picture loader's own decision
    (``images.picture_path``: links, ``..``, ``~``, ``file:`` addresses and backslashes resolved, a
    picture extension after any ``?``/``#``, inside one of ``folders``), so the two never disagree;
    relative paths start in the first folder. The loader checks the opened file again."""
    from ..images import may_read_picture

    if not folders or unusable_path(text):
        return True
    return not may_read_picture(text, Path(folders[0]), list(folders))


def check_image_cells(*, sheet: str, columns: Sequence[str], letters: Sequence[str], header_row: int,
                      rows: Sequence[Sequence], ignore: Sequence[str], folders: Sequence[Path],
                      also: AbstractSet[str] = frozenset()) -> None:
    """Refuse (DataError naming the cells) picture paths the server may not read.

    ``columns`` are the header names, ``letters`` their column letters, ``rows`` the raw rows below
    the header (row i is sheet row header_row + 1 + i); ``also`` names more picture columns (a saved
    model's). Ignored columns are never read, so they are not checked.
    """
    skip = {c.casefold() for c in ignore}
    wanted = picture_columns(columns, rows) | {j for j, c in enumerate(columns) if c in also}
    for j in sorted(wanted):
        name = columns[j]
        if name.casefold() in skip:
            continue
        unusable: dict[str, str] = {}  # cell → why it can be no file's name
        not_pictures: list[str] = []
        outside: list[str] = []
        for i, r in enumerate(rows):
            v = r[j] if j < len(r) else None
            if not _filled(v):
                continue
            cell = f"{letters[j]}{header_row + 1 + i}"
            t = _text(v)
            why = unusable_path(t) if t is not None else None
            if why:
                unusable[cell] = why
            elif t is None or not _is_picture_name(t):
                not_pictures.append(cell)
            elif outside_folders(t, folders):
                outside.append(cell)
        if unusable:
            cells = list(unusable)
            reasons = "; ".join(dict.fromkeys(unusable.values()))
            raise DataError(
                f"Column '{name}' on sheet '{sheet}' holds paths to pictures, but {cell_list(cells)} "
                f"can't be the name of a file ({reasons}).",
                hint="Correct those cells or leave them blank, then train again.",
                sheet=sheet, column=name, cells=cells[:MAX_CELLS])
        if not_pictures:
            kinds = ", ".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)
            raise DataError(
                f"Column '{name}' on sheet '{sheet}' holds paths to pictures, but {cell_list(not_pictures)} "
                f"{'is not a picture file' if len(not_pictures) == 1 else 'are not picture files'} "
                f"({kinds}). SheetDL reads only picture files.",
                hint="Correct those cells or leave them blank, then train again.",
                sheet=sheet, column=name, cells=not_pictures[:MAX_CELLS])
        if outside and not folders:
            raise DataError(
                f"Column '{name}' on sheet '{sheet}' holds paths to pictures, but this SheetDL server may "
                "not read pictures from any folder yet.",
                hint="Stop the server and start it again with the folder that holds the pictures: "
                     "sheetdl serve --allow-images \"FOLDER\" (it remembers the folder for next time).",
                sheet=sheet, column=name, cells=outside[:MAX_CELLS])
        if outside:
            where = "; ".join(str(f) for f in folders)
            raise DataError(
                f"Column '{name}' on sheet '{sheet}' names pictures outside the folders this SheetDL server "
                f"may read ({where}): {cell_list(outside)}.",
                hint="Move the pictures into one of those folders (relative paths start in the first), or "
                     "start the server with their folder as well: sheetdl serve --allow-images \"FOLDER\".",
                sheet=sheet, column=name, cells=outside[:MAX_CELLS])
