"""Neurons with slow time scales: an adaptive threshold (ALIF) and learnable time constants.

**Adaptive LIF** (Bellec et al. 2018, "Long short-term memory and learning-to-learn in networks
of spiking neurons", NeurIPS, arXiv 1803.09574; the discrete form of Bellec et al. 2020, e-prop,
Nat. Commun. 11:3625). Every spike raises the neuron's threshold, which then relaxes back with its
own time constant ``τ_a``, much slower than the membrane's::

    r[t] = o[t-1]                        reset from the previous spike, detached
    a[t] = ρ·a[t-1] + o[t-1]             adaptation: +1 per spike, ρ = exp(-Δt/τ_a)
    b[t] = b0 + β_a·a[t]                 adaptive threshold (b0 = ``threshold``)
    u[t] = β·u[t-1] + x[t] - r[t]·b0     reset_mechanism="subtract" (e-prop subtracts b0)
    u[t] = β·u[t-1]·(1 - r[t]) + x[t]    reset_mechanism="zero"
    o[t] = H(u[t] - b[t])                surrogate gradient in backward

``a`` remembers how much the neuron fired over the last ~τ_a steps: a memory that outlasts the
membrane (τ_a of hundreds of steps vs a membrane τ of ~10), which is what lets a network of
them bridge a delay (LSNN). Bellec et al. 2018 write ``a[t] = ρ·a[t-1] + (1 - ρ)·o[t-1]``; that
is this rule with ``β_a`` multiplied by ``(1 - ρ)``. The spike ``o[t-1]`` in ``a[t]`` keeps its
surrogate gradient (only the reset is detached): the gradient of a late loss reaches early
spikes through ``a``, which is how a trained ALIF network learns what to remember.

``spk, a, mem = alif(cur, spk, a, mem)`` (the extra state before ``mem``, as in
``neurons.Synaptic``; the previous spike is an argument because ``a`` needs it with its gradient).
``multi_step`` is a step loop: ``b[t]`` depends on the spikes up to ``t-1``.

**Learnable time constants.** ``neurons.LIF`` already takes one β per neuron and trains it
(``learn_beta=True``; its fused ``multi_step`` returns the per-neuron gradient).
:func:`heterogeneous_beta` draws such a per-neuron β from a spread of time constants, which
trains better on temporal tasks than one shared value (Perez-Nieves et al. 2021, "Neural
heterogeneity promotes robust learning", Nat. Commun. 12:5791; Fang et al. 2021, PLIF)::

    lif = neurons.LIF(beta=adaptive.heterogeneous_beta(256, tau_min=2, tau_max=50), learn_beta=True)
"""

import math

import torch
from torch import nn

from .._checks import (
    check_int,
    check_positive,
    check_probability,
    check_range,
    check_same_shape,
    check_tensor,
)
from .neurons import _lif_setup, _param, _step_loop


class ALIF(nn.Module):
    """Adaptive-threshold leaky integrate-and-fire neuron (Bellec et al. 2018).

    Args:
        beta: membrane decay per step in [0, 1] (float or per-neuron tensor).
        rho: adaptation decay per step in [0, 1], ``ρ = exp(-Δt/τ_a)`` (see :func:`decay`).
        beta_a: threshold increase per unit of adaptation, ``>= 0`` (0 gives a plain LIF).
        threshold: baseline threshold ``b0 > 0``.
        spike_grad: surrogate (default ``surrogate.atan()``, as ``neurons.LIF``).
        reset_mechanism: ``"subtract"`` (default), ``"zero"`` or ``"none"``.
        learn_beta, learn_rho, learn_beta_a, learn_threshold: make them trainable.
    """

    def __init__(self, beta, rho, beta_a=1.0, threshold=1.0, spike_grad=None,
                 reset_mechanism="subtract", learn_beta=False, learn_rho=False,
                 learn_beta_a=False, learn_threshold=False):  # fmt: skip
        super().__init__()
        _lif_setup(self, beta, threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold)
        _param(self, "rho", check_probability("rho", rho), learn_rho)
        _param(self, "beta_a", check_range("beta_a", beta_a, low=0), learn_beta_a)

    def _state(self, name, value, input_):
        if value is None:
            return torch.zeros_like(input_)
        check_tensor(name, value)
        return check_same_shape(name, value, "input_", input_)

    def forward(self, input_, spk=None, a=None, mem=None):
        """One step: returns ``(spk, a, mem)``; ``None`` states start from rest."""
        check_tensor("input_", input_)
        spk, a = self._state("spk", spk, input_), self._state("a", a, input_)
        mem = self._state("mem", mem, input_)
        reset = spk.detach()
        a = self.rho.clamp(0, 1) * a + spk
        beta = self.beta.clamp(0, 1)
        if self.reset_mechanism == "subtract":
            mem = beta * mem + input_ - reset * self.threshold
        elif self.reset_mechanism == "zero":
            mem = beta * mem * (1 - reset) + input_
        else:
            mem = beta * mem + input_
        spk = self.spike_grad(mem - self.adaptive_threshold(a))
        return spk, a, mem

    def adaptive_threshold(self, a):
        """``b = b0 + β_a·a``."""
        return self.threshold + self.beta_a * a

    def multi_step(self, x_seq, spk=None, a=None, mem=None):
        """Run ``[T, B, ...]`` currents; returns ``(spk_seq, a_seq, mem_seq)``."""
        check_tensor("x_seq", x_seq, min_dim=2)
        return _step_loop(self, x_seq, (spk, a, mem), returns_spikes_as_state=True)

    def extra_repr(self):
        return f"reset={self.reset_mechanism!r}, spike_grad={self.spike_grad!r}"


def decay(tau, dt=1.0):
    """Per-step decay ``exp(-Δt/τ)`` of a time constant ``τ`` (a float or tensor, ``> 0``)."""
    check_positive("tau", tau)
    check_positive("dt", dt)
    tau = torch.as_tensor(tau, dtype=torch.get_default_dtype())
    return torch.exp(-dt / tau)


def heterogeneous_beta(num_neurons, tau_min=2.0, tau_max=50.0, dt=1.0, seed=0):
    """One β per neuron, ``exp(-Δt/τ)`` with ``τ`` log-uniform in ``[tau_min, tau_max]`` steps.

    Returns a ``[num_neurons]`` tensor for ``neurons.LIF(beta=..., learn_beta=True)``.
    """
    num_neurons = check_int("num_neurons", num_neurons, low=1)
    check_positive("tau_min", tau_min)
    check_range("tau_max", tau_max, low=tau_min)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    u = torch.rand(num_neurons, generator=g)
    tau = torch.exp(math.log(tau_min) + u * (math.log(tau_max) - math.log(tau_min)))
    return decay(tau, dt)


__all__ = ["ALIF", "decay", "heterogeneous_beta"]
