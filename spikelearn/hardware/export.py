"""Export a trained network to NIR, the Neuromorphic Intermediate Representation, and back.

NIR (Pedersen et al. 2024, "Neuromorphic intermediate representation: a unified instruction set
for interoperable brain-inspired computing", Nature Communications, arXiv 2311.14641) describes a
network as a graph of continuous-time nodes that simulators and chips (Lava/Loihi, SpiNNaker2,
Speck, Xylo, snnTorch, Norse, ...) read. Its LIF node is

    τ·dv/dt = (v_leak - v) + R·I,    spike when v > v_threshold, then v = v_reset

One Euler step of length ``dt`` gives ``v[t] = (1 - dt/τ)·v[t-1] + (dt·R/τ)·I[t]``, so our discrete
LIF maps, as in snnTorch's ``export_nir`` (``dt = 1e-4``), to::

    τ = dt / (1 - β),   R = τ / dt  (input gain dt·R/τ = 1),   v_leak = 0,   v_reset = 0

and the IF neuron (``dv/dt = R·I``) to ``R = 1 / dt``. NIR resets to ``v_reset``; a spikelearn
neuron's ``reset_mechanism`` (``"subtract"`` by default) is kept in the node's ``metadata`` and
restored by :func:`from_nir` (a NIR file without it gets NIR's reset to zero).
Surrogate gradients are a training device, not part of the network: imported neurons get the
default one.

Portability. :func:`from_nir` reads back every graph :func:`to_nir` writes, bit for bit. Other NIR
readers see only the NIR fields: they reset to ``v_reset = 0`` (not spikelearn's default
subtraction), and snnTorch's importer (``snntorch.import_from_nir``) also refuses per-neuron
thresholds and IF nodes (it asserts ``r = 1``). The subset snnTorch's importer runs with the same
spikes, bit for bit (``tests/test_export.py`` checks it), is: ``Linear`` layers (with or without
bias) and ``LIF(beta, threshold, reset_mechanism="zero")`` (``"zero_before"``) neurons with ``beta < 1`` (one, or one
per neuron) and one threshold per layer; its importer does not run Conv2d/AvgPool2d/Flatten chains
from spikelearn exports as they were (a shape error), so those are outside the subset too. (snnTorch resets in the step of the spike, ``reset_delay=False``; the spikes
are the same as spikelearn's zero reset, the membrane trace shows the reset one step earlier.)
:func:`to_nir` warns with :class:`NIRPortabilityWarning` when a graph leaves that subset, and
``strict=True`` raises instead.

``nir`` is an optional dependency (``pip install nir``)::

    graph = to_nir(net, input_shape=(1, 8, 8))
    nir.write("net.nir", graph)
    net2 = from_nir(nir.read("net.nir"))      # the same spikes as ``net``
"""

import warnings

import numpy as np
import torch
from torch import nn

from .._checks import check_int, check_positive
from ..cells.neurons import IF, LIF
from ..networks import walk
from ..networks.layers import Spiking, TimeFolded, check_fits

DT = 1e-4  # the Euler step snnTorch's NIR export and import assume
SUPPORTED = (nn.Linear, nn.Conv2d, nn.Flatten, nn.AvgPool2d, LIF, IF)  # what a NIR node can hold
PORTABLE = (nn.Linear, LIF, IF)  # with the conditions of _portability: snnTorch's importer


class NIRPortabilityWarning(UserWarning):
    """A NIR graph that other readers (snnTorch's importer) would simulate differently."""


def _portability(i, layer):
    """Why layer ``i`` is outside the subset snnTorch's importer reproduces (empty if inside)."""
    if type(layer) not in PORTABLE:
        return [f"layer {i} ({type(layer).__name__}) is not in the tested subset (Linear, LIF)"]
    if isinstance(layer, nn.Linear):
        return []
    issues = []
    if type(layer) is IF or bool((layer.beta.clamp(0, 1) == 1).all()):
        issues.append(f"layer {i} is an IF node (snnTorch's importer asserts r = 1)")
    if layer.reset_mechanism != "zero_before":
        issues.append(
            f"layer {i} resets by {layer.reset_mechanism!r}; other readers reset to v_reset = 0"
        )
    if layer.threshold.numel() != 1:
        issues.append(f"layer {i} has per-neuron thresholds (snnTorch's importer needs one)")
    return issues


def _nir():
    try:
        import nir
    except ImportError as err:  # pragma: no cover - nir is in the [dev] extra
        raise ImportError("NIR export needs the nir package: pip install nir") from err
    return nir


def _np(t):
    return t.detach().cpu().double().numpy()


def _node(layer, shape, dt):
    """The NIR node of one layer whose per-sample input shape is ``shape``."""
    nir = _nir()
    if isinstance(layer, nn.Linear):
        if layer.bias is None:
            return nir.Linear(weight=_np(layer.weight))
        return nir.Affine(weight=_np(layer.weight), bias=_np(layer.bias))
    if isinstance(layer, nn.Conv2d):
        bias = torch.zeros(layer.out_channels) if layer.bias is None else layer.bias
        return nir.Conv2d(
            input_shape=tuple(shape[1:]), weight=_np(layer.weight), stride=layer.stride,
            padding=layer.padding, dilation=layer.dilation, groups=layer.groups, bias=_np(bias),
        )  # fmt: skip
    if isinstance(layer, nn.Flatten):
        end = layer.end_dim - 1 if layer.end_dim > 0 else layer.end_dim
        return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=layer.start_dim - 1,
                           end_dim=end)  # fmt: skip
    if isinstance(layer, nn.AvgPool2d):
        stride = layer.kernel_size if layer.stride is None else layer.stride
        return nir.AvgPool2d(kernel_size=np.array(layer.kernel_size) * np.ones(2, int),
                             stride=np.array(stride) * np.ones(2, int),
                             padding=np.array(layer.padding) * np.ones(2, int))  # fmt: skip
    if type(layer) in (LIF, IF):
        ones = np.ones(shape)
        beta, thr = _np(layer.beta.clamp(0, 1)) * ones, _np(layer.threshold) * ones
        meta = {"reset_mechanism": layer.reset_mechanism}
        if np.all(beta == 1):
            return nir.IF(r=ones / dt, v_threshold=thr, v_reset=0 * ones, metadata=meta)
        if np.any(beta >= 1):
            raise ValueError("NIR needs beta < 1 for every neuron of a LIF layer (or all 1: IF)")
        tau = dt / (1 - beta)
        return nir.LIF(tau=tau, r=tau / dt, v_leak=0 * ones, v_threshold=thr, v_reset=0 * ones,
                       metadata=meta)  # fmt: skip
    raise TypeError(
        f"NIR export supports Linear, Conv2d, Flatten, AvgPool2d, LIF and IF, got {type(layer).__name__}"
    )


@torch.no_grad()
def to_nir(model, input_shape, dt=DT, strict=False):
    """A ``nir.NIRGraph`` of an ``nn.Sequential`` of ``layers.TimeFolded`` / ``layers.Spiking``.

    Args:
        model: the trained network (Linear/Conv2d/Flatten/AvgPool2d layers, LIF/IF neurons).
        input_shape: one sample's shape without time and batch, e.g. ``(1, 8, 8)`` or ``(64,)``.
        dt: the Euler step that maps ``β`` to ``τ`` (snnTorch's ``1e-4`` by default).
        strict: raise ``ValueError`` instead of warning (:class:`NIRPortabilityWarning`) when
            the graph leaves the subset other readers simulate the same way (module docstring).
    """
    nir = _nir()
    check_positive("dt", dt)
    if isinstance(input_shape, int) or not hasattr(input_shape, "__iter__"):
        raise TypeError(f"input_shape must be a tuple of ints, got {input_shape!r}")
    shape = tuple(check_int("input_shape", s, low=1) for s in input_shape)
    sites = walk.chain(model, SUPPORTED, "NIR export")  # checked before any node is built
    nodes, x = {"input": nir.Input(input_type={"input": np.array(shape)})}, torch.zeros(1, *shape)
    issues = []
    for i, site in enumerate(sites):
        layer = site.layer
        issues += _portability(i, layer)
        nodes[str(i)] = _node(layer, x.shape[1:], dt)
        if isinstance(site.wrapper, TimeFolded):
            check_fits(layer, x, "input_shape", f"for input_shape={shape}")
            x = layer(x)
    nodes["output"] = nir.Output(output_type={"output": np.array(x.shape[1:])})
    if issues:
        message = "the NIR graph is not portable: " + "; ".join(issues)
        if strict:
            raise ValueError(message)
        warnings.warn(message, NIRPortabilityWarning, stacklevel=3)  # past no_grad
    names = list(nodes)
    return nir.NIRGraph(
        nodes=nodes, edges=list(zip(names[:-1], names[1:], strict=True)), metadata={}
    )


def _tensor(a):
    a = torch.as_tensor(np.asarray(a, dtype=np.float64)).to(torch.get_default_dtype())
    return a.flatten()[0] if bool((a == a.flatten()[0]).all()) else a


def _reset(node):
    reset = node.metadata.get("reset_mechanism", "zero")
    return reset.decode() if isinstance(reset, bytes) else str(reset)


def _layer(node, dt):
    nir = _nir()
    if isinstance(node, nir.Affine | nir.Linear):
        w = torch.as_tensor(np.asarray(node.weight, dtype=np.float64))
        lin = nn.Linear(w.shape[1], w.shape[0], bias=isinstance(node, nir.Affine))
        lin.weight.copy_(w)
        if lin.bias is not None:
            lin.bias.copy_(torch.as_tensor(np.asarray(node.bias, dtype=np.float64)))
        return TimeFolded(lin)
    if isinstance(node, nir.Conv2d):
        w = torch.as_tensor(np.asarray(node.weight, dtype=np.float64))
        padding = (
            node.padding if isinstance(node.padding, str) else tuple(int(p) for p in node.padding)
        )
        conv = nn.Conv2d(w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[2:]),
                         stride=tuple(int(s) for s in node.stride), padding=padding,
                         dilation=tuple(int(d) for d in node.dilation), groups=int(node.groups))  # fmt: skip
        conv.weight.copy_(w)
        conv.bias.copy_(torch.as_tensor(np.asarray(node.bias, dtype=np.float64)))
        return TimeFolded(conv)
    if isinstance(node, nir.Flatten):
        end = int(node.end_dim) + 1 if int(node.end_dim) >= 0 else int(node.end_dim)
        return TimeFolded(nn.Flatten(int(node.start_dim) + 1, end))
    if isinstance(node, nir.AvgPool2d):
        return TimeFolded(nn.AvgPool2d(tuple(int(k) for k in node.kernel_size),
                                       tuple(int(s) for s in node.stride),
                                       tuple(int(p) for p in node.padding)))  # fmt: skip
    if isinstance(node, nir.LIF | nir.IF):
        if not np.allclose(node.v_reset, 0):
            raise ValueError("only v_reset = 0 is supported")
        gain = node.r * dt / node.tau if isinstance(node, nir.LIF) else node.r * dt
        if not np.allclose(gain, 1):
            raise ValueError(f"only an input gain dt·R/τ = 1 is supported (dt={dt}), got {gain}")
        thr = _tensor(node.v_threshold)
        if isinstance(node, nir.IF):
            return Spiking(IF(threshold=thr, reset_mechanism=_reset(node)))
        if not np.allclose(node.v_leak, 0):
            raise ValueError("only v_leak = 0 is supported")
        beta = _tensor(1 - dt / np.asarray(node.tau, dtype=np.float64))
        return Spiking(LIF(beta, threshold=thr, reset_mechanism=_reset(node)))
    raise TypeError(f"NIR import supports Affine, Linear, Conv2d, Flatten, AvgPool2d, LIF, IF; "
                    f"got {type(node).__name__}")  # fmt: skip


@torch.no_grad()
def from_nir(graph, dt=DT):
    """An ``nn.Sequential`` of ``layers.TimeFolded`` / ``layers.Spiking`` from a chain-shaped graph."""
    nir = _nir()
    check_positive("dt", dt)
    nxt = {}
    for a, b in graph.edges:
        if a in nxt:
            raise ValueError(f"only chain-shaped graphs are supported; node {a!r} has two outputs")
        nxt[a] = b
    starts = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(starts) != 1:
        raise ValueError(f"the graph must have exactly one Input node, got {len(starts)}")
    layers, name = [], nxt.get(starts[0])
    while name is not None and not isinstance(graph.nodes[name], nir.Output):
        layers.append(_layer(graph.nodes[name], dt))
        name = nxt.get(name)
    return nn.Sequential(*layers)


__all__ = ["DT", "NIRPortabilityWarning", "to_nir", "from_nir"]
