"""Events as data: binning, time surfaces and filters against hand computations on tiny inputs."""

import math

import numpy as np
import pytest
import torch

from spikelearn import events as ev

SENSOR = (4, 3, 2)  # W, H, P


def tiny():
    #            x  y   t   p
    rows = [(0, 0, 0, 1), (1, 2, 5, 0), (3, 1, 10, 1), (0, 0, 12, 1), (2, 2, 25, 0)]
    return ev.make_events(*zip(*rows, strict=True))


def test_make_events_sorts_by_time_and_uses_tonics_field_names():
    e = ev.make_events([1, 2], [0, 0], [9, 3], [1, 0])
    assert e.dtype.names == ("x", "y", "t", "p") and e["t"].tolist() == [3, 9]
    assert e["x"].tolist() == [2, 1]


def test_frames_by_time_window_by_hand():
    frames = ev.to_frames(tiny(), SENSOR, time_window=10)
    assert frames.shape == (3, 2, 3, 4)  # t in [0, 10), [10, 20), [20, 30)
    want = torch.zeros(3, 2, 3, 4)
    want[0, 1, 0, 0] = 1  # (0, 0, t=0, ON)
    want[0, 0, 2, 1] = 1  # (1, 2, t=5, OFF)
    want[1, 1, 1, 3] = 1  # (3, 1, t=10, ON): a window includes its start
    want[1, 1, 0, 0] = 1  # (0, 0, t=12, ON)
    want[2, 0, 2, 2] = 1  # (2, 2, t=25, OFF)
    assert torch.equal(frames, want)
    fixed = ev.to_frames(tiny(), SENSOR, time_window=10, start_time=0, end_time=20)
    assert fixed.shape[0] == 2 and torch.equal(fixed, want[:2])


def test_frames_by_event_count_by_hand():
    full = ev.to_frames(tiny(), SENSOR, event_count=2, include_incomplete=False)
    assert full.shape[0] == 2 and full.sum(dim=(1, 2, 3)).tolist() == [2, 2]
    assert full[1, 1, 0, 0] == 1 and full[1, 1, 1, 3] == 1
    both = ev.to_frames(tiny(), SENSOR, event_count=2)
    assert both.shape[0] == 3 and both[2, 0, 2, 2] == 1 and both.sum() == 5


def test_frames_equal_tonics_to_frame():
    tonic = pytest.importorskip("tonic")
    rng = np.random.default_rng(0)
    n = 400
    e = ev.make_events(
        rng.integers(0, 34, n),
        rng.integers(0, 34, n),
        rng.integers(0, 99_999, n),
        rng.integers(0, 2, n),
    )
    e["t"][-1] = 99_999  # duration not a multiple of the window: see to_frames' docstring
    sensor = (34, 34, 2)
    ref = tonic.transforms.ToFrame(sensor_size=sensor, time_window=7000, include_incomplete=True)(e)
    assert torch.equal(ev.to_frames(e, sensor, time_window=7000), torch.from_numpy(ref).float())
    ref = tonic.transforms.ToFrame(sensor_size=sensor, event_count=64)(e)
    ours = ev.to_frames(e, sensor, event_count=64, include_incomplete=False)
    assert torch.equal(ours, torch.from_numpy(ref).float())


def test_time_surface_by_hand():
    ts = ev.time_surface(tiny(), SENSOR, tau=10.0, times=[11, 30])
    assert ts.shape == (2, 2, 3, 4)
    # at t=11: (0,0,ON) last fired at 0, (1,2,OFF) at 5, (3,1,ON) at 10; nothing else yet
    assert ts[0, 1, 0, 0] == pytest.approx(math.exp(-1.1))
    assert ts[0, 0, 2, 1] == pytest.approx(math.exp(-0.6))
    assert ts[0, 1, 1, 3] == pytest.approx(math.exp(-0.1))
    assert ts[0, 0, 2, 2] == 0 and (ts[0] > 0).sum() == 3
    # at t=30 the pixel (0,0,ON) remembers its latest event (t=12), not its first
    assert ts[1, 1, 0, 0] == pytest.approx(math.exp(-1.8))
    assert ts[1, 0, 2, 2] == pytest.approx(math.exp(-0.5))


def test_denoise_keeps_events_with_a_recent_4_neighbour():
    rows = [
        (2, 2, 0, 1),  # first: no earlier neighbour -> dropped
        (3, 2, 500, 0),  # right of (2, 2), 500 us later -> kept
        (7, 7, 600, 1),  # isolated -> dropped
        (4, 3, 700, 1),  # diagonal to (3, 2): not a 4-neighbour -> dropped
        (3, 3, 2600, 1),  # below (3, 2) but 2100 us later -> dropped
        (3, 2, 2900, 1),  # above (3, 3), 300 us later -> kept
    ]
    e = ev.make_events(*zip(*rows, strict=True))
    kept = ev.denoise(e, (8, 8, 2), filter_time=1000)
    assert kept["t"].tolist() == [500, 2900]


def test_denoise_equals_tonic_after_its_first_window():
    tonic = pytest.importorskip("tonic")
    rng = np.random.default_rng(1)
    n = 3000
    e = ev.make_events(
        rng.integers(0, 16, n),
        rng.integers(0, 16, n),
        rng.integers(0, 200_000, n),
        rng.integers(0, 2, n),
    )
    e = e[e["t"] >= 5000]  # tonic keeps every event of its first filter_time µs
    ref = tonic.transforms.Denoise(filter_time=5000)(e.copy())
    ours = ev.denoise(e, (16, 16, 2), filter_time=5000)
    assert 0 < len(ours) < len(e) and np.array_equal(ours, ref)


def test_refractory_by_hand():
    e = ev.make_events([1, 1, 1, 1, 2], [0, 0, 0, 0, 0], [0, 300, 1200, 1500, 100], [1, 1, 1, 0, 1])
    kept = ev.refractory(e, (3, 1, 2), period=1000)
    # pixel (1, 0, ON): 0 kept, 300 too soon, 1200 kept; OFF at 1500 and the other pixel kept
    assert kept["t"].tolist() == [0, 100, 1200, 1500]


def test_pad_and_collate():
    a, b = torch.ones(3, 2), 2 * torch.ones(5, 2)
    out, lengths = ev.pad([a, b])
    assert out.shape == (5, 2, 2) and lengths.tolist() == [3, 5]
    assert out[3:, 0].sum() == 0 and torch.equal(out[:, 1], b)
    padded, labels, lengths = ev.collate([(a, 4), (b, 7)])
    assert labels.tolist() == [4, 7] and padded.shape == (5, 2, 2)


def test_event_digits_is_a_seeded_event_camera():
    events, labels, sensor = ev.event_digits("test", num_steps=30, amplitude=1)
    assert sensor == (10, 9, 2) and len(events) == len(labels) == 360
    e = events[0]
    assert e.dtype == ev.EVENT_DTYPE and len(e) > 20 and set(np.unique(e["p"])) == {0, 1}
    assert e["t"].min() > 0  # adapted to the first view: nothing happens before the image moves
    frames = ev.to_frames(e, sensor, time_window=1000, start_time=0, end_time=30_000)
    assert frames.shape == (30, 2, 9, 10) and frames.sum() == len(e)
    again = ev.event_digits("test", num_steps=30, amplitude=1)[0][0]
    assert np.array_equal(e, again)
    noisy = ev.event_digits("test", noise=0.01, seed=1)[0]
    assert sum(map(len, noisy)) > sum(map(len, events))
    assert not np.array_equal(noisy[0], ev.event_digits("test", noise=0.01, seed=2)[0][0])


def test_event_digits_is_a_dvs_pixel_run_by_hand():
    # the pixel rule of the docstring, written out in float64 for the first digits: a pixel back
    # at an earlier intensity meets its earlier reference in the same precision (a float32 first
    # view once shifted the floor at exact contrast multiples and changed the event counts)
    from spikelearn import datasets

    a, steps, contrast = 2, 30, 0.5
    images = datasets.load("digits")[1].tensors[0][:5, 0].numpy()
    recordings, _, sensor = ev.event_digits("test", num_steps=steps, amplitude=a, contrast=contrast)
    phase = np.linspace(0, 3, steps)
    corners = np.array([(0, 0), (a, a), (2 * a, 0), (0, 0)])
    path = np.round([np.interp(phase, np.arange(4), corners[:, k]) for k in (0, 1)]).T.astype(int)
    for image, recorded in zip(images, recordings, strict=False):
        movie = np.zeros((steps, sensor[1], sensor[0]))
        for k, (dx, dy) in enumerate(path):
            movie[k, dy : dy + 8, dx : dx + 8] = image
        ref, want = np.log(movie[0] + 0.1), np.zeros((2, sensor[1], sensor[0]))
        for frame in movie:
            change = np.log(frame + 0.1) - ref
            n = np.floor(np.abs(change) / contrast)
            ref = ref + np.sign(change) * n * contrast
            want[1] += np.where(change > 0, n, 0)
            want[0] += np.where(change < 0, n, 0)
        got = ev.to_frames(recorded, sensor, time_window=10**9)[0].numpy()
        assert np.array_equal(got, want)


def test_every_digit_makes_a_moderate_number_of_events():
    events, _, _ = ev.event_digits("test", contrast=0.5)
    counts = np.array([len(e) for e in events])
    assert counts.min() > 0 and counts.max() < 2000


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="events must be a structured numpy array"):
        ev.to_frames(np.zeros(3), SENSOR, time_window=1)
    with pytest.raises(ValueError, match=r"events\['x'\] must be in \[0, 3\]"):
        ev.to_frames(ev.make_events([9], [0], [0], [0]), SENSOR, time_window=1)
    with pytest.raises(ValueError, match="exactly one of time_window and event_count"):
        ev.to_frames(tiny(), SENSOR)
    with pytest.raises(ValueError, match="sorted by time"):
        e = tiny()
        e["t"] = e["t"][::-1]
        ev.to_frames(e, SENSOR, time_window=5)
    with pytest.raises(ValueError, match="time_window must be in"):
        ev.to_frames(tiny(), SENSOR, time_window=0)
    with pytest.raises(ValueError, match="agree in every dimension but time"):
        ev.pad([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(ValueError, match="x, y, t, p must be 1-D of equal length"):
        ev.make_events([1, 2], [0], [0, 1], [0, 0])
