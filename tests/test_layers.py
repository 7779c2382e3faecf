"""Multi-step execution: time folded into batch, and the fused LIF sequence.

The fused ``LIF.multi_step`` must give the step loop's spikes and membranes bit for bit and the
step-by-step autograd gradients to float tolerance, for every reset and several surrogates.
"""

import pytest
import snntorch as snn
import torch
from torch import nn

from spikelearn import layers, neurons
from spikelearn import surrogate as S

RESETS = ["subtract", "zero", "none"]
SURROGATES = [
    S.atan(),
    S.fast_sigmoid(slope=25),
    S.sigmoid(slope=5),
    S.triangle(0.5),
    S.rectangle(1.0),
]


def loop(neuron, x_seq, mem=None):
    """The reference: the single-step call in a Python loop, one autograd graph per step."""
    spikes, mems = [], []
    for x in x_seq:
        spk, mem = neuron(x, mem)
        spikes.append(spk)
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)


def make_lif(reset, sg, learn=False, per_neuron=False, features=7):
    beta = torch.linspace(0.5, 0.95, features) if per_neuron else 0.85
    return neurons.LIF(
        beta, 0.8, sg, reset_mechanism=reset, learn_beta=learn, learn_threshold=learn
    )


def grads_of(fn, neuron, x, mem0, w_spk, w_mem):
    spk, mem = fn(neuron, x, mem0)
    loss = (spk * w_spk).sum() + (mem * w_mem).sum()
    params = [x, mem0] + [p for p in (neuron.beta, neuron.threshold) if p.requires_grad]
    return spk, mem, torch.autograd.grad(loss, params)


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("sg", SURROGATES, ids=repr)
@pytest.mark.parametrize("learn, per_neuron", [(False, False), (True, False), (True, True)])
def test_fused_lif_equals_step_loop(reset, sg, learn, per_neuron):
    torch.manual_seed(0)
    lif = make_lif(reset, sg, learn, per_neuron)
    x = (torch.randn(20, 5, 7) * 0.6 + 0.1).requires_grad_()
    mem0 = (torch.rand(5, 7) * 1.5).requires_grad_()  # some start above threshold: reset at t=1
    w_spk, w_mem = torch.randn(20, 5, 7), torch.randn(20, 5, 7)
    fused = grads_of(lambda n, a, m: n.multi_step(a, m), lif, x, mem0, w_spk, w_mem)
    ref = grads_of(loop, lif, x, mem0, w_spk, w_mem)
    assert torch.equal(fused[0], ref[0]) and torch.equal(fused[1], ref[1])  # bit for bit
    assert 0.05 < float(fused[0].detach().mean()) < 0.95  # the test exercises spikes and resets
    for g_fused, g_ref in zip(fused[2], ref[2], strict=True):
        assert g_fused.shape == g_ref.shape
        torch.testing.assert_close(g_fused, g_ref, rtol=1e-5, atol=1e-5)
        assert float(g_ref.abs().max()) > 0


@pytest.mark.parametrize("reset", RESETS)
def test_fused_gradient_through_spikes_only(reset):
    # the usual case: the loss sees only the spikes, mem gradient is None inside backward
    torch.manual_seed(1)
    lif = make_lif(reset, S.fast_sigmoid(25), learn=True)
    x = (torch.rand(15, 4, 7) * 0.7).requires_grad_()
    spk, _ = lif.multi_step(x)
    g1 = torch.autograd.grad(spk.sum(), [x, lif.beta, lif.threshold])
    spk_ref, _ = loop(lif, x)
    g2 = torch.autograd.grad(spk_ref.sum(), [x, lif.beta, lif.threshold])
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_fused_gradcheck_double():
    # the hand-written backward equals finite differences of the fused forward (smooth surrogate
    # on a path where no spike flips: the surrogate is then the exact derivative of the graph)
    lif = neurons.LIF(0.9, 10.0, S.StraightThrough(), reset_mechanism="subtract")
    lif = lif.double()
    x = torch.rand(6, 3, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: lif.multi_step(a)[1], (x,))


def test_fused_matches_snntorch_leaky():
    torch.manual_seed(2)
    x = torch.rand(25, 8, 30) * 0.6
    for reset in RESETS:
        ours = neurons.LIF(0.9, 0.75, S.fast_sigmoid(25), reset_mechanism=reset).multi_step(x)
        leaky = snn.Leaky(beta=0.9, threshold=0.75, reset_mechanism=reset)
        mem, spikes, mems = leaky.init_leaky(), [], []
        for xt in x:
            spk, mem = leaky(xt, mem)
            spikes.append(spk)
            mems.append(mem)
        assert torch.equal(ours[0], torch.stack(spikes)) and torch.equal(ours[1], torch.stack(mems))


def test_if_neuron_is_fused_too():
    x = torch.rand(12, 3, 5, requires_grad=True)
    neuron = neurons.IF(threshold=1.0, spike_grad=S.atan())
    spk, mem = neuron.multi_step(x)
    ref = loop(neuron, x)
    assert torch.equal(spk, ref[0]) and torch.equal(mem, ref[1])
    assert spk.grad_fn is not None and "Fused" in type(spk.grad_fn).__name__


def test_other_callables_fall_back_to_the_loop():
    # snnTorch's own surrogate is an arbitrary callable: multi_step runs the step loop
    from snntorch import surrogate as snn_surrogate

    lif = neurons.LIF(0.9, spike_grad=snn_surrogate.fast_sigmoid(slope=25))
    x = torch.rand(10, 2, 4, requires_grad=True)
    spk, mem = lif.multi_step(x)
    ref = loop(lif, x)
    assert torch.equal(spk, ref[0]) and torch.equal(mem, ref[1])
    assert "Fused" not in type(spk.grad_fn).__name__
    g1 = torch.autograd.grad(spk.sum() + mem.sum(), x)[0]
    g2 = torch.autograd.grad(ref[0].sum() + ref[1].sum(), x)[0]
    torch.testing.assert_close(g1, g2)


def test_multi_step_checks_input():
    lif = neurons.LIF(0.9)
    bad = torch.rand(5, 2, 3)
    bad[2, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="x_seq must be finite, got a tensor containing NaN"):
        lif.multi_step(bad)
    with pytest.raises(ValueError, match="x_seq must have >= 2 dimensions"):
        lif.multi_step(torch.rand(5))
    with pytest.raises(ValueError, match=r"mem must have the shape of x_seq\[0\]"):
        lif.multi_step(torch.rand(5, 2, 3), torch.zeros(2, 4))


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
    with pytest.raises(TypeError, match="model must be an nn.Sequential"):
        layers.step_by_step(nn.Linear(2, 2), torch.rand(3, 1, 2))
