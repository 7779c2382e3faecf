"""Write each tutorial's Colab/Binder badges and its Colab install cell from pyproject.toml.

pyproject.toml holds the project's identity once: the distribution name ([project] name) and the
repository ([project.urls] Source, a GitHub URL). Every notebook's first markdown cell starts with
the two badges and its first code cell is the guarded install cell below; this script rewrites both
from that one source, keeping the rest of each cell and any extras the install names
(``spikelearn-course[nir]``), and points other markdown links to a repository named after
spikelearn (e.g. "back to the tutorial list") at this repository. tests/test_identity.py checks the notebooks agree.

Usage (from the repository root):
    .venv/bin/python .ci/sync_identity.py            # rewrite tutorials/[0-9][0-9]_*.ipynb in place
    .venv/bin/python .ci/sync_identity.py --check    # only report; exit 1 if a notebook is stale
    .venv/bin/python .ci/sync_identity.py tutorials/01_lif_neuron.ipynb   # just these notebooks
"""

import re
import sys
from pathlib import Path

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BADGE_LINE = re.compile(r"^\[!\[(Open In Colab|Binder)\]\(.*$")
REPO_LINK = re.compile(r"https://github\.com/([\w.-]+/[\w.-]*spikelearn[\w.-]*)")  # named after us
EXTRAS = re.compile(r"\"[A-Za-z0-9_.-]+(\[[A-Za-z0-9_,.-]+\])? @ git\+")


def identity(pyproject=ROOT / "pyproject.toml"):
    """``{"name", "repo_url", "org", "repo"}`` from pyproject.toml's [project] table."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    url = project["urls"]["Source"].rstrip("/")
    m = re.fullmatch(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", url)
    if m is None:
        raise ValueError(f"[project.urls] Source must be https://github.com/ORG/REPO, got {url!r}")
    return {"name": project["name"], "repo_url": url, "org": m[1], "repo": m[2]}


def badges(notebook, ident):
    """The two badge lines that open ``tutorials/<notebook>`` in Colab and on Binder."""
    gh = f"{ident['org']}/{ident['repo']}"
    colab = f"https://colab.research.google.com/github/{gh}/blob/main/tutorials/{notebook}"
    binder = f"https://mybinder.org/v2/gh/{gh}/main?labpath=tutorials/{notebook}"
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})\n"
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})"
    )


def requirement(ident, extras=""):
    """The pip requirement that installs this project from its repository."""
    return f"{ident['name']}{extras} @ git+{ident['repo_url']}"


def install_cell(ident, extras=""):
    """The guarded install cell: pip on Colab only (errors shown), then prove the import is ours."""
    req = requirement(ident, extras)
    return f"""import sys

if "google.colab" in sys.modules:  # on Colab: install this project from its repository (~1 min)
    %pip install "{req}"

import spikelearn

if getattr(spikelearn, "__distribution__", None) != "{ident["name"]}":
    raise ImportError(
        f"`import spikelearn` found {{spikelearn.__file__}}, which is not the {ident["name"]} "
        'package these tutorials need. Install it with: pip install "{req}"'
    )"""


def synced(nb, notebook, ident):
    """The (first markdown cell, install cell) of notebook ``nb`` as pyproject says they should be."""
    md = next(c for c in nb.cells if c.cell_type == "markdown").source.split("\n")
    while md and BADGE_LINE.match(md[0]):
        md.pop(0)
    code = next(c for c in nb.cells if c.cell_type == "code").source
    if "google.colab" not in code:
        raise ValueError(f"{notebook}: the first code cell must be the guarded Colab install cell")
    m = EXTRAS.search(code)
    return badges(notebook, ident) + "\n" + "\n".join(md), install_cell(ident, m and m[1] or "")


def sync(path, ident, write=True):
    """Bring one notebook's badges, install cell and links in line; return True if any was stale."""
    nb = nbformat.read(path, as_version=4)
    md = next(c for c in nb.cells if c.cell_type == "markdown")
    code = next(c for c in nb.cells if c.cell_type == "code")
    want = dict(zip((id(md), id(code)), synced(nb, Path(path).name, ident), strict=True))
    ours = ident["repo_url"]
    stale = False
    for cell in nb.cells:
        new = want.get(id(cell), cell.source)
        if cell.cell_type == "markdown":
            new = REPO_LINK.sub(lambda m: m[0] if m[0] == ours else ours, new)
        if new != cell.source:
            stale = True
            cell.source = new
    if stale and write:
        nbformat.write(nb, path)
    return stale


def main(argv):
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"] or sorted(ROOT.glob("tutorials/[0-9][0-9]_*.ipynb"))
    ident = identity()
    stale = [p for p in paths if sync(p, ident, write=not check)]
    for p in stale:
        print(f"{'stale' if check else 'updated'}: {p}")
    if check and stale:
        print("run: .venv/bin/python .ci/sync_identity.py, then re-execute those notebooks")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
