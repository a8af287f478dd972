"""The FastAPI app for the Office.js add-in, and ``serve`` to run it on loopback over HTTPS."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

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
        status = getattr(e, "status_code", None) or (404 if isinstance(e, ModelFileError) else 400)
        return JSONResponse(e.to_dict(), status_code=status)

    # Starlette's HTTPException, which FastAPI's derives from: routing's 404 and 405 and FastAPI's "body
    # can't be parsed" 400 are raised as Starlette's, and they too get SheetDL's shape and words
    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, e: HTTPException):
        detail: Any = e.detail if isinstance(e.detail, dict) else _refusal(
            "HTTPError", PLAIN_WORDS.get(e.status_code, str(e.detail)), None)
        return JSONResponse(detail, status_code=e.status_code, headers=getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, e: RequestValidationError):
        where = "; ".join(_where(err) for err in e.errors()[:3])
        return JSONResponse(_refusal("BadRequest", f"The request is not one SheetDL understands ({where}).",
                                     "Use the SheetDL task pane; reload it if this keeps happening."), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception):
        """A bug of ours, never the request's fault: plain words to the pane, no traceback. Starlette
        raises the error again once this answer is sent, so the server's log still shows the details."""
        return JSONResponse(_refusal(
            "InternalError", "SheetDL ran into a problem it did not expect; your workbook was not changed.",
            "Try again; if it happens again, run 'sheetdl serve' in a terminal to see the details."), status_code=500)

    return _guarded(app, config)


#: what a refusal from routing or parsing means, in words (their own detail is "Not Found" and the like)
PLAIN_WORDS = {
    400: "The request's body could not be read as JSON.",
    404: "There is nothing at this address on the SheetDL server.",
    405: "This address of the SheetDL server does not take that kind of request.",
}


def _where(err: dict) -> str:
    """One validation error as 'field: what is wrong' (the body itself when it is not JSON at all)."""
    if err.get("type") == "json_invalid":  # its location is a character offset, not a field
        return "the request's body is not valid JSON"
    field = ".".join(str(p) for p in err.get("loc", ())[1:]) or "the request's body"
    return f"{field}: {err.get('msg', '')}"


def _refusal(error: str, message: str, hint: str | None) -> dict:
    return {"error": error, "message": message, "hint": hint, "sheet": None, "column": None, "cells": []}


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
