"""Leaky integrate-and-fire neurons in snnTorch's conventions: ``spk, mem = lif(cur, mem)``.

Leaky integrate-and-fire (LIF), discretised with one Euler step per time step
(Eshraghian et al. 2023, "Training Spiking Neural Networks Using Lessons From Deep Learning",
Proc. IEEE, arXiv 2109.12894)::

    r[t] = H(u[t-1] - V_th)                     reset from the previous step, detached
    u[t] = β·u[t-1] + x[t] - r[t]·V_th          reset_mechanism="subtract"
    u[t] = β·u[t-1]·(1 - r[t]) + x[t]           reset_mechanism="zero" (snnTorch's Leaky: zero_before)
    o[t] = H(u[t] - V_th)                       spike, with a surrogate gradient in backward

Each class below writes only its charge equation; the reset, the spike, the state and the two
calls are the neuron core's (:mod:`spikelearn.cells.neuron`):

* ``neuron(x, mem)`` - one time step, returns ``(spk, mem)`` exactly like ``snntorch.Leaky``;
* ``neuron.multi_step(x_seq)`` - a whole ``[T, B, ...]`` sequence, returns ``(spk_seq, mem_seq)``.

With the same parameters the spikes and membrane traces equal snnTorch's ``Leaky`` and
``Synaptic`` bit for bit (``tests/test_neurons.py`` checks it).
"""

from . import _fused
from .neuron import RESETS, Neuron


class LIF(Neuron):
    """First-order leaky integrate-and-fire neuron (snnTorch's ``Leaky``): ``u = β·u + x``.

    Args:
        beta: membrane decay per step, in [0, 1] (``β = exp(-Δt/τ)``); float or per-neuron tensor.
        threshold: firing threshold ``V_th > 0``.
        spike_grad: surrogate gradient (default ``surrogate.atan(alpha=2)``, as in snnTorch).
        reset_mechanism: ``"subtract"`` (default), ``"zero"`` (= ``"zero_before"``, snnTorch's),
            ``"zero_after"`` or ``"none"`` (:data:`~spikelearn.cells.neuron.RESETS`).
        learn_beta, learn_threshold: make β / V_th trainable parameters.
        state_quant: quantise the membrane after each update (snnTorch's ``state_quant``).

    ``multi_step`` is fused (:func:`spikelearn.cells._fused.lif`) with a spikelearn surrogate.
    """

    kernel = _fused.lif

    def __init__(self, beta, threshold=1.0, spike_grad=None, reset_mechanism="subtract",
                 learn_beta=False, learn_threshold=False, state_quant=None):  # fmt: skip
        super().__init__(threshold, spike_grad, reset_mechanism, learn_threshold, state_quant)
        self.parameter("beta", beta, learn_beta)

    def charge(self, x, mem):
        return self.beta.clamp(0, 1) * mem + x


class IF(LIF):
    """Integrate-and-fire neuron: an LIF without leak (β = 1), ``u[t] = u[t-1] + x[t] - r[t]·V_th``."""

    def __init__(self, threshold=1.0, spike_grad=None, reset_mechanism="subtract",
                 learn_threshold=False, state_quant=None):  # fmt: skip
        super().__init__(1.0, threshold, spike_grad, reset_mechanism, False, learn_threshold,
                         state_quant)  # fmt: skip


class Synaptic(Neuron):
    """Second-order LIF with a synaptic current (snnTorch's ``Synaptic``)::

        i[t] = α·i[t-1] + x[t]
        u[t] = β·u[t-1] + i[t] - r[t]·V_th          reset_mechanism="subtract"
        u[t] = (β·u[t-1] + i[t])·(1 - r[t])         reset_mechanism="zero" (snnTorch's: zero_after)

    ``spk, syn, mem = syn_neuron(cur, syn, mem)``.

    Args:
        alpha: synaptic current decay per step, in [0, 1]; other args as :class:`LIF`
            (``state_quant`` quantises both ``syn`` and ``mem``, as snnTorch does).
    """

    state = ("syn", "mem")
    snntorch_zero = "zero_after"

    def __init__(self, alpha, beta, threshold=1.0, spike_grad=None, reset_mechanism="subtract",
                 learn_alpha=False, learn_beta=False, learn_threshold=False,
                 state_quant=None):  # fmt: skip
        super().__init__(threshold, spike_grad, reset_mechanism, learn_threshold, state_quant)
        self.parameter("alpha", alpha, learn_alpha)
        self.parameter("beta", beta, learn_beta)

    def charge(self, x, syn, mem):
        syn = self.alpha.clamp(0, 1) * syn + x
        return syn, self.beta.clamp(0, 1) * mem + syn


__all__ = ["LIF", "IF", "Synaptic", "RESETS"]
