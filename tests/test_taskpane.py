"""The task pane in headless Chromium against a real SheetDL server, with Excel replaced by an
in-page workbook (addin/testing/office-mock.js, served in place of Microsoft's office.js).

It reads the penguins sheet (header below a title), shows each column's kind, trains a small model
while showing progress and the training curve, and the workbook ends with the prediction columns,
the report and importance sheets, their charts and conditional formats. Then Predict reuses the
model the workbook remembers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

from sheetdl.server.config import ServerConfig  # noqa: E402
from sheetdl.server.testing import free_port, running_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MOCK = ROOT / "addin" / "testing" / "office-mock.js"
OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
CHROMIUM = os.environ.get("SHEETDL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
#: where the README's screenshot is refreshed from (set SHEETDL_SCREENSHOT=docs/images/taskpane.png)
SCREENSHOT = os.environ.get("SHEETDL_SCREENSHOT")

pytestmark = pytest.mark.skipif(not CHROMIUM, reason="needs Chromium (apt-get install chromium)")


def _spki_hash(cert_pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(cert_pem)
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cfg = ServerConfig(home=tmp_path_factory.mktemp("sheetdl-home"), port=free_port())
    with running_server(cfg) as srv:
        yield cfg, srv


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    cfg, _ = server
    spki = _spki_hash((cfg.cert_dir / "localhost.pem").read_bytes())
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", f"--ignore-certificate-errors-spki-list={spki}"])
        yield b
        b.close()


def _penguin_rows():
    from palmerpenguins import load_penguins

    df = load_penguins()
    df.loc[df.index % 17 == 0, "species"] = None  # ~20 penguins to predict, spread over the sheet
    rows = json.loads(df.to_json(orient="values"))
    return [["Palmer penguins, 2007-2009"], []] + [list(df.columns)] + rows, int(df["species"].isna().sum())


def _wait(page, expression: str, timeout: float = 60.0) -> None:
    """Poll ``expression`` in the page (the pane's CSP forbids the eval wait_for_function uses)."""
    import time

    end = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {expression}; message: "
                                 f"{page.locator('#message').inner_text()!r}; errors: {page.errors}")
        page.wait_for_timeout(200)


def _page(browser, cfg, sheets, settings=None, tuning=None):
    context = browser.new_context(viewport={"width": 360, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.errors = []  # script errors in the pane, checked by each test
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.uploads = []  # the row chunks the pane sent
    page.on("request", lambda r: page.uploads.append(r.url) if r.url.endswith("/rows") else None)
    page.add_init_script(f"window.__SHEETDL_MOCK__ = {json.dumps({'sheets': sheets, 'settings': settings or {}})};"
                         f"window.__SHEETDL_TUNING__ = {json.dumps(tuning or {})};")
    mock = MOCK.read_text()

    def route(r):  # office.js → the mock; the server → through; nothing else leaves the machine
        url = r.request.url
        if url == OFFICE_JS:
            r.fulfill(body=mock, content_type="text/javascript")
        elif url.startswith(cfg.origin + "/"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.goto(f"{cfg.origin}/taskpane/taskpane.html")
    return page


def test_taskpane_trains_and_writes_results_into_the_workbook(server, browser, tmp_path):
    cfg, _ = server
    rows, n_blank = _penguin_rows()
    # small chunks, so reading, sending and writing each take several requests
    page = _page(browser, cfg, [{"name": "Penguins", "rows": rows}, {"name": "Notes", "rows": [["hello"]]}],
                 tuning={"readRows": 100, "uploadRows": 100, "cellsPerSync": 300})

    _wait(page, "document.querySelectorAll('#columns li').length === 8", timeout=20)
    assert page.locator("#server").inner_text().startswith("server")
    info = page.locator("#table-info").inner_text()
    assert "Sheet 'Penguins'" in info and "344 rows" in info and "A1:H347" in info
    assert page.locator("#target").input_value() == "species"
    kinds = dict(zip(page.locator("#columns .name").all_inner_texts(), page.locator("#columns .kind").all_inner_texts()))
    assert kinds["species"] == "to predict" and kinds["island"] == "category" and kinds["bill_length_mm"] == "number"

    page.get_by_label("use year").uncheck()
    page.select_option("#budget", "10")
    page.click("#train")
    page.wait_for_selector("#run:not([hidden])")
    _wait(page, "/Fold \\d of \\d/.test(document.getElementById('run-detail').textContent)", timeout=60)
    page.wait_for_selector("#curve path.line", state="attached", timeout=60000)
    assert "left" in page.locator("#eta").inner_text()
    page.wait_for_selector("#result:not([hidden])", timeout=120000)
    assert page.locator("#message").is_hidden(), page.locator("#message").inner_text()
    summary = page.locator("#summary").inner_text()
    assert "right" in summary and f"{n_blank} rows" in summary

    if SCREENSHOT:
        page.screenshot(path=str(ROOT / SCREENSHOT), full_page=True)
    page.screenshot(path=str(tmp_path / "taskpane.png"))

    book = {s["name"]: s for s in page.evaluate("window.__mockWorkbook.dump()")}
    stats = page.evaluate("window.__mockStats")
    assert stats["errors"] == [] and page.errors == []
    assert stats["maxRequestBytes"] < 5_000_000
    assert len(page.uploads) == 4  # 344 rows in chunks of 100
    assert stats["syncs"] > 10
    data = book["Penguins"]["grid"]
    header = data[2]
    assert header[8:11] == ["Predicted species", "Confidence", "Why"]
    predicted = [r[8] for r in data[3:]]
    assert len(predicted) == 344 and set(predicted) <= {"Adelie", "Gentoo", "Chinstrap"}
    assert all(0 < r[9] <= 1 for r in data[3:])
    # the rows whose species was blank are shaded
    blank_rows = [i for i, r in enumerate(data) if i > 2 and r[0] == ""]
    assert len(blank_rows) == n_blank
    assert all(book["Penguins"]["formats"].get(f"{i},8", {}).get("fill") for i in blank_rows)
    assert book["Penguins"]["formats"]["2,8"].get("font.bold") is True

    assert {"SheetDL Report", "SheetDL Importance", "Notes"} <= set(book)
    report, importance = book["SheetDL Report"], book["SheetDL Importance"]
    assert any("Line" == c["type"] for c in report["charts"])
    assert any(c["type"] == "BarClustered" for c in importance["charts"])
    assert report["conditionalFormats"] and report["conditionalFormats"][0]["colorScale"]["criteria"]["minimum"]
    words = " ".join(str(v) for row in report["grid"] for v in row)
    assert "year" in words and "species" in words
    imp_cols = [r[0] for r in importance["grid"] if r and r[0]]
    assert "year" not in imp_cols and "island" in imp_cols  # unticked, so not used

    saved = page.evaluate("window.__SHEETDL_SAVED_SETTINGS__")
    wb_id = saved["sheetdl.workbookId"]
    assert (cfg.models_dir / f"{wb_id}.sheetdl").is_file()
    assert json.loads(saved["sheetdl.model"])["target"] == "species"

    # Predict: the workbook remembers its model; new rows get predictions
    page.click("button[data-view=predict]")
    assert "species" in page.locator("#predict-info").inner_text()
    page.click("#predict")
    _wait(page, "window.__mockWorkbook.find('SheetDL Report 2') && "
                "document.getElementById('run-title').textContent === 'Finished' && "
                "!document.getElementById('predict').disabled", timeout=60)
    assert page.locator("#message").is_hidden(), page.locator("#message").inner_text()
    book = {s["name"]: s for s in page.evaluate("window.__mockWorkbook.dump()")}
    assert "SheetDL Report 2" in book
    assert book["Penguins"]["grid"][2][11] == "Predicted species"  # beside the first run's columns


def test_taskpane_shows_server_errors_in_plain_words(server, browser):
    cfg, _ = server
    rows = [["Name", "Score", "Grade"], ["a", 1, None], ["b", 2, None], ["c", 3, None]]
    page = _page(browser, cfg, [{"name": "Tiny", "rows": rows}])
    page.wait_for_selector("#table-info >> text=3 rows", timeout=20000)
    page.click("button[data-view=predict]")
    assert page.locator("#predict").is_disabled()  # no model in this workbook yet
    page.click("button[data-view=train]")
    # the column with blanks to fill has no filled rows to learn from: the server says so, the pane shows it
    page.wait_for_selector("#message:not([hidden])", timeout=60000)
    text = page.locator("#message").inner_text()
    assert "Grade" in text and "Traceback" not in text, text
    assert page.errors == []


def test_date_formatted_cells_reach_the_server_as_dates(server, browser):
    """Excel hands dates to Office.js as serial numbers; the pane reads their format and sends dates."""
    cfg, _ = server
    rows = [["Day", "Amount", "Label"]] + [[45292 + i, 10 + i, "ab"[i % 2]] for i in range(30)]
    formats = {f"{i},0": "yyyy-mm-dd" for i in range(1, 31)}
    page = _page(browser, cfg, [{"name": "Sales", "rows": rows, "formats": formats}])
    page.wait_for_selector("#table-info >> text=30 rows", timeout=20000)
    _wait(page, "document.querySelectorAll('#columns li').length === 3", timeout=20)
    kinds = dict(zip(page.locator("#columns .name").all_inner_texts(), page.locator("#columns .kind").all_inner_texts()))
    assert kinds["Day"] == "date"
    assert page.evaluate("window.SheetDLPane.state.table.rows[0][0]") == "2024-01-01"
    assert page.errors == []
