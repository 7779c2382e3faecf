"""Gradient checkpointing of BPTT: keep less of the unrolled forward pass, recompute it in backward.

BPTT stores, for every layer and every time step, what the backward pass needs: each
convolution's input spikes, each batch norm's input, each neuron's membrane. That grows linearly
in ``T`` (METHODS §10). A spikelearn network runs whole sequences layer by layer (``[T, B, ...]``
through each layer in turn), so the network is cut into ``segments`` runs of consecutive layers
(``torch.utils.checkpoint``, non-reentrant, which works under ``DistributedDataParallel``): only
each segment's input sequence is kept; in the backward pass the segment's forward over all ``T``
steps is run again to rebuild the rest. Memory ~ the segment boundaries plus one segment's
inside, for about one more forward pass of compute; the gradients are the same (exactly, up to
float summation order, since the recomputation repeats the same operations).

Why segments of layers and not chunks of time steps: tdBN and batch norm through time take their
statistics over all ``T`` steps at once, so a network with them cannot be run a few steps at a
time without changing what it computes. Chunking in time is exact only without batch statistics.

A recomputed batch norm must not update its running statistics a second time: they are saved
before the recomputation and put back after it.
"""

import math

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from spikelearn import walk


def _running_buffers(modules):
    return [
        b
        for m in modules
        for sub in m.modules()
        if walk.kind(sub) == "norm"
        for b in (sub.running_mean, sub.running_var, getattr(sub, "num_batches_tracked", None))
        if b is not None
    ]


def _segment(modules):
    """``run(x)``: the layers in order; from its second call on (the recomputation in backward)
    the batch norms' running statistics are restored after it."""
    calls = []

    def run(x):
        calls.append(None)
        saved = [b.clone() for b in _running_buffers(modules)] if len(calls) > 1 else None
        try:
            for m in modules:
                x = m(x)
            return x
        finally:  # also when torch stops the recomputation early (it raises once it has enough)
            if saved is not None:
                with torch.no_grad():
                    for b, s in zip(_running_buffers(modules), saved, strict=True):
                        b.copy_(s)

    return run


class Recomputed(nn.Module):
    """Run an ``nn.Sequential`` network in ``segments`` checkpointed runs of its layers (default
    ``round(sqrt(layers))``); the last segment is not recomputed (its backward comes first).

    It holds the network as ``net``: save and load ``net``'s state dict (the keys are the
    network's own).
    """

    def __init__(self, net, segments=None):
        super().__init__()
        if not isinstance(net, nn.Sequential):
            raise TypeError(
                f"gradient checkpointing needs an nn.Sequential, got {type(net).__name__}"
            )
        n = len(net)
        segments = max(1, round(math.sqrt(n))) if segments is None else int(segments)
        if not 1 <= segments <= n:
            raise ValueError(f"segments must be in [1, {n}] (the network's layers), got {segments}")
        self.net = net
        bounds = [round(i * n / segments) for i in range(segments + 1)]
        self.groups = [list(net)[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    def forward(self, x):
        *recomputed, last = self.groups
        for group in recomputed:
            if torch.is_grad_enabled():
                x = checkpoint(_segment(group), x, use_reentrant=False)
            else:
                x = _segment(group)(x)
        for m in last:
            x = m(x)
        return x

    def extra_repr(self):
        return f"segments={len(self.groups)}"


__all__ = ["Recomputed"]
