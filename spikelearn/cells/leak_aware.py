"""Lee et al. 2020's leak-aware LIF: a neuron trained through its spike count, not in time.

"Enabling Spike-based Backpropagation for Training Deep Neural Network Architectures" (Lee,
Sarwar, Panda, Srinivasan & Roy, Frontiers in Neuroscience 2020, arXiv 1903.06379) does not unroll
a neuron in time. Each neuron is one unit whose activation is its spike count ``a = Σ_t o[t]`` and
whose input is its total current ``net = Σ_t x[t]``; the error is passed back once through an
approximate ``∂a/∂net`` that corrects ``1/V_th`` for the leak (:func:`leak_aware_derivative`).
Because the derivative needs the whole spike train, the neuron is a sequence-level operation with
only a ``multi_step``; use it as ``spikelearn.layers.Spiking(LeakAwareLIF(beta=0.99))``.
"""

import math

import torch

from .._checks import check_positive, check_range, check_sequence


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
    """Forward: LIF with hard reset over the sequence. Backward: Lee et al.'s ∂a/∂net to every step."""

    @staticmethod
    def forward(ctx, x_seq, beta, threshold):
        mem, spikes, mems = torch.zeros_like(x_seq[0]), [], []
        spk = torch.zeros_like(mem)
        for x in x_seq:  # u[t] = λ·u[t-1]·(1 - o[t-1]) + x[t];  o[t] = H(u[t] - V_th)
            mem = beta * mem * (1 - spk) + x
            spk = (mem > threshold).to(x.dtype)
            spikes.append(spk)
            mems.append(mem)
        spk_seq, mem_seq = torch.stack(spikes), torch.stack(mems)
        ctx.save_for_backward(leak_aware_derivative(spk_seq, beta, threshold))
        ctx.mark_non_differentiable(mem_seq)
        return spk_seq, mem_seq

    @staticmethod
    def backward(ctx, grad_spk, grad_mem):
        (derivative,) = ctx.saved_tensors
        grad_count = grad_spk.sum(0)  # ∂L/∂a with a = Σ_t o[t]
        return (derivative * grad_count).expand_as(grad_spk).clone(), None, None


class LeakAwareLIF(torch.nn.Module):
    """LIF neuron trained with Lee et al. 2020's leak-aware derivative (a sequence-level spike).

    Forward, per step: ``u[t] = λ·u[t-1]·(1 - o[t-1]) + x[t]``, ``o[t] = H(u[t] - V_th)`` (hard
    reset). Backward: Lee et al. do not unroll the neuron in time. Each neuron is one unit whose
    activation is its spike count ``a = Σ_t o[t]`` and whose input is its total current
    ``net = Σ_t x[t]``; the output error is accumulated over the whole window and passed back once
    through ``∂a/∂net`` (:func:`leak_aware_derivative`). In BPTT terms every time step receives
    the same gradient::

        ∂L/∂x[t] = ∂a/∂net · Σ_t' ∂L/∂o[t']

    so it needs the whole spike train: it is a sequence-level operation and only has a
    ``multi_step``. The membrane output carries no gradient (use spike-count losses).
    Put it in a model with ``spikelearn.layers.Spiking(LeakAwareLIF(beta=0.99))``.

    Args:
        beta: leak ``λ`` in (0, 1] (Lee et al. use 0.99).
        threshold: ``V_th > 0`` (Lee et al. use 1).
    """

    def __init__(self, beta=0.99, threshold=1.0):
        super().__init__()
        self.beta = float(check_range("beta", beta, 0, 1, low_open=True))
        self.threshold = float(check_positive("threshold", threshold))

    def multi_step(self, x_seq):
        """Run ``[T, B, ...]`` input currents (``T >= 1``); returns ``(spk_seq, mem_seq)``."""
        check_sequence("x_seq", x_seq)
        return _LeakAwareLIF.apply(x_seq, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta:g}, threshold={self.threshold:g}"


__all__ = ["leak_aware_derivative", "LeakAwareLIF"]
