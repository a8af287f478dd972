"""One decision on which picture file may be read (images.picture_path), made by the server's check,
the loader, thumbnails and heat maps alike, and made again on the file actually opened, so a link
swapped after the check can't lead outside the allowed folders."""

from __future__ import annotations

import os

import pytest
from builders import grey_png

from sheetdl.images import PICTURE_EXTENSIONS, ImageLoadError, load_column, load_image, picture_path, thumbnail_png
from sheetdl.schema import IMAGE_EXTENSIONS
from sheetdl.server.images import outside_folders

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symbolic links and POSIX paths")


@pytest.fixture()
def places(tmp_path, monkeypatch):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "sub").mkdir(parents=True)
    outside.mkdir()
    (allowed / "a.png").write_bytes(grey_png(8, 8, 0x20))
    (allowed / "sub" / "b.png").write_bytes(grey_png(8, 8, 0x40))
    (outside / "secret.png").write_bytes(grey_png(8, 8, 0xF0))
    (outside / "private.dat").write_bytes(grey_png(8, 8, 0xF0))  # a picture inside, but not called one
    (allowed / "link.png").symlink_to(outside / "secret.png")
    monkeypatch.setenv("HOME", str(tmp_path))
    return allowed, outside


def test_the_extensions_are_the_schemas():
    assert PICTURE_EXTENSIONS == IMAGE_EXTENSIONS


def test_a_link_swapped_after_the_check_is_refused_at_the_open(places):
    allowed, outside = places
    (allowed / "swap.png").symlink_to(allowed / "a.png")
    path = picture_path("swap.png", allowed, [allowed])  # checked: leads inside
    (allowed / "swap.png").unlink()
    (allowed / "swap.png").symlink_to(outside / "secret.png")  # swapped before the file is opened
    for read in (lambda: thumbnail_png(path, 16, allowed=[allowed]), lambda: load_image(path, 8, allowed=[allowed])):
        with pytest.raises(ImageLoadError) as e:
            read()
        assert e.value.kind == "not allowed"
    assert thumbnail_png(picture_path("a.png", allowed, [allowed]), 16, allowed=[allowed])[:4] == b"\x89PNG"


def test_a_file_address_with_a_picture_name_after_question_mark_is_not_a_picture(places):
    allowed, outside = places
    os.symlink(outside / "private.dat", allowed / "private.dat")
    for cell in (f"file://{outside}/private.dat?.png", f"file://{allowed}/private.dat?x=.png",
                 f"file://{allowed}/private.dat#.png"):
        with pytest.raises(ImageLoadError):
            picture_path(cell, allowed, [allowed])
        assert outside_folders(cell, [allowed])
        pixels, ok, problems = load_column([cell], allowed, 8, allowed=[allowed])
        assert not ok[0] and not pixels.any() and problems


CELLS = {  # cell → may be read with only 'allowed' allowed
    "a.png": True, "sub\\b.png": True, "sub/../a.png": True, "~/allowed/a.png": True, "file:a.png": None,
    "link.png": False, "../outside/secret.png": False, "~/outside/secret.png": False,
    "sub\\..\\..\\outside\\secret.png": False, "'a.png'": True,
}


@pytest.mark.parametrize("cell", list(CELLS))
def test_the_server_and_the_loader_agree(places, cell):
    allowed, outside = places
    CELLS["file:a.png"] = None
    expected = CELLS[cell]
    server_ok = not outside_folders(cell, [allowed])
    _, ok, problems = load_column([cell], allowed, 8, allowed=[allowed])
    assert server_ok == bool(ok[0]), (cell, problems)
    if expected is not None:
        assert server_ok is expected, cell


def test_file_addresses_are_judged_by_where_they_lead(places):
    allowed, outside = places
    for cell, fine in ((f"file://{allowed}/a.png", True), (f"file://{outside}/secret.png", False),
                       (f"file://localhost{allowed}/sub/b.png", True), (f"file://{allowed}/link.png", False)):
        assert (not outside_folders(cell, [allowed])) is fine, cell
        assert bool(load_column([cell], allowed, 8, allowed=[allowed])[1][0]) is fine, cell
