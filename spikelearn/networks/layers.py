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

from .._checks import check_dtype, check_sequence

CONVS = {nn.Conv1d: 3, nn.Conv2d: 4, nn.Conv3d: 5}  # each convolution's input rank


def check_fits(module, x, name="x_seq", where="with time folded into batch"):
    """``x`` ``[N, ...]`` must fit a Linear/Conv ``module``: a named error, not torch's, naming
    ``name`` (the caller's parameter) and the shape ``x`` has ``where``."""
    if isinstance(module, nn.Linear) and (x.dim() < 1 or x.shape[-1] != module.in_features):
        got = x.shape[-1] if x.dim() else 0
        raise ValueError(
            f"{name} does not fit {module}: expected {module.in_features} input features in the "
            f"last dimension, got {got} (shape {tuple(x.shape)} {where})"
        )
    if type(module) in CONVS:
        dims = CONVS[type(module)]
        if x.dim() != dims or x.shape[1] != module.in_channels:
            raise ValueError(
                f"{name} does not fit {module}: expected {module.in_channels} channels and "
                f"{dims - 2} spatial dimensions, got shape {tuple(x.shape)} {where}"
            )
    if isinstance(module, nn.Linear) or type(module) in CONVS:
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

    Runs ``neuron.multi_step`` (fused where the neuron has a kernel) from rest every call and
    keeps the membrane trace of the last call, detached, in ``.mem`` for inspection/plots. Inside
    :func:`step_by_step` it instead calls the neuron's one-step ``neuron(x, *state)`` and carries
    the state from one call to the next.

    Args:
        neuron: a spikelearn neuron (``neurons.LIF``, ``IF``, ``Synaptic``, ``recurrent.RLIF``,
            ...) or anything with ``multi_step(x_seq)`` whose first output is the spike sequence
            and last the membrane.
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
        self.carried = None  # the state between calls while step_by_step runs, else None

    def forward(self, x_seq):
        """``[T, B, ...]`` currents to ``[T, B, ...]`` spikes (and membranes if ``return_mem``)."""
        check_sequence("x_seq", x_seq, finite=False, floating=False)  # the neuron checks values
        if self.carried is None:
            out = self.neuron.multi_step(x_seq)
        else:  # one step at a time, the state carried over from the previous call
            out = [self.neuron(x_seq[0], *self.carried)]
            names = self.neuron.outputs()
            self.carried = [out[0][names.index(name)] for name in self.neuron.state]
            out = [o[None] for o in out[0]]
        spk, mem = out[0], out[-1]
        self.mem = mem.detach()
        return (spk, mem) if self.return_mem else spk

    def extra_repr(self):
        return "return_mem=True" if self.return_mem else ""


def step_by_step(model, x_seq):
    """Reference single-step execution: run ``model`` on one time step ``x_seq[t:t+1]`` at a time,
    every neuron called one step at a time (``neuron(x, *state)``) with its state carried over,
    and stack the outputs on time.

    It is the slow loop that multi-step execution replaces, kept to compare the two: the same
    numbers for every spikelearn neuron, in any model whose state lives in ``Spiking`` layers
    (every other layer must treat each time step alike). Batch norm in training mode computes
    its statistics over the steps it sees, so it needs ``model.eval()`` here (``ValueError``).
    """
    check_sequence("x_seq", x_seq, floating=False)
    spiking = [m for m in model.modules() if isinstance(m, Spiking)]
    for m in spiking:
        if not all(hasattr(m.neuron, a) for a in ("state", "outputs", "step")):
            raise TypeError(
                "step_by_step runs spikelearn neurons one step at a time; got "
                f"{type(m.neuron).__name__}, which has no one-step call"
            )
    if model.training and any(hasattr(m, "running_mean") for m in model.modules()):
        raise ValueError(
            "model has batch norm in training mode, whose statistics over one step differ from "
            "those over the sequence: call model.eval() before step_by_step"
        )
    outputs, mems = [], {m: [] for m in spiking}
    try:
        for m in spiking:
            m.carried = []
        for x in x_seq:
            outputs.append(model(x[None]))
            for m in spiking:
                mems[m].append(m.mem)
    finally:
        for m in spiking:
            m.carried = None
    for m in spiking:
        m.mem = torch.cat(mems[m])
    if isinstance(outputs[0], tuple | list):
        return tuple(torch.cat(parts) for parts in zip(*outputs, strict=True))
    return torch.cat(outputs)


__all__ = ["TimeFolded", "Spiking", "step_by_step", "check_fits", "CONVS"]
