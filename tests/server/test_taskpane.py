"""The task pane in headless Chromium against a real SheetDL server, with Excel replaced by an
in-page workbook (addin/testing/office-mock.js, served in place of Microsoft's office.js).

It reads the penguins sheet (header below a title), shows each column's kind, trains a small model
while showing progress and the training curve, and the workbook ends with the prediction columns,
the report and importance sheets, their charts and conditional formats. Then Predict reuses the
model the workbook remembers. Pictures in a job's results (add_picture) land on their cells at their
size, an Excel too old for pictures gets the rest and a note, and the ribbon's functions (shared
runtime) show the pane at their view.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")


from builders import ROOT
from builders import grey_png as _png  # noqa: E402

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


def _page(browser, cfg, sheets, settings=None, tuning=None, excel_api=None):
    context = browser.new_context(viewport={"width": 360, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.errors = []  # script errors in the pane, checked by each test
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.uploads = []  # the row chunks the pane sent
    page.on("request", lambda r: page.uploads.append(r.url) if r.url.endswith("/rows") else None)
    seed = {"sheets": sheets, "settings": settings or {}, **({"excelApi": excel_api} if excel_api else {})}
    page.add_init_script(f"window.__SHEETDL_MOCK__ = {json.dumps(seed)};"
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
    page.goto(f"{cfg.origin}/taskpane/taskpane.html?t={cfg.token}")  # as the installed manifest opens it
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

    # a number to predict has no confidence, so no review marks to offer; a category has
    assert page.locator("#review-field").is_visible()
    assert page.locator("#fine-tune-field").is_hidden()  # no picture column: nothing to fine-tune
    page.select_option("#target", "body_mass_g")
    _wait(page, "document.getElementById('review-field').hidden === true", timeout=20)
    page.select_option("#target", "species")
    _wait(page, "document.getElementById('review-field').hidden === false", timeout=20)

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
    page.click("button[data-view=predict]")  # a problem with the training data is the Train view's
    assert page.locator("#message").is_hidden()
    page.click("button[data-view=train]")
    assert page.locator("#message").is_visible()
    # every column is still offered, the failing one chosen, so another can be picked right there
    assert page.locator("#target option").all_inner_texts() == ["Name", "Score", "Grade"]
    assert page.locator("#target").input_value() == "Grade" and page.locator("#train").is_disabled()
    page.select_option("#target", "Score")
    page.wait_for_selector("#message", state="hidden", timeout=20000)
    _wait(page, "document.querySelectorAll('#columns li').length === 3", timeout=20)
    assert page.locator("#train").is_enabled() and page.locator("#target").input_value() == "Score"
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


# ---- pictures (add_picture) and the shared runtime --------------------------------------------
def _finished_job(server, edits, summary=()):
    """A job the server holds as done, with these edits as its one page (what a training run that
    shows pictures leaves), so the pane fetches and applies them the way it does after Train."""
    from sheetdl.server.jobs import JobSpec

    manager = server[1].config.app.state.manager
    job = manager.create(JobSpec(kind="train", workbook_id="wb-pictures-pane", sheet="Cats", header_row=1,
                                 first_col=1, columns=["Photo"], n_rows=1))
    job.pages = [[e.to_dict() for e in edits]]
    job.summary = list(summary)
    job.state = "done"
    return job.id


def _picture_edits():
    from sheetdl.sheets import AddPicture, AddSheet, SetColumnWidth, SetRowHeight, WriteCells

    thumb, heat = _png(96, 64, 0x40), _png(48, 48, 0xC0)
    return [
        AddSheet("SheetDL Images"),
        WriteCells("SheetDL Images", 1, 1, [["Row", "Picture", "Heat map"], [7, None, None], [9, None, None]]),
        SetColumnWidth("SheetDL Images", 1, 20),  # column A: 20 characters → (20 × 7 + 5) × 0.75 = 108.75 pt
        SetRowHeight("SheetDL Images", 2, 52),
        AddPicture.from_png("SheetDL Images", "B2", thumb, description="The picture of row 7 (cats/7.png)"),
        AddPicture.from_png("SheetDL Images", "C3", heat, width=96, description="Where the model looked, row 9"),
    ], thumb, heat


def test_pictures_land_on_their_cells_at_their_size(server, browser):
    cfg, _ = server
    edits, thumb, heat = _picture_edits()
    job = _finished_job(server, edits)
    page = _page(browser, cfg, [{"name": "Cats", "rows": [["Photo"], ["cats/7.png"]]}])
    page.wait_for_selector("#table-info >> text=1 rows", timeout=20000)
    page.evaluate(f"window.SheetDLPane.applyResults({json.dumps(job)}, 1)")
    _wait(page, "window.__mockWorkbook.find('SheetDL Images') && "
                "window.__mockWorkbook.find('SheetDL Images').pictures.length === 2", timeout=20)
    page.wait_for_timeout(300)
    sheet = {s["name"]: s for s in page.evaluate("window.__mockWorkbook.dump()")}["SheetDL Images"]
    stats = page.evaluate("window.__mockStats")
    assert stats["errors"] == [] and page.errors == []
    first, second = sheet["pictures"]
    assert base64.b64decode(first["base64"]) == thumb and base64.b64decode(second["base64"]) == heat
    # B2: right of column A (108.75 pt wide), below row 1 (15 pt); 96 × 64 px → 72 × 48 pt
    assert (first["left"], first["top"], first["width"], first["height"]) == (108.75, 15, 72, 48)
    # C3: column B keeps Excel's 48 pt; row 2 was set to 52 pt; 96 × 96 px (width given, ratio kept) → 72 × 72 pt
    assert (second["left"], second["top"], second["width"], second["height"]) == (156.75, 67, 72, 72)
    assert first["altTextDescription"] == "The picture of row 7 (cats/7.png)"
    assert {p["placement"] for p in sheet["pictures"]} == {"OneCell"}  # moves with its cell, keeps its size
    assert sheet["grid"][1][0] == 7 and page.evaluate("window.SheetDLPane.state.skippedPictures") == 0


def test_an_excel_without_pictures_gets_the_rest_and_a_note(server, browser):
    cfg, _ = server
    edits, _, _ = _picture_edits()
    job = _finished_job(server, edits)
    # 1.9 has shapes but not a cell's position (range.left/top, 1.10), which placing a picture needs
    page = _page(browser, cfg, [{"name": "Cats", "rows": [["Photo"], ["cats/7.png"]]}], excel_api="1.9")
    page.wait_for_selector("#table-info >> text=1 rows", timeout=20000)
    page.evaluate(f"window.SheetDLPane.applyResults({json.dumps(job)}, 1)")
    _wait(page, "window.SheetDLPane.state.skippedPictures === 2", timeout=20)
    page.wait_for_timeout(300)
    sheet = {s["name"]: s for s in page.evaluate("window.__mockWorkbook.dump()")}["SheetDL Images"]
    assert sheet["pictures"] == [] and sheet["grid"][2][0] == 9  # the cells are written all the same
    assert page.evaluate("window.__mockStats")["errors"] == [] and page.errors == []


def test_ribbon_buttons_show_the_pane_at_their_view_in_the_shared_runtime(server, browser):
    """The ribbon's functions (Office.actions) switch the pane's view and show it; when the pane is
    shown again after being hidden, it reads the (now other) active sheet."""
    cfg, _ = server
    sheets = [{"name": "First", "rows": [["A", "B"], [1, "x"], [2, "y"]]},
              {"name": "Second", "rows": [["C", "D", "E"], [1, 2, "u"], [3, 4, "v"], [5, 6, None]]}]
    page = _page(browser, cfg, sheets)
    page.wait_for_selector("#table-info >> text=Sheet 'First'", timeout=20000)
    names = page.evaluate("Object.keys(Office.actions.associated).sort()")
    assert names == ["showExplain", "showPredict", "showTemplates", "showTrain"]

    page.evaluate("window.__mockShowPane(false); window.__mockWorkbook.active = 1;"
                  "Office.actions.associated.showPredict({ completed: function () { window.__completed = true; } })")
    _wait(page, "window.__completed === true", timeout=10)
    assert page.locator("#view-predict").is_visible() and page.locator("#view-train").is_hidden()
    assert page.locator("button[data-view=predict]").get_attribute("aria-selected") == "true"
    # read again on showing (the train view, where it shows, is hidden now)
    _wait(page, "document.getElementById('table-info').textContent.indexOf(\"Sheet 'Second'\") === 0", timeout=20)
    assert "3 rows" in page.locator("#table-info").text_content()

    page.evaluate("Office.actions.associated.showTemplates({ completed: function () {} })")
    _wait(page, "!document.getElementById('view-templates').hidden", timeout=10)
    assert page.errors == []


def test_taskpane_trains_on_pictures_and_places_them(server, browser, tmp_path):
    """A sheet whose column names picture files in a folder the server may read: the pane trains, and
    the pictures SheetDL shows (thumbnails, where the model looked) land on their cells in the workbook."""
    cfg, _ = server
    pics = tmp_path / "pictures"
    pics.mkdir()
    rows = [["Photo", "Label"]]
    for i in range(40):
        dark = i % 2 == 0
        (pics / f"p{i}.png").write_bytes(_png(40, 40, 30 + i % 7 if dark else 220 - i % 7))
        rows.append([f"p{i}.png", ("dark" if dark else "light") if i < 34 else None])
    before = cfg.allowed_image_folders
    cfg.allowed_image_folders = [pics]
    try:
        page = _page(browser, cfg, [{"name": "Photos", "rows": rows}])
        _wait(page, "document.querySelectorAll('#columns li').length === 2", timeout=20)
        kinds = dict(zip(page.locator("#columns .name").all_inner_texts(), page.locator("#columns .kind").all_inner_texts()))
        assert kinds == {"Photo": "image", "Label": "to predict"}
        # a picture column: the pane offers fine-tuning, and sends the choice with the job
        assert page.locator("#fine-tune-field").is_visible()
        assert page.locator("#fine-tune").input_value() == "auto"
        page.select_option("#fine-tune", "no")
        sent = []
        page.on("request", lambda r: sent.append(json.loads(r.post_data))
                if r.method == "POST" and r.url.endswith("/api/jobs") else None)
        page.select_option("#budget", "10")
        page.click("#train")
        page.wait_for_selector("#result:not([hidden])", timeout=180000)
        assert page.locator("#message").is_hidden(), page.locator("#message").inner_text()
        page.screenshot(path=str(tmp_path / "pictures-pane.png"), full_page=True)
        assert [b["fine_tune"] for b in sent] == ["no"]
    finally:
        cfg.allowed_image_folders = before
    book = page.evaluate("window.__mockWorkbook.dump()")
    assert page.evaluate("window.__mockStats")["errors"] == [] and page.errors == []
    placed = [(s, p) for s in book for p in s["pictures"]]
    assert placed, [s["name"] for s in book]
    for sheet, p in placed:
        assert base64.b64decode(p["base64"])[:8] == b"\x89PNG\r\n\x1a\n"
        assert p["width"] > 0 and p["height"] > 0 and p["altTextDescription"] and p["placement"] == "OneCell"
        # its top-left corner on a cell's corner: a sum of the column widths / row heights before it
        lefts, tops = [0.0], [0.0]
        for j in range(100):
            lefts.append(lefts[-1] + sheet["columnWidths"].get(str(j), 48))
            tops.append(tops[-1] + sheet["rowHeights"].get(str(j), 15))
        assert any(abs(p["left"] - x) < 1e-6 for x in lefts), (p["left"], lefts[:8])
        assert any(abs(p["top"] - y) < 1e-6 for y in tops), (p["top"], tops[:8])


# ---- user text is text: never HTML in the pane, never a formula in the workbook ----------------
HOSTILE = "<img src=x onerror=\"window.__pwned=1\">"


def test_user_text_shows_as_written_and_never_becomes_html_or_a_formula(server, browser):
    cfg, _ = server
    headers = ["Note [/b]", "<b>Bold</b> & co", HOSTILE]
    rows = [headers, ["a [x]", 1, None], ["<i>b</i>", 2, None], ["=1+1", 3, None]]
    page = _page(browser, cfg, [{"name": "Tiny", "rows": rows}])
    page.wait_for_selector("#table-info >> text=3 rows", timeout=20000)
    # the all-blank column is offered as the target; the server says it can't be learned, naming it
    page.wait_for_selector("#message:not([hidden])", timeout=60000)
    assert HOSTILE in page.locator("#message").inner_text()
    assert page.locator("#target option").all_inner_texts() == headers
    page.select_option("#target", "<b>Bold</b> & co")
    _wait(page, "document.querySelectorAll('#columns li').length === 3", timeout=20)
    assert page.locator("#columns .name").all_inner_texts() == headers
    # what the pane was given as text made no elements, and ran nothing
    assert page.evaluate("document.querySelectorAll('#columns b, #columns img, #message img, #target b').length") == 0
    page.evaluate("window.SheetDLPane.showResult(['<i>Weight [kg]</i> mattered most', '" + HOSTILE.replace('"', '\\"') + "'])")
    assert page.locator("#summary li").all_inner_texts() == ["<i>Weight [kg]</i> mattered most", HOSTILE]
    page.evaluate("window.SheetDLPane.showError({message: 'No column <b>x</b>', hint: '<img src=y>'})")
    assert page.locator("#message").inner_text().startswith("No column <b>x</b>")
    assert page.evaluate("document.querySelectorAll('#summary i, #summary img, #message b, #message img').length") == 0
    assert page.evaluate("window.__pwned") is None

    # text that starts like a formula reaches Excel with the apostrophe that makes it text
    from sheetdl.sheets import AddSheet, WriteCells

    edits = [WriteCells("Tiny", 1, 4, [["=Predicted", "-Why"], ["=1+1", "-x pushed it down"],
                                       ["@foo", "+SUM(A1)"], ["-1", "plain [b]"]], bold_first_row=True),
             AddSheet("SheetDL Report"), WriteCells("SheetDL Report", 1, 1, [["@Column", "=HYPERLINK(\"x\")"]])]
    job = _finished_job(server, edits)
    page.evaluate(f"window.SheetDLPane.applyResults({json.dumps(job)}, 1)")
    _wait(page, "window.__mockWorkbook.find('SheetDL Report')", timeout=20)
    page.wait_for_timeout(300)
    book = {s["name"]: s for s in page.evaluate("window.__mockWorkbook.dump()")}
    grid = book["Tiny"]["grid"]
    assert [r[3:5] for r in grid[:4]] == [["'=Predicted", "'-Why"], ["'=1+1", "'-x pushed it down"],
                                          ["'@foo", "'+SUM(A1)"], ["'-1", "plain [b]"]]
    assert book["SheetDL Report"]["grid"][0][:2] == ["'@Column", "'=HYPERLINK(\"x\")"]
    assert grid[3][0] == "=1+1"  # the user's own cells are left as they were
    assert page.evaluate("window.__mockStats")["errors"] == [] and page.errors == []
