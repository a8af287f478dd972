"""The ``serve`` and ``addin`` subcommands (wired into ``sheetdl.cli``)."""

from __future__ import annotations

import argparse
import errno
import socket

from ..errors import SheetDLError
from .config import DEFAULT_PORT, ServerConfig

__all__ = ["add_parsers", "cmd_serve", "cmd_addin"]


def add_parsers(sub) -> None:
    s = sub.add_parser("serve", help="run the local server the Excel add-in talks to (https://localhost only)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")

    a = sub.add_parser("addin", help="install, remove or check the SheetDL tab in Excel")
    a.add_argument("action", choices=["install", "uninstall", "status"])
    a.add_argument("--port", type=int, default=None, help=f"the port `sheetdl serve` uses (default {DEFAULT_PORT})")
    a.add_argument("--yes", action="store_true", help="don't ask before changing anything")


def _check_port(port: int) -> None:
    if not 1024 <= port <= 65535:
        raise SheetDLError(f"The port {port} can't be used.", hint="Choose a port between 1024 and 65535.")


def cmd_serve(args: argparse.Namespace, ui) -> int:
    from .app import serve

    _check_port(args.port)
    with socket.socket() as s:  # a clear message instead of uvicorn's traceback
        try:
            s.bind(("127.0.0.1", args.port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES, getattr(errno, "WSAEADDRINUSE", -1)):
                raise SheetDLError(f"Port {args.port} on this computer is already in use (is SheetDL already running?).",
                                   hint="Stop the other program, or use another port: sheetdl serve --port 47812 "
                                        "(and `sheetdl addin install --port 47812`).") from None
            raise
    config = ServerConfig(port=args.port)
    ui.say(f"SheetDL server: https://localhost:{config.port}  (this computer only; Ctrl-C stops it)")
    ui.say(f"Task pane:      https://localhost:{config.port}/taskpane/taskpane.html")
    ui.say(f"Files:          {config.home}")
    serve(config)
    return 0


def cmd_addin(args: argparse.Namespace, ui) -> int:
    from . import addin

    config = ServerConfig(port=args.port or _installed_port() or DEFAULT_PORT)
    _check_port(config.port)
    if args.action == "install":
        addin.install(config, yes=args.yes)
    elif args.action == "uninstall":
        addin.uninstall(config, yes=args.yes)
    else:
        for line in addin.status(config):
            print(line)
    return 0


def _installed_port() -> int | None:
    import json

    from .config import sheetdl_home

    try:
        return int(json.loads((sheetdl_home() / "addin.json").read_text(encoding="utf-8"))["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
