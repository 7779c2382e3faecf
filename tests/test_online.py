"""spikelearn.online: e-prop equals BPTT where it is exact, online training keeps no per-step
graph, and bad input raises named errors."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from spikelearn import neurons, online, surrogate

SURROGATES = [surrogate.atan(), surrogate.fast_sigmoid(slope=5), surrogate.triangle(width=1.5)]


def _loss(spk_seq, mem_seq, coef, target):
    """A loss of both outputs at every step: a weighted spike count and a membrane error."""
    return (coef * spk_seq).sum() + ((mem_seq - target) ** 2).sum()


def _learning_signals(spk_seq, mem_seq, coef, target):
    """``∂E/∂o[t]`` and ``∂E/∂u[t]``: partial derivatives, with the outputs taken as leaves."""
    spk = spk_seq.detach().requires_grad_()
    mem = mem_seq.detach().requires_grad_()
    return torch.autograd.grad(_loss(spk, mem, coef, target), (spk, mem))


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**31 - 1),
    beta=st.floats(0.0, 1.0),
    threshold=st.floats(0.2, 2.0),
    reset=st.sampled_from(online.TRACE_RESETS),
    grad=st.sampled_from(SURROGATES),
    steps=st.integers(1, 30),
)
def test_eprop_equals_bptt_for_one_layer(seed, beta, threshold, reset, grad, steps):
    """Exact when: one layer, no recurrence, the reset detached (spikelearn's LIF, as snnTorch,
    detaches it, so BPTT drops the reset term too), and the learning signals are the partial
    derivatives of a loss of this layer's spikes and membranes (any such loss; here one summed
    over steps, so it also holds online). Gradients of the fused multi_step (BPTT) vs
    eprop_gradient, float64, to float64 tolerance."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(steps, 3, 7, generator=g, dtype=torch.float64) < 0.4).double()
    weight = (torch.randn(5, 7, generator=g, dtype=torch.float64) * threshold).requires_grad_()
    coef = torch.randn(steps, 3, 5, generator=g, dtype=torch.float64)
    target = torch.randn(steps, 3, 5, generator=g, dtype=torch.float64)
    lif = neurons.LIF(beta=beta, threshold=threshold, spike_grad=grad, reset_mechanism=reset)
    spk, mem = lif.multi_step(x @ weight.T)
    (bptt,) = torch.autograd.grad(_loss(spk, mem, coef, target), weight)
    grad_spk, grad_mem = _learning_signals(spk, mem, coef, target)
    eprop = online.eprop_gradient(lif, x, mem.detach(), grad_spk, grad_mem)
    torch.testing.assert_close(eprop, bptt)


def test_eligibility_trace_is_the_summand_of_the_eprop_gradient():
    torch.manual_seed(0)
    lif = neurons.LIF(beta=0.8, spike_grad=surrogate.fast_sigmoid(slope=5))
    x = torch.rand(12, 2, 4)
    _, mem = lif.multi_step(x @ torch.randn(3, 4).T)
    grad_spk = torch.randn(12, 2, 3)
    e = online.eligibility_trace(lif, x, mem)
    assert e.shape == (12, 2, 3, 4)
    torch.testing.assert_close(
        torch.einsum("tbj,tbji->ji", grad_spk, e), online.eprop_gradient(lif, x, mem, grad_spk)
    )
    torch.testing.assert_close(online.presynaptic_trace(x, 0.8)[1], 0.8 * x[0] + x[1])


def test_eligibility_trace_never_broadcasts_t_or_b():
    lif = neurons.LIF(beta=0.8)
    x, mem = torch.rand(12, 2, 4), torch.rand(12, 2, 3)
    with pytest.raises(
        ValueError,
        match=r"pre_seq and mem_seq must share \[T, B\], got \(1, 2, 4\) and \(12, 2, 3\)",
    ):
        online.eligibility_trace(lif, x[:1], mem)  # was broadcast over the 12 steps, silently
    with pytest.raises(ValueError, match=r"must share \[T, B\], got \(12, 1, 4\) and \(12, 2, 3\)"):
        online.eligibility_trace(lif, x[:, :1], mem)
    with pytest.raises(ValueError, match=r"must share \[T, B\], got \(12, 2, 4\) and \(5, 2, 3\)"):
        online.eligibility_trace(lif, x, mem[:5])
    with pytest.raises(ValueError, match=r"mem_seq must have 3 dimensions, got shape \(2, 3\)"):
        online.eligibility_trace(lif, x, mem[0])


def _step_loop_bptt(layer, x_seq, coef, target):
    """Reference BPTT: LIF(fc(x), mem) step by step with autograd through every step."""
    mem, spikes, mems = None, [], []
    for x in x_seq:
        spk, mem = layer.lif(layer.fc(x), mem)
        spikes.append(spk)
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)


@pytest.mark.parametrize("reset", online.TRACE_RESETS)
def test_online_lif_streams_the_bptt_gradient_of_one_layer(reset):
    """OnlineLIF, one backward per step on that step's loss, accumulates exactly BPTT's weight
    and bias gradients (one layer, detached reset, loss summed over steps), and its forward pass
    is LIF's, bit for bit."""
    torch.manual_seed(1)
    layer = online.OnlineLIF(6, 4, beta=0.85, reset_mechanism=reset, spike_grad=surrogate.atan())
    x_seq = torch.rand(20, 3, 6) * 2
    coef, target = torch.randn(20, 3, 4), torch.randn(20, 3, 4)
    spk_ref, mem_ref = _step_loop_bptt(layer, x_seq, coef, target)
    _loss(spk_ref, mem_ref, coef, target).backward()
    bptt = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    layer.reset_state()
    for t, x in enumerate(x_seq):
        spk, mem = layer(x)
        assert torch.equal(spk, spk_ref[t]) and torch.equal(mem, mem_ref[t])
        _loss(spk, mem, coef[t], target[t]).backward()
    for p, ref in zip(layer.parameters(), bptt, strict=True):
        torch.testing.assert_close(p.grad, ref)


def _stack(seed=0, hidden=16):
    torch.manual_seed(seed)
    return nn.Sequential(
        online.OnlineLIF(8, hidden, beta=0.9),
        online.OnlineLIF(hidden, 3, beta=0.8, reset_mechanism="none"),
    )


def test_two_layers_readout_gradient_is_exact_hidden_is_an_approximation():
    layers = _stack()
    x_seq, targets = torch.rand(15, 4, 8) * 1.5, torch.tensor([0, 1, 2, 1])
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(layers.parameters(), lr=0.0)  # lr 0: keep the weights, read the grads
    online.train_bptt(layers, x_seq, targets, loss_fn, opt)
    bptt = [p.grad.clone() for p in layers.parameters()]
    online.train_online(layers, x_seq, targets, loss_fn, opt)
    ours = [p.grad.clone() for p in layers.parameters()]
    torch.testing.assert_close(ours[2], bptt[2])  # readout weight: exact
    torch.testing.assert_close(ours[3], bptt[3])  # readout bias: exact
    cosine = torch.cosine_similarity(ours[0].flatten(), bptt[0].flatten(), dim=0)
    assert 0 < cosine < 1 - 1e-6  # hidden: the readout's future (its leak) is dropped


class _LiveSavedBytes:
    """Bytes of the tensors autograd holds for backward now, and the peak over a run."""

    def __init__(self):
        self.now = self.peak = 0

    def pack(self, tensor):
        return _Held(self, tensor)

    @staticmethod
    def unpack(held):
        return held.tensor


class _Held:
    def __init__(self, counter, tensor):
        self.counter, self.tensor, self.size = (
            counter,
            tensor,
            tensor.numel() * tensor.element_size(),
        )
        counter.now += self.size
        counter.peak = max(counter.peak, counter.now)

    def __del__(self):
        self.counter.now -= self.size


def _peak_saved_bytes(train, steps):
    layers = _stack(hidden=64)
    x_seq, targets = torch.rand(steps, 4, 8), torch.tensor([0, 1, 2, 1])
    opt = torch.optim.SGD(layers.parameters(), lr=0.01)
    counter = _LiveSavedBytes()
    with torch.autograd.graph.saved_tensors_hooks(counter.pack, counter.unpack):
        train(layers, x_seq, targets, nn.CrossEntropyLoss(), opt)
    return counter.peak, counter.now, layers


def test_online_training_keeps_no_per_step_graph():
    """Online: the tensors saved for backward peak at one step's worth whatever T, all are freed
    after training, and the state carried between steps has no autograd history. BPTT, the same
    counter: the saved tensors grow with T (so the counter can see growth)."""
    peak_10, now_10, layers = _peak_saved_bytes(online.train_online, 10)
    peak_40, now_40, _ = _peak_saved_bytes(online.train_online, 40)
    assert peak_10 == peak_40 > 0 and now_10 == now_40 == 0
    for layer in layers:
        assert layer.mem.grad_fn is None and layer.trace.grad_fn is None
    bptt_10, _, _ = _peak_saved_bytes(online.train_bptt, 10)
    bptt_40, _, _ = _peak_saved_bytes(online.train_bptt, 40)
    assert bptt_40 > 3 * bptt_10 and bptt_10 > peak_10


def test_online_training_learns():
    layers = _stack(hidden=32)
    torch.manual_seed(2)
    targets = torch.arange(30) % 3
    x_seq = torch.rand(10, 30, 8) * 0.5
    x_seq[:, torch.arange(30), targets] += 1.0  # the class is the input channel that is on
    opt = torch.optim.Adam(layers.parameters(), lr=0.02)
    losses = [
        online.train_online(layers, x_seq, targets, nn.CrossEntropyLoss(), opt) for _ in range(15)
    ]
    assert losses[-1] < 0.2 * losses[0]


def test_bad_input_raises_named_errors():
    with pytest.raises(ValueError, match="lif.beta must be one number"):
        online.OnlineLIF(3, 2, beta=torch.tensor([0.9, 0.8]))
    with pytest.raises(ValueError, match="lif.reset_mechanism must be one of 'subtract', 'none'"):
        online.OnlineLIF(3, 2, reset_mechanism="zero")
    with pytest.raises(ValueError, match="beta must be in"):
        online.OnlineLIF(3, 2, beta=1.5)
    with pytest.raises(ValueError, match="out_features must be an integer >= 1"):
        online.OnlineLIF(3, 0)
    import snntorch.surrogate

    with pytest.raises(TypeError, match="spike_grad must be a spikelearn.surrogate.Surrogate"):
        online.OnlineLIF(3, 2, spike_grad=snntorch.surrogate.atan())
    with pytest.raises(ValueError, match="x must have 3 features"):
        online.OnlineLIF(3, 2)(torch.zeros(4, 5))
    with pytest.raises(TypeError, match="lif must be a spikelearn.neurons.LIF or IF"):
        online.eprop_gradient(
            nn.Linear(2, 2), torch.zeros(2, 1, 2), torch.zeros(2, 1, 2), torch.zeros(2, 1, 2)
        )
    lif = neurons.LIF(beta=0.9)
    with pytest.raises(ValueError, match=r"grad_spk must have the shape of mem_seq \(2, 1, 3\)"):
        online.eprop_gradient(lif, torch.zeros(2, 1, 4), torch.zeros(2, 1, 3), torch.zeros(2, 1, 4))
    with pytest.raises(ValueError, match="pre_seq and mem_seq must share"):
        online.eprop_gradient(lif, torch.zeros(3, 1, 4), torch.zeros(2, 1, 3), torch.zeros(2, 1, 3))
    with pytest.raises(
        TypeError, match="layers must be an nn.Sequential or nn.ModuleList of OnlineLIF"
    ):
        online.train_online(nn.Sequential(nn.Linear(2, 2)), torch.zeros(2, 1, 2), None, None, None)


def test_recurrent_eprop_vs_bptt_is_exact_without_recurrence_and_approximate_with_it():
    cosine = torch.nn.functional.cosine_similarity
    exact = online.recurrent_eprop_vs_bptt(seed=3, rec_scale=0.0, steps=30)
    assert torch.allclose(exact["eprop"], exact["bptt"], rtol=1e-4, atol=1e-4)
    approx = online.recurrent_eprop_vs_bptt(seed=3, rec_scale=1.0, steps=30)
    assert not torch.allclose(approx["eprop"], approx["bptt"], rtol=1e-3, atol=1e-3)
    assert 0 < float(cosine(approx["eprop"].flatten(), approx["bptt"].flatten(), dim=0)) < 1
    assert 0 < approx["rate"] < 1
