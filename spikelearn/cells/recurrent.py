"""Recurrent spiking neurons in snnTorch's conventions: ``spk, mem = rlif(cur, spk, mem)``.

A recurrent neuron feeds its own spikes of the previous step back in as extra input current
(snnTorch's ``RLeaky`` and ``RSynaptic``; Eshraghian et al. 2023, arXiv 2109.12894)::

    r[t] = H(u[t-1] - V_th)                          reset from the previous step, detached
    u[t] = β·u[t-1] + x[t] + R(o[t-1]) - r[t]·V_th     reset_mechanism="subtract"
    u[t] = (β·u[t-1] + x[t] + R(o[t-1]))·(1 - r[t])    reset_mechanism="zero"
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
loop as one autograd node (:class:`_FusedRLIF`, no per-step graph); in its backward pass the
weight gradient ``∂L/∂W = Σ_t g[t]ᵀ·o[t-1]`` is again independent across steps and is one matmul
over all ``T·B`` rows. ``RSynaptic`` and conv feedback run the plain step loop.

With the same parameters the spikes and membranes equal snnTorch's bit for bit
(``tests/test_recurrent.py``).
"""

import torch
from torch import nn

from .._checks import (
    check_int,
    check_probability,
    check_same_shape,
    check_tensor,
)
from . import surrogate as _surrogate
from .neurons import RESETS, _lif_setup, _param, _step_loop


def _feedback(module, V, all_to_all, linear_features, conv2d_channels, kernel_size, learn):
    """Set ``module.recurrent`` (all-to-all) or ``module.V`` (one-to-one), as snnTorch does."""
    if all_to_all:
        if (linear_features is None) == (conv2d_channels is None or kernel_size is None):
            raise ValueError(
                "all_to_all=True needs either linear_features or both conv2d_channels and "
                f"kernel_size, got linear_features={linear_features!r}, "
                f"conv2d_channels={conv2d_channels!r}, kernel_size={kernel_size!r}"
            )
        if linear_features is not None:
            n = check_int("linear_features", linear_features, low=1)
            module.recurrent = nn.Linear(n, n)
        else:
            c, k = (
                check_int("conv2d_channels", conv2d_channels, 1),
                check_int("kernel_size", kernel_size, 1),
            )
            module.recurrent = nn.Conv2d(c, c, k, padding=k // 2)
        module.recurrent.requires_grad_(bool(learn))
        module.V = None
    else:
        if linear_features is not None or conv2d_channels is not None or kernel_size is not None:
            raise ValueError(
                "all_to_all=False uses the weight V; do not pass linear_features, "
                "conv2d_channels or kernel_size"
            )
        module.recurrent = None
        _param(module, "V", V, learn)


class _Recurrent(nn.Module):
    """Shared parts of :class:`RLIF` and :class:`RSynaptic`: feedback, state checks, reset."""

    def feedback(self, spk):
        """``R(o)``: the current the previous step's spikes feed back."""
        return self.recurrent(spk) if self.recurrent is not None else spk * self.V

    def _state(self, name, value, input_):
        if value is None:
            return torch.zeros_like(input_)
        check_tensor(name, value)
        return check_same_shape(name, value, "input_", input_)

    def _reset_and_fire(self, base, mem):
        reset = (mem - self.threshold > 0).to(mem.dtype).detach()
        if self.reset_mechanism == "subtract":
            base = base - reset * self.threshold
        elif self.reset_mechanism == "zero":
            base = base - reset * base
        return self.spike_grad(base - self.threshold), base

    def extra_repr(self):
        kind = "one-to-one" if self.recurrent is None else "all-to-all"
        return f"{kind}, reset={self.reset_mechanism!r}, spike_grad={self.spike_grad!r}"


class RLIF(_Recurrent):
    """Recurrent leaky integrate-and-fire neuron (snnTorch's ``RLeaky``).

    Args:
        beta: membrane decay per step in [0, 1]; float or per-neuron tensor.
        V: one-to-one feedback weight (used when ``all_to_all=False``).
        all_to_all: all-to-all feedback (``nn.Linear``/``nn.Conv2d``) instead of one-to-one.
        linear_features: number of neurons, for all-to-all linear feedback.
        conv2d_channels, kernel_size: for all-to-all convolutional feedback.
        threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold: as ``neurons.LIF``.
        learn_recurrent: train the feedback weights (default True, as snnTorch).
    """

    def __init__(self, beta, V=1.0, all_to_all=True, linear_features=None, conv2d_channels=None,
                 kernel_size=None, threshold=1.0, spike_grad=None, reset_mechanism="subtract",
                 learn_beta=False, learn_threshold=False, learn_recurrent=True):  # fmt: skip
        super().__init__()
        _lif_setup(self, beta, threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold)
        _feedback(
            self, V, all_to_all, linear_features, conv2d_channels, kernel_size, learn_recurrent
        )

    def forward(self, input_, spk=None, mem=None):
        """One step: ``spk, mem = rlif(cur, spk, mem)``; ``None`` states start from rest."""
        check_tensor("input_", input_)
        spk, mem = self._state("spk", spk, input_), self._state("mem", mem, input_)
        base = self.beta.clamp(0, 1) * mem + input_ + self.feedback(spk)
        return self._reset_and_fire(base, mem)

    def multi_step(self, x_seq, spk=None, mem=None):
        """Run ``[T, B, ...]`` currents; returns ``(spk_seq, mem_seq)``. Fused (one autograd
        node, same numbers as the step loop) for linear or one-to-one feedback and a spikelearn
        surrogate; a step loop otherwise."""
        check_tensor("x_seq", x_seq, min_dim=2)
        spk = self._state("spk", spk, x_seq[0])
        mem = self._state("mem", mem, x_seq[0])
        linear = isinstance(self.recurrent, nn.Linear)
        if isinstance(self.spike_grad, _surrogate.Surrogate) and (linear or self.recurrent is None):
            weight, bias = (self.recurrent.weight, self.recurrent.bias) if linear else (None, None)
            return _FusedRLIF.apply(x_seq, spk, mem, self.beta.clamp(0, 1), self.threshold,
                                    weight, bias, self.V, self.spike_grad, self.reset_mechanism)  # fmt: skip
        return _step_loop(self, x_seq, (spk, mem), returns_spikes_as_state=True)


class _FusedRLIF(torch.autograd.Function):
    """Recurrent LIF over a sequence as one autograd node. Forward: :meth:`RLIF.forward`'s
    arithmetic, operation for operation, in place. Backward (BPTT), with ``h[t] = ∂L/∂(the
    pre-reset sum at t)`` (``= g[t]·(1 - r[t])`` for the zero reset, ``g[t]`` otherwise)::

        ∂L/∂o[t] = g_o[t] + Rᵀ(h[t+1])
        g[t] = g_u[t] + σ'(u[t] - V_th)·∂L/∂o[t] + β·h[t+1]
        ∂L/∂x[t] = h[t]    ∂L/∂W = Σ_t h[t]ᵀ·o[t-1]  (one matmul)    ∂L/∂b = Σ_t h[t]
    """

    @staticmethod
    def forward(ctx, x_seq, spk0, mem0, beta, threshold, weight, bias, V, surrogate, reset):
        ctx.set_materialize_grads(False)
        mems, spikes = torch.empty_like(x_seq), torch.empty_like(x_seq)
        r = (mem0 - threshold > 0).to(mem0.dtype)
        spk, mem = spk0, mem0
        for t in range(x_seq.shape[0]):
            u = torch.mul(beta, mem, out=mems[t]).add_(x_seq[t])
            u.add_(torch.nn.functional.linear(spk, weight, bias) if V is None else spk * V)
            if reset == "subtract":
                u.sub_(r * threshold)
            elif reset == "zero":
                u.sub_(r * u)
            # a fresh (aligned) tensor for the next matmul: BLAS rounds differently on a view
            # into the middle of a buffer, and snnTorch multiplies fresh tensors
            spk = r = torch.sub(u, threshold).gt_(0)
            spikes[t] = spk
            mem = u
        ctx.save_for_backward(spk0, mem0, mems, spikes, beta, threshold, weight, V)
        ctx.surrogate, ctx.reset, ctx.has_bias = surrogate, reset, bias is not None
        return spikes, mems

    @staticmethod
    def backward(ctx, grad_spk, grad_mem):
        spk0, mem0, mems, spikes, beta, threshold, weight, V = ctx.saved_tensors
        zero = ctx.reset == "zero"
        r0 = (mem0 - threshold > 0).to(mems.dtype)
        prev_spk = torch.cat([spk0[None], spikes[:-1]])  # o[t-1], which is also r[t]
        resets = torch.cat([r0[None], spikes[:-1]])
        back = (lambda h: h @ weight) if V is None else (lambda h: h * V)  # Rᵀ
        need_thr = ctx.needs_input_grad[4]
        h_seq = torch.empty_like(mems)
        d_thr = torch.zeros_like(mems[0]) if need_thr else None
        last = mems.shape[0] - 1
        for t in range(last, -1, -1):
            g = h_seq[t]  # written in place: ∂L/∂o[t], then g[t], then h[t]
            if t < last:
                if V is None:
                    torch.matmul(h_seq[t + 1], weight, out=g)
                else:
                    torch.mul(h_seq[t + 1], V, out=g)
                if grad_spk is not None:
                    g.add_(grad_spk[t])
            elif grad_spk is not None:
                g.copy_(grad_spk[t])
            else:
                g.zero_()
            g.mul_(ctx.surrogate.derivative(mems[t] - threshold))  # one [B, ...] slice: in cache
            if need_thr:
                d_thr.sub_(g)
            if grad_mem is not None:
                g.add_(grad_mem[t])
            if t < last:
                g.addcmul_(beta, h_seq[t + 1])
            if need_thr and ctx.reset == "subtract":
                d_thr.addcmul_(g, resets[t], value=-1)
            if zero:
                g.mul_(1 - resets[t])
        prev_mem = torch.cat([mem0[None], mems[:-1]])
        need = ctx.needs_input_grad
        d_w = d_b = d_v = None
        if V is None and need[5]:
            d_w = h_seq.flatten(0, -2).T @ prev_spk.flatten(0, -2)
        if V is None and ctx.has_bias and need[6]:
            d_b = h_seq.flatten(0, -2).sum(0)
        if V is not None and need[7]:
            d_v = (h_seq * prev_spk).sum_to_size(V.shape)
        return (
            h_seq if need[0] else None,
            back(h_seq[0]) if need[1] else None,
            (beta * h_seq[0]).sum_to_size(mem0.shape) if need[2] else None,
            (h_seq * prev_mem).sum_to_size(beta.shape) if need[3] else None,
            d_thr.sum_to_size(threshold.shape) if need_thr else None,
            d_w, d_b, d_v, None, None,
        )  # fmt: skip


class RSynaptic(_Recurrent):
    """Recurrent second-order neuron (snnTorch's ``RSynaptic``): the feedback enters the current::

        i[t] = α·i[t-1] + x[t] + R(o[t-1])
        u[t] = β·u[t-1] + i[t] - r[t]·V_th          (zero reset: u[t]·(1 - r[t]); i is kept)

    ``spk, syn, mem = rsyn(cur, spk, syn, mem)``. Args as :class:`RLIF`, plus ``alpha`` (current
    decay per step in [0, 1]) and ``learn_alpha``. ``multi_step`` is a step loop.
    """

    def __init__(self, alpha, beta, V=1.0, all_to_all=True, linear_features=None,
                 conv2d_channels=None, kernel_size=None, threshold=1.0, spike_grad=None,
                 reset_mechanism="subtract", learn_alpha=False, learn_beta=False,
                 learn_threshold=False, learn_recurrent=True):  # fmt: skip
        super().__init__()
        _lif_setup(self, beta, threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold)
        _param(self, "alpha", check_probability("alpha", alpha), learn_alpha)
        _feedback(
            self, V, all_to_all, linear_features, conv2d_channels, kernel_size, learn_recurrent
        )

    def forward(self, input_, spk=None, syn=None, mem=None):
        """One step: returns ``(spk, syn, mem)``."""
        check_tensor("input_", input_)
        spk, syn = self._state("spk", spk, input_), self._state("syn", syn, input_)
        mem = self._state("mem", mem, input_)
        syn = self.alpha.clamp(0, 1) * syn + input_ + self.feedback(spk)
        spk, mem = self._reset_and_fire(self.beta.clamp(0, 1) * mem + syn, mem)
        return spk, syn, mem

    def multi_step(self, x_seq, spk=None, syn=None, mem=None):
        """Run ``[T, B, ...]`` currents; returns ``(spk_seq, syn_seq, mem_seq)``."""
        check_tensor("x_seq", x_seq, min_dim=2)
        return _step_loop(self, x_seq, (spk, syn, mem), returns_spikes_as_state=True)


def truncated_bptt(neuron, x_seq, k, state=()):
    """Run ``neuron.multi_step`` on chunks of ``k`` steps, detaching the state between chunks.

    Backpropagation through time then reaches back at most ``k`` steps, so gradients cannot
    explode or vanish over the whole sequence (Williams & Peng 1990); the forward values are
    unchanged. This call keeps every window's graph (one backward for all of them); the memory
    saving of truncated BPTT comes from backpropagating each window's loss before running the
    next one, so that the graph held spans ``k`` steps, not ``T``. Works for the
    neurons whose ``multi_step`` returns its own state arguments (``RLIF``: ``(spk, mem)``,
    ``RSynaptic``: ``(spk, syn, mem)``, ``adaptive.ALIF``: ``(spk, a, mem)``).

    Returns the outputs of ``multi_step`` over all ``T`` steps, concatenated on time.
    """
    check_tensor("x_seq", x_seq, min_dim=2)
    k = check_int("k", k, low=1)
    chunks = []
    for chunk in x_seq.split(k):
        out = neuron.multi_step(chunk, *state)
        chunks.append(out)
        state = tuple(s[-1].detach() for s in out)
    return tuple(torch.cat(parts) for parts in zip(*chunks, strict=True))


__all__ = ["RLIF", "RSynaptic", "truncated_bptt", "RESETS"]
