"""Real event datasets in their own file formats: N-MNIST, SHD and CIFAR10-DVS.

For a network-free start use :func:`spikelearn.events.event_digits`. With a network::

    train = event_datasets.NMNIST("train")   # 60000 recordings, sensor (34, 34, 2), labels 0-9
    events, label = train[0]                 # events: structured array x, y, t (µs), p
    train = event_datasets.SHD("train")      # 8156 spoken digits, 700 cochlea channels, 20 classes

* **N-MNIST** (Orchard et al. 2015, "Converting static image datasets to spiking neuromorphic
  datasets using saccades", Front. Neurosci. 9:437): a zip of one ``.bin`` file per recording,
  ``Train/<label>/<id>.bin``. Each event is 40 bits, big-endian: x (8 bits), y (8 bits),
  polarity (1 bit), timestamp in µs (23 bits). An event with ``y == 240`` marks a timestamp
  overflow (later timestamps gain ``2**13``), as in the reference reader (Orchard's
  ``eventvision.py``).
* **SHD** (Cramer et al. 2020, "The Heidelberg spiking data sets for the systematic evaluation
  of spiking neural networks", IEEE TNNLS): one HDF5 file per split with ``spikes/times``
  (seconds), ``spikes/units`` (channel 0-699) and ``labels``. Needs ``h5py``
  (``pip install "spikelearn[shd]"``).
* **CIFAR10-DVS** (Li et al. 2017, "CIFAR10-DVS: An Event-Stream Dataset for Object
  Classification", Front. Neurosci. 11:309): 1000 recordings per class of a DVS128 watching
  CIFAR-10 images move on a monitor, one zip per class of jAER AEDAT 2.0 files
  (:func:`read_aedat2`). It has no official split; :class:`CIFAR10DVS` takes the first 90 % of
  each class's recordings (by number) for training, the rest for testing, as is usual.

Files follow :mod:`spikelearn.datasets`' rules: checked before use, written to a temporary file
and renamed into place (``os.replace``), a bad cached file deleted and fetched again, nothing
unpickled, a malformed file a ``ValueError`` that removes it. **Checksums:** the publishers give
no SHA-256 for these files; the table holds the MD5 sums that Tonic records for the same URLs
(github.com/neuromorphs/tonic, ``tonic/datasets/nmnist.py`` and ``hsd.py``), and a file is checked
against whichever digest its entry holds (32 hex digits: MD5; 64: SHA-256). CIFAR10-DVS's MD5
sums are those SpikingJelly records for the same figshare files
(``spikingjelly/datasets/cifar10_dvs.py``).
"""

import os
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from .._checks import check_choice, check_range
from ..networks.datasets import default_root, fetch_verified
from .events import EVENT_DTYPE

_MENDELEY = "https://data.mendeley.com/public-files/datasets/468j46mzdv/files/"
# {dataset: {filename: ([urls], digest)}}; tests swap it for tiny files of their own
SOURCES = {
    "nmnist": {
        "train.zip": (
            [_MENDELEY + "39c25547-014b-4137-a934-9d29fa53c7a0/file_downloaded"],
            "20959b8e626244a1b502305a9e6e2031",
        ),
        "test.zip": (
            [_MENDELEY + "05a4d654-7e03-4c15-bdfa-9bb2bcbea494/file_downloaded"],
            "69ca8762b2fe404d9b9bad1103e97832",
        ),
    },
    "shd": {
        "shd_train.h5.zip": (
            ["https://zenkelab.org/datasets/shd_train.h5.zip"],
            "f3252aeb598ac776c1b526422d90eecb",
        ),
        "shd_test.h5.zip": (
            ["https://zenkelab.org/datasets/shd_test.h5.zip"],
            "1503a5064faa34311c398fb0a1ed0a6f",
        ),
    },
}
DIGITS = tuple("0123456789")  # N-MNIST's label folders, one digit each
_FIGSHARE = "https://ndownloader.figshare.com/files/"
CIFAR10_DVS_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck")  # fmt: skip
SOURCES["cifar10_dvs"] = {
    f"{name}.zip": ([_FIGSHARE + number], md5)
    for name, number, md5 in [
        ("airplane", "7712788", "0afd5c4bf9ae06af762a77b180354fdd"),
        ("automobile", "7712791", "8438dfeba3bc970c94962d995b1b9bdd"),
        ("bird", "7712794", "a9c207c91c55b9dc2002dc21c684d785"),
        ("cat", "7712812", "52c63c677c2b15fa5146a8daf4d56687"),
        ("deer", "7712815", "b6bf21f6c04d21ba4e23fc3e36c8a4a3"),
        ("dog", "7712818", "f379ebdf6703d16e0a690782e62639c3"),
        ("frog", "7712842", "cad6ed91214b1c7388a5f6ee56d08803"),
        ("horse", "7712851", "e7cbbf77bec584ffbf913f00e682782a"),
        ("ship", "7712836", "41c7bd7d6b251be82557c6cce9a7d5c9"),
        ("truck", "7712839", "89f3922fd147d9aeff89e76a2b0b70a7"),
    ]
}
OFFLINE_HINT = "The simulated event camera needs no network: events.event_digits()."


def fetch(name, filename, root=None, download=True):
    """Path of a verified copy of ``filename`` of dataset ``name``, downloading it if needed."""
    check_choice("name", name, tuple(SOURCES))
    check_choice("filename", filename, tuple(SOURCES[name]))
    urls, expected = SOURCES[name][filename]
    folder = Path(root if root is not None else default_root()) / name
    folder.mkdir(parents=True, exist_ok=True)
    return fetch_verified(folder / filename, urls, expected, download, OFFLINE_HINT)


def read_nmnist_bin(data, where="N-MNIST file"):
    """Decode N-MNIST's 40-bit events from ``bytes`` into an :data:`EVENT_DTYPE` array."""
    if len(data) % 5:
        raise ValueError(
            f"{where} is truncated: {len(data)} bytes is not a whole number of 5-byte events"
        )
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 5).astype(np.int64)
    x, y = raw[:, 0], raw[:, 1]
    p = raw[:, 2] >> 7
    t = ((raw[:, 2] & 127) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    overflow = y == 240
    t = t + (1 << 13) * np.cumsum(overflow)  # every overflow marker shifts what follows
    keep = ~overflow
    if keep.any() and (x[keep].max() >= 34 or y[keep].max() >= 34):
        raise ValueError(f"{where} has pixel coordinates outside the 34x34 sensor")
    events = np.empty(int(keep.sum()), dtype=EVENT_DTYPE)
    events["x"], events["y"], events["t"], events["p"] = x[keep], y[keep], t[keep], p[keep]
    return events


def _open_zip(path):
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        path.unlink(missing_ok=True)  # never keep a file we cannot read
        raise ValueError(f"{path} is not a valid zip archive: {err}") from err


class NMNIST(Dataset):
    """N-MNIST read straight from its verified zip, one recording per item: ``(events, label)``.

    Args:
        split: ``"train"`` or ``"test"``.
        root, download: as :func:`spikelearn.datasets.load`.
        transform: applied to the events, e.g. ``lambda e: events.to_frames(e, SENSOR_SIZE,
            time_window=1000)``.
    """

    sensor_size = (34, 34, 2)

    def __init__(self, split="train", root=None, download=True, transform=None):
        check_choice("split", split, ("train", "test"))
        self.path = fetch("nmnist", f"{split}.zip", root, download)
        with _open_zip(self.path) as archive:
            names = sorted(n for n in archive.namelist() if n.endswith(".bin"))
        labels = [Path(n).parent.name for n in names]
        stray = [n for n, lab in zip(names, labels, strict=True) if lab not in DIGITS]
        if not names or stray:
            self.path.unlink()
            raise ValueError(
                f"{self.path} does not hold <split>/<digit>/<id>.bin recordings (one digit 0-9 "
                f"per folder), got {stray[0] if stray else 'no .bin file'}"
            )
        self.names, self.labels = names, [int(lab) for lab in labels]
        self.transform, self._zip = transform, None

    def __len__(self):
        return len(self.names)

    def __getitem__(self, index):
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.path)
        name = self.names[index]
        events = read_nmnist_bin(self._zip.read(name), where=f"{self.path}:{name}")
        return (self.transform(events) if self.transform else events), self.labels[index]


def _h5py():
    try:
        import h5py
    except ImportError as err:
        raise ImportError(
            'SHD is stored as HDF5 and needs h5py: pip install "spikelearn[shd]" (or pip install h5py)'
        ) from err
    return h5py


def _extract(archive_path, member):
    """Unzip ``member`` next to the archive, atomically; returns its path."""
    target = archive_path.parent / member
    if target.exists():
        return target
    fd, tmp = tempfile.mkstemp(dir=archive_path.parent, prefix=f".{member}.", suffix=".part")
    try:
        with _open_zip(archive_path) as archive, os.fdopen(fd, "wb") as out:
            if member not in archive.namelist():
                archive_path.unlink()
                raise ValueError(f"{archive_path} does not contain {member}")
            out.write(archive.read(member))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


class SHD(Dataset):
    """Spiking Heidelberg Digits: ``(events, label)`` with ``x`` = cochlea channel (0-699),
    ``y = p = 0``, ``t`` in µs; sensor ``(700, 1, 1)``. Args as :class:`NMNIST`."""

    sensor_size = (700, 1, 1)

    def __init__(self, split="train", root=None, download=True, transform=None):
        check_choice("split", split, ("train", "test"))
        h5py = _h5py()
        archive = fetch("shd", f"shd_{split}.h5.zip", root, download)
        self.path = _extract(archive, f"shd_{split}.h5")
        try:
            with h5py.File(self.path, "r") as f:
                n = {len(f["spikes/times"]), len(f["spikes/units"])}
                self.labels = np.asarray(f["labels"], dtype=np.int64)
        except (OSError, KeyError) as err:
            self.path.unlink(missing_ok=True)
            raise ValueError(f"{self.path} is not a valid SHD HDF5 file: {err}") from err
        if n != {len(self.labels)}:
            self.path.unlink()
            raise ValueError(f"{self.path}: spikes/times, spikes/units and labels differ in length")
        self.transform, self._file = transform, None

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        if self._file is None:  # read lazily: the training split holds ~10^8 spikes
            self._file = _h5py().File(self.path, "r")
        t = np.asarray(self._file["spikes/times"][index], dtype=np.float64)
        x = np.asarray(self._file["spikes/units"][index], dtype=np.int64)
        if len(t) != len(x) or (len(x) and (x.min() < 0 or x.max() >= 700)):
            raise ValueError(
                f"{self.path}: recording {index} has mismatched times/units or units outside 0..699"
            )
        order = np.argsort(t, kind="stable")
        events = np.zeros(len(t), dtype=EVENT_DTYPE)
        events["x"], events["t"] = x[order], np.round(t[order] * 1e6).astype(np.int64)
        return (self.transform(events) if self.transform else events), int(self.labels[index])


def read_aedat2(data, where="AEDAT file"):
    """Decode a DVS128 recording in jAER's AEDAT 2.0 format (CIFAR10-DVS's) from ``bytes``.

    ASCII header lines starting with ``#``, then one big-endian ``(uint32 address, uint32
    timestamp in µs)`` pair per event. The address holds the polarity in bit 0, the sensor's
    column in bits 1-7 and its row in bits 8-14; as SpikingJelly does, the image is turned upright
    with ``x = 127 - row``, ``y = 127 - column`` and ``p = 1 - bit 0`` (1 = ON).
    """
    start = 0
    while data.startswith(b"#", start):
        end = data.find(b"\n", start)
        if end < 0:
            raise ValueError(f"{where} has an unterminated header line")
        start = end + 1
    if (len(data) - start) % 8:
        raise ValueError(
            f"{where} is truncated: its events are not whole 8-byte (address, time) pairs"
        )
    words = np.frombuffer(data, dtype=">u4", offset=start).reshape(-1, 2).astype(np.int64)
    address, t = words[:, 0], words[:, 1]
    events = np.empty(len(t), dtype=EVENT_DTYPE)
    events["x"], events["y"] = 127 - ((address >> 8) & 127), 127 - ((address >> 1) & 127)
    events["t"], events["p"] = t, 1 - (address & 1)
    return events[np.argsort(t, kind="stable")]


def _number(name):
    """The recording number at the end of a file name (``cifar10_cat_12.aedat`` -> 12)."""
    found = re.search(r"(\d+)\.aedat$", name)
    return (int(found.group(1)) if found else -1), name


class CIFAR10DVS(Dataset):
    """CIFAR10-DVS read straight from its ten verified class zips: ``(events, label)``.

    Args:
        split: ``"train"`` (the first ``train_fraction`` of each class's recordings, by number)
            or ``"test"`` (the rest).
        root, download, transform: as :class:`NMNIST`.
        train_fraction: in (0, 1), default 0.9 (900 / 100 recordings per class).
    """

    sensor_size = (128, 128, 2)
    classes = CIFAR10_DVS_CLASSES

    def __init__(self, split="train", root=None, download=True, transform=None,
                 train_fraction=0.9):  # fmt: skip
        check_choice("split", split, ("train", "test"))
        check_range("train_fraction", train_fraction, 0, 1, low_open=True, high_open=True)
        self.items = []  # (archive, member, label)
        for label, name in enumerate(self.classes):
            path = fetch("cifar10_dvs", f"{name}.zip", root, download)
            with _open_zip(path) as archive:
                members = sorted(
                    (n for n in archive.namelist() if n.endswith(".aedat")), key=_number
                )
            if not members:
                path.unlink()
                raise ValueError(f"{path} holds no .aedat recordings")
            cut = round(len(members) * train_fraction)
            chosen = members[:cut] if split == "train" else members[cut:]
            self.items += [(path, member, label) for member in chosen]
        self.labels = [label for _, _, label in self.items]
        self.transform, self._zips = transform, {}

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, member, label = self.items[index]
        if path not in self._zips:
            self._zips[path] = zipfile.ZipFile(path)
        events = read_aedat2(self._zips[path].read(member), where=f"{path}:{member}")
        return (self.transform(events) if self.transform else events), label


__all__ = [
    "NMNIST",
    "SHD",
    "CIFAR10DVS",
    "CIFAR10_DVS_CLASSES",
    "fetch",
    "read_nmnist_bin",
    "read_aedat2",
    "SOURCES",
]
