"""Test settings shared by every test file."""

import os

import torch
from hypothesis import settings

# CI replays the same examples every run (a red build is then reproducible, never a fluke of the
# draw); locally hypothesis keeps exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def step_loop(neuron, x_seq, mem=None):
    """The reference: a neuron's single-step call in a Python loop, one autograd graph per step."""
    spikes, mems = [], []
    for x in x_seq:
        spk, mem = neuron(x, mem)
        spikes.append(spk)
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)
