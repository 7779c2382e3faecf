"""How much memory backpropagation needs: the bytes autograd saves for the backward pass.

Backpropagation through time keeps every tensor the backward pass will need: for a network run
over ``T`` steps that is every step's activations, so the memory grows linearly in ``T``
(truncated BPTT, online learning and checkpointing cut it). :func:`saved_bytes` counts those
tensors exactly, with ``torch.autograd.graph.saved_tensors_hooks``: every tensor autograd packs
for backward passes through the hook once, and its bytes are ``numel·element_size``. The count is
exact by construction (it is what autograd stores), not a measurement of the process's memory; a
tensor saved twice (by two operations) is counted twice, as autograd holds a reference for each.

A storage that changes how saved tensors are kept is itself a pair of such hooks (for example
``memory_saving.one_bit_spikes``, which stores 0/1 tensors as bits). Only the innermost pair of
hooks runs, so pass it as ``hooks=``: the count is then of what its pack hook returns, the bytes
actually kept.
"""

import torch


def _nbytes(packed):
    """Bytes of the tensors in what a pack hook returned (a tensor, or a tuple holding some)."""
    if isinstance(packed, torch.Tensor):
        return packed.numel() * packed.element_size()
    if isinstance(packed, tuple | list):
        return sum(_nbytes(item) for item in packed)
    return 0


def saved_bytes(fn, *args, hooks=None, **kwargs):
    """Run ``fn(*args, **kwargs)`` and return the bytes autograd saved for backward meanwhile.

    Example: ``saved_bytes(lambda: net(x))`` is the memory the graph of ``net(x)`` holds until
    ``backward()`` frees it.

    Args:
        fn: what to run (its result is dropped; the saved tensors are counted while it runs).
        hooks: a ``torch.autograd.graph.saved_tensors_hooks`` that stores the saved tensors
            another way (e.g. ``memory_saving.one_bit_spikes()``); it is applied, and what its
            pack hook returns is counted.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if hooks is not None and not isinstance(hooks, torch.autograd.graph.saved_tensors_hooks):
        raise TypeError(
            f"hooks must be a torch.autograd.graph.saved_tensors_hooks, got {type(hooks).__name__}"
        )
    pack_inner = hooks.pack_hook if hooks is not None else (lambda tensor: tensor)
    unpack = hooks.unpack_hook if hooks is not None else (lambda tensor: tensor)
    total = 0

    def pack(tensor):
        nonlocal total
        packed = pack_inner(tensor)
        total += _nbytes(packed)
        return packed

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        fn(*args, **kwargs)
    return total


__all__ = ["saved_bytes"]
