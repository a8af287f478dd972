"""The ``sheetdl`` command: train, predict, explain, demo.

Everything a user can get wrong ends as a short message in plain words (what, where, what to do)
and exit code 1; Ctrl-C ends with exit code 130 and writes nothing. A SheetDL bug ends with a
one-line apology and the details saved to a log file, never a traceback on screen.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import __version__
from .errors import Cancelled, OutputError, SettingsError, SheetDLError

EXIT_USER_ERROR = 1
EXIT_CANCELLED = 130
EXIT_BUG = 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sheetdl",
        description="Train deep-learning models on the rows of a spreadsheet, and write the "
        "predictions, the reasons and a report back into a copy of the workbook.",
    )
    p.add_argument("--version", action="version", version=f"sheetdl {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="learn from the rows whose target is filled; predict the blank ones")
    t.add_argument("workbook", help="the workbook (.xlsx, .xlsm, .xlsb, .xls, .ods or .csv)")
    t.add_argument("--target", help="header of the column to predict (else the SheetDL sheet's 'Target column')")
    _common(t)
    t.add_argument("--ignore", action="append", metavar="COLUMN", help="leave this column out (repeatable)")
    t.add_argument("--time-budget", metavar="SECONDS", help="longest training time, e.g. 60 or '2 minutes'")
    t.add_argument("--task", help="auto, classify (pick a label) or regress (predict a number)")
    t.add_argument("--device", help="auto, cpu or cuda")
    t.add_argument("--seed", help="a whole number that makes the run repeatable")
    t.add_argument("--review-threshold", metavar="SHARE",
                   help="mark predictions less sure than this (e.g. 70%%) 'Check' for a person to review")
    t.add_argument("--fine-tune", metavar="auto|yes|no",
                   help="adapt the pretrained picture network to these pictures (auto: when a GPU trains)")
    t.add_argument("--no-reasons", action="store_true", help="skip the per-row 'Why' column (faster)")
    _in_place(t)

    pr = sub.add_parser("predict", help="fill predictions into another workbook with a saved model")
    pr.add_argument("workbook")
    pr.add_argument("--model", required=True, help="the .sheetdl file that 'sheetdl train' wrote")
    _common(pr)
    pr.add_argument("--no-reasons", action="store_true", help="skip the per-row 'Why' column (faster)")
    pr.add_argument("--review-threshold", metavar="SHARE",
                    help="mark predictions less sure than this (e.g. 70%%) 'Check' (default: the model's setting)")
    _in_place(pr)

    ex = sub.add_parser("explain", help="show what a saved model learned: scores and column importance")
    ex.add_argument("model", help="a .sheetdl model file")

    d = sub.add_parser("demo", help="run the whole loop on the bundled penguins workbook")
    d.add_argument("--folder", default="sheetdl-demo", help="where to put the demo's copy and results")
    d.add_argument("--quiet", action="store_true", help="print only the result")

    n = sub.add_parser("new", help="list the template workbooks, copy one to fill in, or make one from a "
                                   "folder of pictures (sheetdl new images FOLDER)")
    n.add_argument("template", nargs="?", help='the template\'s name, e.g. "Classify rows" (leave out to list '
                                               'them), or the word images followed by a folder of pictures')
    n.add_argument("path", nargs="?", help="for a template: a folder, or the new workbook's file name (default: "
                                           "this folder); after images: the folder holding one subfolder of "
                                           "pictures per label")
    n.add_argument("--output", metavar="FILE", help="where to write the new workbook (default for images: "
                                                    "inside the folder, named after it)")

    from .server.commands import add_parsers as _server_parsers
    _server_parsers(sub)  # serve, addin
    return p


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sheet", help="the sheet holding the data (else the largest table)")
    p.add_argument("--output", metavar="FILE", help="where to write the result workbook")
    p.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def _in_place(p: argparse.ArgumentParser) -> None:
    p.add_argument("--in-place", action="store_true",
                   help="write the results into the workbook itself, after saving a backup copy "
                        "'NAME (before SheetDL).xlsx' beside it")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    ui = _Console(quiet=getattr(args, "quiet", False))
    try:
        if args.command == "train":
            return cmd_train(args, ui)
        if args.command == "predict":
            return cmd_predict(args, ui)
        if args.command == "explain":
            return cmd_explain(args, ui)
        if args.command == "demo":
            return cmd_demo(args, ui)
        if args.command == "new":
            from .templates import cmd_new
            return cmd_new(args.template, args.path, output=args.output,
                           say=lambda line: ui.out.print(line, soft_wrap=True), warn=ui.warn)
        if args.command in ("serve", "addin"):
            from .server.commands import cmd_addin, cmd_serve
            return (cmd_serve if args.command == "serve" else cmd_addin)(args, ui)
    except Cancelled as e:
        ui.stop_progress()
        ui.error(e.message)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        ui.stop_progress()
        ui.error("Stopped at your request; nothing was written.")
        return EXIT_CANCELLED
    except SheetDLError as e:
        ui.stop_progress()
        ui.user_error(e)
        return EXIT_USER_ERROR
    except Exception:  # a bug of ours: keep the details, spare the user the traceback
        ui.stop_progress()
        log = Path(tempfile.gettempdir()) / f"sheetdl-error-{time.strftime('%Y%m%d-%H%M%S')}.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        ui.error(f"SheetDL ran into a problem it did not expect; your workbook was not changed. "
                 f"The details are in {log} — please send that file to the SheetDL team.")
        return EXIT_BUG
    return 0


# ---------------------------------------------------------------------------------------------
def _settings_for(path: Path, args):
    from .settings import Settings, read_settings_sheet

    sheet_kw, notes = read_settings_sheet(path)
    base = Settings(**sheet_kw)
    flags = dict(target=args.target, sheet=args.sheet, ignore=tuple(args.ignore) if args.ignore else None,
                 time_budget=args.time_budget, task=args.task, device=args.device, seed=args.seed,
                 review_threshold=args.review_threshold, fine_tune=args.fine_tune)
    sources = {k: f"given with --{k.replace('_', '-')}" for k, v in flags.items() if v is not None}
    return base.merged(**flags, sources=sources), notes


def _review_threshold(flag: str | None, trained: dict[str, str]) -> float | None:
    """--review-threshold if given, else the threshold the model was trained with."""
    from .settings import Settings, review_threshold_of

    if flag is not None:
        return Settings(review_threshold=flag, sources={"review_threshold": "given with --review-threshold"}
                        ).review_threshold
    return review_threshold_of(trained)


def _check_input(path: Path) -> None:
    from .errors import WorkbookError
    from .sheets.read import check_file

    if not path.exists():
        raise WorkbookError(f"There is no file at '{path}'.", hint="Check the name and folder of the workbook.")
    if path.is_dir():
        raise WorkbookError(f"'{path}' is a folder, not a workbook.", hint="Give the path of a workbook file.")
    check_file(path)  # damaged, protected, not a workbook: said plainly before anything else opens it


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
_RESERVED = "SheetDL is writing this workbook (process {pid}); it will replace this file when done.\n"
_RESERVED_RE = re.compile(r"^SheetDL is writing this workbook \(process (\d+)\)")


def reserve_output(source: Path, suffix: str = "SheetDL", ext: str = ".xlsx") -> Path:
    """Like :func:`default_output`, but claims the name by creating the file exclusively (O_EXCL), so
    two runs on the same workbook at the same time never pick the same name. The file holds a line
    naming this process; the writer renames the finished workbook over it, :func:`_release` removes
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
                    fh.write(_RESERVED.format(pid=os.getpid()))
                return out
        n += 1


def _reserved_by(path: Path) -> int | None:
    """The process number in a claimed-name file, or None when the file is anything else."""
    try:
        if path.stat().st_size > 200:
            return None
        m = _RESERVED_RE.match(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return int(m.group(1)) if m else None


def _release(reserved: Path | None) -> None:
    """Remove a claimed output name that never received a result."""
    if reserved is not None and _reserved_by(reserved) == os.getpid():
        try:
            reserved.unlink()
        except OSError:
            pass


def _remove_stale_reservations(folder: Path) -> None:
    """Claimed names left by a run that was killed (its process is gone) are free again."""
    from .sheets.write import _pid_alive

    try:
        candidates = [p for p in folder.iterdir()
                      if p.name.endswith((").xlsx", ").xlsm")) and " (SheetDL" in p.name]
    except OSError:
        return
    for p in candidates:
        pid = _reserved_by(p)
        if pid is not None and not _pid_alive(pid):
            try:
                p.unlink()
            except OSError:
                pass


def excel_lock_file(path: Path) -> Path | None:
    """The owner file Excel keeps beside a workbook it has open ('~$Customers.xlsx'; Excel replaces
    the first two letters of longer names: '~$stomers.xlsx'), or None."""
    for name in (f"~${path.name}", f"~${path.name[2:]}"):
        lock = path.with_name(name)
        if len(name) > 2 + len(path.suffix) and lock.is_file():
            return lock
    return None


def _warn_if_open(source: Path, ui: "_Console") -> str | None:
    lock = excel_lock_file(source)
    if lock is None:
        return None
    note = (f"'{source.name}' looks open in Excel (its lock file '{lock.name}' is beside it): SheetDL read "
            "the version last saved to disk, so changes not yet saved in Excel are not included. "
            "Your file was not changed.")
    ui.warn(note)
    return note


def _in_place_check(source: Path, args) -> None:
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
            hint="Save and close it in Excel, then run again (or leave out --in-place to get a copy).")


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


def _write_in_place(source: Path, table, results, ui: "_Console") -> tuple[Path, Path, list[str]]:
    """Backup, write the result beside the workbook, then rename it over the workbook (atomic). Returns
    (where the results are, the backup, what was lost). If anything of the workbook would be lost,
    or the workbook changed on disk while SheetDL worked, the original is left alone and the result
    kept as a copy."""
    before = source.stat()
    backup = backup_copy(source)
    staged = reserve_output(source, ext=source.suffix.lower())  # .xlsm stays .xlsm: macros kept
    try:
        lost = _write_results(source, table, results, staged)
    except BaseException:
        _release(staged)
        raise
    now = source.stat()
    if lost:
        ui.warn(f"Writing into '{source.name}' would lose what is listed below, so it was left as it was; "
                f"the results are in '{staged.name}'.")
        return staged, backup, lost
    if (now.st_mtime_ns, now.st_size) != (before.st_mtime_ns, before.st_size):
        ui.warn(f"'{source.name}' was changed on disk while SheetDL worked, so it was left as it was; "
                f"the results are in '{staged.name}'.")
        return staged, backup, lost
    if excel_lock_file(source) is not None:
        ui.warn(f"'{source.name}' was opened in Excel while SheetDL worked, so it was left as it was; "
                f"the results are in '{staged.name}'.")
        return staged, backup, lost
    try:
        os.replace(staged, source)
    except OSError as e:
        ui.warn(f"Could not replace '{source.name}' ({e.strerror or e}); the results are in '{staged.name}'.")
        return staged, backup, lost
    return source, backup, lost


def _output_for(source: Path, args) -> Path | None:
    """The output asked for with --output (checked), or None for the default name, which is claimed
    only when the results are written."""
    if getattr(args, "in_place", False):
        _in_place_check(source, args)
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


def _write_results(source: Path, table, results, output: Path) -> list[str]:
    """Lay the results out and write them; what couldn't be carried over is listed in the report."""
    from .results import layout, layout_not_carried_over
    from .sheets.write import conversion_note, existing_sheet_names, objects_right_col, write_workbook

    if table.n_rows:  # results must not hide under a chart or picture floating right of the data
        covered = objects_right_col(source, table.sheet, table.header_row, int(table.sheet_rows[-1]))
        table.sheet_max_col = max(table.sheet_max_col, covered)
    note = conversion_note(source)
    if note:
        results.notes.append(note)
    sheets = existing_sheet_names(source)
    return write_workbook(source, layout(results, table, sheets), output,
                          on_lost=lambda lost: layout_not_carried_over(results, table, lost, sheets))


def cmd_train(args, ui: "_Console") -> int:
    from .training import FitOptions
    from .model import train_table
    from .schema import infer_schema
    from .table import read_table

    source = Path(args.workbook)
    _check_input(source)
    settings, setting_notes = _settings_for(source, args)
    output = _output_for(source, args)
    open_note = None if getattr(args, "in_place", False) else _warn_if_open(source, ui)
    table = read_table(source, sheet=settings.sheet)
    if not settings.target:
        raise SettingsError(
            f"SheetDL needs to know which column to predict in '{source.name}'.",
            hint=f"Add --target with one of: {', '.join(table.columns)} "
                 "(or fill 'Target column' on a sheet named SheetDL).",
            sheet=table.sheet,
        )
    schema = infer_schema(table, target=settings.target, ignore=settings.ignore, task=settings.task)
    ui.show_plan(source, table, schema, settings)
    opts = FitOptions(time_budget=settings.time_budget, device=settings.device, seed=settings.seed,
                      progress=ui.progress, fine_tune=settings.fine_tune)
    model, results = train_table(table, schema, opts, reasons=not args.no_reasons)
    ui.stop_progress()
    results.settings = settings.describe(task=schema.task, sheet=table.sheet,
                                         device=results.run_info.get("Device", "").split(" ")[0].lower())
    results.notes = setting_notes + ([open_note] if open_note else []) + results.notes
    results.review_threshold = settings.review_threshold
    model.settings = results.settings
    ui.status("Writing the results workbook…")
    output, backup, lost = _write_output(source, table, results, output, args, ui)
    model_path = (default_output(source) if output == source else output).with_suffix(".sheetdl")
    model.save(model_path)
    ui.done_train(results, table, output, model_path, lost)
    if backup is not None:
        ui.line(f"Backup:  {backup}  (your workbook as it was before)")
    return 0


def _write_output(source: Path, table, results, output: Path | None, args, ui: "_Console"):
    """(where the results went, the backup made or None, what was lost)."""
    if getattr(args, "in_place", False):
        return _write_in_place(source, table, results, ui)
    reserved = None
    if output is None:
        output = reserved = reserve_output(source)
    try:
        lost = _write_results(source, table, results, output)
    except BaseException:
        _release(reserved)
        raise
    return output, None, lost


def cmd_predict(args, ui: "_Console") -> int:
    from .store import load_model
    from .table import read_table

    source = Path(args.workbook)
    _check_input(source)
    model = load_model(args.model)
    output = _output_for(source, args)
    open_note = None if getattr(args, "in_place", False) else _warn_if_open(source, ui)
    table = read_table(source, sheet=args.sheet)
    ui.status(f"Predicting '{model.target}' for {table.n_rows:,} rows of sheet '{table.sheet}'…")
    known = {"".join(c.name.split()).casefold() for c in model.schema.columns}
    new_columns = [c for c in table.columns if "".join(c.split()).casefold() not in known]
    results = model.results_for(table, reasons=not args.no_reasons)
    results.importance = list(model.importances)
    results.settings = dict(model.settings)
    results.run_info = {"Model file": str(Path(args.model).name), **{f"Training: {k}": v for k, v in model.info.items()}}
    results.notes = list(table.notes) + [
        f"Predictions come from the model in '{Path(args.model).name}'; its scores were measured when it was trained."
    ] + results.notes
    results.review_threshold = _review_threshold(args.review_threshold, model.settings)
    results.metrics, results.baseline = dict(model.metrics), dict(model.baseline)
    if new_columns:
        listed = ", ".join(f"'{c}'" for c in new_columns[:10]) + (
            f" and {len(new_columns) - 10} more" if len(new_columns) > 10 else "")
        note = (f"{listed} {'is' if len(new_columns) == 1 else 'are'} new to the model; "
                f"{'it was' if len(new_columns) == 1 else 'they were'} left out (the model learned without "
                f"{'it' if len(new_columns) == 1 else 'them'}).")
        results.notes.append(note)
        ui.say(note)
    if open_note:
        results.notes.append(open_note)
    output, backup, lost = _write_output(source, table, results, output, args, ui)
    ui.done_predict(results, output, lost)
    if backup is not None:
        ui.line(f"Backup:  {backup}  (your workbook as it was before)")
    return 0


def cmd_explain(args, ui: "_Console") -> int:
    from .store import load_model

    model = load_model(args.model)
    ui.explain(model)
    return 0


def find_sample(name: str = "Penguins.xlsx") -> Path:
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "sample_workbooks", here / "sample_workbooks"):
        if (folder / name).is_file():
            return folder / name
    raise SheetDLError(f"The sample workbook '{name}' is not installed with this copy of SheetDL.",
                       hint="Run the demo from a clone of the SheetDL repository (pip install -e .).")


def cmd_demo(args, ui: "_Console") -> int:
    sample = find_sample()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / sample.name
    shutil.copyfile(sample, copy)
    for old in (folder / f"{copy.stem} (SheetDL).xlsx", folder / f"{copy.stem} (SheetDL).sheetdl"):
        old.unlink(missing_ok=True)  # the demo folder is ours: start it fresh each time
    ui.say(f"Demo: predicting the species of the penguins whose 'Species' cell is blank in {copy}")
    ns = argparse.Namespace(workbook=str(copy), target=None, sheet=None, ignore=None, time_budget=None,
                            task=None, device=None, seed=None, review_threshold=None, fine_tune=None,
                            no_reasons=False,
                            output=None, overwrite=False, quiet=args.quiet, in_place=False)
    return cmd_train(ns, ui)


# ---------------------------------------------------------------------------------------------
class _Console:
    """Everything the CLI prints, through rich; ``quiet`` keeps only results and errors.

    Headers, cell values, sheet and file names and the messages that quote them are the user's text,
    and ``Weight [kg]`` or ``Note [/b]`` are ordinary headers: both consoles are made with markup (and
    emoji codes) off, so any string printed is shown as written. Our own styling is added only with
    :func:`_styled`, which never parses the user's part.
    """

    def __init__(self, *, quiet: bool):
        from rich.console import Console

        self.quiet = quiet
        self.out = Console(highlight=False, markup=False, emoji=False)
        self.err = Console(stderr=True, highlight=False, markup=False, emoji=False)
        self._progress = None
        self._task = None

    def say(self, text: str) -> None:
        if not self.quiet:
            self.out.print(_plain(text))

    def line(self, text: str) -> None:
        """A result line, printed even when quiet."""
        self.out.print(_plain(text))

    def status(self, text: str) -> None:
        self.stop_progress()
        self.say(text)

    def warn(self, text: str) -> None:
        self.err.print(_styled(("Warning:", "yellow"), " ", text))

    def error(self, text: str) -> None:
        self.err.print(_styled(("Error:", "bold red"), " ", text))

    def user_error(self, e: SheetDLError) -> None:
        self.error(e.message)
        if e.hint:
            self.err.print(_styled(("What to do:", "yellow"), " ", e.hint))

    def show_plan(self, source, table, schema, settings) -> None:
        if self.quiet:
            return
        from rich.table import Table as RichTable

        labelled = int(table.values[schema.target].notna().sum()) if schema.target in table.values else 0
        self.out.print(_styled((source.name, "bold"),
                               f" · sheet '{table.sheet}' · {table.n_rows:,} rows "
                               f"({labelled:,} with '{schema.target}' filled, {table.n_rows - labelled:,} to predict)"))
        self.out.print(_plain(f"Task: {schema.task_reason}"))
        t = RichTable(show_header=True, header_style="bold", box=None, pad_edge=False)
        t.add_column("Column")
        t.add_column("Kind")
        t.add_column("How it is used")
        for c in schema.columns:
            style = "dim" if c.role == "ignored" else ""
            t.add_row(_plain(c.name), _plain(c.kind), _plain(c.reason), style=style)
        self.out.print(t)
        for n in table.notes:
            self.out.print(_styled((f"· {n}", "dim")))

    def progress(self, p) -> None:
        if self.quiet:
            return
        from rich.progress import BarColumn, Progress, TextColumn

        if self._progress is None:  # the description can name a column: shown as written
            self._progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                                      TextColumn("{task.fields[info]}", markup=False),
                                      console=self.out, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("Training", total=1.0, info="")
        if p.stage == "training":
            done = (p.fold - 1 + p.epoch / max(p.max_epochs, 1)) / p.n_folds
            score = f"validation {'accuracy' if p.valid_score is not None and p.valid_score <= 1 else 'score'} " \
                    f"{p.valid_score:.1%}" if p.valid_score is not None else ""
            left = f" · about {p.remaining:.0f} s left" if p.remaining is not None else ""
            self._progress.update(self._task, completed=done, description=f"Fold {p.fold}/{p.n_folds}",
                                  info=f"epoch {p.epoch} · {score}{left}")
        elif p.stage == "pictures":  # epoch / max_epochs count pictures here
            self._progress.update(self._task, completed=p.epoch / max(p.max_epochs, 1), description=p.message,
                                  info="")
        else:
            self._progress.update(self._task, completed=1.0, description=p.message or p.stage, info="")

    def stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def done_train(self, results, table, output, model_path, lost) -> None:
        from .image_columns import PICTURE_NOTE
        from .results import summary_sentences

        for line in summary_sentences(results, table):
            self.line(line)
        if results.importance:
            top = ", ".join(i.column for i in results.importance[:3] if i.drop > 0)
            if top:
                self.line(f"Columns that mattered most: {top}.")
        self._not_carried_over(lost)
        for note in results.notes:  # how pictures were read decides much of what to expect
            if note.startswith(PICTURE_NOTE):
                self.out.print(_styled((note, "yellow")))
        self.out.print(_styled("Results: ", (str(output), "bold")))
        self.line(f"Model:   {model_path}  (use it with: sheetdl predict OTHER.xlsx --model \"{model_path}\")")

    def done_predict(self, results, output, lost) -> None:
        self._not_carried_over(lost)
        self.out.print(_styled(f"Predicted {len(results.prediction):,} rows. Results: ", (str(output), "bold")))

    def _not_carried_over(self, lost) -> None:
        for item in lost:
            self.out.print(_styled(("Not carried over into the copy:", "yellow"), " ", item))

    def explain(self, model) -> None:
        from rich.table import Table as RichTable

        from .evaluate import METRIC_NAMES

        self.out.print(_styled("Model predicting '", (str(model.target), "bold"), f"' ({model.schema.task_reason})"))
        t = RichTable("Score on held-out rows", "Model", "Naive baseline", box=None)
        for k, v in model.metrics.items():
            t.add_row(_plain(METRIC_NAMES.get(k, k)), f"{v:.4g}", f"{model.baseline.get(k, float('nan')):.4g}")
        self.out.print(t)
        t = RichTable("Column", "Importance", "±", box=None)
        for i in model.importances:
            t.add_row(_plain(i.column), f"{i.drop:.3f}", f"{i.spread:.3f}")
        self.out.print(t)
        for k, v in model.settings.items():
            self.line(f"{k}: {v}")


def _plain(text) -> "Text":
    """The user's text (or a message quoting it) as rich shows it: literally."""
    from rich.text import Text

    return Text(str(text))


def _styled(*parts) -> "Text":
    """A line of plain strings and ``(text, style)`` pairs; only the style names are ours to interpret,
    the text of every part is shown as written."""
    from rich.text import Text

    return Text.assemble(*((str(p[0]), p[1]) if isinstance(p, tuple) else str(p) for p in parts))

if __name__ == "__main__":
    sys.exit(main())
