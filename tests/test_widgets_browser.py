"""The explorers in a real browser: JupyterLab + Chromium, a slider dragged with the mouse.

The test starts JupyterLab on a free loopback port (127.0.0.1 only, a random token) in a temporary
folder, with the settings ``make lab`` passes (``.ci/lab_settings``), opens a notebook that
creates each explorer in a fresh kernel, and drives Debian's Chromium with Playwright
(``executable_path``: Playwright downloads no browser). For each explorer it checks the figure is
an image (not ``<Figure size ...>`` text), every slider track is wide enough to drag in a 1024 px
window, and dragging one slider changes both the image in the page and the result in the kernel
(which the notebook writes to a JSON file on every change). No news or update pop-up shows.

Needs ``playwright`` (in ``[dev]``) and Chromium (``apt-get install chromium``, or set
``SPIKELEARN_CHROMIUM`` to its path); without either it skips and says which is missing.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SPIKELEARN_CHROMIUM") or next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None
)
playwright = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
if CHROMIUM is None:
    pytest.skip(
        "no Chromium found: `apt-get install -y chromium` (or set SPIKELEARN_CHROMIUM) to run "
        "the real-browser widget test",
        allow_module_level=True,
    )

# One cell per explorer: create it, log its result to a file on every change, display it.
CELLS = {
    "lif": """import json
from spikelearn import widgets

lif = widgets.lif_explorer(beta=0.9, current=0.3)
def log_lif(_=None):
    with open("lif.json", "w") as f:
        json.dump({"spikes": int(lif.result["spk"].sum()), "current": lif.values["current"]}, f)
lif.controls["current"].observe(log_lif, names="value")
log_lif()
lif""",
    "encoding": """enc = widgets.encoding_explorer(code="rate", num_steps=30)
def log_enc(_=None):
    with open("encoding.json", "w") as f:
        json.dump({"total": enc.result["total"], "gain": enc.values["gain"]}, f)
enc.controls["gain"].observe(log_enc, names="value")
log_enc()
enc""",
}
# JupyterLab's defaults for the course, as `make lab` passes them (no news pop-up, no update check)
LAB_SETTINGS = ROOT / ".ci" / "lab_settings"
SLIDER = {"lif": "input current", "encoding": "gain"}  # the slider each check drags to 80%
# what that does in the kernel: current 0.3 -> 1.2 fires more; gain 1.0 -> 0.8 fewer spikes
MOVED = {
    "lif": lambda a, b: b["current"] > a["current"] and b["spikes"] > a["spikes"],
    "encoding": lambda a, b: b["gain"] < a["gain"] and b["total"] < a["total"],
}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab on 127.0.0.1 serving a temporary folder that holds the notebook."""
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS.values()]
    nbformat.write(nb, root / "explorers.ipynb")
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    for var in ("JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_RUNTIME_DIR"):
        env[var] = str(root / f".{var.lower()}")  # no state shared with the user's JupyterLab
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.root_dir={root}"]
    cmd += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    cmd += [f"--IdentityProvider.token={token}", f"--LabApp.app_settings_dir={LAB_SETTINGS}"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(root / 'lab.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield {"url": f"{base}/lab/tree/explorers.ipynb?token={token}", "root": root}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _run_all_cells(pg, attempts=3):
    """Run > Run All Cells, again if no cell has started within 20 s: a request sent while
    JupyterLab is still connecting the kernel can be dropped (the cells stay at "[ ]:"), although
    the toolbar already says idle. Re-running is harmless: each run builds the explorers anew."""
    started = "Array.from(document.querySelectorAll('.jp-InputPrompt')).some(e => /[0-9*]/.test(e.innerText))"
    for _ in range(attempts):
        pg.click("li.lm-MenuBar-item:has-text('Run')")
        pg.click("li.lm-Menu-item:has-text('Run All Cells')")
        try:
            pg.wait_for_function(started, timeout=20_000)
            return
        except playwright.TimeoutError:
            pg.keyboard.press("Escape")  # close the menu if it is still open
    pytest.fail(f"no cell started running after {attempts} tries of Run All Cells")


@pytest.fixture(scope="module")
def page(lab):
    """The notebook open in Chromium at 1024 px, every cell run once in a fresh kernel."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1024, "height": 900})
        pg.goto(lab["url"])
        pg.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        pg.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        _run_all_cells(pg)
        pg.wait_for_function(
            "document.querySelectorAll('img.widget-image').length >= 2", timeout=90_000
        )
        yield pg
        browser.close()


def _kernel_result(lab, name, old=None, timeout=30):
    """The JSON the notebook wrote for explorer ``name`` (waiting for it to differ from ``old``)."""
    path = lab["root"] / f"{name}.json"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = json.loads(path.read_text())
            if value != old:
                return value
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    return old


@pytest.mark.parametrize("name", list(CELLS))
def test_explorer_shows_an_image_and_a_dragged_slider_changes_it_and_the_kernel(lab, page, name):
    cell = page.locator(".jp-Notebook .jp-Cell").nth(list(CELLS).index(name))
    out = cell.locator(".jp-OutputArea")
    assert "<Figure size" not in out.inner_text()  # the figure is an image, not its repr text
    img = out.locator("img.widget-image")
    page.wait_for_function("img => img.naturalWidth > 0", arg=img.element_handle())
    before_src = img.get_attribute("src")
    before = _kernel_result(lab, name)
    assert before is not None, f"the kernel never wrote {name}.json"

    # every slider has a track that can be dragged at 1024 px
    tracks = out.locator(".widget-slider .slider-container")
    assert tracks.count() >= 3
    for i in range(tracks.count()):
        assert tracks.nth(i).bounding_box()["width"] >= 150, f"slider {i} track too narrow"

    # drag the handle of one slider to 80% of its track with the mouse
    slider = out.locator(".widget-slider", has_text=SLIDER[name])
    slider.scroll_into_view_if_needed()  # mouse events only reach what is in the viewport
    track = slider.locator(".slider-container").bounding_box()
    handle = slider.locator(".noUi-handle").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + 0.8 * track["width"], handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()

    after = _kernel_result(lab, name, old=before)
    assert after != before, f"the kernel-side result did not change: {before}"
    assert MOVED[name](before, after), (before, after)
    page.wait_for_function(
        "([img, src]) => img.getAttribute('src') !== src",
        arg=[img.element_handle(), before_src],
        timeout=30_000,
    )
    assert img.get_attribute("src") != before_src  # the page shows the new frame
    page.wait_for_function("img => img.naturalWidth > 0", arg=img.element_handle())


def test_make_lab_passes_the_settings_this_test_uses():
    lab_line = next(
        line for line in (ROOT / "Makefile").read_text().splitlines() if "jupyter lab" in line
    )
    assert "--LabApp.app_settings_dir=$(CURDIR)/.ci/lab_settings" in lab_line


def test_no_news_or_update_pop_up(page):
    """JupyterLab 4 asks "Would you like to get notified about official Jupyter news?" on a first
    start unless its fetchNews setting says no; --LabApp.news_url=None does not stop that question."""
    toasts = page.locator(".jp-Notification-Toast-Text, .Toastify__toast").all_inner_texts()
    assert not [t for t in toasts if "news" in t.lower() or "update" in t.lower()], toasts
