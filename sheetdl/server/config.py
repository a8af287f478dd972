"""One settings object for the local server: where its files live, its port, its limits, its token.

Everything the server keeps (certificate authority, localhost certificate, the per-install token,
models per workbook) lives in the user's config folder; ``SHEETDL_HOME`` overrides it (tests).
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ServerConfig", "DEFAULT_PORT", "sheetdl_home", "ADDIN_DIR"]

DEFAULT_PORT = 47811
#: the add-in's web files (task pane, icons) ship beside the package in a source checkout
ADDIN_DIR = Path(__file__).resolve().parents[2] / "addin"


def sheetdl_home() -> Path:
    """The user's SheetDL config folder (created on demand)."""
    env = os.environ.get("SHEETDL_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "SheetDL"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "SheetDL"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "sheetdl"


def _private_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


@dataclass(kw_only=True)
class ServerConfig:
    home: Path = field(default_factory=sheetdl_home)
    port: int = DEFAULT_PORT
    #: never anything but loopback: the server trains on the user's data for the user only
    host: str = "127.0.0.1"
    #: one request body at most (Excel on the web caps a request near 5 MB; chunks stay below)
    max_body_bytes: int = 8 * 1024 * 1024
    max_rows_per_chunk: int = 20_000
    max_rows: int = 1_000_000
    max_columns: int = 1_000
    #: the schema preview reads a sample of rows
    max_schema_rows: int = 5_000
    #: cells per page of edits sent back to the task pane (a page is one request)
    edits_page_cells: int = 100_000
    #: finished jobs kept in memory for fetching their edits
    keep_jobs: int = 20
    time_budget_limit: float = 24 * 3600.0
    token: str = ""

    def __post_init__(self) -> None:
        self.home = Path(self.home)
        if not self.token:
            self.token = self.load_token()

    # ---- places ----------------------------------------------------------------------------
    @property
    def cert_dir(self) -> Path:
        return self.home / "certs"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def token_file(self) -> Path:
        return self.home / "token"

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def allowed_origins(self) -> set[str]:
        return {f"https://localhost:{self.port}", f"https://127.0.0.1:{self.port}"}

    @property
    def allowed_hosts(self) -> set[str]:
        return {f"localhost:{self.port}", f"127.0.0.1:{self.port}"}

    def load_token(self) -> str:
        """The per-install token: made once, kept readable by the user only."""
        f = self.token_file
        if f.is_file():
            tok = f.read_text(encoding="utf-8").strip()
            if len(tok) >= 32:
                return tok
        tok = secrets.token_urlsafe(32)
        _private_file(f, tok)
        return tok
