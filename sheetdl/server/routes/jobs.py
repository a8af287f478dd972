"""Jobs: create from the table's header, send rows in chunks, start, follow, cancel."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from ..deps import get_manager, require_token
from ..jobs import JobManager, JobSpec
from .models import CreateJob, RowsChunk

router = APIRouter(dependencies=[Depends(require_token)])

#: seconds between looks for new events, and between keep-alive comments
POLL = 0.2
KEEPALIVE = 15.0


@router.post("/api/jobs", status_code=201)
def create_job(body: CreateJob, manager: JobManager = Depends(get_manager)) -> dict:
    spec = JobSpec(**body.model_dump())
    job = manager.create(spec)
    return {"job_id": job.id, "state": job.state, "chunk_rows": manager.config.max_rows_per_chunk,
            "max_body_bytes": manager.config.max_body_bytes}


@router.post("/api/jobs/{job_id}/rows")
def add_rows(job_id: str, body: RowsChunk, manager: JobManager = Depends(get_manager)) -> dict:
    job = manager.get(job_id)
    received = manager.add_rows(job, body.start, body.rows)
    return {"job_id": job.id, "rows_received": received, "rows_expected": job.spec.n_rows}


@router.post("/api/jobs/{job_id}/start")
def start_job(job_id: str, manager: JobManager = Depends(get_manager)) -> dict:
    job = manager.get(job_id)
    position = manager.start(job)
    return job.status(position)


@router.get("/api/jobs/{job_id}")
def job_status(job_id: str, manager: JobManager = Depends(get_manager)) -> dict:
    job = manager.get(job_id)
    return job.status(manager.position(job))


@router.post("/api/jobs/{job_id}/cancel")
def cancel_job(job_id: str, manager: JobManager = Depends(get_manager)) -> dict:
    job = manager.get(job_id)
    manager.cancel(job)
    return job.status(manager.position(job))


@router.get("/api/jobs/{job_id}/events")
async def job_events(job_id: str, since: int = Query(default=0, ge=0),
                     manager: JobManager = Depends(get_manager)) -> StreamingResponse:
    """Server-sent events: queued, started, schema, progress, curve, then done/failed/cancelled."""
    job = manager.get(job_id)

    async def stream():
        n, quiet = since, 0.0
        yield "retry: 2000\n\n"
        while True:
            events = job.events_since(n)
            for e in events:
                yield f"id: {e['id']}\nevent: {e['type']}\ndata: {json.dumps(e, allow_nan=False)}\n\n"
            n += len(events)
            if job.finished and not job.events_since(n):
                return
            if events:
                quiet = 0.0
            else:
                quiet += POLL
                if quiet >= KEEPALIVE:
                    quiet = 0.0
                    yield ": still working\n\n"
            await asyncio.sleep(POLL)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
