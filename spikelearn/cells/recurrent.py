"""Recurrent spiking neurons in snnTorch's conventions: ``spk, mem = rlif(cur, spk, mem)``.

A recurrent neuron feeds its own spikes of the previous step back in as extra input current
(snnTorch's ``RLeaky`` and ``RSynaptic``; Eshraghian et al. 2023, arXiv 2109.12894)::

    r[t] = H(u[t-1] - V_th)                          reset from the previous step, detached
    u[t] = β·u[t-1] + x[t] + R(o[t-1]) - r[t]·V_th     reset_mechanism="subtract"
    u[t] = (β·u[t-1] + x[t] + R(o[t-1]))·(1 - r[t])    reset_mechanism="zero" (snnTorch's: zero_after)
    o[t] = H(u[t] - V_th)                            spike, surrogate gradient in backward

The feedback ``R`` is either

* all-to-all: ``R(o) = W·o + b``, an ``nn.Linear(linear_features, linear_features)`` (or an
  ``nn.Conv2d(conv2d_channels, conv2d_channels, kernel_size, padding=kernel_size // 2)`` for
  feature maps), initialised by PyTorch's default, as snnTorch does; or
* one-to-one (``all_to_all=False``): ``R(o) = V·o``, each neuron feeds back only to itself
  (``V`` a scalar or one weight per neuron).

**What can and cannot be fused over time.** The input projection ``x[t] = W_in·s_in[t]`` does
not depend on the layer's own spikes, so all T steps are one matmul: fold time into batch with
:class:`spikelearn.layers.TimeFolded`. The recurrence cannot: ``o[t-1]`` must exist before
``u[t]`` can be computed, so the forward pass is a loop over time. ``RLIF.multi_step`` runs that
loop as one autograd node (:func:`spikelearn.cells._fused.rlif`, no per-step graph); in its backward pass the
weight gradient ``∂L/∂W = Σ_t g[t]ᵀ·o[t-1]`` is again independent across steps and is one matmul
over all ``T·B`` rows. ``RSynaptic`` and conv feedback run the plain step loop.

With the same parameters the spikes and membranes equal snnTorch's bit for bit
(``tests/test_recurrent.py``).
"""

import math

import torch
from torch import nn

from .._checks import check_int, check_range, check_sequence
from . import _fused
from .neuron import RESETS, Neuron


class Recurrent(Neuron):
    """What :class:`RLIF` and :class:`RSynaptic` share: the feedback ``R(o)`` of the last spikes.

    ``R`` is all-to-all (``module.recurrent``: an ``nn.Linear`` or ``nn.Conv2d``, initialised by
    PyTorch's default, as snnTorch does) or one-to-one (``module.V``: one weight, or one per
    neuron). Its state starts with ``"spk"``: a step needs the previous step's spikes.
    """

    snntorch_zero = "zero_after"

    def __init__(self, V, all_to_all, linear_features, conv2d_channels, kernel_size,
                 learn_recurrent, threshold, spike_grad, reset_mechanism, learn_threshold,
                 state_quant):  # fmt: skip
        super().__init__(threshold, spike_grad, reset_mechanism, learn_threshold, state_quant)
        if all_to_all:
            if (linear_features is None) == (conv2d_channels is None or kernel_size is None):
                raise ValueError(
                    "all_to_all=True needs either linear_features or both conv2d_channels and "
                    f"kernel_size, got linear_features={linear_features!r}, "
                    f"conv2d_channels={conv2d_channels!r}, kernel_size={kernel_size!r}"
                )
            if linear_features is not None:
                n = check_int("linear_features", linear_features, low=1)
                self.recurrent = nn.Linear(n, n)
            else:
                c = check_int("conv2d_channels", conv2d_channels, low=1)
                k = check_int("kernel_size", kernel_size, low=1)
                if k % 2 == 0:
                    raise ValueError(
                        f"kernel_size must be odd (padding k // 2 keeps the map's size), got {k}"
                    )
                self.recurrent = nn.Conv2d(c, c, k, padding=k // 2)
            self.recurrent.requires_grad_(bool(learn_recurrent))
            self.V = None
        else:
            if (
                linear_features is not None
                or conv2d_channels is not None
                or kernel_size is not None
            ):
                raise ValueError(
                    "all_to_all=False uses the weight V; do not pass linear_features, "
                    "conv2d_channels or kernel_size"
                )
            self.recurrent = None
            self.parameter("V", V, learn_recurrent, check=_check_real)

    def feedback(self, spk):
        """``R(o)``: the current the previous step's spikes feed back."""
        return self.recurrent(spk) if self.recurrent is not None else spk * self.V

    def start(self, like, state, where="input_"):
        values = super().start(like, state, where)
        if isinstance(self.recurrent, nn.Linear) and like.shape[-1] != self.recurrent.in_features:
            raise ValueError(
                f"{where} must have {self.recurrent.in_features} features in its last dimension "
                f"(linear_features), got shape {tuple(like.shape)}"
            )
        if isinstance(self.recurrent, nn.Conv2d) and (
            like.dim() != 4 or like.shape[1] != self.recurrent.in_channels
        ):
            raise ValueError(
                f"{where} must be [B, {self.recurrent.in_channels}, H, W] (conv2d_channels), "
                f"got shape {tuple(like.shape)}"
            )
        return values

    def extra_repr(self):
        kind = "one-to-one" if self.recurrent is None else "all-to-all"
        return f"{kind}, {super().extra_repr()}"


def _check_real(name, value):
    """Any finite real number (or tensor of them): a feedback weight may be negative."""
    return check_range(name, value, -math.inf, math.inf, low_open=True, high_open=True)


class RLIF(Recurrent):
    """Recurrent leaky integrate-and-fire neuron (snnTorch's ``RLeaky``): ``u = β·u + x + R(o)``.

    ``spk, mem = rlif(cur, spk, mem)``.

    Args:
        beta: membrane decay per step in [0, 1]; float or per-neuron tensor.
        V: one-to-one feedback weight (used when ``all_to_all=False``).
        all_to_all: all-to-all feedback (``nn.Linear``/``nn.Conv2d``) instead of one-to-one.
        linear_features: number of neurons, for all-to-all linear feedback.
        conv2d_channels, kernel_size: for all-to-all convolutional feedback (odd kernel).
        threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold, state_quant: as
            ``neurons.LIF`` (``"zero"`` is snnTorch's ``"zero_after"``).
        learn_recurrent: train the feedback weights (default True, as snnTorch).

    ``multi_step`` is fused (:func:`spikelearn.cells._fused.rlif`) for linear or one-to-one
    feedback and a spikelearn surrogate; a step loop otherwise.
    """

    state = ("spk", "mem")
    kernel = _fused.rlif

    def __init__(self, beta, V=1.0, all_to_all=True, linear_features=None, conv2d_channels=None,
                 kernel_size=None, threshold=1.0, spike_grad=None, reset_mechanism="subtract",
                 learn_beta=False, learn_threshold=False, learn_recurrent=True,
                 state_quant=None):  # fmt: skip
        super().__init__(V, all_to_all, linear_features, conv2d_channels, kernel_size,
                         learn_recurrent, threshold, spike_grad, reset_mechanism,
                         learn_threshold, state_quant)  # fmt: skip
        self.parameter("beta", beta, learn_beta)

    def charge(self, x, spk, mem):
        return self.beta.clamp(0, 1) * mem + x + self.feedback(spk)


class RSynaptic(Recurrent):
    """Recurrent second-order neuron (snnTorch's ``RSynaptic``): the feedback enters the current::

        i[t] = α·i[t-1] + x[t] + R(o[t-1])
        u[t] = β·u[t-1] + i[t] - r[t]·V_th          (zero reset: u[t]·(1 - r[t]); i is kept)

    ``spk, syn, mem = rsyn(cur, spk, syn, mem)``. Args as :class:`RLIF`, plus ``alpha`` (current
    decay per step in [0, 1]) and ``learn_alpha``. ``multi_step`` is a step loop.
    """

    state = ("spk", "syn", "mem")

    def __init__(self, alpha, beta, V=1.0, all_to_all=True, linear_features=None,
                 conv2d_channels=None, kernel_size=None, threshold=1.0, spike_grad=None,
                 reset_mechanism="subtract", learn_alpha=False, learn_beta=False,
                 learn_threshold=False, learn_recurrent=True, state_quant=None):  # fmt: skip
        super().__init__(V, all_to_all, linear_features, conv2d_channels, kernel_size,
                         learn_recurrent, threshold, spike_grad, reset_mechanism,
                         learn_threshold, state_quant)  # fmt: skip
        self.parameter("alpha", alpha, learn_alpha)
        self.parameter("beta", beta, learn_beta)

    def charge(self, x, spk, syn, mem):
        syn = self.alpha.clamp(0, 1) * syn + x + self.feedback(spk)
        return syn, self.beta.clamp(0, 1) * mem + syn


def truncated_bptt(neuron, x_seq, k, state=()):
    """Run ``neuron.multi_step`` on chunks of ``k`` steps, detaching the state between chunks.

    Backpropagation through time then reaches back at most ``k`` steps, so gradients cannot
    explode or vanish over the whole sequence (Williams & Peng 1990); the forward values are
    unchanged. This call keeps every window's graph (one backward for all of them); the memory
    saving of truncated BPTT comes from backpropagating each window's loss before running the
    next one, so that the graph held spans ``k`` steps, not ``T``. Works for every spikelearn
    neuron (``state`` is its initial state, in the neuron's ``state`` order).

    Returns the outputs of ``multi_step`` over all ``T`` steps, concatenated on time.
    """
    if not isinstance(neuron, Neuron):
        raise TypeError(f"neuron must be a spikelearn neuron, got {type(neuron).__name__}")
    check_sequence("x_seq", x_seq)
    k = check_int("k", k, low=1)
    outputs = neuron.outputs()
    chunks = []
    for chunk in x_seq.split(k):
        out = neuron.multi_step(chunk, *state)
        chunks.append(out)
        # the last step's state, detached, as a copy rather than a view into this window's
        # output: the next window starts from the same values in fresh memory
        state = [out[outputs.index(name)][-1].detach().clone() for name in neuron.state]
    return tuple(torch.cat(parts) for parts in zip(*chunks, strict=True))


__all__ = ["Recurrent", "RLIF", "RSynaptic", "truncated_bptt", "RESETS"]
