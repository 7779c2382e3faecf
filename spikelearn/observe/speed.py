"""How long a run takes: median wall-clock and CPU time of functions timed round-robin.

A single timing is noise: caches warm up, allocators grow, other programs take the cores. So each
candidate is first run ``warmup`` times, then every round calls each candidate once in turn, so
that load from other programs hits them all alike, and the median over the rounds is kept. Wall
time is what a user waits; CPU (process) time counts only this process's work, so on a shared
machine it is the number to trust. CUDA kernels run asynchronously: when CUDA is in use the device
is synchronised before and after each call, so the time is the kernels', not their launch's.
Tutorial 05 and ``benchmarks/`` use it; unit tests never time anything.
"""

import statistics
import time

import torch

from .._checks import check_int


def _sync():
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def median_times(fns, repeats=7, warmup=1):
    """Median wall-clock and CPU seconds of each function in ``fns``, run round-robin.

    Args:
        fns: ``{name: fn}``, functions called without arguments.
        repeats: rounds; each calls every function once, in the order of ``fns``.
        warmup: calls of each function before the rounds, not timed.

    Returns:
        ``(wall, cpu)``: two dicts ``{name: median seconds}``.
    """
    if not isinstance(fns, dict):
        raise TypeError(f"fns must be a dict {{name: function}}, got {type(fns).__name__}")
    if not fns:
        raise ValueError("fns must hold at least one function, got an empty dict")
    for name, fn in fns.items():
        if not callable(fn):
            raise TypeError(f"fns[{name!r}] must be callable, got {type(fn).__name__}")
    repeats = check_int("repeats", repeats, low=1)
    warmup = check_int("warmup", warmup, low=0)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    wall, cpu = {name: [] for name in fns}, {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync()
            w, c = time.perf_counter(), time.process_time()
            fn()
            _sync()
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)
    return (
        {name: statistics.median(t) for name, t in wall.items()},
        {name: statistics.median(t) for name, t in cpu.items()},
    )


__all__ = ["median_times"]
