"""Time-to-first-spike (TTFS) networks that compute exactly what a ReLU network computes.

Stanojevic et al. 2024, "High-performance deep spiking neural networks with 0.3 spikes per
neuron", Nat. Commun. (arXiv 2306.08744); the mapping: "An exact mapping from ReLU networks to
spiking neural networks" (arXiv 2212.12522).

Layer ``n`` owns a time window ``[t_min(n), t_max(n)]`` with ``t_min(n) = t_max(n-1)``; a value
``x >= 0`` travels as one spike at ``t = t_max - x`` (earlier is larger, no spike is zero).
The constant-slope ("B1") neuron: before ``t_min`` every input spike switches on a constant
current ``W_ij``; from ``t_min`` on the potential rises with slope 1 whatever the input::

    V_i(t) = Σ_j W_ij·(min(t, t_min) - t_j)⁺ + (t - t_min)⁺       threshold ϑ_i = t_max - t_min - D_i
    t_i = t_max - D_i - Σ_j W_ij·(t_min - t_j)                     no spike if t_i >= t_max
    t_max - t_i = ReLU(Σ_j W_ij·x_j + D_i)                         exactly, with x_j = t_min - t_j

The threshold is only armed from ``t_min`` on, so a neuron already above it at ``t_min`` fires at
``t_min``: activations saturate at ``B_n = t_max - t_min``, chosen as 1.5 x the layer's largest ReLU
output on the training set. The output layer never spikes; its readout is ``V_i(t_min) + D_i``,
the ANN's logits. Each neuron spikes at most once, so spikes per neuron = fraction of non-zero
activations. The forward pass is written in spike times, so autograd trains the SNN directly; with
the constant slope its gradients are the ANN's and training follows the same trajectory (as long as
no activation saturates: map with a larger ``margin`` before training).

Hardware: spike times quantised to ``k`` bits per window, weights to ``k`` bits (straight-through
gradients), Gaussian spike-time jitter, and shorter windows (lower latency); fine-tuning the SNN
under these constraints recovers accuracy.
"""

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_choice, check_dtype, check_int, check_range, check_tensor
from ..hardware.quant import fake_quantize


def _check_window(t_min, t_max, name="window"):
    """Raise ``ValueError`` unless ``t_min < t_max`` are finite numbers."""
    t_min, t_max = float(t_min), float(t_max)
    if not (math.isfinite(t_min) and math.isfinite(t_max) and t_max > t_min):
        raise ValueError(
            f"{name} must have finite t_min < t_max, got t_min={t_min:g}, t_max={t_max:g}"
        )
    return t_min, t_max


def encode(x, t_min=0.0, t_max=1.0):
    """Encode inputs ``x`` in [0, 1] as first-spike times ``t = t_max - x`` in ``[t_min, t_max]``.

    ``x = 0`` gives no spike (``t = t_max``); the window must be at least 1 wide to hold ``x = 1``.
    """
    check_tensor("x", x)
    t_min, t_max = _check_window(t_min, t_max)
    if t_max - t_min < 1:
        raise ValueError(
            f"window width t_max - t_min must be >= 1 to hold inputs in [0, 1], got {t_max - t_min:g}"
        )
    check_range("x", x, 0, 1)
    return t_max - x


def _weighted_sum(op, x, weight=None, bias=True):
    """``W·x + D`` for a ``nn.Linear`` or ``nn.Conv2d`` ``op`` (``weight`` overrides ``op.weight``)."""
    w = op.weight if weight is None else weight
    b = op.bias if bias else None
    if isinstance(op, nn.Linear):
        return F.linear(x, w, b)
    return F.conv2d(x, w, b, op.stride, op.padding, op.dilation, op.groups)


def quantize_times(t, t_min, t_max, bits):
    """Round spike times to ``2**bits`` levels ``t_min + m·Δ``, ``Δ = (t_max - t_min)/(2**bits - 1)``.

    Levels include ``t_min`` and ``t_max`` (no spike). Straight-through gradient.
    """
    bits = check_int("bits", bits, low=1)
    step = (t_max - t_min) / (2**bits - 1)
    t_q = t_min + torch.round(((t - t_min) / step).clamp(0, 2**bits - 1)) * step
    return t + (t_q - t).detach()


def jitter(t, sigma, t_max, generator=None):
    """Add Gaussian noise ``N(0, sigma²)`` to the spikes (``t < t_max``); late spikes are lost.

    A spike pushed past ``t_max`` arrives after the next layer's integration phase, so it counts as
    no spike (``t = t_max``). ``generator`` (a seeded ``torch.Generator``) makes it reproducible.
    """
    check_range("sigma", sigma, low=0)
    if sigma == 0:
        return t
    noise = torch.randn(t.shape, generator=generator, device=t.device, dtype=t.dtype) * sigma
    spiked = t < t_max
    return torch.where(spiked, t + noise, t).clamp(max=t_max)


RESOLUTION = 1e-4  # the float spacing at the latest edge may be at most this part of a window


class TTFSPrecisionWarning(UserWarning):
    """Windows placed so late that the network's float dtype cannot resolve values in them."""


class TTFSNetwork(nn.Module):
    """A TTFS spiking network built by :func:`from_relu`.

    ``blocks`` run in order: ``("spike", op)`` a layer of B1 neurons, ``("pool", m)`` max-pool as a
    min over spike times, ``("flatten", m)``, and last ``("out", op)`` the readout. ``edges`` holds
    the window boundaries: the input window is ``[edges[0], edges[1]]``, spiking layer ``n`` (from
    1) owns ``[edges[n], edges[n+1]]``, the output is read at ``edges[-1]``.

    Float resolution: a value travels as ``t_max - x``, so its error is the float spacing at
    ``t_max``. When mixed-scale layers stack the windows far out (``[(1, 17090.8), (17090.8,
    17091.8)]``: float32 spacing 2e-3 there), a narrow late window loses the exact mapping; the
    windows then raise :class:`TTFSPrecisionWarning` (when the spacing at the last edge exceeds
    ``RESOLUTION`` of the narrowest window). Map in float64 then: ``from_relu(...,
    dtype=torch.float64)``. ``saturated`` counts, per hidden layer, the values of the last
    :meth:`run` that exceeded their window and were clipped to it (activations above the
    training maximum x margin).
    """

    def __init__(self, blocks, edges):
        super().__init__()
        self.kinds = [kind for kind, _ in blocks]
        self.ops = nn.ModuleList(op for _, op in blocks)
        w = self.ops[-1].weight
        self.register_buffer("edges", torch.as_tensor(edges, dtype=w.dtype, device=w.device))
        self._set_widths(self.edges[1:] - self.edges[:-1])
        self.saturated = []

    @property
    def windows(self):
        """``[(t_min, t_max), ...]``: the input window, then one per spiking layer."""
        e = self.edges.tolist()
        return list(zip(e[:-1], e[1:], strict=True))

    def set_windows(self, widths):
        """Set window widths ``B_n`` (input first), keeping ``t_min(n) = t_max(n-1)``.

        Shorter hidden windows lower the latency; activations saturate at the new ``B_n``.
        """
        self._set_widths(widths)
        self._check_resolution()
        return self

    def _check_resolution(self):
        spacing = torch.finfo(self.edges.dtype).eps * float(self.edges.abs().max())
        narrowest = float((self.edges[1:] - self.edges[:-1]).min())
        if spacing > RESOLUTION * narrowest:
            warnings.warn(
                f"the windows {[(round(a, 4), round(b, 4)) for a, b in self.windows]} end at "
                f"{float(self.edges[-1]):g}, where {self.edges.dtype} resolves only {spacing:.2g} "
                f"(> {RESOLUTION:g} x the narrowest window, {narrowest:g}): values lose the exact "
                f"ReLU mapping; map in float64 (from_relu(..., dtype=torch.float64))",
                TTFSPrecisionWarning,
                stacklevel=3,
            )

    def _set_widths(self, widths):
        widths = torch.as_tensor(widths, dtype=self.edges.dtype, device=self.edges.device).flatten()
        if widths.numel() != self.edges.numel() - 1:
            raise ValueError(
                f"widths must have {self.edges.numel() - 1} entries (input window first), "
                f"got {widths.numel()}"
            )
        check_range("widths", widths, low=0, low_open=True)
        check_range("widths[0] (the input window)", widths[0], low=1)
        edges = torch.cat([self.edges[:1], self.edges[0] + torch.cumsum(widths, 0)])
        self.edges.copy_(edges)

    def fit_windows(self, x, margin=1.5, grow_only=False):
        """Set each hidden window to ``B_n = margin x`` the layer's largest value on inputs ``x``.

        Layer by layer, so no value saturates on ``x``. ``grow_only=True`` never shrinks a window:
        call it on each batch while training so the SNN keeps the ANN's trajectory.
        """
        check_range("margin", margin, low=1)
        widths = (self.edges[1:] - self.edges[:-1]).detach().clone()
        with torch.no_grad():
            t, layer = encode(x, self.edges[0].item(), self.edges[1].item()), 0
            for kind, op in zip(self.kinds, self.ops, strict=True):
                if kind == "pool":
                    t = -op(-t)
                elif kind == "flatten":
                    t = op(t)
                elif kind == "spike":
                    a = _weighted_sum(op, self.edges[layer + 1] - t)
                    layer += 1
                    peak = margin * a.max().item()
                    if peak > 0 and (peak > widths[layer] or not grow_only):
                        widths[layer] = peak
                        self._set_widths(widths)
                    t = (self.edges[layer + 1] - a.clamp(min=0)).clamp(min=self.edges[layer])
        self._check_resolution()
        return self

    def forward(self, x, **hardware):
        """Logits (output potentials) for inputs ``x`` in [0, 1]; see :meth:`run`."""
        return self.run(x, **hardware)[0]

    def run(
        self, x, time_bits=None, weight_bits=None, sigma=0.0, generator=None, per_channel=False
    ):
        """Exact event-driven pass: ``(logits, times)``.

        ``times[0]`` holds the input spikes, ``times[n]`` layer ``n``'s (before pooling).
        Per layer ``t_i = t_max - clamp(D_i + Σ_j W_ij·(t_min - t_j), 0, B)``.
        Optional hardware effects: ``time_bits`` quantises every spike time within its window,
        then ``sigma`` adds spike-time jitter (``generator`` seeds it); ``weight_bits`` quantises
        the weights (:func:`spikelearn.quant.fake_quantize`, ``2**k - 1`` levels) with one scale
        per layer, or one per output neuron with ``per_channel=True`` (then one large weight
        cannot round the rest of its layer to zero).
        """
        e = self.edges
        check_tensor("x", x, min_dim=1)
        check_dtype("x", x, self)
        check_choice("per_channel", per_channel, (False, True))
        t = self._emit(encode(x, e[0].item(), e[1].item()), 0, time_bits, sigma, generator)
        times, layer, self.saturated = [t], 0, []
        for kind, op in zip(self.kinds, self.ops, strict=True):
            if kind == "pool":
                t = -op(-t)  # max over activations = min over spike times
            elif kind == "flatten":
                t = op(t)
            else:
                w = op.weight
                if weight_bits is not None:
                    w = fake_quantize(w, weight_bits, per_channel=per_channel)
                t_min = e[layer + 1]
                a = _weighted_sum(op, t_min - t, w)
                if kind == "out":
                    return a, times
                layer += 1
                self.saturated.append(int((a.detach() > e[layer + 1] - t_min).sum()))
                t = (e[layer + 1] - a.clamp(min=0)).clamp(min=t_min)  # t_max - clamp(a, 0, B)
                t = self._emit(t, layer, time_bits, sigma, generator)
                times.append(t)
        raise ValueError("the network has no output layer")

    def _emit(self, t, layer, time_bits, sigma, generator):
        t_min, t_max = self.edges[layer], self.edges[layer + 1]
        if time_bits is not None:
            t = quantize_times(t, t_min, t_max, time_bits)
        return jitter(t, sigma, t_max, generator)

    def activations(self, times):
        """The activations ``t_max - t`` encoded by ``times`` from :meth:`run` (input first)."""
        return [self.edges[n + 1] - t for n, t in enumerate(times)]


def spikes_per_neuron(net, times):
    """Mean spikes per hidden neuron: the fraction of hidden neurons with ``t < t_max``.

    Inputs (``times[0]``) are not counted; the output layer never spikes.
    """
    fired = sum(float((t < net.edges[n + 1]).sum()) for n, t in enumerate(times) if n > 0)
    total = sum(t.numel() for t in times[1:])
    return fired / max(total, 1)


__all__ = [
    "encode",
    "quantize_times",
    "jitter",
    "TTFSNetwork",
    "TTFSPrecisionWarning",
    "RESOLUTION",
    "spikes_per_neuron",
]
