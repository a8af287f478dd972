"""The finished job's SheetEdits, a page at a time (each page one modest request for the pane)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ...errors import DataError
from ..deps import get_manager, require_token
from ..jobs import JobManager

router = APIRouter(dependencies=[Depends(require_token)])


@router.get("/api/jobs/{job_id}/edits")
def job_edits(job_id: str, page: int = Query(default=0, ge=0), manager: JobManager = Depends(get_manager)) -> dict:
    job = manager.get(job_id)
    if job.state != "done":
        raise DataError(f"The job is {job.state}; its results are not ready.",
                        hint="Wait for the 'done' event, then fetch the results.")
    if page >= len(job.pages):
        raise DataError(f"There are {len(job.pages)} pages of results; page {page} does not exist.",
                        hint="Ask for pages 0 to pages − 1.")
    return {"job_id": job.id, "page": page, "pages": len(job.pages), "edits": job.pages[page],
            "summary": job.summary if page == 0 else []}
