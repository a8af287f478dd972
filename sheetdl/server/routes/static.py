"""The task pane's files, served from the add-in's folder (package data in ``sheetdl/data/addin/``).

The token never goes into a page. ``sheetdl addin install`` writes it into the task pane's URL in the
manifest it installs (``taskpane.html?t=TOKEN``, in the user's own profile); a pane page is served only
to a request that carries it, and the pane reads it from its own URL. A page asked for without it (a
browser tab, another program) gets a short page saying how to open SheetDL from Excel instead.

Only files directly under the two folders, with web-file extensions, are served; a path that leaves
them (``..``, absolute, encoded) or that no file of ours could have (a NUL, which makes ``os.path``
raise ValueError; a name too long for the file system; bytes that aren't UTF-8) is simply not found.
"""

from __future__ import annotations

import hmac
import mimetypes
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..config import ADDIN_DIR
from ..guard import OFFICE_HOSTS

router = APIRouter()

SERVED = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
          ".xml": "application/xml"}
FOLDERS = {"taskpane": ADDIN_DIR / "taskpane", "assets": ADDIN_DIR / "assets"}
#: what the add-in's files are called (taskpane.html, icon-16.png): ASCII letters, digits, '.', '-'
#: and '_', not starting with a dot; nothing else reaches the file system
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

#: Office embeds the pane in an iframe on its own sites (Excel on the web) or in a web view (desktop):
#: only those sites may frame it (not any page on microsoft.com, live.com or sharepoint.com)
CSP = ("default-src 'self'; script-src 'self' https://appsforoffice.microsoft.com https://*.microsoft.com; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'self' " + " ".join(f"https://{h}" for h in OFFICE_HOSTS))


#: what a pane page asked for without the token shows (no token, nothing of the pane)
OPEN_FROM_EXCEL = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SheetDL</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto">
<h1>Open SheetDL from Excel</h1>
<p>This page is SheetDL's task pane. It opens only from Excel: on the Home tab, choose
<b>SheetDL</b> on the ribbon (or Home &rarr; Add-ins &rarr; SheetDL).</p>
<p>If Excel shows this page instead, the add-in was installed with an older key: run
<code>sheetdl addin install</code> again, then restart Excel (in Excel on the web, upload the new manifest).</p>
</body></html>
"""


def carries_token(request: Request) -> bool:
    """Whether the request's URL carries this install's token (``?t=``), compared in constant time."""
    given = request.query_params.get("t", "")
    expected = request.app.state.config.token
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _not_found() -> Response:
    return Response("Not found", status_code=404, media_type="text/plain")


@router.get("/")
def root() -> Response:
    return RedirectResponse("/taskpane/taskpane.html")


def served_file(folder: str, name: str) -> Path | None:
    """The add-in file ``/folder/name`` asks for, or None. The one place a request's path meets the
    file system: the name is checked against what the add-in's files are called before any os call
    sees it, and an os call that still refuses it (a name too long, a link loop) means "not found"."""
    base = FOLDERS.get(folder)
    if base is None or not FILE_NAME.fullmatch(name):
        return None
    try:
        path = (base / name).resolve()
        if path.parent != base.resolve() or path.suffix.lower() not in SERVED or not path.is_file():
            return None
    except (OSError, ValueError, RuntimeError):
        return None
    return path


@router.get("/{folder}/{name}")
def static_file(folder: str, name: str, request: Request) -> Response:
    path = served_file(folder, name)
    if path is None:
        return _not_found()
    try:
        body = path.read_bytes()
    except OSError:  # removed or made unreadable since the check
        return _not_found()
    suffix = path.suffix.lower()
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    if suffix == ".html":
        headers["Content-Security-Policy"] = CSP
        headers["Cache-Control"] = "no-store"
        if not carries_token(request):
            return Response(OPEN_FROM_EXCEL, status_code=403, media_type=SERVED[suffix], headers=headers)
    else:
        headers["Cache-Control"] = "no-cache"
    return Response(body, media_type=SERVED[suffix] or mimetypes.guess_type(path.name)[0], headers=headers)
