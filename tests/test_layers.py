"""spikelearn.layers: time folded into batch, spiking layers, unwrapping and the weighted layers."""

import pytest
import torch
from torch import nn

from spikelearn import layers, neurons
from spikelearn import surrogate as S

# --- TimeFolded and Spiking -------------------------------------------------------------------


@pytest.mark.parametrize(
    "module, shape",
    [
        (nn.Conv2d(2, 4, 3, padding=1), (6, 3, 2, 8, 8)),
        (nn.Linear(5, 3), (6, 3, 5)),
        (nn.MaxPool2d(2), (6, 3, 2, 8, 8)),
        (nn.AvgPool2d(2), (6, 3, 2, 8, 8)),
        (nn.Flatten(), (6, 3, 2, 4, 4)),
        (nn.BatchNorm2d(2).eval(), (6, 3, 2, 4, 4)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else str(v),
)
def test_time_folded_equals_per_step(module, shape):
    torch.manual_seed(3)
    if isinstance(module, nn.BatchNorm2d):
        module.running_mean.uniform_(-1, 1)
        module.running_var.uniform_(0.5, 2)
    x = torch.randn(*shape)
    folded = layers.TimeFolded(module)(x)
    per_step = torch.stack([module(xt) for xt in x])
    torch.testing.assert_close(folded, per_step, rtol=1e-6, atol=1e-6)


def test_time_folded_batchnorm_shares_statistics_over_time():
    bn = nn.BatchNorm2d(3)
    x = torch.randn(4, 5, 3, 2, 2) * torch.arange(1.0, 5.0)[:, None, None, None, None]
    y = layers.TimeFolded(bn)(x)
    mean = y.permute(2, 0, 1, 3, 4).reshape(3, -1).mean(1)  # per channel, over T, B, H, W together
    torch.testing.assert_close(mean, torch.zeros(3), atol=1e-5, rtol=0)
    assert y[0].std() < 0.5 * y[-1].std()  # one BN per step would give every step std 1


def test_spiking_layer_keeps_membrane_and_can_return_it():
    lif = neurons.LIF(0.8, spike_grad=S.atan())
    x = torch.rand(9, 2, 6) * 0.8
    layer = layers.Spiking(lif)
    spk = layer(x)
    assert torch.equal(spk, lif.multi_step(x)[0])
    assert torch.equal(layer.mem, lif.multi_step(x)[1]) and not layer.mem.requires_grad
    spk2, mem2 = layers.Spiking(lif, return_mem=True)(x)
    assert torch.equal(spk2, spk) and torch.equal(mem2, layer.mem)


def test_spiking_synaptic_neuron():
    syn = neurons.Synaptic(alpha=0.7, beta=0.8)
    x = torch.rand(9, 2, 6) * 0.5
    layer = layers.Spiking(syn)
    spk_seq, _, mem_seq = syn.multi_step(x)
    assert torch.equal(layer(x), spk_seq) and torch.equal(layer.mem, mem_seq)


def conv_snn(return_mem=False):
    sg = S.fast_sigmoid(slope=25)
    return nn.Sequential(
        layers.TimeFolded(nn.Conv2d(1, 4, 3, padding=1)),
        layers.Spiking(neurons.LIF(0.9, spike_grad=sg)),
        layers.TimeFolded(nn.MaxPool2d(2)),
        layers.TimeFolded(nn.Flatten()),
        layers.TimeFolded(nn.Linear(4 * 4 * 4, 10)),
        layers.Spiking(neurons.LIF(0.9, spike_grad=sg), return_mem=return_mem),
    )


def test_multi_step_model_equals_step_by_step_model():
    torch.manual_seed(4)
    net = conv_snn(return_mem=True)
    x = torch.rand(10, 3, 1, 8, 8) * 2
    spk, mem = net(x)
    spk_ref, mem_ref = layers.step_by_step(net, x)
    torch.testing.assert_close(mem, mem_ref, rtol=1e-6, atol=1e-6)
    assert (spk != spk_ref).float().mean() < 0.01  # conv sums may round differently when batched
    w = [p for p in net.parameters()]
    g1 = torch.autograd.grad(mem.sum(), w)
    g2 = torch.autograd.grad(mem_ref.sum(), w)
    if torch.equal(spk, spk_ref):
        for a, b in zip(g1, g2, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_layer_type_errors():
    with pytest.raises(TypeError, match="module must be a torch.nn.Module, got function"):
        layers.TimeFolded(lambda x: x)
    with pytest.raises(TypeError, match="neuron must have a multi_step"):
        layers.Spiking(nn.ReLU())
    with pytest.raises(ValueError, match="x_seq must have >= 2 dimensions"):
        layers.TimeFolded(nn.Flatten())(torch.rand(4))
    with pytest.raises(TypeError, match="step_by_step runs spikelearn neurons one step at a time"):
        layers.step_by_step(layers.Spiking(_SequenceOnly()), torch.rand(3, 1, 2))
    bn = nn.Sequential(layers.TimeFolded(nn.BatchNorm1d(2)), layers.Spiking(neurons.LIF(0.9)))
    with pytest.raises(ValueError, match=r"batch norm in training mode.*model.eval\(\)"):
        layers.step_by_step(bn, torch.rand(3, 4, 2))
    x = torch.rand(3, 4, 2) * 3
    bn.eval()
    assert torch.equal(layers.step_by_step(bn, x), bn(x))  # eval mode: the same statistics


class _SequenceOnly(nn.Module):
    def multi_step(self, x_seq):
        return x_seq, x_seq


def test_time_folded_runs_integer_tensors():
    # integer inference folds time with TimeFolded too (no private copy)
    x = torch.randint(0, 5, (3, 2, 4))
    assert torch.equal(layers.TimeFolded(nn.Flatten())(x), x)
