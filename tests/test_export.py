import warnings

import numpy as np
import pytest
import torch
from torch import nn

from spikelearn.cells.neurons import IF, LIF
from spikelearn.networks.layers import Spiking, TimeFolded

nir = pytest.importorskip("nir")
from spikelearn import export  # noqa: E402


def conv_net():
    torch.manual_seed(0)
    net = nn.Sequential(
        TimeFolded(nn.Conv2d(1, 4, 3, padding=1)),
        Spiking(LIF(0.9)),
        TimeFolded(nn.AvgPool2d(2)),
        TimeFolded(nn.Flatten()),
        TimeFolded(nn.Linear(64, 20)),
        Spiking(LIF(torch.linspace(0.5, 0.95, 20), threshold=0.8, reset_mechanism="zero")),
        TimeFolded(nn.Linear(20, 10, bias=False)),
        Spiking(IF(threshold=0.5)),
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear | nn.Conv2d):
                m.weight.mul_(3)
    return net


@pytest.mark.filterwarnings(
    "ignore::spikelearn.hardware.export.NIRPortabilityWarning"
)  # spikelearn only
def test_round_trip_gives_the_same_spikes(tmp_path):
    net = conv_net()
    x = torch.rand(12, 6, 1, 8, 8)
    with torch.no_grad():
        spk = net(x)
    assert 0 < spk.mean() < 1 and (net[1].mem > 1).any()  # the network is active
    graph = export.to_nir(net, input_shape=(1, 8, 8))
    assert isinstance(graph, nir.NIRGraph)
    kinds = [type(graph.nodes[str(i)]).__name__ for i in range(8)]
    assert kinds == ["Conv2d", "LIF", "AvgPool2d", "Flatten", "Affine", "LIF", "Linear", "IF"]
    path = tmp_path / "net.nir"
    nir.write(path, graph)
    for g in (graph, nir.read(path)):
        net2 = export.from_nir(g)
        with torch.no_grad():
            assert torch.equal(net2(x), spk)
        assert net2[5].neuron.reset_mechanism == "zero_before"
        assert net2[1].neuron.reset_mechanism == "subtract"
        assert torch.equal(net2[5].neuron.beta, net[5].neuron.beta)


@pytest.mark.filterwarnings(
    "ignore::spikelearn.hardware.export.NIRPortabilityWarning"
)  # spikelearn only
def test_lif_follows_nir_and_snntorch_convention():
    # snnTorch's export_nir: tau = dt / (1 - beta), r = tau / dt, v_leak = 0, dt = 1e-4
    graph = export.to_nir(nn.Sequential(TimeFolded(nn.Linear(3, 2)), Spiking(LIF(0.75, 2.0))), (3,))
    lif = graph.nodes["1"]
    assert np.allclose(lif.tau, 1e-4 / 0.25) and np.allclose(lif.r, lif.tau / 1e-4)
    assert np.allclose(lif.v_leak, 0) and np.allclose(lif.v_threshold, 2.0)
    assert lif.tau.shape == (2,)
    # one Euler step of tau·dv/dt = (v_leak - v) + R·I is v + dt/tau·(-v + R·I) = beta·v + I
    v, i, dt = 0.6, 0.3, 1e-4
    assert v + dt / lif.tau[0] * (-v + lif.r[0] * i) == pytest.approx(0.75 * v + i)
    if_node = export.to_nir(nn.Sequential(TimeFolded(nn.Linear(3, 2)), Spiking(IF())), (3,))
    assert np.allclose(if_node.nodes["1"].r * 1e-4, 1)


@pytest.mark.filterwarnings(
    "ignore::spikelearn.hardware.export.NIRPortabilityWarning"
)  # spikelearn only
def test_graph_without_reset_metadata_uses_nir_reset_to_zero():
    w = np.eye(2)
    graph = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2])),
        nir.Affine(weight=w, bias=np.zeros(2)),
        nir.LIF(
            tau=np.full(2, 1e-3), r=np.full(2, 10.0), v_leak=np.zeros(2), v_threshold=np.ones(2)
        ),
        nir.Output(output_type=np.array([2])),
    )
    net = export.from_nir(graph)
    lif = net[1].neuron
    assert lif.reset_mechanism == "zero_before"
    assert lif.beta.item() == pytest.approx(0.9) and lif.threshold.item() == 1.0


@pytest.mark.filterwarnings(
    "ignore::spikelearn.hardware.export.NIRPortabilityWarning"
)  # spikelearn only
def test_unsupported_input_is_rejected():
    with pytest.raises(TypeError, match="MaxPool2d"):
        export.to_nir(nn.Sequential(TimeFolded(nn.MaxPool2d(2))), (1, 4, 4))
    with pytest.raises(TypeError, match="nn.Sequential"):
        export.to_nir(nn.Linear(2, 2), (2,))
    with pytest.raises(ValueError, match="dt"):
        export.to_nir(conv_net(), (1, 8, 8), dt=0)
    graph = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2])),
        nir.LIF(tau=np.ones(2), r=np.ones(2) * 1e4, v_leak=np.ones(2), v_threshold=np.ones(2)),
        nir.Output(output_type=np.array([2])),
    )
    with pytest.raises(ValueError, match="v_leak"):
        export.from_nir(graph)


def _dense_zero_reset_net(per_neuron_beta=False):
    torch.manual_seed(0)
    beta = torch.linspace(0.5, 0.95, 16) if per_neuron_beta else 0.9
    net = nn.Sequential(
        TimeFolded(nn.Linear(6, 16)),
        Spiking(LIF(beta, threshold=0.8, reset_mechanism="zero")),
        TimeFolded(nn.Linear(16, 4, bias=False)),
        Spiking(LIF(0.7, reset_mechanism="zero")),
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(3)
    return net


@pytest.mark.parametrize("per_neuron_beta", [False, True])
def test_snntorch_importer_runs_a_spikelearn_export_with_the_same_spikes(per_neuron_beta):
    # issue 12: the portable subset (dense, zero reset, one threshold per layer) must travel
    import_from_nir = pytest.importorskip("snntorch.import_nir").import_from_nir
    net = _dense_zero_reset_net(per_neuron_beta)
    with warnings.catch_warnings():
        warnings.simplefilter("error", export.NIRPortabilityWarning)  # portable: no warning
        graph = export.to_nir(net, (6,))
    theirs = import_from_nir(graph)
    x = torch.rand(40, 8, 6)
    with torch.no_grad():
        ours = net(x)
        hidden = net[1].mem
        spikes = torch.stack([theirs(x_t)[0] for x_t in x])
    assert torch.equal(ours, spikes.to(ours.dtype))
    assert 0.05 < float((hidden > 0.8).float().mean()) < 0.95  # the hidden layer is busy
    assert 0 < float(ours.mean()) < 1


@pytest.mark.parametrize(
    ("neuron", "match"),
    [
        (LIF(0.9), "resets by 'subtract'"),
        (LIF(0.9, threshold=torch.rand(2) + 0.5, reset_mechanism="zero"), "per-neuron thresholds"),
        (IF(reset_mechanism="zero"), "IF node"),
    ],
)
def test_non_portable_graphs_warn_and_strict_raises(neuron, match):
    net = nn.Sequential(TimeFolded(nn.Linear(3, 2)), Spiking(neuron))
    with pytest.warns(export.NIRPortabilityWarning, match=match):
        export.to_nir(net, (3,))
    with pytest.raises(ValueError, match=match):
        export.to_nir(net, (3,), strict=True)


def test_wrong_input_shape_is_named():
    # issue 12: to_nir(model, (5,)) with the wrong shape raised torch's matmul error
    net = _dense_zero_reset_net()
    with pytest.raises(
        ValueError, match=r"input_shape does not fit Linear.*expected 6 input features.*got 5"
    ):
        export.to_nir(net, (5,))
    with pytest.raises(TypeError, match="input_shape must be a tuple"):
        export.to_nir(net, 6)
