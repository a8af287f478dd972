"""The task pane's files, served from the add-in's folder (``addin/`` in a source checkout, the
package's ``addin_files/`` once installed) with the token placed into the page.

Only files directly under the two folders, with web-file extensions, are served; a path that leaves
them (``..``, absolute, encoded) is simply not found.
"""

from __future__ import annotations

import html
import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..config import ADDIN_DIR

router = APIRouter()

SERVED = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
          ".xml": "application/xml"}
FOLDERS = {"taskpane": ADDIN_DIR / "taskpane", "assets": ADDIN_DIR / "assets"}

#: Office embeds the pane in an iframe on its own sites (Excel on the web) or in a web view (desktop)
CSP = ("default-src 'self'; script-src 'self' https://appsforoffice.microsoft.com https://*.microsoft.com; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'self' https://*.office.com https://*.officeapps.live.com "
       "https://*.office365.com https://*.sharepoint.com https://*.microsoft.com https://*.live.com https://*.cloud.microsoft")


def _not_found() -> Response:
    return Response("Not found", status_code=404, media_type="text/plain")


@router.get("/")
def root() -> Response:
    return RedirectResponse("/taskpane/taskpane.html")


@router.get("/{folder}/{name}")
def static_file(folder: str, name: str, request: Request) -> Response:
    base = FOLDERS.get(folder)
    if base is None or "/" in name or "\\" in name or name.startswith("."):
        return _not_found()
    path = (base / name).resolve()
    suffix = path.suffix.lower()
    if path.parent != base.resolve() or suffix not in SERVED or not path.is_file():
        return _not_found()
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    body = path.read_bytes()
    if suffix == ".html":
        token = html.escape(request.app.state.config.token, quote=True)
        body = body.replace(b"{{SHEETDL_TOKEN}}", token.encode())
        headers["Content-Security-Policy"] = CSP
        headers["Cache-Control"] = "no-store"
    else:
        headers["Cache-Control"] = "no-cache"
    return Response(body, media_type=SERVED[suffix] or mimetypes.guess_type(path.name)[0], headers=headers)
