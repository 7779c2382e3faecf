"""Spike functions with surrogate gradients.

A spiking neuron fires when its membrane crosses threshold: ``o = H(u - V_th)``. The Heaviside
step ``H`` has derivative zero everywhere except at 0, so backpropagation through it gives no
learning signal (the *dead neuron problem*). A surrogate gradient keeps ``H`` in the forward pass
and swaps in a smooth derivative in the backward pass (Neftci, Mostafa & Zenke 2019,
"Surrogate Gradient Learning in Spiking Neural Networks", IEEE Signal Processing Magazine).

Every surrogate here is a callable object: ``spk = surrogate(mem - threshold)``. It also exposes
``surrogate.derivative(x)`` for plotting, and ``scale``, a factor on the derivative's height that
tunes how much gradient survives each layer (Ledinauskas et al. 2020, arXiv 2006.04436). Because it
is a plain callable it also works as ``snntorch.Leaky(spike_grad=...)``.

The shapes and default parameters follow ``snntorch.surrogate`` so numbers carry over:
``atan(alpha=2)`` (snnTorch's default) and ``fast_sigmoid(slope=25)`` (its tutorials' usual one).
"""

import math

import torch

from .._checks import check_choice, check_positive


class _SpikeFunction(torch.autograd.Function):
    """Forward: Heaviside ``x > 0``. Backward: ``grad * surrogate.derivative(x)``."""

    @staticmethod
    def forward(ctx, x, surrogate):
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.surrogate.derivative(x), None


class Surrogate:
    """Base class: Heaviside forward, ``scale * shape'(x)`` backward. Subclasses define ``_shape``."""

    def __init__(self, scale=1.0):
        self.scale = float(check_positive("scale", scale))

    def __call__(self, x):
        return _SpikeFunction.apply(x, self)

    def derivative(self, x):
        """The surrogate derivative d(spike)/dx used in the backward pass."""
        x = torch.as_tensor(x, dtype=torch.get_default_dtype()) if not torch.is_tensor(x) else x
        return self.scale * self._shape(x)

    @property
    def peak(self):
        """Height of the derivative at x = 0 (where the membrane sits exactly at threshold)."""
        return float(self.derivative(torch.zeros(1)))

    def _shape(self, x):
        raise NotImplementedError

    def _params(self):
        return {}

    def __repr__(self):
        args = {**self._params(), **({"scale": self.scale} if self.scale != 1.0 else {})}
        return f"{type(self).__name__}({', '.join(f'{k}={v:g}' for k, v in args.items())})"


class FastSigmoid(Surrogate):
    """Fast sigmoid (SuperSpike, Zenke & Ganguli 2018): ``1 / (slope·|x| + 1)²``. Peak 1."""

    def __init__(self, slope=25.0, scale=1.0):
        super().__init__(scale)
        self.slope = float(check_positive("slope", slope))

    def _shape(self, x):
        return 1.0 / (self.slope * x.abs() + 1.0) ** 2

    def _params(self):
        return {"slope": self.slope}


class ATan(Surrogate):
    """Arctangent (Fang et al. 2021): ``(α/2) / (1 + (π/2·α·x)²)``. Peak α/2; snnTorch's default."""

    def __init__(self, alpha=2.0, scale=1.0):
        super().__init__(scale)
        self.alpha = float(check_positive("alpha", alpha))

    def _shape(self, x):
        return (self.alpha / 2) / (1 + (math.pi / 2 * self.alpha * x) ** 2)

    def _params(self):
        return {"alpha": self.alpha}


class Sigmoid(Surrogate):
    """Logistic sigmoid's derivative: ``slope·σ(slope·x)·(1 − σ(slope·x))``. Peak slope/4."""

    def __init__(self, slope=25.0, scale=1.0):
        super().__init__(scale)
        self.slope = float(check_positive("slope", slope))

    def _shape(self, x):
        s = torch.sigmoid(self.slope * x)
        return self.slope * s * (1 - s)

    def _params(self):
        return {"slope": self.slope}


class Triangle(Surrogate):
    """Triangle of unit area: ``max(0, 1 − |x|/width) / width`` (Esser et al. 2016). Peak 1/width."""

    def __init__(self, width=1.0, scale=1.0):
        super().__init__(scale)
        self.width = float(check_positive("width", width))

    def _shape(self, x):
        return (1 - x.abs() / self.width).clamp(min=0) / self.width

    def _params(self):
        return {"width": self.width}


class Rectangle(Surrogate):
    """Rectangle of unit area: ``1[|x| < width/2] / width`` (tdBN/STBP, Wu et al. 2018). Peak 1/width."""

    def __init__(self, width=1.0, scale=1.0):
        super().__init__(scale)
        self.width = float(check_positive("width", width))

    def _shape(self, x):
        return (x.abs() < self.width / 2).to(x.dtype) / self.width

    def _params(self):
        return {"width": self.width}


class StraightThrough(Surrogate):
    """Straight-through estimator (Bengio et al. 2013): derivative 1 everywhere."""

    def _shape(self, x):
        return torch.ones_like(x)


class Heaviside(Surrogate):
    """No surrogate: the true derivative of the step, zero almost everywhere. Shows why we need one."""

    def _shape(self, x):
        return torch.zeros_like(x)


# Half-maximum points of each shape at unit parameter, so a surrogate can be asked for by the two
# numbers that set the gradient gain (Ledinauskas et al. 2020): its peak height and its width.
_FWHM = {  # full width at half maximum as a function of the shape parameter
    "rectangle": (Rectangle, "width", lambda w: w),
    "triangle": (Triangle, "width", lambda w: w),
    "atan": (ATan, "alpha", lambda w: 4 / (math.pi * w)),
    "fast_sigmoid": (FastSigmoid, "slope", lambda w: 2 * (math.sqrt(2) - 1) / w),
    "sigmoid": (Sigmoid, "slope", lambda w: 4 * math.log(1 + math.sqrt(2)) / w),
}


def from_height_width(name, height=1.0, width=1.0):
    """A surrogate given by its derivative's peak ``height`` and full width at half maximum.

    ``height × width`` is roughly the area under the derivative, the fraction of gradient a neuron
    near threshold passes back; Ledinauskas et al. 2020 tune it so the gradient neither explodes
    nor vanishes through depth. ``from_height_width("rectangle", 1, 1)`` is tdBN's rectangle and
    ``from_height_width("atan", 1, 2 / math.pi)`` is snnTorch's default ``atan(alpha=2)``.

    Args:
        name: ``"rectangle"``, ``"triangle"``, ``"atan"``, ``"fast_sigmoid"`` or ``"sigmoid"``.
        height: peak of the derivative, at ``x = 0`` (> 0).
        width: full width at half maximum of the derivative (> 0).
    """
    check_choice("name", name, tuple(_FWHM))
    check_positive("height", height)
    check_positive("width", width)
    cls, param, from_width = _FWHM[name]
    unit = cls(**{param: from_width(width)})
    return cls(**{param: from_width(width)}, scale=height / unit.peak)


# snnTorch-style lower-case names: ``surrogate.fast_sigmoid(slope=25)``.
fast_sigmoid = FastSigmoid
atan = ATan
sigmoid = Sigmoid
triangle = Triangle
rectangle = Rectangle
straight_through = StraightThrough
heaviside = Heaviside

__all__ = [
    "from_height_width",
    "Surrogate",
    "FastSigmoid",
    "ATan",
    "Sigmoid",
    "Triangle",
    "Rectangle",
    "StraightThrough",
    "Heaviside",
    "fast_sigmoid",
    "atan",
    "sigmoid",
    "triangle",
    "rectangle",
    "straight_through",
    "heaviside",
]
