"""Integer-only inference: the spikes of a fake-quantised SNN from integer arithmetic alone.

:func:`prepare_integer` turns a trained network into a fake-quantised copy whose float arithmetic
is exactly integer arithmetic; :func:`to_integer` then builds the integer-only network, with
integer weights, an integer membrane ``U``, an integer threshold ``Θ`` and a dyadic leak
``β = m / 2**n``::

    U[t] = (m·U[t-1]) >> n + Σ Q·X[t] + B - r[t]·Θ

Its spikes equal the fake-quantised float model's exactly: with power-of-two scales every float
in that model is an integer times a power of two, and float32 holds such numbers, their sums and
their products without rounding while the integers stay below ``2**24``. Flooring ``β·u`` to the
membrane grid is then the right shift. The condition (``|U|, |I|, Θ <= 2**(22 - n)``) is reported
by each :class:`IntegerLIF` as ``exact_in_float32`` (see ``tests/test_integer.py``). The
quantisers themselves (weights, membranes) are :mod:`spikelearn.quant`'s.
"""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_int, check_positive, check_tensor
from ..cells.neuron import Neuron
from ..cells.neurons import IF, LIF
from ..networks import walk
from ..networks.layers import Spiking, TimeFolded
from .quant import FixedPoint, dyadic, fixed_point, quantize

SUPPORTED = (nn.Linear, nn.Conv2d, nn.Flatten, nn.MaxPool2d, nn.Identity, nn.Dropout, LIF, IF)
WHAT = "integer inference (fold BatchNorm into the weights first: norm.fold_batchnorm)"


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
    are rounded to ``g``; ``β`` becomes ``m / 2**beta_bits``; each neuron (``LIF`` or ``IF``; any
    other type is a ``TypeError`` naming it) keeps its class and gets
    ``state_quant=quant.fixed_point(g, mem_bits)``, which floors its membrane to ``g`` (and
    saturates it to ``mem_bits`` bits) each step.
    """
    check_int("weight_bits", weight_bits, low=2)
    s_in = _check_pow2("input_step", input_step)
    model, grid = copy.deepcopy(model), None
    for site in walk.chain(model, SUPPORTED, WHAT):
        layer = site.layer
        if site.kind == "synapse":
            q, s = quantize(layer.weight, weight_bits, pow2=True)
            layer.weight.copy_(q.to(layer.weight.dtype) * s)
            grid = float(s) * s_in
            if layer.bias is not None:
                layer.bias.copy_(torch.round(layer.bias / grid) * grid)
        elif site.kind == "neuron":
            if grid is None:
                raise ValueError("every neuron must follow a Linear/Conv layer")
            if layer.beta.numel() != 1 or layer.threshold.numel() != 1:
                raise ValueError("integer inference needs one beta and one threshold per layer")
            if layer.state_quant is not None:
                raise ValueError(f"the neuron at {site.name!r} already has a state_quant")
            m, n = dyadic(layer.beta.clamp(0, 1).item(), beta_bits)
            theta = round(layer.threshold.item() / grid)
            if theta < 1:
                raise ValueError(f"threshold {layer.threshold.item():g} is below the grid {grid:g}")
            layer.beta.fill_(m / 2**n)
            layer.threshold.fill_(theta * grid)
            layer.state_quant = fixed_point(grid, mem_bits)
            s_in, grid = 1.0, None
    return model


class IntegerSynapse(nn.Module):
    """``I = Q ∗ X + B`` on int64 tensors ``[N, ...]`` (a Linear or Conv2d with integer weights);
    :func:`to_integer` runs it on sequences through :class:`spikelearn.layers.TimeFolded`."""

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

    def forward(self, x):
        return (
            F.conv2d(x, self.q, self.b, **self.conv) if self.conv else F.linear(x, self.q, self.b)
        )


def _heaviside(x):
    """The integer spike ``o = 1[U > 0]`` (integer inference has no gradient)."""
    return (x > 0).to(x.dtype)


class IntegerLIF(Neuron):
    """``U[t] = (m·U[t-1]) >> n + I[t] - r[t]·Θ`` in int64, saturated to ``bits``; ``o = U > Θ``.

    A neuron of the core (:mod:`spikelearn.cells.neuron`) whose charge is the dyadic leak
    ``(m·U) >> n`` (an arithmetic shift: ``floor(m·U / 2**n)``) plus the integer current; the
    reset (``"subtract"``, ``"zero_before"``, ``"zero_after"``, ``"none"``) and the saturation
    (its ``state_quant``) are the core's. ``peak`` keeps the largest ``|U|``, ``|I|`` or ``Θ`` seen
    since the membrane last started from rest; ``exact_in_float32`` says whether it stayed within
    ``2**(22 - n)``, the range where the float model's arithmetic is exact.
    """

    integer = True

    def __init__(self, m, n, theta, reset_mechanism="subtract", bits=None):
        saturate = None if bits is None else _Saturate(bits)
        super().__init__(int(theta), _heaviside, reset_mechanism, False, saturate)
        self.m, self.n, self.bits = int(m), int(n), bits
        self.peak = int(theta)

    def rest(self, name, like):
        self.peak = int(self.threshold)
        return torch.zeros_like(like)

    def charge(self, x, mem):
        self.peak = max(self.peak, int(mem.abs().max()), int(x.abs().max()))
        return ((self.m * mem) >> self.n) + x

    @property
    def exact_in_float32(self):
        """``β·u + x - r·θ`` is exact in float32 when every term is below ``2**24`` grid/2**n steps."""
        return self.peak <= 2 ** (22 - self.n)

    def extra_repr(self):
        return (
            f"beta={self.m}/2**{self.n}, theta={int(self.threshold)}, "
            f"reset={self.reset_mechanism!r}, bits={self.bits}"
        )


class _Saturate:
    """Clamp an integer membrane to ``bits``-bit two's complement."""

    def __init__(self, bits):
        self.bits = bits

    def __call__(self, u):
        return u.clamp(-(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1)

    def __repr__(self):
        return f"saturate({self.bits} bits)"


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
    for site in walk.chain(qmodel, SUPPORTED, WHAT):
        layer = site.layer
        if site.kind == "synapse":
            pending = layer
        elif site.kind == "neuron":
            sq = layer.state_quant
            if not isinstance(sq, FixedPoint) or pending is None:
                raise ValueError(
                    "qmodel must come from prepare_integer (LIF/IF with a fixed_point state_quant)"
                )
            g = sq.step
            q = _exact_int("weight", pending.weight, g / s_in)
            b = torch.zeros(q.shape[0], dtype=torch.int64)
            if pending.bias is not None:
                b = _exact_int("bias", pending.bias, g)
            ops.append(TimeFolded(IntegerSynapse(pending, q, b)))
            m, d = float(layer.beta.item()).as_integer_ratio()  # every float is m / 2**n exactly
            n = d.bit_length() - 1
            theta = int(_exact_int("threshold", layer.threshold, g))
            ops.append(Spiking(IntegerLIF(m, n, theta, layer.reset_mechanism, sq.bits)))
            pending, s_in = None, 1.0
        else:
            ops.append(TimeFolded(layer))
    return nn.Sequential(*ops)


def integer_input(x, input_step=1 / 16):
    """``X = round(x / input_step)`` as int64: the integer input of :func:`to_integer`'s network."""
    check_tensor("x", x)
    return torch.round(x / _check_pow2("input_step", input_step)).to(torch.int64)


__all__ = [
    "prepare_integer",
    "IntegerSynapse",
    "IntegerLIF",
    "to_integer",
    "integer_input",
]
