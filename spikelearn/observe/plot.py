"""Plots for the tutorials: neuron traces, spike rasters, surrogate gradients, f-I curves.

Every function takes ``ax=None`` (a new figure is made when it is ``None``) and returns the
matplotlib Axes it drew on, or the Figure for multi-panel plots. Inputs may be tensors or arrays;
time runs along the first dimension, as everywhere in spikelearn (``[T, ...]``).
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._checks import check_tensor


def _np(x, name="x", dims=None):
    """A tensor or array-like as a float numpy array (detached, on the CPU); ``dims`` the allowed
    numbers of dimensions. Bad input names the parameter."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a tensor or array of numbers, got {type(x).__name__} {x!r:.60}"
        ) from err
    if dims is not None and a.ndim not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name} must be {want}, got shape {a.shape} ({a.ndim}-D)")
    return a


def _same_length(**arrays):
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        have = ", ".join(f"{n} {k}" for n, k in lengths.items())
        raise ValueError(f"{', '.join(lengths)} must have the same length (time steps), got {have}")


def _axes(ax, figsize=(6, 2.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def membrane(mem, threshold=None, spk=None, ax=None, label="membrane u[t]"):
    """Membrane potential over time, with the threshold as a dashed line and spikes as ticks.

    Args:
        mem: membrane trace ``[T]`` (or ``[T, N]`` for several neurons).
        threshold: draw ``V_th`` as a horizontal dashed line.
        spk: optional spikes ``[T]``; each spike is marked at the top of the plot.
        ax: the Axes to draw on (new figure if ``None``).
        label: legend label for the trace.

    Returns:
        The Axes.
    """
    mem = _np(mem, "mem", dims=(1, 2))
    ax = _axes(ax)
    ax.plot(np.arange(len(mem)), mem, label=label)
    if threshold is not None:
        ax.axhline(float(threshold), color="k", ls="--", lw=1, label="threshold")
    if spk is not None:
        spk = _np(spk, "spk", dims=(1, 2))
        _same_length(mem=mem, spk=spk)
        times = np.flatnonzero(spk.reshape(len(mem), -1).any(axis=1))
        top = np.nanmax(mem) if threshold is None else max(np.nanmax(mem), float(threshold))
        ax.plot(times, np.full(len(times), top * 1.08), "|", color="C3", ms=8, label="spikes")
    ax.set_xlabel("time step t")
    ax.set_ylabel("u[t]")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def traces(cur, mem, spk, threshold=None, title=None):
    """Three stacked panels sharing the time axis: input current, membrane potential, spikes.

    Like snnTorch's ``spikeplot`` figures in its tutorials (Eshraghian et al. 2023).

    Args:
        cur: input current ``[T]``.
        mem: membrane potential ``[T]``.
        spk: output spikes ``[T]``.
        threshold: draw ``V_th`` on the membrane panel.
        title: optional figure title.

    Returns:
        The Figure.
    """
    cur, mem = _np(cur, "cur", dims=(1, 2)), _np(mem, "mem", dims=(1, 2))
    spk = _np(spk, "spk", dims=(1, 2))
    _same_length(cur=cur, mem=mem, spk=spk)
    fig, axes = plt.subplots(3, 1, figsize=(7, 5), sharex=True, height_ratios=[1, 2, 0.6])
    t = np.arange(len(cur))
    axes[0].plot(t, cur, color="C2")
    axes[0].set_ylabel("input x[t]")
    membrane(mem, threshold=threshold, ax=axes[1])
    axes[1].set_xlabel("")
    raster(spk.reshape(len(t), -1), ax=axes[2])
    axes[2].set_yticks([])
    axes[2].set_ylabel("spikes")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def raster(spikes, ax=None, color="k", s=None):
    """Spike raster: one row per neuron, a mark at each time step it fires.

    Args:
        spikes: ``[T, ...]``; all dimensions after time are flattened into neurons (pass one
            sample, e.g. ``spikes[:, 0]``). Negative entries (delta code's off-spikes) are red.
        ax: the Axes to draw on (new figure if ``None``).
        color: colour of the (positive) spikes.
        s: marker size (default scales with the number of neurons).

    Returns:
        The Axes.
    """
    if isinstance(spikes, torch.Tensor):
        check_tensor("spikes", spikes.float(), min_dim=1)
    x = _np(spikes, "spikes")
    if x.ndim < 1:
        raise ValueError(f"spikes must be [T, ...] with at least 1 dimension, got shape {x.shape}")
    ax = _axes(ax, figsize=(6, 3))
    x = x.reshape(x.shape[0], -1)
    n = x.shape[1]
    if s is None:  # marker height (sqrt of its area, in points) ~ one row's height
        row = ax.bbox.height * 72 / ax.figure.dpi / max(n, 1)
        s = float(np.clip(row**2, 4.0, 100.0))
    t_on, i_on = np.nonzero(x > 0)
    ax.scatter(t_on, i_on, marker="|", s=s, color=color, linewidths=1)
    t_off, i_off = np.nonzero(x < 0)
    if len(t_off):
        ax.scatter(t_off, i_off, marker="|", s=s, color="C3", linewidths=1)
    ax.set_xlim(-0.5, x.shape[0] - 0.5)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_xlabel("time step t")
    ax.set_ylabel("neuron")
    return ax


def surrogates(spike_fns, x=None, labels=None):
    """Two panels: the forward step (and the smooth function each surrogate stands for), and the
    surrogate derivatives used in the backward pass (``spike_fn.derivative``).

    The smooth stand-in is the running integral of the derivative, so a surrogate with unit area
    rises from 0 to 1 like the step it replaces.

    Args:
        spike_fns: one surrogate or a list of them (``spikelearn.surrogate`` objects).
        x: the ``u - V_th`` values to plot (default 401 points in [-1, 1]).
        labels: legend labels (default ``repr`` of each surrogate).

    Returns:
        The Figure.
    """
    if not isinstance(spike_fns, list | tuple):
        spike_fns = [spike_fns]
    for i, fn in enumerate(spike_fns):
        if not callable(getattr(fn, "derivative", None)):
            raise TypeError(
                f"spike_fns[{i}] must be a spikelearn.surrogate object (with .derivative), "
                f"got {type(fn).__name__} {fn!r:.40}"
            )
    x = (
        torch.linspace(-1, 1, 401)
        if x is None
        else torch.as_tensor(_np(x, "x", dims=(1,)), dtype=torch.float32)
    )
    labels = labels or [repr(f) for f in spike_fns]
    if len(labels) != len(spike_fns):
        raise ValueError(
            f"labels must have one entry per surrogate ({len(spike_fns)}), got {len(labels)}"
        )
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax0.plot(_np(x), _np(x > 0), color="k", lw=2, label="Heaviside H(x) (forward)")
    for fn, label in zip(spike_fns, labels, strict=True):
        d = fn.derivative(x).detach().float()
        smooth = torch.cat([torch.zeros(1), torch.cumulative_trapezoid(d, x)])
        ax0.plot(_np(x), _np(smooth), ls="--", label=label)
        ax1.plot(_np(x), _np(d), label=label)
    ax0.set_title("forward: spike = H(u - V_th)")
    ax0.set_xlabel("u - V_th")
    ax0.legend(fontsize="x-small")
    ax1.set_title("backward: surrogate derivative")
    ax1.set_xlabel("u - V_th")
    ax1.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def fi_curve(currents, rates, ax=None, label=None, **kwargs):
    """Firing rate against constant input current (the f-I curve).

    Args:
        currents: input currents ``[N]``.
        rates: firing rates ``[N]`` (spikes per time step).
        ax: the Axes to draw on (new figure if ``None``).
        label: legend label; other keyword arguments go to ``ax.plot``.

    Returns:
        The Axes.
    """
    currents, rates = _np(currents, "currents", dims=(1,)), _np(rates, "rates", dims=(1,))
    if len(currents) != len(rates):
        raise ValueError(
            f"currents and rates must have the same length, got {len(currents)} and {len(rates)}"
        )
    ax = _axes(ax, figsize=(5, 3.5))
    ax.plot(currents, rates, label=label, **kwargs)
    ax.set_xlabel("input current I")
    ax.set_ylabel("firing rate (spikes / step)")
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def gradient_heatmap(norms, names=None, ax=None, title=None):
    """Layer x time heatmap of gradient norms (``analysis.gradient_norms``), log10 colour scale.

    Args:
        norms: ``[layers, T]`` gradient norms, first layer at the top.
        names: optional layer labels.
        ax: the Axes to draw on (new figure if ``None``).
        title: optional title.

    Returns:
        The Axes.
    """
    values = np.log10(_np(norms, "norms", dims=(2,)) + 1e-30)
    if names is not None and len(names) != values.shape[0]:
        raise ValueError(
            f"names must have one label per layer ({values.shape[0]}), got {len(names)}"
        )
    ax = _axes(ax, figsize=(4, 4))
    image = ax.imshow(values, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="log10 gradient norm")
    ax.set_xlabel("time step t")
    ax.set_ylabel("layer")
    if names is not None:
        ax.set_yticks(range(len(names)), names, fontsize="x-small")
    if title:
        ax.set_title(title)
    return ax


def depth_curve(values, ax=None, label=None, log=True, ylabel="gradient norm", **kwargs):
    """A per-layer quantity against depth (gradient norm, firing rate, spikes per neuron).

    Args:
        values: ``[layers]`` values, first layer first (a dict's values are used in order).
        ax: the Axes to draw on (new figure if ``None``).
        label: legend label; other keyword arguments go to ``ax.plot``.
        log: logarithmic y axis.
        ylabel: the y-axis label.

    Returns:
        The Axes.
    """
    if isinstance(values, dict):
        values = list(values.values())
    values = _np(values, "values", dims=(1,))
    ax = _axes(ax, figsize=(5, 3.5))
    ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=label, **kwargs)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("layer (input side = 1)")
    ax.set_ylabel(ylabel)
    if label is not None:
        ax.legend(fontsize="small")
    return ax


__all__ = [
    "membrane",
    "traces",
    "raster",
    "surrogates",
    "fi_curve",
    "gradient_heatmap",
    "depth_curve",
]
