"""Packaging hook: ship the Excel add-in's web files inside the package.

The add-in's files are kept in ``addin/`` (manifest, task pane, icons), where people look for them.
A wheel carries a copy of them as ``sheetdl/addin_files/``, so a plain ``pip install`` can serve the
task pane; an editable install serves ``addin/`` itself. ``sheetdl.server.config.addin_dir`` finds
whichever is there. Everything else about the package is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ADDIN = Path(__file__).resolve().parent / "addin"
#: what the server serves or writes out (tests, schemas and the icon script stay in the source tree)
SHIPPED = ("manifest.xml", "taskpane/*.html", "taskpane/*.js", "taskpane/*.css", "assets/*.png")
TARGET = Path("sheetdl") / "addin_files"


def addin_files() -> list[Path]:
    return sorted(f for pattern in SHIPPED for f in ADDIN.glob(pattern) if f.is_file())


class build_py_with_addin(build_py):
    """build_py, then the add-in's files into build/lib/sheetdl/addin_files."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # editable installs serve addin/ in place
            return
        files = addin_files()
        if not any(f.name == "manifest.xml" for f in files):
            raise SystemExit(f"the add-in's files are missing from {ADDIN}; build from a full source tree")
        for src in files:
            dst = Path(self.build_lib) / TARGET / src.relative_to(ADDIN)
            self.mkpath(str(dst.parent))
            self.copy_file(str(src), str(dst))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        extra = [] if getattr(self, "editable_mode", False) else [
            str(Path(self.build_lib) / TARGET / f.relative_to(ADDIN)) for f in addin_files()]
        return super().get_outputs(include_bytecode) + extra


setup(cmdclass={"build_py": build_py_with_addin})
