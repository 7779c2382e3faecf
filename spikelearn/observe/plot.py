"""Plots: neuron traces, spike rasters, surrogate gradients, f-I curves, gradient flow, health.

Every function takes ``ax=None`` (a new figure is made when it is ``None``) and returns the
matplotlib Axes it drew on, or the Figure for multi-panel plots. Inputs may be tensors or arrays;
time runs along the first dimension, as everywhere in spikelearn (``[T, ...]``), and the time
axis is labelled in time steps. The plots take what :mod:`spikelearn.monitors` returns, whichever
library ran the network: ``raster(mon.spikes)`` and ``membrane(mon.membranes)`` draw one panel
per layer, titled with the layer's name, for one sample (``sample=0``).
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

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


def _time_axis(ax):
    """Label the x axis in time steps, with integer ticks."""
    ax.set_xlabel("time step t")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _per_layer(draw, records, sample, **kwargs):
    """One panel per layer of a monitor's ``{layer: [T, B, ...]}``, sample ``sample`` of each."""
    if not records:
        raise ValueError("the dict of layers is empty: record at least one layer")
    fig, axes = plt.subplots(
        len(records), 1, figsize=(6, 2.2 * len(records)), layout="constrained", squeeze=False
    )
    for ax, (name, x) in zip(axes[:, 0], records.items(), strict=True):
        x = _np(x, f"records[{name!r}]")
        if x.ndim < 2 or not 0 <= sample < x.shape[1]:
            raise ValueError(
                f"records[{name!r}] must be [T, B, ...] with sample {sample} in its batch, "
                f"got shape {x.shape}"
            )
        draw(x[:, sample], ax=ax, **kwargs)
        ax.set_title(f"{name} (sample {sample})", fontsize="small")
    return fig


def membrane(mem, threshold=None, spk=None, ax=None, label="membrane u[t]", sample=0):
    """Membrane potential over time, with the threshold as a dashed line and spikes as ticks.

    Args:
        mem: membrane trace ``[T]``, or ``[T, ...]`` (every dimension after time flattened into
            one trace per neuron, like :func:`raster`: pass one sample, ``mem[:, 0]``), or a
            monitor's ``{layer: [T, B, ...]}`` (one panel per layer, sample ``sample``).
        threshold: draw ``V_th`` as a horizontal dashed line.
        spk: optional spikes of the same shape as ``mem``; a step where any neuron fires is
            marked at the top of the plot.
        ax: the Axes to draw on (new figure if ``None``).
        label: legend label for the trace.
        sample: the sample drawn from each layer of a dict.

    Returns:
        The Axes (the Figure for a dict).
    """
    if isinstance(mem, dict):
        if spk is not None or ax is not None:
            raise ValueError("with a dict of layers, pass neither spk nor ax (one panel each)")
        return _per_layer(membrane, mem, sample, threshold=threshold, label=label)
    mem = _np(mem, "mem")
    if mem.ndim < 1:
        raise ValueError(f"mem must be [T, ...] with at least 1 dimension, got shape {mem.shape}")
    mem = mem.reshape(len(mem), -1) if mem.ndim > 1 else mem
    ax = _axes(ax)
    ax.plot(np.arange(len(mem)), mem, label=label)
    if threshold is not None:
        ax.axhline(float(threshold), color="k", ls="--", lw=1, label="threshold")
    if spk is not None:
        spk = _np(spk, "spk")
        _same_length(mem=mem, spk=spk)
        times = np.flatnonzero(spk.reshape(len(mem), -1).any(axis=1))
        top = np.nanmax(mem) if threshold is None else max(np.nanmax(mem), float(threshold))
        ax.plot(times, np.full(len(times), top * 1.08), "|", color="C3", ms=8, label="spikes")
    _time_axis(ax)
    ax.set_ylabel("u[t]")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def traces(cur, mem, spk, threshold=None, title=None):
    """Three stacked panels sharing the time axis: input current, membrane potential, spikes.

    Like snnTorch's ``spikeplot`` figures in its tutorials (Eshraghian et al. 2023).

    Args:
        cur: input current ``[T]`` or ``[T, ...]`` (one trace per neuron, as :func:`membrane`).
        mem: membrane potential ``[T]`` or ``[T, ...]``.
        spk: output spikes ``[T]`` or ``[T, ...]``.
        threshold: draw ``V_th`` on the membrane panel.
        title: optional figure title.

    Returns:
        The Figure.
    """
    cur, mem, spk = _np(cur, "cur"), _np(mem, "mem"), _np(spk, "spk")
    for name, a in (("cur", cur), ("mem", mem), ("spk", spk)):
        if a.ndim < 1:
            raise ValueError(
                f"{name} must be [T, ...] with at least 1 dimension, got shape {a.shape}"
            )
    _same_length(cur=cur, mem=mem, spk=spk)
    cur = cur.reshape(len(cur), -1)
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


def raster(spikes, ax=None, color="k", s=None, sample=0):
    """Spike raster: one row per neuron, a mark at each time step it fires.

    Args:
        spikes: ``[T, ...]``; all dimensions after time are flattened into neurons (pass one
            sample, e.g. ``spikes[:, 0]``). Negative entries (delta code's off-spikes) are red.
            Or a monitor's ``{layer: [T, B, ...]}``: one panel per layer, sample ``sample``.
        ax: the Axes to draw on (new figure if ``None``).
        color: colour of the (positive) spikes.
        s: marker size (default scales with the number of neurons).
        sample: the sample drawn from each layer of a dict.

    Returns:
        The Axes (the Figure for a dict).
    """
    if isinstance(spikes, dict):
        if ax is not None:
            raise ValueError("with a dict of layers, pass no ax (one panel each)")
        return _per_layer(raster, spikes, sample, color=color, s=s)
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
    _time_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # neuron indices, not 2.5, 7.5
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
    _time_axis(ax)
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


def health(report):
    """The figure of a health report (:func:`spikelearn.analysis.diagnose`), four panels: firing
    rate per time step of each layer; the share of silent and of saturated neurons; where the
    visited membranes sit relative to the threshold (``u - V_th``, with each layer's surrogate
    derivative over it, scaled to its peak); the gradient RMS per layer and time step.

    Returns:
        The Figure.
    """
    names = list(report.names)
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), layout="constrained")
    ax = axes[0, 0]
    for i, name in enumerate(names):
        ax.plot(_np(report.rates[name]), marker="o", ms=3, color=f"C{i}", label=name)
    _time_axis(ax)
    ax.set_ylabel("spikes / neuron / step")
    ax.set_title("firing rate per step")
    ax.legend(fontsize="x-small")
    ax = axes[0, 1]
    at = np.arange(len(names))
    silent = [report.rows[n]["silent"] for n in names]
    saturated = [report.rows[n]["saturated"] for n in names]
    ax.bar(at - 0.2, silent, width=0.4, label="silent (never fire)", color="C7")
    ax.bar(at + 0.2, saturated, width=0.4, label="saturated (fire every step)", color="C3")
    ax.set_xticks(at, names, fontsize="x-small")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of neurons")
    ax.set_title("silent and saturated neurons")
    ax.legend(fontsize="x-small")
    ax = axes[1, 0]
    twin = ax.twinx()
    for i, name in enumerate(names):
        dist = report.distances[name]
        if dist is None:
            continue
        d = _np(dist)
        ax.hist(d, bins=60, density=True, histtype="step", color=f"C{i}", label=name)
        curve = report.surrogate_curves.get(name)
        if curve is not None:
            twin.plot(_np(curve[0]), _np(curve[1]), ls="--", lw=1, color=f"C{i}")
    ax.axvline(0, color="k", lw=1)
    ax.set_xlabel("u - V_th (0: at threshold)")
    ax.set_ylabel("density of visited membranes")
    twin.set_ylabel("surrogate derivative / peak (dashed)")
    twin.set_ylim(0, 1.05)
    ax.set_title("membranes and the surrogate")
    ax.legend(fontsize="x-small")
    gradient_heatmap(report.norms, names=names, ax=axes[1, 1], title="gradient RMS at the input")
    return fig


__all__ = [
    "membrane",
    "traces",
    "raster",
    "surrogates",
    "fi_curve",
    "gradient_heatmap",
    "depth_curve",
    "health",
]
