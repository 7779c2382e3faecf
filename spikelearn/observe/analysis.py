"""Look inside a spiking network: gradient flow, activity and a health report.

Recording (spikes, membranes, gradients, on any network however it is run) is
:mod:`spikelearn.monitors`; this module turns the records into numbers and verdicts.

Gradient flow. A feed-forward SNN unrolled over ``T`` time steps is a deep recurrent network: the
gradient reaching layer ``l`` is a product over layers and steps of (surrogate derivative × weight
gain × leak). If that factor is above 1 per layer the gradient explodes with depth, below 1 it
vanishes (Ledinauskas et al. 2020, "Training Deep Spiking Neural Networks", arXiv 2006.04436).
:func:`gradient_norms` measures ``∂L/∂x_l[t]``, the gradient with respect to each spiking layer's
input current at every time step, as a ``[layers, T]`` matrix of RMS norms; the first-to-last
layer ratio says which regime a network is in, and :func:`tune_surrogate_scale` picks the
surrogate height that keeps it near 1.

Health. :func:`diagnose` runs one batch forward and backward and reports, per layer, firing,
silent and saturated neurons, where the membranes sit relative to the threshold, how much of the
surrogate derivative they see, and the gradient, with a verdict in plain words.

Layout: 1. gradient flow; 2. surrogate scale; 3. activity; 4. the health report.
"""

import math
from contextlib import contextmanager
from copy import copy

import torch

from .._checks import check_positive
from ..cells.leak_aware import NoStepGradient
from ..cells.surrogate import Surrogate
from ..networks import walk
from ..networks.layers import Spiking
from ..networks.training import ce_count_loss  # the training default: CE on spike counts
from . import monitors, plot
from .monitors import ActivityMonitor, GradientMonitor  # noqa: F401 - where they lived before monitors.py

COUNT_LOSS = ce_count_loss()  # the default loss below: cross-entropy on spike counts

# --- 1. Gradient flow -----------------------------------------------------------------------


def _run(model, x, run):
    """``model(x)``, or ``run(model, x)`` for a network driven by your own loop."""
    if run is None:
        return model(x)
    if not callable(run):
        raise TypeError(f"run must be callable as run(model, x), got {type(run).__name__}")
    return run(model, x)


@contextmanager
def _unchanged(model):
    """Leave ``model``'s kept state as it was: buffers (batch-norm statistics, snnTorch's
    membranes) and SpikingJelly's memories are put back when the block ends."""
    kept = []
    for m in model.modules():
        for store in (m._buffers, vars(m).get("_memories", {})):
            saved = {k: (v, v.clone() if torch.is_tensor(v) else copy(v)) for k, v in store.items()}
            kept.append((store, saved))
    try:
        yield
    finally:
        with torch.no_grad():
            for store, saved in kept:
                for k, (obj, values) in saved.items():
                    if torch.is_tensor(obj):
                        obj.copy_(values)
                    store[k] = obj


def gradient_norms(model, x, target, loss_fn=COUNT_LOSS, layers=None, calls=None, run=None):
    """Gradient RMS norm per spiking layer and time step for one batch: a ``[layers, T]`` tensor.

    Runs one forward pass (``model(x)``, or ``run(model, x)``) and ``torch.autograd.grad`` (so no
    ``.grad`` is left on the parameters) and puts back batch-norm statistics and neuron state,
    leaving the model as it was. ``layers`` and ``calls`` as in
    :class:`spikelearn.monitors.GradientMonitor`.
    """
    with _unchanged(model), monitors.GradientMonitor(model, layers, calls) as mon:
        loss = loss_fn(_run(model, x, run), target)
        currents = [c for n in mon.names for c in mon.currents[n]]
        torch.autograd.grad(loss, currents, allow_unused=True)  # the monitor's hooks keep them
    return mon.norms


def layer_norms(norms):
    """Collapse time: ``[layers, T]`` -> ``[layers]``, the RMS of each layer over all steps."""
    return norms.pow(2).mean(1).sqrt()


def gradient_ratio(norms):
    """First-to-last layer ratio of per-layer gradient norms (≫ 1 exploding, ≪ 1 vanishing)."""
    per_layer = layer_norms(norms) if norms.dim() == 2 else norms
    return float(per_layer[0] / per_layer[-1])


def gradient_gain(norms):
    """Mean factor by which the gradient grows per layer going backwards, ``ratio^(1/(L-1))``."""
    per_layer = layer_norms(norms) if norms.dim() == 2 else norms
    return gradient_ratio(per_layer) ** (1 / max(len(per_layer) - 1, 1))


# --- 2. Surrogate scale (Ledinauskas et al. 2020) -------------------------------------------


def set_surrogate_scale(model, scale):
    """Set ``scale`` (the derivative's height factor) on every neuron's surrogate in ``model``.

    Every neuron must train through a spikelearn surrogate (``spike_grad`` a
    ``surrogate.Surrogate``); one that does not (an snnTorch surrogate, ``LeakAwareLIF``'s
    sequence-level gradient, an integer neuron) raises a ``TypeError`` naming it, rather than
    being left at another scale.
    """
    check_positive("scale", scale)
    sites = walk.neurons(model)
    if not sites:
        raise ValueError("model has no spikelearn neuron (no surrogate to scale)")
    for site in sites:
        if not isinstance(site.layer.spike_grad, Surrogate):
            raise TypeError(
                f"set_surrogate_scale needs a spikelearn surrogate on every neuron; "
                f"{type(site.layer).__name__} at {site.name!r} uses "
                f"{type(site.layer.spike_grad).__name__}"
            )
    for site in sites:
        site.layer.spike_grad.scale = float(scale)
    return model


def tune_surrogate_scale(model, x, target, scales=None, loss_fn=COUNT_LOSS, layers=None):
    """Choose the surrogate scale whose first-to-last gradient ratio is closest to 1.

    Tries each scale (default 25 values from 0.1 to 10, log-spaced), measures
    :func:`gradient_ratio` on the batch ``(x, target)`` and keeps the one minimising
    ``|log ratio|``: the gradient then neither explodes nor vanishes on its way through depth.
    The model is left with the best scale set.

    Returns:
        ``(best_scale, ratios)`` with ``ratios`` a dict ``{scale: ratio}``.
    """
    if scales is None:
        scales = torch.logspace(-1, 1, 25).tolist()
    ratios = {}
    for s in scales:
        set_surrogate_scale(model, s)
        ratio = gradient_ratio(gradient_norms(model, x, target, loss_fn, layers))
        ratios[float(s)] = ratio
    finite = {s: r for s, r in ratios.items() if math.isfinite(r) and r > 0}
    if not finite:
        raise RuntimeError(f"no scale gave a finite, non-zero gradient ratio: {ratios}")
    best = min(finite, key=lambda s: abs(math.log(finite[s])))
    set_surrogate_scale(model, best)
    return best, ratios


# --- 3. Activity ------------------------------------------------------------------------------


@torch.no_grad()
def activity(model, x, layers=None, calls=None, run=None):
    """Run ``model(x)`` (or ``run(model, x)``) once and return its
    :class:`spikelearn.monitors.ActivityMonitor` (``.rates``, ``.spikes_per_neuron``, ``.spikes``)."""
    with monitors.ActivityMonitor(model, layers, calls) as mon:
        _run(model, x, run)
    return mon


# --- 4. The health report ---------------------------------------------------------------------

PEAK_SHARE = 0.1  # "the surrogate passes gradient here": its derivative is >= 10% of its peak
NARROW = 0.05  # too narrow: it passes gradient at < 5% as many membranes as lie near threshold
NEAR = 0.01  # ... judged only where at least 1% of the membranes come near the threshold
SATURATED = 0.5  # a layer is saturated when half its neurons fire at every step
VANISHING, EXPLODING = 1e-2, 1e2  # gradient RMS relative to the output layer's


def _spike_function(module):
    """``(surrogate spike function, threshold)`` of a neuron: ``spike_grad``/``threshold``
    (spikelearn, snnTorch) or ``surrogate_function``/``v_threshold`` (SpikingJelly)."""
    neuron = module.neuron if isinstance(module, Spiking) else module
    for fn, thr in (("spike_grad", "threshold"), ("surrogate_function", "v_threshold")):
        if callable(getattr(neuron, fn, None)) and getattr(neuron, thr, None) is not None:
            return getattr(neuron, fn), torch.as_tensor(getattr(neuron, thr)).detach()
    return None, None


def _derivative(spike_fn, x):
    """``d spike_fn(x) / dx``, elementwise, through the surrogate's own backward pass."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (d,) = torch.autograd.grad(spike_fn(x).sum(), x)
    return d


def _layer_health(spikes, membrane, after_reset, module):
    """The per-layer numbers of the report (see :func:`diagnose`), the visited ``u - V_th`` and
    the surrogate derivative over their range, scaled to its peak."""
    steps = spikes.shape[0]
    flat = spikes.reshape(steps * spikes.shape[1], -1) != 0  # [T·B, neurons]
    row = {
        "rate": float(spikes.float().mean()),
        "silent": float((~flat.any(0)).float().mean()),
        "saturated": float(flat.all(0).float().mean()),
        **dict.fromkeys(("u_median", "near", "sg_mean", "sg_cover"), math.nan),
    }
    spike_fn, threshold = _spike_function(module)
    if membrane is None or spike_fn is None:
        return row, None, None
    threshold = threshold.to(membrane).expand_as(membrane)
    dist, half = (membrane - threshold).float(), threshold.abs().float() / 2
    if after_reset:  # only where no spike was fired is the stored potential the one compared
        dist, half = dist[spikes == 0], half[spikes == 0]
    dist, half = dist.flatten(), half.flatten()
    if dist.numel() == 0:
        return row, None, None
    row["u_median"] = float(dist.median())
    row["near"] = float((dist.abs() <= half).float().mean())
    if isinstance(spike_fn, NoStepGradient):  # LeakAwareLIF: a gradient of the whole spike train
        return row, dist, None
    d = _derivative(spike_fn, dist)
    peak = float(_derivative(spike_fn, dist.new_zeros(1)).max())
    row["sg_mean"] = float(d.mean())
    row["sg_cover"] = float((d >= PEAK_SHARE * peak).float().mean()) if peak > 0 else 0.0
    grid = torch.linspace(float(dist.min()), float(dist.max()), 401, device=dist.device)
    curve = (grid, _derivative(spike_fn, grid) / peak) if peak > 0 else None
    return row, dist, curve


def _findings(rows, names):
    """``{layer: [(code, sentence)]}`` by the rules in :func:`diagnose`'s docstring."""
    found = {n: [] for n in names}
    low = [i for i, n in enumerate(names) if rows[n]["grad_ratio"] < VANISHING]
    for i, n in enumerate(names):
        r = rows[n]
        if r["rate"] == 0:
            found[n].append(
                ("silent", "silent: no neuron fired; raise the input scale or lower the threshold")
            )
        if r["saturated"] >= SATURATED:
            found[n].append(
                (
                    "saturated",
                    f"saturated: {r['saturated']:.0%} of neurons fire at every step; lower the input scale or raise the threshold",
                )
            )
        if r["near"] >= NEAR and r["sg_cover"] < NARROW * r["near"]:
            found[n].append(
                (
                    "narrow surrogate",
                    f"surrogate too narrow: {r['near']:.0%} of the membranes come within V_th/2 of the threshold, but only {r['sg_cover']:.2%} get {PEAK_SHARE:.0%} of its peak derivative; widen it",
                )
            )
        if r["grad_rms"] == 0:
            found[n].append(("no gradient", "no gradient reaches this layer"))
        elif i in low:
            found[n].append(
                (
                    "vanishing gradient",
                    f"gradient vanishes from layer {max(low) + 1} ({names[max(low)]}) down: {r['grad_ratio']:.0e} of the output layer's",
                )
            )
        elif r["grad_ratio"] > EXPLODING:
            found[n].append(
                (
                    "exploding gradient",
                    f"gradient explodes: {r['grad_ratio']:.0e} times the output layer's",
                )
            )
    return found


class HealthReport:
    """What :func:`diagnose` found. ``rows[layer]`` the numbers, ``findings[layer]`` the codes
    (``"silent"``, ``"saturated"``, ``"narrow surrogate"``, ``"vanishing gradient"``,
    ``"exploding gradient"``, ``"no gradient"``; empty: healthy), ``verdicts[layer]`` one line in
    words, ``rates[layer]`` the firing rate per step ``[T]``, ``norms`` ``[layers, T]`` gradient
    RMS, ``distances[layer]`` the visited ``u - V_th`` (or None), ``surrogate_curves[layer]``
    ``(x, σ'(x)/σ'(0))`` over their range (or None), ``figure`` the figure."""

    COLUMNS = (
        ("rate", "rate/step", "{:.3f}"),
        ("silent", "silent", "{:.0%}"),
        ("saturated", "saturated", "{:.0%}"),
        ("u_median", "u-Vth median", "{:+.2f}"),
        ("near", "near Vth", "{:.0%}"),
        ("sg_mean", "σ' mean", "{:.3g}"),
        ("sg_cover", "σ'≥10% peak", "{:.1%}"),
        ("grad_rms", "grad RMS", "{:.2e}"),
        ("grad_ratio", "÷ output", "{:.2g}"),
    )

    def __init__(self, names, rows, findings, rates, norms, distances, surrogate_curves):
        self.names, self.rows, self.findings = names, rows, findings
        self.rates, self.norms, self.distances = rates, norms, distances
        self.surrogate_curves = surrogate_curves
        self.verdicts = {n: "; ".join(text for _, text in findings[n]) or "healthy" for n in names}
        self.figure = None

    def codes(self, name):
        """The finding codes of one layer (an empty list when it is healthy)."""
        return [code for code, _ in self.findings[name]]

    def __str__(self):
        width = max(len("layer"), *map(len, self.names))
        head = f"{'layer':<{width}}  " + "  ".join(f"{h:>12}" for _, h, _ in self.COLUMNS)
        lines = [head]
        for n in self.names:
            cells = [
                "n/a" if math.isnan(self.rows[n][k]) else fmt.format(self.rows[n][k])
                for k, _, fmt in self.COLUMNS
            ]
            lines.append(f"{n:<{width}}  " + "  ".join(f"{c:>12}" for c in cells))
        lines += [f"{n}: {self.verdicts[n]}" for n in self.names]
        return "\n".join(lines)

    __repr__ = __str__


def diagnose(model, x, target, loss_fn=COUNT_LOSS, layers=None, calls=None, run=None, show=True):
    """A health report for one batch: one forward and one backward pass, a per-layer table, a
    verdict per layer in words, and one figure (:func:`spikelearn.plot.health`).

    Works on any network :mod:`spikelearn.monitors` can record (spikelearn, snnTorch,
    SpikingJelly, your own); the model is left as it was (no ``.grad``, state put back).

    Per layer it measures: the firing rate per step; the share of *silent* neurons (no spike at
    any step of any sample) and of *saturated* ones (a spike at every step of every sample); the
    visited membranes' distance to the threshold ``u - V_th`` (median) and the share *near* it,
    ``|u - V_th| <= V_th/2``; the surrogate derivative ``σ'(u - V_th)`` at those membranes, its
    mean and the share where it is at least 10% of its peak ``σ'(0)``; the gradient RMS at the
    input current (:func:`gradient_norms`) and its ratio to the output layer's. The rules (a
    layer can get several; none: "healthy"):

    * **silent** - not one spike in the layer on the batch: it passes nothing forward (snnTorch
      #219, "the output layer never fires"). Exact, no threshold.
    * **saturated** - at least 50% of the neurons fire at every step (:data:`SATURATED`): a
      constant output carries no information. 50% (a majority) is our choice.
    * **narrow surrogate** - the surrogate passes gradient (``σ' >= 10%`` of its peak,
      :data:`PEAK_SHARE`) at fewer than 5% as many membranes as come near the threshold
      (:data:`NARROW`): the neurons do approach the threshold, the surrogate's window misses
      them. Judged only where at least 1% of the membranes come near the threshold
      (:data:`NEAR`): membranes far from it (a silent or a saturated layer) are a scale problem,
      not the surrogate's. 5% and 1% are set from
      tutorial 15's survey (20 seeds, two CPUs): the healthy snnTorch ``atan`` and
      ``fast_sigmoid(slope=25)`` networks measure well above, ``fast_sigmoid(slope=1000)`` well
      below (the tutorial prints the figures).
    * **vanishing / exploding gradient** - the layer's gradient RMS is below 1/100 (above 100×)
      the output layer's (:data:`VANISHING`, :data:`EXPLODING`): two orders of magnitude across
      the depth, the regimes of Ledinauskas et al. 2020 (arXiv 2006.04436) that tutorial 06
      measures; the factor 100 is our choice. "Vanishes from layer k down" names the layer
      nearest the output below 1/100.
    * **no gradient** - exactly zero gradient at the layer's input current.

    The membrane statistics need the potential the threshold saw; for SpikingJelly, which
    stores it after the reset, they use the neuron-steps without a spike. For a neuron whose
    threshold moves (ALIF) they use the fixed ``threshold`` and are only indicative. A neuron
    trained through its whole spike train, without a one-step surrogate (``LeakAwareLIF``), gets
    no surrogate columns (n/a).

    Args:
        model: the network; ``x``, ``target``: one batch; ``loss_fn(model(x), target)``.
        layers, calls: as in :class:`spikelearn.monitors.ActivityMonitor`.
        run: ``run(model, x)`` runs a network that ``model(x)`` alone does not (your own loop
            over time steps, e.g. an ``init_hidden=True`` ``nn.Sequential`` called per step).
        show: print the table and draw the figure.

    Returns:
        A :class:`HealthReport`.
    """
    with (
        _unchanged(model),
        monitors.ActivityMonitor(model, layers, calls, membranes=True) as act,
        monitors.GradientMonitor(model, layers, calls) as grad,
    ):
        loss = loss_fn(_run(model, x, run), target)
        torch.autograd.grad(
            loss, [c for n in grad.names for c in grad.currents[n]], allow_unused=True
        )
    names, norms = act.names, grad.norms
    per_layer = layer_norms(norms)
    rows, rates, distances, curves = {}, {}, {}, {}
    for i, (name, module) in enumerate(act.layers):
        spikes = act.spikes[name]
        try:
            membrane = act.membrane(name)
        except ValueError:
            membrane = None
        health = _layer_health(spikes, membrane, act.after_reset[name], module)
        rows[name], distances[name], curves[name] = health
        rows[name]["grad_rms"] = float(per_layer[i])
        rows[name]["grad_ratio"] = (
            float(per_layer[i] / per_layer[-1]) if per_layer[-1] > 0 else math.inf
        )
        rates[name] = spikes.reshape(spikes.shape[0], -1).float().mean(1)
    report = HealthReport(names, rows, _findings(rows, names), rates, norms, distances, curves)
    if show:
        print(report)
        report.figure = plot.health(report)
    return report


__all__ = [
    "COUNT_LOSS",
    "gradient_norms",
    "layer_norms",
    "gradient_ratio",
    "gradient_gain",
    "set_surrogate_scale",
    "tune_surrogate_scale",
    "activity",
    "diagnose",
    "HealthReport",
]
