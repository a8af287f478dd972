"""What SheetDL keeps for the add-in's server (token, keys, certificates, models, decoded pictures)
is private to the user: folders 0700, files 0600, also where an earlier SheetDL left them looser."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from sheetdl.server.config import ServerConfig

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def _mode(p) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def _walk_modes(root):
    for folder, _, files in os.walk(root):
        yield folder, _mode(folder), True
        for f in files:
            yield os.path.join(folder, f), _mode(os.path.join(folder, f)), False


@pytest.fixture(autouse=True)
def loose_umask():
    old = os.umask(0o022)  # what most systems use: new files 0644, folders 0755
    yield
    os.umask(old)


def test_a_new_home_its_token_and_certificates_are_private(tmp_path):
    pytest.importorskip("cryptography")
    from sheetdl.server.certs import ensure_certificates

    cfg = ServerConfig(home=tmp_path / "new" / "home")
    ensure_certificates(cfg.cert_dir)
    cfg.remember()
    assert _mode(cfg.home) == 0o700 and _mode(cfg.token_file) == 0o600
    for path, mode, is_dir in _walk_modes(cfg.home):
        assert mode == (0o700 if is_dir else 0o600), (path, oct(mode))


def test_an_older_install_left_readable_is_tightened(tmp_path):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True, mode=0o755)
    (home / "certs").mkdir(mode=0o755)
    for f in (home / "models" / "wb.sheetdl", home / "certs" / "sheetdl-ca.pem", home / "token", home / "addin.json"):
        f.write_text("x" * 40)
        os.chmod(f, 0o644)
    os.chmod(home, 0o755)
    ServerConfig(home=home)
    for path, mode, is_dir in _walk_modes(home):
        assert mode == (0o700 if is_dir else 0o600), (path, oct(mode))


def test_the_server_keeps_its_models_private(tmp_path):
    torch = pytest.importorskip("torch")
    from sheetdl.engine.store import write_model_file

    path = write_model_file(tmp_path / "m.sheetdl", {"members": []}, {"m0.w": torch.zeros(2)}, private=True)
    assert _mode(path) == 0o600
    shared = write_model_file(tmp_path / "shared.sheetdl", {"members": []}, {"m0.w": torch.zeros(2)})
    assert _mode(shared) == 0o644  # the command line's model file: as readable as its workbook


def test_decoded_pictures_are_private_and_stay_under_sheetdl_home(tmp_path, monkeypatch):
    from sheetdl.images.cache import ImageCache, images_cache_dir

    monkeypatch.delenv("SHEETDL_CACHE", raising=False)
    monkeypatch.setenv("SHEETDL_HOME", str(tmp_path / "home"))
    assert images_cache_dir() == tmp_path / "home" / "cache" / "images"
    cache = ImageCache()
    assert cache.root == tmp_path / "home" / "cache" / "images"
    picture = tmp_path / "p.png"
    picture.write_bytes(b"not really")
    cache.put(picture, 8, "pixels", np.zeros((2, 2), dtype=np.float32))
    files = [p for p in _walk_modes(tmp_path / "home") if not p[2]]
    assert files, "nothing was cached"
    for path, mode, is_dir in _walk_modes(tmp_path / "home" / "cache"):
        assert mode == (0o700 if is_dir else 0o600), (path, oct(mode))
