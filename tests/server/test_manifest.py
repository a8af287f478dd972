"""The add-in manifest: well-formed, every reference resolves, icons exist at the sizes it names, the
four ribbon buttons run in the pane's shared runtime and open it at their view, and the whole manifest
is valid against Microsoft's published schemas kept in addin/schemas/ (see its README for their
sources and the one addition)."""

from __future__ import annotations

import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")
from builders import ADDIN, ROOT

from sheetdl.server.addin import manifest_version, render_manifest
from sheetdl.version import __version__

MANIFEST = ADDIN / "manifest.xml"
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
        assert _png_size(ADDIN / "assets" / name) == (n, n)


def test_ribbon_tab_with_four_buttons_in_the_shared_runtime(root):
    """One runtime (the pane's page, kept alive) serves the ribbon and the pane: each button runs a
    function that taskpane.js associates and that shows the pane at the button's view."""
    tab = root.find(".//ov:CustomTab", NS)
    strings = {e.get("id"): e.get("DefaultValue") for e in root.iter(f"{{{NS['bt']}}}String")}
    urls = {e.get("id"): e.get("DefaultValue") for e in root.iter(f"{{{NS['bt']}}}Url")}
    assert strings[tab.find("ov:Label", NS).get("resid")] == "SheetDL"
    buttons = tab.findall(".//ov:Control", NS)
    labels = [strings[b.find("ov:Label", NS).get("resid")] for b in buttons]
    assert labels == ["Train", "Predict", "Explain", "Templates"]

    host = root.find("ov:VersionOverrides/ov:Hosts/ov:Host", NS)
    runtimes = host.findall("ov:Runtimes/ov:Runtime", NS)
    assert len(runtimes) == 1 and runtimes[0].get("lifetime") == "long"
    pane = urls[runtimes[0].get("resid")]
    assert pane == "https://localhost:47811/taskpane/taskpane.html"
    # the function file and the add-in's own page are the runtime's page, or Office starts a second runtime
    assert host.find("ov:DesktopFormFactor/ov:FunctionFile", NS).get("resid") == runtimes[0].get("resid")
    assert root.find("o:DefaultSettings/o:SourceLocation", NS).get("DefaultValue") == pane
    sets = {s.get("Name"): s.get("MinVersion") for s in root.iterfind("o:Requirements/o:Sets/o:Set", NS)}
    assert sets["SharedRuntime"] == "1.1"

    script = (ADDIN / "taskpane" / "taskpane.js").read_text()
    for b, label in zip(buttons, labels):
        action = b.find("ov:Action", NS)
        assert action.get(XSI_TYPE) == "ExecuteFunction"
        name = action.find("ov:FunctionName", NS).text
        assert name == f"show{label}"
        assert f'Office.actions.associate("{name}", showAt("{label.lower()}"))' in script


def _project_page() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Homepage"]


def test_only_https_localhost_and_the_port_is_rewritten():
    """The pane's pages and icons come from the local server; the support and learn-more links go to
    the project's public page, which answers when the server is not running."""
    text = MANIFEST.read_text()
    public = []
    for token in text.split('"'):
        if token.startswith("http") and "schemas.microsoft.com" not in token and "w3.org" not in token:
            if not token.startswith("https://localhost:47811"):
                public.append(token)
                assert token.startswith(_project_page()), token
    assert len(public) == 2  # SupportUrl, GetStarted's LearnMoreUrl
    root = ET.fromstring(text.encode())
    assert root.find("o:SupportUrl", NS).get("DefaultValue").startswith(_project_page())
    # the pane's own origin needs no AppDomain (it would only repeat SourceLocation's)
    assert root.find("o:AppDomains", NS) is None
    other = render_manifest(50123)
    assert "47811" not in other and other.count("https://localhost:50123") == text.count("https://localhost:47811")
    ET.fromstring(other.encode())


def test_the_installed_manifest_carries_the_package_version():
    """One version, the package's: the source manifest holds a placeholder, and the copy `sheetdl addin
    install` writes says this SheetDL's version, so Excel replaces a cached older add-in."""
    assert ET.parse(MANIFEST).getroot().find("o:Version", NS).text == "0.0.0.0"
    rendered = ET.fromstring(render_manifest(47811).encode())
    assert rendered.find("o:Version", NS).text == manifest_version(__version__)
    assert manifest_version("0.1.0") == "0.1.0.0"
    assert manifest_version("2.10") == "2.10.0.0"
    assert manifest_version("1.2.3rc1") == "1.2.3.0"
    assert manifest_version("0.3.0.dev2+g1a2b") == "0.3.0.0"
    assert manifest_version("1.2.3.4.5") == "1.2.3.4"


def _manifest_schema():
    xmlschema = pytest.importorskip("xmlschema")
    # 'lax': the published basic types carry one pattern XSD regexes don't allow ("{0,3}?", in a
    # Version type the manifest doesn't use); anything else wrong with any of the schemas fails here
    schema = xmlschema.XMLSchema(str(SCHEMAS / "OfficeAppManifestV1_1.xsd"), validation="lax")
    problems = [str(e.elem.get("value")) for sc in schema.maps.iter_schemas() for e in sc.all_errors]
    assert problems == ["([0-9]{1,5})(\\.[0-9]{1,5}){0,3}?"], problems
    assert {Path(sc.url).name for sc in schema.maps.iter_schemas() if sc.url} >= {
        "OfficeAppManifestV1_1.xsd", "OfficeAppBasicTypesV1_0.xsd", "TaskPaneAppVersionOverridesV1_0.xsd",
        "MailAppVersionOverridesV1_0.xsd", "MailAppVersionOverridesV1_1.xsd"}
    return schema


def test_whole_manifest_valid_against_the_published_schemas():
    """The whole manifest, from the OfficeApp root down, against Microsoft's schemas (addin/schemas/)."""
    schema = _manifest_schema()
    schema.validate(str(MANIFEST))
    schema.validate(render_manifest(50123))


def test_the_schema_check_catches_mistakes():
    import xmlschema

    schema = _manifest_schema()
    text = MANIFEST.read_text()
    assert "<Id>" in text and "<Version>" in text and "<Permissions>ReadWriteDocument" in text
    for broken in (
        text.replace("<Id>16ee6671-4a5a-4b45-a081-ce07381e16c2</Id>", "<Id>sheetdl</Id>"),  # not a GUID
        text.replace("<Version>0.0.0.0</Version>", "<Version>0.1-beta</Version>"),
        text.replace("<Permissions>ReadWriteDocument", "<Permissions>Everything"),
        text.replace("  <Requirements>", "  <Hostz/>\n  <Requirements>", 1),  # an element the root has no place for
        text.replace('<Label resid="Tab.Label"/>', ""),  # a custom tab needs its label
        text.replace('xsi:type="ExecuteFunction"', 'xsi:type="RunFunction"'),  # no such action
        text.replace('resid="Train.Tip"', 'resid="A.resource.id.longer.than.32.chars"'),
        text.replace("<Supertip>", "<SuperTip>").replace("</Supertip>", "</SuperTip>"),
        text.replace('lifetime="long"', 'lifetime="forever"'),  # the shared runtime is "long" or "short"
        # Runtimes must come first in the Host
        text.replace("""        <Runtimes>
          <Runtime resid="Taskpane.Url" lifetime="long"/>
        </Runtimes>
""", "").replace("</DesktopFormFactor>", """</DesktopFormFactor>
        <Runtimes><Runtime resid="Taskpane.Url" lifetime="long"/></Runtimes>"""),
    ):
        assert broken != text
        with pytest.raises((xmlschema.XMLSchemaValidationError, KeyError)):  # an unknown xsi:type: KeyError
            schema.validate(broken)


def test_the_vendored_schemas_are_the_published_text():
    """addin/schemas/README.md gives each copied schema's SHA-256 as published; undoing the one fix it
    documents (the XML Schema namespace) must give that text back, so no edit slips in unnoticed."""
    import hashlib
    import re

    rows = re.findall(r"^\| `([^`]+\.xsd)` \|[^|]+\| `([0-9a-f]{8})…([0-9a-f]{9})` \|", (SCHEMAS / "README.md").read_text(),
                      re.M)
    assert {name for name, _, _ in rows} == {"OfficeAppManifestV1_1.xsd", "MailAppVersionOverridesV1_0.xsd",
                                             "MailAppVersionOverridesV1_1.xsd"}
    for name, head, tail in rows:
        text = (SCHEMAS / name).read_text(encoding="utf-8")
        if name.startswith("Mail"):
            text = text.replace('xmlns:xs="http://www.w3.org/2001/XMLSchema"', 'xmlns:xs="https://www.w3.org/2001/XMLSchema"')
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert digest.startswith(head) and digest.endswith(tail), name
