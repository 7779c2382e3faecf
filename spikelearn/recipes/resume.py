"""Checkpoints that resume a run exactly, loaded with ``weights_only=True``.

A run continues exactly where it stopped only if *everything* that decides the next step is
restored: the network's parameters and buffers (running statistics), the optimiser's state
(momentum, Adam's moments), the schedule's position, the epoch (the distributed sampler's order is
a function of the seed and the epoch), the random generators of torch (CPU and GPU), numpy and
Python's ``random`` in every process (augmentation and rate encoding draw from them), the loss
scaler of fp16 training, and anything a recipe chose before training (a tuned surrogate scale).
All of it goes in one file, written atomically (a temporary file renamed into place), so a run
killed while saving keeps its previous checkpoint.

The file holds only tensors, numbers, strings, lists and dicts, so ``torch.load(...,
weights_only=True)`` reads it: loading a checkpoint runs no pickled code. The random states are
stored as tensors for that reason (numpy's and Python's are tuples with arrays in them).
"""

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

FORMAT = 1  # bump when the layout below changes


def seed_everything(seed):
    """Seed torch (CPU and every GPU), numpy and Python's ``random`` with ``seed``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def rng_state(device=None):
    """This process's random states as a ``weights_only``-loadable dict."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, words, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {
            "version": version,
            "words": torch.tensor(words, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }
    if device is not None and torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state, device=None):
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["words"].tolist()), p["gauss_next"]))
    if "cuda" in state and device is not None and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def save(path, **state):
    """Write ``state`` (model, optimizer, scheduler, epoch, ... as :func:`load` expects) to
    ``path`` atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        torch.save({"format": FORMAT, **state}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(path):
    """The checkpoint at ``path`` as a dict (``weights_only=True``; tensors on the CPU)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path} (a run writes one per epoch)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("format") != FORMAT:
        raise ValueError(f"{path} has checkpoint format {state.get('format')}, expected {FORMAT}")
    return state


def check_compatible(saved, config, keys):
    """Raise ``ValueError`` naming every setting in ``keys`` that differs between the run that
    wrote the checkpoint (``saved``) and this one (``config``): resuming is exact only for the
    same run."""
    differ = [
        f"{k}: checkpoint {saved.get(k)!r}, now {config.get(k)!r}"
        for k in keys
        if saved.get(k) != config.get(k)
    ]
    if differ:
        raise ValueError(
            "--resume continues the same run, but these settings differ: " + "; ".join(differ)
        )


__all__ = ["seed_everything", "rng_state", "set_rng_state", "save", "load", "check_compatible"]
