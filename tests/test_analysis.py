"""Gradient-flow and activity measurements (the cost-accounting part is in test_analysis_cost.py)."""

import pytest
import torch
from torch import nn

from spikelearn import analysis, surrogate, training
from spikelearn.cells.neurons import LIF
from spikelearn.networks.layers import Spiking, TimeFolded
from spikelearn.networks.models import spiking_mlp


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
    for name, layer in analysis.spiking_layers(net):
        layer.register_forward_hook(lambda m, a, o, name=name: currents.__setitem__(name, a[0]))
    with analysis.GradientMonitor(net) as mon:
        loss = training.ce_count_loss()(net(x), y)
        loss.backward(retain_graph=True)
    assert mon.names == [name for name, _ in analysis.spiking_layers(net)]
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
    assert all(m.neuron.spike_grad.scale == best for _, m in analysis.spiking_layers(net))
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
    with pytest.raises(ValueError, match="Spiking"):
        analysis.GradientMonitor(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="scale"):
        analysis.set_surrogate_scale(_deep_mlp(depth=2), -1)
    with pytest.raises(ValueError, match="x"):
        analysis.gradient_norms(_deep_mlp(depth=2), torch.ones(3), torch.zeros(3))
