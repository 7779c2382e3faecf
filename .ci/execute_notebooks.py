"""Execute tutorials in place, top to bottom in a fresh kernel, and strip widget state.

Usage: .venv/bin/python .ci/execute_notebooks.py tutorials/01_lif_neuron.ipynb [...]
Prints each notebook's wall time. Notebooks are committed executed; nbval re-checks them in CI.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
    ).execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)  # widget state is large and changes every run
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(f"{p}: {execute(p):.1f} s", flush=True)
