import pytest
import torch
from torch import nn

from spikelearn import cost
from spikelearn.cells.neurons import LIF
from spikelearn.networks.layers import Spiking, TimeFolded


def test_linear_sops_are_spikes_times_fan_out():
    torch.manual_seed(0)
    net = nn.Sequential(TimeFolded(nn.Linear(20, 7)), Spiking(LIF(0.9)))
    spikes = (torch.rand(5, 3, 20) < 0.3).float()
    (row,) = cost.synaptic_operations(net, spikes)
    assert not row["analog_input"]
    assert row["input_events"] == spikes.sum().item() / 3
    assert row["sops"] == spikes.sum().item() * 7 / 3
    assert row["snn_macs"] == 0 and row["ann_macs"] == 20 * 7


def test_conv_sops_count_border_connections_exactly():
    net = nn.Sequential(TimeFolded(nn.Conv2d(1, 5, 3, padding=1)), Spiking(LIF(0.9)))
    x = torch.zeros(1, 1, 1, 6, 6)
    x[..., 2, 2] = 1  # an inner spike reaches 3x3 output positions in each of 5 channels
    assert cost.synaptic_operations(net, x)[0]["sops"] == 5 * 9
    x = torch.zeros(1, 1, 1, 6, 6)
    x[..., 0, 0] = 1  # a corner spike reaches only 2x2 of them
    assert cost.synaptic_operations(net, x)[0]["sops"] == 5 * 4
    assert cost.synaptic_operations(net, x)[0]["ann_macs"] == 5 * 36 * 9


def test_analog_first_layer_costs_dense_macs_every_step_and_energy_adds_up():
    torch.manual_seed(0)
    net = nn.Sequential(
        TimeFolded(nn.Linear(16, 32)),
        Spiking(LIF(0.9)),
        TimeFolded(nn.Linear(32, 4)),
        Spiking(LIF(0.9)),
    )
    x = torch.rand(2, 16).mul(3).expand(6, 2, 16)  # direct encoding: the same input each step
    rep = cost.energy_estimate(net, x)
    first, second = rep["layers"]
    assert first["analog_input"] and first["snn_macs"] == 6 * 16 * 32 and first["sops"] == 0
    hidden = net[1].mem > net[1].neuron.threshold  # the hidden layer's spikes
    assert second["sops"] == hidden.sum().item() * 4 / 2
    assert rep["ann_macs"] == 16 * 32 + 32 * 4
    assert rep["energy_snn_pj"] == pytest.approx(4.6 * rep["snn_macs"] + 0.9 * rep["sops"])
    assert rep["energy_ann_pj"] == pytest.approx(4.6 * rep["ann_macs"])
    assert rep["spikes_per_neuron"]["1"] == pytest.approx(hidden.sum().item() / (2 * 32))
    assert "Horowitz" in rep["assumptions"] and "4.6 pJ" in rep["assumptions"]
    once = cost.energy_estimate(net, x, static_input=True)
    assert once["layers"][0]["snn_macs"] == 16 * 32 and once["sops"] == rep["sops"]
    assert "once, reused" in once["assumptions"] and "every one of the T" in rep["assumptions"]
    varying = cost.energy_estimate(net, torch.rand(6, 2, 16), static_input=True)
    assert varying["layers"][0]["snn_macs"] == 6 * 16 * 32  # inputs change: T passes
    text = cost.format_cost(rep)
    assert "assumptions:" in text and f"{rep['energy_snn_pj'] / 1e3:.2f} nJ" in text


def test_custom_energies_are_stated_and_bad_ones_rejected():
    net = nn.Sequential(TimeFolded(nn.Linear(4, 2)), Spiking(LIF(0.9)))
    x = (torch.rand(3, 2, 4) < 0.5).float()
    rep = cost.energy_estimate(net, x, e_mac=3.1, e_ac=0.1)
    assert rep["energy_snn_pj"] == pytest.approx(0.1 * rep["sops"])
    assert "3.1 pJ per MAC, 0.1 pJ per AC" in rep["assumptions"]
    assert "Horowitz" not in rep["assumptions"]
    with pytest.raises(ValueError, match="e_ac"):
        cost.energy_estimate(net, x, e_ac=-1)
    with pytest.raises(ValueError, match="no Linear/Conv"):
        cost.synaptic_operations(nn.Sequential(Spiking(LIF(0.9))), x)
