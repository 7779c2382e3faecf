"""Image datasets as ``(train, test)`` ``TensorDataset``\\ s of ``[N, C, H, W]`` floats in [0, 1].

``load("digits")`` is the default everywhere: scikit-learn's 1,797 handwritten 8x8 digits ship with
scikit-learn, so it works offline, and a small SNN learns it in seconds. The same call switches to
the classic benchmarks when a network is available::

    train, test = datasets.load("digits")          # 1437 / 360 images, 1x8x8, offline
    train, test = datasets.load("mnist")           # 60000 / 10000, 1x28x28 (LeCun et al. 1998)
    train, test = datasets.load("fashion_mnist")   # 60000 / 10000, 1x28x28 (Xiao et al. 2017)
    train, test = datasets.load("cifar10")         # 50000 / 10000, 3x32x32 (Krizhevsky 2009)
    train, test = datasets.load("cifar100")        # 50000 / 10000, 3x32x32, 100 classes

Downloads go to a cache (``root``, default ``~/.cache/spikelearn``) and are made safe:

* every file is checked against its SHA-256 before it is used (a bad cached file is deleted and
  fetched again; a bad download is never saved);
* a download is written to a temporary file in the cache folder and renamed into place only once
  complete (``os.replace``), so an interrupted download leaves no partial file;
* files are parsed from their plain binary formats (IDX for MNIST, the "binary version" of
  CIFAR-10 and CIFAR-100, never the "python version", which is a pickle); nothing is
  unpickled. A malformed file raises ``ValueError`` and is removed.
"""

import gzip
import hashlib
import os
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .._checks import check_choice, check_int

NAMES = ("digits", "mnist", "fashion_mnist", "cifar10", "cifar100")

# Mirrors (tried in order) and SHA-256 of every file. The hashes are those recorded by TensorFlow
# Datasets for the same files (github.com/tensorflow/datasets, tensorflow_datasets/url_checksums/
# mnist.txt, fashion_mnist.txt, cifar10.txt and cifar100.txt). Tests swap this table for tiny
# files of their own.
SOURCES = {
    "mnist": {
        "urls": [
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
        ],
        "files": {
            "train-images-idx3-ubyte.gz": (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
            ),
            "train-labels-idx1-ubyte.gz": (
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
            ),
            "t10k-images-idx3-ubyte.gz": (
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
            ),
        },
    },
    "fashion_mnist": {
        "urls": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "files": {
            "train-images-idx3-ubyte.gz": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
            ),
            "train-labels-idx1-ubyte.gz": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
            ),
            "t10k-images-idx3-ubyte.gz": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
            ),
        },
    },
    "cifar10": {
        "urls": ["https://www.cs.toronto.edu/~kriz/"],
        "files": {
            "cifar-10-binary.tar.gz": (
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
            ),
        },
    },
    "cifar100": {
        "urls": ["https://www.cs.toronto.edu/~kriz/"],
        "files": {
            "cifar-100-binary.tar.gz": (
                "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"
            ),
        },
    },
}

OFFLINE_HINT = 'The embedded dataset needs no network: datasets.load("digits").'


def default_root():
    """The cache folder: ``$SPIKELEARN_DATA`` if set, else ``~/.cache/spikelearn``."""
    return Path(os.environ.get("SPIKELEARN_DATA", "~/.cache/spikelearn")).expanduser()


def _digest(expected):
    """The hash of a published checksum: 64 hex digits SHA-256, 32 MD5 (for sources that only
    publish MD5, e.g. N-MNIST and SHD); with its printable name."""
    return (hashlib.md5(), "MD5") if len(expected) == 32 else (hashlib.sha256(), "SHA-256")


def checksum(path, expected):
    """Hex digest of a file with the algorithm of ``expected`` (SHA-256 or MD5), read in chunks."""
    digest, _ = _digest(expected)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256(path):
    """SHA-256 hex digest of a file, read in chunks."""
    return checksum(path, "0" * 64)


def _download(url, path, expected):
    """Fetch ``url`` into ``path`` atomically; raise ``ValueError`` on a checksum mismatch."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        digest, algorithm = _digest(expected)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected:
            raise ValueError(
                f"{algorithm} of {url} is {digest.hexdigest()}, expected {expected}: the download "
                "is corrupt or the file changed upstream; nothing was saved"
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def fetch_verified(path, urls, expected, download=True, offline_hint=OFFLINE_HINT):
    """``path`` once it holds a file with checksum ``expected``: a good cached copy is kept, a bad
    one deleted, a missing one downloaded from each url in turn (atomically, checked)."""
    if path.exists():
        if checksum(path, expected) == expected:
            return path
        path.unlink()  # corrupt or partial cache: fetch it again
    if not download:
        raise FileNotFoundError(
            f"{path} is missing (or was corrupt and has been removed) and download=False. "
            + offline_hint
        )
    errors, mismatch = [], None
    for url in urls:
        try:
            _download(url, path, expected)
            return path
        except ValueError as err:  # checksum mismatch: try the next mirror
            mismatch = err
        except OSError as err:  # URLError, timeouts, refused connections
            errors.append(f"{url}: {err}")
    if mismatch is not None:
        raise mismatch
    raise ConnectionError(
        f"could not download {path.name} for {path.parent.name!r} (are you offline?). "
        f"{offline_hint} Tried: " + "; ".join(errors)
    )


def fetch(name, filename, root=None, download=True):
    """Path of a verified copy of ``filename`` of dataset ``name`` in the cache, downloading it
    (from each mirror in turn) if it is missing or its SHA-256 is wrong."""
    source = SOURCES[name]
    folder = Path(root if root is not None else default_root()) / name
    folder.mkdir(parents=True, exist_ok=True)
    urls = [base + filename for base in source["urls"]]
    return fetch_verified(folder / filename, urls, source["files"][filename], download)


def read_idx(path):
    """Read a gzipped IDX file (MNIST's format: magic ``0x0000080N``, N big-endian uint32 sizes,
    then unsigned bytes) into a ``uint8`` numpy array."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path} is not a valid gzip file: {err}") from err
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path} has a bad IDX magic number {data[:4].hex()}, expected 000008NN")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ValueError(f"{path} has a truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) - header != int(np.prod(shape)):
        raise ValueError(
            f"{path} is truncated or padded: header says shape {shape} "
            f"({int(np.prod(shape))} bytes), file has {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


# The binary versions' members (training files, then the test file), label bytes before each
# record's 3x32x32 pixel bytes, and classes. CIFAR-100's two label bytes are the coarse (20
# superclasses) and the fine (100 classes) label; the fine one is used.
CIFAR_BINARY = {
    "cifar10": (
        [f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)]
        + ["cifar-10-batches-bin/test_batch.bin"],
        1,
        10,
    ),
    "cifar100": (["cifar-100-binary/train.bin", "cifar-100-binary/test.bin"], 2, 100),
}


def _read_cifar(path, name="cifar10"):
    """Read CIFAR-10's or CIFAR-100's binary version: records of label byte(s) + 3x32x32 pixels."""
    members, label_bytes, classes = CIFAR_BINARY[name]
    title, size = name.upper().replace("CIFAR", "CIFAR-"), label_bytes + 3072
    arrays = []
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in members:
                raw = tar.extractfile(member).read()  # read in memory: nothing extracted to disk
                if len(raw) == 0 or len(raw) % size:
                    raise ValueError(
                        f"{path}: {member} is not a whole number of {size}-byte records"
                    )
                arrays.append(np.frombuffer(raw, dtype=np.uint8).reshape(-1, size))
    except (tarfile.TarError, KeyError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a valid {title} binary archive: {err}") from err
    train, test = np.concatenate(arrays[:-1]), arrays[-1]
    split = [
        (r[:, label_bytes:].reshape(-1, 3, 32, 32), r[:, label_bytes - 1]) for r in (train, test)
    ]
    if max(int(labels.max()) for _, labels in split) >= classes:
        raise ValueError(f"{path} has {title} labels outside 0..{classes - 1}")
    return split


def _tensors(images, labels, scale):
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32) / scale)
    return TensorDataset(
        x if x.dim() == 4 else x[:, None], torch.from_numpy(labels.astype(np.int64))
    )


def _load_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.images, digits.target, test_size=360, stratify=digits.target, random_state=0
    )
    return _tensors(x_train, y_train, 16.0), _tensors(x_test, y_test, 16.0)


def load(name="digits", root=None, download=True):
    """Load a dataset as ``(train, test)`` ``TensorDataset``\\ s: images ``[N, C, H, W]``
    float32 in [0, 1], labels int64.

    Args:
        name: ``"digits"`` (embedded, offline), ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``
            or ``"cifar100"`` (its 100 fine labels).
        root: cache folder for downloads (default ``~/.cache/spikelearn``).
        download: fetch missing files; if False a missing file raises ``FileNotFoundError``.

    Returns:
        ``(train, test)``.
    """
    check_choice("name", name, NAMES)
    if name == "digits":
        return _load_digits()
    paths = [fetch(name, f, root, download) for f in SOURCES[name]["files"]]
    try:
        if name in CIFAR_BINARY:
            (x_train, y_train), (x_test, y_test) = _read_cifar(paths[0], name)
        else:
            x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
            if len(x_train) != len(y_train) or len(x_test) != len(y_test):
                raise ValueError(f"{name}: image and label files hold different numbers of items")
    except ValueError:
        for path in paths:  # never keep a file we cannot read
            path.unlink(missing_ok=True)
        raise
    return _tensors(x_train, y_train, 255.0), _tensors(x_test, y_test, 255.0)


def loaders(train, test, batch_size=128, seed=0):
    """``DataLoader``\\ s: the training set shuffled with a seeded generator, the test set in order."""
    batch_size = check_int("batch_size", batch_size, low=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed))
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
        DataLoader(test, batch_size=batch_size),
    )


class TensorLoader:
    """Shuffled mini-batches of tensors already in memory (or on a GPU), a fresh order every pass.

    Each pass draws ``idx = torch.randperm(len(x), generator=g)`` from one generator ``g`` seeded
    with ``seed`` and yields ``(x[idx_k], y[idx_k])`` for the chunks ``idx_k`` of ``batch_size``
    (the last may be smaller): the batches of the loop ``for idx in torch.randperm(n,
    generator=g).split(batch_size)``, with none of a ``DataLoader``'s per-sample collation, and
    the tensors stay on their device. A second pass continues the generator, so it gets a new
    order; a new ``TensorLoader`` with the same seed replays the same orders.
    """

    def __init__(self, x, y, batch_size=128, seed=0):
        for name, t in (("x", x), ("y", y)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
            if t.dim() < 1:
                raise ValueError(f"{name} must have a first (sample) dimension, got a 0-dim tensor")
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(
                f"x and y must hold the same number (>= 1) of samples, got {len(x)} and {len(y)}"
            )
        self.x, self.y = x, y
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.generator = torch.Generator().manual_seed(check_int("seed", seed))

    def __iter__(self):
        for idx in torch.randperm(len(self.x), generator=self.generator).split(self.batch_size):
            yield self.x[idx], self.y[idx]

    def __len__(self):
        return -(-len(self.x) // self.batch_size)  # batches per pass


__all__ = [
    "load",
    "loaders",
    "TensorLoader",
    "fetch",
    "read_idx",
    "sha256",
    "checksum",
    "fetch_verified",
    "default_root",
    "SOURCES",
    "NAMES",
]
