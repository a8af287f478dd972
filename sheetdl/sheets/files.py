"""Files on disk, safely: the atomic save's temporary files (and cleaning up after a run that was
killed), permissions like a normal save, and the lock file Excel keeps beside a workbook it has open.

Nothing here knows what a workbook holds; :mod:`.write` (workbooks) and the engine's model store use
it, and the command line (``excel_lock_file``, ``pid_alive``).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import time
from pathlib import Path

from ..errors import OutputError

__all__ = ["refuse_same_file", "remove_stale_temp_files", "temp_file", "save_synced", "set_mode", "fsync_dir",
           "pid_alive", "excel_lock_file", "STALE_TEMP_SECONDS"]


def refuse_same_file(src: Path, out: Path) -> None:
    same = False
    if out.exists():
        try:
            same = os.path.samefile(src, out)
        except OSError:
            same = False
    else:
        same = os.path.normcase(os.path.abspath(src)) == os.path.normcase(os.path.abspath(out))
    if same:
        raise OutputError(
            f"Won't write results over your workbook '{src.name}': SheetDL never changes the original.",
            hint="Give a different output name with --output.",
        )


#: a temporary result file: '.~Customers (SheetDL).4242.sheetdl-k3j2.tmp' (4242: the writing process)
TEMP_RE = re.compile(r"^\.~.*\.(\d+)\.sheetdl-[^.]*\.tmp$")
#: temporary files without a process number (model files) are stale after this many seconds
STALE_TEMP_SECONDS = 3600


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or we can't tell: leave its file alone
    return True


def remove_stale_temp_files(folder) -> list[str]:
    """Delete the temporary files an earlier run left behind when it was killed mid-write (kill -9,
    power cut): ours carry the writing process's number, and that process is gone. Returns their names."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        m = TEMP_RE.match(e.name)
        try:
            if m:
                stale = not pid_alive(int(m.group(1)))
            elif e.name.startswith(".sheetdl-") and e.name.endswith(".tmp"):
                stale = now - e.stat().st_mtime > STALE_TEMP_SECONDS
            else:
                continue
            if stale and e.is_file(follow_symlinks=False):
                os.unlink(e.path)
                removed.append(e.name)
        except OSError:
            continue
    return removed


def temp_file(folder: Path, out: Path) -> str:
    remove_stale_temp_files(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".~{out.stem[:40]}.{os.getpid()}.sheetdl-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise OutputError(
            f"Can't write to the folder '{folder}': it is read-only or you don't have permission ({e.strerror}).",
            hint="Choose a folder you can write to with --output.",
        ) from e
    os.close(fd)
    return tmp


def save_synced(wb, tmp: str) -> None:
    """Save ``wb`` (anything with ``save(file)``) to ``tmp`` and flush it to the disk."""
    _rewind_images(wb)
    with open(tmp, "wb") as f:
        wb.save(f)
        f.flush()
        os.fsync(f.fileno())


def _rewind_images(wb) -> None:
    """Give each picture of an openpyxl workbook its bytes afresh before a save.

    openpyxl reads a picture's bytes while saving and closes the file it read them from, so a second
    save of the same workbook (after ``on_lost`` added the "could not be carried over" lines) fails
    with "I/O operation on closed file". The bytes are taken once, before the first save, and each save
    gets a new in-memory file of them. The package writer (no ``worksheets``) has nothing to do."""
    for ws in getattr(wb, "worksheets", ()):
        for img in getattr(ws, "_images", ()):
            data = getattr(img, "_sheetdl_bytes", None)
            if data is None:
                data = img._data()  # noqa: SLF001 - what openpyxl itself calls on saving
                img._sheetdl_bytes = data
            img.ref = io.BytesIO(data)


def set_mode(tmp: str, out: Path) -> None:
    """mkstemp makes a private file; give the result the permissions a normal save would."""
    try:
        mode = os.stat(out).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.chmod(tmp, mode)
    except OSError:  # pragma: no cover - e.g. some network drives
        pass


def fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def excel_lock_file(path: Path) -> Path | None:
    """The owner file Excel keeps beside a workbook it has open ('~$Customers.xlsx'; Excel replaces
    the first two letters of longer names: '~$stomers.xlsx'), or None."""
    for name in (f"~${path.name}", f"~${path.name[2:]}"):
        lock = path.with_name(name)
        if len(name) > 2 + len(path.suffix) and lock.is_file():
            return lock
    return None
