"""spikelearn.plasticity: the simulated STDP window against the analytic one, the bounds, errors."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikelearn import neurons, plasticity

U64 = torch.finfo(torch.float64).eps / 2  # unit roundoff of float64


@settings(max_examples=40)
@given(
    a_plus=st.floats(0.0, 0.1),
    a_minus=st.floats(0.0, 0.1),
    tau_plus=st.floats(0.5, 50.0),
    tau_minus=st.floats(0.5, 50.0),
    dt=st.floats(0.05, 2.0),
    dependence=st.sampled_from(plasticity.WEIGHT_DEPENDENCES),
    w=st.floats(0.1, 0.9),  # room for |Δw| <= 0.1 inside the hard bounds [0, 1]
)
def test_simulated_window_equals_analytic_on_the_grid(
    a_plus, a_minus, tau_plus, tau_minus, dt, dependence, w
):
    """At Δt = k·dt the trace form is exact: the error bound is rounding only, as documented,
    ``(|k| + 1)·u`` relative for ``d^k`` plus ``u·|w|`` (a few ulps of slack per operation)."""
    rule = plasticity.STDP(a_plus, a_minus, tau_plus, tau_minus, dt, dependence)
    lags = torch.arange(-60, 61)
    delta_t, dw = plasticity.measure_window(rule, lags, w=w)
    expected = rule.window(delta_t, w)
    assert torch.equal(delta_t, lags.double() * dt)
    bound = 4 * ((lags.abs() + 1) * U64 * expected.abs() + U64 * (abs(w) + expected.abs()))
    assert ((dw - expected).abs() <= bound).all(), (dw - expected).abs().max()


def test_window_formula_and_the_same_step_convention():
    rule = plasticity.STDP(a_plus=0.02, a_minus=0.03, tau_plus=10.0, tau_minus=5.0, dt=1.0)
    delta_t, dw = plasticity.measure_window(rule, [-3, -1, 0, 1, 4])
    assert dw[2] == pytest.approx(0.02, abs=1e-15)  # Δt = 0 counts as causal: +A+
    assert dw[3] == pytest.approx(0.02 * math.exp(-0.1), rel=1e-12)
    assert dw[4] == pytest.approx(0.02 * math.exp(-0.4), rel=1e-12)
    assert dw[1] == pytest.approx(-0.03 * math.exp(-0.2), rel=1e-12)
    assert dw[0] == pytest.approx(-0.03 * math.exp(-0.6), rel=1e-12)


def test_multiplicative_window_scales_with_the_distance_to_the_bounds():
    rule = plasticity.STDP(weight_dependence="multiplicative", w_min=0.0, w_max=2.0)
    _, low = plasticity.measure_window(rule, [-2, 2], w=0.5)
    _, high = plasticity.measure_window(rule, [-2, 2], w=1.5)
    assert high[1] / low[1] == pytest.approx((2 - 1.5) / (2 - 0.5))  # LTP ∝ w_max - w
    assert high[0] / low[0] == pytest.approx(1.5 / 0.5)  # LTD ∝ w - w_min


def _random_drive(rule, steps=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    pre = (torch.rand(steps, 4, 30, generator=g) < 0.1).float()
    post = (torch.rand(steps, 4, 5, generator=g) < 0.1).float()
    weight = torch.rand(5, 30, generator=g) * (rule.w_max - rule.w_min) + rule.w_min
    traces = None
    for t in range(steps):
        weight, traces = rule(weight, pre[t], post[t], traces)
    return weight


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_additive_rule_spreads_to_the_bounds_multiplicative_settles_at_its_fixed_point(seed):
    """Uncorrelated pre/post spikes: additive STDP is a random walk between hard bounds;
    multiplicative STDP drifts to ``w*`` where the mean updates cancel. On the step grid
    ``Σ_k≥0 d+^k = 1/(1-d+)`` (LTP counts Δt = 0) and ``Σ_k≥1 d-^k = d-/(1-d-)``, so with
    τ+ = τ- ``w* = w_min + (w_max - w_min)·A+/(A+ + A-·d-)``."""
    kw = dict(a_plus=0.05, a_minus=0.06, w_min=-0.5, w_max=0.5)
    additive = _random_drive(plasticity.STDP(**kw, weight_dependence="additive"), seed=seed)
    rule = plasticity.STDP(**kw, weight_dependence="multiplicative")
    multiplicative = _random_drive(rule, seed=seed)
    for w in (additive, multiplicative):
        assert w.min() >= -0.5 and w.max() <= 0.5
    at_bounds = lambda w: ((w == -0.5) | (w == 0.5)).float().mean()  # noqa: E731
    assert at_bounds(additive) > 0  # hard bounds are hit
    assert at_bounds(multiplicative) == 0  # soft bounds are approached, never reached
    w_star = -0.5 + 0.05 / (0.05 + 0.06 * rule.decay_minus)
    assert abs(multiplicative.mean() - w_star) < 0.03
    assert multiplicative.std() < 0.6 * additive.std()


def test_batched_update_is_the_sum_of_the_single_updates():
    rule = plasticity.STDP(a_plus=0.01, a_minus=0.01, w_min=-10, w_max=10)
    g = torch.Generator().manual_seed(3)
    pre = (torch.rand(20, 3, 7, generator=g) < 0.3).float()
    post = (torch.rand(20, 3, 4, generator=g) < 0.3).float()
    w0 = torch.zeros(4, 7)
    batched, traces = w0, None
    for t in range(20):
        batched, traces = rule(batched, pre[t], post[t], traces)
    total = torch.zeros(4, 7)
    for b in range(3):
        single, traces = w0, None
        for t in range(20):
            single, traces = rule(single, pre[t, b], post[t, b], traces)
        total += single - w0
    torch.testing.assert_close(batched - w0, total)


def test_run_stdp_with_a_lif_neuron_potentiates_inputs_that_cause_spikes():
    """An input that fires just before the neuron gains weight; one that fires after loses it."""
    pre = torch.zeros(60, 2)
    pre[::10, 0] = 1  # input 0 drives the neuron
    pre[3::10, 1] = 1  # input 1 fires 3 steps after it
    weight = torch.tensor([[1.5, 0.1]])
    rule = plasticity.STDP(a_plus=0.01, a_minus=0.01, w_min=0, w_max=2)
    w, post, mem = plasticity.run_stdp(neurons.LIF(beta=0.5), weight, pre, rule)
    assert post.shape == (60, 1) and mem.shape == (60, 1)
    assert torch.equal(post[:, 0], pre[:, 0])  # it fires in the step of input 0
    assert w[0, 0] > 1.5 and w[0, 1] < 0.1


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(a_plus=-0.1), "a_plus must be in"),
        (dict(tau_minus=0.0), "tau_minus must be in"),
        (dict(dt=-1.0), "dt must be in"),
        (dict(weight_dependence="soft"), "weight_dependence must be one of"),
        (dict(w_min=1.0, w_max=1.0), "w_max must be in"),
    ],
)
def test_bad_parameters_raise_named_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plasticity.STDP(**kwargs)


def test_bad_input_raises_named_errors():
    rule = plasticity.STDP()
    w = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"weight must have shape \(n_post, n_pre\) = \(3, 5\)"):
        rule(w, torch.zeros(5), torch.zeros(3))
    with pytest.raises(ValueError, match="same batch size"):
        rule(w, torch.zeros(2, 4), torch.zeros(3, 3))
    with pytest.raises(TypeError, match="pre_spk must be a floating-point tensor"):
        rule(w, torch.zeros(4, dtype=torch.long), torch.zeros(3))
    with pytest.raises(ValueError, match="lags must be a non-empty 1-D sequence of integers"):
        plasticity.measure_window(rule, [0.5, 1.5])
    with pytest.raises(TypeError, match="rule must be a spikelearn.plasticity.STDP"):
        plasticity.measure_window(object(), [1])


def test_measure_window_and_window_keep_w_inside_the_bounds():
    rule = plasticity.STDP(weight_dependence="multiplicative", w_min=0.0, w_max=1.0)
    with pytest.raises(ValueError, match=r"w must be in \[0, 1\], got 5"):
        plasticity.measure_window(rule, [1], w=5)  # was a window of the wrong sign, silently
    with pytest.raises(ValueError, match=r"w must be in \[0, 1\], got -0.1"):
        plasticity.measure_window(rule, [1], w=-0.1)
    with pytest.raises(ValueError, match=r"w must be in \[0, 1\], got 1.5"):
        rule.window([1.0], w=1.5)
    _, at_bound = plasticity.measure_window(rule, [-1, 1], w=1.0)  # the bounds themselves are fine
    assert at_bound[1] == 0 and at_bound[0] < 0


def test_window_delta_t_must_be_numbers():
    rule = plasticity.STDP()
    with pytest.raises(
        TypeError, match="delta_t must be a number, a sequence of numbers or a tensor, got str 'a'"
    ):
        rule.window("a")
    with pytest.raises(TypeError, match="delta_t must be a number, .*got NoneType None"):
        rule.window(None)
    with pytest.raises(TypeError, match="delta_t must hold real numbers, got dtype torch.bool"):
        rule.window(torch.tensor([True]))
    assert rule.window(3).item() == pytest.approx(0.01 * math.exp(-3 / 20))  # an int is a number


def test_run_stdp_checks_shapes_before_running():
    lif, rule = neurons.LIF(beta=0.5), plasticity.STDP()
    pre = torch.zeros(10, 2)
    with pytest.raises(
        ValueError, match=r"weight must have shape \(n_post, n_pre\) with n_pre = 2 .*got \(1, 3\)"
    ):
        plasticity.run_stdp(lif, torch.ones(1, 3), pre, rule)
    with pytest.raises(ValueError, match=r"weight must have 2 dimensions, got shape \(2,\)"):
        plasticity.run_stdp(lif, torch.ones(2), pre, rule)
    with pytest.raises(ValueError, match=r"pre_seq must have 2 to 3 dimensions, got shape \(10,\)"):
        plasticity.run_stdp(lif, torch.ones(1, 2), torch.zeros(10), rule)
    with pytest.raises(ValueError, match="pre_seq must have at least one time step"):
        plasticity.run_stdp(lif, torch.ones(1, 2), torch.zeros(0, 2), rule)
    with pytest.raises(TypeError, match="weight has dtype torch.float64 but pre_seq torch.float32"):
        plasticity.run_stdp(lif, torch.ones(1, 2, dtype=torch.float64), pre, rule)
    with pytest.raises(TypeError, match="rule must be a spikelearn.plasticity.STDP, got dict"):
        plasticity.run_stdp(lif, torch.ones(1, 2), pre, {})
    with pytest.raises(TypeError, match="neuron must be callable"):
        plasticity.run_stdp("lif", torch.ones(1, 2), pre, rule)
