"""Teaching claims: asserts that say how much room they had, so they can be checked everywhere.

A tutorial's lesson is an assertion, not a printed number. But a trained accuracy, a gradient
ratio or a conversion factor is a *measurement*: it moves with the seed, the thread count and the
CPU's arithmetic (MKL/oneDNN pick different kernels on AVX2, AVX-512 or SSE4.1, and training
amplifies the last bits). A threshold is only honest if it holds over that spread with room to
spare, so every measured claim goes through :func:`claim`, which

* asserts ``value op threshold`` with a message naming the claim, the value and the threshold;
* appends ``{name, value, op, threshold, margin}`` as one JSON line to the file named by the
  ``SPIKELEARN_CLAIMS`` environment variable, if it is set. The robustness runner
  (``make robustness``) sets it, re-runs every tutorial under seeds 0-4, one thread and an
  emulated other CPU, and tabulates each claim's worst margin against its spread.

With ``SPIKELEARN_CLAIMS_SURVEY=1`` a failing claim is recorded and printed but does not raise:
the runner's ``--survey`` mode uses it to measure a new claim's whole distribution before its
threshold is chosen. CI never sets it.

The margin is how far the value is from failing, in the claim's own units:
``value - threshold`` for ``>=`` and ``>``, ``threshold - value`` for ``<=`` and ``<``.

Checks that are exact by construction (identical spikes, a closed form) stay plain ``assert``
statements: they do not move, so there is no spread to measure.

:func:`seed` reads ``SPIKELEARN_SEED`` (default 0), so a whole notebook re-runs under another
seed without editing it; every seed in a notebook derives from the value it returns.
"""

import json
import math
import os
import random

import numpy as np
import torch

from .._checks import check_choice

_OPS = {
    ">=": lambda v, t: v >= t,
    ">": lambda v, t: v > t,
    "<=": lambda v, t: v <= t,
    "<": lambda v, t: v < t,
}


def seed() -> int:
    """Seed torch, numpy and ``random`` from ``SPIKELEARN_SEED`` (default 0) and return it."""
    text = os.environ.get("SPIKELEARN_SEED", "0")
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"SPIKELEARN_SEED must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise ValueError(f"SPIKELEARN_SEED must be a non-negative integer, got {value}")
    torch.manual_seed(value)
    np.random.seed(value)
    random.seed(value)
    return value


def margin(value: float, op: str, threshold: float) -> float:
    """How far ``value`` is from failing ``value op threshold`` (negative: it fails)."""
    check_choice("op", op, tuple(_OPS))
    return value - threshold if op in (">=", ">") else threshold - value


def claim(name: str, value, op: str, threshold: float) -> float:
    """Assert the teaching claim ``value op threshold``, record it, and return the value.

    ``name`` says what is claimed in words ("test accuracy of the conv SNN"). ``value`` is a
    number or a one-element tensor. Prints one line with the value and the margin, so the reader
    sees how close the measurement came; raises ``AssertionError`` naming all three if it fails.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    check_choice("op", op, tuple(_OPS))
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"value must be a number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    value, threshold = float(value), float(threshold)
    if math.isnan(value) or math.isnan(threshold):
        raise ValueError(
            f"claim {name!r}: value and threshold must not be NaN, got {value}, {threshold}"
        )
    room = margin(value, op, threshold)
    path = os.environ.get("SPIKELEARN_CLAIMS")
    if path:
        record = {"name": name, "value": value, "op": op, "threshold": threshold, "margin": room}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    holds = _OPS[op](value, threshold)
    print(
        f"claim {'holds' if holds else 'FAILS'}: {name} = {value:.4g} {op} {threshold:.4g}"
        f" (margin {room:+.3g})"
    )
    if not holds and not os.environ.get("SPIKELEARN_CLAIMS_SURVEY"):
        raise AssertionError(f"claim failed: {name} = {value:.6g}, expected {op} {threshold:.6g}")
    return value
