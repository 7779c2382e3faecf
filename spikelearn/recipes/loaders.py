"""The data each recipe reads: the real dataset from its verified files, or the digits in its shape.

* Images (CIFAR-10, CIFAR-100) come from :func:`spikelearn.datasets.load` as ``[N, 3, 32, 32]``
  in [0, 1]; training batches get the usual random 32x32 crop of the image padded by 4 and a
  random horizontal flip (:func:`augment`, drawn from torch's generator, so seeded and resumable).
* Events (CIFAR10-DVS, N-MNIST, SHD) come from :mod:`spikelearn.event_datasets` and are binned
  into ``T`` frames per recording by :func:`spikelearn.events.to_frames` (:class:`Frames`).
* ``dataset="digits"`` gives any image recipe the embedded 8x8 digits, repeated over the colour
  channels and upsampled (bilinear) to the recipe's input, so the same command runs offline in
  seconds: "from the digits to the paper".

Nothing is downloaded unless asked (``download=True``; under torchrun only rank 0 downloads). A
missing file raises :class:`MissingData`, whose message names every file, its URL and checksum.
"""

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from spikelearn import datasets, event_datasets, events
from spikelearn._checks import check_choice, check_int, check_tensor

# dataset: (kind, classes, sensor size of event data, how its recordings are binned in time)
DATASETS = {
    "cifar10": ("image", 10, None, None),
    "cifar100": ("image", 100, None, None),
    "cifar10_dvs": ("events", 10, (128, 128, 2), "span"),  # T equal bins over each recording
    "nmnist": ("events", 10, (34, 34, 2), 30_000),  # T bins of 30 ms from t = 0
    "shd": ("events", 20, (700, 1, 1), 10_000),  # T bins of 10 ms from t = 0
}
EVENT_CLASSES = {
    "cifar10_dvs": event_datasets.CIFAR10DVS,
    "nmnist": event_datasets.NMNIST,
    "shd": event_datasets.SHD,
}
POOL = {"cifar10_dvs": 2}  # CIFAR10-DVS's 128x128 frames are average-pooled 2x2 to 64x64


class MissingData(FileNotFoundError):
    """A recipe's dataset is not in the data folder; the message says how to get it."""


@dataclasses.dataclass
class Data:
    """A recipe's training and test sets; ``shape`` is one sample's input (``[T, ...]`` for frames)."""

    train: Dataset
    test: Dataset
    num_classes: int
    shape: tuple
    augment: bool  # random crop and flip for training batches


def _files(name, root):
    """``[(path, url, checksum)]`` of every file a dataset needs."""
    folder = Path(root) / name
    if name in datasets.SOURCES:
        source = datasets.SOURCES[name]
        return [(folder / f, source["urls"][0] + f, h) for f, h in source["files"].items()]
    return [(folder / f, urls[0], h) for f, (urls, h) in event_datasets.SOURCES[name].items()]


def missing_message(name, root):
    """How to get dataset ``name`` into ``root``: every file with its URL and checksum."""
    lines = [
        f"{path}\n    from {url}\n    {'MD5' if len(h) == 32 else 'SHA-256'} {h}"
        for path, url, h in _files(name, root)
    ]
    return (
        f"the {name} files are not in {Path(root) / name}. Run again with --download (rank 0 "
        f"fetches and checks them), or put these files there yourself:\n  "
        + "\n  ".join(lines)
        + "\nOr try the recipe offline on the embedded digits: --dataset digits."
    )


class Frames(Dataset):
    """An event dataset as ``(frames [T, P, H, W] float32, label)`` (``T`` time bins)."""

    def __init__(self, recordings, name, time_steps):
        self.recordings, self.time_steps = recordings, time_steps
        self.sensor, self.window, self.pool = DATASETS[name][2], DATASETS[name][3], POOL.get(name)

    @property
    def shape(self):
        """One sample's ``(T, P, H, W)``, known without reading a file (so the main process opens
        none: DataLoader workers forked from it would share its file offsets)."""
        w, h, p = self.sensor
        pool = self.pool or 1
        return (self.time_steps, p, h // pool, w // pool)

    def __len__(self):
        return len(self.recordings)

    def __getitem__(self, index):
        ev, label = self.recordings[index]
        if self.window == "span":  # T equal bins from the first event to the last
            t0 = int(ev["t"][0]) if len(ev) else 0
            span = int(ev["t"][-1]) - t0 + 1 if len(ev) else 1
            window = -(-span // self.time_steps)
        else:
            t0, window = 0, self.window
        frames = events.to_frames(
            ev,
            self.sensor,
            time_window=window,
            start_time=t0,
            end_time=t0 + window * self.time_steps,
        )
        if self.pool:
            frames = F.avg_pool2d(frames, self.pool)
        return frames, label


def _digits(shape):
    """The embedded digits as ``[N, C, H, W]`` images of ``shape = (C, H, W)``."""
    out = []
    for split in datasets.load("digits"):
        x, y = split.tensors
        x = F.interpolate(x, size=shape[1:], mode="bilinear", align_corners=False)
        out.append(TensorDataset(x.repeat(1, shape[0], 1, 1).clamp(0, 1).contiguous(), y))
    return out


def load(name, root, time_steps, dataset="native", download=False, image_size=None):
    """The training and test sets of dataset ``name`` (a :data:`DATASETS` key) as :class:`Data`.

    Args:
        name: the recipe's dataset.
        root: the data folder (files go to ``root/<name>/``).
        time_steps: ``T``, the number of frames per event recording.
        dataset: ``"native"`` or ``"digits"`` (image recipes: the digits in their shape).
        download: fetch missing files (checked against their checksums) instead of raising.
        image_size: the digits' height = width (default: the recipe's, 32).
    """
    check_choice("name", name, tuple(DATASETS))
    check_choice("dataset", dataset, ("native", "digits"))
    check_int("time_steps", time_steps, low=0)  # 0: an image recipe (no frames)
    kind, classes, _, _ = DATASETS[name]
    if dataset == "digits":
        if kind != "image":
            raise ValueError(
                f"--dataset digits is for the image recipes (CIFAR-10/100); {name} is event "
                f"data and runs on its own files in {Path(root) / name}"
            )
        size = image_size or 32
        train, test = _digits((3, size, size))
        return Data(train, test, 10, (3, size, size), augment=False)
    if image_size not in (None, 32) and kind == "image":
        raise ValueError(f"--image-size {image_size} is for --dataset digits; {name} is 32x32")
    try:
        if kind == "image":
            train, test = datasets.load(name, root=root, download=download)
            return Data(train, test, classes, (3, 32, 32), augment=True)
        cls = EVENT_CLASSES[name]
        train, test = (
            Frames(cls(s, root=root, download=download), name, time_steps)
            for s in ("train", "test")
        )
    except FileNotFoundError as err:
        raise MissingData(missing_message(name, root)) from err
    return Data(train, test, classes, train.shape, augment=False)


def augment(x, padding=4):
    """Random crops of ``x`` ``[B, C, H, W]`` padded by ``padding`` (zeros), then random
    horizontal flips: the standard CIFAR augmentation, drawn from torch's default generator."""
    check_tensor("x", x, min_dim=4, max_dim=4)
    padding = check_int("padding", padding, low=0)
    b, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    top = torch.randint(0, 2 * padding + 1, (b, 1)) + torch.arange(h)
    left = torch.randint(0, 2 * padding + 1, (b, 1)) + torch.arange(w)
    flip = torch.rand(b) < 0.5
    left = torch.where(flip[:, None], left.flip(1), left)
    batch = torch.arange(b)[:, None, None]
    rows, cols = top[:, :, None].to(x.device), left[:, None, :].to(x.device)
    return padded.permute(0, 2, 3, 1)[batch.to(x.device), rows, cols].permute(0, 3, 1, 2)


__all__ = ["DATASETS", "Data", "Frames", "MissingData", "load", "augment", "missing_message"]
