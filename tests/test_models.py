import math

import pytest
import torch
from torch import nn

from spikelearn import adaptive, leak_aware, models, norm, surrogate, walk
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


def test_vgg_layout_and_hidden_layers():
    net = models.spiking_vgg(
        in_channels=3, image_size=8, layout=((4, 4), (8,)), hidden=(16, 12), return_mem=True
    )
    convs = _convs(net)
    assert [c.out_channels for c in convs] == [4, 4, 8]
    assert sum(isinstance(m, nn.AvgPool2d) for m in net.modules()) == 2
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (8 * 2 * 2, 16),
        (16, 12),
        (12, 10),
    ]
    assert sum(isinstance(m, norm.TdBatchNorm) for m in net.modules()) == 5  # 3 convs, 2 linears
    spk, mem = net(torch.rand(2, 3, 3, 8, 8))
    assert spk.shape == mem.shape == (2, 3, 10)


def test_resnet19_layout_has_the_hidden_linear_layer():
    net = models.spiking_resnet(in_channels=3, width=4, blocks=(3, 3, 2), hidden=256)
    blocks = [m for m in net.modules() if isinstance(m, models.SpikingBasicBlock)]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(blocks) == 8 and [(m.in_features, m.out_features) for m in linears] == [
        (16, 256),
        (256, 10),
    ]
    convs3 = [c for c in _convs(net) if c.kernel_size == (3, 3)]
    assert len(convs3) + len(linears) == 19  # ResNet-19: 17 3x3 convolutions and 2 linear layers
    assert net(torch.rand(2, 2, 3, 8, 8)).shape == (2, 2, 10)


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


# ---- SEW residual blocks (Fang et al. 2021) ----------------------------------------------------


def _lif_by_hand(current, beta=0.9, threshold=1.0):
    """LIF with subtract reset, written out: u = β·u + x - r·V_th, o = H(u - V_th)."""
    mem, out = torch.zeros_like(current[0]), []
    for x in current:
        reset = (mem > threshold).float()
        mem = beta * mem + x - reset * threshold
        out.append((mem > threshold).float())
    return torch.stack(out)


def _conv_bn_by_hand(x, conv, bn):
    """conv, then batch norm with statistics over time, batch and space (training mode)."""
    steps, batch = x.shape[:2]
    y = nn.functional.conv2d(x.flatten(0, 1), conv.weight, conv.bias, conv.stride, conv.padding)
    mean = y.mean((0, 2, 3), keepdim=True)
    var = y.var((0, 2, 3), unbiased=False, keepdim=True)
    gain = bn.weight[:, None, None] * bn.gain
    y = (y - mean) / torch.sqrt(var + bn.eps) * gain + bn.bias[:, None, None]
    return y.reshape(steps, batch, *y.shape[1:])


@pytest.mark.parametrize("connection", ["add", "and", "iand"])
@pytest.mark.parametrize("stride", [1, 2])
def test_sew_block_against_an_implementation_written_here(connection, stride):
    torch.manual_seed(1)
    cin, cout = 3, 3 if stride == 1 else 5
    block = models.SEWBlock(cin, cout, stride, connection=connection, norm="tdbn")
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.normal_(0, 0.6)
    s = (torch.rand(4, 2, cin, 6, 6) < 0.4).float()
    conv1, bn1, _, conv2, bn2, _ = [walk.inner(m) for m in block.branch]
    a = _lif_by_hand(_conv_bn_by_hand(_lif_by_hand(_conv_bn_by_hand(s, conv1, bn1)), conv2, bn2))
    if stride == 1 and cin == cout:
        shortcut = s
    else:
        conv, bn = walk.inner(block.shortcut[0]), block.shortcut[1]
        shortcut = _lif_by_hand(_conv_bn_by_hand(s, conv, bn))
    a_on, s_on = a.bool(), shortcut.bool()
    expected = {
        "add": a + shortcut,  # counts
        "and": (a_on & s_on).float(),
        "iand": (~a_on & s_on).float(),
    }[connection]
    out = block(s)
    torch.testing.assert_close(out, expected)
    assert out.shape == (4, 2, cout, 6 // stride, 6 // stride)
    assert set(out.unique().tolist()) <= ({0.0, 1.0, 2.0} if connection == "add" else {0.0, 1.0})
    assert 0 < float(a.mean()) < 1 and 0 < float(shortcut.mean()) < 1  # both sides do fire


def _silenced(block):
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
    return block


def test_a_silent_sew_stack_is_the_identity_and_a_silent_basic_stack_is_not():
    torch.manual_seed(0)
    s = (torch.rand(6, 3, 4, 5, 5) < 0.3).float()
    for connection in ("add", "iand"):  # a = 0, so g(0, s) = s, however deep
        stack = nn.Sequential(
            *(_silenced(models.SEWBlock(4, 4, connection=connection)) for _ in range(8))
        )
        assert torch.equal(stack(s), s)
    silent_and = _silenced(models.SEWBlock(4, 4, connection="and"))
    assert torch.equal(silent_and(s), torch.zeros_like(s))  # AND's identity would need a = 1
    basic = _silenced(models.SpikingBasicBlock(4, 4))  # o = LIF(0 + s), not s
    with torch.no_grad():
        out = basic(s)
    assert not torch.equal(out, s)
    # a lone input spike leaves u = V_th, and H(u - V_th) = 0: the first spike never passes
    assert float(out[0].sum()) == 0 and float(s[0].sum()) > 0


def test_spiking_resnet_builds_sew_blocks():
    net = models.spiking_resnet(width=4, depth=14, block="sew", connection="iand")
    sew = [m for m in net.modules() if isinstance(m, models.SEWBlock)]
    assert len(sew) == 6 and all(b.connection == "iand" for b in sew)
    assert not any(isinstance(m, models.SpikingBasicBlock) for m in net.modules())
    assert [isinstance(b.shortcut, nn.Identity) for b in sew] == [
        True,
        True,
        False,
        True,
        False,
        True,
    ]
    assert net(torch.rand(2, 3, 1, 8, 8)).shape == (2, 3, 10)
    with pytest.raises(ValueError, match="block must be one of 'basic', 'sew', got 'dense'"):
        models.spiking_resnet(block="dense")
    with pytest.raises(
        ValueError, match="connection must be one of 'add', 'and', 'iand', got 'or'"
    ):
        models.SEWBlock(4, 4, connection="or")
    with pytest.raises(ValueError, match="hidden"):
        models.spiking_resnet(width=4, blocks=(1,), hidden=(8, 0))
    with pytest.raises(TypeError, match="layout"):
        models.spiking_vgg(layout=((4, 4.5),))


# ---- SEW-ResNet's chain for event data (Fang et al. 2021, Wide-7B-Net) -------------------------


def _plif_by_hand(current, w, threshold=1.0):
    """PLIF with hard reset, written out: u = u·(1 - r), u = u + k·(x - u), k = sigmoid(w)."""
    k = torch.sigmoid(w)
    mem, out = torch.zeros_like(current[0]), []
    for x in current:
        mem = mem * (mem <= threshold).float()  # fired last step: start again from 0
        mem = mem + k * (x - mem)
        out.append((mem > threshold).float())
    return torch.stack(out)


def _sew_chain_by_hand(x, net, blocks):
    """The chain from its weights only: per stage a 1x1 up-projection (if the channels change),
    then per block two conv-BN-PLIF and s + a, 2x2 max pooling while the image is >= 2; the mean
    over time; the linear classifier."""
    convs = iter(_convs(net))
    bns = iter(m for m in net.modules() if isinstance(m, norm.BatchNormThroughTime))
    ws = iter(m.w for m in net.modules() if isinstance(m, adaptive.PLIF))

    def layer(s):
        return _plif_by_hand(_conv_bn_by_hand(s, next(convs), next(bns)), next(ws))

    s = x
    for stage, n in enumerate(blocks):
        if s.shape[2] != 3 * 2**stage:
            s = layer(s)
        for _ in range(n):
            s = s + layer(layer(s))
            if s.shape[-1] >= 2:
                pooled = nn.functional.max_pool2d(s.flatten(0, 1), 2)
                s = pooled.reshape(*s.shape[:2], *pooled.shape[1:])
    linear = [m for m in net.modules() if isinstance(m, nn.Linear)][-1]
    return nn.functional.linear(s.flatten(2).mean(0), linear.weight, linear.bias)


@pytest.mark.parametrize("image_size", [8, 4])  # 4: the last block's pooling is skipped at 1x1
def test_sew_chain_against_an_implementation_written_here(image_size):
    torch.manual_seed(2)
    blocks = (2, 1)
    net = models.sew_chain(2, 5, width=3, blocks=blocks, image_size=image_size)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.normal_(0, 0.8)
            if isinstance(m, norm.BatchNormThroughTime):
                m.weight.uniform_(1.5, 2.5)
                m.bias.uniform_(0.0, 0.5)
            if isinstance(m, adaptive.PLIF):
                m.w.uniform_(-1, 1)  # each layer its own learned time constant
    x = (torch.rand(4, 3, 2, image_size, image_size) < 0.4).float()
    seen = []  # each block's branch spikes a
    for m in net.modules():
        if isinstance(m, models.SEWBlock):
            m.branch.register_forward_hook(lambda m, a, o: seen.append(float(o.detach().mean())))
    out = net(x)
    torch.testing.assert_close(out, _sew_chain_by_hand(x, net, blocks))
    assert out.shape == (3, 5)  # logits of the mean over time
    assert len(seen) == 3 and all(0 < a < 1 for a in seen), seen  # every branch fires, not always
    assert sum(isinstance(walk.inner(m), nn.MaxPool2d) for m in net) == (
        3 if image_size == 8 else 2
    )


def test_sew_chain_default_is_the_wide_7b_net():
    net = models.sew_chain()
    sew = [m for m in net.modules() if isinstance(m, models.SEWBlock)]
    assert len(sew) == 7 and all(isinstance(b.shortcut, nn.Identity) for b in sew)
    assert all(b.connection == "add" for b in sew)
    up = [c for c in _convs(net) if c.kernel_size == (1, 1)]
    assert [(c.in_channels, c.out_channels) for c in up] == [(2, 64), (64, 128)]
    assert sum(isinstance(walk.inner(m), nn.MaxPool2d) for m in net) == 7  # 128x128 -> 1x1
    cells = [m.neuron for m in net.modules() if isinstance(m, Spiking)]
    assert len(cells) == 16 and all(type(c) is adaptive.PLIF for c in cells)
    assert all(
        float(c.tau) == pytest.approx(2.0) and c.reset_mechanism == "zero_before" for c in cells
    )
    (linear,) = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert (linear.in_features, linear.out_features) == (128, 10)
    spk = net(torch.zeros(2, 1, 2, 128, 128))
    assert spk.shape == (1, 10)


def test_sew_chain_spiking_readout_and_bad_arguments():
    net = models.sew_chain(
        1, 4, width=2, blocks=(1,), image_size=4, readout="spikes", return_mem=True
    )
    spk, mem = net(torch.rand(3, 2, 1, 4, 4))
    assert spk.shape == mem.shape == (3, 2, 4)
    with pytest.raises(ValueError, match="return_mem=True needs readout='spikes'"):
        models.sew_chain(return_mem=True)
    with pytest.raises(ValueError, match="readout must be one of 'mean', 'spikes', got 'last'"):
        models.sew_chain(readout="last")
    with pytest.raises(ValueError, match="blocks must be an integer >= 1, got 0"):
        models.sew_chain(blocks=(4, 0))
    with pytest.raises(TypeError, match="image_size must be an integer"):
        models.sew_chain(image_size=12.5)
    with pytest.raises(ValueError, match="x_seq must have at least one time step"):
        models.MeanOverTime()(torch.zeros(0, 2, 3))
