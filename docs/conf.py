"""Sphinx configuration: the tutorials rendered from their stored outputs, plus the API reference."""

import shutil
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent

# The tutorials live in ../tutorials (where learners open them); copy them in for the build,
# with their figures, so a notebook's relative link `figures/NAME.png` works in JupyterLab and here.
_dst = HERE / "tutorials"
shutil.rmtree(_dst, ignore_errors=True)
_dst.mkdir()
for nb in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb")):
    shutil.copy2(nb, _dst / nb.name)
if (ROOT / "tutorials" / "figures").is_dir():
    shutil.copytree(ROOT / "tutorials" / "figures", _dst / "figures")

project = "spikelearn"
author = "the spikelearn developers"
copyright = "2026, the spikelearn developers"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
nb_execution_mode = "off"  # render the outputs committed with each notebook; nbval checks them
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "deflist"]  # deflist: the glossary
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = "spikelearn"
