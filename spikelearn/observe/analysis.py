"""Look inside a spiking network: gradient flow and activity (cost accounting: :mod:`spikelearn.cost`).

Everything here works through hooks, so the model is measured as it is, with no change to it.

Gradient flow. A feed-forward SNN unrolled over ``T`` time steps is a deep recurrent network: the
gradient reaching layer ``l`` is a product over layers and steps of (surrogate derivative × weight
gain × leak). If that factor is above 1 per layer the gradient explodes with depth, below 1 it
vanishes (Ledinauskas et al. 2020, "Training Deep Spiking Neural Networks", arXiv 2006.04436).
:class:`GradientMonitor` records ``∂L/∂x_l[t]``, the gradient with respect to each spiking layer's
input current at every time step, and turns it into a ``[layers, T]`` matrix of RMS norms; the
first-to-last layer ratio says which regime a network is in, and
:func:`tune_surrogate_scale` picks the surrogate height that keeps it near 1.

Activity. :class:`ActivityMonitor` records each spiking layer's output spikes: firing rate per
time step and spikes per neuron per sample.

Layout: 1. which layers; 2. gradient flow; 3. surrogate scale; 4. activity.
"""

import math

import torch

from .._checks import check_positive, check_sequence
from ..cells.surrogate import Surrogate
from ..networks import walk
from ..networks.layers import Spiking
from ..networks.training import ce_count_loss  # the training default: CE on spike counts

# --- 1. Which layers are measured -----------------------------------------------------------


def spiking_layers(model):
    """The ``(name, module)`` pairs of every ``spikelearn.layers.Spiking`` layer, in order."""
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, Spiking)]
    if not found:
        raise ValueError(f"model has no spikelearn.layers.Spiking layer to monitor: {model!r}")
    return found


def _resolve(model, layers):
    if layers is None:
        return spiking_layers(model)
    named = {m: n for n, m in model.named_modules()}
    return [(named.get(m, f"layer{i}"), m) for i, m in enumerate(layers)]


COUNT_LOSS = ce_count_loss()  # the default loss below: cross-entropy on spike counts


def _first(output):
    return output[0] if isinstance(output, tuple | list) else output


# --- 2. Gradient flow -----------------------------------------------------------------------


class GradientMonitor:
    """Record ``∂L/∂x[t]`` at the input current of each spiking layer during a backward pass.

    Use as a context manager around a forward and backward pass::

        with GradientMonitor(model) as mon:
            loss = COUNT_LOSS(model(x), y)
            loss.backward()
        mon.norms    # [layers, T]: RMS over batch and neurons of ∂L/∂x_l[t]

    Args:
        model: a ``torch.nn.Module`` taking ``[T, B, ...]``.
        layers: modules to monitor (default: every ``spikelearn.layers.Spiking``, in order).
    """

    def __init__(self, model, layers=None):
        self.model = model
        self.layers = _resolve(model, layers)
        self.names = [name for name, _ in self.layers]
        self.inputs, self.grads, self._handles = {}, {}, []

    def _forward_hook(self, name):
        def hook(module, args, output):
            x = args[0]
            if not x.requires_grad:
                raise ValueError(f"the input current of layer {name!r} does not require grad")
            self.inputs[name] = x
            x.register_hook(lambda g: self.grads.__setitem__(name, g.detach()))

        return hook

    def __enter__(self):
        self.inputs.clear()
        self.grads.clear()
        for name, module in self.layers:
            self._handles.append(module.register_forward_hook(self._forward_hook(name)))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.inputs.clear()  # drop the graph; the gradients stay

    @property
    def norms(self):
        """``[layers, T]`` tensor: ``sqrt(mean over batch and neurons of (∂L/∂x_l[t])²)``."""
        missing = [n for n in self.names if n not in self.grads]
        if missing:
            raise RuntimeError(f"no gradient recorded for {missing}; run backward inside `with`")
        return torch.stack(
            [self.grads[n].flatten(2).pow(2).mean((1, 2)).sqrt() for n in self.names]
        )


def gradient_norms(model, x, target, loss_fn=COUNT_LOSS, layers=None):
    """Gradient RMS norm per spiking layer and time step for one batch: a ``[layers, T]`` tensor.

    Runs one forward pass and ``torch.autograd.grad`` (so no ``.grad`` is left on the parameters)
    and restores batch-norm running statistics, leaving the model as it was.
    """
    check_sequence("x", x)
    buffers = [b.clone() for b in model.buffers()]
    with GradientMonitor(model, layers) as mon:
        loss = loss_fn(model(x), target)
        torch.autograd.grad(loss, [mon.inputs[n] for n in mon.names])
    with torch.no_grad():
        for b, saved in zip(model.buffers(), buffers, strict=True):
            b.copy_(saved)
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


# --- 3. Surrogate scale (Ledinauskas et al. 2020) -------------------------------------------


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


# --- 4. Activity ----------------------------------------------------------------------------


class ActivityMonitor:
    """Record each spiking layer's output spikes in forward passes.

    ``rates[name]`` is the firing rate (spikes per neuron per time step) and ``spikes_per_neuron``
    the spikes per neuron per sample over the whole sequence, both averaged over every pass made
    inside the ``with`` block.
    """

    def __init__(self, model, layers=None):
        self.layers = _resolve(model, layers)
        self.names = [name for name, _ in self.layers]
        self._sums, self._handles = {}, []

    def _hook(self, name):
        def hook(module, args, output):
            spk = _first(output).detach()
            total, steps, samples = self._sums.get(name, (0.0, 0, 0))
            per_sample = spk[0].numel() / spk.shape[1]  # neurons per sample
            self._sums[name] = (
                total + float(spk.sum()) / per_sample,
                spk.shape[0],
                samples + spk.shape[1],
            )

        return hook

    def __enter__(self):
        self._sums.clear()
        for name, module in self.layers:
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    @property
    def spikes_per_neuron(self):
        """``{layer: mean spikes per neuron per sample}`` over the whole sequence."""
        return {n: total / samples for n, (total, _, samples) in self._sums.items()}

    @property
    def rates(self):
        """``{layer: mean spikes per neuron per time step}``."""
        return {n: total / samples / steps for n, (total, steps, samples) in self._sums.items()}


@torch.no_grad()
def activity(model, x, layers=None):
    """Run ``model(x)`` once and return its :class:`ActivityMonitor` (``.rates``, ``.spikes_per_neuron``)."""
    check_sequence("x", x)
    with ActivityMonitor(model, layers) as mon:
        model(x)
    return mon


__all__ = [
    "spiking_layers",
    "GradientMonitor",
    "gradient_norms",
    "layer_norms",
    "gradient_ratio",
    "gradient_gain",
    "set_surrogate_scale",
    "tune_surrogate_scale",
    "ActivityMonitor",
    "activity",
]
