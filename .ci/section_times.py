"""How long each tutorial and each of its sections takes to run: the table in docs/course.md.

Executes every tutorial (or those named) top to bottom in a fresh kernel, nothing written back,
and sums the cells' own execution times (nbclient records when each cell started and finished)
per section: a section starts at a Markdown cell whose first line is a ``## `` heading. Prints a
Markdown table: notebook, the estimated learner time stated in the notebook, the total run time
and the run time per section (s). Run it alone on a quiet machine: the times are wall times.

Usage: .venv/bin/python .ci/section_times.py [tutorials/NN_x.ipynb ...]
"""

import datetime
import os
import platform
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def _seconds(cell):
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def section_times(path):
    """``(total wall seconds, [(section title, seconds)], estimated time text)``."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        allow_errors=True,  # an error is reported below, not a reason to lose the other timings
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    total = time.perf_counter() - start
    sections, title = [], "set-up"
    seconds = 0.0
    for cell in nb.cells:
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        if cell.cell_type == "markdown" and first.startswith("## "):
            sections.append((title, seconds))
            title, seconds = first[3:].strip(), 0.0
        elif cell.cell_type == "code":
            seconds += _seconds(cell)
    sections.append((title, seconds))
    estimate = re.search(r"\*\*Estimated time\.\*\*\s*([^:.(]*)", nb.cells[0].source)
    failed = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and "raises-exception" not in c.metadata.get("tags", [])
        and any(o.get("output_type") == "error" for o in c.outputs)
    ]
    if failed:
        print(f"{path.name}: cells {failed} raised", file=sys.stderr)
    return total, sections, estimate.group(1).strip() if estimate else "?"


def main(paths):
    paths = [Path(p) for p in paths] or sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb"))
    import torch

    print(
        f"Measured by `.ci/section_times.py` on {datetime.date.today().isoformat()}: "
        f"{os.cpu_count()} cores, torch {torch.__version__}, Python {platform.python_version()}.\n"
    )
    print("| tutorial | learner time (stated) | run time | run time per section (s) |")
    print("| --- | --- | ---: | --- |")
    for path in paths:
        total, sections, estimate = section_times(path)
        per = "; ".join(
            f"{t.split('.')[0] if t[0].isdigit() else t} {s:.0f}" for t, s in sections if s >= 0.5
        )
        print(f"| {path.stem} | {estimate} | {total:.0f} s | {per} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
