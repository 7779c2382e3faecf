"""Make every tutorial whole on its own, and keep nbval's markers out of the learner's sight.

Two rewrites of ``tutorials/[0-9][0-9]_*.ipynb``, both idempotent (a second run changes nothing)
and neither touching a cell's outputs, so no notebook is re-executed:

1. **Diagrams travel inside the notebook.** A markdown image ``![alt](figures/NAME.png)`` is
   shown by JupyterLab only next to the ``figures/`` folder; Colab, GitHub, nbviewer and a
   downloaded copy open the notebook alone. Each such image moves into a markdown cell of its
   own as a ``data:image/png;base64`` URI, with the file it came from in the cell's metadata
   (``{"spikelearn": {"figure": "NAME.png"}}``); the text around it stays in the cells before
   and after. A run refreshes every embedded figure from ``tutorials/figures/`` (drawn by
   ``docs/make_figures.py``). Cell attachments, the notebook format's own way to embed an
   image, are not shown by Colab (googlecolab/colabtools#3836) nor by myst-nb's docs
   (MyST-NB#492); a data URI is what Colab itself writes when an image is pasted into a cell.
2. **Test markers become cell tags.** A code cell's ``# NBVAL_CHECK_OUTPUT`` line (and nbval's
   other comment markers) is replaced by the cell tag nbval reads the same way
   (``nbval-check-output``; nbval 0.11 maps each comment marker to such a tag), so the learner
   and the docs no longer see it.

Usage (from the repository root)::

    .venv/bin/python .ci/tidy_notebooks.py            # rewrite tutorials/[0-9][0-9]_*.ipynb
    .venv/bin/python .ci/tidy_notebooks.py --check    # only report; exit 1 if one needs it
    .venv/bin/python .ci/tidy_notebooks.py tutorials/01_lif_neuron.ipynb   # just these
"""

import argparse
import base64
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "tutorials" / "figures"
META = "spikelearn"  # cell metadata key: {"figure": "NAME.png"} on an embedded diagram
# ![alt](figures/NAME.png): the alt text may run over several lines
RELATIVE = re.compile(r"!\[(?P<alt>[^\]]*)\]\(figures/(?P<name>[\w.-]+\.png)\)")
EMBEDDED = re.compile(r"!\[(?P<alt>[^\]]*)\]\(data:image/png;base64,[A-Za-z0-9+/=]*\)")
# nbval's comment markers and the cell tags nbval 0.11 reads in their place
MARKERS = {
    "NBVAL_CHECK_OUTPUT": "nbval-check-output",
    "NBVAL_IGNORE_OUTPUT": "nbval-ignore-output",
    "NBVAL_RAISES_EXCEPTION": "nbval-raises-exception",
    "NBVAL_SKIP": "nbval-skip",
}


def data_uri(name, figures=FIGURES):
    path = Path(figures) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run python docs/make_figures.py")
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _figure_cell(alt, name, figures, cell_id):
    alt = " ".join(alt.split())  # one line: Sphinx and some viewers drop a newline's space
    cell = nbformat.v4.new_markdown_cell(f"![{alt}]({data_uri(name, figures)})")
    cell.metadata[META] = {"figure": name}
    cell.id = cell_id
    return cell


def _new_id(wanted, taken):
    cell_id, k = wanted, 1
    while cell_id in taken:
        k += 1
        cell_id = f"{wanted}-{k}"
    taken.add(cell_id)
    return cell_id


def _embed_in_place(source, figures):
    return RELATIVE.sub(lambda m: f"![{m['alt']}]({data_uri(m['name'], figures)})", source)


def _split(cell, figures, taken):
    """``cell`` as a list of cells: each image that fills its own lines gets a cell of its own.

    The text before the first image keeps the cell (its id and metadata); an image inside a
    sentence stays where it is, embedded there.
    """
    pieces, pos = [], 0  # text, match, text, match, ..., text
    for m in RELATIVE.finditer(cell.source):
        before, after = cell.source[pos : m.start()], cell.source[m.end() :]
        if (before == "" or before.endswith("\n")) and (after == "" or after.startswith("\n")):
            pieces += [cell.source[pos : m.start()], m]
            pos = m.end()
    pieces.append(cell.source[pos:])

    cells, first_text = [], True
    for i, piece in enumerate(pieces):
        if isinstance(piece, re.Match):
            cell_id = _new_id(f"figure-{Path(piece['name']).stem}", taken)
            cells.append(_figure_cell(piece["alt"], piece["name"], figures, cell_id))
            continue
        text = piece.strip("\n")
        text = (text.lstrip(" ") if i > 0 else text).rstrip()
        if not text:
            continue
        if first_text:
            new = copy.deepcopy(cell)
        else:
            new = nbformat.v4.new_markdown_cell()
            new.id = _new_id(f"{cell.id}-text", taken)
        new.source = _embed_in_place(text, figures)
        cells.append(new)
        first_text = False
    return cells


def tidy(nb, figures=FIGURES):
    """``nb`` rewritten (a new notebook; the argument is not changed)."""
    nb = copy.deepcopy(nb)
    taken = {c.get("id") for c in nb.cells}
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and META in cell.metadata:
            name = cell.metadata[META]["figure"]
            m = EMBEDDED.fullmatch(cell.source.strip())
            if m is None:
                raise ValueError(f"cell {cell.id}: a figure cell holds more than its image")
            cells.append(_figure_cell(m["alt"], name, figures, cell.id))
            cells[-1].metadata = cell.metadata
        elif cell.cell_type == "markdown" and RELATIVE.search(cell.source):
            cells.extend(_split(cell, figures, taken))
        elif cell.cell_type == "code":
            cells.append(_markers_to_tags(cell))
        else:
            cells.append(cell)
    nb.cells = cells
    return nb


def _markers_to_tags(cell):
    lines, tags = [], list(cell.metadata.get("tags", []))
    for line in cell.source.split("\n"):
        marker = line.strip().lstrip("#").strip()
        if line.strip().startswith("#") and marker in MARKERS:
            if MARKERS[marker] not in tags:
                tags.append(MARKERS[marker])
            continue
        lines.append(line)
    if tags:
        cell.metadata["tags"] = tags
    cell.source = "\n".join(lines)
    return cell


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if stale")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb"))
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        new = tidy(nb)
        if new == nb:
            continue
        stale.append(path)
        if not args.check:
            nbformat.write(new, path)
            print(f"tidied {path}")
    if args.check and stale:
        print("not tidy (run .ci/tidy_notebooks.py):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
