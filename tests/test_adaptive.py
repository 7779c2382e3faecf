"""The adaptive LIF against its equations written out by hand; learnable per-neuron time constants."""

import math

import pytest
import torch

from spikelearn import adaptive, neurons, surrogate
from spikelearn.cells.adaptive import ALIF, decay, heterogeneous_beta


def by_hand(xs, beta, rho, beta_a, b0, reset):
    """Bellec et al.'s ALIF, one neuron, in plain Python floats."""
    u = a = o = 0.0
    out = []
    for x in xs:
        r = o
        a = rho * a + o
        if reset == "subtract":
            u = beta * u + x - r * b0
        elif reset in ("zero", "zero_before"):
            u = beta * u * (1 - r) + x
        elif reset == "zero_after":
            u = (beta * u + x) * (1 - r)
        else:
            u = beta * u + x
        o = 1.0 if u - (b0 + beta_a * a) > 0 else 0.0
        out.append((o, a, u))
    return out


@pytest.mark.parametrize("reset", [*neurons.RESETS, "zero"])
def test_alif_follows_its_equations(reset):
    xs = [0.7, 0.9, 0.2, 1.4, 0.0, 0.6, 2.0, 0.3, 0.8, 1.1, 0.0, 0.0, 1.7]
    # values exact in float32, so the float32-stored parameters equal the hand floats
    kw = dict(beta=0.75, rho=0.875, beta_a=0.5, threshold=1.0, reset_mechanism=reset)
    x = torch.tensor(xs, dtype=torch.float64)[:, None]
    spk, a, mem = ALIF(**kw).double().multi_step(x)
    ref = by_hand(xs, 0.75, 0.875, 0.5, 1.0, reset)
    assert [o for o, _, _ in ref] == spk.squeeze(1).tolist()
    assert sum(o for o, _, _ in ref) >= 3
    torch.testing.assert_close(
        a.squeeze(1), torch.tensor([v for _, v, _ in ref], dtype=torch.float64)
    )
    torch.testing.assert_close(
        mem.squeeze(1), torch.tensor([v for _, _, v in ref], dtype=torch.float64)
    )


def test_threshold_rises_per_spike_and_decays_with_rho():
    alif = ALIF(beta=0.0, rho=0.5, beta_a=2.0, threshold=1.0)
    x = torch.tensor([[1.5], [0.0], [0.0], [0.0]])
    spk, a, _ = alif.multi_step(x)
    assert spk.squeeze().tolist() == [1, 0, 0, 0]
    assert a.squeeze().tolist() == [0.0, 1.0, 0.5, 0.25]  # +1 after the spike, then ×ρ
    torch.testing.assert_close(alif.adaptive_threshold(a[1]), torch.tensor([3.0]))


def test_no_adaptation_is_a_plain_lif_bit_for_bit():
    x = torch.randn(30, 4, 6, generator=torch.Generator().manual_seed(0))
    spk, _, mem = ALIF(beta=0.9, rho=0.95, beta_a=0.0, threshold=0.8).multi_step(x)
    ref_spk, ref_mem = neurons.LIF(beta=0.9, threshold=0.8).multi_step(x)
    assert ref_spk.sum() > 0 and torch.equal(spk, ref_spk) and torch.equal(mem, ref_mem)


def test_gradient_reaches_early_input_through_adaptation():
    # beta=0: the membrane forgets at once, so step 0 can only influence step 5 through a
    alif = ALIF(beta=0.0, rho=0.95, beta_a=1.0, spike_grad=surrogate.fast_sigmoid(slope=5))
    x = torch.tensor([[1.5], [0.0], [0.0], [0.0], [0.0], [1.2]], requires_grad=True)
    spk, _, _ = alif.multi_step(x)
    spk[5].sum().backward()
    assert x.grad[0].abs().item() > 0
    frozen = ALIF(beta=0.0, rho=0.95, beta_a=0.0, spike_grad=surrogate.fast_sigmoid(slope=5))
    y = x.detach().clone().requires_grad_()
    frozen.multi_step(y)[0][5].sum().backward()
    assert y.grad[0].item() == 0


def test_decay_and_heterogeneous_beta():
    torch.testing.assert_close(decay(10.0), torch.tensor(math.exp(-0.1)))
    beta = heterogeneous_beta(500, tau_min=2, tau_max=50, seed=1)
    tau = -1 / torch.log(beta)
    assert beta.shape == (500,) and float(tau.min()) >= 2 - 1e-4 and float(tau.max()) <= 50 + 1e-3
    assert torch.equal(beta, heterogeneous_beta(500, tau_min=2, tau_max=50, seed=1))
    # log-uniform: as many time constants below the geometric mean as above
    assert abs(int((tau < math.sqrt(100)).sum()) - 250) < 50


def test_per_neuron_beta_learns_per_neuron_in_the_fused_lif():
    beta = heterogeneous_beta(6, seed=2)
    x = torch.rand(20, 3, 6, generator=torch.Generator().manual_seed(3))
    grads = []
    for fused in (True, False):
        lif = neurons.LIF(beta=beta, learn_beta=True, spike_grad=surrogate.fast_sigmoid())
        if fused:
            spk, mem = lif.multi_step(x)
        else:
            mem, out = None, []
            for xt in x:
                s, mem = lif(xt, mem)
                out.append((s, mem))
            spk, mem = (torch.stack(v) for v in zip(*out, strict=True))
        (spk.sum() + mem.sum()).backward()
        grads.append(lif.beta.grad)
    assert grads[0].shape == (6,) and len(set(grads[0].tolist())) == 6
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"rho must be in \[0, 1\], got 1.5"):
        ALIF(beta=0.9, rho=1.5)
    with pytest.raises(ValueError, match="beta_a must be in"):
        ALIF(beta=0.9, rho=0.9, beta_a=-1.0)
    with pytest.raises(ValueError, match="tau must be in"):
        decay(0.0)
    with pytest.raises(ValueError, match="tau_max must be in"):
        heterogeneous_beta(3, tau_min=10, tau_max=5)
    with pytest.raises(ValueError, match="a must have the shape of input_"):
        ALIF(0.9, 0.9)(torch.zeros(2, 3), None, torch.zeros(3))


# ---- PLIF (Fang et al. 2021) ---------------------------------------------------------------


def _plif_by_hand(x_seq, w, spike, decay_input=True, threshold=1.0):
    """The paper's PLIF, written out: hard reset to 0, then H = V + k·(X - V), k = sigmoid(w)."""
    k = 1 / (1 + torch.exp(-w))
    mem, out, mems = torch.zeros_like(x_seq[0]), [], []
    for x in x_seq:
        reset = (mem > threshold).float()  # fired last step (detached: a comparison)
        mem = mem * (1 - reset)
        mem = mem + k * (x - mem) if decay_input else (1 - k) * mem + x
        out.append(spike(mem - threshold))
        mems.append(mem)
    return torch.stack(out), torch.stack(mems)


@pytest.mark.parametrize("decay_input", [True, False])
def test_plif_against_the_paper_written_here(decay_input):
    torch.manual_seed(0)
    x = torch.rand(12, 3, 5) * 3
    plif = adaptive.PLIF(beta=0.7, decay_input=decay_input)
    assert float(plif.tau) == pytest.approx(1 / 0.3) and float(plif.beta) == pytest.approx(0.7)
    spk, mem = plif.multi_step(x)
    w = plif.w.detach().clone().requires_grad_()
    spk_ref, mem_ref = _plif_by_hand(x, w, plif.spike_grad, decay_input)
    torch.testing.assert_close(mem, mem_ref)
    assert torch.equal(spk, spk_ref) and 0 < float(spk.detach().mean()) < 1
    (spk.sum() + mem.sum()).backward()
    (spk_ref.sum() + mem_ref.sum()).backward()
    torch.testing.assert_close(plif.w.grad, w.grad)  # one learnable time constant per layer
    assert plif.w.numel() == 1 and float(plif.w.grad) != 0


def test_plif_without_input_decay_is_a_lif_with_beta_sigmoid_minus_w():
    torch.manual_seed(0)
    x = torch.rand(10, 4, 6) * 2
    plif = adaptive.PLIF(beta=0.8, decay_input=False, reset_mechanism="subtract")
    lif = neurons.LIF(beta=float(plif.beta), reset_mechanism="subtract")
    for a, b in zip(plif.multi_step(x), lif.multi_step(x), strict=True):
        torch.testing.assert_close(a, b)


def test_plif_layers_learn_their_own_tau():
    from spikelearn import models

    torch.manual_seed(0)
    net = models.spiking_mlp(8, num_classes=2, hidden=16, depth=3, neuron="plif", beta=0.5)
    cells = [m for m in net.modules() if isinstance(m, adaptive.PLIF)]
    assert len(cells) == 3 and all(c.reset_mechanism == "zero_before" for c in cells)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    x, y = torch.rand(6, 32, 8) * 2, torch.randint(0, 2, (32,))
    for _ in range(10):
        loss = torch.nn.functional.cross_entropy(net(x).sum(0), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    taus = [float(c.tau) for c in cells]
    assert all(abs(t - 2.0) > 1e-3 for t in taus) and len(set(taus)) == 3


def test_plif_bad_input():
    with pytest.raises(ValueError, match=r"beta must be in \(0, 1\), got 1"):
        adaptive.PLIF(beta=1.0)
