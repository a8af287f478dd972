"""Where SheetDL keeps things on this computer: the folders each system sets aside for an application's
settings, data and cache, from platformdirs, under the names SheetDL has always used (so a certificate
authority an earlier version installed, its token and its cached pictures are found where they are).

- config (token, keys, certificates, the add-in's manifest, server.json): ``$XDG_CONFIG_HOME/sheetdl``
  or ``~/.config/sheetdl`` (Linux); ``~/Library/Application Support/SheetDL`` (macOS);
  ``%APPDATA%\\SheetDL``, the roaming profile (Windows).
- data (the server's models): ``$XDG_DATA_HOME/sheetdl`` or ``~/.local/share/sheetdl``; the same as
  config on macOS; ``%LOCALAPPDATA%\\SheetDL`` (Windows).
- cache (decoded pictures, pretrained weights): ``$XDG_CACHE_HOME/sheetdl`` or ``~/.cache/sheetdl``;
  ``~/Library/Caches/SheetDL``; ``%LOCALAPPDATA%\\SheetDL\\Cache``.
- macOS reads ``XDG_CONFIG_HOME``, ``XDG_DATA_HOME`` and ``XDG_CACHE_HOME`` too, when set.

An XDG variable counts only when it is an absolute path (the XDG rule). platformdirs>=4.12 is required:
every release from then on places the folders the same way (4.6 began reading XDG variables on macOS,
4.12 ignoring relative ones), so the releases SheetDL allows all place its folders alike.

Windows' config folder stays in the roaming profile, where it always was: Excel's registration of the
add-in names the manifest in it, and the certificate store the CA was added to roams too. Models are
data of this computer and can be large, so they live in the local profile.

``SHEETDL_HOME`` (one folder for config and data: a test's, or a second server's) and ``SHEETDL_CACHE``
override the platform's choice. Earlier versions computed the folders by hand; :func:`move_old_folders`
moves what they left where that differs (models on Linux and Windows, and wherever a platform rule
changed).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .private import private_dir

__all__ = ["Folders", "platform_folders", "old_folders", "config_dir", "sheetdl_home", "data_dir", "cache_dir",
           "move_folder", "move_old_folders"]


@dataclass(frozen=True)
class Folders:
    config: Path
    data: Path
    cache: Path


def app_name(platform: str) -> str:
    """The folder name: ``SheetDL`` where names are shown to people (Windows, macOS), ``sheetdl`` where
    the convention is lower case (Linux and other Unix)."""
    return "SheetDL" if platform in ("win32", "darwin") else "sheetdl"


def platform_folders(platform: str = sys.platform) -> Folders:
    """The platform's folders for SheetDL by platformdirs' rules (XDG variables on Linux; the known
    folders on Windows), without SheetDL's own overrides. ``platform`` is ``sys.platform``'s value; other
    values are for tests."""
    name = app_name(platform)
    if platform == "win32":
        from platformdirs.windows import Windows

        return Folders(config=Path(Windows(name, appauthor=False, roaming=True).user_config_dir),
                       data=Path(Windows(name, appauthor=False, roaming=False).user_data_dir),
                       cache=Path(Windows(name, appauthor=False).user_cache_dir))
    if platform == "darwin":
        from platformdirs.macos import MacOS

        mac = MacOS(name)
        return Folders(config=Path(mac.user_config_dir), data=Path(mac.user_data_dir), cache=Path(mac.user_cache_dir))
    from platformdirs.unix import Unix

    unix = Unix(name)
    return Folders(config=Path(unix.user_config_dir), data=Path(unix.user_data_dir), cache=Path(unix.user_cache_dir))


def old_folders(platform: str = sys.platform) -> Folders:
    """Where SheetDL 0.1 put things (computed by hand): models inside the config folder; Linux's config
    folder took ``XDG_CONFIG_HOME`` even when relative (then it was a folder under wherever the server
    started, and is not looked for); Windows' folders came from ``APPDATA`` and ``LOCALAPPDATA``."""
    home = Path.home()
    if platform == "win32":
        config = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming") / "SheetDL"
        cache = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "SheetDL" / "Cache"
    elif platform == "darwin":
        config = home / "Library" / "Application Support" / "SheetDL"
        cache = home / "Library" / "Caches" / "SheetDL"
    else:
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "sheetdl"
        xdg_cache = os.environ.get("XDG_CACHE_HOME")
        cache = (Path(xdg_cache) if xdg_cache and Path(xdg_cache).is_absolute() else home / ".cache") / "sheetdl"
    return Folders(config=config, data=config, cache=cache)


def config_dir() -> Path:
    """SheetDL's settings and secrets: ``$SHEETDL_HOME`` if set, else the platform's config folder."""
    home = os.environ.get("SHEETDL_HOME")
    return Path(home).expanduser() if home else platform_folders().config


def sheetdl_home() -> Path:
    """The user's SheetDL folder for settings and secrets (:func:`config_dir`): the local server keeps
    its certificates and token here, desktop Excel its button modules and jobs."""
    return config_dir()


def data_dir() -> Path:
    """What SheetDL keeps for the user that isn't settings (the server's models): ``$SHEETDL_HOME`` if
    set, else the platform's data folder (never Windows' roaming profile)."""
    home = os.environ.get("SHEETDL_HOME")
    return Path(home).expanduser() if home else platform_folders().data


def cache_dir() -> Path:
    """Where SheetDL keeps files it can rebuild: ``$SHEETDL_CACHE`` if set, else the platform's cache
    folder."""
    chosen = os.environ.get("SHEETDL_CACHE")
    return Path(chosen).expanduser() if chosen else platform_folders().cache


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def move_folder(old: Path, new: Path, *, rename_only: bool = False) -> tuple[list[str], list[str]]:
    """Move what ``old`` holds into ``new`` (made private if missing), never replacing anything ``new``
    already has; ``old`` is removed once empty. ``rename_only``: move only what can be renamed (same
    disk), leaving the rest (for a cache: rebuilding it is cheaper than copying gigabytes).

    Returns (moved, left): what was moved (``old → new``) and what stayed behind, each with the reason,
    in words. Nothing is raised: a folder that can't be moved stays where it is and is named in ``left``.
    """
    moved: list[str] = []
    left: list[str] = []
    if not old.is_dir() or old.is_symlink() or _same(old, new) or not old.is_absolute():
        return moved, left
    try:
        if new.is_relative_to(old) or old.is_relative_to(new):
            left.append(f"{old} was not moved to {new}: one holds the other. Move what you need by hand.")
            return moved, left
        if not new.exists():
            private_dir(new.parent)
            if _move(old, new, rename_only):
                return [f"{old} → {new}"], left
            left.append(_other_disk(old, new))
            return moved, left
        for entry in sorted(old.iterdir()):
            target = new / entry.name
            if target.exists() or target.is_symlink():
                left.append(f"{entry} was not moved: {target} exists already. Delete the older one when you no "
                            "longer need it.")
            elif _move(entry, target, rename_only):
                moved.append(f"{entry} → {target}")
            else:
                left.append(_other_disk(entry, new))
        if not any(old.iterdir()):
            old.rmdir()
    except OSError as e:
        left.append(f"{old} could not be moved to {new} ({e.strerror or e}). Move it there yourself while "
                    "SheetDL is not running; until then SheetDL works without what it holds.")
    return moved, left


def _other_disk(old: Path, new: Path) -> str:
    return (f"{old} was not moved: it is on another disk than {new}, and SheetDL rebuilds what it holds. "
            "Delete it to free the space.")


def _move(src: Path, dst: Path, rename_only: bool) -> bool:
    try:
        os.rename(src, dst)
        return True
    except OSError:
        if rename_only:
            return False
    shutil.move(str(src), str(dst))
    return True


def move_old_folders(platform: str = sys.platform) -> tuple[list[str], list[str]]:
    """Move what an earlier SheetDL left where this one no longer looks: its config folder (only where a
    platform rule changed), the server's models (out of the config folder, into the data folder on Linux
    and Windows) and the cache. Nothing happens under ``SHEETDL_HOME`` / ``SHEETDL_CACHE``; running it
    again finds nothing to do. Returns (moved, left) as :func:`move_folder` does."""
    moved: list[str] = []
    left: list[str] = []
    if not os.environ.get("SHEETDL_HOME"):
        old, new = old_folders(platform), platform_folders(platform)
        m, lft = move_folder(old.config, new.config)
        moved += m
        left += lft
        if platform == "win32" and m and (new.config / "manifest.xml").is_file():
            left.append(f"Excel's registration of the add-in still names the manifest in {old.config}: run "
                        "`sheetdl addin install` again so Excel finds it in its new place.")
        m, lft = move_folder(new.config / "models", new.data / "models")
        moved += m
        left += lft
    if not os.environ.get("SHEETDL_CACHE"):
        m, lft = move_folder(old_folders(platform).cache, platform_folders(platform).cache, rename_only=True)
        moved += m
        left += lft
    return moved, left
