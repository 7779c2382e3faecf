"""Widgets respond to their controls: set a slider from code, check the data and figure change."""

import base64

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from spikelearn import encoding, widgets  # noqa: E402
from spikelearn.cells.neurons import LIF  # noqa: E402


def test_lif_explorer_is_a_widget_and_simulates_the_library_lif():
    w = widgets.lif_explorer(beta=0.8, threshold=1.0, current=0.3, num_steps=50)
    assert isinstance(w, ipywidgets.VBox)
    spk, mem = LIF(beta=0.8, threshold=1.0).multi_step(torch.full((50, 1), 0.3))
    assert torch.equal(w.result["mem"], mem[:, 0])
    assert torch.equal(w.result["spk"], spk[:, 0])
    assert w.result["rate"] == pytest.approx(spk.mean().item())
    assert len(w.figure.axes) == 2


def test_lif_explorer_higher_beta_fires_more_for_the_same_subthreshold_input():
    w = widgets.lif_explorer(beta=0.8, current=0.15, num_steps=200)
    # 0.15 / (1 - 0.8) = 0.75 < threshold: never fires
    assert w.result["spk"].sum() == 0
    w.controls["beta"].value = 0.9  # steady state 1.5 > threshold: fires
    n_090 = w.result["spk"].sum()
    w.controls["beta"].value = 0.95
    assert 0 < n_090 < w.result["spk"].sum()
    assert "spikes" in w.figure.axes[0].get_title()


def test_lif_explorer_threshold_current_reset_and_steps():
    w = widgets.lif_explorer(beta=0.9, current=0.3, num_steps=100)
    n = w.result["spk"].sum()
    w.controls["threshold"].value = 2.0
    assert w.result["spk"].sum() < n
    w.controls["current"].value = 0.6
    assert w.result["spk"].sum() > 0
    w.controls["num_steps"].value = 50
    assert w.result["mem"].shape == (50,)
    before = w.result["mem"].clone()
    w.controls["reset"].value = "zero"
    assert not torch.equal(before, w.result["mem"])
    # after a zero reset the membrane restarts from the input alone
    after = torch.nonzero(w.result["spk"]).flatten() + 1
    assert torch.allclose(w.result["mem"][after[after < 50]], torch.tensor(0.6))


def test_encoding_explorer_every_code_and_its_controls():
    image = torch.linspace(0, 1, 16).reshape(4, 4)
    w = widgets.encoding_explorer(image, code="rate", num_steps=20)
    assert isinstance(w, ipywidgets.VBox)
    assert torch.equal(w.result["spikes"], encoding.rate(image[None], 20, seed=0))
    for code in widgets.CODES:
        w.controls["code"].value = code
        assert w.result["spikes"].shape == (20, 1, 4, 4)
        assert w.figure.axes[2].get_title().startswith(code)
    w.controls["code"].value = "latency"
    assert w.result["spikes"].sum(0).max() <= 1
    w.controls["code"].value = "rate"
    full = w.result["total"]
    w.controls["gain"].value = 0.25
    assert w.result["total"] < full
    w.controls["num_steps"].value = 40
    assert w.result["spikes"].shape[0] == 40


def test_encoding_explorer_defaults_to_a_digit():
    w = widgets.encoding_explorer(code="latency")
    assert w.result["spikes"].shape == (30, 1, 8, 8)
    assert w.result["total"] > 0
    w.controls["threshold"].value = 0.9  # clip: only the brightest pixels fire
    assert 0 < w.result["total"] < 64


def test_each_frame_is_rendered_to_png_and_changes_with_a_control():
    w = widgets.lif_explorer(beta=0.9, current=0.3)
    assert w.png.startswith(b"\x89PNG") and w.image.value == w.png
    first = w.png
    w.controls["current"].value = 0.6
    assert w.image.value == w.png != first
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live Jupyter: the sliders
    assert base64.b64decode(bundle["image/png"]) == w.png  # static pages: the last frame


def test_controls_sit_in_a_wrapping_grid_of_wide_columns():
    w = widgets.encoding_explorer(torch.rand(4, 4))
    grid = w.children[0]
    assert isinstance(grid, ipywidgets.GridBox) and w.children[1] is w.image
    assert list(grid.children) == list(w.controls.values())
    assert "minmax(340px" in grid.layout.grid_template_columns


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"beta": 2.0}, ValueError, r"beta must be in \[0, 1\], got 2.0"),
        ({"beta": -0.1}, ValueError, r"beta must be in \[0, 1\]"),
        ({"threshold": 5.0}, ValueError, r"threshold must be in \[0.1, 2\], got 5.0"),
        ({"current": -1.0}, ValueError, r"current must be in \[0, 1.5\]"),
        ({"num_steps": 0}, ValueError, r"num_steps must be in \[10, 300\], got 0"),
        ({"num_steps": 50.5}, TypeError, r"num_steps must be an integer, got float 50.5"),
        ({"reset": "hard"}, ValueError, r"reset must be one of 'subtract', 'zero', got 'hard'"),
        ({"beta": "high"}, TypeError, r"beta must be a real number, got str"),
    ],
)
def test_lif_explorer_rejects_starting_values_its_controls_cannot_show(kwargs, error, match):
    with pytest.raises(error, match=match):
        widgets.lif_explorer(**kwargs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"code": "morse"}, ValueError, r"code must be one of 'rate', .*, got 'morse'"),
        ({"image": torch.rand(16)}, ValueError, r"image must have 2 dimensions, got shape \(16,\)"),
        ({"image": torch.rand(1, 4, 4)}, ValueError, r"image must have 2 dimensions"),
        ({"image": torch.full((4, 4), 2.0)}, ValueError, r"image must be in \[0, 1\]"),
        ({"image": "abc"}, TypeError, r"image must be an \[H, W\] tensor or array, got str"),
        ({"num_steps": 1000}, ValueError, r"num_steps must be in \[5, 100\], got 1000"),
        ({"gain": 3.0}, ValueError, r"gain must be in \[0, 1\]"),
        ({"tau": 0.0}, ValueError, r"tau must be in \[1, 50\]"),
        ({"threshold": 1.0}, ValueError, r"threshold must be in \[0.01, 0.99\]"),
    ],
)
def test_encoding_explorer_rejects_bad_input_by_name(kwargs, error, match):
    kwargs.setdefault("image", torch.rand(4, 4))
    with pytest.raises(error, match=match):
        widgets.encoding_explorer(**kwargs)


def test_encoding_explorer_takes_a_numpy_image():
    image = torch.rand(3, 5)
    w = widgets.encoding_explorer(image.numpy(), code="direct", num_steps=5)
    assert torch.equal(w.result["spikes"], encoding.direct(image[None], 5))
