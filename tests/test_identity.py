"""The project's identity lives once, in pyproject.toml; everything a learner clicks agrees with it.

Every badge, Colab install cell, README and docs link names this distribution and repository (not
PyPI's unrelated ``spikelearn``), and the Colab cell's post-install check catches the wrong package.
"""

import importlib.util
import re
import sys
import types
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

import spikelearn

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(ROOT.glob("tutorials/[0-9][0-9]_*.ipynb"))
DOCS = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs").glob("*.ipynb")),  # pages written as executed notebooks
]

_spec = importlib.util.spec_from_file_location("sync_identity", ROOT / ".ci" / "sync_identity.py")
sync_identity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_identity)
IDENT = sync_identity.identity()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
OURS = f"{IDENT['org']}/{IDENT['repo']}"

# Where a link names a repository to install or launch: each must be ours.
LAUNCH = [
    re.compile(r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)"),
    re.compile(r"mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)"),
    re.compile(r"git\+https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?[\"'@\s)]"),
]
ANY_REPO = re.compile(r"github\.com/([\w.-]+/[\w.-]+)")
PIP_NAME = re.compile(r"pip install[^\n]*?[\s\"']((?:spikelearn)[\w.-]*)")


def _cells(path):
    """(where, text) for a page, or for each cell of a notebook."""
    if path.suffix != ".ipynb":
        return [(path.name, path.read_text())]
    nb = nbformat.read(path, as_version=4)
    return [(f"{path.name} cell {i}", cell.source) for i, cell in enumerate(nb.cells)]


def test_the_identity_is_ours_and_in_one_place():
    assert PROJECT["name"] == spikelearn.__distribution__ == IDENT["name"]
    assert PROJECT["name"] != "spikelearn"  # PyPI's spikelearn is an unrelated project
    assert OURS != "spikelearn/spikelearn"  # ... and so is that GitHub repository
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]  # one version source
    for key in ("Source", "Documentation", "Issues"):
        assert PROJECT["urls"][key].startswith(IDENT["repo_url"]), key
    cff = (ROOT / "CITATION.cff").read_text()
    assert f"version: {spikelearn.__version__}\n" in cff
    assert f'repository-code: "{IDENT["repo_url"]}"' in cff


@pytest.mark.parametrize("path", DOCS + NOTEBOOKS, ids=lambda p: p.name)
def test_every_link_and_install_names_this_project(path):
    for where, text in _cells(path):
        for pattern in LAUNCH:
            for repo in pattern.findall(text):
                assert repo == OURS, f"{where}: links {repo}, expected {OURS}"
        for repo in ANY_REPO.findall(text):  # any repository named after us must be ours
            assert "spikelearn" not in repo.lower() or repo == OURS, f"{where}: links {repo}"
        for name in PIP_NAME.findall(text):
            assert name.split("[")[0] == IDENT["name"], f"{where}: pip installs {name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_badges_and_install_cell_match_pyproject(path):
    assert not sync_identity.sync(path, IDENT, write=False), (
        f"{path.name} is stale: run `.venv/bin/python .ci/sync_identity.py` and re-execute it"
    )


def _run_install_cell(extras, on_colab, module):
    """Execute the install cell as IPython would, with ``module`` as what ``import spikelearn`` finds."""
    code = TransformerManager().transform_cell(sync_identity.install_cell(IDENT, extras))
    magics = []
    shell = types.SimpleNamespace(run_line_magic=lambda *a: magics.append(a))
    saved = {k: sys.modules.get(k) for k in ("spikelearn", "google.colab")}
    sys.modules["spikelearn"] = module
    if on_colab:
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    else:
        sys.modules.pop("google.colab", None)
    try:
        exec(compile(code, "<install cell>", "exec"), {"get_ipython": lambda: shell})
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return magics


def test_install_cell_installs_this_project_on_colab_only_and_shows_pip_output():
    magics = _run_install_cell("[nir]", on_colab=True, module=spikelearn)
    assert magics == [("pip", f'install "{IDENT["name"]}[nir] @ git+{IDENT["repo_url"]}"')]
    assert "-q" not in magics[0][1].split()  # pip's errors stay visible
    assert _run_install_cell("", on_colab=False, module=spikelearn) == []


@pytest.mark.parametrize("marker", [None, "spikelearn"])
def test_install_cell_catches_the_wrong_package(marker):
    impostor = types.ModuleType("spikelearn")  # e.g. PyPI's unrelated spikelearn
    impostor.__file__ = "/site-packages/spikelearn/__init__.py"
    if marker is not None:
        impostor.__distribution__ = marker
    with pytest.raises(ImportError, match=rf"not the {IDENT['name']} package.*pip install"):
        _run_install_cell("", on_colab=True, module=impostor)


def test_sync_rewrites_a_stale_notebook_and_keeps_its_extras(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "[![Open In Colab](x)](https://colab.research.google.com/github/a/b/blob/main/t.ipynb)\n"
            "[![Binder](y)](https://mybinder.org/v2/gh/a/b/main)\n\n# 99 · Title"
        ),
        nbformat.v4.new_code_cell(
            'import sys\n\nif "google.colab" in sys.modules:\n'
            '    %pip install -q "spikelearn[nir] @ git+https://github.com/a/b"'
        ),
        nbformat.v4.new_markdown_cell("[list](https://github.com/spikelearn/spikelearn#tutorials)"),
    ]
    path = tmp_path / "99_title.ipynb"
    nbformat.write(nb, path)
    assert sync_identity.sync(path, IDENT)
    assert not sync_identity.sync(path, IDENT)  # idempotent
    md, code, link = (c.source for c in nbformat.read(path, as_version=4).cells)
    assert md == sync_identity.badges("99_title.ipynb", IDENT) + "\n\n# 99 · Title"
    assert code == sync_identity.install_cell(IDENT, "[nir]")
    assert link == f"[list]({IDENT['repo_url']}#tutorials)"
    test_every_link_and_install_names_this_project(path)


def test_readme_lists_every_tutorial_in_order():
    """The README's tutorial table is the course's table of contents: one row per notebook."""
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(
        r"^\| (\d\d) \| \[[^\]]+\]\(tutorials/([\w.-]+\.ipynb)\) \|", readme, flags=re.M
    )
    assert [name for _, name in rows] == [p.name for p in NOTEBOOKS]
    assert all(name.startswith(num) for num, name in rows)
