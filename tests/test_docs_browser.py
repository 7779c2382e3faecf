"""The docs typeset their formulas with no network: MathJax is served from the built pages.

Without ``SPIKELEARN_DOCS_HTML`` the test builds a one-page site with the project's own
``docs/conf.py`` (inline, display and numbered formulas) into a temporary folder; ``make docs``
sets it to ``docs/_build/html`` after building the real docs and checks every page that has a
formula. Each page is opened from ``file://`` in Debian's Chromium (Playwright with
``executable_path``, as in ``test_widgets_browser.py``) in an offline context that also aborts
any request that is not for a local file, and must show every formula typeset (an ``mjx-container``
with a width) and no raw ``\\(``...``\\)`` TeX, having asked the network for no script, style
sheet or font (only images may be remote: the tutorials' Colab and Binder badges). Every page
that embeds a diagram as a data URI (the tutorials, ``.ci/tidy_notebooks.py``) shows it.

Needs ``playwright`` and Chromium (``apt-get install chromium`` or ``SPIKELEARN_CHROMIUM``);
without either it skips and says which is missing.
"""

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

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
        "the offline-math docs test",
        allow_module_level=True,
    )

PAGE = r"""# Formulas

The steady state sits at $V_{th}(1-\beta)$ for a current $I$, and

$$
U[t+1] = \beta U[t] + W X[t+1] - S[t] V_{th}
$$

```{math}
:label: lif
\frac{\partial \mathcal{L}}{\partial W} = \sum_t \frac{\partial \mathcal{L}}{\partial S[t]}
\frac{\partial S[t]}{\partial U[t]} \frac{\partial U[t]}{\partial W}
```
"""
MATH = re.compile(r'class="math[ "]')


def _site(tmp_path_factory):
    given = os.environ.get("SPIKELEARN_DOCS_HTML")
    if given:
        return Path(given).resolve()
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("html")
    png = (ROOT / "tutorials" / "figures" / "rc_circuit.png").read_bytes()  # as tidy embeds it
    figure = f"\n![A diagram](data:image/png;base64,{base64.b64encode(png).decode()})\n"
    (src / "index.md").write_text(PAGE + figure)
    cmd = [sys.executable, "-m", "sphinx", "-q", "-W", "-b", "html", "-c", str(ROOT / "docs")]
    run = subprocess.run([*cmd, str(src), str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return _site(tmp_path_factory)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _pages_with_math(site):
    pages = [p for p in sorted(site.rglob("*.html")) if MATH.search(p.read_text())]
    assert pages, f"no page in {site} has a formula"
    return pages


def test_every_embedded_diagram_shows(site, browser):
    """The tutorials' diagrams are data URIs in their markdown (.ci/tidy_notebooks.py)."""
    pages = [p for p in sorted(site.rglob("*.html")) if 'src="data:image/png' in p.read_text()]
    assert pages, f"no page in {site} shows an embedded diagram"
    for page in pages:
        pg = browser.new_page()
        pg.goto(page.as_uri())
        widths = pg.eval_on_selector_all(
            "img[src^='data:image/png']", "els => els.map(e => e.naturalWidth)"
        )
        pg.close()
        assert widths and min(widths) > 0, f"{page.name}: an embedded image does not show"


def test_mathjax_is_a_file_of_the_site_not_a_cdn(site):
    for page in _pages_with_math(site):
        html = page.read_text()
        scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', html, re.I)
        assert scripts, f"{page.name} loads no MathJax"
        for src in scripts:
            assert "://" not in src, f"{page.name} loads MathJax from {src}"
            assert (page.parent / src.split("?")[0]).is_file(), f"{src} is not in the site"


def test_every_formula_is_typeset_with_the_network_off(site, browser):
    for page in _pages_with_math(site):
        context = browser.new_context(offline=True)
        asked = []  # scripts, styles, fonts the page wanted from the network

        def only_files(route, asked=asked):
            if route.request.url.startswith("file:"):
                return route.continue_()
            if route.request.resource_type != "image":  # a tutorial's Colab/Binder badges
                asked.append(route.request.url)
            route.abort()

        context.route("**/*", only_files)
        pg = context.new_page()
        pg.goto(page.as_uri())
        formulas = pg.locator(".math").count()
        assert formulas > 0, page.name
        try:
            pg.wait_for_function(
                "n => document.querySelectorAll('mjx-container').length >= n",
                arg=formulas,
                timeout=20_000,
            )
        except playwright.TimeoutError:
            pass  # reported below, after what the page asked for
        typeset = pg.locator("mjx-container").count()
        widths = pg.eval_on_selector_all(
            "mjx-container", "els => els.map(e => e.getBoundingClientRect().width)"
        )
        text = pg.locator("body").inner_text()
        context.close()
        assert asked == [], f"{page.name} asked the network for {asked}"
        assert typeset >= formulas, f"{page.name}: {typeset} of {formulas} formulas typeset"
        assert min(widths) > 0, f"{page.name}: a formula has no width (fonts missing?)"
        raw = re.findall(r"\\\(.{0,40}", text)
        assert not raw, f"{page.name} shows raw TeX: {raw[:3]}"
