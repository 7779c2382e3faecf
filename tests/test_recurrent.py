"""Recurrent neurons equal snnTorch's RLeaky / RSynaptic spike for spike, membrane for membrane."""

import pytest
import snntorch as snn
import torch
from torch import nn

from spikelearn import neurons, recurrent, surrogate
from spikelearn.cells.recurrent import RLIF, RSynaptic, truncated_bptt

RESETS = ("subtract", "zero", "none")  # snnTorch's names: results equal to snnTorch's


def snn_run(cell, x, n_state):
    """snnTorch's loop: every state starts at zeros, like spikelearn's ``None``."""
    state = [torch.zeros_like(x[0]) for _ in range(n_state)]
    outs = []
    for xt in x:
        state = list(cell(xt, *state))
        outs.append(state)
    return [torch.stack(s) for s in zip(*outs, strict=True)]


def pair(kind, all_to_all, n=7, **kw):
    """A spikelearn and an snnTorch neuron with the same parameters and feedback weights."""
    torch.manual_seed(0)
    extra = dict(linear_features=n) if all_to_all else dict(V=torch.linspace(-0.5, 0.8, n))
    ours = (RLIF if kind == "leaky" else RSynaptic)(all_to_all=all_to_all, **extra, **kw)
    ref_cls = snn.RLeaky if kind == "leaky" else snn.RSynaptic
    ref = ref_cls(all_to_all=all_to_all, **extra, **kw)
    if all_to_all:
        ref.recurrent.load_state_dict(ours.recurrent.state_dict())
    return ours, ref


@pytest.mark.parametrize("all_to_all", [True, False])
@pytest.mark.parametrize("reset", RESETS)
def test_rlif_equals_snntorch(all_to_all, reset):
    ours, ref = pair("leaky", all_to_all, beta=0.85, threshold=0.7, reset_mechanism=reset)
    x = torch.randn(40, 5, 7, generator=torch.Generator().manual_seed(1)) * 0.8
    ref_spk, ref_mem = snn_run(ref, x, 2)
    spk, mem = ours.multi_step(x)  # fused
    assert ref_spk.sum() > 10 and (ref_spk == 0).sum() > 10
    assert torch.equal(spk, ref_spk) and torch.equal(mem, ref_mem)
    loop = snn_run(ours, x, 2)  # the single-step call too
    assert torch.equal(loop[0], ref_spk) and torch.equal(loop[1], ref_mem)


@pytest.mark.parametrize("all_to_all", [True, False])
@pytest.mark.parametrize("reset", RESETS)
def test_rsynaptic_equals_snntorch(all_to_all, reset):
    kw = dict(alpha=0.6, beta=0.85, threshold=0.7, reset_mechanism=reset)
    ours, ref = pair("synaptic", all_to_all, **kw)
    x = torch.randn(40, 5, 7, generator=torch.Generator().manual_seed(2)) * 0.5
    expected = snn_run(ref, x, 3)
    got = ours.multi_step(x)
    assert expected[0].sum() > 10
    for a, b in zip(got, expected, strict=True):
        assert torch.equal(a, b)


def test_conv_feedback_equals_snntorch():
    torch.manual_seed(0)
    ours = RLIF(beta=0.9, conv2d_channels=3, kernel_size=3)
    ref = snn.RLeaky(beta=0.9, conv2d_channels=3, kernel_size=3)
    ref.recurrent.load_state_dict(ours.recurrent.state_dict())
    x = torch.randn(12, 2, 3, 5, 5)
    ref_spk, ref_mem = snn_run(ref, x, 2)
    spk, mem = ours.multi_step(x)
    assert ref_spk.sum() > 0 and torch.equal(spk, ref_spk) and torch.equal(mem, ref_mem)


@pytest.mark.parametrize("all_to_all", [True, False])
@pytest.mark.parametrize("reset", RESETS)
def test_fused_gradients_equal_snntorch(all_to_all, reset):
    # the same surrogate object in both; tolerance: the fused backward sums the weight gradient
    # in one matmul over T·B rows where autograd adds T per-step matmuls, so float32 rounding
    # differs in the last bits (rtol 1e-5), the values are the same derivative
    sg = surrogate.fast_sigmoid(slope=25)
    kw = dict(beta=torch.full((7,), 0.8), threshold=0.7, reset_mechanism=reset, spike_grad=sg)
    ours, ref = pair("leaky", all_to_all, learn_beta=True, learn_threshold=True, **kw)
    x = torch.randn(30, 4, 7, generator=torch.Generator().manual_seed(3))
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ws, wm = torch.randn(2, *x.shape, generator=torch.Generator().manual_seed(4))
    spk_a, mem_a = snn_run(ref, xa, 2)
    ((spk_a * ws).sum() + (mem_a * wm).sum()).backward()
    spk_b, mem_b = ours.multi_step(xb)
    ((spk_b * ws).sum() + (mem_b * wm).sum()).backward()
    assert xa.grad.abs().sum() > 0
    tol = dict(rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(xb.grad, xa.grad, **tol)
    torch.testing.assert_close(ours.beta.grad, ref.beta.grad, **tol)
    torch.testing.assert_close(ours.threshold.grad, ref.threshold.grad, **tol)
    if all_to_all:
        for name in ("weight", "bias"):
            a, b = getattr(ours.recurrent, name).grad, getattr(ref.recurrent, name).grad
            torch.testing.assert_close(a, b, **tol)
    else:
        torch.testing.assert_close(ours.V.grad, ref.V.grad, **tol)


def test_fused_gradient_of_initial_state_matches_step_loop():
    torch.manual_seed(5)
    rlif = RLIF(beta=0.9, linear_features=6, spike_grad=surrogate.fast_sigmoid())
    x, s_init, m_init = torch.randn(10, 3, 6), torch.rand(3, 6).round(), torch.randn(3, 6)
    grads = []
    for fused in (True, False):
        spk0, mem0 = s_init.clone().requires_grad_(), m_init.clone().requires_grad_()
        if fused:
            spk, mem = rlif.multi_step(x, spk0, mem0)
        else:
            s, m, out = spk0, mem0, []
            for xt in x:
                s, m = rlif(xt, s, m)
                out.append((s, m))
            spk, mem = (torch.stack(v) for v in zip(*out, strict=True))
        (spk.sum() + mem.pow(2).sum()).backward()
        grads.append((spk0.grad, mem0.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-5, atol=1e-5)


def test_learn_recurrent_false_freezes_feedback():
    rlif = RLIF(beta=0.9, linear_features=4, learn_recurrent=False)
    assert not any(p.requires_grad for p in rlif.recurrent.parameters())
    one = RLIF(beta=0.9, all_to_all=False, V=0.5, learn_recurrent=False)
    assert "V" in dict(one.named_buffers())


def test_truncated_bptt_keeps_forward_and_cuts_gradient():
    torch.manual_seed(6)
    rlif = RLIF(beta=0.95, linear_features=5)
    x = torch.randn(20, 2, 5, requires_grad=True)
    full = rlif.multi_step(x)
    cut = truncated_bptt(rlif, x, k=7)
    assert all(torch.equal(a, b) for a, b in zip(full, cut, strict=True))
    cut[1][-1].sum().backward()  # the last step's membrane reaches back only to step 14
    assert x.grad[:14].abs().sum() == 0 and x.grad[14:].abs().sum() > 0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="linear_features or both conv2d_channels"):
        RLIF(beta=0.9)
    with pytest.raises(ValueError, match="all_to_all=False uses the weight V"):
        RLIF(beta=0.9, all_to_all=False, linear_features=3)
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\], got 1.3"):
        RLIF(beta=1.3, linear_features=3)
    with pytest.raises(ValueError, match="alpha must be in"):
        RSynaptic(alpha=-0.1, beta=0.9, linear_features=3)
    rlif = RLIF(beta=0.9, linear_features=3)
    with pytest.raises(ValueError, match="mem must have the shape of input_"):
        rlif(torch.zeros(2, 3), None, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="x_seq must have >= 2 dimensions"):
        rlif.multi_step(torch.zeros(3))
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        truncated_bptt(rlif, torch.zeros(4, 1, 3), k=0)


def test_works_as_a_layer():
    from spikelearn.networks.layers import Spiking, TimeFolded

    net = nn.Sequential(TimeFolded(nn.Linear(4, 6)), Spiking(RLIF(0.9, linear_features=6)))
    assert net(torch.rand(5, 3, 4)).shape == (5, 3, 6)
    assert recurrent.__all__


@pytest.mark.parametrize(
    "make",
    [
        lambda: RLIF(0.9, linear_features=6),
        lambda: RSynaptic(0.5, 0.9, linear_features=6),
        lambda: neurons.Synaptic(0.5, 0.9),
    ],
)
def test_truncated_bptt_forward_is_multi_step_exactly(make):
    # issue 19: each window's last state was handed on as a view into the output buffer, and
    # the forward differed from multi_step at rounding level; the values are now identical
    torch.manual_seed(3)
    cell, x = make(), torch.rand(50, 3, 6) * 1.2
    whole, windows = cell.multi_step(x), truncated_bptt(cell, x, 7)
    assert all(torch.equal(a, b) for a, b in zip(whole, windows, strict=True))
    assert whole[0].sum() > 0
