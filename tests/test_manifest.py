"""The add-in manifest: well-formed, every reference resolves, icons exist at the sizes it names, the
four ribbon buttons open the pane at their view, and the ribbon part (VersionOverrides) is valid
against Microsoft's published schema kept in addin/schemas/ (see its README for what is there)."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sheetdl.server.addin import render_manifest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "addin" / "manifest.xml"
SCHEMAS = ROOT / "addin" / "schemas"
NS = {"o": "http://schemas.microsoft.com/office/appforoffice/1.1",
      "ov": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
      "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = f"{{{NS['xsi']}}}type"


@pytest.fixture(scope="module")
def root():
    return ET.parse(MANIFEST).getroot()


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_every_reference_resolves_and_icons_exist_at_their_sizes(root):
    res = root.find("ov:VersionOverrides/ov:Resources", NS)
    images = {e.get("id"): e.get("DefaultValue") for e in res.iterfind("bt:Images/bt:Image", NS)}
    urls = {e.get("id") for e in res.iterfind("bt:Urls/bt:Url", NS)}
    short = {e.get("id") for e in res.iterfind("bt:ShortStrings/bt:String", NS)}
    long_ = {e.get("id") for e in res.iterfind("bt:LongStrings/bt:String", NS)}
    known = set(images) | urls | short | long_
    for e in root.iter():
        if e.get("resid"):
            assert e.get("resid") in known, e.get("resid")
            assert len(e.get("resid")) <= 32
    # icons: each control and the group carry 16, 32 and 80 px; the files exist at those sizes
    for icon in root.iter(f"{{{NS['ov']}}}Icon"):
        sizes = {int(i.get("size")): i.get("resid") for i in icon.iterfind("bt:Image", NS)}
        assert {16, 32, 80} <= set(sizes)
        for size, rid in sizes.items():
            assert images[rid].endswith(f"/assets/icon-{size}.png")
    for url in list(images.values()) + [root.find("o:IconUrl", NS).get("DefaultValue"),
                                        root.find("o:HighResolutionIconUrl", NS).get("DefaultValue")]:
        name = url.split("/assets/")[1]
        n = int(name.split("-")[1].split(".")[0])
        assert _png_size(ROOT / "addin" / "assets" / name) == (n, n)


def test_ribbon_tab_with_four_buttons_opening_the_pane_at_their_view(root):
    tab = root.find(".//ov:CustomTab", NS)
    strings = {e.get("id"): e.get("DefaultValue") for e in root.iter(f"{{{NS['bt']}}}String")}
    urls = {e.get("id"): e.get("DefaultValue") for e in root.iter(f"{{{NS['bt']}}}Url")}
    assert strings[tab.find("ov:Label", NS).get("resid")] == "SheetDL"
    buttons = tab.findall(".//ov:Control", NS)
    labels = [strings[b.find("ov:Label", NS).get("resid")] for b in buttons]
    assert labels == ["Train", "Predict", "Explain", "Templates"]
    for b, label in zip(buttons, labels):
        action = b.find("ov:Action", NS)
        assert action.get(XSI_TYPE) == "ShowTaskpane"
        assert action.find("ov:TaskpaneId", NS).text == "SheetDL.Pane"  # one pane, reused
        url = urls[action.find("ov:SourceLocation", NS).get("resid")]
        assert url == f"https://localhost:47811/taskpane/taskpane.html?view={label.lower()}"


def test_only_https_localhost_and_the_port_is_rewritten():
    text = MANIFEST.read_text()
    for token in text.split('"'):
        if token.startswith("http") and "schemas.microsoft.com" not in token and "w3.org" not in token:
            assert token.startswith("https://localhost:47811"), token
    other = render_manifest(50123)
    assert "47811" not in other and other.count("https://localhost:50123") == text.count("https://localhost:47811")
    ET.fromstring(other.encode())


def _overrides_schema():
    xmlschema = pytest.importorskip("xmlschema")
    # 'lax': the published basic types carry one pattern XSD regexes don't allow ("{0,3}?", for the
    # root's <Version>, not used below VersionOverrides); anything else wrong with the schema fails here
    schema = xmlschema.XMLSchema(str(SCHEMAS / "TaskPaneAppVersionOverridesV1_0.xsd"), validation="lax")
    problems = [str(e.elem.get("value")) for sc in schema.maps.iter_schemas() for e in sc.all_errors]
    assert problems == ["([0-9]{1,5})(\\.[0-9]{1,5}){0,3}?"], problems
    return schema


def _validate_overrides(schema, manifest_text: str) -> None:
    root = ET.fromstring(manifest_text.encode())
    overrides = root.find("ov:VersionOverrides", NS)
    # xsi:type values ("Workbook", "Button", "ShowTaskpane") are names in the overrides namespace
    schema.validate(overrides, namespaces={"": NS["ov"], "bt": NS["bt"], "xsi": NS["xsi"]})


def test_ribbon_valid_against_microsofts_published_schema():
    """VersionOverrides (tab, group, buttons, icons, resources) against TaskPaneAppVersionOverridesV1_0.xsd."""
    schema = _overrides_schema()
    _validate_overrides(schema, MANIFEST.read_text())
    _validate_overrides(schema, render_manifest(50123))


def test_the_schema_check_catches_mistakes():
    import xmlschema

    schema = _overrides_schema()
    text = MANIFEST.read_text()
    for broken in (
        text.replace('<Label resid="Tab.Label"/>', ""),  # a custom tab needs its label
        text.replace('xsi:type="ShowTaskpane"', 'xsi:type="OpenPane"'),  # no such action
        text.replace('resid="Train.Tip"', 'resid="A.resource.id.longer.than.32.chars"'),
        text.replace("<Supertip>", "<SuperTip>").replace("</Supertip>", "</SuperTip>"),
    ):
        with pytest.raises((xmlschema.XMLSchemaValidationError, KeyError)):  # an unknown xsi:type: KeyError
            _validate_overrides(schema, broken)


@pytest.mark.skipif(not (SCHEMAS / "OfficeAppManifestV1_1.xsd").is_file(),
                    reason="OfficeAppManifestV1_1.xsd (the OfficeApp root) is not in addin/schemas/ yet")
def test_whole_manifest_valid_against_the_published_schemas():
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(str(SCHEMAS / "OfficeAppManifestV1_1.xsd"))
    schema.validate(str(MANIFEST))
