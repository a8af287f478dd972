"""The add-in's server, for real: uvicorn on loopback over HTTPS with its own certificate authority.

Covers the job flow (create → rows in chunks → start → server-sent progress → pages of SheetEdits →
predict later with the saved model), the queue and cancel, and hostile requests being refused.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("cryptography")

from builders import grey_png as _png  # noqa: E402

from sheetdl.server.config import ServerConfig  # noqa: E402


@pytest.fixture()
def client(server):
    cfg, _ = server
    with httpx.Client(base_url=cfg.origin, verify=str(cfg.cert_dir / "sheetdl-ca.pem"),
                      headers={"X-SheetDL-Token": cfg.token, "Origin": cfg.origin}, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def penguins_rows():
    from palmerpenguins import load_penguins

    df = load_penguins()
    df.loc[:19, "species"] = None  # 20 penguins to predict
    return list(df.columns), json.loads(df.to_json(orient="values"))


def _create(client, cols, rows, *, budget=10.0, workbook="wb-test-0001", chunk=100, kind="train", **kw):
    r = client.post("/api/jobs", json={"kind": kind, "workbook_id": workbook, "sheet": "Penguins", "header_row": 1,
                                       "first_col": 1, "columns": cols, "n_rows": len(rows), "target": "species",
                                       "time_budget": budget, "existing_sheets": ["Penguins"], **kw})
    assert r.status_code == 201, r.text
    job = r.json()["job_id"]
    for s in range(0, len(rows), chunk):
        r = client.post(f"/api/jobs/{job}/rows", json={"start": s, "rows": rows[s: s + chunk]})
        assert r.status_code == 200, r.text
    assert r.json()["rows_received"] == len(rows)
    return job


def _events(client, job, limit=120.0) -> list[dict]:
    out = []
    with client.stream("GET", f"/api/jobs/{job}/events", timeout=limit) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))
    return out


def _wait_state(client, job, states, limit=30.0) -> dict:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        st = client.get(f"/api/jobs/{job}").json()
        if st["state"] in states:
            return st
        time.sleep(0.1)
    raise AssertionError(f"job stayed {st['state']}")


def _all_edits(client, job) -> list[dict]:
    first = client.get(f"/api/jobs/{job}/edits", params={"page": 0}).json()
    edits = list(first["edits"])
    for p in range(1, first["pages"]):
        edits += client.get(f"/api/jobs/{job}/edits", params={"page": p}).json()["edits"]
    return edits


def test_train_stream_page_edits_then_predict_with_saved_model(server, client, penguins_rows):
    cfg, _ = server
    cols, rows = penguins_rows
    job = _create(client, cols, rows, budget=4.0)  # the events, edits and saved model are checked, not the fit
    st = client.post(f"/api/jobs/{job}/start").json()
    assert st["state"] in ("queued", "running")
    events = _events(client, job)
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "done", events[-3:]
    assert "started" in kinds and "schema" in kinds and "curve" in kinds
    prog = [e for e in events if e["type"] == "progress" and e["stage"] == "training"]
    assert prog and all({"fold", "n_folds", "epoch", "valid_score", "remaining", "fraction"} <= e.keys() for e in prog)
    assert 0 < prog[-1]["fraction"] <= 1
    schema = next(e for e in events if e["type"] == "schema")
    assert {c["name"]: c["kind"] for c in schema["columns"]}["island"] == "category"

    edits = _all_edits(client, job)
    writes = [e for e in edits if e["op"] == "write_cells"]
    header = next(e for e in writes if e["sheet"] == "Penguins" and e["values"][0][0] == "Predicted species")
    assert header["col"] == len(cols) + 1 and header["row"] == 1
    assert all(len(e["values"]) <= 5000 for e in writes)
    sheets = [e["name"] for e in edits if e["op"] == "add_sheet"]
    assert "SheetDL Report" in sheets and "SheetDL Importance" in sheets
    assert any(e["op"] == "add_chart" for e in edits)
    done = events[-1]
    assert any("blank" in s for s in done["summary"])
    assert (cfg.models_dir / "wb-test-0001.sheetdl").is_file()
    if os.name == "posix":  # it keeps training rows: the user's only
        assert (cfg.models_dir / "wb-test-0001.sheetdl").stat().st_mode & 0o777 == 0o600
        assert cfg.models_dir.stat().st_mode & 0o777 == 0o700

    # later: new rows in the same workbook, predicted with the model kept for it
    new = [r[:] for r in rows[:30]]
    for r in new:
        r[0] = None
    pj = _create(client, cols, new, kind="predict", existing_sheets=["Penguins", "SheetDL Report"])
    client.post(f"/api/jobs/{pj}/start")
    assert _events(client, pj)[-1]["type"] == "done"
    pedits = _all_edits(client, pj)
    assert any(e["op"] == "write_cells" and e["values"][0][0] == "Predicted species" for e in pedits)
    assert "SheetDL Report 2" in [e["name"] for e in pedits if e["op"] == "add_sheet"]


def test_predict_without_model_says_train_first(client, penguins_rows):
    cols, rows = penguins_rows
    r = client.post("/api/jobs", json={"kind": "predict", "workbook_id": "never-trained-1", "sheet": "Penguins",
                                       "header_row": 1, "first_col": 1, "columns": cols, "n_rows": 3})
    assert r.status_code == 404
    assert r.json()["error"] == "ModelFileError" and "Train" in r.json()["hint"]


def test_queue_position_and_cancel(client, penguins_rows):
    cols, rows = penguins_rows
    first = _create(client, cols, rows, budget=120, workbook="wb-queue-0001")
    second = _create(client, cols, rows, budget=120, workbook="wb-queue-0002")
    client.post(f"/api/jobs/{first}/start")
    _wait_state(client, first, ("running",))
    st = client.post(f"/api/jobs/{second}/start").json()
    assert st["state"] == "queued" and st["position"] == 1
    assert client.get(f"/api/jobs/{first}").json()["position"] == 0

    st = client.post(f"/api/jobs/{second}/cancel").json()
    assert st["state"] == "cancelled"
    t0 = time.monotonic()
    client.post(f"/api/jobs/{first}/cancel")
    events = _events(client, first)
    assert events[-1]["type"] == "cancelled"
    assert time.monotonic() - t0 < 20
    r = client.get(f"/api/jobs/{first}/edits")
    assert r.status_code == 400 and "cancelled" in r.json()["message"]


def test_user_errors_come_back_in_plain_words(client, penguins_rows):
    cols, rows = penguins_rows
    job = _create(client, cols, rows[:50], target="Speciess", workbook="wb-errors-01")
    client.post(f"/api/jobs/{job}/start")
    last = _events(client, job)[-1]
    assert last["type"] == "failed"
    assert last["error"]["error"] == "DataError" and "Speciess" in last["error"]["message"]
    # a job started before all its rows arrived
    r = client.post("/api/jobs", json={"workbook_id": "wb-errors-02", "sheet": "S", "header_row": 1, "first_col": 1,
                                       "columns": cols, "n_rows": 10, "target": "species"})
    r = client.post(f"/api/jobs/{r.json()['job_id']}/start")
    assert r.status_code == 400 and "0 of the 10" in r.json()["message"]


def test_schema_preview(client, penguins_rows):
    cols, rows = penguins_rows
    r = client.post("/api/schema", json={"sheet": "Penguins", "columns": cols, "rows": rows[:200]})
    assert r.status_code == 200
    body = r.json()
    assert body["target"] == "species"  # the column with blanks to fill
    assert {c["name"]: c["kind"] for c in body["columns"]}["bill_length_mm"] == "number"


def test_task_pane_is_served_only_with_the_token_in_its_url_and_never_contains_it(server, client):
    cfg, _ = server
    r = client.get("/taskpane/taskpane.html", params={"t": cfg.token})
    assert r.status_code == 200 and 'id="view-train"' in r.text
    assert cfg.token not in r.text and "{{" not in r.text  # the pane reads it from its own URL
    assert "frame-ancestors" in r.headers["content-security-policy"]
    assert client.get("/taskpane/taskpane.js").headers["content-type"].startswith("text/javascript")
    # any other process (or user) on this machine asking for the page gets neither the pane nor the token
    with httpx.Client(base_url=cfg.origin, verify=str(cfg.cert_dir / "sheetdl-ca.pem")) as bare:
        for params in ({}, {"t": ""}, {"t": "x" * 43}, {"t": cfg.token[:-1]}):
            r = bare.get("/taskpane/taskpane.html", params=params)
            assert r.status_code == 403 and cfg.token not in r.text, params
            assert "Open SheetDL from Excel" in r.text and 'id="view-train"' not in r.text
        r = bare.get("/", follow_redirects=True)
        assert cfg.token not in r.text and "Open SheetDL from Excel" in r.text


# ---- hostile requests ------------------------------------------------------------------------
def test_requests_without_the_right_token_are_refused(server, client):
    cfg, _ = server
    with httpx.Client(base_url=cfg.origin, verify=str(cfg.cert_dir / "sheetdl-ca.pem")) as bare:
        assert bare.get("/api/health").status_code == 200  # no secret there
        r = bare.post("/api/schema", json={"sheet": "S", "columns": ["a"], "rows": [[1]]})
        assert r.status_code == 401 and "token" in r.json()["message"]
        r = bare.get("/api/jobs/x", headers={"X-SheetDL-Token": "x" * 43})
        assert r.status_code == 401


def test_other_origins_and_hosts_are_refused(server, client):
    cfg, _ = server
    body = {"sheet": "S", "columns": ["a"], "rows": [[1]]}
    r = client.post("/api/schema", json=body, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "other web pages" in r.json()["message"]
    r = client.post("/api/schema", json=body, headers={"Origin": f"http://localhost:{cfg.port}"})
    assert r.status_code == 403
    r = client.post("/api/schema", json=body, headers={"Origin": "null"})
    assert r.status_code == 403
    r = client.get("/api/health", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    # DNS rebinding: a page whose name now points at 127.0.0.1 still sends its own Host
    for host in ("evil.example", f"evil.example:{cfg.port}", f"localhost:{cfg.port + 1}", "localhost"):
        r = client.get("/taskpane/taskpane.html", headers={"Host": host})
        assert r.status_code == 421, host
        assert cfg.token not in r.text


def test_excel_on_the_web_may_frame_the_pane_but_not_call_the_api(server, client):
    cfg, _ = server
    web = "https://excel.cloud.microsoft"
    req = client.build_request("GET", "/taskpane/taskpane.html", params={"t": cfg.token},
                               headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "iframe"})
    del req.headers["Origin"]  # a navigation carries none
    r = client.send(req)
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers  # framing is not reading
    r = client.options("/taskpane/taskpane.html", headers={"Origin": web,
                                                           "Access-Control-Request-Private-Network": "true"})
    assert r.status_code == 204 and r.headers["access-control-allow-private-network"] == "true"
    r = client.options("/api/jobs", headers={"Origin": web, "Access-Control-Request-Private-Network": "true"})
    assert r.status_code == 403
    r = client.get("/taskpane/taskpane.html", params={"t": cfg.token}, headers={"Origin": web})
    assert r.status_code == 403 and cfg.token not in r.text


def test_oversized_bodies_are_refused(server, client):
    cfg, _ = server
    big = b'{"start": 0, "rows": [' + b'["' + b"x" * (cfg.max_body_bytes + 10) + b'"]]}'
    r = client.post("/api/jobs/any/rows", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "smaller chunks" in r.json()["hint"]

    def stream():  # no Content-Length: counted as it arrives
        for _ in range(cfg.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    r = client.post("/api/schema", content=stream(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_unknown_fields_and_hostile_ids_are_refused(client, penguins_rows):
    cols, _ = penguins_rows
    base = {"workbook_id": "wb-fields-01", "sheet": "S", "header_row": 1, "first_col": 1, "columns": cols,
            "n_rows": 3, "target": "species"}
    r = client.post("/api/jobs", json={**base, "image_folder": "/etc"})  # no file paths from requests
    assert r.status_code == 422 and "image_folder" in r.json()["message"]
    for bad in ("../../etc/passwd", "..", "a/b/c/d/e/f", "C:\\Windows\\x", "short"):
        r = client.post("/api/jobs", json={**base, "workbook_id": bad})
        assert r.status_code == 422, bad
    r = client.post("/api/jobs", json={**base, "rows": [[{"$python": "os.system"}]]})
    assert r.status_code == 422
    job = client.post("/api/jobs", json=base).json()["job_id"]
    r = client.post(f"/api/jobs/{job}/rows", json={"start": 0, "rows": [[{"nested": 1}]]})
    assert r.status_code == 422


def _raw_get(cfg, path: str) -> tuple[int, bytes]:
    """A request exactly as written (a client library would tidy the path)."""
    ctx = ssl.create_default_context(cafile=str(cfg.cert_dir / "sheetdl-ca.pem"))
    with socket.create_connection(("127.0.0.1", cfg.port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname="localhost") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost:{cfg.port}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    return int(data.split(b" ", 2)[1]), data


@pytest.mark.parametrize("path", [
    "/taskpane/../../pyproject.toml", "/taskpane/..%2f..%2fpyproject.toml", "/taskpane/%2e%2e%2f%2e%2e%2fREADME.md",
    "/assets/..%5c..%5cpyproject.toml", "/taskpane/%2fetc%2fpasswd", "/taskpane//etc/passwd",
    "/sheetdl/server/config.py", "/taskpane/.hidden.js", "/certs/sheetdl-ca-key.pem", "/taskpane/..",
    # names no file can have: a NUL (os.path raises ValueError on it), too long, not UTF-8, overlong UTF-8
    "/taskpane/taskpane.html%00.png", "/taskpane/%00", "/assets/icon-16.png%00", "/taskpane/taskpane%00.html",
    "/taskpane/" + "a" * 300 + ".js", "/taskpane/" + "a" * 5000 + ".html", "/taskpane/%ff%fe.js",
    "/taskpane/%c0%ae%c0%ae%c0%afpyproject.toml", "/taskpane/taskpane.html%0a", "/%00/taskpane.html",
])
def test_path_traversal_finds_nothing(server, path):
    cfg, _ = server
    status, data = _raw_get(cfg, path)
    assert status in (400, 404), (path, status)
    assert b"[project]" not in data and b"PRIVATE KEY" not in data and b"root:" not in data


def _refused_in_words(r) -> None:
    """A 4xx whose body says what is wrong in words (JSON with a message, or a plain-text page)."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text and "Internal Server Error" not in r.text
    if r.headers.get("content-type", "").startswith("application/json"):
        message = r.json().get("message")
        assert isinstance(message, str) and message.strip(), r.text[:300]
    else:
        assert r.text.strip(), r.status_code


_JOB = {"workbook_id": "wb-malformed-01", "sheet": "S", "header_row": 1, "first_col": 1, "columns": ["a", "y"],
        "n_rows": 2, "target": "y"}


def _json(d: dict) -> bytes:
    return json.dumps(d).encode()  # NaN and Infinity as Python writes them; lone surrogates as \\udxxx


MALFORMED = {
    # bodies that are not JSON, or not the JSON asked for
    "empty body": ("POST", "/api/jobs", b"", "application/json"),
    "cut-off JSON": ("POST", "/api/jobs", b"{", "application/json"),
    "a list, not an object": ("POST", "/api/jobs", b"[]", "application/json"),
    "not UTF-8": ("POST", "/api/jobs", b"\xff\xfe{}", "application/json"),
    "wrong content type": ("POST", "/api/jobs", _json(_JOB), "text/plain"),
    "form content type": ("POST", "/api/schema", b"sheet=S", "application/x-www-form-urlencoded"),
    "no content type": ("POST", "/api/schema", _json({"sheet": "S", "columns": ["a"], "rows": [[1]]}), None),
    "text for a number": ("POST", "/api/jobs", _json({**_JOB, "header_row": "one"}), "application/json"),
    "text for a list": ("POST", "/api/jobs", _json({**_JOB, "columns": "a,y"}), "application/json"),
    "an object for a cell": ("POST", "/api/schema", _json({"sheet": "S", "columns": ["a"], "rows": [[{"x": 1}]]}),
                             "application/json"),
    # numbers out of range
    "huge number": ("POST", "/api/jobs", _json({**_JOB, "header_row": 10**30}), "application/json"),
    "number with 5,000 digits": ("POST", "/api/schema",
                                 b'{"sheet": "S", "columns": ["a"], "rows": [[1' + b"0" * 5000 + b"]]}",
                                 "application/json"),
    "NaN budget": ("POST", "/api/jobs", _json({**_JOB, "time_budget": float("nan")}), "application/json"),
    "infinite budget": ("POST", "/api/jobs", _json({**_JOB, "time_budget": float("inf")}), "application/json"),
    "negative seed": ("POST", "/api/jobs", _json({**_JOB, "seed": -1}), "application/json"),
    # text that can't be what it claims to be
    "empty sheet name": ("POST", "/api/jobs", _json({**_JOB, "sheet": ""}), "application/json"),
    "empty workbook id": ("POST", "/api/jobs", _json({**_JOB, "workbook_id": ""}), "application/json"),
    "NUL in the sheet name": ("POST", "/api/jobs", _json({**_JOB, "sheet": "Data\x00.xlsx"}), "application/json"),
    "NUL in the schema's sheet name": ("POST", "/api/schema", _json({"sheet": "\x00", "columns": ["a", "b"], "rows": [[1, "x"], [2, "y"], [3, "x"]]}),
                                       "application/json"),
    "slash in the sheet name": ("POST", "/api/jobs", _json({**_JOB, "sheet": "../S"}), "application/json"),
    "lone surrogate": ("POST", "/api/jobs", _json({**_JOB, "sheet": "\ud800"}), "application/json"),
    "lone surrogate in a cell": ("POST", "/api/schema", _json({"sheet": "S", "columns": ["a"], "rows": [["\udfff"]]}),
                                 "application/json"),
    "'..' as the workbook id": ("POST", "/api/jobs", _json({**_JOB, "workbook_id": ".."}), "application/json"),
    # rows, pages and events of a job: negative, huge, not numbers
    "negative start": ("POST", "/api/jobs/{job}/rows", _json({"start": -1, "rows": [["x", 1]]}), "application/json"),
    "huge start": ("POST", "/api/jobs/{job}/rows", _json({"start": 10**30, "rows": [["x", 1]]}), "application/json"),
    "fractional start": ("POST", "/api/jobs/{job}/rows", _json({"start": 0.5, "rows": []}), "application/json"),
    "too many cells": ("POST", "/api/jobs/{job}/rows", _json({"start": 0, "rows": [[1, 2, 3]]}), "application/json"),
    "negative page": ("GET", "/api/jobs/{job}/edits?page=-1", None, None),
    "huge page": ("GET", "/api/jobs/{job}/edits?page=" + "9" * 40, None, None),
    "page not a number": ("GET", "/api/jobs/{job}/edits?page=%ff", None, None),
    "negative since": ("GET", "/api/jobs/{job}/events?since=-1", None, None),
    "since not a number": ("GET", "/api/jobs/{job}/events?since=1e400", None, None),
    "start before the rows": ("POST", "/api/jobs/{job}/start", None, None),
    # job ids and paths that name nothing
    "NUL job id": ("GET", "/api/jobs/%00", None, None),
    "not-UTF-8 job id": ("GET", "/api/jobs/%ff%fe/edits", None, None),
    "long job id": ("POST", "/api/jobs/" + "x" * 5000 + "/cancel", None, None),
    "'..' job id": ("GET", "/api/jobs/%2e%2e", None, None),
    "unknown page": ("GET", "/nothing-here", None, None),
    "unknown API": ("GET", "/api/nothing", None, None),
    "wrong method": ("PUT", "/api/jobs", b"{}", "application/json"),
    "wrong method on a file": ("DELETE", "/taskpane/taskpane.html", None, None),
}


@pytest.fixture(scope="module")
def receiving_job(server):
    cfg, _ = server
    with httpx.Client(base_url=cfg.origin, verify=str(cfg.cert_dir / "sheetdl-ca.pem"),
                      headers={"X-SheetDL-Token": cfg.token, "Origin": cfg.origin}) as c:
        r = c.post("/api/jobs", json=_JOB)
        assert r.status_code == 201, r.text
        return r.json()["job_id"]


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_requests_get_a_4xx_in_words(client, receiving_job, case):
    method, path, body, content_type = MALFORMED[case]
    headers = {"Content-Type": content_type} if content_type else {}
    req = client.build_request(method, path.format(job=receiving_job), content=body, headers=headers)
    if content_type is None:
        req.headers.pop("Content-Type", None)
    _refused_in_words(client.send(req))


def test_an_unexpected_error_is_a_plain_500_without_a_traceback(server, client, monkeypatch):
    manager = server[1].config.app.state.manager

    def broken(job_id):
        raise RuntimeError("a bug in SheetDL, not in the request")

    monkeypatch.setattr(manager, "get", broken)
    r = client.get("/api/jobs/anything")
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == "InternalError" and "did not expect" in r.json()["message"]
    assert "Traceback" not in r.text and "a bug in SheetDL" not in r.text


def test_certificate_is_for_localhost_only(server):
    from cryptography import x509

    cfg, srv = server
    assert srv.config.host == "127.0.0.1"
    ca = x509.load_pem_x509_certificate((cfg.cert_dir / "sheetdl-ca.pem").read_bytes())
    nc = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert nc.critical and [str(n.value) for n in nc.value.permitted_subtrees] == ["localhost", "127.0.0.1/32"]
    leaf = x509.load_pem_x509_certificate((cfg.cert_dir / "localhost.pem").read_bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days <= 825
    assert (cfg.cert_dir / "sheetdl-ca-key.pem").stat().st_mode & 0o077 == 0
    assert cfg.token_file.stat().st_mode & 0o077 == 0


# ---- pictures: only image files inside the folders the user allowed -------------------------
@pytest.fixture()
def picture_folders(server, tmp_path):
    """An allowed folder of pictures, a private folder beside it, and a link from one to the other;
    the running server's config reads pictures from the allowed folder during the test."""
    cfg, _ = server
    pics, private = tmp_path / "pictures", tmp_path / "private"
    (pics / "cats").mkdir(parents=True)
    private.mkdir()
    for p in (pics / "cats" / "a.png", pics / "b.png", private / "secret.png"):
        p.write_bytes(_png())
    (private / "id_rsa").write_text("not a picture")
    links = True
    try:
        (pics / "link.png").symlink_to(private / "secret.png")
        (pics / "key.png").symlink_to(private / "id_rsa")
    except OSError:  # no symlinks on this system
        links = False
    before = cfg.allowed_image_folders
    cfg.allowed_image_folders = [pics]
    yield pics, private, links
    cfg.allowed_image_folders = before


def _picture_job(client, photos, *, workbook="wb-pictures-01", ignore=()):
    cols = ["Photo", "Size", "Label"]
    rows = [[p, i, "ab"[i % 2] if i else None] for i, p in enumerate(photos)]
    r = client.post("/api/jobs", json={"workbook_id": workbook, "sheet": "Cats", "header_row": 1, "first_col": 1,
                                       "columns": cols, "n_rows": len(rows), "target": "Label",
                                       "ignore": list(ignore)})
    assert r.status_code == 201, r.text
    job = r.json()["job_id"]
    assert client.post(f"/api/jobs/{job}/rows", json={"start": 0, "rows": rows}).status_code == 200
    return job


def test_pictures_outside_the_allowed_folders_are_refused_before_training(server, client, picture_folders):
    pics, private, links = picture_folders
    inside = ["cats/a.png", str(pics / "b.png"), "cats/a.png", "b.png", "cats/../b.png", "B.PNG", None, "n/a"]
    outside = ["../private/secret.png", str(private / "secret.png"), "cats/../../private/secret.png"]
    photos = inside + outside + (["link.png", "key.png"] if links else [])
    job = _picture_job(client, photos)
    r = client.post(f"/api/jobs/{job}/start")
    assert r.status_code == 400, r.text
    err = r.json()
    n_out = len(photos) - len(inside)
    assert err["error"] == "DataError" and err["column"] == "Photo" and err["sheet"] == "Cats"
    assert err["cells"] == [f"A{2 + len(inside) + k}" for k in range(n_out)]  # header on row 1
    assert "outside the folders" in err["message"] and str(pics) in err["message"]
    assert err["cells"][0] in err["message"] and "--allow-images" in err["hint"]
    st = client.get(f"/api/jobs/{job}").json()
    assert st["state"] == "receiving"  # nothing was queued, nothing read

    # every path inside the folder: the check lets the job through
    ok = _picture_job(client, inside, workbook="wb-pictures-02")
    manager = server[1].config.app.state.manager
    manager.check_pictures(manager.get(ok), manager.get(ok).rows())
    # an ignored column is never read, so it is not checked
    ignored = _picture_job(client, photos, workbook="wb-pictures-03", ignore=["Photo"])
    manager.check_pictures(manager.get(ignored), manager.get(ignored).rows())
    for j in (job, ok, ignored):
        client.post(f"/api/jobs/{j}/cancel")


def test_a_picture_column_must_hold_picture_files(server, client, picture_folders):
    photos = ["cats/a.png"] * 9 + ["notes.txt"] + ["b.png"] * 9  # still a picture column (> 80 %)
    job = _picture_job(client, photos)
    r = client.post(f"/api/jobs/{job}/start")
    assert r.status_code == 400
    err = r.json()
    assert err["cells"] == ["A11"] and "not a picture file" in err["message"] and "A11" in err["message"]
    client.post(f"/api/jobs/{job}/cancel")


def test_no_pictures_are_read_until_a_folder_is_allowed(server, client, picture_folders):
    cfg, _ = server
    cfg.allowed_image_folders = []
    job = _picture_job(client, ["cats/a.png", "b.png", "b.png"])
    r = client.post(f"/api/jobs/{job}/start")
    assert r.status_code == 400
    err = r.json()
    assert "may not read pictures from any folder" in err["message"]
    assert "sheetdl serve --allow-images" in err["hint"] and err["cells"] == ["A2", "A3", "A4"]
    client.post(f"/api/jobs/{job}/cancel")


def test_predict_checks_the_saved_models_picture_columns(server, client, picture_folders):
    """New rows whose picture column no longer looks like pictures (a path among other text) are still
    read as pictures when the saved model learned from pictures there, so that column is checked too."""
    import torch
    from safetensors.torch import save_file

    from sheetdl.server.images import model_image_columns, picture_columns

    _, private, _ = picture_folders
    manager = server[1].config.app.state.manager
    path = manager.model_path("wb-pictures-04")
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = {"columns": [{"name": "Photo", "kind": "image", "role": "feature", "reason": ""},
                          {"name": "Size", "kind": "number", "role": "feature", "reason": ""}]}
    save_file({"x": torch.zeros(1)}, str(path), metadata={"sheetdl": json.dumps({"schema": schema}), "sha256": "-"})
    assert model_image_columns(path) == {"Photo"}
    assert model_image_columns(path.with_name("missing.sheetdl")) == set()

    rows = [[str(private / "secret.png"), 1, None], ["x", 2, None], ["y", 3, None], ["z", 4, None]]
    assert picture_columns(["Photo", "Size", "Label"], rows) == set()  # the rows alone don't say "pictures"
    r = client.post("/api/jobs", json={"kind": "predict", "workbook_id": "wb-pictures-04", "sheet": "New",
                                       "header_row": 1, "first_col": 1, "columns": ["Photo", "Size", "Label"],
                                       "n_rows": len(rows)})
    job = r.json()["job_id"]
    client.post(f"/api/jobs/{job}/rows", json={"start": 0, "rows": rows})
    r = client.post(f"/api/jobs/{job}/start")
    assert r.status_code == 400, r.text
    assert r.json()["column"] == "Photo" and r.json()["cells"] == ["A3", "A4", "A5"]
    assert "not picture files" in r.json()["message"]
    client.post(f"/api/jobs/{job}/cancel")
    path.unlink()


def test_training_gets_the_picture_folders(server, client, picture_folders, monkeypatch):
    """The training job is told where relative paths start and which folders it may read."""
    import sheetdl.run
    from sheetdl.errors import DataError

    pics, _, _ = picture_folders
    seen = {}

    def fake_train_table(table, schema, opts, **kw):
        seen["image_folder"], seen["allowed"] = opts.image_folder, opts.allowed_image_folders
        raise DataError("stopped by the test")

    monkeypatch.setattr(sheetdl.run, "train_table", fake_train_table)
    cols = ["Size", "Label"]
    rows = [[i, "ab"[i % 2]] for i in range(20)]
    job = _create(client, cols, rows, workbook="wb-pictures-05", target="Label")
    client.post(f"/api/jobs/{job}/start")
    last = _events(client, job)[-1]
    assert last["type"] == "failed" and last["error"]["message"] == "stopped by the test"
    assert seen == {"image_folder": pics, "allowed": [pics]}


def test_a_picture_cell_that_can_name_no_file_is_refused_in_words(server, client, picture_folders):
    """A NUL (os.path raises ValueError on it), a name longer than any file system allows, or text that is
    not valid Unicode: the cells are named in a 400 before anything runs, never a 500."""
    photos = ["cats/a.png", "a\x00.png", "b.png", "\x00.png", "x" * 300 + ".png", "cats/a.png", "cats\x00/b.png"]
    job = _picture_job(client, photos, workbook="wb-pictures-nul")
    r = client.post(f"/api/jobs/{job}/start")
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["error"] == "DataError" and err["column"] == "Photo" and err["cells"] == ["A3", "A5", "A6", "A8"]
    assert "A3" in err["message"] and "can't be the name of a file" in err["message"]
    assert client.get(f"/api/jobs/{job}").json()["state"] == "receiving"  # nothing was read
    client.post(f"/api/jobs/{job}/cancel")


def test_picture_path_checks_never_raise_on_odd_text():
    import os

    from sheetdl.server.images import outside_folders, unusable_path

    root = Path(os.path.abspath("/srv/pics"))
    for text in ("a\x00.png", "\x00", "\ud800.png", "x" * 300 + ".png", "a/" + "b" * 256 + "/c.png"):
        assert unusable_path(text), repr(text[:20])
        assert outside_folders(text, [root])  # refused, not raised
    for text in ("a.png", "sub dir/ä b.png", "x" * 250 + ".png", "C:\\pics\\a.png", "file:///srv/pics/a.png"):
        assert unusable_path(text) is None, text


def test_outside_folders_follows_dots_links_and_case():
    import os

    from sheetdl.server.images import outside_folders

    root = Path(os.path.abspath("/srv/pics"))
    assert not outside_folders("a.png", [root]) and not outside_folders("sub/../a.JPG", [root])
    assert outside_folders("../pics2/a.png", [root])  # a sibling whose name starts the same
    assert outside_folders(str(root.parent / "pics2" / "a.png"), [root])
    assert outside_folders("a.png", [])  # no folder allowed: nothing is inside
    assert not outside_folders(str(root.parent / "other" / "b.png"), [root, root.parent / "other"])
    assert outside_folders("notes.txt", [root])


def test_serve_remembers_the_picture_folders(tmp_path, monkeypatch, capsys):
    """`sheetdl serve --allow-images A --allow-images B` keeps the folders for the next start;
    --forget-images drops them; a folder that is not there is refused in plain words."""
    import sheetdl.server.app
    from sheetdl.cli import main
    from sheetdl.server.testing import free_port

    home = tmp_path / "home"
    monkeypatch.setenv("SHEETDL_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "1000")  # long paths on one line
    started = []
    monkeypatch.setattr(sheetdl.server.app, "serve", lambda config: started.append(config))
    a, b = tmp_path / "cats", tmp_path / "dogs"
    a.mkdir()
    b.mkdir()
    port = free_port()
    assert main(["serve", "--port", str(port), "--allow-images", str(a), "--allow-images", str(b)]) == 0
    assert started[-1].allowed_image_folders == [a, b] and started[-1].image_folder == a
    assert f"Pictures from:  {a}; {b}" in capsys.readouterr().out
    assert main(["serve", "--port", str(port)]) == 0  # remembered
    assert started[-1].allowed_image_folders == [a, b]
    assert ServerConfig(home=home).allowed_image_folders == [a, b]
    assert main(["serve", "--port", str(port), "--forget-images"]) == 0
    assert started[-1].allowed_image_folders == [] and ServerConfig(home=home).allowed_image_folders == []
    assert "no folder" in capsys.readouterr().out

    n = len(started)
    assert main(["serve", "--port", str(port), "--allow-images", str(tmp_path / "nope")]) != 0
    err = capsys.readouterr()
    assert "There is no folder" in err.err + err.out and "nope" in err.err + err.out and "Traceback" not in err.err
    assert main(["serve", "--port", str(port), "--allow-images", Path(tmp_path).anchor]) != 0
    assert "whole drive" in "".join(capsys.readouterr())
    assert len(started) == n  # refused before serving


def test_a_review_threshold_from_the_pane_marks_unsure_predictions(client, penguins_rows):
    cols, rows = penguins_rows
    # 4 s: a 99% bar leaves penguins to check at any budget (a shorter training is, if anything, less sure)
    job = _create(client, cols, rows, workbook="wb-review-0001", review_threshold=0.99, budget=4.0)
    client.post(f"/api/jobs/{job}/start")
    assert _events(client, job)[-1]["type"] == "done"
    writes = [e for e in _all_edits(client, job) if e["op"] == "write_cells" and e["sheet"] == "Penguins"]
    header = next(e for e in writes if e["values"][0][0] == "Predicted species")["values"][0]
    assert header[:3] == ["Predicted species", "Confidence", "Review"]
    marks = [v[2] for e in writes if e["values"][0][0] != "Predicted species" for v in e["values"]]
    assert "Check" in marks  # a 99% bar leaves some penguins to look at
    bad = client.post("/api/jobs", json={"kind": "train", "workbook_id": "wb-review-0002", "sheet": "Penguins",
                                         "header_row": 1, "first_col": 1, "columns": cols, "n_rows": 3,
                                         "target": "species", "review_threshold": 70})
    assert bad.status_code == 422  # a share, not a percentage: the pane sends 0.7


def test_the_panes_fine_tune_choice_reaches_training(client, penguins_rows, monkeypatch):
    import sheetdl.run as run_module

    seen = []
    real = run_module.train_table

    def spy(table, schema, opts, **kw):
        seen.append(opts.fine_tune)
        return real(table, schema, opts, **kw)

    monkeypatch.setattr(run_module, "train_table", spy)
    cols, rows = penguins_rows
    job = _create(client, cols, rows[::4], workbook="wb-tune-0001", budget=3.0, fine_tune="no")
    client.post(f"/api/jobs/{job}/start")
    events = _events(client, job)
    assert events[-1]["type"] == "done", events[-1]
    assert seen == ["no"]
    bad = client.post("/api/jobs", json={"kind": "train", "workbook_id": "wb-tune-0002", "sheet": "Penguins",
                                         "header_row": 1, "first_col": 1, "columns": cols, "n_rows": 3,
                                         "target": "species", "fine_tune": "maybe"})
    assert bad.status_code == 422
