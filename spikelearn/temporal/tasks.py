"""Temporal tasks, generated offline in seconds, as time-major ``[T, N, ...]`` tensors.

* :func:`delayed_digits` - a task that needs memory. A digit is shown row by row as spikes, then
  the input goes silent for ``delay`` steps, then a cue channel fires: only during the cue may the
  network answer. By then the input is gone, so a feed-forward LIF network (whose only memory is
  a membrane that decays by ``β`` per step, ``β^delay ≈ 0`` after a long delay) stays near chance
  (10 %), while a network with a slow state - recurrence that keeps activity alive, or threshold
  adaptation that lasts ``τ_a`` steps (``adaptive.ALIF``) - can carry the digit across the delay.
  This is the "store and recall" setting of Bellec et al. 2018 (arXiv 1803.09574) with the
  embedded digits in place of random patterns.
* :func:`membrane_target` - regression: make an output membrane follow a smooth time-varying
  target, with a loss on the membrane trace (snnTorch's regression tutorial, part 1)::

      loss = ((mem_out - target) ** 2).mean()

Both are seeded; the same arguments give the same tensors.
"""

import math

import torch

from .._checks import check_choice, check_int, check_probability
from ..networks import datasets


def delayed_digits(split="train", delay=30, steps_per_row=1, cue_steps=5, noise=0.0, seed=0):
    """Store-and-recall on the embedded 8x8 digits.

    Layout of one sample over ``T = 8·steps_per_row + delay + cue_steps`` steps, on 9 input
    channels (8 pixel columns + 1 cue)::

        steps 0 .. 8·steps_per_row - 1   row k of the image as spikes, o ~ Bernoulli(pixel)
        next ``delay`` steps             silence (or background noise spikes)
        last ``cue_steps`` steps         channel 8 fires every step: "answer now"

    Read the answer only during the cue, e.g. ``logits = mem_out[-cue_steps:].mean(0)``.

    Args:
        split: ``"train"`` (1437 samples) or ``"test"`` (360), the fixed ``datasets`` split.
        delay: silent steps between the digit and the cue, ``>= 0``.
        steps_per_row: steps each image row is shown, ``>= 1``.
        cue_steps: length of the cue (and of the answer window), ``>= 1``.
        noise: probability of a background spike per channel and step, in [0, 1].
        seed: seeds the spike draws.

    Returns:
        ``(x, y)``: spikes ``[T, N, 9]`` float32 and labels ``[N]`` int64.
    """
    check_choice("split", split, ("train", "test"))
    delay = check_int("delay", delay, low=0)
    steps_per_row = check_int("steps_per_row", steps_per_row, low=1)
    cue_steps = check_int("cue_steps", cue_steps, low=1)
    check_probability("noise", noise)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    train, test = datasets.load("digits")
    images, labels = (train if split == "train" else test).tensors
    rows = images[:, 0].permute(1, 0, 2).repeat_interleave(steps_per_row, dim=0)  # [8·s, N, 8]
    n = len(labels)
    x = torch.zeros(rows.shape[0] + delay + cue_steps, n, 9)
    x[: rows.shape[0], :, :8] = torch.bernoulli(rows, generator=g)
    if noise > 0:
        x = torch.maximum(x, torch.bernoulli(torch.full_like(x, noise), generator=g))
    x[-cue_steps:, :, 8] = 1.0
    return x, labels


def membrane_target(num_samples=16, num_steps=100, num_inputs=50, rate=0.05, seed=0):
    """Regression: frozen random spike trains to be mapped onto smooth membrane targets.

    Each sample gets its own Poisson-like input (``o ~ Bernoulli(rate)`` per input and step) and
    its own target, a sum of three sinusoids with random frequency (0.5 to 3 periods over the
    window), phase and amplitude, scaled into [0, 1]::

        target[t] = 0.5 + 0.5·Σ_k a_k·sin(2π·f_k·t/T + φ_k) / Σ_k a_k

    Args:
        num_samples, num_steps, num_inputs: sizes ``N``, ``T``, ``C`` (each ``>= 1``).
        rate: input spike probability per step, in [0, 1].
        seed: seeds everything.

    Returns:
        ``(x, target)``: spikes ``[T, N, C]`` and targets ``[T, N]``, float32.
    """
    n = check_int("num_samples", num_samples, low=1)
    steps = check_int("num_steps", num_steps, low=1)
    c = check_int("num_inputs", num_inputs, low=1)
    check_probability("rate", rate)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    x = torch.bernoulli(torch.full((steps, n, c), float(rate)), generator=g)
    freq = 0.5 + 2.5 * torch.rand(3, n, generator=g)
    phase = 2 * math.pi * torch.rand(3, n, generator=g)
    amp = 0.2 + torch.rand(3, n, generator=g)
    t = torch.arange(steps, dtype=torch.float32)[:, None, None] / steps
    wave = (amp * torch.sin(2 * math.pi * freq * t + phase)).sum(1) / amp.sum(0)
    return x, 0.5 + 0.5 * wave


__all__ = ["delayed_digits", "membrane_target"]
