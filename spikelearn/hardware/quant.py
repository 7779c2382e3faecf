"""Quantisation for neuromorphic hardware: fewer bits for weights and membranes, integer inference.

Weights (symmetric, ``k`` bits, scale ``s``; per tensor or per output channel)::

    q = clamp(round(w / s), -q_max, q_max),   q_max = 2**(k-1) - 1,   ŵ = s·q
    k = 1: ŵ = s·sign(w) with s = mean|w|      (BinaryConnect / XNOR-Net)

so ``k`` bits give exactly ``2**k - 1`` levels (``k >= 2``: ternary at ``k = 2``) or 2 levels
(``k = 1``). The forward pass uses ``ŵ``; the backward pass lets the gradient through unchanged
(the straight-through estimator, Bengio et al. 2013), which is quantisation-aware training (QAT).
Post-training quantisation (PTQ) just rounds a trained model's weights once.

Membranes: :func:`state_quant` snaps ``u[t]`` to the same uniform levels as snnTorch's
``snntorch.functional.quant.state_quant``; :func:`fixed_point` floors it to an integer grid the way
an integer datapath does. Any spikelearn neuron applies either after every update when given as
its ``state_quant`` (``neurons.LIF(0.9, state_quant=quant.state_quant(8))``, snnTorch's
convention); :func:`add_state_quant` gives one to every neuron of a model.

Integer-only inference on top of these quantisers: :mod:`spikelearn.integer`.
"""

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize

from .._checks import check_int, check_positive, check_range, check_tensor
from ..networks import walk


def _ste(x, q):
    """Straight-through: the value of ``q``, the gradient of ``x`` (``x - x.detach()`` is exactly 0)."""
    return q.detach() + (x - x.detach())


def _check_bits(name, bits, low=1):
    return check_int(name, bits, low=low)


def weight_levels(bits):
    """The integer levels a ``bits``-bit symmetric weight can take: ``{-1, 1}`` or ``-q_max..q_max``."""
    bits = _check_bits("bits", bits)
    if bits == 1:
        return torch.tensor([-1, 1])
    q_max = 2 ** (bits - 1) - 1
    return torch.arange(-q_max, q_max + 1)


def weight_scale(w, bits, per_channel=False, pow2=False):
    """Scale ``s`` with ``max|w| = q_max·s`` (``mean|w|`` for 1 bit); per output channel if asked.

    ``pow2=True`` rounds ``s`` up to a power of two (hardware shifts instead of multiplies).
    """
    check_tensor("w", w, min_dim=1)
    bits = _check_bits("bits", bits)
    a = w.detach().abs()
    dims = tuple(range(1, w.dim())) if per_channel else tuple(range(w.dim()))
    if bits == 1:
        s = a.mean(dim=dims, keepdim=per_channel) if dims else a
    else:
        s = a.amax(dim=dims, keepdim=per_channel) / (2 ** (bits - 1) - 1) if dims else a
    s = torch.where(s > 0, s, torch.ones_like(s))  # an all-zero tensor keeps scale 1
    if pow2:
        s = torch.exp2(torch.ceil(torch.log2(s)))
    return s


def quantize(w, bits, per_channel=False, pow2=False, scale=None):
    """Integer weights and their scale: returns ``(q, s)`` with ``q`` int64 and ``ŵ = s·q``."""
    check_tensor("w", w, min_dim=1)
    bits = _check_bits("bits", bits)
    s = weight_scale(w, bits, per_channel, pow2) if scale is None else torch.as_tensor(scale)
    check_positive("scale", s)
    if bits == 1:
        q = torch.where(w.detach() >= 0, 1, -1)
    else:
        q_max = 2 ** (bits - 1) - 1
        q = torch.clamp(torch.round(w.detach() / s), -q_max, q_max)
    return q.to(torch.int64), s


def fake_quantize(w, bits, per_channel=False, pow2=False, scale=None):
    """``ŵ = s·q`` in the forward pass, identity gradient in the backward pass (straight-through)."""
    q, s = quantize(w, bits, per_channel, pow2, scale)
    w_hat = (q.to(w.dtype) * s).to(w.dtype)
    return _ste(w, w_hat)


class WeightQuant(nn.Module):
    """A parametrization: the layer keeps float weights but always uses their fake-quantised copy."""

    def __init__(self, bits, per_channel=False, pow2=False):
        super().__init__()
        self.bits, self.per_channel, self.pow2 = _check_bits("bits", bits), per_channel, pow2

    def forward(self, w):
        return fake_quantize(w, self.bits, self.per_channel, self.pow2)

    def extra_repr(self):
        return f"bits={self.bits}, per_channel={self.per_channel}, pow2={self.pow2}"


def _layers_to_quantise(model):
    layers = [site.layer for site in walk.walk(model) if site.kind == "synapse"]
    if not layers:
        raise ValueError("model has no Linear/Conv layer to quantise")
    return layers


def add_weight_quant(model, bits, per_channel=False, pow2=False):
    """Quantisation-aware training: every Linear/Conv weight is fake-quantised on each forward.

    The float weights stay trainable (``layer.parametrizations.weight.original``); call
    :func:`remove_weight_quant` after training to bake the quantised values in. Returns ``model``.
    """
    _check_bits("bits", bits)
    for layer in _layers_to_quantise(model):
        if not parametrize.is_parametrized(layer, "weight"):
            parametrize.register_parametrization(
                layer, "weight", WeightQuant(bits, per_channel, pow2)
            )
    return model


def remove_weight_quant(model):
    """Replace each parametrized weight by its quantised value (a plain tensor again)."""
    for layer in _layers_to_quantise(model):
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    return model


@torch.no_grad()
def quantize_weights(model, bits, per_channel=False, pow2=False, inplace=False):
    """Post-training quantisation: round every Linear/Conv weight to ``bits`` bits once."""
    model = model if inplace else copy.deepcopy(model)
    for layer in _layers_to_quantise(model):
        layer.weight.copy_(fake_quantize(layer.weight, bits, per_channel, pow2))
    return model


@torch.no_grad()
def add_weight_noise(model, std, seed=0, inplace=False):
    """Device variation: ``w += N(0, (std·max|w|)²)`` per Linear/Conv weight tensor (a copy by default)."""
    check_range("std", std, low=0)
    model = model if inplace else copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    for layer in _layers_to_quantise(model):
        w = layer.weight
        noise = torch.randn(w.shape, generator=gen, dtype=w.dtype).to(w.device)
        w.add_(noise * std * w.abs().max())
    return model


class StateQuant(nn.Module):
    """Snap a membrane to the nearest of ``levels`` (ties go to the lower level); gradient passes."""

    def __init__(self, levels):
        super().__init__()
        check_tensor("levels", levels, min_dim=1, max_dim=1)
        self.register_buffer("levels", torch.sort(levels).values)

    def forward(self, mem):
        lv = self.levels.to(mem.device, mem.dtype)
        n = len(lv)
        step = (lv[-1] - lv[0]) / max(n - 1, 1)
        # the nearest level is next to the estimate; check three neighbours so float error is harmless
        i = torch.floor((mem.detach() - lv[0]) / step).long()
        cand = torch.stack([(i + d).clamp(0, n - 1) for d in (-1, 0, 1, 2)])
        best = torch.argmin((lv[cand] - mem.detach()).abs(), dim=0, keepdim=True)  # first = lowest
        idx = torch.gather(cand, 0, best).squeeze(0)
        return _ste(mem, lv[idx])

    def extra_repr(self):
        return f"{len(self.levels)} levels in [{self.levels[0]:.4g}, {self.levels[-1]:.4g}]"


def state_quant(num_bits=8, threshold=1.0, lower_limit=0.0, upper_limit=0.2):
    """Uniform membrane quantiser with the levels of snnTorch's ``state_quant(uniform=True)``.

    ``2**num_bits`` levels evenly spaced from ``-threshold·(1 + lower_limit)`` to
    ``threshold·(1 + upper_limit)``.
    """
    num_bits = _check_bits("num_bits", num_bits)
    check_positive("threshold", threshold)
    check_range("lower_limit", lower_limit, low=0)
    check_range("upper_limit", upper_limit, low=0)
    levels = torch.linspace(
        -threshold - threshold * lower_limit, threshold + threshold * upper_limit, 2**num_bits
    )
    return StateQuant(levels)


class FixedPoint(nn.Module):
    """Floor a membrane to the grid ``step`` and saturate to ``bits``-bit two's complement.

    ``u -> step·clamp(floor(u / step), -2**(bits-1), 2**(bits-1) - 1)``: what an integer register
    holding ``U = u / step`` does after a right shift. Gradient passes straight through.
    """

    def __init__(self, step, bits=None):
        super().__init__()
        self.step = float(check_positive("step", step))
        self.bits = None if bits is None else _check_bits("bits", bits, low=2)

    def forward(self, mem):
        u = torch.floor(mem.detach() / self.step)
        if self.bits is not None:
            u = u.clamp(-(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1)
        return _ste(mem, u * self.step)

    def extra_repr(self):
        return f"step={self.step:g}, bits={self.bits}"


def fixed_point(step, bits=None):
    """A :class:`FixedPoint` membrane quantiser (grid ``step``, optional saturation to ``bits``)."""
    return FixedPoint(step, bits)


def add_state_quant(model, num_bits=8, lower_limit=0.0, upper_limit=0.2, quantiser=None):
    """A copy of ``model`` whose neurons quantise their state after every update.

    Each neuron keeps its class and its parameters and gets a ``state_quant``:
    ``state_quant(num_bits, its threshold, lower_limit, upper_limit)``, or the one ``quantiser`` callable if given (e.g.
    snnTorch's ``state_quant(...)``). Every spikelearn neuron whose state is float and updated
    is supported (it quantises all its state but the spikes, as snnTorch does; a fused kernel then
    gives way to the step loop); an integer neuron or a layer of unknown kind raises a
    ``TypeError`` naming it.
    """
    _check_bits("num_bits", num_bits)
    if quantiser is not None and not callable(quantiser):
        raise TypeError(f"quantiser must be callable, got {type(quantiser).__name__}")
    model = copy.deepcopy(model)
    sites = walk.walk(model)
    for site in sites:
        if site.kind == "neuron" and site.layer.integer:
            raise TypeError(
                f"add_state_quant supports neurons with a float state; "
                f"{type(site.layer).__name__} at {site.name!r} is already integer"
            )
    for site in sites:
        if site.kind is None:
            raise TypeError(
                f"add_state_quant does not know the layer {type(site.layer).__name__} at "
                f"{site.name!r} (a neuron it cannot quantise, or not a neuron?)"
            )
    found = [site.layer for site in sites if site.kind == "neuron"]
    if not found:
        raise ValueError("model has no spikelearn neuron to quantise")
    for n in found:
        if n.state_quant is not None:
            raise ValueError(f"{type(n).__name__} already has a state_quant ({n.state_quant!r})")
        if quantiser is None and n.threshold.numel() != 1:
            raise ValueError("add_state_quant needs one threshold per layer")
        thr = None if quantiser is not None else n.threshold.item()
        n.state_quant = quantiser or state_quant(num_bits, thr, lower_limit, upper_limit)
    return model


def dyadic(value, frac_bits=8):
    """Fixed-point ``value ≈ m / 2**frac_bits``: returns ``(m, frac_bits)`` with ``m`` an int."""
    check_range("value", value, low=0, high=1)
    frac_bits = _check_bits("frac_bits", frac_bits, low=0)
    return int(round(float(value) * 2**frac_bits)), frac_bits


__all__ = [
    "weight_levels",
    "weight_scale",
    "quantize",
    "fake_quantize",
    "WeightQuant",
    "add_weight_quant",
    "remove_weight_quant",
    "quantize_weights",
    "add_weight_noise",
    "StateQuant",
    "state_quant",
    "FixedPoint",
    "fixed_point",
    "add_state_quant",
    "dyadic",
]
