"""Each tutorial is whole on its own and hides nbval's markers (``.ci/tidy_notebooks.py``).

The committed notebooks are checked as JSON: every image a markdown cell shows resolves inside
the notebook (a ``data:`` URI, or an absolute URL for the badges), each embedded diagram is the
current file in ``tutorials/figures/``, and no code cell carries a ``# NBVAL_...`` line. The
rewrite itself is checked on small notebooks, and a run of nbval shows that it reads the tag.
"""

import base64
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.ipynb"))
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img[^>]*\ssrc=[\"']([^\"']+)", re.I)


def load_script():
    spec = importlib.util.spec_from_file_location("tidy_notebooks", ROOT / ".ci/tidy_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tidy = load_script()


def images(source):
    return [a or b for a, b in IMAGE.findall(source)]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_every_image_of_a_tutorial_is_inside_it(path):
    """What Colab, GitHub or nbviewer show of a notebook opened alone: no relative image path."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for src in images(cell.source):
            assert src.startswith(("data:image/", "https://")), (
                f"{path.name} cell {i} shows {src[:60]}, which a notebook opened alone cannot "
                "find: run .venv/bin/python .ci/tidy_notebooks.py"
            )
        figure = cell.metadata.get(tidy.META, {}).get("figure")
        if figure:
            (src,) = images(cell.source)
            committed = (ROOT / "tutorials" / "figures" / figure).read_bytes()
            assert base64.b64decode(src.split(",", 1)[1]) == committed, (
                f"{path.name}: the embedded {figure} is stale: run .ci/tidy_notebooks.py"
            )


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_no_tutorial_shows_an_nbval_marker(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        shown = [line for line in cell.source.splitlines() if "NBVAL_" in line]
        assert not shown, f"{path.name} cell {i} shows {shown}: run .ci/tidy_notebooks.py"


def test_every_tutorial_is_as_the_script_leaves_it():
    assert tidy.main(["--check", *map(str, TUTORIALS)]) == 0


def test_every_diagram_is_shown_by_some_tutorial():
    shown = {
        cell.metadata[tidy.META]["figure"]
        for path in TUTORIALS
        for cell in nbformat.read(path, as_version=4).cells
        if tidy.META in cell.metadata
    }
    assert shown == {p.name for p in (ROOT / "tutorials" / "figures").glob("*.png")}


@pytest.fixture
def figures(tmp_path):
    folder = tmp_path / "figures"
    folder.mkdir()
    for name, data in (("a.png", b"\x89PNG first"), ("b.png", b"\x89PNG second")):
        (folder / name).write_bytes(data)
    return folder


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "## Title\n\nText before.\n\n![A diagram over\ntwo lines](figures/a.png)\n"
            " continues the paragraph.\n\n![Second](figures/b.png)"
        ),
        nbformat.v4.new_markdown_cell("![Lead](figures/b.png)\n\nText after."),
        nbformat.v4.new_markdown_cell("Inline ![icon](figures/a.png) in a sentence."),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n# a comment stays\nprint(1)"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2)", metadata={"tags": ["t"]}),
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    return nb


def _uri(folder, name):
    return "data:image/png;base64," + base64.b64encode((folder / name).read_bytes()).decode()


def test_a_whole_line_image_gets_a_cell_of_its_own_and_the_text_stays(figures):
    nb = _notebook()
    new = tidy.tidy(nb, figures)
    assert nb == _notebook()  # the argument is not changed
    md = [c for c in new.cells if c.cell_type == "markdown"]
    assert [c.source.split("(")[0] for c in md] == [
        "## Title\n\nText before.",
        "![A diagram over two lines]",
        "continues the paragraph.",
        "![Second]",
        "![Lead]",
        "Text after.",
        "Inline ![icon]",
    ]
    assert md[0].id == "c0" and md[5].id == "c1"  # the text keeps the cell and its id
    assert len({c.id for c in new.cells}) == len(new.cells)
    for cell, name in ((md[1], "a.png"), (md[3], "b.png"), (md[4], "b.png")):
        assert cell.metadata[tidy.META] == {"figure": name}
        assert cell.source.endswith(f"({_uri(figures, name)})")
    assert md[6].source == f"Inline ![icon]({_uri(figures, 'a.png')}) in a sentence."
    nbformat.validate(new)


def test_markers_become_tags_and_nothing_else_changes(figures):
    code = [c for c in tidy.tidy(_notebook(), figures).cells if c.cell_type == "code"]
    assert code[0].source == "# a comment stays\nprint(1)"
    assert code[0].metadata["tags"] == ["nbval-check-output"]
    assert code[1].source == "print(2)"
    assert code[1].metadata["tags"] == ["t", "nbval-check-output"]


def test_a_second_run_changes_nothing_and_a_redrawn_figure_is_refreshed(figures):
    once = tidy.tidy(_notebook(), figures)
    assert tidy.tidy(once, figures) == once
    (figures / "b.png").write_bytes(b"\x89PNG redrawn")
    again = tidy.tidy(once, figures)
    refreshed = [c for c in again.cells if c.metadata.get(tidy.META) == {"figure": "b.png"}]
    assert len(refreshed) == 2
    assert all(c.source.endswith(f"({_uri(figures, 'b.png')})") for c in refreshed)
    assert [c.id for c in again.cells] == [c.id for c in once.cells]


def test_a_missing_figure_is_named(figures):
    (figures / "a.png").unlink()
    with pytest.raises(FileNotFoundError, match="a.png is missing"):
        tidy.tidy(_notebook(), figures)


def test_nbval_compares_the_output_of_a_tagged_cell_only(tmp_path):
    """nbval 0.11 in lax mode reads the ``nbval-check-output`` tag as the comment marker."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    wrong = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    right = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nb.cells = [
        nbformat.v4.new_code_cell(
            "print(2)", outputs=wrong, metadata={"tags": ["nbval-check-output"]}
        ),
        nbformat.v4.new_code_cell("print(2)", outputs=wrong),  # untagged: not compared
        nbformat.v4.new_code_cell(
            "print(2)", outputs=right, metadata={"tags": ["nbval-check-output"]}
        ),
    ]
    for n, cell in enumerate(nb.cells, 1):
        cell.execution_count = n  # nbval refuses stored outputs of a cell that never ran
    nbformat.write(nb, tmp_path / "tagged.ipynb")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rf",
            "--color=no",
            "tagged.ipynb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "1 failed, 2 passed" in run.stdout, run.stdout[-3000:]
    assert "tagged.ipynb::Cell 0" in run.stdout  # the tagged cell with the wrong output
