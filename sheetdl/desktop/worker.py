"""The background job a ribbon button starts: ``python -m sheetdl.desktop.worker JOB_FOLDER`` (see
:mod:`.jobs` for the folder's files). It trains (or predicts), keeps ``progress.json`` and Excel's status
bar up to date, stops when ``cancel`` appears, writes ``result.json``, and, when it can reach the open
workbook, writes the results into it.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..errors import Cancelled, SheetDLError
from ..sheets import dumps
from .jobs import CANCELLED, DONE, FAILED, Job, table_from_json

__all__ = ["run_job", "ExcelLink", "XlwingsLink", "main"]

#: seconds between two status-bar updates (each is a call into Excel)
STATUS_EVERY = 1.0


class ExcelLink(Protocol):
    """What the job needs of Excel: a status bar line, and the results applied to the workbook."""

    def status(self, text: str | None) -> None: ...

    def apply(self, edits: list) -> list[str]: ...


class XlwingsLink:
    """The open workbook, reached from the job's own process through xlwings (looked up by its full name
    each time: the user may have closed it meanwhile)."""

    def __init__(self, fullname: str, xw=None) -> None:
        self.fullname = fullname
        self.xw = xw

    def _book(self):
        from .excel import find_open_book

        return find_open_book(Path(self.fullname), self.xw)

    def status(self, text: str | None) -> None:
        try:
            book = self._book()
            if book is not None:
                book.app.status_bar = text if text is not None else False  # False hands it back to Excel
        except Exception:  # Excel busy (a cell being edited, a dialog): the next update will do
            pass

    def apply(self, edits: list) -> list[str]:
        from ..errors import WorkbookError
        from .live import apply_live_edits

        book = self._book()
        if book is None:
            raise WorkbookError(f"Excel no longer has '{Path(self.fullname).name}' open.")
        return apply_live_edits(book, edits)


def _describe(p) -> str:
    if p.stage == "training":
        left = f", about {p.remaining:.0f} s left" if p.remaining is not None else ""
        return f"training: fold {p.fold} of {p.n_folds}, {p.fraction:.0%} done{left}"
    if p.stage == "pictures":
        return f"reading pictures ({p.epoch:,} of {p.max_epochs:,})"
    return {"explaining": "working out the reasons", "done": "writing the results"}.get(p.stage, p.stage)


def run_job(folder: Path, link: ExcelLink | None = None, *, clock: Callable[[], float] = time.monotonic) -> str:
    """Run the job in ``folder``; returns its final state. Never raises for the user's mistakes: they end
    in ``result.json`` as words."""
    job = Job(Path(folder))
    req = job.request
    name = Path(req.get("book", "")).name
    last = [0.0]

    def say(text: str, fraction: float = 0.0, *, force: bool = False) -> None:
        job.set_progress("running", text, fraction)
        if link is not None and (force or clock() - last[0] >= STATUS_EVERY):
            last[0] = clock()
            link.status(f"SheetDL ({name}): {text} — press the button again to stop")

    try:
        edits, summary = _work(job, req, say)
    except Cancelled:
        _finish(job, link, {"error": {"message": "Stopped at your request; nothing was written.", "hint": None}},
                f"SheetDL ({name}): stopped; nothing was written",
                (CANCELLED, "stopped at your request; nothing was written"))
        return CANCELLED
    except SheetDLError as e:
        _finish(job, link, {"error": {"message": e.message, "hint": e.hint}}, f"SheetDL ({name}): {e.message}",
                (FAILED, e.message))
        return FAILED
    except Exception:  # a bug of ours: the details in the job's folder, words for the user
        (job.folder / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
        message = (f"SheetDL ran into a problem it did not expect; the workbook was not changed. The details "
                   f"are in {job.folder / 'error.log'} — please send that file to the SheetDL team.")
        _finish(job, link, {"error": {"message": message, "hint": None}}, f"SheetDL ({name}): {message}",
                (FAILED, message))
        return FAILED
    import json

    result = {"edits": json.loads(dumps(edits)), "summary": summary}
    _finish(job, link, result, None, (DONE, "finished; writing the results"))
    return DONE


def _finish(job: Job, link: ExcelLink | None, result: dict, status: str | None, ended: tuple[str, str]) -> None:
    """Keep the result, then say the job ``ended`` (its state and words: the result is on disk before
    anyone watching sees the job finished, so a press at that moment writes it instead of starting
    again); write it into the workbook when Excel can be reached (else the next press does)."""
    job.write_result(result)
    state, text = ended
    job.set_progress(state, text, 1.0 if state == DONE else 0.0)
    if link is None:
        return
    if "error" in result:
        link.status(status)
        return
    try:
        skipped = link.apply(job.result_edits())
    except SheetDLError as e:
        link.status(f"SheetDL: the results are ready but could not be written ({e.message}); press Train again "
                    "to write them")
        return
    except Exception:
        link.status("SheetDL: the results are ready; press Train again to write them into the workbook")
        return
    job.mark_applied()
    done = " ".join(result.get("summary", [])[:1])
    if skipped:
        done += " (not applied in desktop Excel: " + "; ".join(skipped) + ")"
    link.status(f"SheetDL: done. {done}")


def _work(job: Job, req: dict, say) -> tuple[list, list[str]]:
    from ..engine import load_model
    from ..report import layout, summary_sentences
    from ..run import predict_workbook, train_workbook
    from ..settings import Settings

    table = table_from_json(_read(job, "table.json"))
    cancel = lambda: job.cancel_requested  # noqa: E731
    model_path = Path(req["model"])
    if req["action"] == "train":
        kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in req["settings"].items()}
        settings = Settings(**kw)
        say("preparing", force=True)
        model, results = train_workbook(table, settings, cancel=cancel,
                                        progress=lambda p: say(_describe(p), p.fraction))
        if cancel():
            raise Cancelled()
        model.save(model_path, private=True)
    elif req["action"] == "predict":
        say("predicting", force=True)
        model = load_model(model_path)
        results = predict_workbook(model, table, cancel=cancel, origin={"Model": "trained in this workbook"},
                                   origin_note="Predictions come from the model last trained on this workbook; its "
                                               "scores were measured when it was trained.")
    else:
        raise SheetDLError(f"Unknown job '{req['action']}'.")
    say("laying out the results", 1.0, force=True)
    edits = layout(results, table, req.get("sheet_names", []))
    return edits, summary_sentences(results, table)


def _read(job: Job, name: str) -> Any:
    import json

    return json.loads((job.folder / name).read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sheetdl.desktop.worker JOB_FOLDER", file=sys.stderr)
        return 2
    folder = Path(args[0])
    link: ExcelLink | None = None
    try:
        from .excel import excel_supported

        if excel_supported():
            link = XlwingsLink(Job(folder).request["book"])
    except Exception:
        link = None
    state = run_job(folder, link)
    return 0 if state == DONE else 1


if __name__ == "__main__":
    sys.exit(main())
