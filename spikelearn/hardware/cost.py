"""What one inference costs: synaptic operations and energy, against the ANN twin.

An SNN layer fed spikes only adds a weight when a spike arrives: its cost is synaptic operations
(accumulates, AC), ``SOPs_l = Σ over input spikes of the fan-out of each spike``. The equivalent
ANN costs multiply-accumulates (MAC) for every connection. Energy per operation from Horowitz 2014
("Computing's energy problem: (and what we can do about it)", ISSCC; 45 nm CMOS, 32-bit float):
4.6 pJ/MAC, 0.9 pJ/AC::

    E_SNN = e_mac·(MACs of analog-fed layers) + e_ac·SOPs,     E_ANN = e_mac·MACs

Counted through forward hooks on the Linear/Conv layers, so the model is measured as it is.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive, check_sequence
from ..cells.recurrent import Recurrent
from ..networks import walk
from ..networks.layers import Spiking
from ..observe.analysis import activity

E_MAC_PJ = 4.6  # pJ per 32-bit float multiply-accumulate, 45 nm (Horowitz 2014)
E_AC_PJ = 0.9  # pJ per 32-bit float add (accumulate), 45 nm (Horowitz 2014)

COST_ASSUMPTIONS = (
    "45 nm CMOS, 32-bit float (Horowitz 2014): {e_mac:g} pJ per MAC, {e_ac:g} pJ per AC; only "
    "synaptic operations are counted (no memory access, neuron updates, biases or routing); a "
    "layer fed spikes costs one AC per spike per fan-out connection; a layer fed analog values "
    "(the first layer under direct encoding) costs dense MACs {analog}; a recurrent neuron's "
    "feedback costs one AC per spike fed back per fan-out connection; the ANN is the same "
    "network with ReLU, one dense pass of MACs"
)


def _fan_in(layer):
    """Multiply-accumulates per output element (connections into one output neuron)."""
    if isinstance(layer, nn.Linear):
        return layer.in_features
    return layer.in_channels // layer.groups * math.prod(layer.kernel_size)


def _events_times_fan_out(layer, x):
    """Exact count of (non-zero input, connection) pairs: what an event-driven chip executes."""
    active = (x != 0).to(x.dtype)
    if isinstance(layer, nn.Linear):
        return active.sum().item() * layer.out_features
    ones = torch.ones_like(layer.weight)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[active.dim() - 2]
    kw = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation)
    return conv(active, ones, groups=layer.groups, **kw).sum().item()


def _feedback_row(name, neuron, spk, steps, batch):
    """The operations of a recurrent neuron's feedback ``R(o[t-1])`` over a run with spikes ``spk``:
    the spikes of steps ``0..T-2`` are fed back (the state starts from no spikes)."""
    fed = spk[:-1].flatten(0, 1)  # [(T-1)·B, ...]
    events = (fed != 0).sum().item() / batch
    if neuron.recurrent is None:  # one-to-one: one connection per neuron
        sops, dense = events, spk[0].numel()
    else:
        sops = _events_times_fan_out(neuron.recurrent, fed) / batch if fed.numel() else 0.0
        dense = neuron.recurrent(spk[0]).numel() * _fan_in(neuron.recurrent)
    return dict(name=f"{name} (feedback)", analog_input=False, input_events=events, sops=sops,
                snn_macs=0.0, ann_macs=dense / batch)  # fmt: skip


@torch.no_grad()
def synaptic_operations(model, x, static_input=False):
    """Count, per Linear/Conv layer and per sample, the operations of one inference of ``x``.

    Args:
        model: maps ``[T, B, ...]`` to output spikes (layers wrapped in ``layers.TimeFolded``).
        x: the input sequence ``[T, B, ...]``.
        static_input: if True, an analog-fed layer whose input is the same at every step (direct
            encoding) is computed once and reused, costing one dense pass of MACs, not T.

    Every synapse the model's walk finds is counted (:mod:`spikelearn.walk`); a recurrent neuron
    (``recurrent.RLIF``, ``RSynaptic``) adds a row for its feedback weights, counted from its
    spikes (its feedback runs inside the neuron, fused, where no hook sees it).

    Returns:
        a list with one dict per layer: ``name``, ``analog_input`` (input not all 0/1),
        ``input_events`` (non-zero inputs per sample over all T steps), ``sops`` (event x fan-out
        accumulates per sample), ``snn_macs`` (dense MACs x T if ``analog_input``, once with
        ``static_input`` and an input equal at every step; else 0),
        ``ann_macs`` (dense MACs of one ANN pass).
    """
    check_sequence("x", x, min_dim=3, floating=False)
    steps, batch = x.shape[:2]
    sites = walk.walk(model)
    for s in sites:
        if s.kind is None:
            raise TypeError(
                f"synaptic_operations does not know the layer {type(s.layer).__name__} at "
                f"{s.name!r}, so it cannot count its operations (for an integer network, count "
                f"those of the prepare_integer model it came from: the same synapses)"
            )
    layers = [(s.name, s.layer) for s in sites if s.kind == "synapse"]
    recurrent = [(s.name, s.layer, s.wrapper) for s in sites if isinstance(s.layer, Recurrent)]
    if not layers and not recurrent:
        raise ValueError("model has no Linear/Conv layer to count operations for")
    for name, _, wrapper in recurrent:
        if not isinstance(wrapper, Spiking):
            raise TypeError(
                f"the recurrent neuron at {name!r} must run in a layers.Spiking layer to be counted"
            )
    rows, handles = {}, []

    def hook(name, layer):
        def record(module, args, output):
            inp = args[0]
            analog = not bool(((inp == 0) | (inp == 1)).all())
            dense = output.numel() * _fan_in(layer)
            seq = inp.reshape(steps, batch, -1)
            passes = 1 if static_input and bool((seq == seq[:1]).all()) else steps
            rows[name] = dict(
                name=name,
                analog_input=analog,
                input_events=(inp != 0).sum().item() / batch,
                sops=0.0 if analog else _events_times_fan_out(layer, inp) / batch,
                snn_macs=dense / batch / steps * passes if analog else 0.0,
                ann_macs=dense / batch / steps,
            )

        return record

    def feedback_hook(name, neuron):
        def record(module, args, output):
            spk = output[0] if isinstance(output, tuple) else output
            rows[name + "/feedback"] = _feedback_row(name, neuron, spk, steps, batch)

        return record

    for name, layer in layers:
        handles.append(layer.register_forward_hook(hook(name, layer)))
    for name, neuron, wrapper in recurrent:
        handles.append(wrapper.register_forward_hook(feedback_hook(name, neuron)))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    order = [n for n, _ in layers] + [n + "/feedback" for n, _, _ in recurrent]
    order.sort(key=lambda n: [s.name for s in sites].index(n.removesuffix("/feedback")))
    return [rows[n] for n in order if n in rows]


@torch.no_grad()
def energy_estimate(model, x, e_mac=E_MAC_PJ, e_ac=E_AC_PJ, static_input=False):
    """Synaptic operations, spikes per neuron and the energy of the SNN against its ANN twin.

    ``E_SNN = e_mac·(MACs of analog-fed layers) + e_ac·SOPs``, ``E_ANN = e_mac·MACs``, per sample.
    ``static_input`` as in :func:`synaptic_operations`.

    Returns:
        dict with ``layers`` (see :func:`synaptic_operations`), totals ``sops``, ``snn_macs``,
        ``ann_macs``, ``energy_snn_pj``, ``energy_ann_pj``, ``ratio`` (ANN / SNN),
        ``spikes_per_neuron`` (per spiking layer) and ``assumptions`` (a sentence to print with
        the numbers).
    """
    check_positive("e_mac", e_mac)
    check_positive("e_ac", e_ac)
    layers = synaptic_operations(model, x, static_input)
    sops = sum(r["sops"] for r in layers)
    snn_macs = sum(r["snn_macs"] for r in layers)
    ann_macs = sum(r["ann_macs"] for r in layers)
    e_snn, e_ann = e_mac * snn_macs + e_ac * sops, e_mac * ann_macs
    try:
        spn = activity(model, x).spikes_per_neuron
    except ValueError:  # no Spiking layer (an ANN): no spikes to count
        spn = {}
    analog = "once, reused at every step" if static_input else "at every one of the T steps"
    assumptions = COST_ASSUMPTIONS.format(e_mac=e_mac, e_ac=e_ac, analog=analog)
    if (e_mac, e_ac) != (E_MAC_PJ, E_AC_PJ):
        assumptions = "user energies, " + assumptions.replace(" (Horowitz 2014)", "")
    return dict(
        layers=layers, sops=sops, snn_macs=snn_macs, ann_macs=ann_macs,
        energy_snn_pj=e_snn, energy_ann_pj=e_ann, ratio=e_ann / e_snn if e_snn else math.inf,
        spikes_per_neuron=spn, assumptions=assumptions,
    )  # fmt: skip


def format_cost(report):
    """A short table of an :func:`energy_estimate` report, with its assumptions beside the numbers."""
    lines = [f"{'layer':<16}{'input':>8}{'SOPs (AC)':>12}{'SNN MACs':>12}{'ANN MACs':>12}"]
    for r in report["layers"]:
        kind = "analog" if r["analog_input"] else "spikes"
        lines.append(
            f"{r['name']:<16}{kind:>8}{r['sops']:>12.0f}{r['snn_macs']:>12.0f}{r['ann_macs']:>12.0f}"
        )
    lines.append(
        f"energy per sample: SNN {report['energy_snn_pj'] / 1e3:.2f} nJ, "
        f"ANN {report['energy_ann_pj'] / 1e3:.2f} nJ (ANN/SNN = {report['ratio']:.2f})"
    )
    lines.append("assumptions: " + report["assumptions"])
    return "\n".join(lines)


__all__ = ["synaptic_operations", "energy_estimate", "format_cost", "E_MAC_PJ", "E_AC_PJ"]
