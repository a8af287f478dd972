"""Reading the pictures a sheet names into square RGB arrays, without ever failing the whole column.

A picture column is written by people, not programs: paths come quoted, with Windows backslashes,
relative to wherever the workbook lives, and some point at files that are gone, renamed, half-copied or
not pictures at all. Every such cell becomes one :class:`ImageProblem` in plain words; the rest load.
Decoding runs on a few threads because Pillow releases the GIL while it decodes and resizes.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..cpus import available_cpus as _cpu_count
from ..errors import DataError

if TYPE_CHECKING:
    from .cache import ImageCache

__all__ = [
    "PRETRAINED_SIZE",
    "SCRATCH_SIZE",
    "MAX_PIXELS",
    "ProblemKind",
    "ImageProblem",
    "ImageLoadError",
    "resolve_path",
    "PICTURE_EXTENSIONS",
    "picture_path",
    "may_read_picture",
    "open_picture",
    "cached_picture",
    "load_image",
    "load_column",
    "thumbnail_png",
]

#: what a picture file is called (the schema's IMAGE_EXTENSIONS, which a test keeps equal)
PICTURE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

#: pixels a side the pretrained backbone sees
PRETRAINED_SIZE = 224
#: pixels a side the from-scratch CNN sees (it trains on the CPU, so small)
SCRATCH_SIZE = 32
#: pictures with more pixels than this are refused before decoding: a small file can declare a huge
#: canvas and exhaust memory. Pillow's own default, kept here so SheetDL never has to change Pillow's
#: global ``Image.MAX_IMAGE_PIXELS`` (other code in the process relies on it). Tests lower it.
MAX_PIXELS = 89_478_485
#: what Pillow may take a file for. Restricting it keeps a renamed EPS (which Pillow hands to
#: Ghostscript) or other exotic formats from being parsed at all. (Phone JPEGs that Pillow calls MPO
#: come through "JPEG".)
FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "TIFF", "WEBP")
#: downscaling filter: Lanczos keeps fine detail that bilinear smears
RESAMPLE = Image.Resampling.LANCZOS
#: shrink by whole factors first when a picture is this many times the target (fast, and Pillow's docs
#: show the result is indistinguishable from a single Lanczos pass at 3)
REDUCING_GAP = 3.0
#: where a transparent pixel shows through
BACKGROUND = (255, 255, 255)
#: most threads used to decode a column; more only fight over memory bandwidth
MAX_WORKERS = 8
#: files queued per thread at once, so memory stays bounded on a 50,000-row column
QUEUE_PER_WORKER = 4
#: seconds between progress calls
PROGRESS_EVERY_S = 0.2

ProblemKind = Literal["missing", "unreadable", "not an image", "too large", "not allowed"]

_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u201d": "\u201d", "\u2018": "\u2019", "\u2019": "\u2019"}
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\|//)")
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_WITH_ALPHA = ("RGBA", "LA", "PA")
_FORMAT_NAMES = "PNG, JPEG, BMP, GIF, TIFF or WebP"
# Pillow reports a picture over its own limit with a warning; turning that into an error needs a
# warnings filter, which is process-wide in Python 3.11, so only one thread opens files under one at a time.
_OPEN_LOCK = threading.Lock()


@dataclass
class ImageProblem:
    """One cell whose picture could not be used, said so a person can fix it."""

    row: int  # 0-based position in the values given
    path: str  # the cell as written
    kind: ProblemKind
    message: str  # names the file and says what to do


class ImageLoadError(DataError):
    """A picture file that can't be used; ``kind`` sorts it, ``message`` explains it."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind: ProblemKind = kind
        self.no_file = False  # nothing at that path (so the column can say where it looked)


# -- paths ----------------------------------------------------------------------------------------


def _clean(cell: str) -> str:
    """The cell without the spaces and quotes that Excel users add around paths ("Copy as path")."""
    text = str(cell).strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
        text = text[1:-1].strip()
    return text


def _from_uri(text: str) -> str:
    """``file:///C:/a%20b.png`` → ``C:/a b.png``; ``file://server/share/x`` → ``//server/share/x``."""
    parts = urlsplit(text)
    path = unquote(parts.path)
    if parts.netloc and parts.netloc.lower() != "localhost":
        return f"//{parts.netloc}{path}"
    if re.match(r"^/[A-Za-z]:[/\\]", path):
        return path[1:]
    return path


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long, or with a NUL in it
        return False


def _resolve(cell: str, base_dir: Path | None) -> tuple[Path, bool, bool]:
    """(path, written relative?, a Windows absolute path on a computer that can't open one?)."""
    text = _clean(cell)
    if not text:
        raise ValueError("a blank cell names no picture")
    if text[:5].lower() == "file:":
        text = _from_uri(text)
    base = Path(base_dir).expanduser() if base_dir is not None else Path.cwd()
    if os.sep == "/":
        if _WINDOWS_ABSOLUTE.match(text):
            # C:\photos\a.jpg or \\server\share\a.jpg: no such place here, and never looked for elsewhere
            return Path(text.replace("\\", "/")), False, True
        if "\\" in text and not _exists(base / text):
            # a path typed on Windows (photos\cat 1.jpg); a real backslash in a POSIX name is rare
            text = text.replace("\\", "/")
    if text.startswith("~"):
        return Path(os.path.expanduser(text)).absolute(), False, False
    path = Path(text)
    if path.is_absolute():
        return path, False, False
    return (base / path).absolute(), True, False


def resolve_path(cell: str, base_dir: Path | None) -> Path:
    """The file a cell names, as an absolute path.

    Relative paths are read from the workbook's folder ``base_dir`` and nowhere else (the current folder
    when the workbook has none, e.g. a DataFrame given from Python), so a picture can't silently come
    from an unrelated folder. Spaces and quotes around the path, ``file://`` addresses, ``~`` and Windows
    backslashes (also on macOS/Linux) are understood. A Windows drive or network path (``C:\\x.png``,
    ``\\\\server\\x.png``) read on macOS/Linux comes back as it is, not absolute there: it can't be opened.
    """
    return _resolve(cell, base_dir)[0]


# -- which files may be read ----------------------------------------------------------------------


def _roots(allowed: Sequence[Path]) -> list[str]:
    out = []
    for folder in allowed:
        try:
            out.append(os.path.normcase(os.path.realpath(Path(folder).expanduser())))
        except (OSError, ValueError):
            continue
    return out


def _inside(real: str, roots: Sequence[str]) -> bool:
    real = os.path.normcase(real)
    return any(real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _not_allowed(shown, allowed: Sequence[Path], why: str = "") -> ImageLoadError:
    where = ", ".join(str(f) for f in allowed) or "none are set"
    return ImageLoadError("not allowed", why or (
        f"{shown} is outside the folders SheetDL may read pictures from ({where}). Move the picture into "
        "one of them and write its path relative to the workbook."))


def picture_path(cell: str, base_dir: Path | None, allowed: Sequence[Path] | None) -> Path:
    """The one decision on which file a picture cell may make SheetDL read.

    The cell is resolved as :func:`resolve_path` reads it (quotes, ``file:`` addresses with any ``?`` or
    ``#`` part dropped, ``~``, backslashes, ``..``), then links are followed; with ``allowed`` (None: no
    limit, the command line), the real file must lie inside one of those folders (an empty list allows
    nothing). Either way it must be called like a picture (:data:`PICTURE_EXTENSIONS`) once resolved, so
    ``file:///x/private.dat?.png`` or a link named ``x.png`` to another kind of file is refused. Returns
    the resolved path; raises :class:`ImageLoadError` ("missing" for a path this computer can't use,
    "not an image", "not allowed"). The check is repeated on the opened file by :func:`open_picture`, so
    a link swapped after this answer can't lead elsewhere.
    """
    try:
        path, _, foreign = _resolve(cell, base_dir)
        if foreign:
            raise ValueError("a Windows path")
        real = os.path.realpath(path)
    except (OSError, ValueError, RuntimeError) as e:
        raise ImageLoadError("missing",
                             f"{_clean(str(cell))!r} is not a file path this computer can use ({e}).") from None
    if not real.casefold().endswith(PICTURE_EXTENSIONS):
        raise ImageLoadError("not an image", f"{_clean(str(cell))} does not name a picture file "
                             f"({', '.join(e.lstrip('.') for e in PICTURE_EXTENSIONS)}).")
    if allowed is not None and not _inside(real, _roots(allowed)):
        raise _not_allowed(real, allowed)
    return path


def may_read_picture(cell: str, base_dir: Path | None, allowed: Sequence[Path] | None) -> bool:
    """Whether :func:`picture_path` lets ``cell`` be read."""
    try:
        picture_path(cell, base_dir, allowed)
    except ImageLoadError:
        return False
    return True


def _opened_real_path(fd: int, path: Path) -> str | None:
    """The real path of the file open as ``fd``: where the system says (Linux), else the resolved path
    when it is that very file (same device and inode), else None."""
    proc = f"/proc/self/fd/{fd}"
    try:
        return os.readlink(proc)
    except OSError:
        pass
    try:
        real = os.path.realpath(path)
        st, now = os.fstat(fd), os.stat(real)
    except (OSError, ValueError):
        return None
    return real if (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino) else None


def open_picture(path: Path, allowed: Sequence[Path] | None = None) -> IO[bytes]:
    """Open ``path`` for reading, then check the file actually opened: a regular file, called like a
    picture and (with ``allowed``) inside those folders by its real path, so a link swapped between a
    check and the open can't make SheetDL read anything else. Raises OSError as ``open`` does, and
    :class:`ImageLoadError` for a file it may not read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise IsADirectoryError(errno.EISDIR, "a folder", str(path))
            raise ImageLoadError("not an image", f"{path} is not a picture file.")
        if allowed is not None:
            real = _opened_real_path(fd, path)
            if real is None or not _inside(real, _roots(allowed)):
                raise _not_allowed(path, allowed)
            if not real.casefold().endswith(PICTURE_EXTENSIONS):
                raise ImageLoadError("not an image", f"{path} leads to a file that is not a picture.")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# -- one picture ----------------------------------------------------------------------------------


def _too_large(path: Path, pixels: int | None, size: tuple[int, int] | None = None) -> ImageLoadError:
    limit = MAX_PIXELS if Image.MAX_IMAGE_PIXELS is None else min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS)
    how_big = f"{pixels:,} pixels" if pixels else "too many pixels"
    if size:
        how_big = f"{size[0]:,} × {size[1]:,} = {how_big}"
    return ImageLoadError(
        "too large",
        f"{path} is too large to read safely: {how_big}, more than the {limit:,} SheetDL accepts "
        "(a guard against files made to exhaust memory). Save a smaller copy (a few thousand pixels a "
        "side is plenty) and point the cell at it.",
    )


def _unreadable(path: Path, error: BaseException) -> ImageLoadError:
    detail = str(error).strip() or type(error).__name__
    return ImageLoadError(
        "unreadable",
        f"{path} could not be read: the file looks damaged or cut short ({detail}). Open it in an image "
        "viewer and save it again, or copy it again from where it came from.",
    )


def _open(path: Path, allowed: Sequence[Path] | None = None) -> Image.Image:
    """Open the file lazily (header only), refusing what isn't a picture or is too large to decode;
    with ``allowed``, the opened file must be inside those folders (:func:`open_picture`). The image
    owns the file: closing it closes the file."""
    if "\0" in str(path):
        raise ImageLoadError(
            "missing", f"{str(path)!r} can't be a file name: it holds an invisible NUL character. Retype the path."
        )
    try:
        fp = open_picture(path, allowed)
        try:
            with _OPEN_LOCK, warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im = Image.open(fp, formats=FORMATS)
            im._exclusive_fp = True  # im.close() closes fp too, as when Pillow opens the path itself
        except BaseException:
            fp.close()
            raise
    except ImageLoadError:
        raise
    except FileNotFoundError:
        error = ImageLoadError(
            "missing", f"no picture at {path}. Check the path in the cell (spelling and extension)."
        )
        error.no_file = True
        raise error from None
    except (IsADirectoryError, PermissionError) as e:
        if path.is_dir():
            raise ImageLoadError(
                "not an image", f"{path} is a folder, not a picture. Name a picture file inside it."
            ) from None
        raise ImageLoadError(
            "unreadable",
            f"{path} could not be opened: this computer's permissions don't let SheetDL read it "
            f"({e.strerror or e}). Allow reading it, or copy it somewhere you own.",
        ) from None
    except UnidentifiedImageError:
        raise ImageLoadError(
            "not an image",
            f"{path} is not a picture SheetDL can read: inside it is not a {_FORMAT_NAMES} image, "
            "whatever its name says. Replace it with the picture, or clear the cell.",
        ) from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        found = _BOMB_PIXELS.search(str(e))
        raise _too_large(path, int(found.group(1)) if found else None) from None
    except OSError as e:  # after UnidentifiedImageError, which is one
        if e.errno != errno.ENAMETOOLONG:
            raise _unreadable(path, e) from None
        raise ImageLoadError(
            "missing", f"{path} is too long a path for this computer. Shorten the folder or file names."
        ) from None
    except Exception as e:  # noqa: BLE001 - Pillow's plugins raise many kinds for a broken header
        raise _unreadable(path, e) from None
    width, height = im.size
    if width * height > MAX_PIXELS:
        im.close()
        raise _too_large(path, width * height, (width, height))
    return im


def _upright(im: Image.Image) -> Image.Image:
    """Turn the picture the way the camera said it was held; a broken EXIF block leaves it as stored."""
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception:  # noqa: BLE001 - a damaged orientation tag must not cost the picture
        pass
    return im


def _sixteen_bit_to_8(im: Image.Image) -> Image.Image:
    """Greyscale with more than 8 bits, scaled rather than clipped (Pillow's convert clips to 255).

    16-bit files use the full 0–65535 range; 32-bit integer and float pictures have no fixed range, so
    they are kept as they are when already 0–255, treated as 16-bit when within 0–65535, else stretched.
    """
    values = np.asarray(im)
    if im.mode in _SIXTEEN_BIT:
        eight = (values.astype(np.uint32) + 128) // 257
    else:
        values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if low >= 0 and high <= 255:
            eight = np.rint(values)
        elif low >= 0 and high <= 65535:
            eight = np.rint(values / 257)
        else:
            eight = np.rint((values - low) * (255 / (high - low)))
    return Image.fromarray(np.clip(eight, 0, 255).astype(np.uint8), "L")


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB for every mode: transparency shows the white background, 16-bit greyscale is scaled."""
    if im.mode == "RGB" and "transparency" not in im.info:
        return im
    if im.mode in _SIXTEEN_BIT or im.mode in ("I", "F"):
        return _sixteen_bit_to_8(im).convert("RGB")
    if im.mode in ("RGBa", "La"):
        # premultiplied alpha: over white is colour + (255 - alpha); Pillow can't convert La at all
        values = np.asarray(im).astype(np.uint16)
        over_white = np.minimum(values[..., :-1] + (255 - values[..., -1:]), 255).astype(np.uint8)
        return Image.fromarray(over_white[..., [0, 0, 0]] if im.mode == "La" else over_white, "RGB")
    if im.mode in _WITH_ALPHA or "transparency" in im.info:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def _square(im: Image.Image, size: int) -> np.ndarray:
    """Shorter side to ``size``, centre square kept: one resample of just the part that is kept."""
    width, height = im.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    out = im.resize(
        (size, size), RESAMPLE, box=(left, top, left + side, top + side), reducing_gap=REDUCING_GAP
    )
    return np.array(out, dtype=np.uint8).reshape(size, size, 3)


def _decode(im: Image.Image, path: Path, draft_px: int) -> Image.Image:
    """Decode the first frame, upright and RGB. JPEGs decode straight at a reduced scale (up to 8× less
    work) as long as the result still has at least ``draft_px`` pixels on each side."""
    try:
        if im.format in ("JPEG", "MPO"):
            im.draft("RGB", (draft_px, draft_px))
        im.seek(0)  # multi-frame GIF/TIFF: the first frame, which is what viewers show as the picture
        im.load()
        return _to_rgb(_upright(im))
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as e:
        found = _BOMB_PIXELS.search(str(e))
        raise _too_large(path, int(found.group(1)) if found else None) from None
    except MemoryError:
        raise _too_large(path, im.size[0] * im.size[1], im.size) from None
    except Exception as e:  # noqa: BLE001 - corrupt data surfaces as OSError, SyntaxError, ValueError…
        raise _unreadable(path, e) from None


def load_image(path: Path, size: int, *, allowed: Sequence[Path] | None = None) -> np.ndarray:
    """The picture at ``path`` as a (size, size, 3) uint8 RGB array, upright and centre-cropped.

    Raises :class:`ImageLoadError` ("missing", "not an image", "unreadable", "too large") for a file that
    can't be used; its message names the file and says what to do.
    """
    path = Path(path)
    im = _open(path, allowed)
    try:
        picture = _decode(im, path, size)
        try:
            return _square(picture, size)
        except Exception as e:  # noqa: BLE001
            raise _unreadable(path, e) from None
    finally:
        im.close()


def thumbnail_png(path: Path, max_px: int = 96, *, allowed: Sequence[Path] | None = None) -> bytes:
    """A small PNG of the picture (longer side ``max_px``, upright, transparency on white) for the workbook.

    Raises :class:`ImageLoadError` like :func:`load_image`.
    """
    path = Path(path)
    im = _open(path, allowed)
    try:
        picture = _decode(im, path, max_px)
        try:
            picture.thumbnail((max_px, max_px), RESAMPLE, reducing_gap=REDUCING_GAP)
            buffer = io.BytesIO()
            picture.save(buffer, "PNG", optimize=True)
        except Exception as e:  # noqa: BLE001
            raise _unreadable(path, e) from None
        return buffer.getvalue()
    finally:
        im.close()


# -- a column -------------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    """The cell as text, or None for a blank (None, "", NaN, quotes around nothing)."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    text = str(value)
    return text if _clean(text) else None


def _cached(path: Path, size: int, cache: ImageCache,
            allowed: Sequence[Path] | None = None) -> tuple[np.ndarray | None, str | None]:
    """(the cached pixels or None, the key to store under or None). The key is taken before any
    decoding: a file changed meanwhile is then stored under its old identity, which no later lookup
    asks for, rather than its old contents under its new identity. With ``allowed``, the key is that
    of the file opened and checked by :func:`open_picture`, so no cached copy of another file answers."""
    try:
        key = cache.key(path, size, "pixels") if allowed is None else _checked_key(path, size, "pixels", cache, allowed)
        if key is None:
            return None, None
        cached = cache.load(key)
    except Exception:  # noqa: BLE001 - the cache is best effort
        return None, None
    if cached is not None and cached.shape == (size, size, 3) and cached.dtype == np.uint8:
        return cached, key
    return None, key


def _checked_key(path: Path, size: int, variant: str, cache: ImageCache, allowed: Sequence[Path]) -> str | None:
    """The cache key of the file ``path`` leads to, taken from the opened and checked file; None when
    it may not be read (the decoding then says why)."""
    try:
        with open_picture(path, allowed) as fp:
            real = _opened_real_path(fp.fileno(), path)
            return None if real is None else cache.key_for(Path(real), os.fstat(fp.fileno()), size, variant)
    except (OSError, ValueError, ImageLoadError):
        return None


def cached_picture(cell: str, base_dir: Path | None, allowed: Sequence[Path] | None, size: int, variant: str,
                   cache: ImageCache) -> np.ndarray | None:
    """What ``cache`` keeps under ``variant`` for the picture ``cell`` names, if it may be read
    (:func:`picture_path`, checked again on the opened file); None otherwise."""
    try:
        path = picture_path(cell, base_dir, allowed) if allowed is not None else resolve_path(cell, base_dir)
        key = cache.key(path, size, variant) if allowed is None else _checked_key(path, size, variant, cache, allowed)
        return None if key is None else cache.load(key)
    except Exception:  # noqa: BLE001 - the cache is best effort; reading the picture says what is wrong
        return None


def _decode_one(path: Path, size: int, cache: ImageCache | None, key: str | None,
                allowed: Sequence[Path] | None = None) -> np.ndarray:
    """Decode one file and keep it in the cache; any failure becomes an ImageLoadError."""
    try:
        pixels = load_image(path, size, allowed=allowed)
        if cache is not None and key is not None:
            try:
                cache.store(key, pixels)
            except Exception:  # noqa: BLE001 - the cache is best effort
                pass
        return pixels
    except ImageLoadError:
        raise
    except MemoryError:
        raise _too_large(path, None) from None
    except Exception as e:  # noqa: BLE001 - never let one file stop a column
        raise _unreadable(path, e) from None


def _explain_missing(path: Path, relative: bool, base_dir: Path | None) -> str:
    """Where we looked, so "missing" can be fixed without guessing."""
    if not relative:
        return (
            f"no picture at {path}. Check the path in the cell (spelling and extension), and that its "
            "drive or folder is there on this computer."
        )
    if base_dir is None:
        return (
            f"no picture at {path}: a relative path is read from the current folder ({Path.cwd()}) when "
            "the workbook's folder isn't known. Use a full path, or save the workbook next to the pictures."
        )
    return (
        f"no picture at {path}: relative paths are read from the workbook's folder "
        f"({Path(base_dir).expanduser().absolute()}) and nowhere else. Check the spelling and extension "
        "in the cell, or move the picture into that folder."
    )


def load_column(
    values: Sequence[str | None],
    base_dir: Path | None,
    size: int,
    *,
    cache: ImageCache | None = None,
    allowed: Sequence[Path] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[ImageProblem]]:
    """Load every picture a column names: (pixels (n, size, size, 3) uint8, ok (n,) bool, problems).

    Pixels are zeros where ``ok`` is False. Blank cells are not ok and not a problem (a missing value,
    like a blank number); every other cell that can't be loaded is one :class:`ImageProblem`. With
    ``allowed``, a file outside every allowed folder (after following symlinks and ``..``) is never
    opened, so a workbook sent to a server can't read the server's files; an empty list allows nothing.
    ``progress(done, total)`` counts distinct files; it may raise (e.g. to cancel), which stops the column.
    """
    jobs, problems = _files_named(values, base_dir, allowed)
    column = _ColumnLoad(len(values), size, jobs, problems, base_dir, progress, allowed)
    column.decode(column.from_cache(cache), cache)
    problems.sort(key=lambda problem: problem.row)
    return column.pixels, column.ok, problems


#: the rows that name one file: (row, the cell as written, whether its path was relative)
_Rows = list[tuple[int, str, bool]]


def _files_named(values: Sequence[str | None], base_dir: Path | None,
                 allowed: Sequence[Path] | None) -> tuple[dict[Path, _Rows], list[ImageProblem]]:
    """Each distinct file the cells name, with the rows (and how they wrote it) that name it; and a
    problem for each cell that names no file this computer may open."""
    problems: list[ImageProblem] = []
    jobs: dict[Path, _Rows] = {}
    for row, value in enumerate(values):
        cell = _cell_text(value)
        if cell is None:
            continue
        try:
            path, relative, foreign = _resolve(cell, base_dir)
        except (OSError, ValueError, RuntimeError) as e:  # e.g. a NUL character, or no current folder
            problems.append(ImageProblem(row, cell, "missing", (
                f"{_clean(cell)!r} is not a file path this computer can use ({e}). Write the picture's path "
                "relative to the workbook's folder, like photos/cat.jpg."
            )))
            continue
        if foreign:
            problems.append(ImageProblem(row, cell, "missing", (
                f"{_clean(cell)} is a Windows path, which can't be opened on this computer. Put the "
                "pictures in a folder beside the workbook and write paths relative to it, like photos/cat.jpg."
            )))
            continue
        if allowed is not None:  # the one decision (picture_path); opening checks the opened file again
            try:
                path = picture_path(cell, base_dir, allowed)
            except ImageLoadError as e:
                problems.append(ImageProblem(row, cell, e.kind, e.message))
                continue
        jobs.setdefault(path, []).append((row, cell, relative))
    return jobs, problems


class _ColumnLoad:
    """A column being loaded: its pixels and problems so far, and the progress told."""

    def __init__(self, n: int, size: int, jobs: dict[Path, _Rows], problems: list[ImageProblem],
                 base_dir: Path | None, progress: Callable[[int, int], None] | None,
                 allowed: Sequence[Path] | None = None) -> None:
        self.pixels = np.zeros((n, size, size, 3), dtype=np.uint8)
        self.ok = np.zeros(n, dtype=bool)
        self.size, self.jobs, self.problems, self.base_dir, self.progress = size, jobs, problems, base_dir, progress
        self.allowed = allowed  # checked again on each file as it is opened
        self.keys: dict[Path, str | None] = {}  # each file's cache key
        self.total = len(jobs)
        self.done = 0
        self.last_report = time.monotonic()
        if progress is not None:
            progress(0, self.total)

    def finish(self, path: Path, result: np.ndarray | ImageLoadError) -> None:
        for row, cell, relative in self.jobs[path]:
            if isinstance(result, ImageLoadError):
                message = result.message
                if result.no_file:
                    message = _explain_missing(path, relative, self.base_dir)
                self.problems.append(ImageProblem(row, cell, result.kind, message))
            else:
                self.pixels[row] = result
                self.ok[row] = True

    def report(self) -> None:
        if self.progress is not None and (self.done == self.total
                                          or time.monotonic() - self.last_report >= PROGRESS_EVERY_S):
            self.last_report = time.monotonic()
            self.progress(self.done, self.total)

    def from_cache(self, cache: ImageCache | None) -> list[Path]:
        """The files the cache has, finished here (reading a few hundred kilobytes is quicker than
        handing it to a thread); returns the others."""
        to_decode: list[Path] = []
        for path in self.jobs:
            cached, self.keys[path] = (_cached(path, self.size, cache, self.allowed) if cache is not None
                                       else (None, None))
            if cached is None:
                to_decode.append(path)
                continue
            self.finish(path, cached)
            self.done += 1
            self.report()
        return to_decode

    def _attempt(self, path: Path, cache: ImageCache | None) -> np.ndarray | ImageLoadError:
        try:
            return _decode_one(path, self.size, cache, self.keys[path], self.allowed)
        except ImageLoadError as e:
            return e

    def decode(self, to_decode: list[Path], cache: ImageCache | None) -> None:
        """Decode the files, on a few threads when there are several."""
        workers = max(1, min(_cpu_count(), MAX_WORKERS, len(to_decode)))
        if workers == 1:
            for path in to_decode:
                self.finish(path, self._attempt(path, cache))
                self.done += 1
                self.report()
            return
        queue = iter(to_decode)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sheetdl-images") as pool:
            running: dict[Future, Path] = {}
            try:
                for path in queue:
                    running[pool.submit(self._attempt, path, cache)] = path
                    if len(running) >= workers * QUEUE_PER_WORKER:
                        break
                while running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        self.finish(running.pop(future), future.result())
                        self.done += 1
                        next_path = next(queue, None)
                        if next_path is not None:
                            running[pool.submit(self._attempt, next_path, cache)] = next_path
                    self.report()
            except BaseException:
                for future in running:
                    future.cancel()
                raise
