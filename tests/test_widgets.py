"""Widgets respond to their controls: set a slider from code, check the data and figure change."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from spikelearn import encoding, widgets  # noqa: E402
from spikelearn.neurons import LIF  # noqa: E402


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
