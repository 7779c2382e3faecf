"""The tutorials' diagrams: ``docs/make_figures.py`` draws every one, and the committed copies exist.

The script is loaded from its file (``docs/`` is not a package) and run into a temporary folder.
"""

import importlib.util
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "make_figures.py"
COMMITTED = ROOT / "tutorials" / "figures"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_script():
    spec = importlib.util.spec_from_file_location("make_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_size(path):
    """(width, height) from a PNG's IHDR chunk; fails unless the file starts as a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path.name} has no IHDR chunk first"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    module = load_script()
    return module, out, module.main(out)


def test_every_figure_is_written_into_the_given_folder(drawn):
    module, out, paths = drawn
    assert sorted(p.name for p in paths) == sorted(module.FIGURES)
    assert sorted(p.name for p in out.iterdir()) == sorted(module.FIGURES)


@pytest.mark.parametrize(
    "name",
    [
        "rc_circuit.png",
        "unrolled_graph.png",
        "time_folding.png",
        "tdbn_residual_block.png",
        "ttfs_windows.png",
        "conversion_pipeline.png",
        "recurrent_adaptive_neuron.png",
        "three_factor_rule.png",
    ],
)
def test_figure_is_a_png_of_sane_size(drawn, name):
    _, out, _ = drawn
    path = out / name
    width, height = png_size(path)
    # readable in a notebook or a docs page: about 1000-1400 px wide, not a thumbnail nor a poster
    assert 800 <= width <= 1600, (name, width)
    assert 300 <= height <= 1000, (name, height)
    assert 5_000 < path.stat().st_size < 150_000, (name, path.stat().st_size)


def test_committed_figures_exist_and_match_the_script(drawn):
    module, out, _ = drawn
    for name in module.FIGURES:
        committed = COMMITTED / name
        assert committed.is_file(), f"{committed} is missing: run python docs/make_figures.py"
        assert png_size(committed) == png_size(out / name), (
            f"{name} is out of date: run python docs/make_figures.py"
        )


def test_default_output_is_the_tutorials_figures_folder():
    assert load_script().DEFAULT_OUT == COMMITTED
