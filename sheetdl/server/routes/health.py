"""Is the server there? No token needed, and nothing secret in the answer."""

from __future__ import annotations

from fastapi import APIRouter

from ...version import __version__

router = APIRouter()


@router.get("/api/health")
def health() -> dict:
    return {"ok": True, "app": "sheetdl", "version": __version__}
