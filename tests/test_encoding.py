"""Encoders: shapes, statistics, ordering, reproducibility, bad input, and snnTorch's spikegen."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from snntorch import spikegen

from spikelearn import encoding


def images(b=4, seed=0):
    """A batch of [B, 1, 8, 8] intensities in [0, 1] with a black background pixel in each."""
    x = torch.rand(b, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    x[:, :, 0, 0] = 0.0
    return x


# ---- shapes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["rate", "poisson", "latency", "direct"])
def test_static_codes_are_time_major(code):
    x = images()
    out = getattr(encoding, code)(x, 7)
    assert out.shape == (7, *x.shape)
    assert out.dtype == x.dtype


def test_direct_repeats_the_input_every_step():
    x = torch.randn(3, 5)
    out = encoding.direct(x, 4)
    assert all(torch.equal(out[t], x) for t in range(4))


# ---- rate ---------------------------------------------------------------------------------------


def test_rate_mean_matches_probability_within_binomial_std():
    p = torch.tensor([0.0, 0.05, 0.3, 0.5, 0.9, 1.0])
    T, n = 2000, 50  # 100,000 draws per probability
    spikes = encoding.rate(p.repeat(n, 1), T, seed=1)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    mean = spikes.mean(dim=(0, 1))
    std = torch.sqrt(p * (1 - p) / (T * n))
    assert torch.all((mean - p).abs() <= 5 * std + 1e-12), (mean, p)


def test_rate_gain_scales_the_probability():
    x = torch.full((20, 100), 0.8)
    spikes = encoding.rate(x, 500, gain=0.5, seed=2)
    std = math.sqrt(0.4 * 0.6 / spikes.numel())
    assert abs(spikes.mean().item() - 0.4) < 5 * std


def test_rate_equals_snntorch_with_the_same_global_seed():
    x = images()
    for gain in (1.0, 0.5):
        torch.manual_seed(3)
        ref = spikegen.rate(x, num_steps=25, gain=gain)
        torch.manual_seed(3)
        assert torch.equal(encoding.rate(x, 25, gain=gain), ref)


def test_seed_and_generator_make_draws_reproducible():
    x = images()
    for code in (encoding.rate, encoding.poisson):
        a, b, c = code(x, 10, seed=5), code(x, 10, seed=5), code(x, 10, seed=6)
        assert torch.equal(a, b) and not torch.equal(a, c)
        g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
        assert torch.equal(code(x, 10, generator=g1), code(x, 10, generator=g2))
    with pytest.raises(ValueError, match="seed or generator"):
        encoding.rate(x, 10, seed=1, generator=torch.Generator())


# ---- poisson ------------------------------------------------------------------------------------


def test_poisson_counts_have_mean_and_variance_equal_to_the_rate():
    lam = torch.tensor([0.1, 0.5, 2.0])
    T, n = 1000, 100
    counts = encoding.poisson(lam.repeat(n, 1), T, seed=3)
    assert torch.equal(counts, counts.round()) and counts.min() >= 0
    flat = counts.reshape(-1, 3)
    mean, var = flat.mean(0), flat.var(0)
    n_draws = flat.shape[0]
    assert torch.all((mean - lam).abs() <= 5 * torch.sqrt(lam / n_draws)), mean
    # var of the sample variance of a Poisson(lam) is about (lam + 2 lam^2) / n
    assert torch.all((var - lam).abs() <= 5 * torch.sqrt((lam + 2 * lam**2) / n_draws)), var
    assert counts[..., 2].max() > 1  # several spikes per step happen at rate 2


# ---- latency ------------------------------------------------------------------------------------


@pytest.mark.parametrize("linear", [True, False])
def test_latency_fires_at_most_once_and_brighter_fires_earlier(linear):
    x = images(8)
    spikes = encoding.latency(x, 40, tau=5, linear=linear, normalize=True)
    assert spikes.sum(0).max() <= 1
    t = encoding.time_to_first_spike(spikes).flatten()
    v = x.flatten()
    order = torch.argsort(v)
    # intensities ascending -> times non-increasing
    assert torch.all(t[order][1:] <= t[order][:-1])


def test_latency_linear_times_are_tau_times_one_minus_x():
    x = torch.tensor([[0.0, 0.25, 0.5, 1.0]])
    t = encoding.latency_times(x, 10, tau=8, linear=True, threshold=0.01)
    assert torch.allclose(t, torch.tensor([[8 * 0.99, 6.0, 4.0, 0.0]]))
    spikes = encoding.latency(x, 10, tau=8, linear=True)
    assert encoding.time_to_first_spike(spikes).tolist() == [[8.0, 6.0, 4.0, 0.0]]


def test_latency_clip_silences_inputs_below_threshold():
    x = torch.tensor([[0.0, 0.005, 0.5]])
    spikes = encoding.latency(x, 10, linear=True, normalize=True, clip=True)
    assert spikes.sum(0).tolist() == [[0.0, 0.0, 1.0]]


def test_latency_drops_spikes_past_the_window():
    x = torch.tensor([[0.0, 1.0]])
    spikes = encoding.latency(x, 5, tau=20, linear=True)  # the dark input would fire at ~19.8
    assert spikes.sum(0).tolist() == [[0.0, 1.0]]


@pytest.mark.parametrize("linear", [True, False])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("tau", [1.0, 5.0])
def test_latency_equals_snntorch(linear, normalize, clip, tau):
    x = images()
    ref = spikegen.latency(
        x, num_steps=30, tau=tau, linear=linear, normalize=normalize, clip=clip, bypass=True
    )
    out = encoding.latency(x, 30, tau=tau, linear=linear, normalize=normalize, clip=clip)
    # snnTorch with bypass=True may cut the window short at its last spike; compare the overlap
    n = min(ref.shape[0], 30)
    assert torch.equal(out[:n], ref[:n])
    assert out[n:].sum() == 0


def test_latency_log_normalize_is_per_sample_not_per_batch():
    # Deliberate difference: snnTorch divides by the batch's largest time; we divide by the time of
    # an input at threshold, so a sample's code does not depend on the rest of the batch.
    bright = torch.tensor([[0.5, 1.0]])
    with_dark = torch.tensor([[0.5, 1.0], [0.0, 0.0]])
    a = encoding.latency(bright, 20, normalize=True)
    b = encoding.latency(with_dark, 20, normalize=True)[:, :1]
    assert torch.equal(a, b)


@pytest.mark.parametrize("seed", range(40))
def test_latency_equals_snntorch_on_random_settings(seed):
    # issue 12: the log code's times were float32 divided by a float64 normaliser (up to 1.7 steps
    # off snnTorch). With an input at or below threshold in the batch (here x[0, 0] = 0), every
    # code equals snnTorch's bit for bit, times and spikes.
    g = torch.Generator().manual_seed(seed)
    threshold = 0.01 + 0.9 * torch.rand(1, generator=g).item()
    tau = 0.1 + 10 * torch.rand(1, generator=g).item()
    steps = int(torch.randint(1, 300, (1,), generator=g))
    x = torch.rand(5, 20, generator=g)
    x[0, 0] = 0.0
    for linear in (False, True):
        for normalize in (False, True):
            kw = dict(tau=tau, threshold=threshold, linear=linear, normalize=normalize)
            ref_t, _ = spikegen.latency_code(x, num_steps=steps, **kw)
            assert torch.equal(encoding.latency_times(x, steps, **kw), ref_t)
            ref = spikegen.latency(x, num_steps=steps, bypass=True, **kw)
            assert torch.equal(encoding.latency(x, steps, **kw), ref)


@pytest.mark.parametrize(("threshold", "steps"), [(0.6, 25), (0.5, 200), (0.01, 2), (0.99, 7)])
def test_latency_log_normalize_puts_inputs_at_threshold_on_the_last_step(threshold, steps):
    # issue 12: thr 0.6, T 25 gave time 24.796 (no spike at all); thr 0.5, T 200 gave step 197
    x = torch.tensor([[0.0, threshold * 0.5, threshold, 1.0]])
    spikes = encoding.latency(x, steps, threshold=threshold, normalize=True)
    first = encoding.time_to_first_spike(spikes)
    assert first[0, :3].tolist() == [steps - 1] * 3
    assert first[0, 3] < steps - 1 or steps <= 2


def test_latency_linear_normalize_puts_zero_at_window_times_one_minus_threshold():
    # as snnTorch does (and as the docstring now says): x = 0 at (T - 1)·(1 - threshold)
    t = encoding.latency_times(
        torch.tensor([[0.0, 1.0]]), 21, threshold=0.25, linear=True, normalize=True
    )
    assert t.tolist() == [[20 * 0.75, 0.0]]


# ---- delta --------------------------------------------------------------------------------------


def test_delta_spikes_exactly_where_the_input_changes():
    x = torch.tensor([1.0, 2.0, 2.9, 3.0, 3.9, 1.0]).reshape(6, 1)
    assert encoding.delta(x, threshold=1).flatten().tolist() == [1, 1, 0, 0, 0, 0]
    assert encoding.delta(x, threshold=1, padding=True).flatten().tolist() == [0, 1, 0, 0, 0, 0]
    on_off = encoding.delta(x, threshold=1, off_spike=True).flatten().tolist()
    assert on_off == [1, 1, 0, 0, 0, -1]


def test_delta_is_silent_for_a_still_input_and_fires_on_motion():
    x = images(2)
    still = encoding.delta(encoding.direct(x, 10), threshold=0.1, padding=True)
    assert still.abs().sum() == 0
    moving = encoding.delta(encoding.saccades(x, 10), threshold=0.1, padding=True)
    assert moving.abs().sum() > 0


@pytest.mark.parametrize("off_spike", [True, False])
@pytest.mark.parametrize("padding", [True, False])
def test_delta_equals_snntorch(off_spike, padding):
    x = torch.randn(12, 3, 5, generator=torch.Generator().manual_seed(0))
    ref = spikegen.delta(x, threshold=0.3, off_spike=off_spike, padding=padding)
    assert torch.equal(encoding.delta(x, 0.3, off_spike=off_spike, padding=padding), ref)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=20),
    st.floats(0.01, 3),
)
def test_delta_property_matches_the_definition(values, threshold):
    x = torch.tensor(values, dtype=torch.float64).reshape(-1, 1)
    out = encoding.delta(x, threshold, off_spike=True).flatten()
    prev = 0.0
    for v, o in zip(values, out.tolist(), strict=True):
        d = v - prev
        assert o == (1 if d >= threshold else -1 if d <= -threshold else 0)
        prev = v


# ---- read-out helpers ---------------------------------------------------------------------------


def test_spike_count_and_time_to_first_spike():
    s = torch.tensor([[0.0, 1.0, 0.0], [1.0, -1.0, 0.0], [1.0, 0.0, 0.0]]).reshape(3, 1, 3)
    assert encoding.spike_count(s).tolist() == [[2.0, 2.0, 0.0]]
    assert encoding.time_to_first_spike(s).tolist() == [[1.0, 0.0, math.inf]]


def test_saccades_shift_the_image_and_come_back():
    x = torch.arange(1.0, 6.0).reshape(1, 1, 5)
    out = encoding.saccades(x, 5, amplitude=2)
    assert out.shape == (5, 1, 1, 5)
    assert out[0].flatten().tolist() == [1, 2, 3, 4, 5]
    assert out[2].flatten().tolist() == [0, 0, 1, 2, 3]
    assert torch.equal(out[4], out[0])


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 1), st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_rate_spikes_are_binary_and_extremes_are_certain(p, num_steps, seed):
    x = torch.tensor([[p, 0.0, 1.0]])
    s = encoding.rate(x, num_steps, seed=seed)
    assert s.shape == (num_steps, 1, 3)
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    assert s[:, 0, 1].sum() == 0 and s[:, 0, 2].sum() == num_steps


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: encoding.rate(torch.tensor([[1.3]]), 5),
            ValueError,
            r"x must be in \[0, 1\], got 1.3",
        ),
        (
            lambda: encoding.rate(torch.tensor([[-0.1]]), 5),
            ValueError,
            r"x must be in \[0, 1\], got -0.1",
        ),
        (
            lambda: encoding.rate(torch.tensor([[0.8]]), 5, gain=2.0),
            ValueError,
            r"gain \* x must be in \[0, 1\], got 1.6",
        ),
        (
            lambda: encoding.rate(torch.tensor([[0.5]]), -3),
            ValueError,
            "num_steps must be an integer >= 1, got -3",
        ),
        (
            lambda: encoding.rate(torch.tensor([[0.5]]), 2.5),
            TypeError,
            "num_steps must be an integer, got float 2.5",
        ),
        (
            lambda: encoding.rate(torch.tensor(0.5), 5),
            ValueError,
            r"x must have >= 1 dimensions, got shape \(\)",
        ),
        (
            lambda: encoding.rate(torch.tensor([[float("nan")]]), 5),
            ValueError,
            "x must be finite, got a tensor containing NaN",
        ),
        (lambda: encoding.rate([[0.5]], 5), TypeError, "x must be a torch.Tensor, got list"),
        (
            lambda: encoding.rate(torch.tensor([[1]]), 5),
            TypeError,
            "x must be a floating-point tensor",
        ),
        (
            lambda: encoding.poisson(torch.tensor([[-1.0]]), 5),
            ValueError,
            r"x must be in \[0, inf\), got -1",
        ),
        (
            lambda: encoding.latency(torch.tensor([[0.5]]), 5, tau=0),
            ValueError,
            r"tau must be in \(0, inf\), got 0",
        ),
        (
            lambda: encoding.latency(torch.tensor([[0.5]]), 5, threshold=1.0),
            ValueError,
            r"threshold must be in \(0, 1\), got 1",
        ),
        (
            lambda: encoding.latency(torch.tensor([[2.0]]), 5),
            ValueError,
            r"x must be in \[0, 1\], got 2",
        ),
        (
            lambda: encoding.delta(torch.ones(5), 0.1),
            ValueError,
            r"x_seq must have >= 2 dimensions, got shape \(5,\)",
        ),
        (
            lambda: encoding.delta(torch.ones(5, 1), -0.1),
            ValueError,
            r"threshold must be in \(0, inf\), got -0.1",
        ),
        (
            lambda: encoding.direct(torch.ones(2), 0),
            ValueError,
            "num_steps must be an integer >= 1, got 0",
        ),
        (
            lambda: encoding.rate(torch.ones(1, 1), 5, seed=-1),
            ValueError,
            "seed must be an integer >= 0, got -1",
        ),
    ],
)
def test_bad_input_names_the_parameter_and_value(call, error, message):
    with pytest.raises(error, match=message):
        call()
