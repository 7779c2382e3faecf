"""The recipes' table: each paper's network from the library's builders, as the paper lays it out."""

import pytest
import torch
from torch import nn

from spikelearn import adaptive, layers, leak_aware, models, norm, surrogate, walk
from spikelearn.recipes import catalog


def weight_layers(net):
    convs = sum(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) for m in net.modules())
    return convs + sum(isinstance(m, nn.Linear) for m in net.modules())


def test_resnet19_is_tdbns_layout():
    net = catalog.build_model(catalog.get("tdbn-resnet19-cifar10-t4"), 10, 3, 32)
    assert weight_layers(net) == 19
    assert (
        sum(isinstance(m, norm.TdBatchNorm) for m in net.modules()) == 17 + 2 + 1
    )  # + 1x1, linear
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert {c.out_channels for c in convs} == {128, 256, 512}
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 256), (256, 10)]
    cells = [m.neuron for m in net.modules() if isinstance(m, layers.Spiking)]
    assert all(
        c.reset_mechanism == "zero_before" and isinstance(c.spike_grad, surrogate.Rectangle)
        for c in cells
    )


def test_lee_vgg9_and_the_relu_vgg16():
    vgg9 = catalog.build_model(catalog.get("lee-vgg9-cifar10"), 10, 3, 32)
    assert weight_layers(vgg9) == 9
    hidden = [m.neuron for m in vgg9.modules() if isinstance(m, layers.Spiking)][:-1]
    assert all(isinstance(c, leak_aware.LeakAwareLIF) and c.beta == 0.99 for c in hidden)
    vgg16 = catalog.build_model(catalog.get("stanojevic-ttfs-vgg16-cifar10"), 10, 3, 32, width=4)
    assert weight_layers(vgg16) == 15  # 13 convolutions, linear 512, output
    assert [m.out_channels for m in vgg16 if isinstance(m, nn.Conv2d)][::3] == [4, 8, 16, 32, 32]
    assert vgg16(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_every_recipe_states_its_paper_and_settings():
    for recipe in catalog.RECIPES.values():
        assert recipe.paper and recipe.paper_result and recipe.idea and recipe.architecture
        assert recipe.loss in catalog.LOSSES and recipe.optimizer in ("sgd", "adam")
        assert recipe.encoding in ("direct", "rate", "frames", "none")
        assert (recipe.time_steps == 0) == (recipe.encoding == "none")
    results = [catalog.get(f"tdbn-resnet19-cifar10-t{t}").paper_result for t in (2, 4, 6)]
    assert [r.split()[0] for r in results] == ["92.34", "92.92", "93.16"]


def test_unknown_recipe_and_option_are_named():
    with pytest.raises(ValueError, match="unknown recipe 'vgg'; the recipes are: tdbn-resnet19"):
        catalog.get("vgg")
    with pytest.raises(ValueError, match="'depth' is not an argument of alif_network"):
        catalog.model_arguments(catalog.get("alif-shd"), 20, options={"depth": 3})


def test_the_alif_network_runs_sequences():
    net = catalog.build_model(catalog.get("alif-shd"), 20, width=16)
    spk, mem = net(torch.rand(5, 3, 1, 1, 700))
    assert spk.shape == mem.shape == (5, 3, 20)


def test_sew_resnet19_is_the_resnet19_layout_with_sew_blocks():
    recipe = catalog.get("sew-resnet19-cifar10-t4")
    net = catalog.build_model(recipe, 10, 3, 32, width=8)
    assert weight_layers(net) == 19
    sew = [m for m in net.modules() if isinstance(m, models.SEWBlock)]
    assert len(sew) == 8 and all(b.connection == "add" for b in sew)
    assert not any(isinstance(m, models.SpikingBasicBlock) for m in net.modules())
    cells = [m.neuron for m in net.modules() if isinstance(m, layers.Spiking)]
    assert all(type(c) is adaptive.PLIF and float(c.tau) == pytest.approx(2.0) for c in cells)
    assert not any(isinstance(m, norm.TdBatchNorm) for m in net.modules())
    spk, mem = net(torch.rand(2, 2, 3, 32, 32))  # membrane read-out for ce_membrane_loss
    assert spk.shape == mem.shape == (2, 2, 10)
    # the paper has no CIFAR-10 number: the recipe says so and names the plain-block recipe
    assert recipe.paper_result.startswith("none") and "tdbn-resnet19-cifar10-t4" in (
        recipe.paper_result
    )
    assert "92.92" in catalog.get("tdbn-resnet19-cifar10-t4").paper_result


def _wide_7b_parameters(width=64):
    """Wide-7B-Net's parameters counted from its layout: 1x1 up-projections and 3x3 convolutions
    without bias, two BN parameters per channel, one PLIF w per layer, the linear classifier."""
    c1, c2 = width, 2 * width
    up = (2 * c1 + 2 * c1) + (c1 * c2 + 2 * c2)
    blocks = 4 * 2 * (9 * c1 * c1 + 2 * c1) + 3 * 2 * (9 * c2 * c2 + 2 * c2)
    return up + blocks + (2 + 14) + (c2 * 10 + 10)


def test_sew_7b_is_the_papers_wide_7b_net():
    recipe = catalog.get("sew-7b-cifar10dvs")
    assert (recipe.time_steps, recipe.lr, recipe.weight_decay) == (16, 0.01, 0.0)
    assert (recipe.epochs, recipe.batch_size, recipe.loss) == (64, 16, "logits")
    assert recipe.paper_result.startswith("74.4 %")
    paper = catalog.build_model(recipe, 10, 2, 128)  # the paper's 128x128 frames
    ours = catalog.build_model(recipe, 10, 2, 64)  # what the loader gives (pooled 2x2)
    count = [sum(p.numel() for p in n.parameters()) for n in (paper, ours)]
    assert count == [_wide_7b_parameters()] * 2 == [1_192_218] * 2
    pools = [sum(isinstance(walk.inner(m), nn.MaxPool2d) for m in n) for n in (paper, ours)]
    assert pools == [7, 6]  # at 64x64 the last block's pooling would go below 1x1
    cells = [m.neuron for m in paper.modules() if isinstance(m, layers.Spiking)]
    assert len(cells) == 16 and all(float(c.tau) == pytest.approx(2.0) for c in cells)
    x = (torch.rand(2, 3, 2, 64, 64) < 0.05).float()  # [T, B, P, H, W]
    logits = ours(x)
    assert logits.shape == (3, 10)  # the linear layer reads the time-mean spikes
    loss = catalog.Logits()(logits, torch.tensor([0, 1, 2]))
    loss.backward()
    assert all(p.grad is not None for p in ours.parameters())
    small = catalog.build_model(recipe, 10, 2, 64, width=4)
    assert [m.out_channels for m in small.modules() if isinstance(m, nn.Conv2d)][:2] == [4, 4]
