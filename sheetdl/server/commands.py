"""The ``serve`` and ``addin`` subcommands (wired into ``sheetdl.cli``)."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

from ..errors import SheetDLError
from .config import DEFAULT_PORT, ServerConfig

__all__ = ["add_parsers", "cmd_serve", "cmd_addin", "picture_folders"]


def add_parsers(sub) -> None:
    s = sub.add_parser("serve", help="run the local server the Excel add-in talks to (https://localhost only)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    s.add_argument("--allow-images", action="append", default=None, metavar="FOLDER",
                   help="a folder whose pictures an image column may name (repeat for more; relative paths "
                        "start in the first); remembered for the next `sheetdl serve`")
    s.add_argument("--forget-images", action="store_true",
                   help="forget the remembered picture folders: read no pictures")

    a = sub.add_parser("addin", help="install, remove or check the SheetDL tab in Excel")
    a.add_argument("action", choices=["install", "uninstall", "status"])
    a.add_argument("--port", type=int, default=None, help=f"the port `sheetdl serve` uses (default {DEFAULT_PORT})")
    a.add_argument("--yes", action="store_true", help="don't ask before changing anything")
    a.add_argument("--desktop", action="store_true",
                   help="the SheetDL tab for desktop Excel (Windows, macOS) through xlwings, instead of the "
                        "Office.js add-in: no server, works on the open workbook")


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
                raise SheetDLError(f"Port {args.port} on this computer is already in use "
                                   "(is SheetDL already running?).",
                                   hint="Stop the other program, or use another port: sheetdl serve --port 47812 "
                                        "(and `sheetdl addin install --port 47812`).") from None
            raise
    config = ServerConfig(port=args.port)
    picture_folders(config, getattr(args, "allow_images", None), getattr(args, "forget_images", False))
    ui.say(f"SheetDL server: https://localhost:{config.port}  (this computer only; Ctrl-C stops it)")
    ui.say(f"Task pane:      https://localhost:{config.port}/taskpane/taskpane.html")
    ui.say(f"Files:          {config.home}")
    if config.allowed_image_folders:
        ui.say("Pictures from:  " + "; ".join(str(f) for f in config.allowed_image_folders))
    else:
        ui.say("Pictures from:  no folder (to train on pictures: sheetdl serve --allow-images FOLDER)")
    serve(config)
    return 0


def picture_folders(config: ServerConfig, allow: list[str] | None, forget: bool) -> list[Path]:
    """Set (and remember) the folders the server may read pictures from; without flags, keep the
    remembered ones. A folder that does not exist is refused, so a typo can't silently allow nothing."""
    if allow and forget:
        raise SheetDLError("--allow-images and --forget-images can't be used together.",
                           hint="Use --forget-images alone to read no pictures, or --allow-images FOLDER to "
                                "choose the folders.")
    if forget:
        config.allowed_image_folders = []
        config.remember()
    elif allow:
        folders: list[Path] = []
        for raw in allow:
            folder = Path(raw).expanduser()
            if not folder.is_dir():
                raise SheetDLError(f"There is no folder '{raw}' on this computer to read pictures from.",
                                   hint="Check the folder's spelling, or give the whole path of the folder that "
                                        "holds the pictures (in quotes if it has spaces).")
            folder = Path(os.path.abspath(folder))
            if folder == Path(folder.anchor):
                raise SheetDLError(f"'{raw}' is a whole drive: any workbook could then make SheetDL read any "
                                   "picture on it.", hint="Give the folder that holds the pictures you train on.")
            if folder not in folders:
                folders.append(folder)
        config.allowed_image_folders = folders
        config.remember()
    return list(config.allowed_image_folders or [])


def cmd_addin(args: argparse.Namespace, ui) -> int:
    if getattr(args, "desktop", False):
        return _desktop_addin(args, ui)
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


def _desktop_addin(args: argparse.Namespace, ui) -> int:
    """``sheetdl addin install|uninstall|status --desktop``: the xlwings add-ins in Excel's startup folder."""
    from ..desktop import BUTTONS, UNBLOCK_STEPS, install_desktop, uninstall_desktop

    if args.action == "status":
        from ..desktop import desktop_home

        modules = desktop_home() / "python"
        found = [b.module for b in BUTTONS if (modules / f"{b.module}.py").is_file()]
        print(f"SheetDL tab for desktop Excel: {'installed' if found else 'not installed'}"
              + (f" ({', '.join(found)})" if found else ""))
        return 0
    if args.action == "install" and not args.yes:
        ui.say("This puts four small add-ins (SheetDL.xlam and the Predict, Explain and Templates buttons) into "
               "Excel's startup folder, set to run this Python, and writes the modules they call into SheetDL's "
               "folder.")
        if input("Go ahead? [y/N] ").strip().lower() not in ("y", "yes"):
            ui.say("Nothing was changed.")
            return 0
    lines = install_desktop() if args.action == "install" else uninstall_desktop()
    for line in lines:
        ui.say(line)
    if args.action == "install" and sys.platform == "win32":
        for line in UNBLOCK_STEPS:
            ui.say(line)
    return 0
