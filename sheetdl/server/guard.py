"""The first thing every request meets: Host, Origin and size checks (pure ASGI, before routing).

- Host must be localhost:PORT or 127.0.0.1:PORT: a web page that rebinds its own DNS name to
  127.0.0.1 still sends its own name as Host, so it is refused (DNS rebinding).
- Origin, when the browser sends one, must be the server's own https://localhost:PORT: the task
  pane is served from there, so any other page's requests are refused before they reach a route.
- Exactly one Host header and at most one Origin: a second one (which one a check reads and which one
  a later layer reads may differ) is refused.
- Only HTTP: a websocket (or any other kind of connection) is refused; the server's own start-up
  and shut-down (lifespan) pass.
- Chrome's private-network preflight is answered yes only for our own origin and the Office sites
  that frame the pane (:data:`OFFICE_ORIGINS`); the header on anything but a preflight is refused.
- A body larger than the cap is refused with 413 without being read any further.
"""

from __future__ import annotations

import json
import re

from .config import ServerConfig

#: the sites Excel on the web frames the task pane from (the same list as the pages' frame-ancestors)
OFFICE_HOSTS = ("*.officeapps.live.com", "*.office.com", "*.office365.com", "*.microsoft365.com", "*.cloud.microsoft")
OFFICE_ORIGINS = re.compile(r"https://([a-z0-9-]+\.)*(officeapps\.live\.com|office\.com|office365\.com|"
                            r"microsoft365\.com|cloud\.microsoft)")


def _error(status: int, message: str, hint: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": "Refused", "message": message, "hint": hint,
                               "sheet": None, "column": None, "cells": []}).encode()


class Guard:
    def __init__(self, app, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # nothing of ours speaks it: refused before it is accepted
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            return None
        headers: dict[str, str] = {}
        counts: dict[str, int] = {}
        for k, v in scope.get("headers", []):
            name = k.decode("latin-1").lower()
            counts[name] = counts.get(name, 0) + 1
            headers.setdefault(name, v.decode("latin-1"))
        if counts.get("host", 0) != 1 or counts.get("origin", 0) > 1:
            refusal = _error(400, "A request must name one Host and at most one Origin.",
                             "Open the add-in from Excel.")
        else:
            refusal = self._check(headers, scope.get("path", ""), scope["method"])
        if refusal is None and scope["method"] == "OPTIONS" and not scope.get("path", "").startswith("/api/"):
            return await self._private_network_preflight(headers, send)
        if refusal is None and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            body, refusal = await self._read_body(headers, receive)
            if refusal is None:
                receive = _replay(body, receive)
        if refusal is not None:
            status, payload = refusal
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(payload)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": payload})
            return
        return await self.app(scope, receive, send)

    def _check(self, headers: dict, path: str, method: str = "GET"):
        cfg = self.config
        if headers.get("host", "").lower() not in cfg.allowed_hosts:
            return _error(421, "This SheetDL server only answers requests addressed to localhost.",
                          f"Open the add-in from Excel; it uses {cfg.origin}.")
        api = path.startswith("/api/")
        origin = headers.get("origin")
        # Excel on the web frames the pane and loads the ribbon icons from its own site: pages and
        # images may be fetched cross-site (no one else can read them); the API may not.
        if origin is not None and origin.lower() not in cfg.allowed_origins:
            # the one request another site may make: Excel on the web's private-network preflight for
            # a page (Chrome asks before a public site frames localhost); never a GET, never the API
            preflight = (method == "OPTIONS" and not api and OFFICE_ORIGINS.fullmatch(origin.lower()) is not None
                         and headers.get("access-control-request-private-network") is not None)
            if not preflight:
                return _error(403, "Requests from other web pages are refused.",
                              "Only SheetDL's own task pane can use this server.")
        # a browser says where a request comes from even when it leaves Origin out
        if api and headers.get("sec-fetch-site") == "cross-site":
            return _error(403, "Requests from other web pages are refused.",
                          "Only SheetDL's own task pane can use this server.")
        cl = headers.get("content-length")
        if cl is not None:
            try:
                n = int(cl)
            except ValueError:
                return _error(400, "The request's length is not a number.", "Send a well-formed request.")
            if n > cfg.max_body_bytes:
                return self._too_big()
        return None

    async def _private_network_preflight(self, headers: dict, send) -> None:
        """Chrome asks before a public site (Excel on the web) frames a page on localhost; say yes for
        the pane's pages. It grants no reading: the pages themselves carry no CORS headers."""
        out = [(b"content-length", b"0")]
        if headers.get("access-control-request-private-network") == "true" and headers.get("origin"):
            out += [(b"access-control-allow-origin", headers["origin"].encode("latin-1")),
                    (b"access-control-allow-methods", b"GET"),
                    (b"access-control-allow-private-network", b"true"), (b"vary", b"Origin")]
        await send({"type": "http.response.start", "status": 204, "headers": out})
        await send({"type": "http.response.body", "body": b""})

    def _too_big(self):
        mb = self.config.max_body_bytes / 1024 / 1024
        return _error(413, f"The request is larger than the {mb:.0f} MB SheetDL accepts at once.",
                      "Send the rows in smaller chunks (5,000–20,000 rows each).")

    async def _read_body(self, headers: dict, receive):
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", (400, b'{"error": "Disconnected"}')
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.config.max_body_bytes:
                return b"", self._too_big()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None


def _replay(body: bytes, original):
    """Hand the app the body already read, then the real connection's later messages."""
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
