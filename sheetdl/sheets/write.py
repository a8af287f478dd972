"""The file backend's writer: a copy of the user's workbook with SheetEdits applied.

An .xlsx/.xlsm (or template) is copied by :mod:`.package`, which keeps every part of the package it
does not change byte for byte and edits the few it must (the sheets that get cells, the styles, the
workbook's sheet list), so nothing of the user's workbook is lost and a big sheet is not parsed and
rebuilt cell by cell. A package that writer can't handle (strict OOXML, rows without numbers …) is
copied through openpyxl instead. openpyxl silently drops parts of a package it does not understand
(text boxes and shapes, sparklines, slicers, form controls, pictures when Pillow is missing, some x14
extensions, threaded comments …), so after either writer the inventory of the input and the output
packages are compared and everything that was in the input and is not in the output is returned in
plain words ("2 charts on sheet 'Sales'", "macros (VBA)" when an .xlsm is saved as .xlsx). It does not
notice a chart that survived with some of its formatting lost.

Rules that hold for both writers:

- the source file is only ever read (an output path that is the source is refused);
- the output appears complete or not at all: written to a temporary file in the destination folder,
  flushed to disk, then renamed over the destination; on any failure (Ctrl+C included) the temporary
  file is removed;
- a source that is not an .xlsx/.xlsm package (.csv, .xls, .xlsb, .ods) becomes a NEW .xlsx workbook
  holding its cell values. For a .csv nothing is lost (it only has values); :func:`conversion_note`
  gives the sentence to put in the report's notes. For .xls/.xlsb/.ods the formatting, formulas and
  objects are lost and returned as such.

This module is the entry point and owns what both writers share: choosing the writer, the atomic
save and its temporary files, and the questions ``layout`` asks about a source (its sheet names,
where its charts float). The openpyxl side is :mod:`.openpyxl_writer`; the comparison of what the
input and output packages hold is :mod:`.inventory`.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from ..errors import OutputError, WorkbookError
from ._xlsx import package as _package
from .edits import Edit
from .files import fsync_dir, refuse_same_file, save_synced, set_mode, temp_file
from .inventory import anchor_span, describe_lost, package_inventory, part_rels, workbook_sheets
from .openpyxl_writer import apply_edits, data_sheet_name, load_package, workbook_from_calamine, workbook_from_csv

__all__ = ["write_workbook", "existing_sheet_names", "conversion_note", "objects_right_col"]

#: packages openpyxl can copy
PACKAGE_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
#: what the writer can produce
OUTPUT_SUFFIXES = (".xlsx", ".xlsm")
#: read with python-calamine and rebuilt as a new workbook holding their values
VALUES_ONLY_SUFFIXES = (".xls", ".xlsb", ".ods")


# =================================================================================================
# public entry points
# =================================================================================================


def write_workbook(
    source_path,
    edits: Sequence[Edit],
    output_path,
    *,
    on_lost: Callable[[list[str]], Sequence[Edit]] | None = None,
) -> list[str]:
    """Write a copy of ``source_path`` with ``edits`` applied to ``output_path``; return, in plain
    words, what of the source could not be carried over (empty when nothing was lost).

    ``on_lost``, if given, is called with that list when it is not empty and returns more edits
    (``layout_not_carried_over``) so the report itself can say what was lost; they are applied and
    the file is written again before it replaces anything.
    """
    src = Path(source_path)
    out = Path(output_path)
    if not src.is_file():
        raise WorkbookError(f"Can't find the workbook '{src}'.", hint="Check the file name and folder.")
    suffix = src.suffix.lower()
    out_suffix = out.suffix.lower()
    if out_suffix not in OUTPUT_SUFFIXES:
        raise OutputError(
            f"Can't write results to '{out.name}': SheetDL writes .xlsx (or .xlsm) workbooks.",
            hint="Give an output name ending in .xlsx.",
        )
    refuse_same_file(src, out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"The folder '{folder}' does not exist, so '{out.name}' can't be written there.",
                          hint="Create the folder, or choose another place with --output.")

    if suffix in PACKAGE_SUFFIXES:
        try:
            return _write_copy(src, edits, out, folder, on_lost)
        except _package.Unsupported:
            pass  # a package the part-by-part writer can't change safely: openpyxl, which reports losses
        wb = load_package(src, keep_vba=out_suffix == ".xlsm")
        lost_fixed: list[str] = []
    elif suffix == ".csv" or suffix == ".txt" or suffix == ".tsv":
        wb = workbook_from_csv(src, data_sheet_name(edits, src))
        lost_fixed = []
    elif suffix in VALUES_ONLY_SUFFIXES:
        wb = workbook_from_calamine(src)
        lost_fixed = [f"formatting, formulas, charts and everything else but the cell values (only the values "
                      f"of the {suffix} file were copied)"]
    else:
        raise WorkbookError(f"SheetDL can't read '{src.name}': it is not a workbook it knows "
                            "(.xlsx, .xlsm, .xls, .xlsb, .ods or .csv).")

    wb.template = False
    try:  # formulas are saved without their last results; let Excel work them out on opening
        wb.calculation.fullCalcOnLoad = True
    except AttributeError:  # pragma: no cover - very old openpyxl
        pass

    apply_edits(wb, edits)

    def add_more(more: Sequence[Edit]) -> None:
        apply_edits(wb, more)

    return _save_atomically(wb, add_more, src if suffix in PACKAGE_SUFFIXES else None, list(lost_fixed),
                            out, folder, on_lost)


def _write_copy(src: Path, edits: Sequence[Edit], out: Path, folder: Path, on_lost) -> list[str]:
    """The part-by-part copy of an .xlsx/.xlsm package; raises ``package.Unsupported`` (before the
    output is touched) for a package it can't change safely."""
    book = _package.Package(src, macro_enabled=out.suffix.lower() == ".xlsm")
    try:
        book.apply(edits)
        # a copy that holds every part of the source has lost nothing: no need to take inventory
        return _save_atomically(book, book.apply, src if book.drops_parts else None, [], out, folder, on_lost)
    finally:
        book.close()


def _save_atomically(book, add_more: Callable[[Sequence[Edit]], None], package_src: Path | None,
                     lost: list[str], out: Path, folder: Path, on_lost) -> list[str]:
    """Save ``book`` (anything with ``save(file)``) to a temporary file beside ``out``, work out what
    of ``package_src`` it lost, let ``on_lost`` add edits that say so, then rename it over ``out``."""
    tmp = temp_file(folder, out)
    try:
        save_synced(book, tmp)
        if package_src is not None:
            lost += describe_lost(package_inventory(package_src), package_inventory(tmp))
        if lost and on_lost is not None:
            more = list(on_lost(lost))
            if more:
                add_more(more)
                save_synced(book, tmp)
        set_mode(tmp, out)
        try:
            os.replace(tmp, out)
        except PermissionError as e:
            raise OutputError(
                f"Can't replace '{out}': it is open in another program or read-only.",
                hint="Close it (in Excel too) and run again, or choose another name with --output.",
            ) from e
        fsync_dir(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return lost


def existing_sheet_names(path) -> list[str]:
    """The sheet names of a workbook (for ``layout``, so new sheets don't collide), without loading
    the cells. A .csv has no sheets: []."""
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix in PACKAGE_SUFFIXES:
            with zipfile.ZipFile(p) as z:
                return [name for name, _, _ in workbook_sheets(z)]
        if suffix in VALUES_ONLY_SUFFIXES:
            from python_calamine import CalamineWorkbook

            return list(CalamineWorkbook.from_path(str(p)).sheet_names)
    except (OSError, zipfile.BadZipFile, KeyError, ET.ParseError) as e:
        raise WorkbookError(f"Can't open '{p.name}' as a workbook ({e}).",
                            hint="Check that the file is a workbook and not damaged.") from e
    except Exception as e:  # calamine's own errors
        raise WorkbookError(f"Can't open '{p.name}' as a workbook ({e}).",
                            hint="Check that the file is a workbook and not damaged.") from e
    return []


def objects_right_col(path, sheet: str, first_row: int = 1, last_row: int = 1_048_576) -> int:
    """The rightmost column (1-based) covered by a chart, picture or shape floating over rows
    ``first_row``..``last_row`` of ``sheet``; 0 if none.

    A Table's ``sheet_max_col`` counts cells only; results written under a chart would be hidden, so
    whoever reads the table can take the larger of the two before ``layout``.
    """
    p = Path(path)
    if p.suffix.lower() not in PACKAGE_SUFFIXES:
        return 0
    right = 0
    with zipfile.ZipFile(p) as z:
        names = set(z.namelist())
        for name, _, part in workbook_sheets(z):
            if name != sheet or part not in names:
                continue
            for rtype, target in part_rels(z, part):
                if rtype != "drawing" or target not in names:
                    continue
                root = ET.fromstring(z.read(target))
                for anchor in root:
                    span = anchor_span(anchor)
                    if span is None:
                        continue
                    top, bottom, last_col = span
                    if bottom >= first_row and top <= last_row:
                        right = max(right, last_col)
    return right


def conversion_note(source_path) -> str | None:
    """The sentence for the report's notes when the result is a new workbook, not a copy."""
    suffix = Path(source_path).suffix.lower()
    if suffix in PACKAGE_SUFFIXES:
        return None
    kind = suffix.lstrip(".") or "data"
    return f"The original was a .{kind} file; the result is a new .xlsx workbook."
