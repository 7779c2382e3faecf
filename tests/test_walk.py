"""The one model walker: kinds from one table, wrappers looked through, blocks entered."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from spikelearn import conversion, models, neurons, norm, recurrent, walk
from spikelearn.networks.layers import Spiking, TimeFolded


def test_kinds_come_from_one_table_and_spikelearn_layers_say_their_own():
    assert walk.kind(nn.Conv2d(1, 1, 1)) == "synapse"
    assert walk.kind(nn.BatchNorm2d(3)) == walk.kind(norm.TdBatchNorm(3)) == "norm"
    assert walk.kind(nn.ReLU()) == "activation" and walk.kind(nn.Flatten()) == "stateless"
    assert walk.kind(neurons.Synaptic(0.5, 0.9)) == "neuron"
    assert walk.kind(nn.GRU(2, 2)) is None and walk.kind(nn.Sequential()) is None
    lin = nn.Linear(3, 3)
    parametrize.register_parametrization(lin, "weight", nn.Identity())
    assert type(lin) is not nn.Linear and walk.kind(lin) == "synapse"  # a parametrized Linear


def test_walk_looks_through_wrappers_and_enters_blocks_but_not_neurons():
    lin, rlif = nn.Linear(3, 4), recurrent.RLIF(0.9, linear_features=4)
    net = nn.Sequential(TimeFolded(lin), Spiking(rlif), nn.Sequential(nn.GRU(4, 4)))
    sites = walk.walk(net)
    assert [(s.name, s.layer, s.kind) for s in sites] == [
        ("0", lin, "synapse"),
        ("1", rlif, "neuron"),
        ("2.0", net[2][0], None),
    ]  # the RLIF's own feedback Linear belongs to the neuron: not listed
    assert sites[1].wrapper is net[1] and sites[2].parent is net[2]
    new = neurons.LIF(0.5)
    walk.replace(sites[1], new)
    assert net[1].neuron is new
    resnet = models.spiking_resnet(in_channels=1, num_classes=3, width=4, blocks=(1,), norm="tdbn")
    kinds = {s.kind for s in walk.walk(resnet)}
    assert {"synapse", "norm", "neuron"} <= kinds and None not in kinds


def test_require_and_chain_check_the_exact_type():
    pre = conversion.PrechargedIF()  # a subclass of IF with another initial state
    net = nn.Sequential(TimeFolded(nn.Linear(2, 2)), Spiking(pre))
    with pytest.raises(TypeError, match="export supports Linear, IF; got PrechargedIF at '1'"):
        walk.chain(net, (nn.Linear, neurons.IF), "export")
    with pytest.raises(TypeError, match="layers must be TimeFolded or Spiking, got ReLU"):
        walk.chain(nn.Sequential(nn.ReLU()), (nn.ReLU,), "x")
    with pytest.raises(TypeError, match="model must be an nn.Sequential, got Linear"):
        walk.chain(nn.Linear(2, 2), (nn.Linear,), "x")
    assert [s.layer for s in walk.chain(net, (nn.Linear, conversion.PrechargedIF), "x")] == [
        net[0].module,
        pre,
    ]
    assert torch.is_tensor(pre.threshold)
