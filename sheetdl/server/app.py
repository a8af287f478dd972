"""The FastAPI app for the Office.js add-in, and ``serve`` to run it on loopback over HTTPS."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..errors import ModelFileError, SheetDLError
from .config import ServerConfig
from .guard import Guard
from .jobs import JobManager

__all__ = ["create_app", "serve", "uvicorn_config"]

log = logging.getLogger("sheetdl.server")


def create_app(config: ServerConfig | None = None) -> FastAPI:
    from .routes import edits, health, jobs, schema, static

    config = config or ServerConfig()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.manager.shutdown()

    app = FastAPI(title="SheetDL", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.config = config
    app.state.manager = JobManager(config)
    for r in (health.router, schema.router, jobs.router, edits.router, static.router):
        app.include_router(r)

    @app.exception_handler(SheetDLError)
    async def _user_error(request: Request, e: SheetDLError):
        return JSONResponse(e.to_dict(), status_code=404 if isinstance(e, ModelFileError) else 400)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, e: HTTPException):
        detail: Any = e.detail if isinstance(e.detail, dict) else {
            "error": "HTTPError", "message": str(e.detail), "hint": None, "sheet": None, "column": None, "cells": []}
        return JSONResponse(detail, status_code=e.status_code, headers=getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, e: RequestValidationError):
        where = "; ".join(".".join(str(p) for p in err.get("loc", ())[1:]) + ": " + err.get("msg", "")
                          for err in e.errors()[:3])
        return JSONResponse({"error": "BadRequest", "message": f"The request is not one SheetDL understands ({where}).",
                             "hint": "Use the SheetDL task pane; reload it if this keeps happening.",
                             "sheet": None, "column": None, "cells": []}, status_code=422)

    return _guarded(app, config)


def _guarded(app: FastAPI, config: ServerConfig):
    """The app behind its Host/Origin/size guard; ``.app`` reaches the FastAPI app itself."""
    guarded = Guard(app, config)
    guarded.state = app.state  # type: ignore[attr-defined]
    return guarded


def uvicorn_config(config: ServerConfig, **kw):
    import uvicorn

    from .certs import ensure_certificates

    certs = ensure_certificates(config.cert_dir)
    return uvicorn.Config(create_app(config), host=config.host, port=config.port,
                          ssl_certfile=str(certs.cert), ssl_keyfile=str(certs.key),
                          log_level=kw.pop("log_level", "warning"), **kw)


def serve(config: ServerConfig) -> None:
    """Run until Ctrl-C, on 127.0.0.1 only."""
    import uvicorn

    assert config.host in ("127.0.0.1", "localhost"), "the SheetDL server only listens on loopback"
    uvicorn.Server(uvicorn_config(config)).run()
