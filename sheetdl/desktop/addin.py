"""``sheetdl addin install --desktop``: the SheetDL tab in desktop Excel, made from xlwings' BSD-licensed
quickstart ribbon add-in (``xlwings/quickstart_addin_ribbon.xlam``).

That add-in's VBA is kept byte for byte (``xl/vbaProject.bin``; it is a compiled binary we do not edit).
Its one ribbon callback, ``RibbonMyAddin.RunMain(control)``, runs ``import <file name>;
<file name>.main()`` with the name of the add-in's own file, and ignores which button called it. So each
button is an add-in of its own, with the module named after it:

    SheetDL.xlam            → import SheetDL            (Train)
    SheetDL_Predict.xlam    → import SheetDL_Predict    (Predict)
    SheetDL_Explain.xlam    → import SheetDL_Explain    (Explain)
    SheetDL_Templates.xlam  → import SheetDL_Templates  (Templates)

Their ribbons share one tab and one group through qualified ids (``idQ="x:…"`` in a namespace of ours),
which is how customUI lets several add-ins add to the same group. The four modules are three-line files
written into SheetDL's private folder, each calling :func:`sheetdl.desktop.press`; each add-in carries
the xlwings settings it needs (the add-in's own ``myaddin.conf`` sheet, which xlwings' VBA reads):
``Interpreter_Win``/``Interpreter_Mac`` = this Python, ``PYTHONPATH`` = that folder. On macOS xlwings'
AppleScript is also copied where Excel may run it (what ``xlwings runpython install`` does).

The add-ins go into Excel's startup folder (XLSTART), which Excel opens at start and trusts.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ..errors import SheetDLError
from ..folders import sheetdl_home
from ..private import private_dir, private_file

__all__ = ["BUTTONS", "Button", "custom_ui", "build_xlam", "install_desktop", "uninstall_desktop",
           "quickstart_xlam", "entry_module_source", "UNBLOCK_STEPS", "desktop_home"]


@dataclass(frozen=True)
class Button:
    action: str  # what sheetdl.desktop.press does
    label: str
    module: str  # the add-in's file name and the Python module xlwings' VBA imports
    screentip: str

    @property
    def file_name(self) -> str:
        return f"{self.module}.xlam"


BUTTONS = (
    Button("train", "Train", "SheetDL", "Train a model on this sheet's table and write the predictions beside it"),
    Button("predict", "Predict", "SheetDL_Predict", "Fill in predictions with the model this workbook trained"),
    Button("explain", "Explain", "SheetDL_Explain", "What the model learned: its scores and the columns that mattered"),
    Button("templates", "Templates", "SheetDL_Templates", "Open a new workbook from a SheetDL template"),
)

#: the namespace of the qualified ids the four add-ins share their tab and group through
SHARED_NS = "https://github.com/sheetdl/sheetdl/desktop-ribbon"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
#: the relationship type of a customUI14 part (Office 2010 and later)
CUSTOMUI14_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
#: the callback in xlwings' quickstart VBA (module RibbonMyAddin)
ON_ACTION = "RibbonMyAddin.RunMain"
#: the quickstart VBA's PROJECT_NAME: its settings sheet is '<PROJECT_NAME>.conf'
PROJECT_NAME = "myaddin"

UNBLOCK_STEPS = [
    "Add-ins that SheetDL writes on this computer are not blocked. A copy that came from the internet or by "
    "e-mail may be: Windows then marks it and Excel refuses its macros.",
    "To unblock it: close Excel, right-click the .xlam file in File Explorer, choose Properties, tick "
    "'Unblock' at the bottom of the General tab, and choose OK (or in PowerShell: Unblock-File -Path "
    "'<the .xlam file>'). Then start Excel again.",
]


def desktop_home() -> Path:
    """SheetDL's private folder for desktop Excel: the button modules, the background jobs."""
    return private_dir(sheetdl_home() / "desktop")


def quickstart_xlam() -> Path:
    """xlwings' BSD quickstart ribbon add-in, inside the installed xlwings package."""
    try:
        import xlwings
    except ImportError:
        raise SheetDLError("The SheetDL tab for desktop Excel is made from the xlwings package, which is not "
                           "installed.", hint='Install it with: pip install "sheetdl[desktop]"') from None
    path = Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam"
    if not path.is_file():
        raise SheetDLError(f"This xlwings ({xlwings.__version__}) has no quickstart ribbon add-in to build "
                           "SheetDL's from.", hint='Update it: pip install -U "sheetdl[desktop]"')
    return path


def custom_ui(button: Button) -> str:
    """The customUI14 part of one button's add-in: the shared SheetDL tab and group, and the button."""
    return (
        f'<customUI xmlns="{CUSTOMUI_NS}" xmlns:x="{SHARED_NS}">\n'
        "  <ribbon>\n    <tabs>\n"
        '      <tab idQ="x:sheetdlTab" label="SheetDL">\n'
        '        <group idQ="x:sheetdlGroup" label="SheetDL">\n'
        f'          <button id="sheetdl_{button.action}" label={quoteattr(button.label)} size="large"\n'
        f'                  image="sheetdl_icon" screentip={quoteattr(button.label)}\n'
        f'                  supertip={quoteattr(button.screentip)} onAction="{ON_ACTION}"/>\n'
        "        </group>\n      </tab>\n    </tabs>\n  </ribbon>\n</customUI>\n"
    )


def entry_module_source(button: Button) -> str:
    """The module xlwings' VBA imports for ``button`` (it calls ``main()``)."""
    return (f'"""SheetDL\'s {button.label} button in desktop Excel (written by sheetdl addin install --desktop)."""\n\n'
            "from sheetdl.desktop import press\n\n\n"
            "def main():\n"
            f'    press("{button.action}")\n')


def _conf_sheet(interpreter: str, pythonpath: str) -> str:
    """The add-in's settings sheet as xlwings' VBA reads it: keys down column A from A1, values in B."""
    rows = [("Interpreter_Win", interpreter if sys.platform == "win32" else ""),
            ("Interpreter_Mac", interpreter if sys.platform != "win32" else ""),
            ("PYTHONPATH", pythonpath)]
    cells = []
    for i, (key, value) in enumerate(rows, start=1):
        c = f'<c r="A{i}" t="inlineStr"><is><t>{escape(key)}</t></is></c>'
        if value:
            c += f'<c r="B{i}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
        cells.append(f'<row r="{i}">{c}</row>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheetPr codeName="Sheet2"/><dimension ref="A1:B3"/>'
            '<cols><col min="1" max="1" width="16" customWidth="1"/><col min="2" max="2" width="60" customWidth="1"/>'
            f'</cols><sheetData>{"".join(cells)}</sheetData></worksheet>')


def build_xlam(button: Button, dest: Path, *, interpreter: str, pythonpath: str, source: Path | None = None) -> Path:
    """Write ``button``'s add-in to ``dest`` (a file): xlwings' quickstart with our ribbon, icon and settings;
    every other part, the VBA included, copied byte for byte."""
    source = source or quickstart_xlam()
    icon = (files("sheetdl") / "data" / "addin" / "assets" / "icon-32.png").read_bytes()
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        names = src.namelist()
        for needed in ("xl/vbaProject.bin", "xl/workbook.xml", "_rels/.rels", "[Content_Types].xml"):
            if needed not in names:
                raise SheetDLError(f"xlwings' quickstart add-in has no '{needed}': this xlwings is not one SheetDL "
                                   "knows how to build its add-in from.", hint='Try: pip install -U "sheetdl[desktop]"')
        for name in names:
            data = src.read(name)
            if name.startswith("customUI/"):
                continue  # xlwings' own ribbon: replaced by ours
            if name == "_rels/.rels":
                text = data.decode("utf-8")
                text = re.sub(r'Type="[^"]*/ui/extensibility" Target="[^"]*"',
                              f'Type="{CUSTOMUI14_REL}" Target="customUI/customUI14.xml"', text)
                data = text.encode("utf-8")
            elif name == "[Content_Types].xml":
                text = data.decode("utf-8")
                if 'Extension="png"' not in text:
                    text = text.replace("<Default ", '<Default Extension="png" ContentType="image/png" /><Default ', 1)
                data = text.encode("utf-8")
            elif name == "xl/workbook.xml":
                text = data.decode("utf-8")
                text = text.replace(f'name="_{PROJECT_NAME}.conf"', f'name="{PROJECT_NAME}.conf"')
                text = re.sub(r"<mc:AlternateContent[^>]*><mc:Choice[^>]*><x15ac:absPath[^>]*/></mc:Choice>"
                              r"</mc:AlternateContent>", "", text)  # the path of xlwings' author's folder
                data = text.encode("utf-8")
            elif name == "xl/worksheets/sheet1.xml":
                data = _conf_sheet(interpreter, pythonpath).encode("utf-8")
            out.writestr(src.getinfo(name), data)
        out.writestr("customUI/customUI14.xml", custom_ui(button).encode("utf-8"))
        out.writestr("customUI/_rels/customUI14.xml.rels",
                     '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     f'<Relationship Id="sheetdl_icon" Type="{IMAGE_REL}" Target="images/sheetdl_icon.png"/>'
                     "</Relationships>")
        out.writestr("customUI/images/sheetdl_icon.png", icon)
    os.replace(tmp, dest)
    return dest


def _startup_folder() -> Path:
    """Excel's own startup folder (XLSTART), as Excel reports it (what ``xlwings addin install`` uses)."""
    from .excel import xlwings_module

    xw = xlwings_module(hint="Install the SheetDL tab on the Windows or Mac computer where you use Excel. The "
                             "Excel add-in for the web and Microsoft 365 works everywhere: sheetdl addin install.")
    try:
        apps = list(xw.apps)
        if apps:
            return Path(apps[0].startup_path)
        with xw.App(visible=False) as app:
            return Path(app.startup_path)
    except Exception as e:
        raise SheetDLError(f"SheetDL could not ask Excel where its startup folder is ({e}).",
                           hint="Start Excel once, close any open dialog in it, and run this again.") from None


def _applescript_folder() -> Path:
    return Path.home() / "Library" / "Application Scripts" / "com.microsoft.Excel"


def install_desktop(*, startup: Path | None = None, home: Path | None = None,
                    interpreter: str | None = None) -> list[str]:
    """Build the four add-ins into Excel's startup folder and write the modules they import; returns what
    was done, in lines for the user."""
    startup = startup or _startup_folder()
    home = home or desktop_home()
    interpreter = interpreter or sys.executable
    modules = private_dir(home / "python")
    startup.mkdir(parents=True, exist_ok=True)
    lines = []
    for b in BUTTONS:
        private_file(modules / f"{b.module}.py", entry_module_source(b))
        build_xlam(b, startup / b.file_name, interpreter=interpreter, pythonpath=str(modules))
        lines.append(f"Added {startup / b.file_name}  (the {b.label} button)")
    lines.append(f"Python for the buttons: {interpreter}")
    lines.append(f"Their modules: {modules}")
    if sys.platform == "darwin":
        import xlwings

        script = Path(xlwings.__file__).parent / f"xlwings-{xlwings.__version__}.applescript"
        folder = _applescript_folder()
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(script, folder)
        lines.append(f"Let Excel run Python: {folder / script.name}")
    lines.append("Restart Excel: the SheetDL tab appears on the ribbon.")
    return lines


def uninstall_desktop(*, startup: Path | None = None, home: Path | None = None) -> list[str]:
    """Remove what :func:`install_desktop` added (the AppleScript stays: xlwings' own add-in uses it too)."""
    startup = startup or _startup_folder()
    home = home or desktop_home()
    lines = []
    for b in BUTTONS:
        for path in (startup / b.file_name, home / "python" / f"{b.module}.py"):
            if path.exists():
                path.unlink()
                lines.append(f"Removed {path}")
    if not lines:
        lines.append("The SheetDL tab for desktop Excel was not installed; nothing to remove.")
    else:
        lines.append("Restart Excel: the SheetDL tab is gone.")
    return lines
