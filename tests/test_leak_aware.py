"""spikelearn.leak_aware: Lee et al. 2020's neuron against the paper's formula."""

import math

import pytest
import torch

from spikelearn import leak_aware
from spikelearn.cells.neurons import LIF


def _lee_by_spike_times(spikes, tau_m, threshold):
    """The paper's form: (1/V_th)(1 + (1/γ)·Σ_k (-1/τ_m)·exp(-(T - t_k)/τ_m)), per neuron."""
    steps = len(spikes)
    times = [t + 1 for t in range(steps) if spikes[t] > 0]
    if not times:
        return 0.0
    eps = sum(-1 / tau_m * math.exp(-(steps - tk) / tau_m) for tk in times) / len(times)
    return (1 + eps) / threshold


def test_leak_aware_derivative_matches_the_formula():
    torch.manual_seed(0)
    spikes = (torch.rand(12, 3, 5) < 0.3).float()
    spikes[:, 0, 0] = 0  # a silent neuron: derivative 0
    tau_m, threshold = 7.0, 0.8
    d = leak_aware.leak_aware_derivative(spikes, math.exp(-1 / tau_m), threshold)
    expected = torch.tensor(
        [
            [_lee_by_spike_times(spikes[:, b, n], tau_m, threshold) for n in range(5)]
            for b in range(3)
        ]
    )
    torch.testing.assert_close(d, expected)
    assert d[0, 0] == 0


def test_leak_aware_lif_forward_is_a_hard_reset_lif_and_backward_is_lee():
    torch.manual_seed(1)
    x = (torch.rand(10, 4, 6) * 0.9).requires_grad_()
    cell = leak_aware.LeakAwareLIF(beta=0.9, threshold=1.0)
    spk, mem = cell.multi_step(x)
    ref_spk, ref_mem = LIF(beta=0.9, threshold=1.0, reset_mechanism="zero").multi_step(x.detach())
    torch.testing.assert_close(spk, ref_spk)
    torch.testing.assert_close(mem, ref_mem)
    weights = torch.randn_like(spk)
    (spk * weights).sum().backward()
    d = leak_aware.leak_aware_derivative(spk.detach(), 0.9, 1.0)
    expected = (d * weights.sum(0)).expand_as(x)  # the same gradient reaches every step
    torch.testing.assert_close(x.grad, expected)


def test_leak_aware_bad_parameters():
    with pytest.raises(ValueError, match="beta"):
        leak_aware.LeakAwareLIF(beta=0.0)
    with pytest.raises(ValueError, match="threshold"):
        leak_aware.leak_aware_derivative(torch.zeros(3, 2), 0.9, threshold=-1)


def test_leak_aware_zero_steps_raise_a_named_error():
    with pytest.raises(ValueError, match="at least one time step"):
        leak_aware.LeakAwareLIF().multi_step(torch.zeros(0, 2, 3))
