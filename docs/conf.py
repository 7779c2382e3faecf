"""Sphinx configuration: the tutorials rendered from their stored outputs, plus the API reference."""

import shutil
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent

# The tutorials live in ../tutorials (where learners open them); copy them in for the build. Their
# diagrams are embedded in them (.ci/tidy_notebooks.py); the figures folder comes along for a
# notebook whose relative `figures/NAME.png` link has not been embedded yet.
_dst = HERE / "tutorials"
shutil.rmtree(_dst, ignore_errors=True)
_dst.mkdir()
for nb in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb")):
    shutil.copy2(nb, _dst / nb.name)
if (ROOT / "tutorials" / "figures").is_dir():
    shutil.copytree(ROOT / "tutorials" / "figures", _dst / "figures")

# The API reference, one page per module, grouped by layer: written from the package's own list
# of modules (spikelearn.LAYERS and the folders, spikelearn.MODULES), never kept by hand.
import spikelearn  # noqa: E402


def _write_api_pages():
    api = HERE / "api"
    shutil.rmtree(api, ignore_errors=True)
    api.mkdir()
    lines = [
        "# API reference",
        "",
        "The package is a stack of layers, one folder each, bottom first; a module imports only from",
        "its own layer or those below. Every module is one concept and reads top to bottom; the",
        "docstrings carry the equations and the papers. Import any module by its short name:",
        "`from spikelearn import neurons`.",
        "",
    ]
    for layer in spikelearn.LAYERS:
        package = __import__(f"spikelearn.{layer}", fromlist=["_"])
        names = [n for n, where in spikelearn.MODULES.items() if where.startswith(layer + ".")]
        lines += [
            f"## `{layer}/`",
            "",
            package.__doc__.strip(),
            "",
            "```{toctree}",
            ":maxdepth: 1",
            "",
        ]
        lines += names + ["```", ""]
        for name in names:
            (api / f"{name}.md").write_text(
                f"# `spikelearn.{name}`\n\n`spikelearn/{layer}/{name}.py`\n\n"
                f"```{{eval-rst}}\n.. automodule:: spikelearn.{spikelearn.MODULES[name]}\n```\n"
            )
    (api / "index.md").write_text("\n".join(lines))


_write_api_pages()


# Slides: every tutorial's *student* edition (no solutions on the projector) as a reveal.js deck,
# by nbconvert's SlidesExporter: each "#"-heading Markdown cell opens a slide, every other cell is a
# sub-slide below it (the install cell is skipped), long cells scroll. They land in the built site
# as slides/NN_topic.slides.html (docs/course.md links them). The build needs no network; when
# opened, the decks load reveal.js 4.0.2 (unpkg), require.js, jQuery and MathJax 2.7.7 (cdnjs)
# from CDNs. For decks that run offline, point the first three at local copies (npm packages,
# MIT; docs/developers.md): SPIKELEARN_REVEAL_PREFIX, SPIKELEARN_REQUIREJS_URL and
# SPIKELEARN_JQUERY_URL, paths relative to slides/ in the built site or URLs. MathJax stays remote.
def _write_slides():
    import os

    from nbconvert.exporters import SlidesExporter

    from spikelearn.teaching import course

    out = HERE / "_slides" / "slides"
    shutil.rmtree(out.parent, ignore_errors=True)
    out.mkdir(parents=True)
    exporter = SlidesExporter(
        reveal_scroll=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    for variable, setting in [
        ("SPIKELEARN_REVEAL_PREFIX", "reveal_url_prefix"),
        ("SPIKELEARN_REQUIREJS_URL", "require_js_url"),
        ("SPIKELEARN_JQUERY_URL", "jquery_url"),
    ]:
        if os.environ.get(variable):
            setattr(exporter, setting, os.environ[variable])
    for path in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb")):
        nb = course.student_edition(path)
        for cell in nb.cells:
            if cell.cell_type == "code" and "google.colab" in cell.source:
                kind = "skip"  # the Colab install cell
            elif cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
                kind = "slide"
            else:
                kind = "subslide"
            cell.metadata["slideshow"] = {"slide_type": kind}
        nb.cells[0].metadata["slideshow"] = {"slide_type": "slide"}  # badges, title, objectives
        body, _ = exporter.from_notebook_node(nb)
        (out / f"{path.stem}.slides.html").write_text(body, encoding="utf-8")
    shutil.copytree(ROOT / "tutorials" / "figures", out / "figures")


_write_slides()
html_extra_path = ["_slides"]  # copied into the site as is: _build/html/slides/...

project = "spikelearn"  # the import name; the distribution is pyproject's [project] name
author = "the spikelearn developers"
copyright = "2026, the spikelearn developers"

# Formulas are typeset by MathJax 3 from the built pages' own _static/mathjax (the package
# sphinx-mathjax-offline copies it there and points mathjax_path at it): no CDN, so the pages
# render their formulas offline too (tests/test_docs_browser.py checks, with the network off).
extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
]
nb_execution_mode = "off"  # render the outputs committed with each notebook; nbval checks them
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "deflist"]  # deflist: the glossary
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]
# Widget state is stripped from the committed notebooks, so a widget view would render as nothing:
# show the PNG frame each spikelearn explorer puts in its display data instead.
nb_mime_priority_overrides = [("*", "application/vnd.jupyter.widget-view+json", None)]

autodoc_member_order = "bysource"
autodoc_default_options = {
    "members": True,
    "show-inheritance": False,
    # torch.nn.Module's own methods (extra_repr, forward, ...) are not part of our API pages
    "exclude-members": "extra_repr, training, dump_patches, call_super_init",
}
# An override without its own docstring (forward, extra_repr) must not show nn.Module's text.
autodoc_inherit_docstrings = False
autodoc_typehints = "none"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = "spikelearn"
