"""spikelearn.neurons against snnTorch (the compatibility reference) and against the equations."""

import pytest
import snntorch as snn
import torch
from conftest import step_loop
from hypothesis import given, settings
from hypothesis import strategies as st

from spikelearn import neurons, surrogate
from spikelearn import surrogate as S

RESETS = ["subtract", "zero", "none"]


def snn_leaky_run(x_seq, **kw):
    lif = snn.Leaky(**kw)
    mem = torch.zeros_like(x_seq[0])
    spikes, mems = [], []
    for x in x_seq:
        spk, mem = lif(x, mem)
        spikes.append(spk)
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)


def snn_synaptic_run(x_seq, **kw):
    lif = snn.Synaptic(**kw)
    syn = torch.zeros_like(x_seq[0])
    mem = torch.zeros_like(x_seq[0])
    out = []
    for x in x_seq:
        out.append(lif(x, syn, mem))
        _, syn, mem = out[-1]
    return tuple(torch.stack(s) for s in zip(*out, strict=True))


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("beta,threshold", [(0.9, 1.0), (0.5, 0.3), (1.0, 2.0), (0.0, 0.5)])
def test_lif_equals_snntorch_leaky(reset, beta, threshold):
    torch.manual_seed(1)
    x = torch.randn(40, 6, 17) * threshold
    kw = dict(beta=beta, threshold=threshold, reset_mechanism=reset)
    ref_spk, ref_mem = snn_leaky_run(x, **kw)
    spk, mem = neurons.LIF(**kw).multi_step(x)
    assert ref_spk.sum() > 0  # the comparison is about spiking behaviour, so spikes must occur
    assert torch.equal(spk, ref_spk)
    assert torch.equal(mem, ref_mem)


@pytest.mark.parametrize("reset", RESETS)
def test_single_step_equals_snntorch(reset):
    torch.manual_seed(2)
    x = torch.rand(30, 4, 3, 5, 5)
    ref_spk, ref_mem = snn_leaky_run(x, beta=0.8, reset_mechanism=reset)
    lif = neurons.LIF(beta=0.8, reset_mechanism=reset)
    mem = None
    for t in range(x.shape[0]):
        spk, mem = lif(x[t], mem)
        assert torch.equal(spk, ref_spk[t]) and torch.equal(mem, ref_mem[t])


@pytest.mark.parametrize("reset", RESETS)
def test_synaptic_equals_snntorch(reset):
    torch.manual_seed(3)
    x = torch.randn(40, 5, 11) * 0.6
    kw = dict(alpha=0.7, beta=0.85, threshold=0.8, reset_mechanism=reset)
    ref = snn_synaptic_run(x, **kw)
    out = neurons.Synaptic(**kw).multi_step(x)
    assert ref[0].sum() > 0
    for a, b in zip(out, ref, strict=True):
        assert torch.equal(a, b)


@settings(max_examples=25, deadline=None)
@given(
    beta=st.floats(0, 1),
    threshold=st.floats(0.05, 3),
    reset=st.sampled_from(RESETS),
    seed=st.integers(0, 2**16),
)
def test_lif_equals_snntorch_property(beta, threshold, reset, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(20, 3, 4, generator=g)
    kw = dict(beta=beta, threshold=threshold, reset_mechanism=reset)
    ref_spk, ref_mem = snn_leaky_run(x, **kw)
    spk, mem = neurons.LIF(**kw).multi_step(x)
    assert torch.equal(spk, ref_spk) and torch.equal(mem, ref_mem)


def test_gradients_equal_snntorch_with_shared_surrogate():
    torch.manual_seed(4)
    x = torch.randn(25, 4, 9)
    sg = surrogate.fast_sigmoid(slope=25)
    xa = x.clone().requires_grad_()
    xb = x.clone().requires_grad_()
    spk_a, _ = snn_leaky_run(xa, beta=0.9, spike_grad=sg)
    spk_b, _ = neurons.LIF(beta=0.9, spike_grad=sg).multi_step(xb)
    w = torch.randn_like(spk_a)
    (spk_a * w).sum().backward()
    (spk_b * w).sum().backward()
    assert xa.grad.abs().sum() > 0
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-5, atol=1e-6)


def test_default_surrogate_is_atan_like_snntorch():
    assert isinstance(neurons.LIF(0.9).spike_grad, surrogate.ATan)
    assert neurons.LIF(0.9).spike_grad.alpha == 2.0


def test_constant_input_spike_times_match_hand_computation():
    # beta=0.5, I=0.8, V_th=1, subtract reset: u = 0.8, 1.2 (spike), then reset at the next step:
    # u = 0.6 + 0.8 - 1 = 0.4, 1.0 (no spike: strictly greater), 1.3 (spike), 0.65 + 0.8 - 1 = 0.45
    lif = neurons.LIF(beta=0.5, threshold=1.0)
    spk, mem = lif.multi_step(torch.full((6, 1), 0.8))
    torch.testing.assert_close(mem.squeeze(), torch.tensor([0.8, 1.2, 0.4, 1.0, 1.3, 0.45]))
    assert spk.squeeze().tolist() == [0, 1, 0, 0, 1, 0]


def test_if_neuron_integrates_without_leak():
    spk, mem = neurons.IF(threshold=1.0).multi_step(torch.full((10, 1), 0.25))
    # u: .25 .5 .75 1.0 1.25(spike) then 1.25+.25-1=.5 ...
    assert spk.squeeze().tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert neurons.IF().beta.item() == 1.0


def test_zero_reset_returns_to_input():
    spk, mem = neurons.LIF(beta=0.9, reset_mechanism="zero").multi_step(torch.full((5, 1), 1.5))
    # spike at t=0 (u=1.5) -> at t=1 the old potential is dropped: u = 0 + 1.5
    torch.testing.assert_close(mem[1], torch.tensor([1.5]))


def test_learnable_beta_and_threshold_receive_gradients():
    lif = neurons.LIF(beta=0.8, threshold=0.5, learn_beta=True, learn_threshold=True)
    names = {n for n, _ in lif.named_parameters()}
    assert names == {"beta", "threshold"}
    spk, mem = lif.multi_step(torch.rand(20, 8, 4))
    (spk.sum() + mem.sum()).backward()
    assert lif.beta.grad is not None and lif.beta.grad.abs() > 0
    assert lif.threshold.grad is not None and lif.threshold.grad.abs() > 0


def test_fixed_parameters_are_buffers_saved_in_state_dict():
    lif = neurons.LIF(beta=0.7, threshold=0.4)
    assert list(lif.parameters()) == []
    assert set(lif.state_dict()) == {"beta", "threshold"}


def test_per_neuron_beta():
    beta = torch.tensor([0.0, 1.0])
    spk, mem = neurons.LIF(beta=beta, reset_mechanism="none").multi_step(torch.full((3, 1, 2), 0.1))
    torch.testing.assert_close(mem[-1, 0], torch.tensor([0.1, 0.3]))


def test_works_with_snntorch_surrogate():
    lif = neurons.LIF(beta=0.9, spike_grad=snn.surrogate.fast_sigmoid(slope=25))
    x = torch.rand(10, 2, 3, requires_grad=True)
    spk, _ = lif.multi_step(x)
    spk.sum().backward()
    assert x.grad.abs().sum() > 0


# --- bad input: the error names the parameter, the value and what was expected -------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(beta=1.3), r"beta must be in \[0, 1\], got 1.3"),
        (dict(beta=-0.1), r"beta must be in \[0, 1\], got -0.1"),
        (dict(beta=float("nan")), r"beta must be in \[0, 1\], got nan"),
        (dict(beta=0.9, threshold=0), r"threshold must be in \(0, inf\), got 0"),
        (dict(beta=0.9, threshold=-1.0), r"threshold must be in \(0, inf\), got -1"),
        (dict(beta=0.9, reset_mechanism="hard"), r"reset_mechanism must be one of .*got 'hard'"),
        (
            dict(beta=torch.tensor([0.5, 2.0])),
            r"beta must be in \[0, 1\], got tensor of shape \(2,\)",
        ),
    ],
)
def test_bad_parameters_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        neurons.LIF(**kwargs)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="beta must be a real number, got str"):
        neurons.LIF(beta="0.9")
    with pytest.raises(TypeError, match="spike_grad must be callable"):
        neurons.LIF(beta=0.9, spike_grad=3)
    with pytest.raises(
        TypeError, match="input_ must be a floating-point tensor, got dtype torch.int64"
    ):
        neurons.LIF(0.9)(torch.ones(2, dtype=torch.long))
    with pytest.raises(TypeError, match="input_ must be a torch.Tensor, got list"):
        neurons.LIF(0.9)([1.0, 2.0])


def test_bad_alpha_for_synaptic():
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\], got 1.5"):
        neurons.Synaptic(alpha=1.5, beta=0.9)


def test_nan_input_raises():
    with pytest.raises(ValueError, match="input_ must be finite, got a tensor containing NaN"):
        neurons.LIF(0.9)(torch.tensor([0.1, float("nan")]))
    with pytest.raises(ValueError, match="x_seq must be finite"):
        neurons.LIF(0.9).multi_step(torch.full((3, 2), float("nan")))


def test_wrong_rank_and_shape_raise():
    with pytest.raises(ValueError, match=r"x_seq must have >= 2 dimensions, got shape \(5,\)"):
        neurons.LIF(0.9).multi_step(torch.ones(5))
    with pytest.raises(ValueError, match=r"mem must have the shape of input_ \(2, 3\), got \(3,\)"):
        neurons.LIF(0.9)(torch.ones(2, 3), torch.zeros(3))


@pytest.mark.parametrize("make", [
    lambda: neurons.LIF(torch.rand(3)),
    lambda: neurons.LIF(0.9, threshold=torch.rand(3) + 0.5),
    lambda: neurons.IF(threshold=torch.rand(2, 3) + 0.5),
    lambda: neurons.Synaptic(torch.rand(3), torch.rand(3)),
])  # fmt: skip
def test_repr_of_per_neuron_parameters(make):
    # issue 12: repr(LIF(torch.rand(3))) raised "Unknown format code 'g' for object of type 'str'"
    neuron = make()
    text = repr(torch.nn.Sequential(neuron))
    assert "tensor(" in text and type(neuron).__name__ in text


def test_repr_of_scalar_parameters():
    assert "beta=0.9, threshold=1.5" in repr(neurons.LIF(0.9, threshold=1.5))


@pytest.mark.parametrize("neuron", [neurons.LIF(0.9), neurons.IF(), neurons.Synaptic(0.5, 0.9)])
def test_zero_time_steps_raise_a_named_error(neuron):
    # issue 12: LIF().multi_step(torch.zeros(0, 4, 3)) raised IndexError
    with pytest.raises(ValueError, match=r"x_seq must have at least one time step.*\(0, 4, 3\)"):
        neuron.multi_step(torch.zeros(0, 4, 3))


@pytest.mark.parametrize("per_neuron", ["beta", "threshold"])
def test_per_neuron_parameter_of_the_wrong_length_is_named(per_neuron):
    kw = {
        "beta": 0.9,
        per_neuron: torch.rand(3) + 0.5 if per_neuron == "threshold" else torch.rand(3),
    }
    lif = neurons.LIF(**kw)
    for run in (lambda: lif(torch.zeros(2, 4)), lambda: lif.multi_step(torch.zeros(5, 2, 4))):
        with pytest.raises(ValueError, match=rf"{per_neuron} has shape \(3,\).*\(2, 4\).*\(4,\)"):
            run()
    syn = neurons.Synaptic(torch.rand(3), 0.9)
    with pytest.raises(ValueError, match=r"alpha has shape \(3,\)"):
        syn(torch.zeros(2, 4))


# --- the fused multi-step LIF (_FusedLIF): the step loop's numbers, bit for bit ----------------

SURROGATES = [
    S.atan(),
    S.fast_sigmoid(slope=25),
    S.sigmoid(slope=5),
    S.triangle(0.5),
    S.rectangle(1.0),
]


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
def test_fused_lif_equals_step_step_loop(reset, sg, learn, per_neuron):
    torch.manual_seed(0)
    lif = make_lif(reset, sg, learn, per_neuron)
    x = (torch.randn(20, 5, 7) * 0.6 + 0.1).requires_grad_()
    mem0 = (torch.rand(5, 7) * 1.5).requires_grad_()  # some start above threshold: reset at t=1
    w_spk, w_mem = torch.randn(20, 5, 7), torch.randn(20, 5, 7)
    fused = grads_of(lambda n, a, m: n.multi_step(a, m), lif, x, mem0, w_spk, w_mem)
    ref = grads_of(step_loop, lif, x, mem0, w_spk, w_mem)
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
    spk_ref, _ = step_loop(lif, x)
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
    ref = step_loop(neuron, x)
    assert torch.equal(spk, ref[0]) and torch.equal(mem, ref[1])
    assert spk.grad_fn is not None and "Fused" in type(spk.grad_fn).__name__


def test_other_callables_fall_back_to_the_step_loop():
    # snnTorch's own surrogate is an arbitrary callable: multi_step runs the step loop
    from snntorch import surrogate as snn_surrogate

    lif = neurons.LIF(0.9, spike_grad=snn_surrogate.fast_sigmoid(slope=25))
    x = torch.rand(10, 2, 4, requires_grad=True)
    spk, mem = lif.multi_step(x)
    ref = step_loop(lif, x)
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
