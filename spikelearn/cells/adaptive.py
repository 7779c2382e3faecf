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
``multi_step`` is a step loop: ``b[t]`` depends on the spikes up to ``t-1``. The reset uses
``r[t] = H(u[t-1] - b[t-1])``, which is ``o[t-1]``: the neuron core's reset rule with a moving
threshold.

**Learnable time constants.** ``neurons.LIF`` already takes one β per neuron and trains it
(``learn_beta=True``; its fused ``multi_step`` returns the per-neuron gradient).
:func:`heterogeneous_beta` draws such a per-neuron β from a spread of time constants, which
trains better on temporal tasks than one shared value (Perez-Nieves et al. 2021, "Neural
heterogeneity promotes robust learning", Nat. Commun. 12:5791; Fang et al. 2021, PLIF)::

    lif = neurons.LIF(beta=adaptive.heterogeneous_beta(256, tau_min=2, tau_max=50), learn_beta=True)

**PLIF** (Fang, Yu, Chen, Masquelier, Huang & Tian 2021, "Incorporating Learnable Membrane Time
Constant to Enhance Learning of Spiking Neural Networks", ICCV, arXiv 2007.05785): one learnable
time constant per layer, trained with the weights, kept in range by a sigmoid::

    1/τ = k = sigmoid(w)                          one w per layer, learned; τ > 1 always
    u[t] = u[t-1] + k·(x[t] - u[t-1])             the paper's charge: a leak 1 - k, the input scaled by k
         = (1 - k)·u[t-1] + k·x[t]                (decay_input=False: (1 - k)·u[t-1] + x[t])

so the leak is ``β = 1 - 1/τ = sigmoid(-w)``. The paper's reset is hard, to 0, before the next
charge: the core's ``"zero_before"``, the default here.
"""

import math

import torch

from .._checks import check_int, check_positive, check_range
from .neuron import Neuron


class ALIF(Neuron):
    """Adaptive-threshold leaky integrate-and-fire neuron (Bellec et al. 2018).

    Its charge: ``a = ρ·a + o[t-1]``, ``u = β·u + x``; its threshold: ``b = b0 + β_a·a``.
    ``spk, a, mem = alif(cur, spk, a, mem)``.

    Args:
        beta: membrane decay per step in [0, 1] (float or per-neuron tensor).
        rho: adaptation decay per step in [0, 1], ``ρ = exp(-Δt/τ_a)`` (see :func:`decay`).
        beta_a: threshold increase per unit of adaptation, ``>= 0`` (0 gives a plain LIF).
        threshold: baseline threshold ``b0 > 0``.
        spike_grad: surrogate (default ``surrogate.atan()``, as ``neurons.LIF``).
        reset_mechanism: ``"subtract"`` (default, subtracts ``b0``), ``"zero"``
            (= ``"zero_before"``), ``"zero_after"`` or ``"none"``.
        learn_beta, learn_rho, learn_beta_a, learn_threshold: make them trainable.
        state_quant: quantise ``a`` and ``u`` after each update.
    """

    state = ("spk", "a", "mem")

    def __init__(self, beta, rho, beta_a=1.0, threshold=1.0, spike_grad=None,
                 reset_mechanism="subtract", learn_beta=False, learn_rho=False,
                 learn_beta_a=False, learn_threshold=False, state_quant=None):  # fmt: skip
        super().__init__(threshold, spike_grad, reset_mechanism, learn_threshold, state_quant)
        self.parameter("beta", beta, learn_beta)
        self.parameter("rho", rho, learn_rho)
        self.parameter("beta_a", beta_a, learn_beta_a, check=_non_negative)

    def charge(self, x, spk, a, mem):
        return self.rho.clamp(0, 1) * a + spk, self.beta.clamp(0, 1) * mem + x

    def firing_threshold(self, spk, a, mem):
        """``b = b0 + β_a·a``."""
        return self.threshold + self.beta_a * a

    def adaptive_threshold(self, a):
        """``b = b0 + β_a·a`` for an adaptation ``a``."""
        return self.threshold + self.beta_a * a


class PLIF(Neuron):
    """Parametric LIF (Fang et al. 2021): ``u = u + k·(x - u)`` with ``k = 1/τ = sigmoid(w)``, one
    learnable ``w`` per layer.

    Args:
        beta: the leak ``β = 1 - 1/τ`` to start from, in (0, 1) (0.5: the paper's ``τ₀ = 2``).
        threshold, spike_grad, learn_threshold, state_quant: as :class:`~spikelearn.neurons.LIF`.
        reset_mechanism: ``"zero_before"`` by default (the paper's hard reset); any of the core's.
        decay_input: scale the input by ``k`` as the paper does (``False``: ``u = β·u + x``).
        learn_tau: train ``w`` (the point of PLIF; ``False`` keeps ``τ`` fixed).
    """

    def __init__(self, beta=0.5, threshold=1.0, spike_grad=None, reset_mechanism="zero_before",
                 decay_input=True, learn_tau=True, learn_threshold=False, state_quant=None):  # fmt: skip
        super().__init__(threshold, spike_grad, reset_mechanism, learn_threshold, state_quant)
        beta = check_range("beta", beta, 0, 1, low_open=True, high_open=True)
        w = -torch.logit(torch.as_tensor(float(beta)))  # sigmoid(-w) = β: w = -logit(β)
        self.parameter("w", w, learn_tau, check=check_range)  # any real number
        self.decay_input = bool(decay_input)

    def charge(self, x, mem):
        k = torch.sigmoid(self.w)  # 1/τ
        return mem + k * (x - mem) if self.decay_input else (1 - k) * mem + x

    @property
    def tau(self):
        """The time constant ``τ = 1/sigmoid(w)`` in steps (a tensor; > 1)."""
        return 1 / torch.sigmoid(self.w.detach())

    @property
    def beta(self):
        """The leak per step, ``β = 1 - 1/τ = sigmoid(-w)``."""
        return torch.sigmoid(-self.w.detach())


def _non_negative(name, value):
    return check_range(name, value, low=0, high=math.inf, high_open=True)


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
    check_range("tau_min", tau_min, 0, math.inf, low_open=True, high_open=True)
    check_range("tau_max", tau_max, tau_min, math.inf, high_open=True)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    u = torch.rand(num_neurons, generator=g)
    tau = torch.exp(math.log(tau_min) + u * (math.log(tau_max) - math.log(tau_min)))
    return decay(tau, dt)


__all__ = ["ALIF", "PLIF", "decay", "heterogeneous_beta"]
