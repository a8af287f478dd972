"""Decoded pictures kept on disk, so training again on the same workbook skips the decoding.

Decoding and resizing a photo costs milliseconds; reading back its few hundred kilobytes of pixels
costs far less. The cache is a convenience only: a folder that can't be written, a damaged or
half-written file, a full disk — each is just a miss, never an error in front of the user.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..folders import cache_dir
from ..private import private_dir

__all__ = ["ImageCache", "cache_dir", "images_cache_dir", "CACHE_VERSION", "DEFAULT_MAX_BYTES"]

#: part of every key: bump it when decoding changes (filter, crop, colour handling) so old arrays,
#: made the old way, are never mistaken for new ones
CACHE_VERSION = "1"
#: the cache trims itself, least recently used first, once it holds more than this (about 28,000
#: pictures at 224 pixels); None means never
DEFAULT_MAX_BYTES = 4 * 1024**3
#: trimming goes down to this share of the cap, so it doesn't run again at the very next write
PRUNE_TO = 0.9
#: hex characters of the key that name its subfolder: 256 folders keep each one small
SHARD_CHARS = 2
_ENTRY = re.compile(r"^[0-9a-f]{64}\.npy$")
_SHARD = re.compile(rf"^[0-9a-f]{{{SHARD_CHARS}}}$")
_TEMP = re.compile(r"^[0-9a-f]{8}.*\.tmp$")


def images_cache_dir() -> Path:
    """Where decoded pictures are kept: under $SHEETDL_CACHE if set, else under $SHEETDL_HOME (the
    server's or a test's own folder: nothing of the user's pictures lands in the real home), else the
    platform's cache folder."""
    home = os.environ.get("SHEETDL_HOME")
    if home and not os.environ.get("SHEETDL_CACHE"):
        return Path(home).expanduser() / "cache" / "images"
    return cache_dir() / "images"


class ImageCache:
    """Arrays made from picture files, on disk as ``.npy`` under ``root``, keyed by the file's identity.

    The key is the file's real path, modification time (ns), size and inode, plus the pixel size, the
    ``variant`` (what the array is: "pixels", features…) and :data:`CACHE_VERSION`; editing or replacing
    a picture therefore misses. Entries are written to a temporary file and renamed into place, so a
    reader never sees half an array, and several processes may share one cache.
    """

    def __init__(self, root: Path | None = None, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root).expanduser() if root is not None else images_cache_dir()
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._written = 0  # bytes stored since the last trim

    # -- by file ----------------------------------------------------------------------------------

    def get(self, path: Path, size: int, variant: str) -> np.ndarray | None:
        """The array stored for this file as it is now, or None."""
        key = self.key(path, size, variant)
        return None if key is None else self.load(key)

    def put(self, path: Path, size: int, variant: str, array: np.ndarray) -> None:
        """Store ``array`` for this file as it is now (best effort)."""
        key = self.key(path, size, variant)
        if key is not None:
            self.store(key, array)

    # -- by key: lets a caller take the key before decoding, so a file edited meanwhile isn't
    # -- stored under its new identity with its old contents

    def key(self, path: Path, size: int, variant: str) -> str | None:
        """The entry name for this file as it is now; None when the file can't be looked at."""
        try:
            real = Path(path).resolve()
            stat = real.stat()
        except (OSError, RuntimeError, ValueError):
            return None
        return self.key_for(real, stat, size, variant)

    @staticmethod
    def key_for(real, stat: os.stat_result, size: int, variant: str) -> str:
        """The entry name for the file whose real path is ``real`` and whose ``os.stat`` is ``stat``
        (the server takes both from the file it opened and checked, see images.open_picture)."""
        identity = b"\0".join([
            CACHE_VERSION.encode(), os.fsencode(real), str(stat.st_mtime_ns).encode(),
            str(stat.st_size).encode(), str(stat.st_ino).encode(), str(size).encode(), variant.encode(),
        ])
        return hashlib.sha256(identity).hexdigest()

    def load(self, key: str) -> np.ndarray | None:
        """The array under ``key``, or None (absent, unreadable or damaged, which is then removed)."""
        entry = self._entry(key)
        try:
            with open(entry, "rb") as file:
                array = np.load(file, allow_pickle=False)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - damaged, truncated, not ours, or unreadable: all a miss
            self._discard(entry)
            return None
        if not isinstance(array, np.ndarray):
            self._discard(entry)
            return None
        try:
            os.utime(entry)  # marks it recently used, for trimming
        except OSError:
            pass
        return array

    def store(self, key: str, array: np.ndarray) -> None:
        """Write ``array`` under ``key`` atomically; any failure leaves the cache as it was."""
        entry = self._entry(key)
        temp: str | None = None
        try:
            private_dir(self.root, foreign_ok=True)  # folders 0700; mkstemp makes the files 0600
            private_dir(entry.parent, foreign_ok=True)
            handle, temp = tempfile.mkstemp(dir=entry.parent, prefix=key[:8], suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                np.save(file, np.ascontiguousarray(array), allow_pickle=False)
            os.replace(temp, entry)
            temp = None
        except Exception:  # noqa: BLE001 - read-only folder, full disk, a file where a folder should be…
            return
        finally:
            if temp is not None:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
        if self.max_bytes is None:
            return
        with self._lock:
            self._written += array.nbytes
            due = self._written > self.max_bytes * (1 - PRUNE_TO)
            if due:
                self._written = 0
        if due:
            self.prune()

    # -- housekeeping -----------------------------------------------------------------------------

    def _entry(self, key: str) -> Path:
        return self.root / key[:SHARD_CHARS] / f"{key}.npy"

    @staticmethod
    def _discard(entry: Path) -> None:
        try:
            entry.unlink()
        except OSError:
            pass

    def _files(self) -> list[os.DirEntry]:
        """The cache's own files (entries and leftover temporaries); anything else in root is left alone."""
        found: list[os.DirEntry] = []
        try:
            shards = [d for d in os.scandir(self.root) if _SHARD.match(d.name) and d.is_dir(follow_symlinks=False)]
        except OSError:
            return found
        for shard in shards:
            try:
                found += [
                    f for f in os.scandir(shard.path)
                    if (_ENTRY.match(f.name) or _TEMP.match(f.name)) and f.is_file(follow_symlinks=False)
                ]
            except OSError:
                continue
        return found

    def size_bytes(self) -> int:
        """Bytes the cache's files take."""
        total = 0
        for f in self._files():
            try:
                total += f.stat(follow_symlinks=False).st_size
            except OSError:
                continue
        return total

    def prune(self, max_bytes: int | None = None) -> int:
        """Remove the least recently used entries until the cache is under ``PRUNE_TO`` of the cap;
        returns how many files went. A cap of None (and no ``max_bytes``) keeps everything."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        if cap is None:
            return 0
        files = []
        for f in self._files():
            try:
                stat = f.stat(follow_symlinks=False)
            except OSError:
                continue
            files.append((stat.st_mtime_ns, stat.st_size, f.path))
        total = sum(size for _, size, _ in files)
        if total <= cap:
            return 0
        removed = 0
        for _, size, name in sorted(files):
            if total <= cap * PRUNE_TO:
                break
            try:
                os.unlink(name)
            except OSError:
                continue
            total -= size
            removed += 1
        return removed

    def clear(self) -> int:
        """Remove every entry (only files the cache made, even if root holds other things); returns how
        many files went."""
        removed = 0
        for f in self._files():
            try:
                os.unlink(f.path)
                removed += 1
            except OSError:
                continue
        try:
            for shard in os.scandir(self.root):
                if _SHARD.match(shard.name) and shard.is_dir(follow_symlinks=False):
                    try:
                        os.rmdir(shard.path)  # only when empty
                    except OSError:
                        pass
        except OSError:
            pass
        return removed
