"""The recipes' table: each paper's network from the library's builders, as the paper lays it out."""

import pytest
import torch
from torch import nn

from spikelearn import layers, leak_aware, norm, surrogate
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
