"""A real server on loopback in a background thread, for tests and for trying the pane by hand."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from .config import ServerConfig

__all__ = ["free_port", "running_server"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(config: ServerConfig, timeout: float = 20.0):
    """Serve ``config`` over HTTPS until the block ends; yields the uvicorn Server (``.config.app``)."""
    import uvicorn

    from .app import uvicorn_config

    server = uvicorn.Server(uvicorn_config(config, log_level="error"))
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # not the main thread
    thread = threading.Thread(target=server.run, name="sheetdl-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the SheetDL test server did not start")
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
