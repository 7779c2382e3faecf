"""Datasets: the embedded digits, and verified, atomic, pickle-free loading of IDX / CIFAR files.

The download tests build tiny files in the real formats, serve them through ``file://`` URLs and
swap ``datasets.SOURCES`` for a table with their hashes, so nothing touches the network.
"""

import gzip
import hashlib
import io
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

from spikelearn import datasets

MNIST_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def idx_bytes(array, magic_type=0x08):
    """An IDX file: 0x00 0x00 <type> <ndim>, big-endian uint32 sizes, then the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, magic_type, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def serve(monkeypatch, tmp_path, name, files):
    """Write ``files`` ({filename: bytes}) to a fake server folder and point SOURCES at it."""
    server = tmp_path / "server"
    server.mkdir(exist_ok=True)
    for filename, data in files.items():
        (server / filename).write_bytes(data)
    table = {"urls": [server.as_uri() + "/"], "files": {f: sha(d) for f, d in files.items()}}
    monkeypatch.setitem(datasets.SOURCES, name, table)
    return server


def mnist_like(rng):
    x_train = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, size=6, dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, size=3, dtype=np.uint8)
    arrays = [x_train, y_train, x_test, y_test]
    files = {f: gzip.compress(idx_bytes(a)) for f, a in zip(MNIST_FILES, arrays, strict=True)}
    return arrays, files


def cifar_like(rng, n_per_batch=2):
    members, records = {}, []
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name in names:
        rec = rng.integers(0, 256, size=(n_per_batch, 3073), dtype=np.uint8)
        rec[:, 0] = rng.integers(0, 10, size=n_per_batch)
        members[f"cifar-10-batches-bin/{name}"] = rec.tobytes()
        records.append(rec)
    return records, tar_gz(members)


def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def leftovers(root, name):
    folder = root / name
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- digits ----------------------------------------------------------------------------------


def test_digits_split_shapes_and_range():
    train, test = datasets.load("digits")
    x, y = train.tensors
    assert (len(train), len(test)) == (1437, 360)
    assert x.shape == (1437, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    # stratified: every class has 36 (35..37) test images
    counts = torch.bincount(test.tensors[1], minlength=10)
    assert int(counts.min()) >= 35 and int(counts.max()) <= 37


def test_digits_split_is_fixed_and_disjoint():
    (a, _), (b, test) = datasets.load("digits"), datasets.load("digits")
    assert torch.equal(a.tensors[0], b.tensors[0]) and torch.equal(a.tensors[1], b.tensors[1])
    train_rows = {tuple(r.tolist()) for r in a.tensors[0].flatten(1)}
    overlap = sum(tuple(r.tolist()) in train_rows for r in test.tensors[0].flatten(1))
    assert overlap < 5  # the digits set has a few duplicate images, no shared split


def test_loaders_are_seeded():
    train, test = datasets.load("digits")
    first = [next(iter(datasets.loaders(train, test, batch_size=32, seed=s)[0]))[1] for s in (3, 3)]
    other = next(iter(datasets.loaders(train, test, batch_size=32, seed=4)[0]))[1]
    assert torch.equal(first[0], first[1]) and not torch.equal(first[0], other)
    test_loader = datasets.loaders(train, test, batch_size=500)[1]
    assert torch.equal(next(iter(test_loader))[1], test.tensors[1])


def test_tensor_loader_replays_the_randperm_loop_and_reshuffles_every_pass():
    x, y = torch.rand(10, 3), torch.arange(10)
    loader = datasets.TensorLoader(x, y, batch_size=4, seed=5)
    g = torch.Generator().manual_seed(5)  # the loop it stands for
    for _ in range(3):  # three passes (epochs)
        expected = [(x[idx], y[idx]) for idx in torch.randperm(10, generator=g).split(4)]
        got = list(loader)
        assert [len(b) for b, _ in got] == [4, 4, 2] and len(loader) == 3
        assert all(
            torch.equal(a, c) and torch.equal(b, d)
            for (a, b), (c, d) in zip(got, expected, strict=True)
        )
    orders = [torch.cat([b for _, b in datasets.TensorLoader(x, y, 4, seed=5)]) for _ in range(2)]
    assert torch.equal(orders[0], orders[1])  # a new loader with the same seed replays
    assert sorted(orders[0].tolist()) == list(range(10))  # every sample once per pass
    assert not torch.equal(torch.cat([b for _, b in loader]), orders[0])  # a later pass differs


def test_tensor_loader_bad_input():
    x, y = torch.rand(4, 3), torch.arange(4)
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got list"):
        datasets.TensorLoader([1, 2], y)
    with pytest.raises(ValueError, match="y must have a first .* got a 0-dim tensor"):
        datasets.TensorLoader(x, torch.tensor(1))
    with pytest.raises(ValueError, match="same number .* got 4 and 3"):
        datasets.TensorLoader(x, y[:3])
    with pytest.raises(ValueError, match="got 0 and 0"):
        datasets.TensorLoader(x[:0], y[:0])
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        datasets.TensorLoader(x, y, batch_size=0)
    with pytest.raises(TypeError, match="seed must be an integer, got float"):
        datasets.TensorLoader(x, y, seed=0.5)


def test_bad_name_and_batch_size():
    with pytest.raises(ValueError, match="name must be one of .*got 'mnistt'"):
        datasets.load("mnistt")
    with pytest.raises(ValueError, match="batch_size"):
        datasets.loaders(*datasets.load(), batch_size=0)


# --- MNIST-format downloads ------------------------------------------------------------------


def test_mnist_format_loads_and_caches(monkeypatch, tmp_path):
    arrays, files = mnist_like(np.random.default_rng(0))
    serve(monkeypatch, tmp_path, "mnist", files)
    train, test = datasets.load("mnist", root=tmp_path / "cache")
    assert train.tensors[0].shape == (6, 1, 28, 28) and test.tensors[0].shape == (3, 1, 28, 28)
    assert torch.equal(train.tensors[0][:, 0] * 255, torch.from_numpy(arrays[0]).float())
    assert torch.equal(test.tensors[1], torch.from_numpy(arrays[3]).long())
    assert leftovers(tmp_path / "cache", "mnist") == sorted(MNIST_FILES)
    # second load comes from the cache: works with the server gone
    for f in (tmp_path / "server").iterdir():
        f.unlink()
    again = datasets.load("mnist", root=tmp_path / "cache", download=False)[0]
    assert torch.equal(again.tensors[0], train.tensors[0])


@pytest.mark.parametrize("damage", ["corrupt", "partial"])
def test_bad_cache_is_downloaded_again(monkeypatch, tmp_path, damage):
    arrays, files = mnist_like(np.random.default_rng(1))
    serve(monkeypatch, tmp_path, "fashion_mnist", files)
    root = tmp_path / "cache"
    datasets.load("fashion_mnist", root=root)
    cached = root / "fashion_mnist" / MNIST_FILES[0]
    good = cached.read_bytes()
    cached.write_bytes(b"garbage" * 10 if damage == "corrupt" else good[: len(good) // 2])
    train, _ = datasets.load("fashion_mnist", root=root)
    assert cached.read_bytes() == good
    assert torch.equal(train.tensors[0][:, 0] * 255, torch.from_numpy(arrays[0]).float())


def test_bad_cache_without_download_is_removed_and_named(monkeypatch, tmp_path):
    _, files = mnist_like(np.random.default_rng(2))
    serve(monkeypatch, tmp_path, "mnist", files)
    root = tmp_path / "cache"
    datasets.load("mnist", root=root)
    (root / "mnist" / MNIST_FILES[1]).write_bytes(b"bad")
    with pytest.raises(FileNotFoundError, match=r'download=False.*datasets.load\("digits"\)'):
        datasets.load("mnist", root=root, download=False)
    assert MNIST_FILES[1] not in leftovers(root, "mnist")


def test_wrong_checksum_is_a_clear_error_and_saves_nothing(monkeypatch, tmp_path):
    _, files = mnist_like(np.random.default_rng(3))
    serve(monkeypatch, tmp_path, "mnist", files)
    table = dict(datasets.SOURCES["mnist"]["files"], **{MNIST_FILES[0]: "0" * 64})
    monkeypatch.setitem(datasets.SOURCES["mnist"], "files", table)
    with pytest.raises(ValueError, match="SHA-256 of .*expected 0000.*nothing was saved"):
        datasets.load("mnist", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "mnist") == []  # no file, no temporary file


def test_offline_names_the_embedded_default(monkeypatch, tmp_path):
    _, files = mnist_like(np.random.default_rng(4))
    serve(monkeypatch, tmp_path, "mnist", files)

    def no_network(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(ConnectionError, match=r'offline.*datasets.load\("digits"\)'):
        datasets.load("mnist", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "mnist") == []


def test_interrupted_download_leaves_no_partial_file(monkeypatch, tmp_path):
    _, files = mnist_like(np.random.default_rng(5))
    serve(monkeypatch, tmp_path, "mnist", files)

    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(16)

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Broken(b"x" * 64))
    with pytest.raises(ConnectionError, match="connection reset"):
        datasets.load("mnist", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "mnist") == []


@pytest.mark.parametrize(
    "make_bad, message",
    [
        (lambda a: gzip.compress(idx_bytes(a, magic_type=0x09)), "bad IDX magic number"),
        (lambda a: gzip.compress(idx_bytes(a)[:-7]), "truncated"),
        (lambda a: gzip.compress(idx_bytes(a))[:-12], "not a valid gzip file"),
        (lambda a: b"not gzip at all", "not a valid gzip file"),
    ],
)
def test_malformed_idx_is_a_clear_error_and_leaves_no_cache(
    monkeypatch, tmp_path, make_bad, message
):
    arrays, files = mnist_like(np.random.default_rng(6))
    files[MNIST_FILES[0]] = make_bad(arrays[0])  # its hash is in the table: only parsing fails
    serve(monkeypatch, tmp_path, "mnist", files)
    with pytest.raises(ValueError, match=message):
        datasets.load("mnist", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "mnist") == []


def test_mismatched_image_and_label_counts(monkeypatch, tmp_path):
    arrays, files = mnist_like(np.random.default_rng(7))
    files[MNIST_FILES[1]] = gzip.compress(idx_bytes(arrays[1][:-1]))
    serve(monkeypatch, tmp_path, "mnist", files)
    with pytest.raises(ValueError, match="different numbers of items"):
        datasets.load("mnist", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "mnist") == []


def test_read_idx_shapes(tmp_path):
    path = tmp_path / "a.gz"
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path.write_bytes(gzip.compress(idx_bytes(array)))
    assert np.array_equal(datasets.read_idx(path), array)


# --- CIFAR-10 binary -------------------------------------------------------------------------


def test_cifar10_binary_loads(monkeypatch, tmp_path):
    records, archive = cifar_like(np.random.default_rng(8))
    serve(monkeypatch, tmp_path, "cifar10", {"cifar-10-binary.tar.gz": archive})
    train, test = datasets.load("cifar10", root=tmp_path / "cache")
    assert train.tensors[0].shape == (10, 3, 32, 32) and test.tensors[0].shape == (2, 3, 32, 32)
    first = records[0][0]
    assert int(train.tensors[1][0]) == first[0]
    # record layout: label, then 1024 red, 1024 green, 1024 blue bytes, each row-major 32x32
    red_row1_col2 = first[1 + 32 + 2]
    blue_row0_col0 = first[1 + 2048]
    assert float(train.tensors[0][0, 0, 1, 2]) * 255 == pytest.approx(float(red_row1_col2))
    assert float(train.tensors[0][0, 2, 0, 0]) * 255 == pytest.approx(float(blue_row0_col0))
    assert torch.equal(test.tensors[1], torch.from_numpy(records[5][:, 0]).long())


@pytest.mark.parametrize("fault", ["short record", "missing batch", "bad label"])
def test_malformed_cifar10_is_a_clear_error(monkeypatch, tmp_path, fault):
    records, _ = cifar_like(np.random.default_rng(9))
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    members = {
        f"cifar-10-batches-bin/{n}": r.tobytes() for n, r in zip(names, records, strict=True)
    }
    if fault == "short record":
        members["cifar-10-batches-bin/test_batch.bin"] = records[5].tobytes()[:-1]
    elif fault == "missing batch":
        del members["cifar-10-batches-bin/data_batch_3.bin"]
    else:
        records[5][0, 0] = 12
        members["cifar-10-batches-bin/test_batch.bin"] = records[5].tobytes()
    serve(monkeypatch, tmp_path, "cifar10", {"cifar-10-binary.tar.gz": tar_gz(members)})
    with pytest.raises(ValueError, match="CIFAR-10|3073-byte"):
        datasets.load("cifar10", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "cifar10") == []


def cifar100_like(rng, n_train=4, n_test=3):
    """CIFAR-100's binary version: coarse label, fine label, 3072 pixel bytes per record."""
    records = []
    for n in (n_train, n_test):
        rec = rng.integers(0, 256, size=(n, 3074), dtype=np.uint8)
        rec[:, 0], rec[:, 1] = rng.integers(0, 20, size=n), rng.integers(0, 100, size=n)
        records.append(rec)
    names = ["cifar-100-binary/train.bin", "cifar-100-binary/test.bin"]
    return records, {n: r.tobytes() for n, r in zip(names, records, strict=True)}


def test_cifar100_binary_loads_the_fine_labels(monkeypatch, tmp_path):
    records, members = cifar100_like(np.random.default_rng(10))
    serve(monkeypatch, tmp_path, "cifar100", {"cifar-100-binary.tar.gz": tar_gz(members)})
    train, test = datasets.load("cifar100", root=tmp_path / "cache")
    assert train.tensors[0].shape == (4, 3, 32, 32) and test.tensors[0].shape == (3, 3, 32, 32)
    assert torch.equal(train.tensors[1], torch.from_numpy(records[0][:, 1]).long())  # fine
    assert torch.equal(test.tensors[1], torch.from_numpy(records[1][:, 1]).long())
    green_row3_col4 = records[1][2, 2 + 1024 + 3 * 32 + 4]
    assert float(test.tensors[0][2, 1, 3, 4]) * 255 == pytest.approx(float(green_row3_col4))


@pytest.mark.parametrize("fault", ["a CIFAR-10 record size", "fine label 100"])
def test_malformed_cifar100_is_a_clear_error(monkeypatch, tmp_path, fault):
    records, members = cifar100_like(np.random.default_rng(11))
    if fault == "fine label 100":
        records[0][1, 1] = 100
        members["cifar-100-binary/train.bin"] = records[0].tobytes()
    else:
        members["cifar-100-binary/test.bin"] = records[1][:, 1:].tobytes()
    serve(monkeypatch, tmp_path, "cifar100", {"cifar-100-binary.tar.gz": tar_gz(members)})
    with pytest.raises(ValueError, match=r"CIFAR-100 labels outside 0\.\.99|3074-byte"):
        datasets.load("cifar100", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "cifar100") == []


def test_real_hash_table_is_complete():
    for name in ("mnist", "fashion_mnist"):
        assert list(datasets.SOURCES[name]["files"]) == MNIST_FILES
    for source in datasets.SOURCES.values():
        assert source["urls"] and all(len(h) == 64 for h in source["files"].values())
        assert all(int(h, 16) >= 0 for h in source["files"].values())
