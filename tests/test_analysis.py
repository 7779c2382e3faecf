"""Gradient-flow and activity measurements and the health report (the recording itself is tested
in test_monitors.py)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import snntorch as snn  # noqa: E402
import torch  # noqa: E402
from snntorch import utils as snn_utils  # noqa: E402
from torch import nn  # noqa: E402

from spikelearn import analysis, monitors, surrogate, training  # noqa: E402
from spikelearn.cells.neurons import LIF  # noqa: E402
from spikelearn.networks.layers import Spiking, TimeFolded  # noqa: E402
from spikelearn.networks.models import spiking_mlp  # noqa: E402


def _deep_mlp(depth=8, scale=1.0):
    torch.manual_seed(0)
    return spiking_mlp(
        16, num_classes=4, hidden=32, depth=depth, norm="bn", spike_grad=surrogate.atan(scale=scale)
    )


def _batch(steps=5, batch=8):
    torch.manual_seed(1)
    return torch.rand(steps, batch, 16) * 2, torch.randint(0, 4, (batch,))


def test_monitor_records_the_gradient_of_each_input_current_per_step():
    net = _deep_mlp(depth=3)
    x, y = _batch()
    currents = {}
    for name, layer in monitors.spiking_layers(net):
        layer.register_forward_hook(lambda m, a, o, name=name: currents.__setitem__(name, a[0]))
    with monitors.GradientMonitor(net) as mon:
        loss = training.ce_count_loss()(net(x), y)
        loss.backward(retain_graph=True)
    assert mon.names == [name for name, _ in monitors.spiking_layers(net)]
    grads = torch.autograd.grad(loss, [currents[n] for n in mon.names])
    expected = torch.stack([g.flatten(2).pow(2).mean((1, 2)).sqrt() for g in grads])
    assert mon.norms.shape == (3, 5)
    torch.testing.assert_close(mon.norms, expected)


def test_gradient_norms_leaves_the_model_unchanged():
    torch.manual_seed(0)
    net = spiking_mlp(16, num_classes=4, hidden=32, depth=3, norm="bn")
    x, y = _batch()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    norms = analysis.gradient_norms(net, x, y)
    assert norms.shape == (3, 5) and bool((norms > 0).any())
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in net.parameters())
    assert not any(m._forward_hooks for m in net.modules())


def test_surrogate_scale_sets_the_regime():
    x, y = _batch()
    ratios = {}
    for scale in (0.3, 3.0):
        ratios[scale] = analysis.gradient_ratio(
            analysis.gradient_norms(_deep_mlp(scale=scale), x, y)
        )
    assert ratios[0.3] < 1e-2  # vanishing: the first layer gets a tiny fraction of the last's
    assert ratios[3.0] > 1e2  # exploding


def test_tune_surrogate_scale_balances_the_gradient():
    net = _deep_mlp()
    x, y = _batch()
    best, ratios = analysis.tune_surrogate_scale(net, x, y)
    assert min(ratios.values()) < 1 < max(ratios.values())
    assert 0.1 <= abs(ratios[best]) <= 10
    assert all(m.neuron.spike_grad.scale == best for _, m in monitors.spiking_layers(net))
    ratio = analysis.gradient_ratio(analysis.gradient_norms(net, x, y))
    assert ratio == pytest.approx(ratios[best])


def test_ratio_and_gain():
    norms = torch.tensor([[8.0, 8.0], [4.0, 4.0], [2.0, 2.0], [1.0, 1.0]])
    assert analysis.gradient_ratio(norms) == pytest.approx(8.0)
    assert analysis.gradient_gain(norms) == pytest.approx(2.0)
    torch.testing.assert_close(analysis.layer_norms(norms), torch.tensor([8.0, 4.0, 2.0, 1.0]))


def test_activity_counts_spikes():
    net = nn.Sequential(TimeFolded(nn.Identity()), Spiking(LIF(beta=1.0, threshold=1.0)))
    x = torch.zeros(4, 2, 3)
    x[:, 0, 0] = 1.5  # fires at steps 1, 2, 3 (u = 1.5, 2.0, 2.5, 3.0 minus resets)
    mon = analysis.activity(net, x)
    spk = net(x)
    assert mon.spikes_per_neuron["1"] == pytest.approx(float(spk.sum()) / 6)
    assert mon.rates["1"] == pytest.approx(float(spk.mean()))


def test_bad_input():
    with pytest.raises(ValueError, match="no spiking layer"):
        analysis.gradient_norms(nn.Linear(2, 2), torch.ones(3, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="scale"):
        analysis.set_surrogate_scale(_deep_mlp(depth=2), -1)
    with pytest.raises(ValueError, match="x_seq"):
        analysis.gradient_norms(_deep_mlp(depth=2), torch.ones(3), torch.zeros(3))
    with pytest.raises(TypeError, match="run must be callable"):
        analysis.diagnose(_deep_mlp(depth=2), *_batch(), run=3)


# --- the health report -------------------------------------------------------------------------


def _mlp(spike_grad=None, threshold=1.0, depth=2):
    torch.manual_seed(0)
    lif = {} if spike_grad is None else {"spike_grad": spike_grad}
    return spiking_mlp(16, num_classes=4, hidden=32, depth=depth, threshold=threshold, **lif)


def test_diagnose_rows_are_the_numbers_measured_independently():
    net = _mlp(spike_grad=surrogate.fast_sigmoid(slope=5))
    x, y = _batch()
    seen = {}
    for name, m in monitors.spiking_layers(net):
        m.register_forward_hook(
            lambda mod, a, o, name=name: seen.__setitem__(name, (o.detach(), mod.mem))
        )
    report = analysis.diagnose(net, x, y, show=False)
    norms = analysis.gradient_norms(net, x, y)
    torch.testing.assert_close(report.norms, norms, rtol=1e-6, atol=0)
    for i, (name, m) in enumerate(monitors.spiking_layers(net)):
        spk, mem = seen[name]
        row = report.rows[name]
        flat = spk.reshape(-1, spk[0, 0].numel())
        assert row["rate"] == pytest.approx(float(spk.mean()), abs=1e-6)
        assert row["silent"] == pytest.approx(float((flat.sum(0) == 0).float().mean()), abs=1e-6)
        assert row["saturated"] == pytest.approx(
            float((flat.min(0).values == 1).float().mean()), abs=1e-6
        )
        d = m.neuron.spike_grad.derivative(mem - m.neuron.threshold)
        assert row["sg_mean"] == pytest.approx(float(d.mean()), rel=1e-5)
        assert row["sg_cover"] == pytest.approx(float((d >= 0.1).float().mean()), abs=1e-6)
        assert row["u_median"] == pytest.approx(float((mem - 1).flatten().median()), abs=1e-6)
        rms = analysis.layer_norms(norms)
        assert row["grad_rms"] == pytest.approx(float(rms[i]), rel=1e-6)
        assert row["grad_ratio"] == pytest.approx(float(rms[i] / rms[-1]), rel=1e-6)
        torch.testing.assert_close(report.rates[name], spk.flatten(1).mean(1))


def test_diagnose_verdicts_follow_the_rules():
    x, y = _batch()
    healthy = analysis.diagnose(_mlp(), x * 2, y, show=False)
    assert all(healthy.codes(n) == [] for n in healthy.names), str(healthy)
    assert set(healthy.verdicts.values()) == {"healthy"}
    silent = analysis.diagnose(_mlp(threshold=50.0), x, y, show=False)
    assert all("silent" in silent.codes(n) for n in silent.names)
    assert not any("narrow surrogate" in silent.codes(n) for n in silent.names)  # scale, not σ'
    assert all(silent.rows[n]["near"] < analysis.NEAR for n in silent.names)
    assert "no neuron fired" in silent.verdicts[silent.names[0]]
    torch.manual_seed(0)
    driven = nn.Sequential(TimeFolded(nn.Linear(16, 8)), Spiking(LIF(beta=0.9)))
    with torch.no_grad():
        driven[0].module.weight.abs_()  # positive input, positive weights: every neuron fires
    saturated = analysis.diagnose(driven, x * 5, y, show=False)
    assert saturated.codes("1") == ["saturated"]
    assert saturated.rows["1"]["saturated"] >= analysis.SATURATED
    narrow = analysis.diagnose(
        _mlp(spike_grad=surrogate.fast_sigmoid(slope=3000)), x * 2, y, show=False
    )
    assert "narrow surrogate" in narrow.codes(narrow.names[0])
    assert narrow.rows[narrow.names[0]]["sg_cover"] < analysis.NARROW
    vanish = analysis.diagnose(_deep_mlp(scale=0.3), x, y, show=False)
    first = vanish.names[0]
    assert "vanishing gradient" in vanish.codes(first)
    assert vanish.rows[first]["grad_ratio"] < analysis.VANISHING
    assert "gradient vanishes from layer" in vanish.verdicts[first]
    explode = analysis.diagnose(_deep_mlp(scale=3.0), x, y, show=False)
    assert "exploding gradient" in explode.codes(explode.names[0])


def test_diagnose_leaves_the_model_as_it_was_and_draws_the_figure():
    torch.manual_seed(0)
    net = spiking_mlp(16, num_classes=4, hidden=32, depth=3, norm="bn")
    x, y = _batch()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    report = analysis.diagnose(net, x, y)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in net.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())
    assert len(report.figure.axes) >= 4
    assert [t.get_text() for t in report.figure.axes[0].get_legend().get_texts()] == report.names
    plt.close("all")
    assert report.names[0] in str(report) and "healthy" in str(report) or "silent" in str(report)


def test_diagnose_on_an_init_hidden_sequential_run_by_a_function():
    torch.manual_seed(0)
    seq = nn.Sequential(
        nn.Linear(16, 24),
        snn.Leaky(beta=0.9, init_hidden=True),
        nn.Linear(24, 4),
        snn.Leaky(beta=0.9, init_hidden=True, output=True),
    )
    x, y = _batch()

    def run(net, x_seq):  # snnTorch's own way to run an init_hidden network
        snn_utils.reset(net)
        return torch.stack([net(x_t)[0] for x_t in x_seq])

    before = seq[1].mem
    report = analysis.diagnose(seq, x * 2, y, run=run, show=False)
    assert report.names == ["1", "3"] and report.norms.shape == (2, 5)
    assert seq[1].mem is before  # the neuron state is put back
    mon = analysis.activity(seq, x * 2, run=run)
    assert report.rows["1"]["rate"] == pytest.approx(mon.rates["1"], abs=1e-6)
    assert not math.isnan(report.rows["1"]["sg_mean"])


def test_activity_and_gradient_norms_take_a_run_function():
    torch.manual_seed(0)
    fc, lif = nn.Linear(16, 4), snn.Leaky(beta=0.9)
    net = nn.ModuleDict({"fc": fc, "lif": lif})

    def run(net, x_seq):
        mem, out = net["lif"].reset_mem(), []
        for x_t in x_seq:
            spk, mem = net["lif"](net["fc"](x_t), mem)
            out.append(spk)
        return torch.stack(out)

    x, y = _batch()
    with torch.no_grad():
        out = run(net, x * 2)
    assert analysis.activity(net, x * 2, run=run).rates["lif"] == pytest.approx(float(out.mean()))
    assert analysis.gradient_norms(net, x * 2, y, run=run).shape == (1, 5)


def test_diagnose_a_neuron_without_a_per_step_surrogate_leaves_its_surrogate_columns_empty():
    """LeakAwareLIF trains through its whole spike train (multi-step); its spike function has no
    one-step derivative to read, so the surrogate columns are n/a and the rest is measured."""
    torch.manual_seed(0)
    net = spiking_mlp(16, num_classes=4, hidden=32, depth=2, neuron="leak_aware")
    x, y = _batch()
    report = analysis.diagnose(net, x, y, show=False)
    act = analysis.activity(net, x)
    leak_aware = [
        n for n, m in monitors.spiking_layers(net) if type(m.neuron).__name__ == "LeakAwareLIF"
    ]
    assert leak_aware  # (the output layer is an ordinary LIF with a surrogate)
    for name in report.names:
        row = report.rows[name]
        if name in leak_aware:
            assert math.isnan(row["sg_mean"]) and math.isnan(row["sg_cover"])
            assert report.surrogate_curves[name] is None
        assert row["rate"] == pytest.approx(act.rates[name], abs=1e-6)
        assert math.isfinite(row["u_median"]) and math.isfinite(row["near"])
        assert "narrow surrogate" not in report.codes(name)
    assert bool((report.norms > 0).any())
    assert "n/a" in str(report)
