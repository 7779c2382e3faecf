import math

import pytest
import torch
from torch import nn

from spikelearn import leak_aware, models, norm, surrogate
from spikelearn.cells.neurons import LIF
from spikelearn.networks.layers import Spiking


def test_mlp_shapes_depth_and_norm():
    net = models.spiking_mlp(64, num_classes=10, hidden=32, depth=5, norm="bn")
    out = net(torch.rand(3, 7, 1, 8, 8))
    assert out.shape == (3, 7, 10)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert sum(isinstance(m, nn.Linear) for m in net.modules()) == 5
    assert sum(isinstance(m, norm.BatchNormThroughTime) for m in net.modules()) == 4
    assert sum(isinstance(m, Spiking) for m in net.modules()) == 5


def test_neuron_parameters_reach_every_layer():
    grad = surrogate.rectangle(width=1.0)
    net = models.spiking_vgg(width=4, depth=2, beta=0.5, threshold=0.7, spike_grad=grad)
    cells = [m.neuron for m in net.modules() if isinstance(m, Spiking)]
    assert len(cells) == 3
    assert all(isinstance(c, LIF) and c.spike_grad is grad for c in cells)
    assert all(float(c.beta) == 0.5 and float(c.threshold) == pytest.approx(0.7) for c in cells)
    tdbn = [m for m in net.modules() if isinstance(m, norm.TdBatchNorm)]
    assert len(tdbn) == 2 and all(m.threshold == pytest.approx(0.7) for m in tdbn)


def test_vgg_and_return_mem():
    net = models.spiking_vgg(in_channels=3, width=4, depth=4, image_size=8, return_mem=True)
    spk, mem = net(torch.rand(2, 5, 3, 8, 8))
    assert spk.shape == mem.shape == (2, 5, 10)


def _convs(module):
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def test_resnet20_layout():
    net = models.spiking_resnet(width=4, depth=20)
    blocks = [m for m in net.modules() if isinstance(m, models.SpikingBasicBlock)]
    assert len(blocks) == 9
    convs3 = [c for c in _convs(net) if c.kernel_size == (3, 3)]
    assert len(convs3) + sum(isinstance(m, nn.Linear) for m in net.modules()) == 20
    assert [c.out_channels for c in convs3[::6]] == [4, 4, 8, 16]
    assert net(torch.rand(2, 3, 1, 8, 8)).shape == (2, 3, 10)


def test_residual_block_is_tdbn_layout():
    torch.manual_seed(0)
    block = models.SpikingBasicBlock(4, 8, stride=2, norm="tdbn")
    norms = [m for m in block.branch if isinstance(m, norm.TdBatchNorm)]
    assert [m.alpha for m in norms] == [1.0, pytest.approx(1 / math.sqrt(2))]
    assert block.shortcut[1].alpha == pytest.approx(1 / math.sqrt(2))
    assert block.shortcut[0].module.stride == (2, 2) and block.shortcut[0].module.kernel_size == (
        1,
        1,
    )
    # the neuron comes after the addition: its input is exactly branch(x) + shortcut(x)
    x = (torch.rand(3, 2, 4, 6, 6) < 0.3).float()
    seen = {}
    block.neuron.register_forward_hook(lambda m, a, o: seen.setdefault("in", a[0]))
    out = block(x)
    torch.testing.assert_close(seen["in"], block.branch(x) + block.shortcut(x))
    assert out.shape == (3, 2, 8, 3, 3)
    same = models.SpikingBasicBlock(4, 4, stride=1, norm="none")
    assert isinstance(same.shortcut, nn.Identity)


def test_resnet_blocks_override_and_folding_keeps_outputs():
    torch.manual_seed(0)
    net = models.spiking_resnet(width=4, blocks=(1, 1), return_mem=True)
    x = torch.rand(2, 4, 1, 8, 8)
    for _ in range(3):
        net(x)  # gather running statistics
    net.eval()
    spk, mem = net(x)
    norm.fold_batchnorm(net)
    assert not any(isinstance(m, norm.BatchNormThroughTime) for m in net.modules())
    spk2, mem2 = net(x)
    torch.testing.assert_close(mem2, mem, rtol=1e-4, atol=1e-4)
    assert torch.equal(spk2, spk)


def test_leak_aware_option_trains_end_to_end():
    torch.manual_seed(0)
    net = models.spiking_mlp(4, num_classes=2, hidden=8, depth=2, neuron="leak_aware", beta=0.99)
    cells = [m.neuron for m in net.modules() if isinstance(m, Spiking)]
    # hidden layers use Lee et al.'s derivative; the output layer's membrane is read out by a LIF
    assert isinstance(cells[0], leak_aware.LeakAwareLIF) and isinstance(cells[-1], LIF)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                m.weight.uniform_(0.2, 1.0)  # every neuron fires, so every one passes gradient
    out = net(torch.rand(10, 3, 4) * 2)
    assert bool((out.sum(0) > 0).all())
    out.sum().backward()
    assert net[1].module.weight.grad is not None and bool(net[1].module.weight.grad.abs().sum() > 0)


def test_bad_input():
    with pytest.raises(ValueError, match="norm"):
        models.spiking_mlp(4, norm="layer")
    with pytest.raises(ValueError, match="depth must be 6n"):
        models.spiking_resnet(depth=21)
    with pytest.raises(ValueError, match="beta"):
        models.spiking_mlp(4, beta=1.5)
    with pytest.raises(ValueError, match="neuron"):
        models.spiking_vgg(neuron="izhikevich")
    with pytest.raises(ValueError, match="cin"):
        models.SpikingBasicBlock(0, 4)
    with pytest.raises(TypeError, match="hidden"):
        models.spiking_mlp(4, hidden=2.5)
