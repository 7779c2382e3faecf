"""Spiking neurons in snnTorch's conventions: ``spk, mem = lif(cur, mem)``.

Leaky integrate-and-fire (LIF), discretised with one Euler step per time step
(Eshraghian et al. 2023, "Training Spiking Neural Networks Using Lessons From Deep Learning",
Proc. IEEE, arXiv 2109.12894)::

    r[t] = H(u[t-1] - V_th)                     reset from the previous step, detached
    u[t] = β·u[t-1] + x[t] - r[t]·V_th          reset_mechanism="subtract"
    u[t] = β·u[t-1]·(1 - r[t]) + x[t]           reset_mechanism="zero"
    o[t] = H(u[t] - V_th)                       spike, with a surrogate gradient in backward

Every neuron has two calls:

* ``neuron(x, mem)`` - one time step, returns ``(spk, mem)`` exactly like ``snntorch.Leaky``;
* ``neuron.multi_step(x_seq)`` - a whole ``[T, B, ...]`` sequence, returns ``(spk_seq, mem_seq)``.

With the same parameters the spikes and membrane traces equal snnTorch's bit for bit
(``tests/test_neurons.py`` checks it).
"""

import torch
from torch import nn

from .._checks import (
    check_broadcast,
    check_choice,
    check_positive,
    check_probability,
    check_same_shape,
    check_sequence,
    check_tensor,
)
from . import surrogate as _surrogate

RESETS = ("subtract", "zero", "none")


def _param(module, name, value, learn):
    """Register ``value`` as a trainable parameter or as a (saved) buffer."""
    value = torch.as_tensor(value, dtype=torch.get_default_dtype()).clone()
    if learn:
        setattr(module, name, nn.Parameter(value))
    else:
        module.register_buffer(name, value)


def _lif_setup(module, beta, threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold):
    """The checked ``beta``, ``threshold``, ``spike_grad`` (default ``atan``) and
    ``reset_mechanism`` every LIF-like neuron has (LIF, the recurrent and the adaptive ones)."""
    _param(module, "beta", check_probability("beta", beta), learn_beta)
    _param(module, "threshold", check_positive("threshold", threshold), learn_threshold)
    module.spike_grad = spike_grad if spike_grad is not None else _surrogate.atan()
    if not callable(module.spike_grad):
        raise TypeError(f"spike_grad must be callable, got {type(spike_grad).__name__}")
    module.reset_mechanism = check_choice("reset_mechanism", reset_mechanism, RESETS)


def _step_loop(step, x_seq, state, returns_spikes_as_state=False):
    """Call ``outputs = step(x, *state)`` for each step of ``x_seq``; stack every output over time.

    The next state is ``outputs[1:]`` (``(spk, mem) = lif(x, mem)``), or all of ``outputs`` for
    neurons that take their own spikes back (``(spk, mem) = rlif(x, spk, mem)``)."""
    steps = []
    for x in x_seq:
        outputs = step(x, *state)
        state = outputs if returns_spikes_as_state else outputs[1:]
        steps.append(outputs)
    return tuple(torch.stack(s) for s in zip(*steps, strict=True))


class LIF(nn.Module):
    """First-order leaky integrate-and-fire neuron (snnTorch's ``Leaky``).

    Args:
        beta: membrane decay per step, in [0, 1] (``β = exp(-Δt/τ)``); float or per-neuron tensor.
        threshold: firing threshold ``V_th > 0``.
        spike_grad: surrogate gradient (default ``surrogate.atan(alpha=2)``, as in snnTorch).
        reset_mechanism: ``"subtract"`` (default), ``"zero"`` or ``"none"``.
        learn_beta, learn_threshold: make β / V_th trainable parameters.
    """

    def __init__(
        self,
        beta,
        threshold=1.0,
        spike_grad=None,
        reset_mechanism="subtract",
        learn_beta=False,
        learn_threshold=False,
    ):
        super().__init__()
        _lif_setup(self, beta, threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold)

    def _check_parameters(self, x, x_name, names=("beta", "threshold")):
        """Per-neuron parameters must broadcast to one time step's shape ``x``."""
        for name in names:
            check_broadcast(name, getattr(self, name), x_name, x)

    def _reset(self, mem):
        """r[t] = H(u[t-1] - V_th), detached: the reset carries no gradient (snnTorch's default)."""
        return (mem - self.threshold > 0).to(mem.dtype).detach()

    def _integrate(self, x, mem, reset):
        beta = self.beta.clamp(0, 1)
        if self.reset_mechanism == "subtract":
            return beta * mem + x - reset * self.threshold
        if self.reset_mechanism == "zero":
            return beta * mem * (1 - reset) + x
        return beta * mem + x

    def forward(self, input_, mem=None):
        """One time step: returns ``(spk, mem)``. ``mem=None`` starts from rest (zeros)."""
        check_tensor("input_", input_)
        mem = (
            torch.zeros_like(input_)
            if mem is None
            else check_same_shape("mem", mem, "input_", input_)
        )
        self._check_parameters(input_, "input_")
        mem = self._integrate(input_, mem, self._reset(mem))
        return self.spike_grad(mem - self.threshold), mem

    def multi_step(self, x_seq, mem=None):
        """Run a whole ``[T, B, ...]`` input sequence (``T >= 1``); returns ``(spk_seq, mem_seq)``, both ``[T, B, ...]``.

        With a spikelearn surrogate this is one fused operation (:class:`_FusedLIF`): the same
        spikes and membranes as calling ``self(x, mem)`` step by step, bit for bit, and the same
        gradients, but without an autograd graph per step. Any other ``spike_grad`` callable (for
        example one of snnTorch's surrogates), or a subclass that changes ``_integrate`` (such as
        ``quant.QuantLIF``), runs the plain step loop.
        """
        check_sequence("x_seq", x_seq)
        self._check_parameters(x_seq[0], "x_seq[0]")
        fusable = type(self)._integrate is LIF._integrate
        if fusable and isinstance(self.spike_grad, _surrogate.Surrogate):
            mem = torch.zeros_like(x_seq[0]) if mem is None else mem
            check_same_shape("mem", mem, "x_seq[0]", x_seq[0])
            beta = self.beta.clamp(0, 1)
            return _FusedLIF.apply(
                x_seq, mem, beta, self.threshold, self.spike_grad, self.reset_mechanism
            )
        return _step_loop(self, x_seq, (mem,))

    def extra_repr(self):
        return (
            f"beta={_show(self.beta)}, threshold={_show(self.threshold)}, "
            f"reset={self.reset_mechanism!r}, spike_grad={self.spike_grad!r}"
        )


def _show(value):
    """A scalar as ``0.9``, a per-neuron tensor as ``tensor(shape)`` (for ``repr``)."""
    return f"{value.item():.4g}" if value.numel() == 1 else f"tensor{tuple(value.shape)}"


class _FusedLIF(torch.autograd.Function):
    """LIF over a whole sequence as one autograd node: a forward loop with no per-step graph and
    backpropagation through time (BPTT) as one backward loop.

    Forward: the arithmetic of :meth:`LIF.forward`, operation for operation (so the results are
    bit-identical), written in place into the output buffers one time step at a time::

        r[t] = o[t-1]     u[t] = β·u[t-1] + x[t] - r[t]·V_th     o[t] = H(u[t] - V_th)

    Backward, with ``g_o``/``g_u`` the gradients arriving at the outputs and ``σ'`` the surrogate
    derivative; the reset is detached, so ``∂u[t+1]/∂u[t] = β`` (``β·(1 - r[t+1])`` for the zero
    reset)::

        G[t] = g_u[t] + g_o[t]·σ'(u[t] - V_th) + ∂u[t+1]/∂u[t] · G[t+1]
        ∂L/∂x[t] = G[t]      ∂L/∂β = Σ_t G[t]·u[t-1]      ∂L/∂V_th = -Σ_t (g_o[t]·σ'[t] + G[t]·r[t])

    Working on one ``[B, ...]`` time slice at a time keeps the data in cache; that and skipping
    autograd's per-step bookkeeping is where the speed comes from (``benchmarks/README.md``).
    """

    @staticmethod
    def forward(ctx, x_seq, mem, beta, threshold, surrogate, reset_mechanism):
        ctx.set_materialize_grads(False)
        mems, spikes = torch.empty_like(x_seq), torch.empty_like(x_seq)
        # r·V_th is exact for r in {0, 1}, so u.sub_(r, alpha=V_th) rounds like u - (r·V_th)
        scalar_thr = threshold.numel() == 1
        thr = threshold.item() if scalar_thr else threshold
        reset = (mem - threshold > 0).to(mem.dtype)
        mem0 = mem
        for t in range(x_seq.shape[0]):
            u = torch.mul(beta, mem, out=mems[t])
            if reset_mechanism == "zero":
                u.mul_(1 - reset)
            u.add_(x_seq[t])
            if reset_mechanism == "subtract":
                u.sub_(reset, alpha=thr) if scalar_thr else u.sub_(reset * thr)
            reset = torch.sub(u, thr, out=spikes[t]).gt_(0)  # o[t] = H(u[t] - V_th) as 1.0/0.0
            mem = u
        ctx.save_for_backward(mem0, mems, spikes, beta, threshold)
        ctx.surrogate, ctx.reset_mechanism = surrogate, reset_mechanism
        return spikes, mems

    @staticmethod
    def backward(ctx, grad_spk, grad_mem):
        mem0, mems, spikes, beta, threshold = ctx.saved_tensors
        zero_reset, subtract = ctx.reset_mechanism == "zero", ctx.reset_mechanism == "subtract"
        need_beta, need_thr = ctx.needs_input_grad[2], ctx.needs_input_grad[3]
        r0 = (mem0 - threshold > 0).to(mems.dtype)
        grads = torch.empty_like(mems)  # G[t] = ∂L/∂u[t] = ∂L/∂x[t]
        d_beta = torch.zeros_like(mems[0]) if need_beta else None
        d_thr = torch.zeros_like(mems[0]) if need_thr else None
        steps = mems.shape[0]
        for t in range(steps - 1, -1, -1):
            g = grads[t]
            if grad_spk is not None:  # g_o[t]·σ'(u[t] - V_th)
                torch.mul(grad_spk[t], ctx.surrogate.derivative(mems[t] - threshold), out=g)
                if need_thr:
                    d_thr.sub_(g)
                if grad_mem is not None:
                    g.add_(grad_mem[t])
            elif grad_mem is not None:
                g.copy_(grad_mem[t])
            else:
                g.zero_()
            if t < steps - 1:  # ∂u[t+1]/∂u[t] = β, or β·(1 - r[t+1]) with r[t+1] = o[t]
                g.addcmul_(beta * (1 - spikes[t]) if zero_reset else beta, grads[t + 1])
            reset = spikes[t - 1] if t > 0 else r0
            if need_beta:
                prev = mems[t - 1] if t > 0 else mem0
                d_beta.addcmul_(g, prev * (1 - reset) if zero_reset else prev)
            if need_thr and subtract:
                d_thr.addcmul_(g, reset, value=-1)
        grad_mem0 = None
        if ctx.needs_input_grad[1]:
            grad_mem0 = ((beta * (1 - r0) if zero_reset else beta) * grads[0]).sum_to_size(
                mem0.shape
            )
        return (
            grads if ctx.needs_input_grad[0] else None,
            grad_mem0,
            d_beta.sum_to_size(beta.shape) if need_beta else None,
            d_thr.sum_to_size(threshold.shape) if need_thr else None,
            None,
            None,
        )


class IF(LIF):
    """Integrate-and-fire neuron: an LIF without leak (β = 1), ``u[t] = u[t-1] + x[t] - r[t]·V_th``."""

    def __init__(
        self, threshold=1.0, spike_grad=None, reset_mechanism="subtract", learn_threshold=False
    ):
        super().__init__(1.0, threshold, spike_grad, reset_mechanism, False, learn_threshold)


class Synaptic(LIF):
    """Second-order LIF with a synaptic current (snnTorch's ``Synaptic``)::

        i[t] = α·i[t-1] + x[t]
        u[t] = β·u[t-1] + i[t] - r[t]·V_th          reset_mechanism="subtract"
        u[t] = (β·u[t-1] + i[t])·(1 - r[t])         reset_mechanism="zero" (snnTorch's Synaptic rule)

    Args:
        alpha: synaptic current decay per step, in [0, 1]; other args as :class:`LIF`.
    """

    def __init__(
        self,
        alpha,
        beta,
        threshold=1.0,
        spike_grad=None,
        reset_mechanism="subtract",
        learn_alpha=False,
        learn_beta=False,
        learn_threshold=False,
    ):
        super().__init__(beta, threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold)
        _param(self, "alpha", check_probability("alpha", alpha), learn_alpha)

    def forward(self, input_, syn=None, mem=None):
        """One time step: returns ``(spk, syn, mem)``."""
        check_tensor("input_", input_)
        syn = (
            torch.zeros_like(input_)
            if syn is None
            else check_same_shape("syn", syn, "input_", input_)
        )
        mem = (
            torch.zeros_like(input_)
            if mem is None
            else check_same_shape("mem", mem, "input_", input_)
        )
        self._check_parameters(input_, "input_", ("alpha", "beta", "threshold"))
        reset = self._reset(mem)
        syn = self.alpha.clamp(0, 1) * syn + input_
        mem = self.beta.clamp(0, 1) * mem + syn
        if self.reset_mechanism == "subtract":
            mem = mem - reset * self.threshold
        elif self.reset_mechanism == "zero":
            mem = mem * (1 - reset)
        return self.spike_grad(mem - self.threshold), syn, mem

    def multi_step(self, x_seq, syn=None, mem=None):
        """Run a ``[T, B, ...]`` sequence (``T >= 1``); returns ``(spk_seq, syn_seq, mem_seq)``."""
        check_sequence("x_seq", x_seq)
        return _step_loop(self, x_seq, (syn, mem))


__all__ = ["LIF", "IF", "Synaptic", "RESETS"]
