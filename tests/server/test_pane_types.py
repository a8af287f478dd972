"""The task pane's Office.js check (`make lint`: addin/tsconfig.json, addin/api-sets.mjs) fails when it
should: a call Office.js doesn't have, and a manifest asking for less than the pane needs. It needs the
Node.js packages `make lint` installs (addin/node_modules), so it runs after `make lint` (as in CI)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDIN = ROOT / "addin"
PANE = ROOT / "sheetdl" / "data" / "addin" / "taskpane" / "taskpane.js"
MANIFEST = ROOT / "sheetdl" / "data" / "addin" / "manifest.xml"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ADDIN / "node_modules" / "typescript").is_dir(),
    reason="needs Node.js and addin/node_modules (make lint installs them)")


def _api_sets(tmp_path, pane_text: str, manifest_text: str) -> subprocess.CompletedProcess:
    pane, manifest = tmp_path / "taskpane.js", tmp_path / "manifest.xml"
    pane.write_text(pane_text, encoding="utf-8")
    manifest.write_text(manifest_text, encoding="utf-8")
    return subprocess.run(["node", "api-sets.mjs", "--pane", str(pane), "--manifest", str(manifest),
                           "--table", str(ADDIN / "api-sets.md")], cwd=ADDIN, capture_output=True, text=True,
                          timeout=120)


def test_the_pane_as_shipped_passes(tmp_path):
    done = _api_sets(tmp_path, PANE.read_text(encoding="utf-8"), MANIFEST.read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stderr
    assert "ExcelApi 1.7" in done.stdout


def test_a_manifest_asking_for_less_than_the_pane_needs_fails(tmp_path):
    lower = re.sub(r'(<Set Name="ExcelApi" MinVersion=")[\d.]+"', r'\g<1>1.6"', MANIFEST.read_text(encoding="utf-8"))
    done = _api_sets(tmp_path, PANE.read_text(encoding="utf-8"), lower)
    assert done.returncode == 1
    assert "the manifest asks for ExcelApi 1.6; the pane needs 1.7" in done.stderr


def test_a_newer_call_without_asking_first_fails(tmp_path):
    # reading a cell's position (ExcelApi 1.10) outside the pictures' isSetSupported check
    pane = PANE.read_text(encoding="utf-8").replace(
        'used.load("address,rowIndex,columnIndex,rowCount,columnCount");',
        'used.load("address,rowIndex,columnIndex,rowCount,columnCount,left"); var x = used.left;', 1)
    assert "used.left" in pane
    done = _api_sets(tmp_path, pane, MANIFEST.read_text(encoding="utf-8"))
    assert done.returncode == 1
    assert "the manifest asks for ExcelApi 1.7; the pane needs 1.10" in done.stderr


def test_a_call_office_js_does_not_have_fails_the_type_check(tmp_path):
    pane = tmp_path / "taskpane.js"
    pane.write_text(PANE.read_text(encoding="utf-8").replace(".format.rowHeight", ".format.rowHeigth", 1),
                    encoding="utf-8")
    config = tmp_path / "tsconfig.json"  # addin/tsconfig.json's options, on the changed copy
    config.write_text(json.dumps({"extends": str(ADDIN / "tsconfig.json"),
                                  "compilerOptions": {"typeRoots": [str(ADDIN / "node_modules" / "@types")]},
                                  "files": [str(pane), str(ADDIN / "taskpane-globals.d.ts")]}), encoding="utf-8")
    done = subprocess.run(["node", str(ADDIN / "node_modules" / "typescript" / "bin" / "tsc"), "--project",
                           str(config)], cwd=ADDIN, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Property 'rowHeigth' does not exist on type 'RangeFormat'" in done.stdout
