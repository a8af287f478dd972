"""Background jobs for the desktop ribbon: training runs in a process of its own, so Excel stays usable
(xlwings runs a button's Python while Excel waits for it).

The protocol is a private folder per job (``<SheetDL home>/desktop/jobs/<id>/``, 0700, files 0600):

``request.json``  written by the button before the job starts: what to do (train or predict), the
                  workbook's full name, its sheet names, the settings (as Settings' keyword arguments),
                  the model file;
``table.json``    the table the button read from the open workbook (cells as SheetEdits carry values);
``progress.json`` rewritten atomically by the job: ``state`` (running, done, failed, cancelled), a
                  line of ``text`` for the status bar, ``fraction`` done, the job's ``pid``;
``cancel``        made by a second press of the button: the job stops at the next epoch;
``result.json``   the job's answer: the SheetEdits to apply (:func:`sheetdl.sheets.dumps`), the summary
                  lines, or the error in words (message and hint);
``applied``       made once the results are in the workbook, so they are written once.

The job writes the results into the workbook itself when it can reach Excel (``link``); when it can't
(Excel busy with a dialog, or closed), they wait in ``result.json`` and the next press of a button
writes them. Nothing of this imports xlwings: the worker gets an Excel link from its caller.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SheetDLError
from ..private import private_dir, private_file
from ..sheets import Edit, Table, loads, pid_alive, value_from_json, value_to_json

__all__ = ["Job", "start_job", "jobs_for", "running_job", "pending_job", "table_to_json", "table_from_json",
           "model_path_for", "RUNNING", "DONE", "FAILED", "CANCELLED"]

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


def table_to_json(table: Table) -> dict:
    return {
        "sheet": table.sheet, "columns": list(table.columns), "letters": list(table.letters),
        "sheet_rows": [int(r) for r in table.sheet_rows], "header_row": int(table.header_row),
        "source": table.source, "excel_table": table.excel_table, "notes": list(table.notes),
        "sheet_max_col": int(table.sheet_max_col),
        "rows": value_to_json(table.values.astype(object).where(pd.notna(table.values), None).values.tolist()),
    }


def table_from_json(d: dict) -> Table:
    rows = value_from_json(d["rows"])
    names = d["columns"]
    values = pd.DataFrame({n: pd.Series([r[j] for r in rows], dtype=object) for j, n in enumerate(names)},
                          dtype=object)
    return Table(sheet=d["sheet"], columns=names, values=values, sheet_rows=np.array(d["sheet_rows"], dtype=np.int64),
                 letters=d["letters"], header_row=d["header_row"], source=d["source"],
                 excel_table=d["excel_table"], notes=d["notes"], sheet_max_col=d["sheet_max_col"])


def _book_key(fullname: str) -> str:
    return hashlib.sha256(os.path.normcase(str(fullname)).encode("utf-8")).hexdigest()[:16]


def model_path_for(home: Path, fullname: str) -> Path:
    """Where the model a workbook trained from the ribbon is kept (SheetDL's private folder): Predict and
    Explain find it here. Training again replaces it."""
    stem = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in Path(str(fullname)).stem)[:40] or "workbook"
    return private_dir(home / "models") / f"{stem} {_book_key(fullname)}.sheetdl"


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    private_file(tmp, json.dumps(data, allow_nan=False))
    os.replace(tmp, path)  # readers never see half a file


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class Job:
    folder: Path

    @property
    def request(self) -> dict:
        return _read_json(self.folder / "request.json") or {}

    def progress(self) -> dict:
        p = _read_json(self.folder / "progress.json") or {"state": RUNNING, "text": "starting…", "fraction": 0.0}
        if p.get("state") == RUNNING and p.get("pid") and not pid_alive(int(p["pid"])):
            return {**p, "state": FAILED, "text": "the training process ended without finishing"}
        return p

    @property
    def state(self) -> str:
        return str(self.progress().get("state"))

    def set_progress(self, state: str, text: str, fraction: float = 0.0) -> None:
        _write_json(self.folder / "progress.json", {"state": state, "text": text, "fraction": round(fraction, 4),
                                                     "pid": os.getpid(), "updated": time.time()})

    def request_cancel(self) -> None:
        private_file(self.folder / "cancel", "")

    @property
    def cancel_requested(self) -> bool:
        return (self.folder / "cancel").exists()

    def write_result(self, result: dict) -> None:
        _write_json(self.folder / "result.json", result)

    def result(self) -> dict | None:
        return _read_json(self.folder / "result.json")

    def result_edits(self) -> list[Edit]:
        r = self.result() or {}
        return loads(json.dumps(r.get("edits", [])))

    @property
    def applied(self) -> bool:
        return (self.folder / "applied").exists()

    def mark_applied(self) -> None:
        private_file(self.folder / "applied", "")

    def wait(self, timeout: float, poll: float = 0.2) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            state = self.state
            if state != RUNNING:
                return state
            time.sleep(poll)
        return self.state


def _jobs_folder(home: Path) -> Path:
    return private_dir(home / "jobs")


def jobs_for(home: Path, fullname: str) -> list[Job]:
    """This workbook's jobs, newest first."""
    key = _book_key(fullname)
    folders = sorted(_jobs_folder(home).glob(f"{key}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [Job(f) for f in folders if (f / "request.json").exists()]


def running_job(home: Path, fullname: str) -> Job | None:
    return next((j for j in jobs_for(home, fullname) if j.state == RUNNING), None)


def pending_job(home: Path, fullname: str) -> Job | None:
    """The newest finished job of this workbook whose results (or error) were not yet shown."""
    for j in jobs_for(home, fullname):
        if j.state in (DONE, FAILED) and not j.applied and j.result() is not None:
            return j
    return None


def start_job(home: Path, action: str, fullname: str, table: Table, settings: dict, *, sheet_names: list[str],
              model: Path | None = None, python: str | None = None,
              spawn: Callable[[list[str], Path], Any] | None = None) -> Job:
    """Write the job's request and table, then start the worker (``python -m sheetdl.desktop.worker FOLDER``)
    detached from the caller, so the button's Python (and Excel) can return at once."""
    folder = private_dir(_jobs_folder(home) / f"{_book_key(fullname)}-{time.strftime('%Y%m%d%H%M%S')}-"
                                             f"{uuid.uuid4().hex[:6]}")
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}
    _write_json(folder / "request.json", {"action": action, "book": str(fullname), "settings": settings,
                                          "sheet_names": list(sheet_names),
                                          "model": str(model or model_path_for(home, fullname))})
    _write_json(folder / "table.json", table_to_json(table))
    job = Job(folder)
    job.set_progress(RUNNING, "starting…")
    command = [python or sys.executable, "-m", "sheetdl.desktop.worker", str(folder)]
    (spawn or _spawn)(command, folder)
    return job


def _spawn(command: list[str], folder: Path) -> None:
    log = open(folder / "worker.log", "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        kwargs: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": log, "stderr": log, "close_fds": True}
        if sys.platform == "win32":
            kwargs["creationflags"] = (subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
                                       | subprocess.CREATE_NO_WINDOW)
        else:
            kwargs["start_new_session"] = True
        subprocess.Popen(command, **kwargs)
    except OSError as e:
        raise SheetDLError(f"SheetDL could not start training in the background ({e}).",
                           hint="Check that Python is still installed where the SheetDL tab was set up, "
                                "or run `sheetdl addin install --desktop` again.") from None
    finally:
        log.close()
