"""Mark every exercise solution in the tutorials so that it collapses everywhere and is absent
from the student edition. Idempotent: run it after editing or merging any notebook.

A solution is the Markdown cell that starts ``**Solution`` and the code cell(s) after it up to
the next cell that is not hidden. Each gets the tag ``solution`` (the student edition removes
those cells: ``spikelearn.teaching.course.student_edition``). Each solution *code* cell also gets
what collapses it in each place a learner opens it:

* JupyterLab / Notebook 7: ``metadata.jupyter.source_hidden = true``;
* myst-nb (the docs): the tag ``hide-input``;
* Google Colab: ``metadata.cellView = "form"`` and a first line ``# @title Solution N
  { display-mode: "form" }`` (Colab shows a code cell in form view as its title alone, the code
  behind "Show code").

Usage: .venv/bin/python .ci/tag_solutions.py [--check] [NOTEBOOK ...]  (default: every tutorial)
``--check`` changes nothing and exits 1 if a notebook is not up to date.
"""

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TITLE = re.compile(r"^#\s*@title\b.*$")


def solution_cells(nb):
    """``[(markdown index, [code indices], label)]`` for every ``**Solution ...**`` heading."""
    found = []
    for i, cell in enumerate(nb.cells):
        head = cell.source.lstrip()
        if cell.cell_type != "markdown" or not head.startswith("**Solution"):
            continue
        label = re.match(r"\*\*(Solution[^*]*)\*\*", head).group(1).strip()
        code = []
        for j in range(i + 1, len(nb.cells)):
            nxt = nb.cells[j]
            hidden = nxt.metadata.get("jupyter", {}).get("source_hidden") or "solution" in (
                nxt.metadata.get("tags", [])
            )
            if nxt.cell_type != "code" or not hidden:
                break
            code.append(j)
        if not code:
            raise ValueError(f"{label!r} (cell {i}) is not followed by a hidden code cell")
        found.append((i, code, label))
    return found


def _add_tags(cell, *tags):
    current = list(cell.metadata.get("tags", []))
    cell.metadata["tags"] = current + [t for t in tags if t not in current]


def tag(nb):
    """Apply the tags and metadata in place; return the number of solutions."""
    solutions = solution_cells(nb)
    for md, code, label in solutions:
        _add_tags(nb.cells[md], "solution")
        for j in code:
            cell = nb.cells[j]
            _add_tags(cell, "hide-input", "solution")
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            cell.metadata["cellView"] = "form"
            lines = cell.source.splitlines()
            if lines and TITLE.match(lines[0]):
                lines = lines[1:]
            title = f'# @title {label} (try the exercise first) {{ display-mode: "form" }}'
            cell.source = "\n".join([title, *lines])
    return len(solutions)


def main(argv):
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or sorted(
        (ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb")
    )
    stale = []
    for path in paths:
        before = path.read_text(encoding="utf-8")
        nb = nbformat.read(path, as_version=4)
        n = tag(nb)
        after = nbformat.writes(nb) + "\n"
        if after != before:
            stale.append(path)
            if not check:
                path.write_text(after, encoding="utf-8")
        print(f"{path.name}: {n} solutions{' (changed)' if after != before else ''}")
    if check and stale:
        print(f"not tagged: {', '.join(p.name for p in stale)}; run .ci/tag_solutions.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
