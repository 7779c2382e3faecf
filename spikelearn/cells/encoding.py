"""Spike encoders: turn an input ``[B, ...]`` (pixel intensities in [0, 1]) into ``[T, B, ...]``.

Four codes, with snnTorch's definitions (``snntorch.spikegen``; Eshraghian et al. 2023,
"Training Spiking Neural Networks Using Lessons From Deep Learning", arXiv 2109.12894):

* ``rate``    - a Bernoulli draw every step, ``o[t] ~ Bernoulli(gain·x)``: brighter fires more often.
* ``poisson`` - spike *counts* per step ``~ Poisson(gain·x)``, a Poisson process binned in time.
* ``latency`` - time to first spike: one spike per input at most, brighter fires earlier.
* ``delta``   - a spike when the input changes by at least ``threshold`` between steps.
* ``direct``  - no spikes at all: the analog value is the input current at every step.

Random codes take ``seed`` or ``generator`` so a draw can be repeated. With neither, they use
torch's global generator exactly as snnTorch does, so after ``torch.manual_seed(s)``
``rate(x, T)`` equals ``snntorch.spikegen.rate(x, num_steps=T)`` spike for spike.

``spike_count(spikes)`` and ``time_to_first_spike(spikes)`` read a code back.
"""

import math

import torch

from .._checks import check_int, check_positive, check_probability, check_range, check_tensor


def _generator(x, seed, generator):
    if seed is not None and generator is not None:
        raise ValueError("pass either seed or generator, not both")
    if seed is None:
        return generator
    return torch.Generator(device=x.device).manual_seed(check_int("seed", seed, low=0))


def _repeat(x, num_steps):
    """``x`` of shape ``[B, ...]`` repeated along a new first (time) dimension: ``[T, B, ...]``."""
    return x.unsqueeze(0).repeat(num_steps, *([1] * x.dim()))


def direct(x, num_steps):
    """Direct (analog) encoding: the same input current ``x`` at every step, ``[T, B, ...]``.

    The first layer then turns currents into spikes itself; most deep SNNs are trained this way.

    Args:
        x: input ``[B, ...]`` (any finite values).
        num_steps: number of time steps ``T >= 1``.

    Returns:
        ``[T, B, ...]`` with ``out[t] == x``.
    """
    check_tensor("x", x, min_dim=1)
    return _repeat(x, check_int("num_steps", num_steps, low=1))


def rate(x, num_steps, gain=1.0, seed=None, generator=None):
    """Rate code: a spike at each step with probability ``p = gain·x`` (Bernoulli).

    The spike count over ``T`` steps is Binomial(T, p): mean ``T·p``, std ``sqrt(T·p·(1 - p))``.
    Unlike snnTorch, which clips ``gain·x`` to [0, 1] silently, probabilities outside [0, 1] raise.

    Args:
        x: intensities ``[B, ...]`` in [0, 1].
        num_steps: number of time steps ``T >= 1``.
        gain: scales the probability, ``p = gain·x`` (must stay in [0, 1]).
        seed, generator: make the draw reproducible (default: torch's global generator).

    Returns:
        Spikes ``[T, B, ...]`` of 0/1 (same dtype as ``x``).
    """
    check_tensor("x", x, min_dim=1)
    check_probability("x", x)
    num_steps = check_int("num_steps", num_steps, low=1)
    check_range("gain", gain, low=0)
    p = check_probability("gain * x", x * gain)
    return torch.bernoulli(_repeat(p, num_steps), generator=_generator(x, seed, generator))


def poisson(x, num_steps, gain=1.0, seed=None, generator=None):
    """Poisson code: spike counts per step ``~ Poisson(gain·x)``.

    A Poisson process of rate ``gain·x`` spikes per step, binned into steps. Counts can exceed 1
    (several spikes in one step). Mean and variance of the count per step both equal ``gain·x``
    (Fano factor 1), while the Bernoulli ``rate`` code has variance ``p·(1 - p)``; for small ``p``
    the two agree.

    Args:
        x: intensities ``[B, ...]``, ``x >= 0``.
        num_steps: number of time steps ``T >= 1``.
        gain: spikes per step at ``x = 1``.
        seed, generator: make the draw reproducible (default: torch's global generator).

    Returns:
        Spike counts ``[T, B, ...]`` (non-negative integers stored as ``x.dtype``).
    """
    check_tensor("x", x, min_dim=1)
    check_range("x", x, low=0)
    num_steps = check_int("num_steps", num_steps, low=1)
    check_range("gain", gain, low=0)
    return torch.poisson(_repeat(x * gain, num_steps), generator=_generator(x, seed, generator))


def latency_times(x, num_steps, tau=1.0, threshold=0.01, linear=False, normalize=False):
    """Continuous spike times of the latency code (before rounding to steps), ``[B, ...]``.

    * log (default): an RC neuron charged by a constant current ``x`` reaches ``threshold`` at
      ``t = tau·ln(x / (x - threshold))``; inputs at or below ``threshold`` are treated as
      ``threshold + 1e-7`` (they come last, at ``t_thr``, the time of that input).
    * linear: ``t = tau·(1 - x)``, capped at ``tau·(1 - threshold)``: ``x = 1`` at 0 and every
      input at or below ``threshold`` (``x = 0`` too) at ``tau·(1 - threshold)``.

    ``normalize=True`` stretches the code over the window. Linear: ``tau = T - 1``, so the latest
    spike lands at ``(T - 1)·(1 - threshold)``, as in snnTorch. Log: ``t·(T - 1) / t_thr``, so
    inputs at or below ``threshold`` land exactly on step ``T - 1``; ``t_thr`` is computed in
    ``x``'s dtype with the same operations as every other time. snnTorch divides by the batch's
    largest time instead (a sample's code then depends on the rest of the batch); the two are
    equal, bit for bit, whenever the batch holds an input at or below threshold (every digit image
    has a black background). Everything else equals ``snntorch.spikegen.latency_code``.

    Args:
        x: intensities ``[B, ...]`` in [0, 1].
        num_steps: number of time steps ``T >= 1``.
        tau: time constant (steps) of the code.
        threshold: in (0, 1); inputs below it carry no information.
        linear: linear instead of logarithmic code.
        normalize: spread the spike times over ``[0, T - 1]``.

    Returns:
        Spike times ``[B, ...]`` as floats (``x``'s dtype).
    """
    check_tensor("x", x, min_dim=1)
    check_probability("x", x)
    num_steps = check_int("num_steps", num_steps, low=1)
    check_positive("tau", tau)
    check_range("threshold", threshold, 0, 1, low_open=True, high_open=True)
    if linear:
        tau = num_steps - 1 if normalize else tau
        return (tau * (1 - x)).clamp(max=tau * (1 - threshold))
    eps = 1e-7  # snnTorch's epsilon

    def times(v):
        v = v.clamp(min=threshold + eps)
        return tau * torch.log(v / (v - threshold))

    t = times(x)
    if normalize:  # the operations of snnTorch's normalisation, with t_thr for the batch maximum
        t_thr = times(torch.zeros((), dtype=x.dtype, device=x.device))
        t = t * (num_steps - 1) / t_thr
    return t


def latency(x, num_steps, tau=1.0, threshold=0.01, linear=False, normalize=False, clip=False):
    """Latency (time-to-first-spike) code: each input fires once, brighter inputs first.

    The spike time is ``latency_times(...)`` rounded to the nearest step (as snnTorch does). A time
    later than the last step ``T - 1`` means no spike in the window; ``clip=True`` also silences
    inputs below ``threshold`` (otherwise they fire last). Equal to
    ``snntorch.spikegen.latency(..., bypass=True)`` (snnTorch raises for times past the window
    without ``bypass``), except for the log code's normaliser (see :func:`latency_times`).

    Args:
        x: intensities ``[B, ...]`` in [0, 1].
        num_steps: number of time steps ``T >= 1``.
        tau, threshold, linear, normalize: see :func:`latency_times`.
        clip: no spike for inputs below ``threshold``.

    Returns:
        Spikes ``[T, B, ...]``, at most one per input.
    """
    times = torch.round(latency_times(x, num_steps, tau, threshold, linear, normalize))
    steps = torch.arange(num_steps, device=x.device, dtype=times.dtype)
    steps = steps.reshape(num_steps, *([1] * x.dim()))
    spikes = (steps == times.unsqueeze(0)).to(x.dtype)
    if clip:
        spikes = spikes * (x >= threshold).to(x.dtype)
    return spikes


def delta(x_seq, threshold=0.1, off_spike=False, padding=False):
    """Delta modulation: a spike when the input rises by at least ``threshold`` since last step.

    ``o[t] = 1 if x[t] - x[t-1] >= threshold``; with ``off_spike=True`` also ``o[t] = -1`` if
    ``x[t] - x[t-1] <= -threshold``. Before the first step the input is taken as 0
    (``padding=True``: as ``x[0]``, so step 0 never fires). An event camera (DVS) works this way,
    per pixel. Same definition as ``snntorch.spikegen.delta``.

    Args:
        x_seq: a time series ``[T, B, ...]``.
        threshold: the change that triggers a spike, ``> 0``.
        off_spike: also emit -1 spikes for decreases.
        padding: compare step 0 with itself instead of with 0.

    Returns:
        Spikes ``[T, B, ...]`` in {0, 1} (or {-1, 0, 1} with ``off_spike``).
    """
    check_tensor("x_seq", x_seq, min_dim=2)
    check_positive("threshold", threshold)
    first = x_seq[:1] if padding else torch.zeros_like(x_seq[:1])
    change = x_seq - torch.cat([first, x_seq[:-1]])
    spikes = (change >= threshold).to(x_seq.dtype)
    if off_spike:
        spikes = spikes - (change <= -threshold).to(x_seq.dtype)
    return spikes


def saccades(x, num_steps, amplitude=2):
    """A still image ``[B, ..., H, W]`` moved left and right over time, ``[T, B, ..., H, W]``.

    The image shifts by one pixel per step, 0 -> ``amplitude`` -> 0 -> ..., with zeros moving in
    at the edge. N-MNIST was recorded this way: an event camera watching MNIST digits while
    the camera made small saccades (Orchard et al. 2015). Feed the result to :func:`delta`.

    Args:
        x: images ``[B, ..., H, W]``.
        num_steps: number of time steps ``T >= 1``.
        amplitude: largest shift in pixels, ``>= 1``.

    Returns:
        ``[T, B, ..., H, W]``.
    """
    check_tensor("x", x, min_dim=2)
    num_steps = check_int("num_steps", num_steps, low=1)
    amplitude = check_int("amplitude", amplitude, low=1)
    frames = []
    for t in range(num_steps):
        shift = min(amplitude, amplitude - abs(t % (2 * amplitude) - amplitude))
        frame = torch.zeros_like(x)
        frame[..., shift:] = x[..., : x.shape[-1] - shift]
        frames.append(frame)
    return torch.stack(frames)


def spike_count(spikes):
    """Spikes per input over the whole window, ``[B, ...]`` (off-spikes of ``delta`` count too).

    ``spike_count(s).sum() / B`` is what one sample costs in spikes.
    """
    check_tensor("spikes", spikes, min_dim=1)
    return spikes.abs().sum(0)


def time_to_first_spike(spikes):
    """Index of the first step with a spike, per input, ``[B, ...]``; ``inf`` if it never fires."""
    check_tensor("spikes", spikes, min_dim=1)
    fired = spikes != 0
    steps = torch.arange(spikes.shape[0], device=spikes.device, dtype=spikes.dtype)
    steps = steps.reshape(-1, *([1] * (spikes.dim() - 1))).expand_as(spikes)
    first = torch.where(fired, steps, torch.full_like(spikes, math.inf)).amin(0)
    return first


__all__ = [
    "direct",
    "rate",
    "poisson",
    "latency_times",
    "latency",
    "delta",
    "saccades",
    "spike_count",
    "time_to_first_spike",
]
