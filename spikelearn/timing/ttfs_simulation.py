"""A discrete-time simulation of a TTFS network, to check the exact event-driven pass.

:meth:`spikelearn.ttfs.TTFSNetwork.run` computes every spike time in closed form. Hardware and
most simulators instead step time on a grid ``dt`` and integrate each membrane (Euler); the spike
times they find converge to the closed form as ``dt -> 0`` (error O(dt)). This module is that
stepped simulation of Stanojevic et al. 2024's constant-slope (B1) neuron, for comparison and
for plotting membrane traces.
"""

import math

import torch

from .._checks import check_range
from .ttfs import _weighted_sum, encode


def simulate(net, x, dt, record=False):
    """Discrete-time simulation of ``net`` with time step ``dt`` (Euler integration of every membrane).

    On the grid ``t_k = edges[0] + k·dt`` a neuron of a layer with window ``[t_min, t_max]`` runs::

        V[k+1] = V[k] + dt·I[k],   I[k] = Σ_j W_ij·H(t_k - t_j) if t_k < t_min, else 1
        spike at the first t_k >= t_min with V[k] >= ϑ_i = t_max - t_min - D_i (none before t_max)

    The output layer reads ``V + D`` at the first ``t_k >= t_min``. The spike times converge to
    :meth:`TTFSNetwork.run`'s as ``dt -> 0`` (error O(dt)). Returns ``(logits, times, traces)``;
    with ``record=True``, ``traces[n - 1] = (grid, V)`` for layer ``n`` (``V`` is
    ``[len(grid), B, ...]``, the potential keeps rising after the spike: only the first crossing
    counts), else ``traces`` is empty. Keep the batch small when recording.
    """
    check_range("dt", dt, low=0, low_open=True)
    e = net.edges.tolist()
    with torch.no_grad():
        t = encode(x, e[0], e[1])
        times, traces, layer = [t], [], 0
        for kind, op in zip(net.kinds, net.ops, strict=True):
            if kind in ("pool", "flatten"):
                t = -op(-t) if kind == "pool" else op(t)
                continue
            t_min = e[layer + 1]
            t_max = e[layer + 2] if kind == "spike" else t_min
            d = op.bias.reshape((-1,) + (1,) * (t.dim() - 2))
            theta = (t_max - t_min) - d
            arrived = torch.zeros_like(t, dtype=torch.bool)
            current = _weighted_sum(op, arrived.to(t.dtype), bias=False)  # no input has arrived yet
            v, spike, done = torch.zeros_like(current), torch.full_like(current, t_max), None
            grid, trace = [], []
            for k in range(math.floor((e[layer] - e[0]) / dt), math.ceil((t_max - e[0]) / dt) + 1):
                tk = e[0] + k * dt
                if tk >= t_min:
                    if kind == "out":
                        return v + d, times, traces
                    if tk >= t_max:
                        break
                    fire = v >= theta if done is None else (v >= theta) & ~done
                    spike = torch.where(fire, torch.full_like(v, tk), spike)
                    done = fire if done is None else done | fire
                    current = torch.ones_like(v)
                elif bool((t <= tk).ne(arrived).any()):
                    arrived = t <= tk  # spikes that have arrived switch on their currents W_ij
                    current = _weighted_sum(op, arrived.to(t.dtype), bias=False)
                if record:
                    grid.append(tk)
                    trace.append(v.clone())
                v = v + dt * current
            layer += 1
            t = spike
            times.append(t)
            if record:
                traces.append((torch.tensor(grid), torch.stack(trace)))
    raise ValueError("the network has no output layer")


__all__ = ["simulate"]
