"""Lee et al. 2020's leak-aware LIF: a neuron trained through its spike count, not in time.

"Enabling Spike-based Backpropagation for Training Deep Neural Network Architectures" (Lee,
Sarwar, Panda, Srinivasan & Roy, Frontiers in Neuroscience 2020, arXiv 1903.06379) does not unroll
a neuron in time. Each neuron is one unit whose activation is its spike count ``a = Σ_t o[t]`` and
whose input is its total current ``net = Σ_t x[t]``; the error is passed back once through an
approximate ``∂a/∂net`` that corrects ``1/V_th`` for the leak (:func:`leak_aware_derivative`).
Because the derivative needs the whole spike train, the neuron trains only through its
``multi_step`` (its kernel); use it as ``spikelearn.layers.Spiking(LeakAwareLIF(beta=0.99))``. Its
one-step call gives the same forward values but no gradient: backpropagating through it raises.
"""

import math

import torch

from .._checks import check_positive, check_range, check_sequence
from .neuron import Neuron


def leak_aware_derivative(spk_seq, beta, threshold=1.0):
    """Lee et al. 2020's approximate derivative of a LIF neuron's spike count to its total input.

    With ``γ = Σ_t o[t]`` the neuron's spike count and ``LF = Σ_t λ^(T-t)·o[t]`` its leak-filtered
    spike trace (``λ = beta``)::

        ∂a/∂net ≈ (1/V_th)·(1[γ > 0] + ln(λ)·LF/γ)        (0 where γ = 0)

    the ``(1/V_th)·(1 + ε)`` of "Enabling Spike-based Backpropagation for Training Deep Neural
    Network Architectures" (Frontiers in Neuroscience 2020, arXiv 1903.06379), with the leak
    correction ``ε = (1/γ)·Σ_k (-1/τ_m)·exp(-(T - t_k)/τ_m)`` written with ``λ = exp(-1/τ_m)``.

    Args:
        spk_seq: spikes ``[T, B, ...]`` in {0, 1}.
        beta: leak ``λ`` in (0, 1].
        threshold: ``V_th > 0``.

    Returns:
        ``[B, ...]`` tensor: one derivative per neuron for the whole sequence.
    """
    check_sequence("spk_seq", spk_seq)
    check_range("beta", beta, 0, 1, low_open=True)
    check_positive("threshold", threshold)
    steps = spk_seq.shape[0]
    t = torch.arange(1, steps + 1, dtype=spk_seq.dtype, device=spk_seq.device)
    decay = (torch.as_tensor(beta, dtype=spk_seq.dtype) ** (steps - t)).reshape(
        -1, *[1] * (spk_seq.dim() - 1)
    )
    leak_filtered = (decay * spk_seq).sum(0)
    count = spk_seq.sum(0)
    eps = math.log(beta) * leak_filtered / count.clamp(min=1)
    return torch.where(count > 0, 1 + eps, torch.zeros_like(count)) / threshold


class _LeakAwareLIF(torch.autograd.Function):
    """Forward: the neuron's own steps over the sequence. Backward: Lee et al.'s ∂a/∂net to every
    step."""

    @staticmethod
    def forward(ctx, x_seq, mem, neuron):
        with torch.no_grad():
            spk_seq, mem_seq = neuron.step_loop(x_seq, [mem])
        beta, threshold = float(neuron.beta), float(neuron.threshold)
        ctx.save_for_backward(leak_aware_derivative(spk_seq, beta, threshold))
        ctx.mark_non_differentiable(mem_seq)
        return spk_seq, mem_seq

    @staticmethod
    def backward(ctx, grad_spk, grad_mem):
        (derivative,) = ctx.saved_tensors
        grad_count = grad_spk.sum(0)  # ∂L/∂a with a = Σ_t o[t]
        return (derivative * grad_count).expand_as(grad_spk).clone(), None, None


def _leak_aware_kernel(neuron, x_seq, mem):
    return _LeakAwareLIF.apply(x_seq, mem, neuron)


class _StepSpike(torch.autograd.Function):
    """The Heaviside spike of one step; its gradient is not defined, so backward raises."""

    @staticmethod
    def forward(ctx, x):
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "LeakAwareLIF's gradient is Lee et al.'s derivative of the whole spike train: train "
            "it with multi_step (layers.Spiking(LeakAwareLIF(...))), not one step at a time"
        )


class NoStepGradient:
    """LeakAwareLIF's spike function: Heaviside forward, no gradient for a single step."""

    def __call__(self, x):
        return _StepSpike.apply(x)

    def __repr__(self):
        return "NoStepGradient()"


class LeakAwareLIF(Neuron):
    """LIF neuron trained with Lee et al. 2020's leak-aware derivative (a sequence-level spike).

    Forward, per step: ``u[t] = λ·u[t-1]·(1 - o[t-1]) + x[t]``, ``o[t] = H(u[t] - V_th)`` (hard
    reset, the neuron core's ``"zero_before"``). Backward: Lee et al. do not unroll the neuron in
    time. Each neuron is one unit whose activation is its spike count ``a = Σ_t o[t]`` and whose
    input is its total current ``net = Σ_t x[t]``; the output error is accumulated over the whole
    window and passed back once through ``∂a/∂net`` (:func:`leak_aware_derivative`). In BPTT
    terms every time step receives the same gradient::

        ∂L/∂x[t] = ∂a/∂net · Σ_t' ∂L/∂o[t']

    so it needs the whole spike train: ``multi_step`` runs it as one operation (its kernel), and
    the one-step call, which gives the same forward values, raises if backpropagated through.
    The membrane output carries no gradient (use spike-count losses).
    Put it in a model with ``spikelearn.layers.Spiking(LeakAwareLIF(beta=0.99))``.

    Args:
        beta: leak ``λ`` in (0, 1] (Lee et al. use 0.99).
        threshold: ``V_th > 0`` (Lee et al. use 1).
    """

    kernel = _leak_aware_kernel

    def __init__(self, beta=0.99, threshold=1.0):
        if torch.is_tensor(threshold) and threshold.numel() != 1:
            raise ValueError(f"threshold must be one number, got shape {tuple(threshold.shape)}")
        super().__init__(threshold, NoStepGradient(), "zero_before")
        self.parameter("beta", beta, check=_leak)

    def charge(self, x, mem):
        return self.beta * mem + x


def _leak(name, value):
    if torch.is_tensor(value) and value.numel() != 1:
        raise ValueError(
            f"{name} must be one number (Lee et al.'s λ), got shape {tuple(value.shape)}"
        )
    return check_range(name, value, 0, 1, low_open=True)


__all__ = ["leak_aware_derivative", "LeakAwareLIF"]
