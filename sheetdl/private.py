"""Folders and files only the user may read: SheetDL keeps the user's data (models, decoded pictures)
and secrets (the server's token and keys) in them. One helper for every stage that writes such things."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["private_dir", "private_file"]


def private_dir(path: Path, *, foreign_ok: bool = False) -> Path:
    """``path`` as a folder only the user can enter (0700 on POSIX), made if missing, tightened if it
    was made looser (an earlier SheetDL made 0755 folders). Folders above it that SheetDL makes are
    private too; ones that already exist are left as they are. ``foreign_ok``: a folder we may not
    tighten (a shared cache another account owns) is used as it is instead of raising."""
    path = Path(path)
    if not path.is_dir():
        if not path.parent.is_dir():
            private_dir(path.parent, foreign_ok=foreign_ok)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass
    if os.name == "posix" and path.stat().st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError:
            if not foreign_ok:
                raise
    return path


def private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by the user only (0600 on POSIX, also when the
    file was there before with looser permissions), in a private folder."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    if os.name == "posix":
        os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
