"""Training and predicting as jobs: rows arrive in chunks, one job runs at a time, others wait.

A ribbon command's runtime ends after five minutes and Excel on the web caps a request near 5 MB,
so the task pane never waits on one long request: it creates a job, sends the rows in chunks,
starts it, follows its events (server-sent), and fetches the resulting SheetEdits in pages.
Nothing here knows about HTTP; the routes translate.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Cancelled, DataError, ModelFileError, SheetDLError
from ..schema import TaskSetting
from ..settings import FineTune, PictureNetworkChoice
from ..sheets import EXCEL_ERRORS, AddPicture, Table, WriteCells, clean_headers, column_letter
from .config import ServerConfig, private_dir
from .images import check_image_cells, model_image_columns

# torch and Lightning take seconds to import: the training and the report's layout (which reads the
# engine's Results) are imported when a job runs, so the server starts at once.

__all__ = ["JobSpec", "Job", "JobManager", "build_table", "WORKBOOK_ID", "ServerBusy"]


class ServerBusy(SheetDLError):
    """Too many jobs or rows at once; the server answers 429 (Too Many Requests)."""

    status_code = 429

log = logging.getLogger("sheetdl.server")

#: a workbook id names a model file, so it must never be able to name anything else
WORKBOOK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$")

FINISHED = ("done", "failed", "cancelled")
#: characters of a picture's base64 text that weigh on a page of edits like one cell
PICTURE_CHARS_PER_CELL = 16


@dataclass(kw_only=True)
class JobSpec:
    kind: str  # "train" | "predict"
    workbook_id: str
    sheet: str
    header_row: int
    first_col: int
    columns: list[str]
    n_rows: int
    sheet_max_col: int = 0
    existing_sheets: list[str] = field(default_factory=list)
    target: str | None = None
    ignore: list[str] = field(default_factory=list)
    time_budget: float = 60.0
    review_threshold: float | None = None
    task: TaskSetting = "auto"
    fine_tune: FineTune = "auto"
    picture_network: PictureNetworkChoice = "auto"
    seed: int = 0
    reasons: bool = True


def _cell(v: Any) -> Any:
    if v is None or v == "":
        return None
    if isinstance(v, str):
        s = v.strip()
        return None if not s or s in EXCEL_ERRORS else v
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def build_table(*, sheet: str, header_row: int, first_col: int, columns: list, rows: list[list],
                sheet_max_col: int = 0, row_numbers: np.ndarray | None = None):
    """A Table from what the task pane read: header cells and the rows below them.

    Blank rows are dropped but every kept row remembers its sheet row, so results land beside it.
    """
    n = len(columns)
    letters = [column_letter(first_col + j) for j in range(n)]
    names = clean_headers([_cell(c) for c in columns], letters)
    body = np.empty((len(rows), n), dtype=object)
    for i, r in enumerate(rows):
        r = list(r[:n]) + [None] * (n - len(r))
        body[i] = [_cell(v) for v in r]
    numbers = row_numbers if row_numbers is not None else np.arange(header_row + 1, header_row + 1 + len(rows))
    keep = np.flatnonzero((body != None).any(axis=1)) if len(rows) else np.arange(0)  # noqa: E711
    if len(keep) == 0:
        raise DataError(f"Sheet '{sheet}' has a header on row {header_row} but no rows of data below it.",
                        hint="Put one example per row below the header row, then try again.", sheet=sheet)
    values = pd.DataFrame({nm: pd.Series(body[keep, j], dtype=object) for j, nm in enumerate(names)},
                          dtype=object).reset_index(drop=True)
    return Table(sheet=sheet, columns=names, values=values, sheet_rows=np.asarray(numbers)[keep].astype(np.int64),
                 letters=letters, header_row=header_row, source="Excel",
                 sheet_max_col=max(sheet_max_col, first_col + n - 1))


class Job:
    """One training or prediction run and everything the task pane may ask about it."""

    def __init__(self, spec: JobSpec, job_id: str) -> None:
        self.id = job_id
        self.spec = spec
        self.state = "receiving"
        self.created = time.time()
        #: when the last chunk arrived (or the job was made): a job left receiving expires after a while
        self.touched = time.monotonic()
        self.chunks: dict[int, list[list]] = {}
        self.received = 0
        self.events: list[dict] = []
        self.pages: list[list[dict]] = []
        self.summary: list[str] = []
        self.error: dict | None = None
        self.last_progress: dict | None = None
        self.cancel_requested = threading.Event()
        self._lock = threading.Lock()

    # ---- rows ------------------------------------------------------------------------------
    def add_rows(self, start: int, rows: list[list], config: ServerConfig) -> int:
        if self.state != "receiving":
            raise DataError("This job already has all its rows.", hint="Start a new job to send other rows.")
        if len(rows) > config.max_rows_per_chunk:
            raise DataError(f"A chunk may hold at most {config.max_rows_per_chunk:,} rows; this one has {len(rows):,}.",
                            hint="Send the rows in smaller chunks.")
        if start != self.received:  # chunks in order, each after the last: none overlap, none is left out
            raise DataError(f"Rows should arrive in order: the next chunk starts at row {self.received:,}, "
                            f"not {start:,}.", hint="Send the chunks one after another, from row 0.")
        if start < 0 or start + len(rows) > self.spec.n_rows:
            raise DataError(f"Rows {start:,}–{start + len(rows):,} are outside the {self.spec.n_rows:,} rows "
                            "announced for this job.", hint="Send row numbers from 0 to the row count.")
        if any(len(r) > len(self.spec.columns) for r in rows):
            raise DataError("A row has more cells than the header has columns.",
                            hint="Send exactly one cell per column.")
        with self._lock:
            if self.state != "receiving" or start != self.received:  # cancelled, or a chunk raced this one
                raise DataError("This job is no longer taking these rows.", hint="Start a new job.")
            self.chunks[start] = rows
            self.received += len(rows)
            self.touched = time.monotonic()
        return self.received

    def free_rows(self) -> None:
        """Let go of the rows (cancelled, expired, or run): they are never needed again."""
        with self._lock:
            self.chunks.clear()

    @property
    def rows_held(self) -> int:
        """Rows this job may still hold: all it announced until it has finished."""
        return 0 if self.finished else self.spec.n_rows

    def rows(self) -> list[list]:
        out: list[list] = []
        for start in sorted(self.chunks):
            if start != len(out):
                raise DataError(f"Rows {len(out):,} to {start - 1:,} never arrived.",
                                hint="Send every chunk, then start the job.")
            out.extend(self.chunks[start])
        if len(out) != self.spec.n_rows:
            raise DataError(f"{len(out):,} of the {self.spec.n_rows:,} announced rows arrived.",
                            hint="Send every chunk, then start the job.")
        return out

    # ---- events ----------------------------------------------------------------------------
    def emit(self, kind: str, **data: Any) -> None:
        with self._lock:
            self.events.append({"id": len(self.events), "type": kind, **data})

    def events_since(self, n: int) -> list[dict]:
        with self._lock:
            return self.events[n:]

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def status(self, position: int | None = None) -> dict:
        return {
            "job_id": self.id, "kind": self.spec.kind, "state": self.state, "position": position,
            "rows_received": self.received, "rows_expected": self.spec.n_rows,
            "progress": self.last_progress, "pages": len(self.pages), "summary": self.summary,
            "error": self.error,
        }


class JobManager:
    """Runs one job at a time on a worker thread (one GPU, one training); others queue in order."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.jobs: dict[str, Job] = {}
        self.queue: deque[Job] = deque()
        self.running: Job | None = None
        self._lock = threading.Condition()
        self._worker: threading.Thread | None = None
        self._stop = False

    # ---- bookkeeping -----------------------------------------------------------------------
    def create(self, spec: JobSpec) -> Job:
        if not WORKBOOK_ID.match(spec.workbook_id):
            raise DataError("The workbook id should be 8 to 64 letters, digits, '-' or '_'.",
                            hint="Reopen the SheetDL pane; it makes a new id.")
        if spec.n_rows > self.config.max_rows:
            raise DataError(f"SheetDL's add-in takes at most {self.config.max_rows:,} rows; this table has "
                            f"{spec.n_rows:,}.", hint="Train on a sample of the rows, or use the sheetdl command.")
        if not spec.columns or len(spec.columns) > self.config.max_columns:
            raise DataError(f"A table needs 1 to {self.config.max_columns:,} columns; "
                            f"this one has {len(spec.columns):,}.",
                            hint="Select a table with a header row.")
        if spec.kind == "predict" and not self.model_path(spec.workbook_id).is_file():
            raise ModelFileError("This workbook has no trained SheetDL model yet.",
                                 hint="Train a model first (SheetDL tab → Train); then Predict fills new rows.")
        cfg = self.config
        with self._lock:
            self._expire_idle()
            self._forget_old()
            live = [j for j in self.jobs.values() if not j.finished]
            if sum(j.state == "receiving" for j in live) >= cfg.max_receiving_jobs:
                raise ServerBusy(f"SheetDL is already receiving {cfg.max_receiving_jobs} tables.",
                                 hint="Wait for one to start or finish (or cancel one), then try again.")
            held = sum(j.rows_held for j in live)
            if held + spec.n_rows > cfg.max_rows_held:
                raise ServerBusy(f"SheetDL already holds {held:,} rows for other jobs; {spec.n_rows:,} more would "
                                 f"pass the {cfg.max_rows_held:,} it keeps in memory at once.",
                                 hint="Wait for a training to finish (or cancel one), then try again.")
            job = Job(spec, secrets.token_hex(8))
            self.jobs[job.id] = job
        return job

    def add_rows(self, job: Job, start: int, rows: list[list]) -> int:
        with self._lock:
            self._expire_idle()
        return job.add_rows(start, rows, self.config)

    def _expire_idle(self) -> None:
        """Jobs left receiving rows longer than the timeout expire and free their rows (lock held)."""
        now = time.monotonic()
        for j in self.jobs.values():
            if j.state == "receiving" and now - j.touched > self.config.receiving_timeout:
                j.state = "cancelled"
                j.free_rows()
                j.error = {"error": "Expired", "message": "This job waited too long for its rows or its start, "
                           "so SheetDL let go of them.", "hint": "Run it again from the task pane.",
                           "sheet": None, "column": None, "cells": []}
                j.emit("cancelled", error=j.error, message=j.error["message"])

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise DataError("There is no such SheetDL job (the server may have restarted).",
                            hint="Start the training again.")
        return job

    def position(self, job: Job) -> int | None:
        """1 = next to run; 0 = running; None = not waiting."""
        with self._lock:
            if job is self.running:
                return 0
            for i, j in enumerate(self.queue):
                if j is job:
                    return i + 1
        return None

    def _forget_old(self) -> None:
        done = [j for j in self.jobs.values() if j.finished]
        for j in sorted(done, key=lambda j: j.created)[: max(0, len(done) - self.config.keep_jobs)]:
            del self.jobs[j.id]

    def model_path(self, workbook_id: str) -> Path:
        if not WORKBOOK_ID.match(workbook_id):
            raise DataError("The workbook id should be 8 to 64 letters, digits, '-' or '_'.")
        return self.config.models_dir / f"{workbook_id}.sheetdl"

    # ---- running ---------------------------------------------------------------------------
    def start(self, job: Job) -> int | None:
        with self._lock:
            self._expire_idle()
        if job.state == "cancelled":
            raise DataError("This job was cancelled (or waited too long) and its rows were let go.",
                            hint="Run it again from the task pane.")
        if job.state != "receiving":
            return self.position(job)
        rows = job.rows()  # every chunk arrived (raises in plain words if not)
        self.check_pictures(job, rows)
        with self._lock:
            if job.state != "receiving":
                return self.position(job)
            if len(self.queue) >= self.config.max_queued_jobs:
                raise ServerBusy(f"{len(self.queue)} SheetDL jobs are already waiting their turn.",
                                 hint="Wait for one to finish (or cancel one), then start this one again.")
            job.state = "queued"
            self.queue.append(job)
            self._notify_positions()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="sheetdl-jobs", daemon=True)
                self._worker.start()
            self._lock.notify_all()
        return self.position(job)

    def check_pictures(self, job: Job, rows: list[list]) -> None:
        """Refuse, before anything runs, picture paths outside the folders the user allowed."""
        spec = job.spec
        letters = [column_letter(spec.first_col + j) for j in range(len(spec.columns))]
        names = clean_headers([_cell(c) for c in spec.columns], letters)
        also = model_image_columns(self.model_path(spec.workbook_id)) if spec.kind == "predict" else set()
        check_image_cells(sheet=spec.sheet, columns=names, letters=letters, header_row=spec.header_row, rows=rows,
                          ignore=spec.ignore, folders=self.config.allowed_image_folders or [], also=also)

    def cancel(self, job: Job) -> None:
        job.cancel_requested.set()
        with self._lock:
            if job in self.queue:
                self.queue.remove(job)
                job.state = "cancelled"
                job.free_rows()
                job.emit("cancelled", message="Stopped at your request; nothing was written.")
                self._notify_positions()
            elif job.state == "receiving":
                job.state = "cancelled"
                job.free_rows()
                job.emit("cancelled", message="Stopped at your request; nothing was written.")

    def shutdown(self) -> None:
        with self._lock:
            self._stop = True
            for j in list(self.queue) + ([self.running] if self.running else []):
                j.cancel_requested.set()
            self._lock.notify_all()

    def _notify_positions(self) -> None:
        for i, j in enumerate(self.queue):
            j.emit("queued", position=i + 1,
                   message="Waiting for the training before it to finish" if i == 0 and self.running
                   else f"Waiting: {i + 1} in line" if i else "Starting soon")

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self.queue and not self._stop:
                    self._lock.wait(timeout=1.0)
                    self._expire_idle()
                if self._stop:
                    return
                job = self.queue.popleft()
                self.running = job
                job.state = "running"
                self._notify_positions()
            try:
                job.emit("started", message="Training" if job.spec.kind == "train" else "Predicting")
                run_job(job, self)
                job.state = "done"
                job.emit("done", pages=len(job.pages), summary=job.summary)
            except SheetDLError as e:
                job.error = e.to_dict()
                job.state = "cancelled" if isinstance(e, Cancelled) else "failed"
                job.emit(job.state, error=job.error, message=e.message)
            except Exception:  # a bug of ours: details to the log, plain words to the pane
                log.error("job %s failed:\n%s", job.id, traceback.format_exc())
                job.error = {"error": "InternalError",
                             "message": "SheetDL ran into a problem it did not expect; your workbook was not changed.",
                             "hint": "Try again; if it happens again, run 'sheetdl serve' in a terminal to see "
                                     "the details.",
                             "sheet": None, "column": None, "cells": []}
                job.state = "failed"
                job.emit("failed", error=job.error, message=job.error["message"])
            finally:
                job.free_rows()  # the data is not kept once the job ran
                with self._lock:
                    self.running = None
                    self._notify_positions()


def run_job(job: Job, manager: JobManager) -> None:
    """Train (or predict) on the job's rows and lay the results out as pages of SheetEdits."""
    from ..report import layout, summary_sentences

    spec = job.spec
    table = build_table(sheet=spec.sheet, header_row=spec.header_row, first_col=spec.first_col,
                        columns=spec.columns, rows=job.rows(), sheet_max_col=spec.sheet_max_col)
    if spec.kind == "train":
        results, model = _train(job, table, manager.config)
        path = manager.model_path(spec.workbook_id)
        private_dir(path.parent)
        model.save(path, private=True)  # it keeps training rows: the user's only
    else:
        results = _predict(job, table, manager.model_path(spec.workbook_id), manager.config)
    edits = layout(results, table, spec.existing_sheets)
    job.summary = summary_sentences(results, table)
    pages: list[list[dict]] = [[]]
    cells = 0
    for e in edits:
        n = e.n_rows * e.n_cols if isinstance(e, WriteCells) else _picture_cells(e) if isinstance(e, AddPicture) else 1
        if pages[-1] and cells + n > manager.config.edits_page_cells:
            pages.append([])
            cells = 0
        pages[-1].append(e.to_dict())
        cells += n
    job.pages = pages


def _picture_cells(e) -> int:
    """How many cells a picture counts for when edits are cut into pages (pages stay modest requests)."""
    return max(1, len(e.png) // PICTURE_CHARS_PER_CELL)


def _picture_options(config: ServerConfig) -> dict:
    """Where pictures may come from: relative paths start in the first allowed folder, and nothing
    outside the allowed folders is read (an empty list: no pictures at all)."""
    return {"image_folder": config.image_folder, "allowed_image_folders": list(config.allowed_image_folders or [])}


def _train(job: Job, table, config: ServerConfig):
    from ..run import train_workbook
    from ..settings import Settings

    spec = job.spec
    settings = Settings(target=spec.target, sheet=spec.sheet, ignore=tuple(spec.ignore),
                        time_budget=spec.time_budget, task=spec.task, seed=spec.seed,
                        review_threshold=spec.review_threshold, fine_tune=spec.fine_tune,
                        picture_network=spec.picture_network)
    if not settings.target:
        raise DataError("Pick the column to predict.", hint="Choose it under 'Predict this column'.")
    t0 = time.monotonic()
    seen: set[tuple[int, int]] = set()
    score_name = {}

    def on_schema(schema) -> None:
        score_name["name"] = "accuracy" if schema.task == "classification" else "R²"
        job.emit("schema", task=schema.task, task_reason=schema.task_reason,
                 columns=[{"name": c.name, "kind": c.kind, "role": c.role, "reason": c.reason} for c in schema.columns])

    def progress(p) -> None:
        info = {"stage": p.stage, "fold": p.fold, "n_folds": p.n_folds, "epoch": p.epoch,
                "max_epochs": p.max_epochs, "valid_score": _num(p.valid_score),
                "elapsed": round(time.monotonic() - t0, 2),
                "remaining": _num(p.remaining), "fraction": round(p.fraction, 4), "message": p.message,
                "score_name": score_name["name"]}
        job.last_progress = info
        job.emit("progress", **info)
        if p.stage == "training" and p.valid_score is not None and (p.fold, p.epoch) not in seen:
            seen.add((p.fold, p.epoch))
            job.emit("curve", fold=p.fold, epoch=p.epoch, valid_score=_num(p.valid_score))

    model, results = train_workbook(table, settings, on_schema=on_schema, progress=progress,
                                    cancel=job.cancel_requested.is_set, reasons=spec.reasons,
                                    **_picture_options(config))
    if not seen:  # folds too short to report while running: send the averaged curve at once
        for c in results.curve:
            job.emit("curve", fold=0, epoch=c.epoch, valid_score=_num(c.valid_score))
    return results, model


def _predict(job: Job, table, path: Path, config: ServerConfig):
    from ..engine import load_model
    from ..run import predict_workbook

    model = load_model(path)
    job.emit("progress", stage="predicting", fraction=0.5, message=f"Predicting '{model.target}'", fold=0,
             n_folds=0, epoch=0, max_epochs=0, valid_score=None, elapsed=0, remaining=None)
    return predict_workbook(
        model, table, reasons=job.spec.reasons, review_threshold=job.spec.review_threshold,
        cancel=job.cancel_requested.is_set, origin={"Model": "saved with this workbook"},
        origin_note="Predictions come from the model trained earlier on this workbook; its scores were measured "
                    "when it was trained.", **_picture_options(config))


def _num(v):
    return None if v is None or not np.isfinite(v) else round(float(v), 5)


