"""Memory a job may hold, against a live server with small limits: chunks in order without overlap,
a cap on rows per job and in all, jobs left receiving expire, cancel frees rows at once, and more
jobs than a handful at once are refused with 429 in words."""

from __future__ import annotations

import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("cryptography")

from sheetdl.server.config import ServerConfig  # noqa: E402
from sheetdl.server.testing import free_port, running_server  # noqa: E402

COLS = ["a", "b"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    cfg = ServerConfig(home=tmp_path_factory.mktemp("limits-home"), port=free_port(), max_rows=50,
                       max_rows_held=100, max_receiving_jobs=3, max_queued_jobs=2, receiving_timeout=1.5)
    with running_server(cfg) as srv:
        with httpx.Client(base_url=cfg.origin, verify=str(cfg.cert_dir / "sheetdl-ca.pem"),
                          headers={"X-SheetDL-Token": cfg.token, "Origin": cfg.origin}, timeout=30) as c:
            yield cfg, srv.config.app.state.manager, c


def _new(c, n_rows, wb="wb-limits-0001"):
    return c.post("/api/jobs", json={"workbook_id": wb, "sheet": "S", "header_row": 1, "first_col": 1,
                                     "columns": COLS, "n_rows": n_rows, "target": "b"})


def _clear(manager):
    for job in list(manager.jobs.values()):
        manager.cancel(job)


def test_chunks_must_be_contiguous_and_not_overlap(small):
    cfg, manager, c = small
    _clear(manager)
    job = _new(c, 5).json()["job_id"]
    assert c.post(f"/api/jobs/{job}/rows", json={"start": 0, "rows": [[1, 2]] * 3}).status_code == 200
    for start, n in ((1, 3), (0, 3), (4, 1), (2, 1)):  # overlapping, sent again, a gap
        r = c.post(f"/api/jobs/{job}/rows", json={"start": start, "rows": [[1, 2]] * n})
        assert r.status_code == 400 and "in order" in r.json()["message"], (start, r.text)
    st = c.get(f"/api/jobs/{job}").json()
    assert st["rows_received"] == 3  # never '6 of 5 rows received'
    r = c.post(f"/api/jobs/{job}/rows", json={"start": 3, "rows": [[1, 2]] * 2})
    assert r.status_code == 200 and r.json()["rows_received"] == 5
    _clear(manager)


def test_rows_per_job_and_in_all_are_capped(small):
    cfg, manager, c = small
    _clear(manager)
    r = _new(c, 51)
    assert r.status_code == 400 and "at most 50 rows" in r.json()["message"]
    a = _new(c, 50).json()["job_id"]
    b = _new(c, 50).json()["job_id"]
    r = _new(c, 1)
    assert r.status_code == 429 and "100" in r.json()["message"] and r.json()["hint"]
    c.post(f"/api/jobs/{a}/cancel")  # cancelling gives the room back at once
    assert _new(c, 1).status_code == 201
    assert manager.get(a).chunks == {}
    c.post(f"/api/jobs/{b}/cancel")
    _clear(manager)


def test_cancel_frees_the_rows_at_once(small):
    cfg, manager, c = small
    _clear(manager)
    job = _new(c, 10).json()["job_id"]
    c.post(f"/api/jobs/{job}/rows", json={"start": 0, "rows": [[1, 2]] * 4})
    assert manager.get(job).chunks
    assert c.post(f"/api/jobs/{job}/cancel").json()["state"] == "cancelled"
    assert manager.get(job).chunks == {}
    r = c.post(f"/api/jobs/{job}/rows", json={"start": 4, "rows": [[1, 2]] * 6})
    assert r.status_code == 400


def test_a_job_left_receiving_expires_and_frees_its_rows(small):
    cfg, manager, c = small
    _clear(manager)
    job = _new(c, 10).json()["job_id"]
    c.post(f"/api/jobs/{job}/rows", json={"start": 0, "rows": [[1, 2]] * 10})
    time.sleep(cfg.receiving_timeout + 0.5)
    st = c.get(f"/api/jobs/{job}").json()  # any request (or the worker's round) lets it go
    _new(c, 1)
    st = c.get(f"/api/jobs/{job}").json()
    assert st["state"] == "cancelled" and "waited too long" in st["error"]["message"]
    assert manager.get(job).chunks == {}
    r = c.post(f"/api/jobs/{job}/start")
    assert r.status_code == 400 and "waited too long" in r.json()["message"]
    _clear(manager)


def test_at_most_a_handful_of_jobs_at_once(small):
    cfg, manager, c = small
    _clear(manager)
    ids = [_new(c, 1, wb=f"wb-limits-000{i}").json()["job_id"] for i in range(3)]
    r = _new(c, 1)
    assert r.status_code == 429 and "already receiving 3" in r.json()["message"]
    _clear(manager)
    assert ids and _new(c, 1).status_code == 201
    _clear(manager)


def test_more_than_a_handful_waiting_their_turn_is_refused_with_429(small, monkeypatch):
    import threading

    from sheetdl.server import jobs

    cfg, manager, c = small
    _clear(manager)
    release = threading.Event()
    monkeypatch.setattr(jobs, "run_job", lambda job, manager: release.wait(20))
    try:
        started = []
        for i in range(cfg.max_queued_jobs + 2):  # one runs, two wait, the next is one too many
            job = _new(c, 1, wb=f"wb-queued-000{i}").json()["job_id"]
            assert c.post(f"/api/jobs/{job}/rows", json={"start": 0, "rows": [[1, 2]]}).status_code == 200
            started.append(c.post(f"/api/jobs/{job}/start"))
            if i == 0:
                end = time.monotonic() + 10
                while manager.running is None and time.monotonic() < end:
                    time.sleep(0.05)
        assert [r.status_code for r in started[:-1]] == [200] * (cfg.max_queued_jobs + 1)
        r = started[-1]
        assert r.status_code == 429 and "already waiting" in r.json()["message"] and "cancel" in r.json()["hint"]
    finally:
        release.set()
        _clear(manager)
