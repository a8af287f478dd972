"""What the SheetDL buttons in desktop Excel do: ``press(action)``, called by the small module each
button's add-in imports (see :mod:`.addin`). It runs inside the Python that xlwings' VBA starts while Excel
waits, so it only reads what it needs from the open workbook, starts a background job (:mod:`.jobs`) and
returns; Excel's status bar shows the job's progress.

- **Train**: the settings from the workbook's ``SheetDL`` sheet, the table as it is open now (unsaved
  edits included), then training in the background; the results are written into the workbook when
  done. Pressed again while training: offers to stop it.
- **Predict**: the same with the model this workbook last trained.
- **Explain**: that model's scores and the columns that mattered most, in a message.
- **Templates**: offers each template in turn and opens a copy of the one chosen.

Every answer is a message box in words; a mistake of ours ends in a message and a log file, never a
traceback.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from pathlib import Path

from ..errors import SheetDLError
from .addin import desktop_home
from .jobs import FAILED, Job, model_path_for, pending_job, running_job, start_job
from .live import apply_live_edits, live_settings, live_sheet_names, read_live_table

__all__ = ["press", "TITLE"]

TITLE = "SheetDL"


def press(action: str, *, book=None, home: Path | None = None, spawn=None) -> str:
    """Handle a press of the ``action`` button on the workbook ``book`` (default: the one Excel called
    from); returns what it told the user (tests read it)."""
    try:
        if book is None:
            from .excel import caller_book

            book = caller_book()
    except SheetDLError as e:
        return _no_excel_message(e)
    home = home or desktop_home()
    try:
        return _press(action, book, home, spawn)
    except SheetDLError as e:
        text = e.message + (f"\n\n{e.hint}" if e.hint else "")
        return _alert(book, text, critical=True)
    except Exception:
        log = Path(tempfile.gettempdir()) / f"sheetdl-error-{time.strftime('%Y%m%d-%H%M%S')}.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        return _alert(book, "SheetDL ran into a problem it did not expect; your workbook was not changed. "
                            f"The details are in {log} — please send that file to the SheetDL team.", critical=True)


def _no_excel_message(e: SheetDLError) -> str:
    # no workbook to show a message box in: xlwings' VBA shows what Python prints on failure
    text = e.message + (f" {e.hint}" if e.hint else "")
    print(text)
    return text


def _alert(book, text: str, *, critical: bool = False, buttons: str = "ok") -> str:
    book.app.alert(text, title=TITLE, buttons=buttons, mode="critical" if critical else "info")
    return text


def _press(action: str, book, home: Path, spawn) -> str:
    fullname = str(book.fullname)
    job = running_job(home, fullname)
    if job is not None:
        p = job.progress()
        answer = book.app.alert(f"SheetDL is still working on '{book.name}' ({p.get('text', '')}).\n\nStop it?",
                                title=TITLE, buttons="yes_no", mode="info")
        if answer == "yes":
            job.request_cancel()
            book.app.status_bar = "SheetDL: stopping…"
            return "stopping"
        return "still running"
    waiting = pending_job(home, fullname)
    if waiting is not None and action in ("train", "predict"):
        return _write_pending(book, waiting)
    if action == "train":
        return _start(book, home, "train", spawn)
    if action == "predict":
        if not model_path_for(home, fullname).is_file():
            return _alert(book, f"There is no model for '{book.name}' yet.\n\nPress Train first: Predict then "
                                "fills in new rows with that model.")
        return _start(book, home, "predict", spawn)
    if action == "explain":
        return _explain(book, home)
    if action == "templates":
        return _templates(book)
    raise SheetDLError(f"The SheetDL button '{action}' is not one this version knows.",
                       hint="Run `sheetdl addin install --desktop` again to update the SheetDL tab.")


def _start(book, home: Path, action: str, spawn) -> str:
    kw, _notes = live_settings(book)
    if action == "train" and not kw.get("target"):
        return _alert(book, "SheetDL needs to know which column to predict.\n\nAdd a sheet named SheetDL with "
                            "'Target column' in A1 and the column's header in B1 (or start from a template: "
                            "SheetDL tab → Templates), then press Train again.")
    table = read_live_table(book, sheet=kw.get("sheet"))
    job = start_job(home, action, str(book.fullname), table, kw, sheet_names=live_sheet_names(book), spawn=spawn)
    book.app.status_bar = f"SheetDL: {'training' if action == 'train' else 'predicting'} started on sheet " \
                          f"'{table.sheet}' ({table.n_rows:,} rows); Excel stays usable meanwhile"
    return f"started {job.folder.name}"


def _write_pending(book, job: Job) -> str:
    """Results a job finished while Excel could not be reached (or its error): written or told now."""
    result = job.result() or {}
    job.mark_applied()
    if job.state == FAILED or "error" in result:
        err = result.get("error") or {}
        return _alert(book, str(err.get("message") or "The last SheetDL run failed.")
                      + (f"\n\n{err['hint']}" if err.get("hint") else ""), critical=True)
    skipped = apply_live_edits(book, job.result_edits())
    text = " ".join(result.get("summary", [])) or "SheetDL's results are in the workbook."
    if skipped:
        text += "\n\nNot applied in desktop Excel: " + "; ".join(skipped) + "."
    book.app.status_bar = False
    return _alert(book, text)


def _explain(book, home: Path) -> str:
    from ..engine import METRIC_NAMES, load_model

    path = model_path_for(home, str(book.fullname))
    if not path.is_file():
        return _alert(book, f"There is no model for '{book.name}' yet: press Train first.")
    model = load_model(path)
    lines = [f"The model predicts '{model.target}' ({model.schema.task_reason})", ""]
    for k, v in model.metrics.items():
        base = model.baseline.get(k)
        lines.append(f"{METRIC_NAMES.get(k, k)}: {v:.3g}" + (f" (guessing: {base:.3g})" if base is not None else ""))
    if model.importances:
        lines += ["", "Columns that mattered most:"]
        lines += [f"  {i.column}: {i.drop:.3f}" for i in model.importances[:8]]
    return _alert(book, "\n".join(lines))


def _templates(book) -> str:
    from ..new import copy_template, list_templates

    folder = Path(str(book.fullname)).parent
    if not folder.is_dir():  # an unsaved workbook: the user's documents
        folder = Path.home() / "Documents" if (Path.home() / "Documents").is_dir() else Path.home()
    for name, what in list_templates():
        answer = book.app.alert(f"{name}: {what}\n\nOpen a copy of this template? (No: show the next one)",
                                title=TITLE, buttons="yes_no_cancel", mode="info")
        if answer == "yes":
            dest = folder / f"{name}.xlsx"
            n = 2
            while dest.exists():
                dest, n = folder / f"{name} {n}.xlsx", n + 1
            copy_template(name, dest)
            book.app.books.open(str(dest))
            return f"opened {dest}"
        if answer != "no":
            return "cancelled"
    return "none chosen"
