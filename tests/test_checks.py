"""The shared input checks: each error names the parameter, the value and what was expected."""

import pytest
import torch

from spikelearn import _checks


def test_range_accepts_bounds_and_rejects_outside():
    assert _checks.check_range("p", 0.0, 0, 1) == 0.0
    assert _checks.check_range("p", 1, 0, 1) == 1
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1"):
        _checks.check_range("p", 1, 0, 1, high_open=True)
    with pytest.raises(ValueError, match=r"p must be in \(-inf, 2\], got 2.5"):
        _checks.check_range("p", 2.5, high=2)


def test_probability_tensor_reports_min_and_max():
    with pytest.raises(ValueError, match=r"min -0.5, max 0.5"):
        _checks.check_probability("p", torch.tensor([-0.5, 0.5]))


def test_int_and_choice():
    assert _checks.check_int("bits", 4, low=1) == 4
    with pytest.raises(TypeError, match="bits must be an integer, got float 4.0"):
        _checks.check_int("bits", 4.0)
    with pytest.raises(TypeError, match="bits must be an integer, got bool"):
        _checks.check_int("bits", True)
    with pytest.raises(ValueError, match="bits must be an integer >= 1, got 0"):
        _checks.check_int("bits", 0, low=1)
    with pytest.raises(ValueError, match="code must be one of 'rate', 'latency', got 'x'"):
        _checks.check_choice("code", "x", ("rate", "latency"))


def test_tensor_rank_dtype_and_finiteness():
    x = torch.zeros(2, 3)
    assert _checks.check_tensor("x", x, min_dim=2, max_dim=2) is x
    with pytest.raises(
        ValueError, match=r"x must have 3 dimensions, got shape \(2, 3\) \(2 dims\)"
    ):
        _checks.check_tensor("x", x, min_dim=3, max_dim=3)
    with pytest.raises(ValueError, match=r"x must have 1 to 1 dimensions|x must have 1 dimensions"):
        _checks.check_tensor("x", x, min_dim=1, max_dim=1)
    with pytest.raises(ValueError, match="x must be finite, got a tensor containing inf"):
        _checks.check_tensor("x", torch.tensor([float("inf")]))
    assert _checks.check_tensor("x", torch.tensor([float("nan")]), finite=False).isnan().all()
