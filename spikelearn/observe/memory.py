"""How much memory backpropagation needs: the bytes autograd saves for the backward pass.

Backpropagation through time keeps every tensor the backward pass will need: for a network run
over ``T`` steps that is every step's activations, so the memory grows linearly in ``T``
(truncated BPTT, online learning and checkpointing cut it). :func:`saved_bytes` counts those
tensors exactly, with ``torch.autograd.graph.saved_tensors_hooks``: every tensor autograd packs
for backward passes through the hook once, and its bytes are ``numel·element_size``. The count is
exact by construction (it is what autograd stores), not a measurement of the process's memory; a
tensor saved twice (by two operations) is counted twice, as autograd holds a reference for each.
"""

import torch


def saved_bytes(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` and return the bytes autograd saved for backward meanwhile.

    Example: ``saved_bytes(lambda: net(x))`` is the memory the graph of ``net(x)`` holds until
    ``backward()`` frees it.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        fn(*args, **kwargs)
    return total


__all__ = ["saved_bytes"]
