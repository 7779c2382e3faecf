"""Fused multi-step kernels: a neuron's whole sequence as one autograd node, same numbers.

``Neuron.multi_step`` runs ``step`` in a Python loop, building one small autograd graph per time
step. For the neurons where it pays, a kernel here does the same arithmetic, operation for
operation (so spikes and membranes are bit-identical to the loop), as one
``torch.autograd.Function`` with a hand-written backward pass (backpropagation through time). A
neuron class names its kernel explicitly (``kernel = _fused.lif``); a kernel returns ``None`` for
a configuration it does not cover and the step loop runs instead. ``tests/test_neurons.py`` and
``tests/test_recurrent.py`` check values and gradients against the loop;
``benchmarks/README.md`` has the speed.
"""

import torch

from .surrogate import Surrogate


def _covered(neuron):
    """The kernels compute the Heaviside spike and its surrogate derivative themselves, and no
    state quantiser: any other spike function or a ``state_quant`` runs the step loop."""
    return isinstance(neuron.spike_grad, Surrogate) and neuron.state_quant is None


def lif(neuron, x_seq, mem):
    """:class:`~spikelearn.neurons.LIF` (and IF): every reset but ``"zero_after"``."""
    if neuron.reset_mechanism not in ("subtract", "zero_before", "none") or not _covered(neuron):
        return None
    beta = neuron.beta.clamp(0, 1)
    return _FusedLIF.apply(
        x_seq, mem, beta, neuron.threshold, neuron.spike_grad, neuron.reset_mechanism
    )


def rlif(neuron, x_seq, spk, mem):
    """:class:`~spikelearn.recurrent.RLIF` with linear or one-to-one feedback: every reset but
    ``"zero_before"``."""
    linear = isinstance(neuron.recurrent, torch.nn.Linear)
    if neuron.reset_mechanism == "zero_before" or not (linear or neuron.recurrent is None):
        return None
    if not _covered(neuron):
        return None
    weight, bias = (neuron.recurrent.weight, neuron.recurrent.bias) if linear else (None, None)
    beta = neuron.beta.clamp(0, 1)
    return _FusedRLIF.apply(x_seq, spk, mem, beta, neuron.threshold, weight, bias, neuron.V,
                            neuron.spike_grad, neuron.reset_mechanism)  # fmt: skip


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
            if reset_mechanism == "zero_before":
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
        zero_reset, subtract = (
            ctx.reset_mechanism == "zero_before",
            ctx.reset_mechanism == "subtract",
        )
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
            elif reset == "zero_after":
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
        zero = ctx.reset == "zero_after"
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
