"""ANN-to-SNN conversion: a trained ReLU network becomes a rate-coded network of IF neurons.

An integrate-and-fire neuron with threshold 1 and reset by subtraction, driven by a constant
current ``a`` in [0, 1], fires at the rate ``a``: after ``T`` steps its spike count is within
one of ``T·a`` (Rueckauer et al. 2017, "Conversion of Continuous-Valued Deep Networks
to Efficient Event-Driven Networks for Image Classification", Frontiers in Neuroscience). So a ReLU
layer's activation becomes a firing rate once every activation is scaled into [0, 1]:
data-based weight normalisation (Diehl et al. 2015, IJCNN; Rueckauer et al. 2017) divides each
layer's activations by ``λ_l``, the ``p``-th percentile (99.9 by default, robust to outliers) of its
non-zero ReLU outputs on training data::

    W_l <- W_l · λ_{l-1} / λ_l,     b_l <- b_l / λ_l,     λ_0 = 1 (inputs in [0, 1])

A batch norm after a Linear/Conv2d is an affine map per channel at inference, so it is folded
into that layer's weights first (``spikelearn.norm.fold_into``); deep ANNs train much better with
it. The rate only approaches the activation as ``T`` grows (the error of a count is up to ``1/T``),
which is why converted networks need hundreds of time steps where directly trained SNNs need a
handful (Ledinauskas et al. 2020, arXiv 2006.04436): tutorial 11 measures it.

Residual networks (Rueckauer et al. 2017, section 2.2) convert the same way: the neuron sits after
the addition, so a block's output has its own scale ``λ_out`` and *both* pathways arriving there
are rescaled by the scale of the layer they come from over ``λ_out``::

    W_2 <- W_2 · λ_mid / λ_out,     S <- S · λ_in / λ_out,     b_2 <- b_2 / λ_out

(the branch's last convolution ``W_2`` and the shortcut ``S``; an identity shortcut becomes the
1x1 convolution ``λ_in / λ_out · I``). :class:`ReLUBasicBlock` is the ANN twin of
``spikelearn.models.SpikingBasicBlock``.
"""

import copy

import numpy as np
import torch
from torch import nn

from .._checks import check_choice, check_int, check_range, check_tensor
from ..cells.neurons import IF
from ..networks import norm, walk
from ..networks.layers import Spiking, TimeFolded


class ReLUBasicBlock(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``: the ANN twin of tdBN's residual block.

    The shortcut is the identity, or a 1x1 convolution with batch norm when ``stride != 1`` or
    ``cin != cout`` (as in ``spikelearn.models.SpikingBasicBlock``).
    """

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        check_int("cin", cin, low=1)
        check_int("cout", cout, low=1)
        check_int("stride", stride, low=1)
        self.branch = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        return torch.relu(self.branch(x) + self.shortcut(x))


def relu_resnet(in_channels=1, num_classes=10, width=16, blocks=(2, 2, 2)):
    """The ReLU ANN with ``spikelearn.models.spiking_resnet``'s layout (stem, stages of
    :class:`ReLUBasicBlock` of widths ``width``, ``2·width``, ..., global average pooling, linear)."""
    check_int("in_channels", in_channels, low=1)
    check_int("width", width, low=1)
    layers, cin = [nn.Conv2d(in_channels, width, 3, padding=1, bias=False)], width
    layers += [nn.BatchNorm2d(width), nn.ReLU()]
    for stage, n in enumerate(blocks):
        for b in range(check_int("blocks", n, low=1)):
            layers.append(ReLUBasicBlock(cin, width * 2**stage, 2 if stage > 0 and b == 0 else 1))
            cin = width * 2**stage
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


def relu_vgg(in_channels=3, num_classes=10, layout=((64, 64), (128, 128)), hidden=(),
             image_size=32, pool="max"):  # fmt: skip
    """A ReLU VGG: per stage of ``layout`` (the convolutions' widths) ``Conv3x3 -> BatchNorm ->
    ReLU`` each, then 2x2 pooling; ``Flatten``, ``Linear -> ReLU`` per width in ``hidden``, and a
    linear readout. ``spiking_vgg(layout=..., hidden=...)`` is its spiking twin.

    ``pool="max"`` is what :func:`spikelearn.ttfs_mapping.from_relu` maps (a max is the earliest
    spike; Stanojevic et al. 2024's VGG16 is ``layout=((64,) * 2, (128,) * 2, (256,) * 3,
    (512,) * 3, (512,) * 3)``); ``pool="avg"`` is what :func:`convert` converts.
    """
    check_int("in_channels", in_channels, low=1)
    check_int("image_size", image_size, low=1)
    check_choice("pool", pool, ("max", "avg"))
    layers, cin, size = [], in_channels, image_size
    for stage in layout:
        for cout in stage:
            check_int("layout", cout, low=1)
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]
            layers.append(nn.ReLU())
            cin = cout
        if size >= 2:
            layers.append(nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2))
            size //= 2
    layers.append(nn.Flatten())
    features = cin * size * size
    for width in hidden if isinstance(hidden, tuple | list) else (hidden,):
        layers += [nn.Linear(features, check_int("hidden", width, low=1)), nn.ReLU()]
        features = width
    return nn.Sequential(*layers, nn.Linear(features, num_classes))


class ConvertedBlock(nn.Module):
    """A converted residual block: ``IF(branch(x) + shortcut(x))`` on ``[T, B, C, H, W]``."""

    def __init__(self, branch, shortcut, neuron):
        super().__init__()
        self.branch, self.shortcut, self.neuron = branch, shortcut, neuron

    def forward(self, x_seq):
        return self.neuron(self.branch(x_seq) + self.shortcut(x_seq))


def _synapse(m):
    return walk.kind(m) == "synapse"


def _check_ann(ann):
    if not isinstance(ann, nn.Sequential):
        raise TypeError(f"ann must be an nn.Sequential, got {type(ann).__name__}")
    for i, m in enumerate(ann):
        if type(m) not in ANN_LAYERS:  # the exact type: a spiking neuron is not an ANN layer
            raise TypeError(
                f"conversion supports Linear, Conv2d, BatchNorm, ReLU, ReLUBasicBlock, Flatten, "
                f"AvgPool2d and Dropout, got {type(walk.inner(m)).__name__} at index {i} (a ReLU "
                f"ANN; use AvgPool for MaxPool)"
            )
    if not any(_synapse(m) or isinstance(m, ReLUBasicBlock) for m in ann):
        raise ValueError("ann has no Linear/Conv2d layer to convert")
    return ann


def batchnorm_folded(ann):
    """A copy of ``ann`` with every BatchNorm1d/2d folded into the Linear/Conv2d just before it
    (:func:`spikelearn.norm.fold_batchnorm`): the same function as ``ann.eval()``, fewer layers."""
    folded = norm.fold_batchnorm(copy.deepcopy(_check_ann(ann)).eval())
    for before, m in zip([None, *folded[:-1]], folded, strict=True):
        if walk.kind(m) == "norm":
            raise TypeError(
                f"a {type(m).__name__} must directly follow a Linear/Conv2d to be folded, "
                f"got it after {type(before).__name__ if before is not None else 'nothing'}"
            )
    return nn.Sequential(*(m for m in folded if not isinstance(m, nn.Identity)))


def _percentile(h, percentile, where):
    a = h[h > 0]  # what the ReLU passes on (all positive outputs for the output layer)
    if a.numel() == 0:
        raise ValueError(f"{where} is silent on x: no scale")
    return float(np.percentile(a.double().cpu().numpy(), percentile))


@torch.no_grad()
def activation_scales(ann, x, percentile=99.9):
    """``λ_l`` per neuron layer: the ``percentile`` of its non-zero (ReLU) outputs on ``x``.

    The output layer (no ReLU after it) uses its positive outputs; batch norms are folded first.
    A :class:`ReLUBasicBlock` has two neuron layers: inside its branch, and after the addition.
    """
    check_tensor("x", x, min_dim=2)
    check_range("percentile", percentile, low=0, high=100, low_open=True)
    scales, h = [], x
    for i, m in enumerate(batchnorm_folded(ann)):
        if isinstance(m, ReLUBasicBlock):
            inner = m.branch[:3](h)  # conv, (folded batch norm), ReLU
            scales.append(_percentile(inner, percentile, f"layer {i} (branch)"))
        h = m(h)
        if _synapse(m) or isinstance(m, ReLUBasicBlock):
            scales.append(_percentile(h, percentile, f"layer {i} ({type(m).__name__})"))
    return scales


def _synapses(module):
    return [site.layer for site in walk.walk(module) if site.kind == "synapse"]


def _scaled(layer, lam_in, lam_out):
    """``TimeFolded`` copy of ``layer`` with ``W · λ_in / λ_out`` and ``b / λ_out``."""
    layer = copy.deepcopy(layer)
    layer.weight.mul_(lam_in / lam_out)
    if layer.bias is not None:
        layer.bias.div_(lam_out)
    return TimeFolded(layer)


class PrechargedIF(IF):
    """An IF neuron whose membrane starts at ``initial · V_th`` instead of 0.

    From rest, a constant input ``a`` in [0, 1] gives ``N = floor(a·T)`` spikes in ``T`` steps: the
    count only ever lags. Starting half-charged (``initial = 0.5``) turns the floor into rounding,
    ``|N - a·T| <= 1/2``, and removes most of the onset delay of deep converted networks (each
    layer no longer waits to charge up from zero) - the standard remedy since Rueckauer et al.
    (2017) and part of QCFS conversion (Bu et al., ICLR 2022). Its own part is only where its
    state starts (``rest``).
    """

    def __init__(self, threshold=1.0, initial=0.5, reset_mechanism="subtract"):
        super().__init__(threshold, reset_mechanism=reset_mechanism)
        self.initial = float(check_range("initial", initial, 0.0, 1.0))

    def rest(self, name, like):
        return torch.full_like(like, self.initial) * self.threshold

    def extra_repr(self):
        return super().extra_repr() + f", initial={self.initial:g}"


ANN_LAYERS = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, ReLUBasicBlock,
              nn.Flatten, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Dropout, nn.Identity)  # fmt: skip


@torch.no_grad()
def convert(ann, x, percentile=99.9, reset_mechanism="subtract", initial_membrane=0.0):
    """An SNN of IF neurons (threshold 1) with the ANN's normalised weights.

    Args:
        ann: an ``nn.Sequential`` of Linear/Conv2d, BatchNorm1d/2d (folded into the layer before),
            ReLU, :class:`ReLUBasicBlock`, Flatten, AvgPool2d, AdaptiveAvgPool2d (Dropout is
            dropped).
        x: training inputs ``[N, ...]`` to measure activations on (a few hundred samples suffice).
        percentile: ``p`` of the normalisation (100 = the maximum, Diehl et al. 2015).
        reset_mechanism: ``"subtract"`` (the accurate choice, Rueckauer 2017) or ``"zero"``.
        initial_membrane: where every IF membrane starts, as a fraction of the threshold: 0 (rest,
            the naive conversion) or e.g. 0.5 (:class:`PrechargedIF`, the usual remedy for the
            onset delay).

    Returns:
        ``nn.Sequential`` of ``TimeFolded`` / ``Spiking(IF)`` layers (and a
        :class:`ConvertedBlock` per residual block) mapping ``[T, B, ...]`` inputs (the analog
        image at every step) to output spikes ``[T, B, classes]``.
    """
    check_choice("reset_mechanism", reset_mechanism, ("subtract", "zero"))
    check_range("initial_membrane", initial_membrane, 0.0, 1.0)
    scales = iter(activation_scales(ann, x, percentile))

    def neurons():
        if initial_membrane == 0:
            return Spiking(IF(threshold=1.0, reset_mechanism=reset_mechanism))
        return Spiking(PrechargedIF(1.0, initial_membrane, reset_mechanism))

    layers, prev = [], 1.0
    for m in batchnorm_folded(ann):
        if _synapse(m):
            lam = next(scales)
            layers += [_scaled(m, prev, lam), neurons()]
            prev = lam
        elif isinstance(m, ReLUBasicBlock):
            (conv1, conv2), shortcut = _synapses(m.branch), _synapses(m.shortcut)
            if not shortcut:  # an identity shortcut is the 1x1 convolution I
                shortcut = [nn.Conv2d(conv1.in_channels, conv1.in_channels, 1, bias=False)]
                shortcut[0].weight.copy_(torch.eye(conv1.in_channels)[:, :, None, None])
            mid, out = next(scales), next(scales)
            branch = nn.Sequential(_scaled(conv1, prev, mid), neurons(), _scaled(conv2, mid, out))
            layers.append(ConvertedBlock(branch, _scaled(shortcut[0], prev, out), neurons()))
            prev = out
        elif type(m) in (nn.Flatten, nn.AvgPool2d, nn.AdaptiveAvgPool2d):
            layers.append(TimeFolded(copy.deepcopy(m)))
    return nn.Sequential(*layers)


__all__ = [
    "ConvertedBlock",
    "PrechargedIF",
    "ReLUBasicBlock",
    "activation_scales",
    "convert",
    "batchnorm_folded",
    "relu_resnet",
    "relu_vgg",
]
