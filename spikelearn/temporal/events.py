"""Events as data: what an event camera (DVS) emits, and how to turn it into tensors.

An event camera has no frames. Each pixel reports, on its own, when its log intensity has changed
by a contrast step ``C`` since its last event (Lichtsteiner, Posch & Delbruck 2008; Gallego et
al. 2022, "Event-based Vision: A Survey", IEEE TPAMI)::

    event (x, y, t, p)  when  |log I(x, y, t) - log I_ref(x, y)| >= C,   p = 1 (ON, brighter) or 0 (OFF)

**Representation.** A recording is a numpy structured array with fields ``x``, ``y`` (pixel),
``t`` (timestamp, integer microseconds) and ``p`` (polarity 0/1), sorted by ``t``
(:data:`EVENT_DTYPE`; the field names of Tonic, so Tonic's transforms take it as is). A sensor
is ``sensor_size = (W, H, P)``: width, height, number of polarities (Tonic's order). One-
dimensional sensors such as the audio cochlea of SHD use ``H = 1``.

* :func:`to_frames` bins events into frames ``[T, P, H, W]`` by time window or event count;
* :func:`time_surface` maps each pixel to ``exp(-(t - t_last)/τ)`` of its latest event;
* :func:`denoise` and :func:`refractory` drop isolated and too-frequent events;
* :func:`pad` batches samples of different lengths (time-major, with their lengths);
* :func:`event_digits` is an offline event dataset: a simulated event camera watching the
  embedded digits make N-MNIST-like saccades.
"""

import numpy as np
import torch

from .._checks import (
    check_choice,
    check_int,
    check_positive,
    check_probability,
    check_range,
    check_tensor,
)
from ..networks import datasets

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])


# the range each field holds: a value outside it would wrap around in the field's integer type
FIELD_RANGES = {"x": (0, 2**15 - 1), "y": (0, 2**15 - 1), "t": (-(2**63), 2**63 - 1), "p": (0, 1)}


def _integers(name, values):
    """``values`` as int64, or a named error: a float must hold whole numbers (never truncated)
    and every value must fit its field of :data:`EVENT_DTYPE` (never wrapped around)."""
    v = np.asarray(values)
    if v.dtype.kind == "b":
        v = v.astype(np.int64)
    if v.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integers, got dtype {v.dtype}")
    if v.dtype.kind == "f":
        fractional = ~np.isfinite(v) | (v != np.floor(v))
        if fractional.any():
            raise ValueError(
                f"{name} must hold whole numbers{' (microseconds)' if name == 't' else ''}, got "
                f"{v[fractional][0].item()!r} at index {int(np.argmax(fractional))}; if rounding is "
                f"meant, round first: np.round({name}).astype(int)"
            )
    low, high = FIELD_RANGES[name]
    # (a float 2**63 compares equal to int64's largest value, 2**63 - 1, yet does not fit it)
    beyond = v.dtype.kind == "f" and v.size and v.max() >= 2.0**63
    if v.size and (v.min() < low or v.max() > high or beyond):
        raise ValueError(f"{name} must be in [{low}, {high}], got values {v.min()} to {v.max()}")
    return v.astype(np.int64)


def make_events(x, y, t, p):
    """A structured event array from four equal-length sequences, sorted by time (stable).

    Every value must be an integer that fits its field (:data:`FIELD_RANGES`: pixel coordinates
    ``0 <= x, y <= 32767``, polarity 0 or 1); floats are accepted only when they hold whole
    numbers. Anything else is a ``ValueError`` naming the field, never a truncated timestamp or
    a coordinate wrapped around in ``int16``.
    """
    x, y, t, p = (np.asarray(v) for v in (x, y, t, p))
    if not x.shape == y.shape == t.shape == p.shape or x.ndim != 1:
        raise ValueError(
            f"x, y, t, p must be 1-D of equal length, got shapes {x.shape}, {y.shape}, {t.shape}, {p.shape}"
        )
    events = np.empty(len(x), dtype=EVENT_DTYPE)
    for name, v in zip("xytp", (x, y, t, p), strict=True):
        events[name] = _integers(name, v)
    return events[np.argsort(events["t"], kind="stable")]


def check_events(name, events, sensor_size=None):
    """Raise unless ``events`` is a structured array with x, y, t, p inside ``sensor_size``."""
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise TypeError(
            f"{name} must be a structured numpy array with fields x, y, t, p, got {type(events).__name__}"
        )
    missing = {"x", "y", "t", "p"} - set(events.dtype.names)
    if missing:
        raise ValueError(f"{name} lacks the fields {sorted(missing)}, got {events.dtype.names}")
    if len(events) and np.any(np.diff(events["t"]) < 0):
        raise ValueError(f"{name} must be sorted by time t")
    if sensor_size is not None:
        if len(sensor_size) != 3:
            raise ValueError(f"sensor_size must be (W, H, P), got {sensor_size!r}")
        for field, size in zip("xyp", sensor_size, strict=True):
            v = events[field]
            if len(v) and (v.min() < 0 or v.max() >= size):
                raise ValueError(
                    f"{name}[{field!r}] must be in [0, {size - 1}] for sensor_size {tuple(sensor_size)}, "
                    f"got values {v.min()} to {v.max()}"
                )
    return events


def _bin_frames(events, bins, n_bins, sensor_size):
    w, h, p = sensor_size
    frames = np.zeros((n_bins, p, h, w), dtype=np.float32)
    keep = (bins >= 0) & (bins < n_bins)
    e = events[keep]
    np.add.at(frames, (bins[keep], e["p"].astype(np.intp), e["y"], e["x"]), 1)
    return torch.from_numpy(frames)


def to_frames(events, sensor_size, time_window=None, event_count=None, start_time=None,
              end_time=None, include_incomplete=True):  # fmt: skip
    """Count events per pixel and polarity in consecutive bins: frames ``[T, P, H, W]`` float32.

    Exactly one of:

    * ``time_window`` (µs): bin ``k`` holds the events with ``t0 + k·w <= t < t0 + (k+1)·w``,
      ``t0 = start_time`` (default: the first event's time); enough bins to hold the last event,
      or, with ``end_time``, exactly ``ceil((end_time - t0) / w)`` bins (a fixed ``T`` for every
      sample; later events are left out);
    * ``event_count``: bin ``k`` holds events ``k·n .. (k+1)·n - 1``; a last, shorter bin only
      if ``include_incomplete``.

    Events before ``t0`` are left out. Frames sum to the number of events binned.

    **Where this differs from Tonic** (``tonic.transforms.ToFrame``, read in Tonic 1.7.0's
    source): by time, these are the bins of ``ToFrame(time_window=w, include_incomplete=True)``,
    except that Tonic leaves out the last event when the recording's duration is an exact
    multiple of the window (Tonic's default, ``include_incomplete=False``, also drops the last,
    partial window; here the time bins always hold every event). By count, the default here
    keeps the last, shorter frame (``include_incomplete=True``); Tonic's default drops it, and
    ``include_incomplete=False`` gives Tonic's frames.
    """
    check_events("events", events, sensor_size)
    if (time_window is None) == (event_count is None):
        raise ValueError("give exactly one of time_window and event_count")
    if len(events) == 0 and end_time is None:
        return torch.zeros(0, sensor_size[2], sensor_size[1], sensor_size[0])
    if time_window is not None:
        check_positive("time_window", time_window)
        if start_time is None and len(events) == 0:
            raise ValueError(
                "events is empty: give start_time with end_time (no first event to start at)"
            )
        t0 = events["t"][0] if start_time is None else check_range("start_time", start_time)
        if end_time is not None and check_range("end_time", end_time) < t0:
            raise ValueError(
                f"end_time must be >= the start time t0 = {t0} "
                f"({'the first event' if start_time is None else 'start_time'}), got {end_time}"
            )
        bins = np.floor_divide(events["t"] - t0, time_window).astype(np.intp)
        n_bins = int(bins.max()) + 1 if end_time is None else -(-(end_time - t0) // time_window)
        return _bin_frames(events, bins, int(n_bins), sensor_size)
    n = check_int("event_count", event_count, low=1)
    n_bins = -(-len(events) // n) if include_incomplete else len(events) // n
    return _bin_frames(events, np.arange(len(events)) // n, n_bins, sensor_size)


def time_surface(events, sensor_size, tau, times):
    """Exponentially decaying memory of each pixel's latest event (Lagorce et al. 2017, HOTS)::

        S(x, y, p, t) = exp(-(t - t_last(x, y, p)) / τ),   t_last = latest event time <= t

    and 0 for a pixel with no event yet. Returns ``[len(times), P, H, W]`` float32; ``times`` is
    one time or a 1-D sequence of times (µs).

    **An event at the time asked for counts** (``t_last <= t``): a pixel firing at that time
    reads exactly 1. Tonic's ``ToTimesurface(dt, tau)`` (read in Tonic 1.7.0's source) samples
    the surface at the end of each window of ``dt`` µs from the first event and reads only the
    events *before* that moment (its windows exclude their end), so an event exactly at a
    sampling time is not yet in that surface.
    """
    check_events("events", events, sensor_size)
    check_positive("tau", tau)
    w, h, p = sensor_size
    times = np.atleast_1d(np.asarray(times))
    if times.dtype.kind not in "iuf":
        raise TypeError(f"times must be numbers (µs), got dtype {times.dtype}")
    if times.ndim != 1 or not np.isfinite(times).all():
        raise ValueError(
            f"times must be one time or a 1-D sequence of finite times, got {times.dtype} "
            f"values of shape {times.shape}"
        )
    out = np.zeros((len(times), p, h, w), dtype=np.float32)
    for i, t in enumerate(times):
        e = events[: np.searchsorted(events["t"], t, side="right")]
        last = np.full((p, h, w), -np.inf)
        np.maximum.at(last, (e["p"].astype(np.intp), e["y"], e["x"]), e["t"].astype(np.float64))
        out[i] = np.exp(-(t - last) / tau)
    return torch.from_numpy(out)


def denoise(events, sensor_size, filter_time):
    """Keep an event only if one of the 4 pixels next to it (left, right, up, down; any polarity)
    had an event less than ``filter_time`` µs before it (or at the same time): isolated events are
    sensor noise, moving edges are not. Causal, like ``tonic.transforms.Denoise`` (which also keeps
    every event of the first ``filter_time`` µs; here a pixel with no earlier neighbour is dropped)."""
    check_events("events", events, sensor_size)
    check_positive("filter_time", filter_time)
    w, h, _ = sensor_size
    last = np.full((h + 2, w + 2), -np.inf)  # a border of one pixel: every pixel has 4 neighbours
    keep = np.zeros(len(events), dtype=bool)
    for i, (x, y, t) in enumerate(zip(events["x"], events["y"], events["t"], strict=True)):
        y1, x1 = y + 1, x + 1
        latest = max(last[y1, x1 - 1], last[y1, x1 + 1], last[y1 - 1, x1], last[y1 + 1, x1])
        keep[i] = t - latest < filter_time
        last[y1, x1] = t
    return events[keep]


def refractory(events, sensor_size, period):
    """Drop an event that follows the last *kept* event of the same pixel and polarity by less
    than ``period`` µs, like a refractory period: a flickering pixel then costs fewer events.

    An event ``period`` µs or more after the last kept one is kept (``>=``). Tonic's
    ``RefractoryPeriod(delta)`` (read in Tonic 1.7.0's source) differs in three ways: it watches a
    pixel whatever the polarity (here ON and OFF have separate periods), keeps an event only when
    it is strictly more than ``delta`` after the pixel's previous one (``>``), and counts from the
    previous event even when that one was dropped (here: from the last kept one).
    """
    check_events("events", events, sensor_size)
    check_positive("period", period)
    w, h, p = sensor_size
    last = np.full((p, h, w), -np.inf)
    keep = np.zeros(len(events), dtype=bool)
    for i, e in enumerate(events):
        if e["t"] - last[e["p"], e["y"], e["x"]] >= period:
            keep[i] = True
            last[e["p"], e["y"], e["x"]] = e["t"]
    return events[keep]


def pad(samples, value=0.0):
    """Batch tensors of different lengths ``[T_i, ...]`` into ``[T_max, B, ...]`` (time-major,
    padded at the end with ``value``) and their lengths ``[B]``; use as a DataLoader's
    ``collate_fn`` via :func:`collate`."""
    if not isinstance(samples, (list, tuple)):
        raise TypeError(
            f"samples must be a list of tensors [T_i, ...], got {type(samples).__name__}"
        )
    if not samples:
        raise ValueError("samples must be a non-empty list of tensors")
    for i, s in enumerate(samples):
        check_tensor(f"samples[{i}]", s, min_dim=1, finite=False, floating=False)
    shapes = {tuple(s.shape[1:]) for s in samples}
    if len(shapes) != 1:
        raise ValueError(f"samples must agree in every dimension but time, got {sorted(shapes)}")
    lengths = torch.tensor([len(s) for s in samples])
    out = samples[0].new_full((int(lengths.max()), len(samples), *shapes.pop()), value)
    for i, s in enumerate(samples):
        out[: len(s), i] = s
    return out, lengths


def collate(batch):
    """``collate_fn`` for ``(frames [T_i, ...], label)`` pairs: ``(padded, labels, lengths)``."""
    frames, labels = zip(*batch, strict=True)
    padded, lengths = pad(list(frames))
    return padded, torch.as_tensor(labels), lengths


def event_digits(split="train", num_steps=30, amplitude=1, contrast=0.5, noise=0.0, dt=1000,
                 seed=0):  # fmt: skip
    """The embedded 8x8 digits seen by a simulated event camera, as N-MNIST was recorded
    (Orchard et al. 2015: a DVS watching MNIST digits while it makes three saccades).

    The image moves along a triangle of three saccades, ``(0, 0) -> (a, a) -> (2a, 0) -> (0, 0)``
    pixels over ``num_steps`` steps, on a ``(8 + 2a) x (8 + a)`` sensor. Each pixel keeps a
    reference log intensity ``L_ref`` and emits ``floor(|L - L_ref| / C)`` events (ON where ``L``
    is above it, OFF below) when the log intensity ``L = log(I + 0.1)`` has moved by
    ``C = contrast`` or more, then moves ``L_ref`` by that many steps (a DVS pixel)::

        L_ref = L_0 + n·C,    q = (L - L_0) / C
        q >= n + 1:   floor(q) - n ON events,    then n = floor(q)
        q <= n - 1:   n - ceil(q) OFF events,    then n = ceil(q)

    ``L_0`` is the pixel's log intensity in the first view (adapted: only motion makes events)
    and ``n`` an integer, so the reference is counted in whole steps, never accumulated in
    floats: a pixel back at its first intensity is back at ``n = 0`` exactly, and the closed path
    ends with as many ON as OFF events at every pixel. Events of step ``k`` get ``t = k·dt`` µs
    (``dt`` a whole number of µs, >= 1); ``noise`` adds background events (probability per pixel,
    polarity and step), seeded.

    Returns:
        ``(events, labels, sensor_size)``: a list of :data:`EVENT_DTYPE` arrays, int64 labels,
        and ``(W, H, 2)``. Frames ``[num_steps, 2, H, W]``:
        ``to_frames(e, sensor_size, time_window=dt, start_time=0, end_time=num_steps * dt)``.
    """
    check_choice("split", split, ("train", "test"))
    num_steps = check_int("num_steps", num_steps, low=3)
    a = check_int("amplitude", amplitude, low=1)
    check_positive("contrast", contrast)
    check_probability("noise", noise)
    dt = check_int("dt", dt, low=1)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    train, test = datasets.load("digits")
    images, labels = (train if split == "train" else test).tensors
    images = images[:, 0].numpy().astype(np.float64)  # one precision for L and L_0 alike
    n, h, w = images.shape
    sensor = (w + 2 * a, h + a, 2)
    corners = np.array([(0, 0), (a, a), (2 * a, 0), (0, 0)], dtype=float)
    phase = np.linspace(0, 3, num_steps)
    path = np.round([np.interp(phase, np.arange(4), corners[:, k]) for k in (0, 1)]).T.astype(int)
    log0 = np.full((n, sensor[1], sensor[0]), np.log(0.1))
    log0[:, :h, :w] = np.log(images + 0.1)  # adapted to the first view: only motion makes events
    level = np.zeros(log0.shape, dtype=np.int64)  # n: L_ref = L_0 + n·C, in whole steps
    parts = []  # (sample, x, y, t, p) of every event of every sample, then split once
    for k, (dx, dy) in enumerate(path):
        canvas = np.zeros_like(log0)
        canvas[:, dy : dy + h, dx : dx + w] = images
        q = (np.log(canvas + 0.1) - log0) / contrast  # L - L_0 in contrast steps
        on = np.maximum(np.floor(q).astype(np.int64) - level, 0)
        off = np.maximum(level - np.ceil(q).astype(np.int64), 0)
        level += on - off
        for polarity, c in ((1, on), (0, off)):
            if noise > 0:
                c = c + (rng.random(c.shape) < noise)
            idx = np.nonzero(c)
            reps = c[idx]
            cols = [np.repeat(v, reps) for v in idx]  # sample, y, x; one row per event
            parts.append((cols[0], cols[2], cols[1], np.full(reps.sum(), k * dt), polarity))
    s, x, y, t = (np.concatenate([part[i] for part in parts]) for i in range(4))
    p = np.concatenate([np.full(len(part[0]), part[4]) for part in parts])
    order = np.lexsort((t, s))  # by sample, then time (stable within a step)
    bounds = np.searchsorted(s[order], np.arange(1, n))
    events = []
    for chunk in np.split(order, bounds):
        e = np.empty(len(chunk), dtype=EVENT_DTYPE)
        e["x"], e["y"], e["t"], e["p"] = x[chunk], y[chunk], t[chunk], p[chunk]
        events.append(e)
    return events, labels, sensor


__all__ = [
    "EVENT_DTYPE",
    "FIELD_RANGES",
    "make_events",
    "check_events",
    "to_frames",
    "time_surface",
    "denoise",
    "refractory",
    "pad",
    "collate",
    "event_digits",
]
