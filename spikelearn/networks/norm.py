"""Batch normalisation for spiking networks: statistics shared over time, and tdBN.

A spiking layer sees a *sequence* of input currents ``x[t]``, ``t = 1..T``. Normalising each time
step with its own statistics would give every step a different scale; instead the statistics are
shared over all time steps, which is the same as folding time into the batch::

    [T, B, C, H, W]  ->  [T·B, C, H, W]  ->  BatchNorm  ->  [T, B, C, H, W]

* :class:`BatchNormThroughTime` - plain batch norm on the neurons' input currents with one set of
  statistics for all time steps (Ledinauskas et al. 2020, "Training Deep Spiking Neural
  Networks", arXiv 2006.04436).
* :class:`TdBatchNorm` - threshold-dependent batch norm (Zheng et al. 2021, "Going Deeper With
  Directly-Trained Larger Spiking Neural Networks", AAAI, arXiv 2011.05280). Per channel ``c``,
  mean and variance over batch, space *and* time, then the normalised current is scaled to the
  firing threshold::

      x̂ = α·V_th·(x - E[x]) / sqrt(Var[x] + ε),     y = λ·x̂ + β      (λ, β learned)

  ``α = 1`` in general and ``α = 1/√2`` for the two branches summed in a residual block, so the
  sum again has the variance ``V_th²``.
* :func:`fold_batchnorm` - at inference the normalisation is an affine map per channel, so it
  folds into the preceding convolution or linear layer (``W' = W·g/σ``, ``b' = (b - μ)·g/σ + β``
  with ``g = λ·α·V_th``) and costs nothing on hardware.
"""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_int, check_positive, check_range, check_tensor
from . import walk
from .layers import TimeFolded


class BatchNormThroughTime(nn.Module):
    """Batch norm on ``[T, B, C, ...]`` sequences with statistics shared over all time steps.

    Per channel: ``y = λ·(x - E[x]) / sqrt(Var[x] + ε) + β``, mean and variance over time, batch
    and any spatial dimensions (Ledinauskas et al. 2020). Running statistics are kept for
    evaluation exactly as in ``torch.nn.BatchNorm2d``.

    Args:
        num_features: number of channels ``C`` (dimension 2 of the input).
        eps: ``ε`` added to the variance.
        momentum: weight of the newest batch in the running statistics.
    """

    gain = 1.0  # multiplies the normalised current (tdBN sets α·V_th)
    kind = "norm"  # for the model walker (spikelearn.walk)

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = check_int("num_features", num_features, low=1)
        self.eps = float(check_positive("eps", eps))
        self.momentum = float(check_range("momentum", momentum, 0, 1))
        self.weight = nn.Parameter(torch.ones(self.num_features))
        self.bias = nn.Parameter(torch.zeros(self.num_features))
        self.register_buffer("running_mean", torch.zeros(self.num_features))
        self.register_buffer("running_var", torch.ones(self.num_features))

    def forward(self, x_seq):
        """Normalise a ``[T, B, C, ...]`` sequence; returns the same shape."""
        check_tensor("x_seq", x_seq, min_dim=3, finite=False)
        if x_seq.shape[2] != self.num_features:
            raise ValueError(
                f"x_seq must have {self.num_features} channels in dimension 2, "
                f"got shape {tuple(x_seq.shape)}"
            )
        if self.training and x_seq.numel() // self.num_features < 2:
            raise ValueError(
                f"x_seq must hold more than one value per channel in training (over time, batch "
                f"and space), got shape {tuple(x_seq.shape)}; use a larger batch or .eval()"
            )
        x = x_seq.flatten(0, 1)  # fold time into batch: one set of statistics for every step
        y = F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight * self.gain,
            self.bias,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )
        return y.reshape(x_seq.shape)

    def affine(self):
        """The per-channel map used at inference, ``y = scale·x + shift``: returns (scale, shift)."""
        scale = self.weight * self.gain / torch.sqrt(self.running_var + self.eps)
        return scale, self.bias - self.running_mean * scale

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"


class TdBatchNorm(BatchNormThroughTime):
    """Threshold-dependent batch norm (tdBN, Zheng et al. AAAI 2021).

    ``x̂ = α·V_th·(x - E[x]) / sqrt(Var[x] + ε)``, ``y = λ·x̂ + β`` with statistics per channel over
    time, batch and space. Use ``alpha=1/math.sqrt(2)`` for the normalisations whose outputs are
    added in a residual block.

    Args:
        num_features: number of channels ``C``.
        alpha: the ``α`` factor (1, or ``1/√2`` before a residual sum).
        threshold: the firing threshold ``V_th`` of the neurons that receive the current.
        eps, momentum: as :class:`BatchNormThroughTime`.
    """

    def __init__(self, num_features, alpha=1.0, threshold=1.0, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        self.alpha = float(check_positive("alpha", alpha))
        self.threshold = float(check_positive("threshold", threshold))

    @property
    def gain(self):
        return self.alpha * self.threshold

    def extra_repr(self):
        return f"{super().extra_repr()}, alpha={self.alpha:.4g}, threshold={self.threshold:g}"


RESIDUAL_ALPHA = 1 / math.sqrt(2)  # tdBN's α for the two branches of a residual sum


def _scale_shift(bn):
    """``(s, t)`` with ``bn(x) = s·x + t`` per channel in evaluation mode."""
    if isinstance(bn, BatchNormThroughTime):
        return bn.affine()
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def fold_into(layer, bn):
    """Return a copy of ``layer`` (conv or linear) with the eval-mode ``bn`` folded in.

    ``layer`` followed by ``bn`` in evaluation mode equals the returned layer alone::

        W' = W·s,  b' = b·s + t,   where bn(x) = s·x + t per output channel.
    """
    if walk.kind(layer) != "synapse":
        raise TypeError(f"layer must be a Conv1d/2d/3d or Linear, got {type(layer).__name__}")
    if walk.kind(bn) != "norm":
        raise TypeError(f"bn must be a batch-norm layer, got {type(bn).__name__}")
    out = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
    if bn.num_features != out:
        raise ValueError(f"bn has {bn.num_features} channels but layer has {out} outputs")
    with torch.no_grad():
        scale, shift = _scale_shift(bn)
        folded = copy.deepcopy(layer)
        folded.weight.mul_(scale.reshape(-1, *([1] * (layer.weight.dim() - 1))))
        bias = layer.bias if layer.bias is not None else torch.zeros(out)
        folded.bias = nn.Parameter(bias * scale + shift)
    return folded


def fold_batchnorm(model):
    """Fold every (conv/linear, batch norm) pair inside ``nn.Sequential`` containers, in place.

    Either may be wrapped in ``spikelearn.layers.TimeFolded``; the batch norm is replaced by
    ``nn.Identity``. Call it on a model in evaluation mode: the outputs are unchanged up to float
    rounding. Returns ``model`` (:func:`spikelearn.conversion.batchnorm_folded` returns a copy).
    """
    for module in list(model.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:], strict=False):
            layer, bn = module._modules[first], module._modules[second]
            inner, bn = walk.inner(layer), walk.inner(bn)
            if walk.kind(inner) == "synapse" and walk.kind(bn) == "norm":
                folded = fold_into(inner, bn)
                if isinstance(layer, TimeFolded):
                    layer.module = folded
                else:
                    module._modules[first] = folded
                module._modules[second] = nn.Identity()
    return model


__all__ = [
    "BatchNormThroughTime",
    "TdBatchNorm",
    "RESIDUAL_ALPHA",
    "fold_into",
    "fold_batchnorm",
]
