"""``sheetdl new``: list the templates, copy one, or make a workbook from a folder of pictures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import OutputError
from .from_folder import cmd_new_images
from .templates import IMAGES_WORDS, TEMPLATES, copy_template, list_templates, shown

__all__ = ["cmd_new"]


def cmd_new(name: str | None, path: str | None, say: Callable[[str], None] = print, *,
            output: str | None = None, warn: Callable[[str], None] | None = None) -> int:
    """``sheetdl new``: list the templates; copy one (``sheetdl new NAME [PATH]``); or make a
    workbook from a folder of pictures (``sheetdl new images FOLDER [--output PATH]``). The word
    'images' always means a folder of pictures, never the 'Classify images' template."""
    warn = warn or (lambda text: say(f"Warning: {text}"))
    if name is not None and name.strip().casefold() in IMAGES_WORDS:
        return cmd_new_images(path, output, say, warn)
    if output:
        if path and Path(path) != Path(output):
            raise OutputError(f"Two places were given for the copy: '{path}' and --output '{output}'.",
                              hint="Give one of them.")
        path = output
    if not name:
        say("Templates (copy one with: sheetdl new \"NAME\" [FOLDER or FILE.xlsx]):")
        width = max(len(n) for n in TEMPLATES)
        for n, description in list_templates():
            say(f"  {n:<{width}}  {description}")
        say("")
        say("From a folder of pictures sorted into one subfolder per label (Pets/cat, Pets/dog …):")
        say("  sheetdl new images FOLDER [--output FILE.xlsx]")
        return 0
    dest = copy_template(name, path)
    where = shown(dest)
    say(f"Created {where}")
    say(f"Open it and follow the 'Start here' sheet; when your data is in, run: sheetdl train \"{where}\"")
    return 0
