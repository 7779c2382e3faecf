"""Surrogate gradients: Heaviside forward, the analytic derivative backward, snnTorch's where shared."""

import math

import pytest
import snntorch as snn
import torch

from spikelearn import surrogate

X = torch.linspace(-2, 2, 401, dtype=torch.float64)

ANALYTIC = {
    "fast_sigmoid": (surrogate.fast_sigmoid(slope=10), lambda x: 1 / (10 * x.abs() + 1) ** 2),
    "atan": (
        surrogate.atan(alpha=3.0),
        lambda x: 1.5 / (1 + (math.pi / 2 * 3.0 * x) ** 2),
    ),
    "sigmoid": (
        surrogate.sigmoid(slope=5),
        lambda x: 5 * torch.exp(-5 * x) / (1 + torch.exp(-5 * x)) ** 2,
    ),
    "triangle": (surrogate.triangle(width=0.5), lambda x: (1 - x.abs() / 0.5).clamp(min=0) / 0.5),
    "rectangle": (surrogate.rectangle(width=0.8), lambda x: (x.abs() < 0.4).double() / 0.8),
    "straight_through": (surrogate.straight_through(), lambda x: torch.ones_like(x)),
    "heaviside": (surrogate.heaviside(), lambda x: torch.zeros_like(x)),
}


@pytest.mark.parametrize("name", ANALYTIC)
def test_forward_is_heaviside(name):
    sg, _ = ANALYTIC[name]
    assert torch.equal(sg(X), (X > 0).double())
    assert sg(torch.zeros(1)).item() == 0.0  # strictly greater, as in snnTorch


@pytest.mark.parametrize("name", ANALYTIC)
@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_backward_equals_analytic_derivative(name, scale):
    sg, deriv = ANALYTIC[name]
    sg = type(sg)(**{**sg._params(), "scale": scale})
    x = X.clone().requires_grad_()
    g = torch.linspace(0.5, 1.5, X.numel(), dtype=torch.float64)
    sg(x).backward(g)
    torch.testing.assert_close(x.grad, scale * deriv(X) * g)
    torch.testing.assert_close(sg.derivative(X), scale * deriv(X))


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (surrogate.fast_sigmoid(slope=25), snn.surrogate.fast_sigmoid(slope=25)),
        (surrogate.fast_sigmoid(slope=3), snn.surrogate.fast_sigmoid(slope=3)),
        (surrogate.atan(alpha=2.0), snn.surrogate.atan(alpha=2.0)),
        (surrogate.atan(alpha=0.7), snn.surrogate.atan(alpha=0.7)),
        (surrogate.sigmoid(slope=25), snn.surrogate.sigmoid(slope=25)),
        (surrogate.straight_through(), snn.surrogate.straight_through_estimator()),
    ],
)
def test_matches_snntorch(ours, theirs):
    x = torch.linspace(-1, 1, 201, requires_grad=True)
    y = x.detach().clone().requires_grad_()
    ours(x).sum().backward()
    theirs(y).sum().backward()
    assert torch.equal(ours(x), theirs(y))
    torch.testing.assert_close(x.grad, y.grad)


def test_usable_as_snntorch_spike_grad():
    torch.manual_seed(0)
    lif = snn.Leaky(beta=0.9, spike_grad=surrogate.triangle(width=1.0))
    x = torch.rand(3, 5, requires_grad=True) * 2
    x.retain_grad()
    spk, mem = lif(x)
    spk.sum().backward()
    expected = surrogate.triangle(width=1.0).derivative(mem.detach() - 1.0)
    torch.testing.assert_close(x.grad, expected)


def test_peaks():
    assert surrogate.atan(alpha=2).peak == pytest.approx(1.0)
    assert surrogate.fast_sigmoid(slope=25).peak == pytest.approx(1.0)
    assert surrogate.sigmoid(slope=4).peak == pytest.approx(1.0)
    assert surrogate.rectangle(width=0.5, scale=2).peak == pytest.approx(4.0)
    assert surrogate.triangle(width=2).peak == pytest.approx(0.5)


@pytest.mark.parametrize("cls", [surrogate.Triangle, surrogate.Rectangle])
def test_unit_area(cls):
    x = torch.linspace(-3, 3, 600001, dtype=torch.float64)
    area = torch.trapezoid(cls(width=0.7).derivative(x), x)
    assert area.item() == pytest.approx(1.0, abs=1e-4)


def test_repr_names_parameters():
    assert repr(surrogate.fast_sigmoid(slope=25)) == "FastSigmoid(slope=25)"
    assert repr(surrogate.atan(alpha=2, scale=0.5)) == "ATan(alpha=2, scale=0.5)"


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: surrogate.fast_sigmoid(slope=0), r"slope must be in \(0, inf\), got 0"),
        (lambda: surrogate.atan(alpha=-2), r"alpha must be in \(0, inf\), got -2"),
        (lambda: surrogate.rectangle(width=float("nan")), r"width must be in \(0, inf\), got nan"),
        (lambda: surrogate.triangle(scale=-1), r"scale must be in \(0, inf\), got -1"),
    ],
)
def test_bad_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --- height/width parameterisation and Lee et al.'s leak-aware derivative -------------------


@pytest.mark.parametrize("name", ["rectangle", "triangle", "atan", "fast_sigmoid", "sigmoid"])
def test_from_height_width(name):
    s = surrogate.from_height_width(name, height=2.5, width=0.4)
    x = torch.linspace(-3, 3, 600001, dtype=torch.float64)
    d = s.derivative(x)
    above = x[d >= s.peak / 2 - 1e-9]
    assert s.peak == pytest.approx(2.5)
    assert float(above.max() - above.min()) == pytest.approx(0.4, abs=1e-4)


def test_from_height_width_recovers_the_library_defaults():
    assert surrogate.from_height_width("atan", 1.0, 2 / math.pi).alpha == pytest.approx(2.0)
    rect = surrogate.from_height_width("rectangle", 1.0, 1.0)
    assert (rect.width, rect.scale) == (1.0, 1.0)
    with pytest.raises(ValueError, match="name"):
        surrogate.from_height_width("gauss")
    with pytest.raises(ValueError, match="height"):
        surrogate.from_height_width("atan", height=0)
