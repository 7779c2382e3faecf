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
an integer datapath does. :class:`QuantLIF` applies either after every update, as snnTorch does.

Integer-only inference (:func:`prepare_integer`, then :func:`to_integer`) uses integer weights, an
integer membrane ``U``, an integer threshold ``Θ`` and a dyadic leak ``β = m / 2**n``::

    U[t] = (m·U[t-1]) >> n + Σ Q·X[t] + B - r[t]·Θ

Its spikes equal the fake-quantised float model's exactly: with power-of-two scales every float
in that model is an integer times a power of two, and float32 holds such numbers, their sums and
their products without rounding while the integers stay below ``2**24``. Flooring ``β·u`` to the
membrane grid is then the right shift. The condition (``|U|, |I|, Θ <= 2**(22 - n)``) is reported
by each :class:`IntegerLIF` as ``exact_in_float32`` (see ``tests/test_quant.py``).
"""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ._checks import check_int, check_positive, check_range, check_tensor
from .neurons import LIF

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d)


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


def _weighted(model):
    layers = [m for m in model.modules() if isinstance(m, WEIGHTED)]
    if not layers:
        raise ValueError("model has no Linear/Conv layer to quantise")
    return layers


def add_weight_quant(model, bits, per_channel=False, pow2=False):
    """Quantisation-aware training: every Linear/Conv weight is fake-quantised on each forward.

    The float weights stay trainable (``layer.parametrizations.weight.original``); call
    :func:`remove_weight_quant` after training to bake the quantised values in. Returns ``model``.
    """
    _check_bits("bits", bits)
    for layer in _weighted(model):
        if not parametrize.is_parametrized(layer, "weight"):
            parametrize.register_parametrization(
                layer, "weight", WeightQuant(bits, per_channel, pow2)
            )
    return model


def remove_weight_quant(model):
    """Replace each parametrized weight by its quantised value (a plain tensor again)."""
    for layer in _weighted(model):
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    return model


@torch.no_grad()
def quantize_weights(model, bits, per_channel=False, pow2=False, inplace=False):
    """Post-training quantisation: round every Linear/Conv weight to ``bits`` bits once."""
    model = model if inplace else copy.deepcopy(model)
    for layer in _weighted(model):
        layer.weight.copy_(fake_quantize(layer.weight, bits, per_channel, pow2))
    return model


@torch.no_grad()
def add_weight_noise(model, std, seed=0, inplace=False):
    """Device variation: ``w += N(0, (std·max|w|)²)`` per Linear/Conv weight tensor (a copy by default)."""
    check_range("std", std, low=0)
    model = model if inplace else copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    for layer in _weighted(model):
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


class QuantLIF(LIF):
    """An LIF whose membrane is quantised after each update, like ``snntorch.Leaky(state_quant=...)``.

    ``state_quant`` is any callable on the membrane: :func:`state_quant`, :func:`fixed_point` or
    snnTorch's own ``snntorch.functional.quant.state_quant(...)``. Other args as :class:`LIF`.
    ``multi_step`` runs the plain step loop: the fused kernel has no quantiser.
    """

    def __init__(self, beta, threshold=1.0, spike_grad=None, reset_mechanism="subtract",
                 state_quant=None, learn_beta=False, learn_threshold=False):  # fmt: skip
        super().__init__(beta, threshold, spike_grad, reset_mechanism, learn_beta, learn_threshold)
        if state_quant is not None and not callable(state_quant):
            raise TypeError(f"state_quant must be callable, got {type(state_quant).__name__}")
        self.state_quant = state_quant

    def _integrate(self, x, mem, reset):
        mem = super()._integrate(x, mem, reset)
        return mem if self.state_quant is None else self.state_quant(mem)


def add_state_quant(model, num_bits=8, lower_limit=0.0, upper_limit=0.2, quantiser=None):
    """A copy of ``model`` whose LIF/IF neurons are :class:`QuantLIF` with quantised membranes.

    Each neuron gets ``state_quant(num_bits, its threshold, lower_limit, upper_limit)``, or the
    one ``quantiser`` callable if given (e.g. snnTorch's ``state_quant(...)``).
    """
    _check_bits("num_bits", num_bits)
    model = copy.deepcopy(model)
    parents = [m for m in model.modules() if isinstance(getattr(m, "neuron", None), LIF)]
    if not parents:
        raise ValueError("model has no Spiking(LIF/IF) layer to quantise")
    for parent in parents:
        n = parent.neuron
        if n.threshold.numel() != 1:
            raise ValueError("add_state_quant needs one threshold per layer")
        thr = n.threshold.item()
        sq = quantiser or state_quant(num_bits, thr, lower_limit, upper_limit)
        parent.neuron = QuantLIF(n.beta.detach().clone(), thr, n.spike_grad, n.reset_mechanism, sq)
    return model


def dyadic(value, frac_bits=8):
    """Fixed-point ``value ≈ m / 2**frac_bits``: returns ``(m, frac_bits)`` with ``m`` an int."""
    check_range("value", value, low=0, high=1)
    frac_bits = _check_bits("frac_bits", frac_bits, low=0)
    return int(round(float(value) * 2**frac_bits)), frac_bits


# --- integer-only inference -------------------------------------------------------------------

PASS_THROUGH = (nn.Flatten, nn.MaxPool2d, nn.Identity, nn.Dropout)


def _unwrapped(model):
    """``(wrapper, layer)`` pairs of an ``nn.Sequential`` of ``TimeFolded`` / ``Spiking`` layers."""
    from .layers import Spiking, TimeFolded

    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    pairs = []
    for m in model:
        if not isinstance(m, (TimeFolded, Spiking)):
            raise TypeError(f"model layers must be TimeFolded or Spiking, got {type(m).__name__}")
        layer = m.module if isinstance(m, TimeFolded) else m.neuron
        if not isinstance(layer, WEIGHTED + PASS_THROUGH + (LIF,)):
            raise TypeError(
                f"integer inference supports Linear/Conv, Flatten, MaxPool2d and LIF/IF layers, got "
                f"{type(layer).__name__} (fold BatchNorm into the weights first: norm.fold_batchnorm)"
            )
        pairs.append((m, layer))
    return pairs


def _check_pow2(name, value):
    check_positive(name, value)
    if not math.log2(value).is_integer():
        raise ValueError(f"{name} must be a power of two (e.g. 1/16), got {value}")
    return float(value)


@torch.no_grad()
def prepare_integer(model, weight_bits=8, input_step=1 / 16, beta_bits=8, mem_bits=16):
    """A fake-quantised copy of ``model`` whose float arithmetic is exactly integer arithmetic.

    Per layer: weights ``ŵ = s·Q`` with ``s`` a power of two; the membrane lives on the grid
    ``g = s·s_in`` (``s_in = input_step`` for the first layer, 1 after spikes); bias and threshold
    are rounded to ``g``; ``β`` becomes ``m / 2**beta_bits``; the neuron becomes a :class:`QuantLIF`
    that floors its membrane to ``g`` (and saturates to ``mem_bits`` bits) each step.
    """
    _check_bits("weight_bits", weight_bits, low=2)
    s_in = _check_pow2("input_step", input_step)
    model, grid = copy.deepcopy(model), None
    for wrapper, layer in _unwrapped(model):
        if isinstance(layer, WEIGHTED):
            q, s = quantize(layer.weight, weight_bits, pow2=True)
            layer.weight.copy_(q.to(layer.weight.dtype) * s)
            grid = float(s) * s_in
            if layer.bias is not None:
                layer.bias.copy_(torch.round(layer.bias / grid) * grid)
        elif isinstance(layer, LIF):
            if grid is None:
                raise ValueError("every neuron must follow a Linear/Conv layer")
            if layer.beta.numel() != 1 or layer.threshold.numel() != 1:
                raise ValueError("integer inference needs one beta and one threshold per layer")
            m, n = dyadic(layer.beta.clamp(0, 1).item(), beta_bits)
            theta = round(layer.threshold.item() / grid)
            if theta < 1:
                raise ValueError(f"threshold {layer.threshold.item():g} is below the grid {grid:g}")
            wrapper.neuron = QuantLIF(
                m / 2**n, theta * grid, layer.spike_grad, layer.reset_mechanism,
                state_quant=fixed_point(grid, mem_bits),
            )  # fmt: skip
            s_in, grid = 1.0, None
    return model


class IntegerSynapse(nn.Module):
    """``I = Q ∗ X + B`` on int64 tensors ``[T, B, ...]`` (a Linear or Conv2d with integer weights)."""

    def __init__(self, layer, q, b):
        super().__init__()
        self.register_buffer("q", q)
        self.register_buffer("b", b)
        self.conv = {}
        if isinstance(layer, nn.Conv2d):
            self.conv = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                             groups=layer.groups)  # fmt: skip
        elif not isinstance(layer, nn.Linear):
            raise TypeError(
                f"integer inference supports Linear and Conv2d, got {type(layer).__name__}"
            )

    def forward(self, x_seq):
        x = x_seq.flatten(0, 1)
        y = F.conv2d(x, self.q, self.b, **self.conv) if self.conv else F.linear(x, self.q, self.b)
        return y.reshape(*x_seq.shape[:2], *y.shape[1:])


class IntegerLIF(nn.Module):
    """``U[t] = (m·U[t-1]) >> n + I[t] - r[t]·Θ`` in int64, saturated to ``bits``; ``o = U > Θ``.

    ``peak`` keeps the largest ``|U|``, ``|I|`` or ``Θ`` of the last run; ``exact_in_float32`` says
    whether it stayed within ``2**(22 - n)``, the range where the float model's arithmetic is exact.
    """

    def __init__(self, m, n, theta, reset_mechanism="subtract", bits=None):
        super().__init__()
        self.m, self.n, self.theta, self.bits = int(m), int(n), int(theta), bits
        self.reset_mechanism = reset_mechanism

    def forward(self, i_seq):
        u = torch.zeros_like(i_seq[0])
        spikes, self.peak = [], max(self.theta, int(i_seq.abs().max()))
        for i in i_seq:
            self.peak = max(self.peak, int(u.abs().max()))
            r = (u > self.theta).long()
            leak = (self.m * u) >> self.n  # arithmetic shift: floor(m·U / 2**n)
            if self.reset_mechanism == "subtract":
                u = leak + i - r * self.theta
            elif self.reset_mechanism == "zero":
                u = leak * (1 - r) + i
            else:
                u = leak + i
            if self.bits is not None:
                u = u.clamp(-(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1)
            spikes.append((u > self.theta).long())
        return torch.stack(spikes)

    @property
    def exact_in_float32(self):
        """``β·u + x - r·θ`` is exact in float32 when every term is below ``2**24`` grid/2**n steps."""
        return self.peak <= 2 ** (22 - self.n)

    def extra_repr(self):
        return f"beta={self.m}/2**{self.n}, theta={self.theta}, reset={self.reset_mechanism!r}"


class _Folded(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x_seq):
        y = self.module(x_seq.flatten(0, 1))
        return y.reshape(*x_seq.shape[:2], *y.shape[1:])


def _exact_int(name, x, step):
    q = torch.round(x / step)
    if not torch.equal(q * step, x):
        raise ValueError(f"{name} is not on its integer grid {step:g}; use prepare_integer first")
    return q.to(torch.int64)


@torch.no_grad()
def to_integer(qmodel, input_step=1 / 16):
    """The integer-only network of a :func:`prepare_integer` model: an ``nn.Sequential`` mapping
    integer inputs ``X = x / input_step`` ``[T, B, ...]`` to the same spikes, in int64."""
    s_in = _check_pow2("input_step", input_step)
    ops, pending = [], None
    for _, layer in _unwrapped(qmodel):
        if isinstance(layer, WEIGHTED):
            pending = layer
        elif isinstance(layer, LIF):
            sq = getattr(layer, "state_quant", None)
            if not isinstance(sq, FixedPoint) or pending is None:
                raise ValueError(
                    "qmodel must come from prepare_integer (QuantLIF with fixed_point)"
                )
            g = sq.step
            q = _exact_int("weight", pending.weight, g / s_in)
            b = torch.zeros(q.shape[0], dtype=torch.int64)
            if pending.bias is not None:
                b = _exact_int("bias", pending.bias, g)
            ops.append(IntegerSynapse(pending, q, b))
            m, d = float(layer.beta.item()).as_integer_ratio()  # every float is m / 2**n exactly
            n = d.bit_length() - 1
            theta = int(_exact_int("threshold", layer.threshold, g))
            ops.append(IntegerLIF(m, n, theta, layer.reset_mechanism, sq.bits))
            pending, s_in = None, 1.0
        else:
            ops.append(_Folded(layer))
    return nn.Sequential(*ops)


def integer_input(x, input_step=1 / 16):
    """``X = round(x / input_step)`` as int64: the integer input of :func:`to_integer`'s network."""
    check_tensor("x", x)
    return torch.round(x / _check_pow2("input_step", input_step)).to(torch.int64)


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
    "QuantLIF",
    "add_state_quant",
    "dyadic",
    "prepare_integer",
    "IntegerSynapse",
    "IntegerLIF",
    "to_integer",
    "integer_input",
]
