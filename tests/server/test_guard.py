"""The guard against a live server: one Host and at most one Origin, only HTTP, the private-network
preflight only for our own origin and the Office sites, and the pages framed only by those sites."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("cryptography")


def _raw(cfg, head: str) -> tuple[int, bytes]:
    """A request exactly as written (a client library would merge or tidy the headers)."""
    ctx = ssl.create_default_context(cafile=str(cfg.cert_dir / "sheetdl-ca.pem"))
    with socket.create_connection(("127.0.0.1", cfg.port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname="localhost") as s:
            s.sendall(head.encode() + b"Connection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_two_origin_or_host_headers_are_refused(server):
    cfg, _ = server
    page = f"/taskpane/taskpane.html?t={cfg.token}"
    ok = f"GET {page} HTTP/1.1\r\nHost: localhost:{cfg.port}\r\nOrigin: {cfg.origin}\r\n"
    assert _raw(cfg, ok)[0] == 200
    status, body = _raw(cfg, ok + "Origin: https://evil.example\r\n")
    assert status == 400 and cfg.token.encode() not in body
    status, _ = _raw(cfg, f"GET /api/health HTTP/1.1\r\nHost: localhost:{cfg.port}\r\nHost: evil.example\r\n")
    assert status in (400, 421)
    status, _ = _raw(cfg, f"GET /api/health HTTP/1.1\r\nHost: localhost:{cfg.port}\r\nOrigin: {cfg.origin}\r\n"
                          f"Origin: {cfg.origin}\r\n")
    assert status == 400


def test_private_network_preflight_only_for_our_origin_and_office(server):
    cfg, _ = server
    ca = str(cfg.cert_dir / "sheetdl-ca.pem")
    pna = {"Access-Control-Request-Private-Network": "true"}
    with httpx.Client(base_url=cfg.origin, verify=ca) as c:
        for origin in ("https://evil.example", "https://evil.microsoft.com.example", "https://x.live.com",
                       "https://contoso.sharepoint.com.evil", "http://excel.cloud.microsoft"):
            r = c.options("/taskpane/taskpane.html", headers={"Origin": origin, **pna})
            assert r.status_code == 403, origin
            assert "access-control-allow-origin" not in r.headers
        for origin in (cfg.origin, "https://excel.cloud.microsoft", "https://excel.officeapps.live.com"):
            r = c.options("/taskpane/taskpane.html", headers={"Origin": origin, **pna})
            assert r.status_code == 204 and r.headers["access-control-allow-private-network"] == "true", origin
        # the preflight's header on a GET from another site gets no page (and no token) either
        r = c.get("/taskpane/taskpane.html", params={"t": cfg.token}, headers={"Origin": "https://evil.example", **pna})
        assert r.status_code == 403 and cfg.token not in r.text


def test_only_office_sites_may_frame_the_pane(server):
    cfg, _ = server
    with httpx.Client(base_url=cfg.origin, verify=str(cfg.cert_dir / "sheetdl-ca.pem")) as c:
        csp = c.get("/taskpane/taskpane.html", params={"t": cfg.token}).headers["content-security-policy"]
    ancestors = next(d for d in csp.split(";") if d.strip().startswith("frame-ancestors")).split()[1:]
    assert "https://*.officeapps.live.com" in ancestors and "https://*.cloud.microsoft" in ancestors
    for broad in ("https://*.microsoft.com", "https://*.live.com", "https://*.sharepoint.com", "*", "https:"):
        assert broad not in ancestors


def test_websockets_and_other_kinds_of_connection_are_refused(server):
    from sheetdl.server.config import ServerConfig
    from sheetdl.server.guard import Guard

    cfg, _ = server
    reached, sent = [], []

    async def app(scope, receive, send):
        reached.append(scope["type"])

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    guard = Guard(app, ServerConfig(home=cfg.home, port=cfg.port, token=cfg.token))
    scope = {"type": "websocket", "path": "/api/jobs/x/events", "headers": [
        (b"host", f"localhost:{cfg.port}".encode()), (b"origin", cfg.origin.encode())]}
    asyncio.run(guard(scope, receive, send))
    assert reached == [] and sent == [{"type": "websocket.close", "code": 1008}]
    asyncio.run(guard({"type": "something-new", "headers": []}, receive, send))
    assert reached == []
    asyncio.run(guard({"type": "lifespan"}, receive, send))
    assert reached == ["lifespan"]  # start-up and shut-down still reach the app
