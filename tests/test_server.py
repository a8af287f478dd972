"""The add-in's server, for real: uvicorn on loopback over HTTPS with its own certificate authority.

Covers the job flow (create → rows in chunks → start → server-sent progress → pages of SheetEdits →
predict later with the saved model), the queue and cancel, and hostile requests being refused.
"""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("cryptography")

from sheetdl.server.config import ServerConfig  # noqa: E402
from sheetdl.server.testing import free_port, running_server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cfg = ServerConfig(home=tmp_path_factory.mktemp("sheetdl-home"), port=free_port())
    with running_server(cfg) as srv:
        yield cfg, srv


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
    job = _create(client, cols, rows)
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


def test_task_pane_is_served_with_the_token(server, client):
    cfg, _ = server
    r = client.get("/taskpane/taskpane.html")
    assert r.status_code == 200
    assert cfg.token in r.text and "{{SHEETDL_TOKEN}}" not in r.text
    assert "frame-ancestors" in r.headers["content-security-policy"]
    assert client.get("/taskpane/taskpane.js").headers["content-type"].startswith("text/javascript")


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
    req = client.build_request("GET", "/taskpane/taskpane.html",
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
    r = client.get("/taskpane/taskpane.html", headers={"Origin": web})
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
])
def test_path_traversal_finds_nothing(server, path):
    cfg, _ = server
    status, data = _raw_get(cfg, path)
    assert status in (400, 404), (path, status)
    assert b"[project]" not in data and b"PRIVATE KEY" not in data and b"root:" not in data


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
