"""Layers for whole sequences: a network maps ``[T, B, ...]`` inputs to ``[T, B, ...]`` spikes.

A feed-forward SNN alternates *stateless* layers (Linear, Conv2d, BatchNorm2d, pooling, Flatten),
which treat every time step the same way, with *stateful* spiking neurons, which carry a membrane
from one step to the next. The fast way to run it over T steps ("multi-step" execution, as in
SpikingJelly, Fang et al. 2023, Science Advances, arXiv 2310.16620):

* a stateless layer sees the whole sequence at once by folding time into batch,
  ``[T, B, ...] -> [T·B, ...] -> layer -> [T, B, ...]`` (one big convolution instead of T small
  ones; BatchNorm statistics are then shared over all time steps, as tdBN asks);
* a spiking neuron runs the whole sequence as one fused operation, ``neuron.multi_step(x_seq)``.

Both give exactly the same numbers as looping over time steps; they just run faster::

    net = nn.Sequential(
        TimeFolded(nn.Conv2d(1, 8, 3, padding=1)), Spiking(LIF(beta=0.9)),
        TimeFolded(nn.Flatten()), TimeFolded(nn.Linear(8 * 8 * 8, 10)), Spiking(LIF(beta=0.9)),
    )
    spk_out = net(x_seq)          # [T, B, 1, 8, 8] -> [T, B, 10]
"""

import torch
from torch import nn

from ._checks import check_dtype, check_sequence

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)  # "the layers with weights", everywhere


def weighted_layers(model):
    """Every Linear/Conv module inside ``model`` (:data:`WEIGHTED`), in order."""
    return [m for m in model.modules() if isinstance(m, WEIGHTED)]


def check_fits(module, x, name="x_seq", where="with time folded into batch"):
    """``x`` ``[N, ...]`` must fit a Linear/Conv ``module``: a named error, not torch's, naming
    ``name`` (the caller's parameter) and the shape ``x`` has ``where``."""
    if isinstance(module, nn.Linear) and (x.dim() < 1 or x.shape[-1] != module.in_features):
        got = x.shape[-1] if x.dim() else 0
        raise ValueError(
            f"{name} does not fit {module}: expected {module.in_features} input features in the "
            f"last dimension, got {got} (shape {tuple(x.shape)} {where})"
        )
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        # isinstance, not type(): quant.add_weight_quant makes a ParametrizedConv2d subclass
        dims = next(
            d for t, d in ((nn.Conv1d, 3), (nn.Conv2d, 4), (nn.Conv3d, 5)) if isinstance(module, t)
        )
        if x.dim() != dims or x.shape[1] != module.in_channels:
            raise ValueError(
                f"{name} does not fit {module}: expected {module.in_channels} channels and "
                f"{dims - 2} spatial dimensions, got shape {tuple(x.shape)} {where}"
            )
    if isinstance(module, WEIGHTED):
        check_dtype(name, x, module)


class TimeFolded(nn.Module):
    """Apply a stateless ``module`` to every time step of ``[T, B, ...]`` by folding T into batch.

    Args:
        module: a layer without state across time steps (``nn.Conv2d``, ``nn.Linear``,
            ``nn.BatchNorm2d``, ``nn.MaxPool2d``, ``nn.Flatten``, ...).
    """

    def __init__(self, module):
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x_seq):
        """``[T, B, ...] -> [T, B, ...]``: ``module`` applied to ``x_seq.flatten(0, 1)``."""
        check_sequence("x_seq", x_seq, finite=False, floating=False)  # integer inference too
        steps, batch = x_seq.shape[:2]
        x = x_seq.flatten(0, 1)
        check_fits(self.module, x)
        y = self.module(x)
        return y.reshape(steps, batch, *y.shape[1:])


class Spiking(nn.Module):
    """A spiking neuron as a layer: input currents ``[T, B, ...]`` to spikes ``[T, B, ...]``.

    Runs ``neuron.multi_step`` (fused for :class:`spikelearn.neurons.LIF`) from rest every call
    and keeps the membrane trace of the last call, detached, in ``.mem`` for inspection/plots.

    Args:
        neuron: a spikelearn neuron (``LIF``, ``IF``, ``Synaptic``) or anything with
            ``multi_step(x_seq)`` whose first output is the spike sequence and last the membrane.
        return_mem: if True return ``(spk_seq, mem_seq)`` instead of ``spk_seq`` (use it on the
            output layer for membrane-potential losses, see :mod:`spikelearn.training`).
    """

    def __init__(self, neuron, return_mem=False):
        super().__init__()
        if not hasattr(neuron, "multi_step"):
            raise TypeError(
                f"neuron must have a multi_step(x_seq) method (e.g. spikelearn.neurons.LIF), "
                f"got {type(neuron).__name__}"
            )
        self.neuron = neuron
        self.return_mem = bool(return_mem)
        self.mem = None

    def forward(self, x_seq):
        """``[T, B, ...]`` currents to ``[T, B, ...]`` spikes (and membranes if ``return_mem``)."""
        check_sequence("x_seq", x_seq, finite=False)  # the neuron checks the values
        out = self.neuron.multi_step(x_seq)
        spk, mem = out[0], out[-1]
        self.mem = mem.detach()
        return (spk, mem) if self.return_mem else spk

    def extra_repr(self):
        return "return_mem=True" if self.return_mem else ""


def unwrap(module):
    """The layer a :class:`TimeFolded` (its ``module``) or :class:`Spiking` (its ``neuron``)
    wraps; any other module as it is."""
    if isinstance(module, TimeFolded):
        return module.module
    if isinstance(module, Spiking):
        return module.neuron
    return module


def unwrapped(model, supported=None, what="this"):
    """``[(wrapper, layer), ...]`` for an ``nn.Sequential`` of :class:`TimeFolded` / :class:`Spiking`.

    ``supported`` (a tuple of types) limits the wrapped layers; ``what`` names the caller in the
    error (e.g. ``"NIR export"``).
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    pairs = []
    for i, m in enumerate(model):
        if not isinstance(m, TimeFolded | Spiking):
            raise TypeError(
                f"model layers must be TimeFolded or Spiking, got {type(m).__name__} at index {i}"
            )
        layer = unwrap(m)
        if supported is not None and not isinstance(layer, supported):
            names = ", ".join(t.__name__ for t in supported)
            raise TypeError(f"{what} supports {names}; got {type(layer).__name__} at index {i}")
        pairs.append((m, layer))
    return pairs


def step_by_step(model, x_seq):
    """Reference single-step execution: run ``model`` on each time step ``x_seq[t:t+1]`` in a
    Python loop, carrying every neuron's membrane by hand, and stack the outputs on time.

    Works for ``nn.Sequential`` models built from :class:`TimeFolded` and :class:`Spiking`
    (``Spiking`` layers of ``LIF``/``IF``); it is the slow loop that multi-step execution replaces,
    kept to compare the two (same numbers, different speed).
    """
    check_sequence("x_seq", x_seq)
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    mems = [None] * len(model)
    outputs, out_mems = [], []
    for x in x_seq:
        h = x[None]
        for i, layer in enumerate(model):
            if isinstance(layer, Spiking):
                spk, mems[i] = layer.neuron(h[0], mems[i])
                h = spk[None]
            else:
                h = layer(h)
        outputs.append(h[0])
        out_mems.append(mems[-1])
    last = model[-1]
    if isinstance(last, Spiking) and last.return_mem:
        return torch.stack(outputs), torch.stack(out_mems)
    return torch.stack(outputs)


__all__ = [
    "TimeFolded",
    "Spiking",
    "step_by_step",
    "unwrap",
    "unwrapped",
    "WEIGHTED",
    "weighted_layers",
    "check_fits",
]
