import numpy as np
import pytest
import torch
from torch import nn

from spikelearn import conversion, layers
from spikelearn.cells.neurons import IF


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, 30), nn.ReLU(), nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 5)
    )


def test_if_neuron_with_subtract_reset_counts_rate_times_steps_within_one():
    a = torch.linspace(0, 1, 101)
    for steps in (10, 50, 200):
        spk, _ = IF(threshold=1.0).multi_step(a.expand(steps, 101).contiguous())
        assert (spk.sum(0) - a * steps).abs().max() <= 1 + 1e-4


def test_scales_are_percentiles_of_nonzero_relu_outputs():
    ann, x = mlp(), torch.rand(200, 3, 4)
    scales = conversion.activation_scales(ann, x, percentile=99.0)
    with torch.no_grad():
        h1 = torch.relu(ann[1](ann[0](x)))
        out = ann(x)
    assert len(scales) == 3
    assert scales[0] == pytest.approx(np.percentile(h1[h1 > 0].numpy(), 99.0))
    assert scales[2] == pytest.approx(np.percentile(out[out > 0].numpy(), 99.0))
    assert conversion.activation_scales(ann, x, 100)[0] == pytest.approx(h1.max().item())


def test_weights_are_normalised_layer_by_layer():
    ann, x = mlp(), torch.rand(200, 12)
    lam = conversion.activation_scales(ann, x)
    snn = conversion.convert(ann, x)
    linears = [m.module for m in snn if hasattr(m, "module") and isinstance(m.module, nn.Linear)]
    prev = 1.0
    for lin, ref, lam_l in zip(linears, [ann[1], ann[3], ann[5]], lam, strict=True):
        assert torch.allclose(lin.weight, ref.weight * prev / lam_l)
        assert torch.allclose(lin.bias, ref.bias / lam_l)
        prev = lam_l
    neurons = [m.neuron for m in snn if hasattr(m, "neuron")]
    assert all(isinstance(n, IF) and n.threshold.item() == 1.0 for n in neurons)
    assert ann[1].weight is not linears[0].weight  # the ANN is left untouched


def test_rates_approach_normalised_activations_and_predictions_agree():
    ann, x = mlp(), torch.rand(300, 12)
    with torch.no_grad():
        ann[5].weight.mul_(3)  # spread the output layer so its argmax is well defined
    snn = conversion.convert(ann, x, percentile=100)
    steps = 400
    with torch.no_grad():
        counts = snn(x[None].expand(steps, *x.shape)).sum(0)
        mem = snn[2].mem  # subtract reset keeps the residue below the threshold
        ann_out = ann(x)
    lam = conversion.activation_scales(ann, x, percentile=100)
    with torch.no_grad():
        h1 = torch.relu(ann[1](ann[0](x))) / lam[0]
        rate1 = snn[2](snn[1](snn[0](x[None].expand(steps, *x.shape)))).mean(0)  # first layer
    assert (rate1 - h1.clamp(max=1)).abs().max() <= 1.0 / steps + 1e-4
    agree = (counts.argmax(1) == ann_out.argmax(1)).float().mean().item()
    assert agree >= 0.95, agree
    assert mem.max() <= 2 + 1e-5  # inputs below threshold per step: u < 2·V_th


def test_bad_input_is_rejected():
    x = torch.rand(10, 12)
    with pytest.raises(TypeError, match="MaxPool2d"):
        conversion.convert(nn.Sequential(nn.Linear(12, 4), nn.MaxPool2d(2)), x)
    with pytest.raises(TypeError, match="BatchNorm1d must directly follow a Linear/Conv2d"):
        conversion.convert(nn.Sequential(nn.Linear(12, 4), nn.ReLU(), nn.BatchNorm1d(4)), x)
    with pytest.raises(TypeError, match="after nothing"):
        conversion.convert(nn.Sequential(nn.BatchNorm1d(12), nn.Linear(12, 4)), x)
    with pytest.raises(TypeError, match="nn.Sequential"):
        conversion.convert(nn.Linear(12, 4), x)
    with pytest.raises(ValueError, match="percentile"):
        conversion.convert(mlp(), x, percentile=0)
    with pytest.raises(ValueError, match="percentile"):
        conversion.convert(mlp(), x, percentile=101)
    with pytest.raises(ValueError, match="reset_mechanism"):
        conversion.convert(mlp(), x, reset_mechanism="none")
    with pytest.raises(ValueError, match="no Linear"):
        conversion.convert(nn.Sequential(nn.ReLU()), x)


def conv_bn_net():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Linear(8, 3),
    )
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        for bn in (net[1], net[6]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return net.eval()


def test_batchnorm_is_folded_into_the_layer_before():
    ann, x = conv_bn_net(), torch.rand(64, 1, 4, 4)
    folded = conversion.batchnorm_folded(ann)
    assert not any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in folded)
    assert len(folded) == len(ann) - 2
    with torch.no_grad():
        assert torch.allclose(folded(x), ann(x), atol=1e-5)
    assert folded[0].weight is not ann[0].weight and folded[5] is not ann[5]  # a copy
    assert conversion.activation_scales(ann, x) == pytest.approx(
        conversion.activation_scales(folded, x)
    )
    snn, ref = conversion.convert(ann, x), conversion.convert(folded, x)
    with torch.no_grad():
        seq = x[None].expand(8, *x.shape)
        assert torch.equal(snn(seq), ref(seq))


def small_resnet():
    torch.manual_seed(0)
    net = conversion.relu_resnet(width=4, blocks=(1, 1))  # an identity and a 1x1 conv shortcut
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        for bn in (m for m in net.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(0.0, 0.3)
        net[-1].weight.mul_(3)  # spread the outputs so their argmax is well defined
    return net.eval()


def test_residual_scales_cover_both_neuron_layers_of_each_block():
    ann, x = small_resnet(), torch.rand(100, 1, 8, 8)
    scales = conversion.activation_scales(ann, x, percentile=100)
    assert len(scales) == 1 + 2 * 2 + 1  # stem, (branch, sum) per block, output
    with torch.no_grad():
        stem = ann[2](ann[1](ann[0](x)))
        inner = ann[3].branch[:3](stem)
        block = ann[3](stem)
    assert scales[0] == pytest.approx(stem.max().item(), rel=1e-5)
    assert scales[1] == pytest.approx(inner.max().item(), rel=1e-5)
    assert scales[2] == pytest.approx(block.max().item(), rel=1e-5)


def test_both_branches_into_a_residual_neuron_are_rescaled_by_lambda_in_over_lambda_out():
    ann, x = small_resnet(), torch.rand(100, 1, 8, 8)
    lam = conversion.activation_scales(ann, x)
    folded = conversion.batchnorm_folded(ann)
    snn = conversion.convert(ann, x)
    block = snn[2]  # stem conv, IF, then the first block (identity shortcut)
    assert isinstance(block, conversion.ConvertedBlock)
    conv1, conv2 = block.branch[0].module, block.branch[2].module
    ref1, ref2 = folded[2].branch[0], folded[2].branch[3]
    assert torch.allclose(conv1.weight, ref1.weight * lam[0] / lam[1])
    assert torch.allclose(conv2.weight, ref2.weight * lam[1] / lam[2])
    assert torch.allclose(conv2.bias, ref2.bias / lam[2])
    eye = torch.eye(4)[:, :, None, None]
    assert torch.allclose(block.shortcut.module.weight, eye * lam[0] / lam[2])
    down = snn[3]  # the second block's 1x1 convolution shortcut
    ref = folded[3].shortcut[0]
    assert torch.allclose(down.shortcut.module.weight, ref.weight * lam[2] / lam[4])
    assert torch.allclose(down.shortcut.module.bias, ref.bias / lam[4])


def test_converted_resnet_rates_approach_the_ann_as_steps_grow():
    ann, x = small_resnet(), torch.rand(200, 1, 8, 8)
    snn = conversion.convert(ann, x, percentile=100)
    with torch.no_grad():
        ann_out = ann(x)
        counts = snn(x[None].expand(256, *x.shape)).cumsum(0)
    agree = {
        T: (counts[T - 1].argmax(1) == ann_out.argmax(1)).float().mean().item() for T in (4, 256)
    }
    assert agree[256] >= 0.9, agree
    assert agree[256] > agree[4], agree
    lam = conversion.activation_scales(ann, x, percentile=100)
    with torch.no_grad():
        stem = ann[2](ann[1](ann[0](x)))
        rate = snn[2](snn[1](snn[0](x[None].expand(256, *x.shape)))).mean(0)
    assert (rate - (ann[3](stem) / lam[2]).clamp(max=1)).abs().mean() < 0.02


def test_relu_vgg_layout_and_pooling():
    net = conversion.relu_vgg(in_channels=3, layout=((4, 4), (8,)), hidden=16, image_size=8)
    kinds = [type(m).__name__ for m in net]
    assert kinds.count("Conv2d") == 3 and kinds.count("BatchNorm2d") == 3
    assert kinds.count("MaxPool2d") == 2 and kinds[-3:] == ["Linear", "ReLU", "Linear"]
    assert net(torch.rand(5, 3, 8, 8)).shape == (5, 10)
    avg = conversion.relu_vgg(in_channels=1, layout=((4,),), image_size=4, pool="avg")
    assert any(isinstance(m, nn.AvgPool2d) for m in avg)
    with pytest.raises(ValueError, match="pool"):
        conversion.relu_vgg(pool="min")
    with pytest.raises(ValueError, match="layout"):
        conversion.relu_vgg(layout=((4, 0),))


def test_bad_residual_input_is_rejected():
    with pytest.raises(ValueError, match="cout"):
        conversion.ReLUBasicBlock(4, 0)
    with pytest.raises(ValueError, match="blocks"):
        conversion.relu_resnet(blocks=(2, 0))
    with pytest.raises(ValueError, match="width"):
        conversion.relu_resnet(width=0)
    with pytest.raises(TypeError, match="ReLUBasicBlock"):
        conversion.convert(
            nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2)), torch.rand(4, 1, 8, 8)
        )


def test_precharged_if_rounds_instead_of_lagging():
    # from rest the count lags a*T by up to one spike; half-charged it is within 1/2 either way
    a = torch.linspace(0, 1, 101)
    for steps in (4, 16, 64):
        x_seq = a.expand(steps, -1).contiguous()
        n_rest = IF(threshold=1.0).multi_step(x_seq)[0].sum(0)
        n_half = conversion.PrechargedIF(1.0, 0.5).multi_step(x_seq)[0].sum(0)
        assert torch.all(n_rest <= a * steps + 1e-4) and torch.all(n_rest >= a * steps - 1 - 1e-4)
        assert torch.all((n_half - a * steps).abs() <= 0.5 + 1e-4)


def test_precharged_if_single_steps_match_multi_step_and_start_charged():
    neuron = conversion.PrechargedIF(2.0, 0.25)
    x_seq = torch.rand(6, 3, 4)
    spk, mem = neuron.multi_step(x_seq)
    assert torch.allclose(mem[0], 0.5 + x_seq[0])  # starts at 0.25 * V_th = 0.5
    m, steps = None, []
    for x in x_seq:
        s, m = neuron(x, m)
        steps.append(s)
    assert torch.equal(torch.stack(steps), spk)
    with pytest.raises(ValueError, match="initial must be in"):
        conversion.PrechargedIF(1.0, 1.5)


def test_convert_with_initial_membrane_uses_precharged_neurons():
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.rand(32, 4)
    naive = conversion.convert(ann, x)
    half = conversion.convert(ann, x, initial_membrane=0.5)
    kinds = {type(m.neuron) for m in half.modules() if isinstance(m, layers.Spiking)}
    assert kinds == {conversion.PrechargedIF}
    assert all(type(m.neuron) is IF for m in naive.modules() if isinstance(m, layers.Spiking))
    for a, b in zip(naive.parameters(), half.parameters(), strict=True):
        assert torch.equal(a, b)  # the same weights; only where the membranes start differs
    with pytest.raises(ValueError, match="initial_membrane must be in"):
        conversion.convert(ann, x, initial_membrane=-0.1)
