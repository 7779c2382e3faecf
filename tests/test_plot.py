"""Plots draw what they are given: checked through the matplotlib artists they create."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from spikelearn import plot, surrogate  # noqa: E402
from spikelearn.cells.neurons import LIF  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def lif_run(num_steps=40, current=0.3):
    cur = torch.full((num_steps, 1), current)
    spk, mem = LIF(beta=0.9).multi_step(cur)
    return cur[:, 0], mem[:, 0], spk[:, 0]


def test_membrane_draws_the_trace_threshold_and_spikes():
    cur, mem, spk = lif_run()
    ax = plot.membrane(mem, threshold=1.0, spk=spk)
    trace, thr, ticks = ax.get_lines()
    assert np.allclose(trace.get_ydata(), mem.numpy())
    assert np.allclose(thr.get_ydata(), 1.0)
    assert np.array_equal(ticks.get_xdata(), torch.nonzero(spk).flatten().numpy())


def test_membrane_draws_on_a_given_axes():
    _, ax = plt.subplots()
    cur, mem, spk = lif_run()
    assert plot.membrane(mem, ax=ax) is ax


def test_traces_has_three_panels_sharing_time():
    cur, mem, spk = lif_run()
    fig = plot.traces(cur, mem, spk, threshold=1.0, title="LIF")
    assert len(fig.axes) == 3
    assert np.allclose(fig.axes[0].get_lines()[0].get_ydata(), cur.numpy())
    assert np.allclose(fig.axes[1].get_lines()[0].get_ydata(), mem.numpy())
    offsets = fig.axes[2].collections[0].get_offsets()
    assert len(offsets) == int(spk.sum())


def test_raster_marks_every_spike_and_off_spikes_separately():
    spikes = torch.zeros(10, 2, 3)
    spikes[1, 0, 2] = 1
    spikes[4, 1, 0] = 1
    spikes[7, 0, 0] = -1
    ax = plot.raster(spikes)
    on, off = ax.collections
    # neurons are the flattened non-time dims: (b=0, i=2) -> 2, (b=1, i=0) -> 3
    assert sorted(map(tuple, on.get_offsets().tolist())) == [(1, 2), (4, 3)]
    assert off.get_offsets().tolist() == [[7, 0]]
    assert ax.get_ylim() == (-0.5, 5.5)


def test_raster_rejects_bad_input():
    with pytest.raises(ValueError, match="spikes must be finite"):
        plot.raster(torch.tensor([[float("nan")]]))


def test_surrogates_plots_each_derivative_and_its_integral():
    fns = [surrogate.atan(), surrogate.triangle(width=0.5)]
    x = torch.linspace(-1, 1, 201)
    fig = plot.surrogates(fns, x=x)
    ax0, ax1 = fig.axes
    for line, fn in zip(ax1.get_lines(), fns, strict=True):
        assert np.allclose(line.get_ydata(), fn.derivative(x).numpy())
    # the triangle has unit area: its running integral climbs from 0 to 1 like the step
    tri_smooth = ax0.get_lines()[2].get_ydata()
    assert tri_smooth[0] == 0 and abs(tri_smooth[-1] - 1) < 1e-3


def test_surrogates_accepts_a_single_surrogate():
    fig = plot.surrogates(surrogate.fast_sigmoid())
    assert len(fig.axes[1].get_lines()) == 1


def test_fi_curve():
    currents = torch.linspace(0, 1, 11)
    rates = currents.clamp(min=0.1) - 0.1
    ax = plot.fi_curve(currents, rates, label="subtract")
    (line,) = ax.get_lines()
    assert np.allclose(line.get_xdata(), currents.numpy())
    assert np.allclose(line.get_ydata(), rates.numpy())
    assert ax.get_legend() is not None


def test_gradient_heatmap_shows_log_norms_layers_by_time():
    norms = torch.tensor([[1e-3, 1e-2, 1e-1], [1.0, 10.0, 100.0]])
    ax = plot.gradient_heatmap(norms, names=["a", "b"])
    np.testing.assert_allclose(ax.images[0].get_array(), np.log10(norms.numpy()), rtol=1e-6)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]


def test_depth_curve_draws_values_against_layer():
    ax = plot.depth_curve({"l1": 4.0, "l2": 2.0, "l3": 1.0}, label="x")
    line = ax.lines[0]
    np.testing.assert_allclose(line.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(line.get_ydata(), [4.0, 2.0, 1.0])
    assert ax.get_yscale() == "log"


def test_raster_ticks_are_whole_neurons_and_time_steps():
    spikes = (torch.rand(7, 6) < 0.3).float()
    ax = plot.raster(spikes)
    plt.gcf().canvas.draw()
    for ticks in (ax.get_yticks(), ax.get_xticks()):
        assert np.allclose(ticks, np.round(ticks)), ticks  # no 2.5, 7.5 neuron ticks
    assert ax.get_xlabel() == "time step t"


def test_membrane_takes_t_b_n_like_raster():
    mem = torch.rand(10, 2, 3)
    spk = (mem > 0.9).float()
    ax = plot.membrane(mem, threshold=0.9, spk=spk)
    traces = ax.get_lines()[:6]  # one trace per (sample, neuron), then threshold and spike ticks
    for k, line in enumerate(traces):
        np.testing.assert_allclose(line.get_ydata(), mem.reshape(10, 6)[:, k].numpy())
    ticks = ax.get_lines()[-1]
    assert np.array_equal(ticks.get_xdata(), np.flatnonzero(spk.reshape(10, -1).any(1).numpy()))


def test_raster_and_membrane_take_what_a_monitor_returns():
    records = {
        "lif1": (torch.rand(8, 3, 5) < 0.3).float(),
        "lif2": (torch.rand(8, 3, 2) < 0.3).float(),
    }
    fig = plot.raster(records, sample=1)
    assert [ax.get_title() for ax in fig.axes] == ["lif1 (sample 1)", "lif2 (sample 1)"]
    for ax, spikes in zip(fig.axes, records.values(), strict=True):
        t, i = np.nonzero(spikes[:, 1].numpy())
        assert sorted(map(tuple, ax.collections[0].get_offsets().tolist())) == sorted(
            zip(t.tolist(), i.tolist(), strict=True)
        )
    fig = plot.membrane({"lif1": torch.rand(8, 3, 5)}, threshold=1.0)
    assert len(fig.axes[0].get_lines()) == 5 + 1  # five neurons of sample 0, the threshold


def test_health_figure_draws_the_report():
    from spikelearn import analysis, models

    torch.manual_seed(0)
    net = models.spiking_mlp(16, num_classes=4, hidden=32, depth=2)
    report = analysis.diagnose(net, torch.rand(5, 8, 16) * 2, torch.randint(0, 4, (8,)), show=False)
    fig = plot.health(report)
    rate_ax, share_ax, mem_ax = fig.axes[:3]
    for line, name in zip(rate_ax.get_lines(), report.names, strict=True):
        np.testing.assert_allclose(line.get_ydata(), report.rates[name].numpy())
    heights = [p.get_height() for p in share_ax.patches]
    np.testing.assert_allclose(
        heights[: len(report.names)], [report.rows[n]["silent"] for n in report.names]
    )
    assert [t.get_text() for t in share_ax.get_xticklabels()] == report.names
    heat = next(ax for ax in fig.axes if ax.images)
    np.testing.assert_allclose(
        heat.images[0].get_array(), np.log10(report.norms.numpy() + 1e-30), rtol=1e-6
    )
