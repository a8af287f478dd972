"""The ``sheetdl`` command: train, predict, explain, demo.

Everything a user can get wrong ends as a short message in plain words (what, where, what to do)
and exit code 1; Ctrl-C ends with exit code 130 and writes nothing. A SheetDL bug ends with a
one-line apology and the details saved to a log file, never a traceback on screen.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from importlib.resources import files
from pathlib import Path

from ..errors import Cancelled, SettingsError, SheetDLError, WorkbookError
from ..server import add_parsers, cmd_addin, cmd_serve
from ..version import __version__
from .console import Console
from .output import default_output, output_for, write_output

# torch and Lightning take seconds to import, so what needs them (run, engine, report, the server's
# commands) is imported where it is used: `sheetdl --help`, `sheetdl new` and a mistyped flag answer
# at once.

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
    t.add_argument("--picture-network", metavar="NAME",
                   help="auto, EfficientNet-Lite0, ResNet-18 or scratch: which pretrained network reads "
                        "pictures (auto: EfficientNet-Lite0, which comes with SheetDL)")
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
    d.add_argument("--time-budget", metavar="SECONDS",
                   help="longest training time (default: the workbook's own, 30 seconds)")
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

    add_parsers(sub)  # serve, addin (the server's commands)
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
    p.add_argument("--live", action="store_true",
                   help="the workbook is open in desktop Excel (Windows, macOS): read it as it is open and write the "
                        "results into it there (needs xlwings: pip install \"sheetdl[desktop]\")")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    ui = Console(quiet=getattr(args, "quiet", False))
    try:
        if args.command in ("serve", "addin"):  # the commands that use SheetDL's own folders
            _move_old_folders(ui)
        if args.command == "train":
            return cmd_train(args, ui)
        if args.command == "predict":
            return cmd_predict(args, ui)
        if args.command == "explain":
            return cmd_explain(args, ui)
        if args.command == "demo":
            return cmd_demo(args, ui)
        if args.command == "new":

            from ..new import cmd_new

            return cmd_new(args.template, args.path, output=args.output,
                           say=lambda line: ui.out.print(line, soft_wrap=True), warn=ui.warn)
        if args.command in ("serve", "addin"):
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
def _move_old_folders(ui: Console) -> None:
    """What an earlier SheetDL kept where this one no longer looks (sheetdl/folders.py) is moved, once,
    and the user is told where it went."""
    from ..folders import move_old_folders

    try:
        moved, left = move_old_folders()
    except (OSError, RuntimeError) as e:  # no home folder to be found: nothing of an earlier version either
        ui.warn(f"SheetDL could not look for the files an earlier version kept ({e}); it goes on without them.")
        return
    if moved:
        ui.say("SheetDL moved its files to this system's usual folders:")
        for line in moved:
            ui.say(f"  {line}", soft_wrap=True)
    for line in left:
        ui.warn(line)


def _settings_for(path: Path, args):
    """The settings: the workbook's SheetDL sheet, with the flags on top; and the sheet's notes."""
    from ..settings import Settings, read_settings_sheet

    sheet_kw, notes = read_settings_sheet(path)
    base = Settings(**sheet_kw)
    flags = dict(target=args.target, sheet=args.sheet, ignore=tuple(args.ignore) if args.ignore else None,
                 time_budget=args.time_budget, task=args.task, device=args.device, seed=args.seed,
                 review_threshold=args.review_threshold, fine_tune=args.fine_tune,
                 picture_network=args.picture_network)
    sources = {k: f"given with --{k.replace('_', '-')}" for k, v in flags.items() if v is not None}
    return base.merged(**flags, sources=sources), notes


def _review_threshold(flag: str | None) -> float | None:
    """--review-threshold as a share, or None when not given (predicting keeps the model's own)."""
    from ..settings import Settings

    if flag is None:
        return None
    return Settings().merged(review_threshold=flag,
                             sources={"review_threshold": "given with --review-threshold"}).review_threshold


def _check_input(path: Path) -> None:
    from ..sheets import check_file

    if not path.exists():
        raise WorkbookError(f"There is no file at '{path}'.", hint="Check the name and folder of the workbook.")
    if path.is_dir():
        raise WorkbookError(f"'{path}' is a folder, not a workbook.", hint="Give the path of a workbook file.")
    check_file(path)  # damaged, protected, not a workbook: said plainly before anything else opens it


def _warn_if_open(source: Path, ui: Console) -> str | None:
    """A warning (and a note for the report) when Excel has the workbook open: unsaved changes are missing."""
    from ..sheets import excel_lock_file

    lock = excel_lock_file(source)
    if lock is None:
        return None
    note = (f"'{source.name}' looks open in Excel (its lock file '{lock.name}' is beside it): SheetDL read "
            "the version last saved to disk, so changes not yet saved in Excel are not included. "
            "Your file was not changed.")
    ui.warn(note)
    return note


def _live_book(source: Path, args):
    """The open workbook --live writes into, or a plain error saying why there is none."""
    from ..desktop import find_open_book, xlwings_module

    if getattr(args, "in_place", False) or args.output:
        raise SettingsError("--live writes into the workbook open in Excel, so it can't be used with "
                            f"{'--in-place' if getattr(args, 'in_place', False) else '--output'}.",
                            hint="Leave out one of them.")
    book = find_open_book(source, xlwings_module())
    if book is None:
        raise WorkbookError(f"'{source.name}' is not open in Excel (or Excel is not running), so --live has nothing "
                            "to write into.", hint="Open it in Excel and run again, or leave out --live to get the "
                                                   "results in a copy.")
    return book


def _write_live(book, table, results, ui: Console) -> None:
    """Lay the results out beside the open workbook's table and write them there; Excel's undo and saving
    stay the user's (SheetDL does not save the workbook)."""
    from ..desktop import apply_live_edits, live_sheet_names
    from ..report import layout

    ui.status("Writing the results into the workbook open in Excel…")
    skipped = apply_live_edits(book, layout(results, table, live_sheet_names(book)))
    if skipped:
        ui.warn("Not applied in desktop Excel (xlwings has no call for them): " + "; ".join(skipped) + ".")
    ui.line(f"The results are in '{book.name}' in Excel; it is not saved: save it there when you want to keep them.")


def _cmd_train_live(args, ui: Console, source: Path) -> int:
    from ..desktop import live_settings, read_live_table
    from ..run import train_workbook
    from ..settings import Settings

    book = _live_book(source, args)
    sheet_kw, setting_notes = live_settings(book)
    flags = dict(target=args.target, sheet=args.sheet, ignore=tuple(args.ignore) if args.ignore else None,
                 time_budget=args.time_budget, task=args.task, device=args.device, seed=args.seed,
                 review_threshold=args.review_threshold, fine_tune=args.fine_tune)
    sources = {k: f"given with --{k.replace('_', '-')}" for k, v in flags.items() if v is not None}
    settings = Settings(**sheet_kw).merged(**flags, sources=sources)
    table = read_live_table(book, sheet=settings.sheet)
    if not settings.target:
        raise SettingsError(f"SheetDL needs to know which column to predict in '{source.name}'.",
                            hint=f"Add --target with one of: {', '.join(table.columns)}.", sheet=table.sheet)
    model, results = train_workbook(table, settings, reasons=not args.no_reasons, progress=ui.progress,
                                    on_schema=lambda schema: ui.show_plan(source, table, schema, settings))
    ui.stop_progress()
    results.notes = setting_notes + results.notes
    _write_live(book, table, results, ui)
    model_path = default_output(source).with_suffix(".sheetdl")
    model.save(model_path)
    ui.line(f"Model:   {model_path}")
    return 0


def cmd_train(args, ui: Console) -> int:
    from ..run import train_workbook
    from ..sheets import read_table

    source = Path(args.workbook)
    if getattr(args, "live", False):
        return _cmd_train_live(args, ui, source)
    _check_input(source)
    settings, setting_notes = _settings_for(source, args)
    output = output_for(source, args)
    open_note = None if getattr(args, "in_place", False) else _warn_if_open(source, ui)
    table = read_table(source, sheet=settings.sheet)
    if not settings.target:
        raise SettingsError(
            f"SheetDL needs to know which column to predict in '{source.name}'.",
            hint=f"Add --target with one of: {', '.join(table.columns)} "
                 "(or fill 'Target column' on a sheet named SheetDL).",
            sheet=table.sheet,
        )
    model, results = train_workbook(table, settings, reasons=not args.no_reasons, progress=ui.progress,
                                    on_schema=lambda schema: ui.show_plan(source, table, schema, settings))
    ui.stop_progress()
    results.notes = setting_notes + ([open_note] if open_note else []) + results.notes
    ui.status("Writing the results workbook…")
    output, backup, lost = write_output(source, table, results, output, in_place=getattr(args, "in_place", False),
                                        warn=ui.warn)
    model_path = (default_output(source) if output == source else output).with_suffix(".sheetdl")
    model.save(model_path)
    ui.done_train(results, table, output, model_path, lost)
    if backup is not None:
        ui.line(f"Backup:  {backup}  (your workbook as it was before)")
    return 0


def cmd_predict(args, ui: Console) -> int:
    from ..engine import load_model
    from ..run import predict_workbook
    from ..sheets import read_table

    source = Path(args.workbook)
    if getattr(args, "live", False):
        from ..desktop import read_live_table

        book = _live_book(source, args)
        model = load_model(args.model)
        table = read_live_table(book, sheet=args.sheet)
        name = Path(args.model).name
        results = predict_workbook(
            model, table, reasons=not args.no_reasons, review_threshold=_review_threshold(args.review_threshold),
            origin={"Model file": name},
            origin_note=f"Predictions come from the model in '{name}'; its scores were measured when it was trained.")
        _write_live(book, table, results, ui)
        return 0
    _check_input(source)
    model = load_model(args.model)
    output = output_for(source, args)
    open_note = None if getattr(args, "in_place", False) else _warn_if_open(source, ui)
    table = read_table(source, sheet=args.sheet)
    ui.status(f"Predicting '{model.target}' for {table.n_rows:,} rows of sheet '{table.sheet}'…")
    known = {"".join(c.name.split()).casefold() for c in model.schema.columns}
    new_columns = [c for c in table.columns if "".join(c.split()).casefold() not in known]
    name = Path(args.model).name
    results = predict_workbook(
        model, table, reasons=not args.no_reasons, review_threshold=_review_threshold(args.review_threshold),
        origin={"Model file": name},
        origin_note=f"Predictions come from the model in '{name}'; its scores were measured when it was trained.")
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
    output, backup, lost = write_output(source, table, results, output, in_place=getattr(args, "in_place", False),
                                        warn=ui.warn)
    ui.done_predict(results, output, lost)
    if backup is not None:
        ui.line(f"Backup:  {backup}  (your workbook as it was before)")
    return 0


def cmd_explain(args, ui: Console) -> int:
    from ..engine import load_model

    model = load_model(args.model)
    ui.explain(model)
    return 0


def find_sample(name: str = "Penguins.xlsx") -> Path:
    """A sample workbook the package carries (package data in ``sheetdl/data/samples/``)."""
    path = Path(str(files("sheetdl") / "data" / "samples" / name))
    if path.is_file():
        return path
    raise SheetDLError(f"The sample workbook '{name}' is missing from this copy of SheetDL.",
                       hint=f"Reinstall SheetDL (pip install --force-reinstall sheetdl); it belongs in {path}.")


def cmd_demo(args, ui: Console) -> int:
    sample = find_sample()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / sample.name
    shutil.copyfile(sample, copy)
    for old in (folder / f"{copy.stem} (SheetDL).xlsx", folder / f"{copy.stem} (SheetDL).sheetdl"):
        old.unlink(missing_ok=True)  # the demo folder is ours: start it fresh each time
    ui.say(f"Demo: predicting the species of the penguins whose 'Species' cell is blank in {copy}")
    ns = argparse.Namespace(workbook=str(copy), target=None, sheet=None, ignore=None,
                            time_budget=getattr(args, "time_budget", None),
                            task=None, device=None, seed=None, review_threshold=None, fine_tune=None,
                            picture_network=None,
                            no_reasons=False,
                            output=None, overwrite=False, quiet=args.quiet, in_place=False, live=False)
    return cmd_train(ns, ui)



if __name__ == "__main__":
    sys.exit(main())
