"""``sheetdl addin install | uninstall | status``: trust the local certificate, write the manifest
with the right port, and register it with Excel for sideloading — only after the user agrees.

What each system needs:

- Windows: the CA in the user's root store (``certutil -user -addstore Root``), the manifest's path
  as a value under ``HKCU\\Software\\Microsoft\\Office\\16.0\\WEF\\Developer``.
- macOS: the CA trusted in the login keychain (``security add-trusted-cert``), the manifest copied
  into Excel's ``wef`` folder.
- Excel on the web (any system): the browser must trust the CA; the manifest is uploaded by hand
  (Home → Add-ins → More Add-ins → Upload My Add-in). Elsewhere (Linux) we print the exact steps.

Every OS command goes through ``runner`` so tests can see the commands without running them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SheetDLError
from ..version import __version__
from .config import ADDIN_DIR, DEFAULT_PORT, ServerConfig, private_file

__all__ = ["render_manifest", "manifest_version", "install", "uninstall", "status", "Host"]

ADDIN_ID = "16ee6671-4a5a-4b45-a081-ce07381e16c2"
WEF_KEY = r"Software\Microsoft\Office\16.0\WEF\Developer"
MAC_WEF = Path("~/Library/Containers/com.microsoft.Excel/Data/Documents/wef").expanduser()
MAC_KEYCHAIN = "~/Library/Keychains/login.keychain-db"
CA_NAME = "SheetDL local CA"

WEB_STEPS = [
    "Open your workbook in Excel on the web (office.com) in a browser that trusts the SheetDL certificate.",
    "Home tab → Add-ins → More Add-ins (or: Insert → Add-ins → Office Add-ins).",
    "Choose the 'My Add-ins' tab → 'Upload My Add-in' (under 'Manage My Add-ins').",
    "Browse to the manifest: {manifest}",
    "Choose Upload. The SheetDL tab appears on the ribbon while `sheetdl serve` is running.",
]


def manifest_version(version: str = __version__) -> str:
    """SheetDL's version as a manifest's <Version>: four numbers of at most five digits ('0.1.0' →
    '0.1.0.0'). A pre-release or local tag ('1.2.0rc1', '0.3.dev2+g1a2b') keeps its release numbers."""
    release = re.match(r"\d+(?:\.\d+)*", version.strip())
    parts = [int(p) for p in release.group(0).split(".")] if release else []
    parts = (parts + [0, 0, 0, 0])[:4]
    return ".".join(str(min(p, 99999)) for p in parts)


def render_manifest(port: int, token: str = "") -> str:
    """The add-in manifest pointing at https://localhost:PORT, with this SheetDL's version (Excel keeps
    a cached copy of an add-in until its manifest's version changes); with ``token``, the task pane's URLs
    carry it (``taskpane.html?t=TOKEN``): the one way the token reaches the pane. The support and
    learn-more links (which a user may open in a browser) never do."""
    source = ADDIN_DIR / "manifest.xml"
    if not source.is_file():
        raise SheetDLError("This copy of SheetDL was installed without the Excel add-in's files.",
                           hint="Reinstall SheetDL (pip install --force-reinstall sheetdl); its package carries "
                                "them in sheetdl/data/addin.")
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"<Version>[^<]*</Version>", f"<Version>{manifest_version()}</Version>", text, count=1)
    if token:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", token):
            raise SheetDLError("The SheetDL token is damaged.", hint="Delete the file 'token' in SheetDL's folder "
                               "and run `sheetdl addin install` again.")
        # the pane's own page (SourceLocation, Taskpane.Url); not the links a user opens in a browser
        text = re.sub(r'(<(?:SourceLocation|bt:Url id="Taskpane\.Url") DefaultValue="[^"?]*/taskpane\.html)"',
                      rf'\1?t={token}"', text)
    return text.replace(f"https://localhost:{DEFAULT_PORT}", f"https://localhost:{port}")


@dataclass
class Host:
    """The operating system's side, replaceable in tests."""

    platform: str = field(default_factory=lambda: sys.platform)
    runner: Callable[[list[str]], int] = field(default=lambda cmd: subprocess.run(cmd, check=False).returncode)
    ask: Callable[[str], str] = field(default=input)
    say: Callable[[str], None] = field(default=print)
    registry: Registry | None = None
    mac_wef: Path = MAC_WEF

    def reg(self) -> Registry:
        return self.registry or WindowsRegistry()


class Registry:
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def get(self, name: str) -> str | None: ...


class WindowsRegistry(Registry):
    """HKCU\\Software\\Microsoft\\Office\\16.0\\WEF\\Developer: name → manifest path (Office's sideload list)."""

    # the registry exists on Windows only; elsewhere (where this class is never made) nothing happens

    def set(self, name: str, value: str) -> None:
        if sys.platform == "win32":
            import winreg

            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, WEF_KEY) as k:
                winreg.SetValueEx(k, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WEF_KEY, 0, winreg.KEY_SET_VALUE) as k:
                    winreg.DeleteValue(k, name)
            except FileNotFoundError:
                pass

    def get(self, name: str) -> str | None:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WEF_KEY) as k:
                    return winreg.QueryValueEx(k, name)[0]
            except FileNotFoundError:
                return None
        return None


def _record_path(config: ServerConfig) -> Path:
    return config.home / "addin.json"


def _record(config: ServerConfig) -> dict:
    try:
        return json.loads(_record_path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _kind(platform: str) -> str:
    return "windows" if platform.startswith("win") else "mac" if platform == "darwin" else "other"


def _consent(host: Host, plan: list[str], yes: bool) -> None:
    host.say("SheetDL will:")
    for line in plan:
        host.say(f"  • {line}")
    if yes:
        return
    answer = host.ask("Go ahead? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise SheetDLError("Nothing was changed.", hint="Run the command again and answer 'y' to install.")


def install(config: ServerConfig, *, yes: bool = False, host: Host | None = None) -> dict:
    """Trust the CA, write the manifest, register it; returns what was done (also kept in addin.json)."""
    from .certs import ensure_certificates

    host = host or Host()
    kind = _kind(host.platform)
    certs = ensure_certificates(config.cert_dir)
    manifest = config.home / "manifest.xml"
    plan = [f"write the add-in manifest for https://localhost:{config.port} to {manifest}, with a new key that "
            "only the task pane gets (an earlier install's manifest stops working)"]
    if kind == "windows":
        plan += [f"trust SheetDL's own certificate authority (valid only for localhost) for your Windows user: "
                 f"certutil -user -addstore Root \"{certs.ca_cert}\"",
                 f"register the manifest with Excel: HKCU\\{WEF_KEY} → {ADDIN_ID}"]
    elif kind == "mac":
        plan += [f"trust SheetDL's own certificate authority (valid only for localhost) in your login keychain: "
                 f"security add-trusted-cert -r trustRoot -k {MAC_KEYCHAIN} \"{certs.ca_cert}\" "
                 "(macOS asks for your password)",
                 f"copy the manifest into Excel's add-in folder: {host.mac_wef}"]
    else:
        plan += ["print how to trust the certificate and add the manifest in Excel on the web "
                 "(this system has no desktop Excel)"]
    _consent(host, plan, yes)

    # a fresh token each install (rotation); the manifest carries it: readable by the user only
    config.new_token()
    private_file(manifest, render_manifest(config.port, config.token))
    done = {"port": config.port, "manifest": str(manifest), "platform": kind, "ca": str(certs.ca_cert),
            "ca_trusted": False, "registered": None}
    if kind == "windows":
        done["ca_trusted"] = _run(host, ["certutil", "-user", "-addstore", "Root", str(certs.ca_cert)],
                                  "trust the certificate")
        host.reg().set(ADDIN_ID, str(manifest))
        done["registered"] = f"HKCU\\{WEF_KEY}\\{ADDIN_ID}"
    elif kind == "mac":
        done["ca_trusted"] = _run(host, ["security", "add-trusted-cert", "-r", "trustRoot", "-k",
                                         os.path.expanduser(MAC_KEYCHAIN), str(certs.ca_cert)], "trust the certificate")
        host.mac_wef.mkdir(parents=True, exist_ok=True)
        target = host.mac_wef / "sheetdl-manifest.xml"
        private_file(target, manifest.read_text(encoding="utf-8"))
        done["registered"] = str(target)
    private_file(_record_path(config), json.dumps(done, indent=2))

    host.say("")
    if kind == "other":
        for line in trust_steps(certs.ca_cert):
            host.say(line)
        host.say("")
    else:
        host.say("Installed. Start (or restart) the server with `sheetdl serve`, then restart Excel: the SheetDL tab "
                 "is on the ribbon. This install made a new key, so a manifest from an earlier install no longer "
                 "opens the pane.")
        host.say("")
    host.say("Excel on the web:")
    for i, step in enumerate(WEB_STEPS, 1):
        host.say(f"  {i}. {step.format(manifest=manifest)}")
    return done


def trust_steps(ca: Path) -> list[str]:
    """How to make a browser on Linux (or anywhere we don't automate) trust SheetDL's CA."""
    return [
        "To use SheetDL from Excel on the web, your browser must trust SheetDL's certificate authority",
        f"(it is valid only for localhost): {ca}",
        "  Chrome, Chromium, Edge (Linux, needs libnss3-tools):",
        f"    certutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n \"{CA_NAME}\" -i \"{ca}\"",
        "  Firefox: Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import…,",
        f"    choose {ca} and tick 'Trust this CA to identify websites'.",
        "  Then restart the browser. To undo: the same dialogs, or",
        f"    certutil -d sql:$HOME/.pki/nssdb -D -n \"{CA_NAME}\"",
    ]


def _run(host: Host, cmd: list[str], what: str) -> bool:
    try:
        code = host.runner(cmd)
    except FileNotFoundError:
        code = -1
    if code != 0:
        host.say(f"Could not {what} (the command `{' '.join(cmd)}` failed); Excel will refuse to load the pane "
                 "until it is trusted.")
        return False
    return True


def uninstall(config: ServerConfig, *, yes: bool = False, host: Host | None = None) -> None:
    host = host or Host()
    rec = _record(config)
    kind = _kind(host.platform)
    ca = config.cert_dir / "sheetdl-ca.pem"
    plan = []
    if kind == "windows":
        plan += [f"remove the registration HKCU\\{WEF_KEY} → {ADDIN_ID}",
                 f"stop trusting SheetDL's certificate authority: certutil -user -delstore Root \"{_ca_serial(ca)}\""]
    elif kind == "mac":
        plan += [f"remove {host.mac_wef / 'sheetdl-manifest.xml'}",
                 f"stop trusting SheetDL's certificate authority: security delete-certificate -Z {_ca_sha1(ca)} "
                 f"{MAC_KEYCHAIN}"]
    plan.append(f"delete the manifest {config.home / 'manifest.xml'} (in Excel on the web, remove the add-in from "
                "Home → Add-ins → My Add-ins yourself)")
    _consent(host, plan, yes)
    if kind == "windows":
        host.reg().delete(ADDIN_ID)
        if ca.is_file():
            _run(host, ["certutil", "-user", "-delstore", "Root", _ca_serial(ca)], "remove the certificate")
    elif kind == "mac":
        (host.mac_wef / "sheetdl-manifest.xml").unlink(missing_ok=True)
        if ca.is_file():
            _run(host, ["security", "delete-certificate", "-Z", _ca_sha1(ca), os.path.expanduser(MAC_KEYCHAIN)],
                 "remove the certificate")
    elif ca.is_file():
        host.say("Remove SheetDL's certificate authority from your browser as well:")
        host.say(f"    certutil -d sql:$HOME/.pki/nssdb -D -n \"{CA_NAME}\"")
    (config.home / "manifest.xml").unlink(missing_ok=True)
    _record_path(config).unlink(missing_ok=True)
    host.say("Uninstalled." if rec else "SheetDL's add-in was not installed; nothing else to undo.")


def _ca_cert(ca: Path):
    from cryptography import x509

    return x509.load_pem_x509_certificate(ca.read_bytes()) if ca.is_file() else None


def _ca_serial(ca: Path) -> str:
    cert = _ca_cert(ca)
    return format(cert.serial_number, "x") if cert else "?"


def _ca_sha1(ca: Path) -> str:
    from cryptography.hazmat.primitives import hashes

    cert = _ca_cert(ca)
    return cert.fingerprint(hashes.SHA1()).hex().upper() if cert else "?"


def status(config: ServerConfig, *, host: Host | None = None, timeout: float = 2.0) -> list[str]:
    """What is installed, and whether the server answers."""
    host = host or Host()
    kind = _kind(host.platform)
    rec = _record(config)
    lines = []
    manifest = config.home / "manifest.xml"
    if rec and manifest.is_file():
        lines.append(f"Manifest: {manifest} (for https://localhost:{rec.get('port')})")
        lines.append("Certificate authority: " + ("trusted by the system" if rec.get("ca_trusted") else
                     "not trusted by the system (see `sheetdl addin install`)" if kind != "other" else
                     f"{rec.get('ca')} (trust it in your browser for Excel on the web)"))
    else:
        lines.append("Add-in: not installed (run `sheetdl addin install`).")
    if kind == "windows":
        value = host.reg().get(ADDIN_ID)
        where = "HKCU\\" + WEF_KEY + " → " + value if value else "none"
        lines.append(f"Excel registration: {where}")
    elif kind == "mac":
        f = host.mac_wef / "sheetdl-manifest.xml"
        lines.append(f"Excel registration: {f if f.is_file() else 'none'}")
    else:
        lines.append("Excel registration: Excel on the web only — upload the manifest "
                     "(Home → Add-ins → Upload My Add-in).")
    port = rec.get("port", config.port)
    lines.append(f"Server at https://localhost:{port}: " + _server_answer(config, port, timeout))
    return lines


def _server_answer(config: ServerConfig, port: int, timeout: float) -> str:
    import ssl
    import urllib.request

    ca = config.cert_dir / "sheetdl-ca.pem"
    try:
        ctx = ssl.create_default_context(cafile=str(ca)) if ca.is_file() else ssl.create_default_context()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
        with opener.open(f"https://localhost:{port}/api/health", timeout=timeout) as r:
            data = json.loads(r.read().decode())
        if data.get("app") == "sheetdl":
            return f"answers (SheetDL {data.get('version')})"
        return "something else answers there"
    except ssl.SSLError:
        return "answers, but not with this SheetDL's certificate"
    except OSError:
        return "not running (start it with `sheetdl serve`)"
