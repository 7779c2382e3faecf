"""spikelearn.integer: the integer-only network's spikes equal the fake-quantised model's."""

import pytest
import torch
from torch import nn

from spikelearn import integer
from spikelearn.cells.neurons import IF, LIF
from spikelearn.networks.layers import Spiking, TimeFolded


def small_net(reset="subtract"):
    torch.manual_seed(0)
    net = nn.Sequential(
        TimeFolded(nn.Conv2d(1, 4, 3, padding=1)),
        Spiking(LIF(0.9, reset_mechanism=reset)),
        TimeFolded(nn.MaxPool2d(2)),
        TimeFolded(nn.Flatten()),
        TimeFolded(nn.Linear(64, 20)),
        Spiking(LIF(0.8, reset_mechanism="zero")),
        TimeFolded(nn.Linear(20, 10)),
        Spiking(IF(threshold=0.5)),
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.mul_(3)
    return net


@pytest.mark.parametrize("reset, weight_bits, mem_bits", [("subtract", 8, 16), ("zero", 4, 10)])
def test_integer_path_spikes_equal_fake_quantised_model(reset, weight_bits, mem_bits):
    net = small_net(reset)
    x = torch.randint(0, 17, (16, 1, 8, 8)).float() / 16  # digits: multiples of 1/16
    x_seq = x[None].expand(10, *x.shape)
    qnet = integer.prepare_integer(
        net, weight_bits=weight_bits, input_step=1 / 16, mem_bits=mem_bits
    )
    inet = integer.to_integer(qnet, input_step=1 / 16)
    x_int = integer.integer_input(x_seq, 1 / 16)
    with torch.no_grad():
        spk_float = qnet(x_seq)
    spk_int = inet(x_int)
    assert spk_int.dtype == torch.int64
    assert all(b.dtype == torch.int64 for b in inet.buffers())
    assert torch.equal(spk_float.long(), spk_int)
    lifs = [m for m in inet.modules() if isinstance(m, integer.IntegerLIF)]
    assert len(lifs) == 3 and all(lif.exact_in_float32 for lif in lifs)
    # every layer is active, so the comparison is not trivially between silent networks
    for layer in (qnet[1], qnet[5], qnet[7]):
        assert 0 < layer.mem.numel() and (layer.mem > 0).any()
    assert 0 < spk_int.float().mean() < 1


def test_integer_path_rejects_unprepared_or_unsupported_models():
    with pytest.raises(ValueError, match="prepare_integer"):
        integer.to_integer(small_net())
    bn = nn.Sequential(TimeFolded(nn.Linear(3, 3)), TimeFolded(nn.BatchNorm1d(3)))
    with pytest.raises(TypeError, match="BatchNorm1d"):
        integer.prepare_integer(bn)
    with pytest.raises(ValueError, match="power of two"):
        integer.prepare_integer(small_net(), input_step=0.1)
    with pytest.raises(TypeError, match="nn.Sequential"):
        integer.prepare_integer(nn.Linear(3, 3))


def test_integer_network_folds_time_with_layers_time_folded():
    # issue 12: quant._Folded and IntegerSynapse's own re-fold duplicated layers.TimeFolded
    qnet = integer.prepare_integer(small_net())
    inet = integer.to_integer(qnet)
    folded = [m for m in inet if not isinstance(m, Spiking)]
    assert folded and all(type(m) is TimeFolded for m in folded)
    assert all(type(m.neuron) is integer.IntegerLIF for m in inet if isinstance(m, Spiking))
