"""Temporal tasks: layout, seeding, and what each part of a sample holds."""

import pytest
import torch

from spikelearn import datasets, tasks


def test_delayed_digits_layout():
    x, y = tasks.delayed_digits("test", delay=12, steps_per_row=2, cue_steps=4, seed=1)
    assert x.shape == (16 + 12 + 4, 360, 9) and y.shape == (360,)
    assert torch.equal(y, datasets.load("digits")[1].tensors[1])
    assert x[16:28].sum() == 0  # the delay is silent
    assert torch.equal(x[-4:, :, 8], torch.ones(4, 360)) and x[:-4, :, 8].sum() == 0
    assert x[-4:, :, :8].sum() == 0  # the cue carries no pixel
    # row k is shown at steps 2k, 2k+1: spikes only where the pixel is bright
    images = datasets.load("digits")[1].tensors[0][:, 0]
    assert ((x[2 * 3, :, :8] > 0) <= (images[:, 3] > 0)).all()
    assert set(x.unique().tolist()) == {0.0, 1.0}


def test_delayed_digits_is_seeded_and_noise_fills_the_delay():
    a = tasks.delayed_digits("test", delay=5, seed=3)[0]
    assert torch.equal(a, tasks.delayed_digits("test", delay=5, seed=3)[0])
    assert not torch.equal(a, tasks.delayed_digits("test", delay=5, seed=4)[0])
    noisy = tasks.delayed_digits("test", delay=40, noise=0.1, seed=3)[0]
    assert abs(float(noisy[8:48].mean()) - 0.1) < 0.01


def test_membrane_target_shapes_range_and_seed():
    x, target = tasks.membrane_target(num_samples=4, num_steps=50, num_inputs=7, rate=0.2, seed=2)
    assert x.shape == (50, 4, 7) and target.shape == (50, 4)
    assert float(target.min()) >= 0 and float(target.max()) <= 1
    assert abs(float(x.mean()) - 0.2) < 0.05
    again = tasks.membrane_target(num_samples=4, num_steps=50, num_inputs=7, rate=0.2, seed=2)
    assert torch.equal(target, again[1]) and torch.equal(x, again[0])
    assert (target[1:] - target[:-1]).abs().max() < 0.3  # smooth, one step moves it little


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="split must be one of"):
        tasks.delayed_digits("val")
    with pytest.raises(ValueError, match="delay must be an integer >= 0"):
        tasks.delayed_digits(delay=-1)
    with pytest.raises(ValueError, match=r"noise must be in \[0, 1\]"):
        tasks.delayed_digits(noise=2.0)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\]"):
        tasks.membrane_target(rate=1.5)
