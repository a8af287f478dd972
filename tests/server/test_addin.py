"""`sheetdl addin install | uninstall | status`, per system, without touching this machine's trust stores:
OS commands go through a recording runner and the Windows registry is an in-memory stand-in."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("cryptography")

from sheetdl.cli.commands import main  # noqa: E402
from sheetdl.errors import SheetDLError  # noqa: E402
from sheetdl.server import addin  # noqa: E402
from sheetdl.server.config import ServerConfig  # noqa: E402


class FakeRegistry(addin.Registry):
    def __init__(self):
        self.values = {}

    def set(self, name, value):
        self.values[name] = value

    def delete(self, name):
        self.values.pop(name, None)

    def get(self, name):
        return self.values.get(name)


def _host(platform, tmp_path, answer="y"):
    said, ran = [], []
    host = addin.Host(platform=platform, runner=lambda cmd: ran.append(cmd) or 0, ask=lambda q: answer,
                      say=said.append, registry=FakeRegistry(), mac_wef=tmp_path / "wef")
    return host, said, ran


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEETDL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_install_puts_a_new_token_in_the_installed_manifest_only(home, capsys):
    """The token reaches the pane through the manifest's task pane URL (in the user's own profile);
    installing again rotates it."""
    assert main(["addin", "install", "--yes", "--port", "47999"]) == 0
    token = (home / "token").read_text().strip()
    text = (home / "manifest.xml").read_text()
    assert f'<SourceLocation DefaultValue="https://localhost:47999/taskpane/taskpane.html?t={token}"/>' in text
    assert f'id="Taskpane.Url" DefaultValue="https://localhost:47999/taskpane/taskpane.html?t={token}"/>' in text
    assert text.count(token) == 2  # not in the support or learn-more links a user opens in a browser
    if os.name == "posix":
        assert (home / "manifest.xml").stat().st_mode & 0o777 == 0o600
    assert main(["addin", "install", "--yes", "--port", "47999"]) == 0
    rotated = (home / "token").read_text().strip()
    assert rotated != token and len(rotated) >= 32
    assert rotated in (home / "manifest.xml").read_text() and token not in (home / "manifest.xml").read_text()
    assert ServerConfig(home=home).token == rotated


def test_linux_install_prints_exact_steps_and_writes_the_manifest(home, capsys):
    assert main(["addin", "install", "--yes", "--port", "47999"]) == 0
    out = capsys.readouterr().out
    manifest = home / "manifest.xml"
    ca = home / "certs" / "sheetdl-ca.pem"
    assert manifest.is_file() and ca.is_file()
    text = manifest.read_text()
    assert '"https://localhost:47999/taskpane/taskpane.html?t=' in text and "47811" not in text
    assert f"<Version>{addin.manifest_version()}</Version>" in text  # this SheetDL's, so Excel reloads it
    assert f'certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "SheetDL local CA" -i "{ca}"' in out
    assert "Upload My Add-in" in out and f"Browse to the manifest: {manifest}" in out
    assert json.loads((home / "addin.json").read_text())["port"] == 47999

    assert main(["addin", "status"]) == 0  # the installed port is remembered
    out = capsys.readouterr().out
    assert f"Manifest: {manifest} (for https://localhost:47999)" in out
    assert "Server at https://localhost:47999: not running" in out

    assert main(["addin", "uninstall", "--yes"]) == 0
    assert not manifest.exists() and "Uninstalled." in capsys.readouterr().out


def test_status_sees_a_running_server(home, capsys):
    pytest.importorskip("uvicorn")
    from sheetdl.server.testing import free_port, running_server

    port = free_port()
    with running_server(ServerConfig(home=home, port=port)):
        assert main(["addin", "status", "--port", str(port)]) == 0
    out = capsys.readouterr().out
    assert f"Server at https://localhost:{port}: answers (SheetDL" in out
    assert "not installed" in out


def test_windows_install_trusts_the_ca_for_the_user_and_registers_the_manifest(tmp_path):
    cfg = ServerConfig(home=tmp_path / "home", port=47811)
    host, said, ran = _host("win32", tmp_path)
    done = addin.install(cfg, host=host)
    ca = str(cfg.cert_dir / "sheetdl-ca.pem")
    assert ran == [["certutil", "-user", "-addstore", "Root", ca]]
    assert host.registry.values == {addin.ADDIN_ID: str(cfg.home / "manifest.xml")}
    assert done["ca_trusted"] and done["registered"].endswith(addin.ADDIN_ID)
    assert any("certutil -user -addstore Root" in s for s in said)  # shown before asking
    lines = addin.status(cfg, host=host, timeout=0.5)
    assert any("Software\\Microsoft\\Office\\16.0\\WEF\\Developer" in s for s in lines)
    assert any("trusted by the system" in s for s in lines)

    addin.uninstall(cfg, host=host)
    assert host.registry.values == {}
    assert ran[-1][:4] == ["certutil", "-user", "-delstore", "Root"]


def test_mac_install_uses_the_login_keychain_and_excels_wef_folder(tmp_path):
    cfg = ServerConfig(home=tmp_path / "home", port=47811)
    host, said, ran = _host("darwin", tmp_path)
    addin.install(cfg, host=host)
    assert ran[0][:5] == ["security", "add-trusted-cert", "-r", "trustRoot", "-k"]
    assert ran[0][5].endswith("Library/Keychains/login.keychain-db") and ran[0][6].endswith("sheetdl-ca.pem")
    copied = tmp_path / "wef" / "sheetdl-manifest.xml"
    assert copied.read_text() == (cfg.home / "manifest.xml").read_text()
    addin.uninstall(cfg, host=host)
    assert not copied.exists() and ran[-1][:3] == ["security", "delete-certificate", "-Z"]


def test_nothing_changes_without_consent(tmp_path):
    cfg = ServerConfig(home=tmp_path / "home", port=47811)
    host, said, ran = _host("win32", tmp_path, answer="n")
    with pytest.raises(SheetDLError, match="Nothing was changed"):
        addin.install(cfg, host=host)
    assert ran == [] and host.registry.values == {} and not (cfg.home / "manifest.xml").exists()


def test_a_failed_trust_command_is_reported(tmp_path):
    cfg = ServerConfig(home=tmp_path / "home", port=47811)
    host, said, _ = _host("win32", tmp_path)
    host.runner = lambda cmd: 5
    assert addin.install(cfg, yes=True, host=host)["ca_trusted"] is False
    assert any("Could not trust the certificate" in s for s in said)

# the wheel's add-in files, served from an installed copy: tests/test_package_install.py
