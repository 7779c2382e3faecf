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
"""

import copy

import numpy as np
import torch
from torch import nn

from . import norm
from ._checks import check_choice, check_range, check_tensor
from .layers import Spiking, TimeFolded
from .neurons import IF

WEIGHTED = (nn.Linear, nn.Conv2d)
STATELESS = (nn.Flatten, nn.AvgPool2d, nn.Dropout, nn.Identity)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def _check_ann(ann):
    if not isinstance(ann, nn.Sequential):
        raise TypeError(f"ann must be an nn.Sequential, got {type(ann).__name__}")
    for m in ann:
        if not isinstance(m, WEIGHTED + STATELESS + NORMS + (nn.ReLU,)):
            raise TypeError(
                f"conversion supports Linear, Conv2d, BatchNorm, ReLU, Flatten, AvgPool2d and "
                f"Dropout, got {type(m).__name__} (use AvgPool for MaxPool)"
            )
    if not any(isinstance(m, WEIGHTED) for m in ann):
        raise ValueError("ann has no Linear/Conv2d layer to convert")
    return ann


def fold_batchnorm(ann):
    """A copy of ``ann`` with every BatchNorm1d/2d folded into the Linear/Conv2d just before it
    (:func:`spikelearn.norm.fold_batchnorm`): the same function as ``ann.eval()``, fewer layers."""
    folded = norm.fold_batchnorm(copy.deepcopy(_check_ann(ann)).eval())
    for before, m in zip([None, *folded[:-1]], folded, strict=True):
        if isinstance(m, NORMS):
            raise TypeError(
                f"a {type(m).__name__} must directly follow a Linear/Conv2d to be folded, "
                f"got it after {type(before).__name__ if before is not None else 'nothing'}"
            )
    return nn.Sequential(*(m for m in folded if not isinstance(m, nn.Identity)))


@torch.no_grad()
def activation_scales(ann, x, percentile=99.9):
    """``λ_l`` per weighted layer: the ``percentile`` of its non-zero (ReLU) outputs on ``x``.

    The output layer (no ReLU after it) uses its positive outputs; batch norms are folded first.
    """
    check_tensor("x", x, min_dim=2)
    check_range("percentile", percentile, low=0, high=100, low_open=True)
    ann = copy.deepcopy(fold_batchnorm(ann)).eval()
    scales, h = [], x
    for i, m in enumerate(ann):
        h = m(h)
        if isinstance(m, WEIGHTED):
            a = h[h > 0]  # what the ReLU after it passes on (all positive outputs for the last)
            if a.numel() == 0:
                raise ValueError(f"layer {i} ({type(m).__name__}) is silent on x: no scale")
            scales.append(float(np.percentile(a.double().cpu().numpy(), percentile)))
    return scales


@torch.no_grad()
def convert(ann, x, percentile=99.9, reset_mechanism="subtract"):
    """An SNN of IF neurons (threshold 1) with the ANN's normalised weights.

    Args:
        ann: an ``nn.Sequential`` of Linear/Conv2d, BatchNorm1d/2d (folded into the layer before),
            ReLU, Flatten, AvgPool2d (Dropout is dropped).
        x: training inputs ``[N, ...]`` to measure activations on (a few hundred samples suffice).
        percentile: ``p`` of the normalisation (100 = the maximum, Diehl et al. 2015).
        reset_mechanism: ``"subtract"`` (the accurate choice, Rueckauer 2017) or ``"zero"``.

    Returns:
        ``nn.Sequential`` of ``TimeFolded`` / ``Spiking(IF)`` layers mapping ``[T, B, ...]`` inputs
        (the analog image at every step) to output spikes ``[T, B, classes]``.
    """
    check_choice("reset_mechanism", reset_mechanism, ("subtract", "zero"))
    scales = iter(activation_scales(ann, x, percentile))
    layers, prev = [], 1.0
    for m in fold_batchnorm(ann):
        if isinstance(m, WEIGHTED):
            lam = next(scales)
            m = copy.deepcopy(m)
            m.weight.mul_(prev / lam)
            if m.bias is not None:
                m.bias.div_(lam)
            layers += [TimeFolded(m), Spiking(IF(threshold=1.0, reset_mechanism=reset_mechanism))]
            prev = lam
        elif isinstance(m, nn.Flatten | nn.AvgPool2d):
            layers.append(TimeFolded(copy.deepcopy(m)))
    return nn.Sequential(*layers)


__all__ = ["activation_scales", "convert", "fold_batchnorm"]
