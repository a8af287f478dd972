"""Loading the pictures a sheet names: formats, colour modes, paths, bad files, folders, the cache.

Every picture is made here with Pillow, with colours chosen so a wrong rotation, a clipped 16-bit
value or a black (not white) transparent background gives a visibly different pixel.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sheetdl.images import (
    PRETRAINED_SIZE,
    ImageCache,
    ImageLoadError,
    cache_dir,
    load_column,
    load_image,
    resolve_path,
    thumbnail_png,
)
from sheetdl.images import load as load_module
from sheetdl.schema import IMAGE_EXTENSIONS

RED = (220, 30, 30)
GREEN = (30, 200, 60)
BLUE = (30, 40, 220)
WHITE = (255, 255, 255)
SIZE = 32
TOLERANCE = 30  # JPEG and WebP are lossy


def close(pixel, colour, tolerance: int = TOLERANCE) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, dtype=int) - np.asarray(colour, dtype=int)) <= tolerance))


def solid(path: Path, colour=GREEN, size=(48, 36), **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, **save)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A few-byte PNG that declares a huge 1-bit canvas: what a decompression bomb looks like up front."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture()
def decodes(monkeypatch):
    """Counts real decodes (calls of load_image made by load_column), by path."""
    calls: list[Path] = []
    real = load_module.load_image

    def counting(path, size, **kw):
        calls.append(Path(path))
        return real(path, size, **kw)

    monkeypatch.setattr(load_module, "load_image", counting)
    return calls


# -- formats and colour modes ---------------------------------------------------------------------


@pytest.mark.parametrize("ext", IMAGE_EXTENSIONS)
def test_every_picture_extension_loads(tmp_path, ext):
    path = solid(tmp_path / f"pic{ext}", GREEN, (64, 40))
    pixels = load_image(path, SIZE)
    assert pixels.shape == (SIZE, SIZE, 3) and pixels.dtype == np.uint8
    assert close(pixels[SIZE // 2, SIZE // 2], GREEN)
    assert close(pixels.reshape(-1, 3).mean(axis=0), GREEN)


@pytest.mark.parametrize("ext", [".gif", ".tif"])
def test_multi_frame_pictures_give_the_first_frame(tmp_path, ext):
    path = tmp_path / f"anim{ext}"
    frames = [Image.new("RGB", (40, 40), RED), Image.new("RGB", (40, 40), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with Image.open(path) as im:
        assert im.n_frames == 2
    assert close(load_image(path, SIZE)[5, 5], RED)


def test_exif_rotated_jpeg_ends_upright(tmp_path):
    # Stored landscape, left half red, right half blue; orientation 6 says "turn 90° clockwise to view",
    # which puts red on top. Read as stored, the top row would be red on the left and blue on the right.
    stored = Image.new("RGB", (120, 60), BLUE)
    stored.paste(RED, (0, 0, 60, 60))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    stored.save(path, exif=exif.tobytes(), quality=95)
    pixels = load_image(path, SIZE)
    for x in (2, SIZE - 3):
        assert close(pixels[2, x], RED), pixels[2, x]
        assert close(pixels[SIZE - 3, x], BLUE), pixels[SIZE - 3, x]
    thumb = Image.open(io.BytesIO(thumbnail_png(path)))
    assert thumb.height > thumb.width  # portrait once upright


def test_transparency_shows_white(tmp_path):
    im = Image.new("RGBA", (40, 40), (0, 0, 0, 0))  # fully transparent black
    im.paste((30, 40, 220, 255), (20, 0, 40, 40))  # right half opaque blue
    path = tmp_path / "logo.png"
    im.save(path)
    pixels = load_image(path, 40)
    assert close(pixels[20, 5], WHITE, 2)
    assert close(pixels[20, 35], BLUE, 2)

    grey = Image.new("LA", (20, 20), (0, 128))  # black at half opacity → mid grey on white
    grey.save(tmp_path / "grey.png")
    assert close(load_image(tmp_path / "grey.png", 20)[10, 10], (127, 127, 127), 3)


def test_palette_pictures_with_and_without_transparency(tmp_path):
    im = Image.new("P", (40, 40), 1)
    im.putpalette([0, 0, 0, *RED, *BLUE] + [0] * (253 * 3))
    im.paste(2, (20, 0, 40, 40))
    im.save(tmp_path / "plain.png")
    pixels = load_image(tmp_path / "plain.png", 40)
    assert close(pixels[20, 5], RED, 0) and close(pixels[20, 35], BLUE, 0)

    im.save(tmp_path / "clear.gif", transparency=1)  # red index transparent
    pixels = load_image(tmp_path / "clear.gif", 40)
    assert close(pixels[20, 5], WHITE, 0) and close(pixels[20, 35], BLUE, 0)


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    values = np.full((20, 40), 32896, dtype=np.uint16)  # mid grey in 16 bits
    values[:, 20:] = 65535
    im = Image.fromarray(values)
    assert im.mode.startswith("I;16")
    im.save(tmp_path / "scan.png")
    with Image.open(tmp_path / "scan.png") as reread:
        assert reread.mode.startswith("I")  # still more than 8 bits on the way in
    pixels = load_image(tmp_path / "scan.png", 20)  # the square is the middle 20×20: both halves
    assert close(pixels[10, 2], (128, 128, 128), 2)  # Pillow's own convert would give 255 here
    assert close(pixels[10, 17], WHITE, 2)


def test_cmyk_jpeg_comes_out_rgb(tmp_path):
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(tmp_path / "print.jpg")  # red ink
    with Image.open(tmp_path / "print.jpg") as im:
        assert im.mode == "CMYK"
    assert close(load_image(tmp_path / "print.jpg", SIZE)[16, 16], (255, 0, 0), TOLERANCE)


def test_greyscale_and_one_bit(tmp_path):
    Image.new("L", (30, 30), 90).save(tmp_path / "l.png")
    Image.new("1", (30, 30), 1).save(tmp_path / "one.bmp")
    assert close(load_image(tmp_path / "l.png", 8)[4, 4], (90, 90, 90), 1)
    assert close(load_image(tmp_path / "one.bmp", 8)[4, 4], WHITE, 0)


def test_resize_keeps_the_centre_square(tmp_path):
    im = Image.new("RGB", (300, 100), RED)
    im.paste(BLUE, (100, 0, 200, 100))  # the middle third
    im.save(tmp_path / "wide.png")
    pixels = load_image(tmp_path / "wide.png", 50)
    assert pixels.shape == (50, 50, 3)
    assert close(pixels[25, 1], BLUE, 10) and close(pixels[25, 48], BLUE, 10)
    small = solid(tmp_path / "tiny.png", GREEN, (10, 6))  # smaller than asked: scaled up
    assert load_image(small, 64).shape == (64, 64, 3)


def test_big_jpeg_decodes_at_reduced_scale(tmp_path, monkeypatch):
    solid(tmp_path / "big.jpg", GREEN, (1600, 1200))
    seen = []
    real = load_module._square
    monkeypatch.setattr(load_module, "_square", lambda im, size: (seen.append(im.size), real(im, size))[1])
    assert close(load_image(tmp_path / "big.jpg", 224)[100, 100], GREEN)
    assert seen == [(400, 300)]  # decoded at a quarter of the size, still ≥ 224 on the short side


def test_thumbnail_png_is_small_png(tmp_path):
    solid(tmp_path / "p.jpg", RED, (400, 200))
    data = thumbnail_png(tmp_path / "p.jpg", max_px=50)
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.size == (50, 25)
        assert close(thumb.convert("RGB").getpixel((25, 12)), RED)
    with pytest.raises(ImageLoadError) as info:
        thumbnail_png(tmp_path / "nope.jpg")
    assert info.value.kind == "missing"


# -- paths ----------------------------------------------------------------------------------------


@pytest.fixture()
def workbook_dir(tmp_path):
    folder = tmp_path / "book"
    solid(folder / "photos" / "cat 1.jpg", RED)
    return folder


@pytest.mark.parametrize(
    "cell",
    [
        "photos/cat 1.jpg",
        "  photos/cat 1.jpg  ",
        '"photos/cat 1.jpg"',
        "'photos/cat 1.jpg'",
        "\u201cphotos/cat 1.jpg\u201d",
        " \"photos/cat 1.jpg\" ",
        "photos\\cat 1.jpg",
        "./photos/../photos/cat 1.jpg",
    ],
)
def test_relative_paths_are_read_from_the_workbook_folder(workbook_dir, cell):
    path = resolve_path(cell, workbook_dir)
    assert path.is_absolute()
    assert path.resolve() == (workbook_dir / "photos" / "cat 1.jpg").resolve()


def test_absolute_uri_and_home_paths(workbook_dir, tmp_path, monkeypatch):
    target = (workbook_dir / "photos" / "cat 1.jpg").resolve()
    elsewhere = tmp_path / "elsewhere"
    assert resolve_path(str(target), elsewhere) == target
    assert resolve_path(target.as_uri(), elsewhere) == target  # file:///…/cat%201.jpg
    assert resolve_path(f"file://localhost{target.as_posix()}", elsewhere) == target
    monkeypatch.setenv("HOME", str(workbook_dir))
    monkeypatch.setenv("USERPROFILE", str(workbook_dir))
    assert resolve_path("~/photos/cat 1.jpg", elsewhere).resolve() == target
    values = [str(target), target.as_uri(), "~/photos/cat 1.jpg", "photos\\cat 1.jpg"]
    pixels, ok, problems = load_column(values, workbook_dir, SIZE)
    assert ok.all() and not problems
    assert all(close(p[16, 16], RED) for p in pixels)


def test_relative_paths_look_nowhere_but_the_workbook_folder(workbook_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(workbook_dir)  # the file is in the current folder, but that is not where we look
    other = tmp_path / "other"
    other.mkdir()
    _, ok, problems = load_column(["photos/cat 1.jpg"], other, SIZE)
    assert not ok[0]
    (problem,) = problems
    assert problem.kind == "missing" and problem.path == "photos/cat 1.jpg"
    assert str(other / "photos" / "cat 1.jpg") in problem.message
    assert f"workbook's folder ({other})" in problem.message


def test_without_a_workbook_folder_relative_means_current_folder(workbook_dir, monkeypatch):
    monkeypatch.chdir(workbook_dir)
    _, ok, _ = load_column(["photos/cat 1.jpg"], None, SIZE)
    assert ok[0]


@pytest.mark.skipif(os.sep != "/", reason="a drive letter path is openable on Windows")
@pytest.mark.parametrize("cell", ["C:\\photos\\cat 1.jpg", "\\\\server\\share\\cat.jpg", "file:///C:/photos/cat.jpg"])
def test_windows_absolute_paths_on_posix_are_explained(workbook_dir, cell, decodes):
    _, ok, problems = load_column([cell], workbook_dir, SIZE)
    assert not ok[0] and not decodes
    (problem,) = problems
    assert problem.kind == "missing" and "Windows path" in problem.message and "relative" in problem.message


def test_odd_cells_are_problems_not_crashes(tmp_path):
    values = ["a\0b.png", "x" * 5000 + ".png", "photos\\" + "y" * 300 + ".jpg", 12345]
    _, ok, problems = load_column(values, tmp_path, SIZE, allowed=[tmp_path])
    assert not ok.any() and [p.row for p in problems] == [0, 1, 2, 3]
    assert all(p.kind in ("missing", "not allowed", "not an image") for p in problems)  # 12345: no picture name
    _, ok, problems = load_column(values, tmp_path, SIZE)
    assert not ok.any() and [p.kind for p in problems] == ["missing"] * 4
    assert "NUL" in problems[0].message and "too long" in problems[1].message


def test_blank_cells_are_missing_values_not_problems(workbook_dir):
    values = [None, "", "   ", float("nan"), '""', "photos/cat 1.jpg"]
    pixels, ok, problems = load_column(values, workbook_dir, SIZE)
    assert ok.tolist() == [False] * 5 + [True]
    assert problems == []
    assert not pixels[:5].any()


# -- bad files ------------------------------------------------------------------------------------


def test_bad_files_each_become_one_plain_problem(tmp_path):
    solid(tmp_path / "good.png", GREEN)
    (tmp_path / "notes.png").write_text("these are my notes, not a picture")
    solid(tmp_path / "whole.jpg", RED, (200, 200), quality=95)
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "empty.jpg").write_bytes(b"")
    values = ["good.png", "gone.png", "notes.png", "cut.jpg", "folder.png", "empty.jpg", "good.png"]
    pixels, ok, problems = load_column(values, tmp_path, SIZE)
    assert ok.tolist() == [True, False, False, False, False, False, True]
    assert close(pixels[6, 5, 5], GREEN, 2)
    kinds = {p.path: p.kind for p in problems}
    assert kinds == {
        "gone.png": "missing",
        "notes.png": "not an image",
        "cut.jpg": "unreadable",
        "folder.png": "not an image",
        "empty.jpg": "not an image",
    }
    assert [p.row for p in problems] == [1, 2, 3, 4, 5]
    for problem in problems:
        assert str(tmp_path / problem.path) in problem.message  # names the file
        assert "Traceback" not in problem.message
    by_path = {p.path: p.message for p in problems}
    assert "truncated" in by_path["cut.jpg"] and "save it again" in by_path["cut.jpg"]
    assert "Replace it" in by_path["notes.png"]


def test_load_image_raises_the_kind(tmp_path):
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(ImageLoadError) as info:
        load_image(tmp_path / "text.png", SIZE)
    assert info.value.kind == "not an image" and "text.png" in str(info.value)
    with pytest.raises(ImageLoadError) as info:
        load_image(tmp_path / "none.png", SIZE)
    assert info.value.kind == "missing"


def test_disguised_formats_pillow_could_read_are_refused(tmp_path):
    # a PPM renamed .png: Pillow reads PPM, but a picture column holds only the formats we list
    Image.new("RGB", (10, 10), RED).save(tmp_path / "odd.png", format="PPM")
    with pytest.raises(ImageLoadError) as info:
        load_image(tmp_path / "odd.png", SIZE)
    assert info.value.kind == "not an image"


def test_too_many_pixels_under_a_lowered_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(load_module, "MAX_PIXELS", 10_000)
    Image.new("1", (101, 100), 1).save(tmp_path / "bomb.png")  # 10,100 pixels: just over
    Image.new("1", (100, 100), 1).save(tmp_path / "fine.png")  # exactly at the limit
    _, ok, problems = load_column(["bomb.png", "fine.png"], tmp_path, SIZE)
    assert ok.tolist() == [False, True]
    (problem,) = problems
    assert problem.kind == "too large"
    assert "101 × 100 = 10,100 pixels" in problem.message and "10,000" in problem.message


@pytest.mark.parametrize("side", [10_000, 20_000])  # over Pillow's limit (its warning), over twice it (its error)
def test_decompression_bombs_are_too_large_and_pillow_is_left_alone(tmp_path, side):
    before = Image.MAX_IMAGE_PIXELS
    png_header_only(tmp_path / "bomb.png", side, side)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageLoadError) as info:
            load_image(tmp_path / "bomb.png", SIZE)
    assert info.value.kind == "too large"
    assert f"{side * side:,} pixels" in info.value.message
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert Image.MAX_IMAGE_PIXELS == before
    # Pillow elsewhere in the process still warns as before: SheetDL changed no global setting
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            Image.open(tmp_path / "bomb.png").close()
        except Image.DecompressionBombError:
            assert side == 20_000
        else:
            assert [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


# -- allowed folders ------------------------------------------------------------------------------


@pytest.fixture()
def fenced(tmp_path):
    inside = tmp_path / "allowed"
    solid(inside / "ok.png", GREEN)
    solid(tmp_path / "secret.png", RED)
    os.symlink(tmp_path / "secret.png", inside / "escape.png")
    os.symlink(inside / "ok.png", inside / "alias.png")
    os.symlink(tmp_path, inside / "up")
    return inside


def test_files_outside_the_allowed_folders_are_never_opened(fenced, tmp_path, decodes, monkeypatch):
    opened: list[str] = []
    real_open = load_module.Image.open

    def recording_open(fp, *args, **kwargs):
        opened.append(str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(load_module.Image, "open", recording_open)
    values = ["ok.png", "alias.png", "../secret.png", str(tmp_path / "secret.png"), "escape.png", "up/secret.png",
              "up/allowed/ok.png"]
    _, ok, problems = load_column(values, fenced, SIZE, allowed=[fenced])
    assert ok.tolist() == [True, True, False, False, False, False, True]
    assert {p.row for p in problems} == {2, 3, 4, 5}
    assert all(p.kind == "not allowed" for p in problems)
    assert all(str(tmp_path / "secret.png") in p.message and str(fenced) in p.message for p in problems)
    assert not [o for o in opened if "secret" in o]
    assert not [d for d in decodes if "secret" in str(d)]


def test_no_allowed_folders_means_nothing_is_allowed(fenced):
    _, ok, problems = load_column(["ok.png"], fenced, SIZE, allowed=[])
    assert not ok[0] and problems[0].kind == "not allowed"


# -- threads and progress -------------------------------------------------------------------------


def test_many_files_in_threads_land_in_their_rows(tmp_path, monkeypatch, decodes):
    monkeypatch.setattr(load_module, "_cpu_count", lambda: 4)
    monkeypatch.setattr(load_module, "QUEUE_PER_WORKER", 1)
    colours = [(i * 9 % 256, i * 37 % 256, i * 71 % 256) for i in range(30)]
    for i, colour in enumerate(colours):
        solid(tmp_path / f"{i}.png", colour, (20, 20))
    values = [f"{i}.png" for i in range(30)] + ["0.png", "gone.png"]
    calls = []
    pixels, ok, problems = load_column(values, tmp_path, 8, progress=lambda d, t: calls.append((d, t)))
    assert ok.tolist() == [True] * 31 + [False] and len(problems) == 1 and problems[0].row == 31
    for i, colour in enumerate(colours + [colours[0]]):
        assert close(pixels[i, 4, 4], colour, 0), i
    assert len(decodes) == 31  # 30 files and the missing one: the repeated file is decoded once
    assert calls[0] == (0, 31) and calls[-1] == (31, 31)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # through a cache: the first pass decodes in threads and stores, the second only reads
    cache = ImageCache(tmp_path / "cache")
    first, _, _ = load_column(values, tmp_path, 8, cache=cache)
    second, ok2, problems2 = load_column(values, tmp_path, 8, cache=cache)
    assert len(decodes) == 31 + 31 + 1  # the second pass tries only the missing file again
    assert np.array_equal(first, pixels) and np.array_equal(second, pixels)
    assert ok2.tolist() == ok.tolist() and [p.kind for p in problems2] == ["missing"]


def test_a_progress_callback_can_stop_the_column(tmp_path, monkeypatch):
    monkeypatch.setattr(load_module, "_cpu_count", lambda: 2)
    for i in range(10):
        solid(tmp_path / f"{i}.png", GREEN, (20, 20))

    class Stop(Exception):
        pass

    def cancel(done, total):
        if done:
            raise Stop

    with pytest.raises(Stop):
        load_column([f"{i}.png" for i in range(10)], tmp_path, 8, progress=cancel)


def test_images_package_does_not_import_torch():
    code = "import sys, sheetdl.images; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the cache ------------------------------------------------------------------------------------


def test_cache_hit_after_first_load(tmp_path, decodes):
    solid(tmp_path / "a.jpg", RED, (64, 48))
    cache = ImageCache(tmp_path / "cache")
    first, ok1, _ = load_column(["a.jpg"], tmp_path, SIZE, cache=cache)
    second, ok2, _ = load_column(["a.jpg"], tmp_path, SIZE, cache=cache)
    assert ok1[0] and ok2[0] and len(decodes) == 1
    assert np.array_equal(first, second)
    stored = list((tmp_path / "cache").rglob("*.npy"))
    assert len(stored) == 1 and len(stored[0].parent.name) == 2  # sharded by the key's hash
    assert not list((tmp_path / "cache").rglob("*.tmp"))
    # another size or variant is another entry
    load_column(["a.jpg"], tmp_path, SIZE * 2, cache=cache)
    assert len(decodes) == 2
    assert cache.get(tmp_path / "a.jpg", SIZE, "features") is None
    assert np.array_equal(cache.get(tmp_path / "a.jpg", SIZE, "pixels"), first[0])


def test_changed_file_misses_the_cache(tmp_path, decodes):
    path = solid(tmp_path / "a.png", RED, (40, 40))
    cache = ImageCache(tmp_path / "cache")
    load_column(["a.png"], tmp_path, SIZE, cache=cache)
    stat = path.stat()
    solid(path, BLUE, (40, 40))  # same size on disk, new colour
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    pixels, ok, _ = load_column(["a.png"], tmp_path, SIZE, cache=cache)
    assert len(decodes) == 2 and close(pixels[0, 5, 5], BLUE, 0)
    # and a size change alone (same mtime) misses too
    stat = path.stat()
    solid(path, GREEN, (50, 40))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    pixels, _, _ = load_column(["a.png"], tmp_path, SIZE, cache=cache)
    assert len(decodes) == 3 and close(pixels[0, 5, 5], GREEN, 0)


@pytest.mark.parametrize("damage", [b"", b"garbage", b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False,"])
def test_damaged_cache_files_are_a_miss(tmp_path, decodes, damage):
    solid(tmp_path / "a.png", RED, (40, 40))
    cache = ImageCache(tmp_path / "cache")
    load_column(["a.png"], tmp_path, SIZE, cache=cache)
    (entry,) = (tmp_path / "cache").rglob("*.npy")
    entry.write_bytes(damage)
    pixels, ok, problems = load_column(["a.png"], tmp_path, SIZE, cache=cache)
    assert ok[0] and not problems and close(pixels[0, 5, 5], RED, 0) and len(decodes) == 2
    # the damaged entry was replaced by a good one
    load_column(["a.png"], tmp_path, SIZE, cache=cache)
    assert len(decodes) == 2


def test_a_cached_array_of_the_wrong_shape_is_a_miss(tmp_path, decodes):
    solid(tmp_path / "a.png", RED, (40, 40))
    cache = ImageCache(tmp_path / "cache")
    cache.put(tmp_path / "a.png", SIZE, "pixels", np.zeros((3, 3), dtype=np.uint8))
    pixels, ok, _ = load_column(["a.png"], tmp_path, SIZE, cache=cache)
    assert ok[0] and close(pixels[0, 5, 5], RED, 0) and len(decodes) == 1


def test_unwritable_cache_is_ignored(tmp_path, decodes):
    solid(tmp_path / "a.png", RED, (40, 40))
    (tmp_path / "a-file").write_text("not a folder")
    cache = ImageCache(tmp_path / "a-file" / "cache")  # can never be created
    for _ in range(2):
        pixels, ok, problems = load_column(["a.png"], tmp_path, SIZE, cache=cache)
        assert ok[0] and not problems and close(pixels[0, 5, 5], RED, 0)
    assert len(decodes) == 2


def test_read_only_cache_folder_is_ignored(tmp_path, decodes):
    solid(tmp_path / "a.png", RED, (40, 40))
    root = tmp_path / "cache"
    root.mkdir()
    root.chmod(0o555)
    try:
        probe = root / "probe"
        try:
            probe.mkdir()
        except OSError:
            pass
        else:
            probe.rmdir()
            pytest.skip("this user (root?) can write into a read-only folder")
        cache = ImageCache(root)
        for _ in range(2):
            pixels, ok, problems = load_column(["a.png"], tmp_path, SIZE, cache=cache)
            assert ok[0] and not problems and close(pixels[0, 5, 5], RED, 0)
        assert len(decodes) == 2 and not list(root.iterdir())
    finally:
        root.chmod(0o755)


def test_write_failures_leave_no_temporary_files(tmp_path, monkeypatch):
    solid(tmp_path / "a.png", RED, (40, 40))
    cache = ImageCache(tmp_path / "cache")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)  # e.g. a virus scanner holding the file on Windows
    _, ok, problems = load_column(["a.png"], tmp_path, SIZE, cache=cache)
    assert ok[0] and not problems
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_clear_and_prune_touch_only_cache_files(tmp_path):
    root = tmp_path / "cache"
    root.mkdir()
    (root / "keep.txt").write_text("user file")
    (root / "ab").mkdir()
    (root / "ab" / "keep.png").write_bytes(b"x")
    cache = ImageCache(root, max_bytes=None)
    for i in range(5):
        path = solid(tmp_path / f"{i}.png", GREEN, (10, 10))
        cache.put(path, 16, "pixels", np.full((16, 16, 3), i, dtype=np.uint8))
        os.utime(cache._entry(cache.key(path, 16, "pixels")), ns=(i * 10**9, i * 10**9))  # 0 oldest
    entry_bytes = cache.size_bytes() // 5
    assert cache.prune(max_bytes=3 * entry_bytes) == 3  # down to 90% of the cap: two stay
    assert cache.get(tmp_path / "4.png", 16, "pixels") is not None
    assert cache.get(tmp_path / "0.png", 16, "pixels") is None
    assert cache.clear() == 2
    assert cache.size_bytes() == 0
    assert (root / "keep.txt").exists() and (root / "ab" / "keep.png").exists()


def test_cache_trims_itself_past_its_cap(tmp_path):
    cache = ImageCache(tmp_path / "cache", max_bytes=5 * (16 * 16 * 3 + 128))
    for i in range(20):
        path = solid(tmp_path / f"{i}.png", GREEN, (10, 10))
        cache.put(path, 16, "pixels", np.full((16, 16, 3), i, dtype=np.uint8))
    assert cache.size_bytes() <= cache.max_bytes
    assert cache.get(tmp_path / "19.png", 16, "pixels") is not None


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEETDL_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    assert ImageCache().root == tmp_path / "mine" / "images"
    monkeypatch.delenv("SHEETDL_CACHE")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache_dir() == tmp_path / "xdg" / "sheetdl"
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert cache_dir() == Path.home() / ".cache" / "sheetdl"


def test_pretrained_size_round_trip_through_the_cache(tmp_path):
    solid(tmp_path / "photo.jpg", BLUE, (640, 480))
    cache = ImageCache(tmp_path / "cache")
    cold, _, _ = load_column(["photo.jpg"], tmp_path, PRETRAINED_SIZE, cache=cache)
    warm, _, _ = load_column(["photo.jpg"], tmp_path, PRETRAINED_SIZE, cache=cache)
    assert cold.shape == (1, 224, 224, 3) and np.array_equal(cold, warm)
