"""One settings object for the local server: where its files live, its port, its limits, its token.

What the server keeps (certificate authority, localhost certificate, the per-install token, the
folders it may read pictures from, the add-in's manifest) lives in the user's config folder, the models
per workbook in the user's data folder (``sheetdl/folders.py`` says which folders those are on each
system); ``SHEETDL_HOME`` puts both in one folder (tests, a second server).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from ..folders import config_dir, data_dir, sheetdl_home
from ..private import private_dir, private_file

__all__ = ["ServerConfig", "DEFAULT_PORT", "sheetdl_home", "ADDIN_DIR", "addin_dir", "private_dir", "private_file"]

DEFAULT_PORT = 47811
#: what the server remembers between runs (``sheetdl serve --allow-images``)
SETTINGS_FILE = "server.json"


def addin_dir() -> Path:
    """The add-in's web files (manifest, task pane, icons): package data in ``sheetdl/data/addin/``,
    the same in a checkout, an editable install and an installed wheel."""
    return Path(str(files("sheetdl") / "data" / "addin"))


ADDIN_DIR = addin_dir()


@dataclass(kw_only=True)
class ServerConfig:
    home: Path = field(default_factory=sheetdl_home)
    #: where the models per workbook go: the platform's data folder when ``home`` is the platform's
    #: config folder, else ``home`` itself (a folder of one's own holds everything)
    data: Path | None = None
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
    #: rows held in memory by all jobs not yet finished together (each job's own are capped by max_rows)
    max_rows_held: int = 2_000_000
    #: jobs still receiving rows at once, and jobs waiting their turn to run; more are refused (429)
    max_receiving_jobs: int = 8
    max_queued_jobs: int = 4
    #: seconds a job still receiving rows may go without a chunk (or without being started) before it
    #: expires and its rows are freed
    receiving_timeout: float = 300.0
    time_budget_limit: float = 24 * 3600.0
    token: str = ""
    #: folders whose pictures an image column may name (each kept as an absolute path); None: what
    #: ``sheetdl serve --allow-images`` last remembered (none at first). Relative paths in cells are
    #: looked up in the first folder.
    allowed_image_folders: list[Path] | None = None

    def __post_init__(self) -> None:
        self.home = Path(self.home)
        if self.data is None:
            self.data = data_dir() if self.home == config_dir() else self.home
        self.data = Path(self.data)
        self.make_private()
        if not self.token:
            self.token = self.load_token()
        if self.allowed_image_folders is None:
            self.allowed_image_folders = self.remembered().get("allowed_image_folders", [])
        self.allowed_image_folders = [Path(os.path.abspath(Path(f).expanduser())) for f in self.allowed_image_folders]

    def make_private(self) -> None:
        """SheetDL's folder and what it holds (token, keys, models, cache) are the user's only: folders
        0700, files 0600, including ones an earlier SheetDL left readable by others."""
        private_dir(self.home)
        if self.data is not None and self.models_dir.is_dir():
            private_dir(self.data)
        if os.name != "posix":
            return
        for folder in (self.cert_dir, self.models_dir):  # the picture cache tightens itself as it writes
            if folder.is_dir() and not folder.is_symlink():
                for root, _dirs, files in os.walk(folder):
                    os.chmod(root, 0o700)
                    for name in files:
                        inner = os.path.join(root, name)
                        if not os.path.islink(inner):
                            os.chmod(inner, 0o600)
        for kept in self.home.iterdir():
            if kept.is_file() and not kept.is_symlink():
                os.chmod(kept, 0o600)

    # ---- places ----------------------------------------------------------------------------
    @property
    def cert_dir(self) -> Path:
        return self.home / "certs"

    @property
    def models_dir(self) -> Path:
        return (self.data or self.home) / "models"

    @property
    def token_file(self) -> Path:
        return self.home / "token"

    @property
    def settings_file(self) -> Path:
        return self.home / SETTINGS_FILE

    @property
    def image_folder(self) -> Path | None:
        """Where a relative picture path starts: the first allowed folder."""
        return self.allowed_image_folders[0] if self.allowed_image_folders else None

    def remembered(self) -> dict:
        """The settings a previous ``sheetdl serve`` kept; {} when none (or unreadable: start afresh)."""
        try:
            data = json.loads(self.settings_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        folders = data.get("allowed_image_folders")
        if not isinstance(folders, list) or not all(isinstance(f, str) and f for f in folders):
            data.pop("allowed_image_folders", None)
        return data

    def remember(self) -> None:
        """Keep this run's picture folders for the next ``sheetdl serve``."""
        data = self.remembered()
        data["allowed_image_folders"] = [str(f) for f in self.allowed_image_folders or []]
        private_file(self.settings_file, json.dumps(data, indent=2))

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
        return self.new_token()

    def new_token(self) -> str:
        """Make and keep a fresh token (``sheetdl addin install`` rotates it: the old one stops working
        once the server restarts)."""
        self.token = secrets.token_urlsafe(32)
        private_file(self.token_file, self.token)
        return self.token
