"""The local server behind the Office.js add-in: jobs, progress, SheetEdits, the task pane.

Start it with ``sheetdl serve``; it listens on 127.0.0.1 only, over HTTPS with a local certificate.
"""

from .commands import add_parsers, cmd_addin, cmd_serve
from .config import DEFAULT_PORT, ServerConfig, sheetdl_home

__all__ = ["ServerConfig", "DEFAULT_PORT", "sheetdl_home", "create_app", "serve", "add_parsers", "cmd_serve",
           "cmd_addin"]

# FastAPI and the jobs (and through them the engine) load when the app is made, not when the command
# line reads its flags.


def create_app(config=None):
    from .app import create_app as _create

    return _create(config)


def serve(config) -> None:
    from .app import serve as _serve

    _serve(config)
