"""The recipes' data: the digits in a recipe's shape, CIFAR's augmentation, event frames."""

import numpy as np
import torch

from spikelearn import events
from spikelearn.recipes import loaders


def test_digits_take_the_recipes_shape(tmp_path):
    data = loaders.load("cifar10", tmp_path, 2, dataset="digits")
    x, y = data.train.tensors
    assert x.shape == (1437, 3, 32, 32) and data.shape == (3, 32, 32) and data.num_classes == 10
    assert float(x.min()) >= 0 and float(x.max()) <= 1 and torch.equal(x[:, 0], x[:, 2])
    assert len(data.test) == 360 and not data.augment
    assert loaders.load("cifar100", tmp_path, 2, "digits", image_size=8).shape == (3, 8, 8)


def test_augment_crops_the_padded_image_and_flips_it():
    torch.manual_seed(0)
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    state = torch.get_rng_state()
    out = loaders.augment(x, padding=2)
    torch.set_rng_state(state)  # the same draws, made by hand
    top = torch.randint(0, 5, (2, 1))
    left = torch.randint(0, 5, (2, 1))
    flip = torch.rand(2) < 0.5
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        crop = padded[i, :, top[i, 0] : top[i, 0] + 6, left[i, 0] : left[i, 0] + 6]
        assert torch.equal(out[i], crop.flip(-1) if flip[i] else crop)
    assert out.shape == x.shape


def test_frames_bin_each_recording_into_t_steps():
    ev = events.make_events([0, 5, 127, 64], [0, 5, 127, 64], [100, 200, 1000, 1099], [0, 1, 1, 0])
    frames = loaders.Frames([(ev, 3)], "cifar10_dvs", time_steps=4)
    x, label = frames[0]
    # T equal bins over the recording (100..1099 us), 128x128 pooled 2x2 to 64x64
    assert label == 3 and x.shape == frames.shape == (4, 2, 64, 64)
    assert torch.allclose(x.sum((1, 2, 3)), torch.tensor([2.0, 0.0, 0.0, 2.0]) / 4)
    shd = loaders.Frames(
        [(events.make_events([3, 699], [0, 0], [5_000, 995_000], [0, 0]), 1)], "shd", time_steps=100
    )
    x, _ = shd[0]
    assert x.shape == shd.shape == (100, 1, 1, 700)
    assert x[0, 0, 0, 3] == 1 and x[99, 0, 0, 699] == 1
    empty = np.zeros(0, dtype=events.EVENT_DTYPE)
    assert loaders.Frames([(empty, 0)], "nmnist", time_steps=10)[0][0].shape == (10, 2, 34, 34)
