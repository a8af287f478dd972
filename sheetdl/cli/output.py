"""Where a command's results go: a new name beside the workbook claimed atomically ('Customers
(SheetDL).xlsx'), the file named with --output, or the workbook itself (--in-place, after a backup
copy), and writing them there.

The workbook code (pandas, openpyxl) and the report's layout (the engine's Results, so torch) are
imported in the functions that use them: the command line answers ``--help`` or a mistyped flag at
once.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import OutputError, SettingsError

__all__ = ["default_output", "reserve_output", "release", "backup_copy", "output_for", "write_output", "write_results",
           "RESERVED"]


def default_output(source: Path, suffix: str = "SheetDL") -> Path:
    """'Customers (SheetDL).xlsx' beside the input; 'Customers (SheetDL 2).xlsx' if that exists."""
    n = 1
    while True:
        tag = suffix if n == 1 else f"{suffix} {n}"
        out = source.with_name(f"{source.stem} ({tag}).xlsx")
        if not out.exists() and not out.with_suffix(".sheetdl").exists():
            return out
        n += 1


#: what a claimed output name holds until the finished workbook is renamed over it
RESERVED = "SheetDL is writing this workbook (process {pid}); it will replace this file when done.\n"
RESERVED_RE = re.compile(r"^SheetDL is writing this workbook \(process (\d+)\)")


def reserve_output(source: Path, suffix: str = "SheetDL", ext: str = ".xlsx") -> Path:
    """Like :func:`default_output`, but claims the name by creating the file exclusively (O_EXCL), so
    two runs on the same workbook at the same time never pick the same name. The file holds a line
    naming this process; the writer renames the finished workbook over it, :func:`release` removes
    it if nothing was written, and a later run removes one whose process was killed."""
    _remove_stale_reservations(source.parent)
    n = 1
    while True:
        tag = suffix if n == 1 else f"{suffix} {n}"
        out = source.with_name(f"{source.stem} ({tag}){ext}")
        if not out.exists() and not out.with_suffix(".sheetdl").exists():
            try:
                fd = os.open(out, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                pass  # another run took it a moment ago: try the next number
            except OSError as e:
                raise OutputError(
                    f"Can't write to the folder '{out.parent}': it is read-only or you don't have "
                    f"permission ({e.strerror}).",
                    hint="Choose a folder you can write to with --output.",
                ) from e
            else:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(RESERVED.format(pid=os.getpid()))
                return out
        n += 1


def _reserved_by(path: Path) -> int | None:
    """The process number in a claimed-name file, or None when the file is anything else."""
    try:
        if path.stat().st_size > 200:
            return None
        m = RESERVED_RE.match(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return int(m.group(1)) if m else None


def release(reserved: Path | None) -> None:
    """Remove a claimed output name that never received a result."""
    if reserved is not None and _reserved_by(reserved) == os.getpid():
        try:
            reserved.unlink()
        except OSError:
            pass


def _remove_stale_reservations(folder: Path) -> None:
    """Claimed names left by a run that was killed (its process is gone) are free again."""
    from ..sheets import pid_alive

    try:
        candidates = [p for p in folder.iterdir()
                      if p.name.endswith((").xlsx", ").xlsm")) and " (SheetDL" in p.name]
    except OSError:
        return
    for p in candidates:
        pid = _reserved_by(p)
        if pid is not None and not pid_alive(pid):
            try:
                p.unlink()
            except OSError:
                pass


def in_place_check(source: Path, args) -> None:
    """--in-place writes into an .xlsx/.xlsm that Excel does not have open, and not with --output."""
    from ..sheets import excel_lock_file

    if args.output:
        raise SettingsError("--in-place and --output can't be used together.",
                            hint="Leave out --output to write into the workbook itself, or --in-place to "
                                 "write a copy.")
    if source.suffix.lower() not in (".xlsx", ".xlsm"):
        raise OutputError(
            f"'{source.name}' is not an Excel workbook (.xlsx or .xlsm), so SheetDL can't write into it.",
            hint=f"Leave out --in-place: SheetDL writes the results to '{source.stem} (SheetDL).xlsx'.")
    lock = excel_lock_file(source)
    if lock is not None:
        raise OutputError(
            f"'{source.name}' is open in Excel (its lock file '{lock.name}' is beside it), so SheetDL won't "
            "write into it.",
            hint="Save and close it in Excel, then run again (or leave out --in-place to get a copy)."
                 + (" To write into it while it is open in Excel, use --live instead of --in-place."
                    if sys.platform in ("win32", "darwin") else ""))


def backup_copy(source: Path) -> Path:
    """Copy ``source`` to 'NAME (before SheetDL).xlsx' beside it (… 2, 3 when taken); never overwrites."""
    n = 1
    while True:
        tag = "before SheetDL" if n == 1 else f"before SheetDL {n}"
        backup = source.with_name(f"{source.stem} ({tag}){source.suffix}")
        try:
            with open(source, "rb") as src, open(backup, "xb") as dst:
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
        except FileExistsError:
            n += 1
            continue
        except OSError as e:
            raise OutputError(
                f"Can't save a backup copy of '{source.name}' beside it ({e.strerror or e}), so SheetDL "
                "won't write into it.",
                hint="Make the folder writable, or leave out --in-place to write a copy elsewhere "
                     "with --output.") from e
        shutil.copystat(source, backup)
        return backup


def write_in_place(source: Path, table, results, warn: Callable[[str], None]) -> tuple[Path, Path, list[str]]:
    """Backup, write the result beside the workbook, then rename it over the workbook (atomic). Returns
    (where the results are, the backup, what was lost). If anything of the workbook would be lost,
    or the workbook changed on disk while SheetDL worked, the original is left alone and the result
    kept as a copy."""
    from ..sheets import excel_lock_file

    before = source.stat()
    backup = backup_copy(source)
    staged = reserve_output(source, ext=source.suffix.lower())  # .xlsm stays .xlsm: macros kept
    try:
        lost = write_results(source, table, results, staged)
    except BaseException:
        release(staged)
        raise
    now = source.stat()
    if lost:
        warn(f"Writing into '{source.name}' would lose what is listed below, so it was left as it was; "
                f"the results are in '{staged.name}'.")
        return staged, backup, lost
    if (now.st_mtime_ns, now.st_size) != (before.st_mtime_ns, before.st_size):
        warn(f"'{source.name}' was changed on disk while SheetDL worked, so it was left as it was; "
                f"the results are in '{staged.name}'.")
        return staged, backup, lost
    if excel_lock_file(source) is not None:
        warn(f"'{source.name}' was opened in Excel while SheetDL worked, so it was left as it was; "
                f"the results are in '{staged.name}'.")
        return staged, backup, lost
    try:
        os.replace(staged, source)
    except OSError as e:
        warn(f"Could not replace '{source.name}' ({e.strerror or e}); the results are in '{staged.name}'.")
        return staged, backup, lost
    return source, backup, lost


def output_for(source: Path, args) -> Path | None:
    """The output asked for with --output (checked), or None for the default name, which is claimed
    only when the results are written."""
    if getattr(args, "in_place", False):
        in_place_check(source, args)
        return None
    if not args.output:
        return None
    out = Path(args.output)
    if out.suffix.lower() not in (".xlsx", ".xlsm"):
        raise OutputError(f"The output '{out.name}' should be an Excel workbook ending in .xlsx.",
                          hint="Give --output a name like 'Results.xlsx'.")
    if source.suffix.lower() == ".xlsm" and out.suffix.lower() != ".xlsm":
        raise OutputError(f"'{source.name}' holds macros, so the output must end in .xlsm to keep them.",
                          hint=f"Give --output a name like '{source.stem} (SheetDL).xlsm'.")
    if out.resolve() == source.resolve():
        raise OutputError("The output can't be the input workbook itself: SheetDL never changes your file.",
                          hint="Give --output another name, or leave it out to get '… (SheetDL).xlsx'.")
    if out.exists() and not args.overwrite:
        raise OutputError(f"'{out}' already exists.", hint="Add --overwrite to replace it, or choose another --output.")
    return out


def write_results(source: Path, table, results, output: Path) -> list[str]:
    """Lay the results out and write them; what couldn't be carried over is listed in the report."""
    from ..report import layout, layout_not_carried_over
    from ..sheets import conversion_note, existing_sheet_names, objects_right_col, write_workbook

    if table.n_rows:  # results must not hide under a chart or picture floating right of the data
        covered = objects_right_col(source, table.sheet, table.header_row, int(table.sheet_rows[-1]))
        table.sheet_max_col = max(table.sheet_max_col, covered)
    note = conversion_note(source)
    if note:
        results.notes.append(note)
    sheets = existing_sheet_names(source)
    return write_workbook(source, layout(results, table, sheets), output,
                          on_lost=lambda lost: layout_not_carried_over(results, table, lost, sheets))


def write_output(source: Path, table, results, output: Path | None, *, in_place: bool,
                 warn: Callable[[str], None]) -> tuple[Path, Path | None, list[str]]:
    """(where the results went, the backup made or None, what was lost)."""
    if in_place:
        return write_in_place(source, table, results, warn)
    reserved = None
    if output is None:
        output = reserved = reserve_output(source)
    try:
        lost = write_results(source, table, results, output)
    except BaseException:
        release(reserved)
        raise
    return output, None, lost
