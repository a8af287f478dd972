"""The desktop add-ins `sheetdl addin install --desktop` writes: their ribbon validates against Microsoft's
customUI14 schema, their VBA (xlwings' quickstart, extracted with oletools) calls the module we write for
each button, and the settings xlwings' VBA reads point at this Python and that module."""

from __future__ import annotations

import importlib
import re
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

xlwings = pytest.importorskip("xlwings")
xmlschema = pytest.importorskip("xmlschema")
olevba = pytest.importorskip("oletools.olevba")

import sheetdl.desktop as desktop  # noqa: E402
from sheetdl.desktop import BUTTONS, custom_ui, install_desktop, uninstall_desktop  # noqa: E402

#: Microsoft's customUI14.xsd from github.com/OfficeDev/office-custom-ui-editor (MIT), Schemas/customui14.xsd
#: at commit 0587abbaa3c13776d4adbef58fd9814f32c00683
SCHEMA = Path(__file__).parent / "schemas" / "customUI14.xsd"
QUICKSTART = Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("excel")
    lines = install_desktop(startup=root / "XLSTART", home=root / "home", interpreter="C:/Python312/python.exe")
    return root, lines


def _vba(data: bytes) -> dict[str, str]:
    parser = olevba.VBA_Parser("vbaProject.bin", data=data)
    try:
        return {name: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


@pytest.fixture(scope="module")
def schema():
    # xmlschema, not lxml: libxml2 refuses Microsoft's schema itself ("Duplicate attribute use 'getEnabled'")
    return xmlschema.XMLSchema(str(SCHEMA))


def test_customui_validates_against_microsofts_schema(schema):
    for b in BUTTONS:
        schema.validate(custom_ui(b))


def test_schema_check_is_real(schema):
    bad = custom_ui(BUTTONS[0]).replace('size="large"', 'size="huge"')
    assert not schema.is_valid(bad)
    assert not schema.is_valid(custom_ui(BUTTONS[0]).replace('onAction="RibbonMyAddin.RunMain"', 'onClick="x"'))


def test_four_buttons_share_one_tab_and_group():
    labels = []
    for b in BUTTONS:
        root = ET.fromstring(custom_ui(b))
        ns = {"c": "http://schemas.microsoft.com/office/2009/07/customui"}
        tab, = root.findall(".//c:tab", ns)
        group, = root.findall(".//c:group", ns)
        button, = root.findall(".//c:button", ns)
        assert tab.get("idQ") == "x:sheetdlTab" and group.get("idQ") == "x:sheetdlGroup"
        assert button.get("onAction") == "RibbonMyAddin.RunMain" and button.get("image") == "sheetdl_icon"
        labels.append(button.get("label"))
    assert labels == ["Train", "Predict", "Explain", "Templates"]


def test_each_xlam_carries_our_ribbon_icon_and_settings(installed):
    root, _ = installed
    for b in BUTTONS:
        path = root / "XLSTART" / b.file_name
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            assert "customUI/customUI.xml" not in names  # xlwings' own ribbon is gone
            assert z.read("customUI/customUI14.xml").decode() == custom_ui(b)
            rels = z.read("_rels/.rels").decode()
            assert ('Type="http://schemas.microsoft.com/office/2007/relationships/ui/extensibility" '
                    'Target="customUI/customUI14.xml"') in rels
            assert 'Target="images/sheetdl_icon.png"' in z.read("customUI/_rels/customUI14.xml.rels").decode()
            assert z.read("customUI/images/sheetdl_icon.png").startswith(b"\x89PNG")
            assert 'Extension="png"' in z.read("[Content_Types].xml").decode()
            with zipfile.ZipFile(QUICKSTART) as q:
                assert z.read("xl/vbaProject.bin") == q.read("xl/vbaProject.bin")  # VBA byte for byte
            workbook = z.read("xl/workbook.xml").decode()
            sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert 'name="myaddin.conf"' in workbook and "felix" not in workbook
        ET.fromstring(sheet)  # well-formed
        conf = dict(re.findall(r'<c r="A\d+" t="inlineStr"><is><t>([^<]*)</t></is></c>'
                               r'(?:<c r="B\d+" t="inlineStr"><is><t>([^<]*)</t></is></c>)?', sheet))
        key = "Interpreter_Win" if sys.platform == "win32" else "Interpreter_Mac"
        assert conf[key] == "C:/Python312/python.exe"
        assert Path(conf["PYTHONPATH"]) == root / "home" / "python"


def test_the_vba_runs_the_module_named_after_the_addin_which_presses_our_button(installed, monkeypatch):
    root, _ = installed
    pressed = []
    monkeypatch.setattr(desktop, "press", lambda action: pressed.append(action))
    for b in BUTTONS:
        with zipfile.ZipFile(root / "XLSTART" / b.file_name) as z:
            modules = _vba(z.read("xl/vbaProject.bin"))
        ribbon = modules["RibbonMyAddin.bas"]
        # what RunMain does, as xlwings 0.37 wrote it: module = file name without its extension
        assert "Sub RunMain(control As IRibbonControl)" in ribbon
        assert 'mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))' in ribbon
        assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in ribbon
        xl = modules["xlwings.bas"]
        assert 'Public Const PROJECT_NAME As String = "myaddin"' in xl  # its settings sheet: myaddin.conf
        assert 'GetConfig("INTERPRETER_WIN", "")' in xl and 'GetConfig("PYTHONPATH")' in xl
        assert "Right$(sht.Name, 3) = \".py\"" in xl  # a sheet named *.py would send it to xlwings.pro: none here
        module_name = b.file_name.rsplit(".", 1)[0]
        assert module_name == b.module
        # run what the VBA runs, with the PYTHONPATH the add-in's settings give
        monkeypatch.syspath_prepend(str(root / "home" / "python"))
        sys.modules.pop(module_name, None)
        importlib.import_module(module_name).main()
    assert pressed == ["train", "predict", "explain", "templates"]


def test_install_says_what_it_did_and_uninstall_undoes_it(tmp_path):
    lines = install_desktop(startup=tmp_path / "XLSTART", home=tmp_path / "home", interpreter="/usr/bin/python3")
    assert any("SheetDL.xlam" in line for line in lines) and lines[-1].startswith("Restart Excel")
    assert sorted(p.name for p in (tmp_path / "XLSTART").iterdir()) == sorted(b.file_name for b in BUTTONS)
    out = uninstall_desktop(startup=tmp_path / "XLSTART", home=tmp_path / "home")
    assert not list((tmp_path / "XLSTART").iterdir()) and not list((tmp_path / "home" / "python").iterdir())
    assert out[-1] == "Restart Excel: the SheetDL tab is gone."
    assert uninstall_desktop(startup=tmp_path / "XLSTART", home=tmp_path / "home") == [
        "The SheetDL tab for desktop Excel was not installed; nothing to remove."]


def test_unblock_steps_name_the_windows_setting():
    text = " ".join(desktop.UNBLOCK_STEPS)
    assert "Unblock" in text and "Properties" in text and "Unblock-File" in text
