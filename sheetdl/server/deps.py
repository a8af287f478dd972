"""Shared dependencies: the settings object, the job manager, and the token check."""

from __future__ import annotations

import hmac

from fastapi import Header, HTTPException, Request

from .config import ServerConfig
from .jobs import JobManager

TOKEN_HEADER = "X-SheetDL-Token"


def get_config(request: Request) -> ServerConfig:
    return request.app.state.config


def get_manager(request: Request) -> JobManager:
    return request.app.state.manager


def require_token(request: Request, x_sheetdl_token: str | None = Header(default=None)) -> None:
    """Every API call carries the per-install token the task pane was served with."""
    expected = request.app.state.config.token
    if not x_sheetdl_token or not hmac.compare_digest(x_sheetdl_token.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail={
            "error": "Unauthorized", "message": "This request did not carry the SheetDL token.",
            "hint": "Open SheetDL from its tab on Excel's ribbon; other pages can't use the server.",
            "sheet": None, "column": None, "cells": []})
