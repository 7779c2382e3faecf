"""Lighter backpropagation through time: the same gradients with less memory.

BPTT keeps, for every time step, what the backward pass will need: the input of every weight
layer (spikes), every neuron's membrane and spikes, every normalisation's input. The memory
grows linearly in ``T`` (SpikingJelly's documentation: over 96 % of peak training memory is
such cached features). Two remedies change *where* the numbers are kept, never the numbers, so
the gradients are the same as plain BPTT's:

**Checkpointing through time** (Chen et al. 2016, "Training Deep Nets with Sublinear Memory
Cost", arXiv 1604.06174; Gruslys et al. 2016, "Memory-Efficient Backpropagation Through Time",
NeurIPS). Run the network over segments of ``k`` steps, keeping only each segment's input and
the neurons' state where it starts; in the backward pass recompute one segment's graph at a
time, then backpropagate through it::

    kept through the forward pass:  the input + (T/k)·(one step of every neuron's state)
    alive during the backward pass: one segment's graph, k steps
    cost:                           one more forward pass

:func:`checkpoint_through_time` does it with ``torch.utils.checkpoint`` (its re-entrant form,
whose ``save_for_backward`` of the segment's inputs is what autograd keeps, so
``memory.saved_bytes`` counts it exactly). Exact only when the layers treat time steps alone:
a batch norm in training mode computes its statistics over all ``T`` steps, which a segment
does not see, so it is refused (use ``model.eval()``, ``norm.fold_batchnorm`` or
``norm="none"``).

**1-bit spikes.** A saved tensor whose every value is 0 or 1 (spikes, the input of every layer
after a neuron, a neuron's own spikes) is stored as bits, 8 to a byte, and unpacked in the
backward pass: 32 times smaller than float32, and exact because 0 and 1 come back as they went.
:class:`one_bit_spikes` does it for everything saved inside its ``with`` block
(``torch.autograd.graph.saved_tensors_hooks``); membranes and currents stay as they are. It
shrinks the kept graph, not necessarily the process: on a CPU the peak memory is set by what else
is alive (membranes, currents, gradients, the unpacked copies in backward) and measured no lower
(``benchmarks/README.md``, ``bench_memory_wall.py``); checkpointing lowers both.
"""

import contextlib

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .._checks import check_int, check_sequence
from ..cells.neuron import Neuron
from ..networks import walk
from ..networks.layers import Spiking

# ---- checkpointing through time ------------------------------------------------------------


class _Resumed(nn.Module):
    """Stands in for a neuron while a segment runs: starts it from ``state`` (its
    :attr:`~spikelearn.cells.neuron.Neuron.state`, ``()`` for rest) and keeps the state its last
    step ends in (``final``, in the same order)."""

    def __init__(self, neuron, state):
        super().__init__()
        self.neuron, self.state, self.final = neuron, state, None

    def multi_step(self, x_seq):
        outputs = self.neuron.multi_step(x_seq, *self.state)
        named = dict(zip(self.neuron.outputs(), outputs, strict=True))  # spk, then the state
        self.final = tuple(named[name][-1] for name in self.neuron.state)
        return outputs


@contextlib.contextmanager
def _resumed(sites, states):
    """Every neuron at ``sites`` runs from its entry of ``states`` while inside."""
    stand_ins = [_Resumed(site.layer, state) for site, state in zip(sites, states, strict=True)]
    try:
        for site, stand_in in zip(sites, stand_ins, strict=True):
            walk.replace(site, stand_in)
        yield stand_ins
    finally:
        for site in sites:
            walk.replace(site, site.layer)


def _check_resumable(model):
    """The neurons' sites in ``model``; a named error for what a segment cannot resume."""
    for site in walk.walk(model):
        if site.kind == "norm" and site.layer.training:
            raise ValueError(
                f"model has a batch norm in training mode ({site.name}: "
                f"{type(site.layer).__name__}), whose statistics span all T steps: checkpointing "
                f"through time would change them. Use model.eval(), norm.fold_batchnorm(model) "
                f"or a model with norm='none'"
            )
    sites = walk.neurons(model)
    for site in sites:  # the core's neurons say what their state is: a segment resumes it
        if not isinstance(site.layer, Neuron) or not isinstance(site.wrapper, Spiking):
            raise TypeError(
                f"checkpoint_through_time resumes neurons of the neuron core "
                f"(spikelearn.neuron.Neuron) inside layers.Spiking, whose state it can carry; "
                f"got {type(site.layer).__name__} at {site.name!r}"
            )
    return sites


def checkpoint_through_time(model, x_seq, segment):
    """``model(x_seq)`` computed ``segment`` steps at a time, keeping for backward only each
    segment's input and the neurons' state where it starts; the same outputs and, after
    ``backward()``, the same gradients as ``model(x_seq)``.

    Args:
        model: a network of ``Spiking`` layers of neuron-core neurons (any state: LIF, Synaptic,
            ALIF, RLIF, ...; ``[T, B, ...]`` in, ``[T, B, ...]`` or ``(spk, mem)`` out) whose
            other layers treat time steps alone (no batch norm in training).
        x_seq: the input ``[T, B, ...]``.
        segment: steps per segment ``k`` (``>= 1``; ``k >= T`` is one segment).

    Use ``loss.backward()`` (re-entrant checkpointing does not support ``torch.autograd.grad``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_sequence("x_seq", x_seq)
    segment = check_int("segment", segment, low=1)
    sites = _check_resumable(model)
    # one input that needs a gradient, so the first segment's output (whose inputs may need
    # none) still reaches the parameters in backward (a known need of re-entrant checkpointing)
    anchor = torch.zeros((), requires_grad=True)
    layout = {}

    sizes = [len(site.layer.state) for site in sites]

    def run(x, _anchor, *flat):  # flat: every neuron's state, one after the other
        grouped, at = [], 0
        for size in sizes:
            grouped.append(flat[at : at + size])
            at += size
        with _resumed(sites, grouped) as stand_ins:
            out = model(x)
        layout["tuple"] = isinstance(out, tuple | list)
        outs = tuple(out) if layout["tuple"] else (out,)
        layout["outputs"] = len(outs)
        return (*outs, *(value for s in stand_ins for value in s.final))

    states, pieces = [None] * sum(sizes), []  # None: the first segment starts from rest
    for start in range(0, x_seq.shape[0], segment):
        result = checkpoint(run, x_seq[start : start + segment], anchor, *states,
                            use_reentrant=True)  # fmt: skip
        pieces.append(result[: layout["outputs"]])
        states = result[layout["outputs"] :]
    outs = tuple(torch.cat(parts) for parts in zip(*pieces, strict=True))
    return outs if layout["tuple"] else outs[0]


# ---- 1-bit storage of saved spikes ---------------------------------------------------------

_SHIFTS = torch.arange(7, -1, -1, dtype=torch.uint8)  # bit 7 first


def pack_bits(x):
    """A tensor of 0s and 1s as ``(bits, shape, dtype)``: ``bits`` holds 8 values per byte."""
    flat = x.detach().reshape(-1).to(torch.uint8)
    flat = torch.nn.functional.pad(flat, (0, -flat.numel() % 8)).view(-1, 8)
    bits = (flat << _SHIFTS.to(flat.device)).sum(1, dtype=torch.uint8)
    return bits, x.shape, x.dtype


def unpack_bits(packed):
    """The tensor :func:`pack_bits` packed, value for value."""
    bits, shape, dtype = packed
    values = (bits[:, None] >> _SHIFTS.to(bits.device)) & 1
    return values.reshape(-1)[: shape.numel()].to(dtype).reshape(shape)


def _is_binary(x):
    return x.is_floating_point() and x.numel() > 0 and bool(((x == 0) | (x == 1)).all())


def _pack(x):
    return pack_bits(x) if _is_binary(x) else x


def _unpack(packed):
    return unpack_bits(packed) if isinstance(packed, tuple) else packed


class one_bit_spikes(torch.autograd.graph.saved_tensors_hooks):  # noqa: N801 - used as `with`
    """Inside ``with one_bit_spikes():`` every saved tensor holding only 0s and 1s is kept as
    bits until the backward pass; everything else as it is. Exact: the gradients do not change.

    Example::

        with memory_saving.one_bit_spikes():
            loss = loss_fn(net(x_seq), y)
        loss.backward()                       # the packed spikes are unpacked as needed
    """

    def __init__(self):
        super().__init__(_pack, _unpack)


__all__ = ["checkpoint_through_time", "one_bit_spikes", "pack_bits", "unpack_bits"]
