"""N-MNIST, SHD and CIFAR10-DVS loaders on tiny files the tests write in the real formats,
served via file://."""

import hashlib
import io
import sys
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest

from spikelearn import event_datasets as ed
from spikelearn import events as ev


def nmnist_bytes(x, y, t, p):
    """N-MNIST's 40-bit events: x, y, then p in bit 23 and the 23-bit timestamp, big-endian."""
    x, y, t, p = (np.asarray(v, dtype=np.int64) for v in (x, y, t, p))
    raw = np.stack([x, y, (p << 7) | ((t >> 16) & 127), (t >> 8) & 255, t & 255], axis=1)
    return raw.astype(np.uint8).tobytes()


def zipped(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def serve(monkeypatch, tmp_path, name, files, algorithm="sha256"):
    server = tmp_path / "server"
    server.mkdir(exist_ok=True)
    table = {}
    for filename, data in files.items():
        (server / filename).write_bytes(data)
        table[filename] = ([(server / filename).as_uri()], hashlib.new(algorithm, data).hexdigest())
    monkeypatch.setitem(ed.SOURCES, name, table)


def leftovers(root, name):
    folder = root / name
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def recording(rng, n=50):
    t = np.sort(rng.integers(0, 300_000, n))
    return rng.integers(0, 34, n), rng.integers(0, 34, n), t, rng.integers(0, 2, n)


def nmnist_zip(rng, split="Test"):
    recs = {f"{split}/{d}/0000{i}.bin": recording(rng) for d in (3, 7) for i in (1, 2)}
    return recs, zipped({k: nmnist_bytes(*v) for k, v in recs.items()})


# --- N-MNIST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_nmnist_loads_events_and_labels(monkeypatch, tmp_path, algorithm):
    recs, archive = nmnist_zip(np.random.default_rng(0))
    serve(monkeypatch, tmp_path, "nmnist", {"test.zip": archive}, algorithm)
    data = ed.NMNIST("test", root=tmp_path / "cache")
    assert len(data) == 4 and data.labels == [3, 3, 7, 7]
    events, label = data[2]
    x, y, t, p = recs["Test/7/00001.bin"]
    assert label == 7 and events.dtype == ev.EVENT_DTYPE
    for field, want in zip("xytp", (x, y, t, p), strict=True):
        assert np.array_equal(events[field], want)
    frames = ed.NMNIST("test", root=tmp_path / "cache", transform=lambda e: ev.to_frames(
        e, ed.NMNIST.sensor_size, time_window=100_000))[0][0]  # fmt: skip
    assert frames.shape[1:] == (2, 34, 34) and frames.sum() == 50


@pytest.mark.parametrize("folder", ["12", "", "x", "01"])
def test_nmnist_label_folders_hold_one_digit(monkeypatch, tmp_path, folder):
    # "12" and "01" are substrings of "0123456789" but no label: the archive is refused and removed
    rec = nmnist_bytes(*recording(np.random.default_rng(6)))
    name = f"Test/{folder}/00001.bin" if folder else "00001.bin"
    serve(
        monkeypatch, tmp_path, "nmnist", {"test.zip": zipped({"Test/3/00001.bin": rec, name: rec})}
    )
    with pytest.raises(ValueError, match=rf"one digit 0-9 per folder\), got {name}"):
        ed.NMNIST("test", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "nmnist") == []


def test_fetch_names_unknown_datasets_and_files(tmp_path):
    with pytest.raises(
        ValueError, match="name must be one of 'nmnist', 'shd', 'cifar10_dvs', got 'dvsgesture'"
    ):
        ed.fetch("dvsgesture", "train.zip", root=tmp_path)
    with pytest.raises(
        ValueError, match="filename must be one of 'train.zip', 'test.zip', got 'val.zip'"
    ):
        ed.fetch("nmnist", "val.zip", root=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing created for a bad name


def test_nmnist_timestamp_overflow_and_23_bit_times():
    data = nmnist_bytes([1, 0, 2], [2, 240, 3], [(1 << 23) - 1, 0, 5], [1, 0, 0])
    events = ed.read_nmnist_bin(data)
    assert events["t"].tolist() == [(1 << 23) - 1, 5 + (1 << 13)] and events["p"].tolist() == [1, 0]


def test_nmnist_truncated_recording_is_named(monkeypatch, tmp_path):
    archive = zipped({"Test/1/00001.bin": nmnist_bytes(*recording(np.random.default_rng(2)))[:-3]})
    serve(monkeypatch, tmp_path, "nmnist", {"test.zip": archive})
    data = ed.NMNIST("test", root=tmp_path / "cache")
    with pytest.raises(ValueError, match=r"00001.bin is truncated: 247 bytes"):
        data[0]


def test_nmnist_bad_archive_is_removed(monkeypatch, tmp_path):
    serve(monkeypatch, tmp_path, "nmnist", {"test.zip": b"PK not really a zip"})
    with pytest.raises(ValueError, match="not a valid zip archive"):
        ed.NMNIST("test", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "nmnist") == []


def test_corrupt_cache_is_fetched_again(monkeypatch, tmp_path):
    _, archive = nmnist_zip(np.random.default_rng(3))
    serve(monkeypatch, tmp_path, "nmnist", {"test.zip": archive})
    cache = tmp_path / "cache" / "nmnist"
    cache.mkdir(parents=True)
    (cache / "test.zip").write_bytes(archive[:100])  # an interrupted copy from elsewhere
    assert len(ed.NMNIST("test", root=tmp_path / "cache")) == 4
    assert (cache / "test.zip").read_bytes() == archive
    (cache / "test.zip").write_bytes(b"junk")
    with pytest.raises(FileNotFoundError, match=r"download=False.*event_digits"):
        ed.NMNIST("test", root=tmp_path / "cache", download=False)
    assert leftovers(tmp_path / "cache", "nmnist") == []


def test_wrong_checksum_saves_nothing(monkeypatch, tmp_path):
    _, archive = nmnist_zip(np.random.default_rng(4))
    serve(monkeypatch, tmp_path, "nmnist", {"test.zip": archive}, "md5")
    urls, _ = ed.SOURCES["nmnist"]["test.zip"]
    monkeypatch.setitem(ed.SOURCES["nmnist"], "test.zip", (urls, "0" * 32))
    with pytest.raises(ValueError, match="MD5 of .*expected 0000.*nothing was saved"):
        ed.NMNIST("test", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "nmnist") == []


def test_offline_names_the_simulated_camera(monkeypatch, tmp_path):
    _, archive = nmnist_zip(np.random.default_rng(5))
    serve(monkeypatch, tmp_path, "nmnist", {"test.zip": archive})

    def no_network(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(ConnectionError, match=r"offline.*event_digits"):
        ed.NMNIST("test", root=tmp_path / "cache")
    assert leftovers(tmp_path / "cache", "nmnist") == []


def test_real_tables_hold_tonics_md5_sums():
    assert set(ed.SOURCES["nmnist"]) == {"train.zip", "test.zip"}
    assert set(ed.SOURCES["shd"]) == {"shd_train.h5.zip", "shd_test.h5.zip"}
    assert set(ed.SOURCES["cifar10_dvs"]) == {f"{c}.zip" for c in ed.CIFAR10_DVS_CLASSES}
    for table in ed.SOURCES.values():
        for urls, digest in table.values():
            assert urls and len(digest) == 32 and int(digest, 16) >= 0


# --- SHD -------------------------------------------------------------------------------------


def shd_bytes(h5py, tmp_path, times, units, labels):
    path = tmp_path / "shd_test.h5"
    with h5py.File(path, "w") as f:
        vt = f.create_dataset("spikes/times", (len(times),), dtype=h5py.vlen_dtype(np.float16))
        vu = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (t, u) in enumerate(zip(times, units, strict=True)):
            vt[i], vu[i] = t, u
        f["labels"] = np.asarray(labels, dtype=np.uint16)
    return path.read_bytes()


def test_shd_loads(monkeypatch, tmp_path):
    h5py = pytest.importorskip("h5py")
    times = [np.array([0.5, 0.001, 0.25]), np.array([0.75])]
    units = [np.array([699, 3, 10]), np.array([0])]
    data = shd_bytes(h5py, tmp_path, times, units, [4, 19])
    serve(monkeypatch, tmp_path, "shd", {"shd_test.h5.zip": zipped({"shd_test.h5": data})})
    shd = ed.SHD("test", root=tmp_path / "cache")
    assert len(shd) == 2 and shd.sensor_size == (700, 1, 1)
    events, label = shd[0]
    assert label == 4 and events["x"].tolist() == [3, 10, 699]  # sorted by time
    # float16 times, as SHD stores them, in µs
    assert events["t"].tolist() == [round(float(np.float16(v)) * 1e6) for v in (0.001, 0.25, 0.5)]
    assert set(events["y"].tolist()) == {0} and set(events["p"].tolist()) == {0}
    frames = ev.to_frames(events, shd.sensor_size, time_window=100_000)
    assert frames.shape[1:] == (1, 1, 700) and frames.sum() == 3


def test_shd_truncated_file_is_a_clear_error_and_removed(monkeypatch, tmp_path):
    h5py = pytest.importorskip("h5py")
    data = shd_bytes(h5py, tmp_path, [np.array([0.1])], [np.array([1])], [0])
    bad = zipped({"shd_test.h5": data[: len(data) // 2]})
    serve(monkeypatch, tmp_path, "shd", {"shd_test.h5.zip": bad})
    with pytest.raises(ValueError, match="not a valid SHD HDF5 file"):
        ed.SHD("test", root=tmp_path / "cache")
    assert "shd_test.h5" not in leftovers(tmp_path / "cache", "shd")


def test_shd_mismatched_lengths(monkeypatch, tmp_path):
    h5py = pytest.importorskip("h5py")
    data = shd_bytes(h5py, tmp_path, [np.array([0.1])] * 2, [np.array([1])] * 2, [0, 1, 2])
    serve(monkeypatch, tmp_path, "shd", {"shd_test.h5.zip": zipped({"shd_test.h5": data})})
    with pytest.raises(ValueError, match="differ in length"):
        ed.SHD("test", root=tmp_path / "cache")


def test_shd_without_h5py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    with pytest.raises(ImportError, match=r"spikelearn\[shd\]"):
        ed.SHD("test")


def test_bad_split_is_named():
    with pytest.raises(ValueError, match="split must be one of"):
        ed.NMNIST("val")


# --- CIFAR10-DVS -----------------------------------------------------------------------------


def aedat2_bytes(x, y, t, p):
    """A DVS128 recording in jAER's AEDAT 2.0: '#' header lines, then big-endian (address, time)
    pairs; the address is row << 8 | column << 1 | polarity bit, with x = 127 - row,
    y = 127 - column, p = 1 - bit (the reader's upright orientation)."""
    x, y, t, p = (np.asarray(v, dtype=np.int64) for v in (x, y, t, p))
    address = ((127 - x) << 8) | ((127 - y) << 1) | (1 - p)
    body = np.stack([address, t], axis=1).astype(">u4").tobytes()
    return b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n" + body


def dvs_recording(rng, n=40):
    t = np.sort(rng.integers(0, 1_000_000, n))
    return rng.integers(0, 128, n), rng.integers(0, 128, n), t, rng.integers(0, 2, n)


def cifar10_dvs_files(rng, per_class=2):
    """One zip per class, ``<class>/cifar10_<class>_<i>.aedat``; returns (recordings, files)."""
    recs, files = {}, {}
    for c in ed.CIFAR10_DVS_CLASSES:
        members = {f"{c}/cifar10_{c}_{i}.aedat": dvs_recording(rng) for i in range(per_class)}
        recs.update(members)
        files[f"{c}.zip"] = zipped({k: aedat2_bytes(*v) for k, v in members.items()})
    return recs, files


def test_cifar10_dvs_decodes_aedat2_and_splits_each_class(monkeypatch, tmp_path):
    recs, files = cifar10_dvs_files(np.random.default_rng(4), per_class=10)
    serve(monkeypatch, tmp_path, "cifar10_dvs", files, "md5")
    train = ed.CIFAR10DVS("train", root=tmp_path / "cache")
    test = ed.CIFAR10DVS("test", root=tmp_path / "cache")
    assert len(train) == 90 and len(test) == 10  # 9 + 1 of each class, by recording number
    assert train.labels[:9] == [0] * 9 and test.labels == list(range(10))
    events, label = test[3]  # the cat's last recording: number 9, not "cifar10_cat_1.aedat"
    x, y, t, p = recs["cat/cifar10_cat_9.aedat"]
    assert label == 3 and events.dtype == ev.EVENT_DTYPE
    for field, want in zip("xytp", (x, y, t, p), strict=True):
        assert np.array_equal(events[field], want)
    frames = ev.to_frames(events, ed.CIFAR10DVS.sensor_size, event_count=10)
    assert frames.shape == (4, 2, 128, 128) and frames.sum() == 40


def test_aedat2_known_event_and_truncation():
    # row 3, column 5, polarity bit 1 at t = 70000 us -> x = 124, y = 122, p = 0 (OFF)
    data = b"#!AER-DAT2.0\r\n" + np.array([(3 << 8) | (5 << 1) | 1, 70000], ">u4").tobytes()
    events = ed.read_aedat2(data)
    assert events[["x", "y", "t", "p"]].tolist() == [(124, 122, 70000, 0)]
    with pytest.raises(ValueError, match="truncated"):
        ed.read_aedat2(data[:-2], where="cat_1.aedat")
    with pytest.raises(ValueError, match="unterminated header"):
        ed.read_aedat2(b"#!AER-DAT2.0")


def test_cifar10_dvs_missing_file_names_download_false(monkeypatch, tmp_path):
    _, files = cifar10_dvs_files(np.random.default_rng(5), per_class=1)
    serve(monkeypatch, tmp_path, "cifar10_dvs", files, "md5")
    with pytest.raises(FileNotFoundError, match="airplane.zip is missing"):
        ed.CIFAR10DVS("train", root=tmp_path / "cache", download=False)
    with pytest.raises(ValueError, match="train_fraction"):
        ed.CIFAR10DVS("train", root=tmp_path / "cache", train_fraction=1.0)
