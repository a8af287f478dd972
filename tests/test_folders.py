"""Where SheetDL keeps its files on each system (sheetdl/folders.py), and the move of what an earlier
version left elsewhere. Every test runs in a home folder of its own (HOME, the XDG variables, and on
"Windows" the known folders platformdirs asks the system for), so nothing touches the real one; the macOS
and Windows rules are checked here on any system through platformdirs' class for that system."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import platformdirs.windows
import pytest

from sheetdl.folders import move_folder, move_old_folders, old_folders, platform_folders

XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A home folder of the test's own, with no SheetDL or XDG variables set."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setenv("USERPROFILE", str(h))
    for var in (*XDG, "SHEETDL_HOME", "SHEETDL_CACHE", "APPDATA", "LOCALAPPDATA"):
        monkeypatch.delenv(var, raising=False)
    return h


@pytest.fixture()
def windows(home, monkeypatch):
    """The known folders a Windows user has (roaming and local application data), as platformdirs
    would ask Windows for them, and the variables Windows sets to the same places."""
    roaming, local = home / "AppData" / "Roaming", home / "AppData" / "Local"
    known = {"CSIDL_APPDATA": str(roaming), "CSIDL_LOCAL_APPDATA": str(local)}
    monkeypatch.setattr(platformdirs.windows, "get_win_folder", lambda csidl: known[csidl])
    monkeypatch.setenv("APPDATA", str(roaming))
    monkeypatch.setenv("LOCALAPPDATA", str(local))
    return home


def _old_install(config: Path) -> dict[str, str]:
    """What SheetDL 0.1's server left in its config folder: CA, token, settings and a model."""
    files = {"certs/sheetdl-ca.pem": "-----BEGIN CERTIFICATE-----\nours\n", "token": "t" * 43,
             "server.json": "{}", "models/0f3a.sheetdl": "a model"}
    for name, text in files.items():
        (config / name).parent.mkdir(parents=True, exist_ok=True)
        (config / name).write_text(text)
    return files


# ---- the folders ---------------------------------------------------------------------------------
def test_linux_follows_xdg_and_keeps_the_config_folder_name(home, monkeypatch):
    f = platform_folders("linux")
    assert (f.config, f.data, f.cache) == (home / ".config" / "sheetdl", home / ".local" / "share" / "sheetdl",
                                           home / ".cache" / "sheetdl")
    assert f.config == old_folders("linux").config  # an installed CA is found where it was
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    f = platform_folders("linux")
    assert (f.config, f.data, f.cache) == (home / "cfg" / "sheetdl", home / "data" / "sheetdl",
                                           home / "cache" / "sheetdl")


def test_a_relative_xdg_folder_is_ignored_as_the_xdg_rules_say(home, monkeypatch):
    for var in XDG:
        monkeypatch.setenv(var, "relative/folder")
    f = platform_folders("linux")
    assert (f.config, f.data, f.cache) == (home / ".config" / "sheetdl", home / ".local" / "share" / "sheetdl",
                                           home / ".cache" / "sheetdl")


def test_macos_keeps_apples_folders_and_the_names_it_had(home):
    f = platform_folders("darwin")
    support = home / "Library" / "Application Support" / "SheetDL"
    assert (f.config, f.data, f.cache) == (support, support, home / "Library" / "Caches" / "SheetDL")
    assert (f.config, f.cache) == (old_folders("darwin").config, old_folders("darwin").cache)


def test_windows_models_go_to_the_local_profile_not_the_roaming_one(windows):
    f = platform_folders("win32")
    roaming, local = windows / "AppData" / "Roaming", windows / "AppData" / "Local"
    assert f.config == roaming / "SheetDL" == old_folders("win32").config  # Excel's registration names it
    assert f.data == local / "SheetDL"
    assert f.cache == local / "SheetDL" / "Cache" == old_folders("win32").cache


def test_sheetdl_home_and_cache_override_the_platform(home, monkeypatch, tmp_path):
    from sheetdl.folders import cache_dir, config_dir, data_dir
    from sheetdl.server.config import ServerConfig

    monkeypatch.setenv("SHEETDL_HOME", str(tmp_path / "mine"))
    monkeypatch.setenv("SHEETDL_CACHE", str(tmp_path / "cached"))
    assert config_dir() == data_dir() == tmp_path / "mine"
    assert cache_dir() == tmp_path / "cached"
    cfg = ServerConfig()
    assert cfg.home == tmp_path / "mine" and cfg.models_dir == tmp_path / "mine" / "models"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the platform's own folders: Linux")
def test_the_server_keeps_models_in_the_data_folder(home):
    from sheetdl.server.config import ServerConfig

    cfg = ServerConfig()
    assert cfg.home == home / ".config" / "sheetdl"
    assert cfg.cert_dir == home / ".config" / "sheetdl" / "certs"
    assert cfg.models_dir == home / ".local" / "share" / "sheetdl" / "models"
    # a folder of one's own (tests, a second server) holds everything, models too
    assert ServerConfig(home=home / "own").models_dir == home / "own" / "models"


# ---- moving what an earlier SheetDL left -----------------------------------------------------------
def test_linux_models_move_to_the_data_folder_and_the_ca_stays_found(home):
    config = home / ".config" / "sheetdl"
    files = _old_install(config)
    moved, left = move_old_folders("linux")
    data = home / ".local" / "share" / "sheetdl"
    assert moved == [f"{config / 'models'} → {data / 'models'}"] and left == []
    assert (data / "models" / "0f3a.sheetdl").read_text() == files["models/0f3a.sheetdl"]
    assert not (config / "models").exists()
    for name in ("certs/sheetdl-ca.pem", "token", "server.json"):
        assert (config / name).read_text() == files[name]
    if os.name == "posix":  # the data folder SheetDL made is the user's only
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert move_old_folders("linux") == ([], [])  # once only


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the platform's own folders: Linux")
def test_after_the_move_the_server_finds_its_token_certificates_and_models(home):
    from sheetdl.server.config import ServerConfig

    files = _old_install(home / ".config" / "sheetdl")
    move_old_folders()
    cfg = ServerConfig()
    assert cfg.token == files["token"]
    assert (cfg.cert_dir / "sheetdl-ca.pem").read_text() == files["certs/sheetdl-ca.pem"]
    assert (cfg.models_dir / "0f3a.sheetdl").read_text() == files["models/0f3a.sheetdl"]


def test_windows_models_leave_the_roaming_profile(windows):
    roaming = windows / "AppData" / "Roaming" / "SheetDL"
    files = _old_install(roaming)
    moved, left = move_old_folders("win32")
    local = windows / "AppData" / "Local" / "SheetDL"
    assert moved == [f"{roaming / 'models'} → {local / 'models'}"] and left == []
    assert (local / "models" / "0f3a.sheetdl").read_text() == files["models/0f3a.sheetdl"]
    assert (roaming / "token").read_text() == files["token"]  # config and CA stay where Excel looks


def test_a_config_folder_a_platform_rule_moved_follows_it_with_everything_in_it(home, monkeypatch):
    # macOS now reads XDG variables too (platformdirs>=4.12): the folder an earlier SheetDL used moves
    old = home / "Library" / "Application Support" / "SheetDL"
    files = _old_install(old)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    moved, left = move_old_folders("darwin")
    assert left == [] and moved[0] == f"{old} → {home / 'cfg' / 'SheetDL'}"
    assert not old.exists()
    assert (home / "cfg" / "SheetDL" / "certs" / "sheetdl-ca.pem").read_text() == files["certs/sheetdl-ca.pem"]
    assert (home / "data" / "SheetDL" / "models" / "0f3a.sheetdl").read_text() == files["models/0f3a.sheetdl"]


def test_windows_says_to_register_again_when_the_manifest_moved(windows, monkeypatch, tmp_path):
    # APPDATA pointed elsewhere than Windows' known roaming folder: SheetDL 0.1 used the variable
    monkeypatch.setenv("APPDATA", str(tmp_path / "elsewhere"))
    old = tmp_path / "elsewhere" / "SheetDL"
    _old_install(old)
    (old / "manifest.xml").write_text("<OfficeApp/>")
    moved, left = move_old_folders("win32")
    assert f"{old} → {windows / 'AppData' / 'Roaming' / 'SheetDL'}" in moved
    assert any("sheetdl addin install" in line for line in left)


def test_nothing_is_replaced_and_what_stayed_is_named(home, tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "models").mkdir(parents=True)
    (old / "models" / "a.sheetdl").write_text("old a")
    (old / "token").write_text("old token")
    (new).mkdir()
    (new / "token").write_text("new token")
    moved, left = move_folder(old, new)
    assert moved == [f"{old / 'models'} → {new / 'models'}"]
    assert len(left) == 1 and str(old / "token") in left[0] and "exists already" in left[0]
    assert (new / "token").read_text() == "new token" and (old / "token").read_text() == "old token"
    assert (new / "models" / "a.sheetdl").read_text() == "old a"


def test_a_cache_on_another_disk_is_left_not_copied(home, tmp_path, monkeypatch):
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "images").mkdir(parents=True)

    def cross_device(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "rename", cross_device)
    moved, left = move_folder(old, new, rename_only=True)
    assert moved == [] and "another disk" in left[0] and "Delete it" in left[0]
    assert (old / "images").is_dir()


def test_a_relative_old_folder_is_not_looked_for(home, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", "rel")
    _old_install(tmp_path / "rel" / "sheetdl")
    assert move_old_folders("linux") == ([], [])
    assert (tmp_path / "rel" / "sheetdl" / "token").is_file()


def test_the_command_line_tells_what_moved(home, capsys):
    from sheetdl.cli import main

    _old_install(home / ".config" / "sheetdl") if sys.platform.startswith("linux") else None
    main(["addin", "status"])
    out = capsys.readouterr().out
    if sys.platform.startswith("linux"):
        assert "SheetDL moved its files to this system's usual folders" in out
        assert str(home / ".local" / "share" / "sheetdl" / "models") in out
    main(["addin", "status"])
    assert "moved" not in capsys.readouterr().out


def test_no_home_folder_to_be_found_is_a_warning_not_a_stop(home, monkeypatch, capsys):
    import sheetdl.folders
    from sheetdl.cli import main

    def lost(platform=sys.platform):
        raise RuntimeError("could not determine home directory")

    monkeypatch.setattr(sheetdl.folders, "move_old_folders", lost)
    monkeypatch.setenv("SHEETDL_HOME", str(home / "sheetdl"))
    assert main(["addin", "status"]) == 0
    err = capsys.readouterr().err
    assert "could not look for the files an earlier version kept" in err and "Traceback" not in err
