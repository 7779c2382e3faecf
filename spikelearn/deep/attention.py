"""Spiking self-attention (Spikformer) and a small spiking transformer for images.

Zhou, Zhu, He, Wang, Yan, Tian, Yuan 2023, "Spikformer: When Spiking Neural Network Meets
Transformer", ICLR, arXiv 2209.15425.

An image becomes ``N`` tokens of ``D`` features (patches), over ``T`` steps: ``X`` is
``[T, B, N, D]``. Spiking self-attention (SSA) makes queries, keys and values *spikes*::

    Q = SN(BN(X·W_Q)),   K = SN(BN(X·W_K)),   V = SN(BN(X·W_V))          ∈ {0, 1}
    SSA'(Q, K, V) = SN(Q·Kᵀ·V·s)                                          per head, no softmax
    SSA(X) = SN(BN(Linear(SSA'(Q, K, V))))

``Q·Kᵀ`` counts the features two tokens both fire: it is never negative, so the softmax that a
transformer needs to make attention weights positive is dropped, and with it every
exponential; the products of spikes are additions. The scale ``s`` (0.125, a constant, not
``1/√d``) keeps the counts in the range of the neuron's threshold (0.5 for the attention neuron
in the authors' code). An encoder block adds its input back (spikes plus spikes: counts)::

    X' = X + SSA(X),      X'' = X' + MLP(X'),      MLP = SN(BN(Linear(SN(BN(Linear(·))))))

Reported: Spikformer-8-768 on ImageNet, ``T = 4``: 74.81 %.

:func:`spiking_transformer` builds a small one: patches as tokens (a strided convolution, BN and
a learned position embedding; Spikformer uses convolutional patch splitting and a relative
position embedding), ``depth`` blocks, the mean over tokens and a spiking linear readout.
"""

import torch
from torch import nn

from .._checks import check_int, check_positive, check_sequence
from ..networks import models
from ..networks.layers import TimeFolded
from ..networks.norm import BatchNormThroughTime


class TokenNorm(BatchNormThroughTime):
    """Batch norm of ``[T, B, N, D]`` tokens over the feature dimension ``D``, with statistics
    over time, batch and tokens (Spikformer's ``BatchNorm1d`` after each linear layer)."""

    def forward(self, x_seq):
        """``[T, B, N, D]`` to ``[T, B, N, D]``."""
        return super().forward(x_seq.transpose(2, 3)).transpose(2, 3)


def _linear_norm_spike(dim_in, dim_out, make):
    """``SN(BN(Linear(x)))`` on tokens, one ``nn.Sequential``."""
    return nn.Sequential(TimeFolded(nn.Linear(dim_in, dim_out)), TokenNorm(dim_out), make())


class SpikingSelfAttention(nn.Module):
    """Spikformer's spiking self-attention, ``SN(BN(Linear(SN(Q·Kᵀ·V·s))))`` over ``heads`` heads.

    Args:
        dim: token features ``D`` (divisible by ``heads``).
        heads: attention heads; each attends with ``D / heads`` features.
        scale: ``s`` (Spikformer: 0.125).
        attention_threshold: threshold of the neuron after ``Q·Kᵀ·V·s`` (authors' code: 0.5).
        neuron, neuron_options: as ``models.spiking_mlp`` (the other neurons).
    """

    def __init__(self, dim, heads=4, scale=0.125, attention_threshold=0.5, neuron="lif",
                 **neuron_options):  # fmt: skip
        super().__init__()
        self.dim, self.heads = check_int("dim", dim, low=1), check_int("heads", heads, low=1)
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads ({heads}), got {dim}")
        self.scale = float(check_positive("scale", scale))
        make = models.NeuronLayers.of(neuron, neuron_options)
        self.q, self.k, self.v = (_linear_norm_spike(dim, dim, make) for _ in range(3))
        self.attention_neuron = models.NeuronLayers(
            make.kind, make.beta, attention_threshold, make.spike_grad, make.reset_mechanism
        )()  # the same neuron with its own threshold
        self.project = _linear_norm_spike(dim, dim, make)

    def _heads(self, x):
        """``[T, B, N, D] -> [T, B, heads, N, D/heads]``."""
        steps, batch, tokens, _ = x.shape
        return x.reshape(steps, batch, tokens, self.heads, -1).transpose(2, 3)

    def attend(self, x_seq):
        """``(q, k, v, SN(Q·Kᵀ·V·s))``: the spikes of every stage, ``[T, B, N, D]`` each."""
        check_sequence("x_seq", x_seq, min_dim=4)
        if x_seq.shape[-1] != self.dim:
            raise ValueError(
                f"x_seq must have {self.dim} features in its last dimension ([T, B, N, D]), "
                f"got shape {tuple(x_seq.shape)}"
            )
        q, k, v = self.q(x_seq), self.k(x_seq), self.v(x_seq)
        mixed = (self._heads(q) @ self._heads(k).transpose(-2, -1)) @ self._heads(v) * self.scale
        mixed = mixed.transpose(2, 3).flatten(3)  # heads back together: [T, B, N, D]
        return q, k, v, self.attention_neuron(mixed)

    def forward(self, x_seq):
        """``[T, B, N, D]`` tokens to ``[T, B, N, D]`` spikes."""
        return self.project(self.attend(x_seq)[-1])

    def extra_repr(self):
        return f"dim={self.dim}, heads={self.heads}, scale={self.scale:g}"


class SpikformerBlock(nn.Module):
    """``X' = X + SSA(X)``, ``X'' = X' + MLP(X')`` (Spikformer's encoder block).

    Args:
        dim, heads, scale, neuron, neuron_options: as :class:`SpikingSelfAttention`.
        mlp_ratio: hidden features of the MLP, ``mlp_ratio·dim``.
    """

    def __init__(self, dim, heads=4, mlp_ratio=2, scale=0.125, neuron="lif", **neuron_options):
        super().__init__()
        make = models.NeuronLayers.of(neuron, neuron_options)
        self.attention = SpikingSelfAttention(dim, heads, scale, neuron=make)
        hidden = check_int("mlp_ratio", mlp_ratio, low=1) * dim
        self.mlp = nn.Sequential(
            *_linear_norm_spike(dim, hidden, make), *_linear_norm_spike(hidden, dim, make)
        )

    def forward(self, x_seq):
        """``[T, B, N, D]`` to ``[T, B, N, D]`` (spike counts: the residual sums add spikes)."""
        x_seq = x_seq + self.attention(x_seq)
        return x_seq + self.mlp(x_seq)


class PatchTokens(nn.Module):
    """Image ``[T, B, C, H, W]`` to tokens ``[T, B, N, D]``: ``SN(BN(conv_p(x)) + position)``.

    A ``patch×patch`` convolution with stride ``patch`` turns each patch into one token of ``dim``
    features (``N = (H/patch)·(W/patch)``); a learned embedding per token position is added to
    the current before the neuron.
    """

    def __init__(self, in_channels, dim, image_size, patch, make):
        super().__init__()
        self.image_size = check_int("image_size", image_size, low=1)
        self.patch = check_int("patch_size", patch, low=1)
        if image_size % patch:
            raise ValueError(
                f"image_size must be divisible by patch_size ({patch}), got {image_size}"
            )
        self.tokens = (image_size // patch) ** 2
        self.embed = TimeFolded(nn.Conv2d(in_channels, dim, patch, patch, bias=False))
        self.norm = BatchNormThroughTime(dim)
        self.position = nn.Parameter(torch.zeros(self.tokens, dim))
        self.neuron = make()

    def forward(self, x_seq):
        """``[T, B, C, H, W]`` to ``[T, B, N, D]`` spikes."""
        current = self.norm(self.embed(x_seq)).flatten(3).transpose(2, 3)  # [T, B, N, D]
        return self.neuron(current + self.position)


class _MeanOverTokens(nn.Module):
    def forward(self, x_seq):
        return x_seq.mean(2)


def spiking_transformer(
    in_channels=1,
    num_classes=10,
    image_size=8,
    patch_size=2,
    dim=32,
    depth=1,
    heads=4,
    mlp_ratio=2,
    scale=0.125,
    neuron="lif",
    return_mem=False,
    **neuron_options,
):
    """A small Spikformer: patch tokens, ``depth`` :class:`SpikformerBlock`\\ s, the mean over
    tokens and a spiking linear output layer; ``[T, B, C, H, W]`` to ``[T, B, classes]``.

    Args:
        in_channels, num_classes, image_size: the images (square) and the classes.
        patch_size: a token per ``patch_size × patch_size`` patch.
        dim, heads, mlp_ratio, scale: as :class:`SpikformerBlock`.
        depth: encoder blocks, >= 1.
        neuron, return_mem, neuron_options: as ``models.spiking_mlp``.
    """
    check_int("in_channels", in_channels, low=1)
    check_int("num_classes", num_classes, low=1)
    check_int("dim", dim, low=1)
    check_int("depth", depth, low=1)
    make = models.NeuronLayers.of(neuron, neuron_options)
    return nn.Sequential(
        PatchTokens(in_channels, dim, image_size, patch_size, make),
        *(SpikformerBlock(dim, heads, mlp_ratio, scale, make) for _ in range(depth)),
        _MeanOverTokens(),
        TimeFolded(nn.Linear(dim, num_classes)),
        make(return_mem, output=True),
    )


__all__ = [
    "SpikingSelfAttention",
    "SpikformerBlock",
    "PatchTokens",
    "TokenNorm",
    "spiking_transformer",
]
