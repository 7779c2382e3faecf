"""Eligibility traces, e-prop and online training in constant memory.

**BPTT of one LIF layer.** Inputs ``x[t]`` (spikes or currents) drive a LIF layer through
weights ``W``, in :class:`spikelearn.neurons.LIF`'s convention (reset detached)::

    u[t] = β·u[t-1] + W·x[t] - r[t]·V_th,    r[t] = H(u[t-1] - V_th),    o[t] = H(u[t] - V_th)

For a loss ``E`` of the outputs, backpropagation through time (BPTT) runs backwards from
``t = T-1``, with ``ψ_j[t] = σ'(u_j[t] - V_th)`` the surrogate derivative::

    δ_j[t] = dE/du_j[t] = ∂E/∂u_j[t] + ψ_j[t]·dE/do_j[t] + β·δ_j[t+1]
    dE/dW_ji = Σ_t δ_j[t]·x_i[t]

``δ[t]`` needs ``δ[t+1]``: the gradient is non-local in time, so BPTT stores the whole forward
pass (memory grows linearly in T). Unrolling ``β·δ[t+1]`` and swapping the two sums moves the
future into a trace of the past (exact, no approximation)::

    dE/dW_ji = Σ_t (∂E/∂u_j[t] + ψ_j[t]·dE/do_j[t]) · x̄_i[t],    x̄_i[t] = β·x̄_i[t-1] + x_i[t]

**e-prop** (Bellec et al. 2020, "A solution to the learning dilemma for recurrent networks of
spiking neurons", Nat. Commun. 11:3625) writes this as ``dE/dW_ji = Σ_t dE/dz_j^t · e_ji^t`` with
spikes ``z_j^t = o_j[t]``, pseudo-derivative ``ψ_j^t`` and the **eligibility trace**

    e_ji[t] = ψ_j[t] · x̄_i[t]        post (surrogate derivative) × pre (low-pass filtered input)

and replaces the total derivative ``dE/dz_j^t`` by the **learning signal** ``L_j[t] = ∂E/∂z_j^t``,
the partial derivative: the loss's direct dependence on the spike at step ``t``. The update is
``ΔW_ji = -η·Σ_t L_j[t]·e_ji[t]`` (a loss on the membrane itself adds ``∂E/∂u_j[t]·x̄_i[t]``).
Compared with BPTT, the dropped part of ``dE/dz_j[t]`` is everything that flows through the
future: (i) the reset, ``z_j[t] -> u_j[t+1]``, worth ``-V_th·δ_j[t+1]``; (ii) in a recurrent
layer ``u[t] = ... + W_rec·o[t-1]``, the recurrence, ``Σ_k W_rec,kj·δ_k[t+1]``; (iii) in a deep
network, the future states of the layers above (a leaky readout's memory). spikelearn's (and
snnTorch's) BPTT already detaches the reset, so term (i) is zero in both: **for one layer without
recurrence e-prop equals BPTT exactly**, for any loss of that layer's spikes and membranes
(``tests/test_online.py``). To run online, ``L[t]`` must be known at step ``t``: a loss summed
over steps, ``E = Σ_t ℓ_t(o[t], u[t])``. With recurrence, presynaptic input ``[x[t], o[t-1]]``
gives the e-prop gradient of ``[W_in, W_rec]``, an approximation (``benchmarks/eprop_vs_bptt.py``
reports its cosine similarity to BPTT). Our ``x̄[t]`` includes ``x[t]`` because a spikelearn
neuron integrates its input in the same step; Bellec et al.'s input at ``t`` enters ``v^{t+1}``.

**Online training (OTTT, Xiao et al. 2022, "Online Training Through Time for Spiking Neural
Networks", NeurIPS).** In a deep network each layer keeps its presynaptic trace ``â[t] = x̄[t]``;
at every step the instantaneous loss ``ℓ_t`` is backpropagated through the layers at that step
only (term (iii) dropped), and every weight gets ``∂ℓ_t/∂u[t] · â[t]ᵀ``. :class:`OnlineLIF` does
this with autograd: its membrane carries the exact forward value and the gradient of
``W·x̄[t]``, ``u = value + (W·x̄ - (W·x̄).detach())``; the state is detached between steps, so
autograd never holds more than one step: memory is constant in T (``benchmarks/bench_online.py``).
"""

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import (
    check_choice,
    check_int,
    check_probability,
    check_range,
    check_same_shape,
    check_tensor,
)
from ..cells import surrogate as _surrogate
from ..cells.neurons import IF, LIF

TRACE_RESETS = ("subtract", "none")  # resets for which the eligibility trace is presynaptic only


def _eprop_beta(lif):
    """β of a LIF whose eligibility trace factorises into post × pre (checked), as a float."""
    if type(lif) not in (LIF, IF):  # the exact type: another charge has another trace
        raise TypeError(f"lif must be a spikelearn.neurons.LIF or IF, got {type(lif).__name__}")
    if lif.state_quant is not None:
        raise ValueError("lif must have no state_quant (e-prop's trace assumes exact updates)")
    if lif.beta.numel() != 1:
        raise ValueError(
            f"lif.beta must be one number (a shared presynaptic trace), got shape {tuple(lif.beta.shape)}"
        )
    # a zero reset would make x̄ decay per synapse, β·(1 - r_j): no shared presynaptic trace
    if lif.reset_mechanism not in TRACE_RESETS:
        check_choice("lif.reset_mechanism", lif.reset_mechanism, TRACE_RESETS)
    if not isinstance(lif.spike_grad, _surrogate.Surrogate):
        raise TypeError(
            f"lif.spike_grad must be a spikelearn.surrogate.Surrogate (its derivative is ψ), "
            f"got {type(lif.spike_grad).__name__}"
        )
    return float(lif.beta.clamp(0, 1))


def presynaptic_trace(x_seq, beta):
    """``x̄[t] = β·x̄[t-1] + x[t]`` over a ``[T, B, n]`` sequence (``x̄[-1] = 0``)."""
    check_tensor("x_seq", x_seq, min_dim=2)
    beta = check_probability("beta", beta)
    trace, out = torch.zeros_like(x_seq[0]), []
    for x in x_seq:
        trace = beta * trace + x
        out.append(trace)
    return torch.stack(out)


def _check_recorded_pass(pre_seq, mem_seq):
    """``pre_seq [T, B, n_pre]`` and ``mem_seq [T, B, n_post]`` of one forward pass: same T and B
    (never broadcast: a ``T = 1`` or ``B = 1`` input would silently stand for every step or sample)."""
    check_tensor("pre_seq", pre_seq, min_dim=3, max_dim=3)
    check_tensor("mem_seq", mem_seq, min_dim=3, max_dim=3)
    if pre_seq.shape[:2] != mem_seq.shape[:2]:
        raise ValueError(
            f"pre_seq and mem_seq must share [T, B], got {tuple(pre_seq.shape)} and {tuple(mem_seq.shape)}"
        )


def eligibility_trace(lif, pre_seq, mem_seq):
    """e-prop's ``e_ji[t] = ψ_j[t]·x̄_i[t]``, ``[T, B, n_post, n_pre]``, from a recorded pass.

    Memory ``T·B·n_post·n_pre``: for looking at small layers; :func:`eprop_gradient` never forms it.
    ``pre_seq`` is ``[T, B, n_pre]`` and ``mem_seq`` ``[T, B, n_post]``, with the same ``T`` and ``B``.
    """
    beta = _eprop_beta(lif)
    _check_recorded_pass(pre_seq, mem_seq)
    psi = lif.spike_grad.derivative(mem_seq - lif.threshold)
    return psi[..., :, None] * presynaptic_trace(pre_seq, beta)[..., None, :]


def eprop_gradient(lif, pre_seq, mem_seq, grad_spk, grad_mem=None):
    """e-prop's weight gradient ``Σ_t Σ_b (L_j[t]·ψ_j[t] + L^u_j[t])·x̄_i[t]``, ``[n_post, n_pre]``.

    Args:
        lif: the layer's :class:`~spikelearn.neurons.LIF` (one β, reset "subtract" or "none",
            a spikelearn surrogate).
        pre_seq: ``[T, B, n_pre]`` presynaptic input ``x[t]`` (append a column of ones for a bias).
        mem_seq: ``[T, B, n_post]`` membranes ``u[t]`` of the forward pass.
        grad_spk: learning signal ``L[t] = ∂E/∂o[t]``, ``[T, B, n_post]``.
        grad_mem: optional ``∂E/∂u[t]`` of a loss on the membrane itself.

    Returns ``dE/dW`` (descend with ``W -= η·grad``); a forward loop, memory constant in T.
    """
    beta = _eprop_beta(lif)
    _check_recorded_pass(pre_seq, mem_seq)
    check_same_shape("grad_spk", check_tensor("grad_spk", grad_spk), "mem_seq", mem_seq)
    if grad_mem is not None:
        check_same_shape("grad_mem", check_tensor("grad_mem", grad_mem), "mem_seq", mem_seq)
    grad = pre_seq.new_zeros(mem_seq.shape[-1], pre_seq.shape[-1])
    trace = torch.zeros_like(pre_seq[0])
    for t in range(pre_seq.shape[0]):
        trace = beta * trace + pre_seq[t]
        signal = grad_spk[t] * lif.spike_grad.derivative(mem_seq[t] - lif.threshold)
        if grad_mem is not None:
            signal = signal + grad_mem[t]
        grad += signal.T @ trace
    return grad


class OnlineLIF(nn.Module):
    """``nn.Linear`` followed by a LIF, run one step at a time with e-prop/OTTT gradients.

    ``spk, mem = layer(x)`` advances one step: the same spikes and membrane as
    ``LIF(fc(x), mem)`` (bit for bit), but the weight gradient of the step is
    ``∂ℓ_t/∂u[t]·x̄[t]ᵀ`` (the bias's: ``∂ℓ_t/∂u[t]·Σ_s β^s``) and the state is detached, so a
    ``backward()`` at every step needs only that step's graph. Call :meth:`reset_state` before
    each new sequence. For a non-spiking leaky readout use ``reset_mechanism="none"`` and its
    ``mem``.

    Args:
        in_features, out_features: sizes of the linear map.
        beta, threshold, spike_grad, reset_mechanism: as :class:`~spikelearn.neurons.LIF`
            (one β; reset "subtract" or "none").
        bias: learn a bias.
    """

    def __init__(
        self,
        in_features,
        out_features,
        beta=0.9,
        threshold=1.0,
        spike_grad=None,
        reset_mechanism="subtract",
        bias=True,
    ):
        super().__init__()
        check_int("in_features", in_features, low=1)
        check_int("out_features", out_features, low=1)
        self.fc = nn.Linear(in_features, out_features, bias=bias)
        self.lif = LIF(beta, threshold, spike_grad, reset_mechanism)
        self.beta = _eprop_beta(self.lif)
        self.reset_state()

    def reset_state(self):
        """Forget the membrane and the traces (start of a new sequence)."""
        self.mem, self.trace, self.bias_trace = None, None, 0.0

    def forward(self, x):
        """One step ``[B, in_features] -> (spk, mem)``, each ``[B, out_features]``."""
        check_tensor("x", x, min_dim=2, max_dim=2)
        if x.shape[1] != self.fc.in_features:
            raise ValueError(
                f"x must have {self.fc.in_features} features, got shape {tuple(x.shape)}"
            )
        trace = x if self.trace is None else self.beta * self.trace + x  # x̄[t]
        self.bias_trace = self.beta * self.bias_trace + 1.0
        with torch.no_grad():  # the exact forward value, LIF's own arithmetic
            _, value = self.lif(self.fc(x), self.mem)
        bias = None if self.fc.bias is None else self.fc.bias * self.bias_trace
        local = F.linear(trace, self.fc.weight, bias)  # carries the gradient, worth 0 below
        mem = value + (local - local.detach())
        spk = self.lif.spike_grad(mem - self.lif.threshold)
        self.mem, self.trace = mem.detach(), trace.detach()
        return spk, mem

    def extra_repr(self):
        return "one step per call; e-prop/OTTT gradients, state detached between steps"


def _check_layers(layers):
    if not isinstance(layers, nn.Sequential | nn.ModuleList) or not all(
        isinstance(layer, OnlineLIF) for layer in layers
    ):
        raise TypeError("layers must be an nn.Sequential or nn.ModuleList of OnlineLIF layers")


def train_online(layers, x_seq, targets, loss_fn, optimizer):
    """One online training step on a batch of sequences: streamed, memory constant in T.

    At each step ``t``: run the stack ``layers`` one step, ``ℓ_t = loss_fn(mem_out[t],
    targets) / T`` on the last layer's membrane, ``ℓ_t.backward()`` (this step's graph only);
    gradients accumulate over the sequence and ``optimizer.step()`` applies them at its end
    (Xiao et al.'s OTTT_A). Returns the loss ``Σ_t ℓ_t`` as a float.
    """
    _check_layers(layers)
    check_tensor("x_seq", x_seq, min_dim=3, max_dim=3)
    steps, total = x_seq.shape[0], 0.0
    optimizer.zero_grad()
    for layer in layers:
        layer.reset_state()
    for x in x_seq:
        h = x
        for layer in layers:
            h, mem = layer(h)
        loss = loss_fn(mem, targets) / steps
        loss.backward()
        total += float(loss.detach())
    optimizer.step()
    return total


def run_bptt(layers, x_seq):
    """The same stack over a whole ``[T, B, n]`` sequence, for BPTT: every layer runs
    ``LIF.multi_step`` on ``fc`` of the whole sequence. Returns the last layer's
    ``(spk_seq, mem_seq)`` with the full graph (memory grows with T)."""
    _check_layers(layers)
    check_tensor("x_seq", x_seq, min_dim=3, max_dim=3)
    h = x_seq
    for layer in layers:
        h, mem = layer.lif.multi_step(layer.fc(h))
    return h, mem


def train_bptt(layers, x_seq, targets, loss_fn, optimizer):
    """One BPTT training step with the loss of :func:`train_online`, ``Σ_t loss_fn(mem_out[t],
    targets) / T``, for comparison. Returns the loss as a float."""
    optimizer.zero_grad()
    _, mem_seq = run_bptt(layers, x_seq)
    loss = sum(loss_fn(mem, targets) for mem in mem_seq) / x_seq.shape[0]
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def recurrent_eprop_vs_bptt(seed=0, rec_scale=0.5, steps=100, batch=8, n_in=20, n_rec=50, n_out=3):
    """e-prop's and BPTT's gradients of ``[W_in, W_rec]`` for one recurrent LIF layer.

    A recurrent LIF layer ``u[t] = β·u[t-1] + W_in·x[t] + W_rec·o[t-1] - r[t]·V_th`` (β = 0.9,
    fast-sigmoid slope 5) on random input spikes (rate 0.2), read out per step ``y[t] =
    W_out·o[t]`` with the loss ``Σ_t |y[t] - y*[t]|²`` against a random target; the weights are
    drawn from ``seed`` (``W_rec`` scaled by ``rec_scale/√n_rec``: 0 removes the recurrence, and
    e-prop is exact again). BPTT is autograd through every step, recurrence included; e-prop is
    :func:`eprop_gradient` with presynaptic input ``[x[t], o[t-1]]`` and learning signal
    ``∂E/∂o[t]``, which drops the gradient through the recurrence.

    Returns ``{"eprop": [n_rec, n_in + n_rec], "bptt": same, "rate": spikes per neuron and step}``.
    """
    check_int("seed", seed, low=0)
    check_range("rec_scale", rec_scale, low=0)
    steps, batch = check_int("steps", steps, low=1), check_int("batch", batch, low=1)
    n_in, n_rec = check_int("n_in", n_in, low=1), check_int("n_rec", n_rec, low=1)
    n_out = check_int("n_out", n_out, low=1)
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(steps, batch, n_in, generator=g) < 0.2).float()
    w_in = (torch.randn(n_rec, n_in, generator=g) * 0.5).requires_grad_()
    w_rec = (torch.randn(n_rec, n_rec, generator=g) * rec_scale / n_rec**0.5).requires_grad_()
    w_out = torch.randn(n_out, n_rec, generator=g) / n_rec**0.5
    target = torch.randn(steps, batch, n_out, generator=g)
    lif = LIF(beta=0.9, spike_grad=_surrogate.fast_sigmoid(slope=5))
    mem, spk = None, torch.zeros(batch, n_rec)
    pres, spikes, mems = [], [], []
    for t in range(steps):  # BPTT: autograd through every step, recurrence included
        pres.append(torch.cat([x[t], spk], 1))
        spk, mem = lif(x[t] @ w_in.T + spk @ w_rec.T, mem)
        spikes.append(spk)
        mems.append(mem)
    spk_seq, mem_seq = torch.stack(spikes), torch.stack(mems)

    def loss(s):
        return ((s @ w_out.T - target) ** 2).sum()

    bptt = torch.cat(torch.autograd.grad(loss(spk_seq), (w_in, w_rec)), 1)
    leaf = spk_seq.detach().requires_grad_()
    (grad_spk,) = torch.autograd.grad(loss(leaf), leaf)
    eprop = eprop_gradient(lif, torch.stack(pres).detach(), mem_seq.detach(), grad_spk)
    return {"eprop": eprop, "bptt": bptt, "rate": float(spk_seq.detach().mean())}


__all__ = [
    "TRACE_RESETS",
    "presynaptic_trace",
    "eligibility_trace",
    "eprop_gradient",
    "OnlineLIF",
    "train_online",
    "run_bptt",
    "train_bptt",
    "recurrent_eprop_vs_bptt",
]
