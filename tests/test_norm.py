import math

import pytest
import torch
from torch import nn

from spikelearn import norm
from spikelearn.networks.layers import TimeFolded


def test_bn_through_time_equals_batchnorm_on_time_folded_into_batch():
    torch.manual_seed(0)
    x = torch.randn(5, 4, 3, 6, 6) * 2 + 1
    ours, ref = norm.BatchNormThroughTime(3), nn.BatchNorm2d(3)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 2)
        ours.bias.normal_()
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    torch.testing.assert_close(ours(x), ref(x.flatten(0, 1)).reshape(x.shape))
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x), ref(x.flatten(0, 1)).reshape(x.shape))


def test_statistics_are_shared_over_time_not_per_step():
    # step 0 has mean 0, step 1 mean 10: one BN per step would centre both; shared stats do not
    x = torch.randn(2, 64, 2)
    x[1] += 10
    y = norm.BatchNormThroughTime(2)(x).detach()
    assert y[1].mean() - y[0].mean() > 1.5
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.var(unbiased=False)) - 1) < 1e-3


@pytest.mark.parametrize("alpha, threshold", [(1.0, 1.0), (1 / math.sqrt(2), 1.0), (1.0, 0.5)])
def test_tdbn_formula(alpha, threshold):
    torch.manual_seed(1)
    x = torch.randn(4, 8, 3, 5, 5) * 3 - 2
    bn = norm.TdBatchNorm(3, alpha=alpha, threshold=threshold)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.normal_()
    dims = (0, 1, 3, 4)  # time, batch, height, width
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, unbiased=False, keepdim=True)
    x_hat = alpha * threshold * (x - mean) / torch.sqrt(var + bn.eps)
    expected = bn.weight.view(1, 1, 3, 1, 1) * x_hat + bn.bias.view(1, 1, 3, 1, 1)
    torch.testing.assert_close(bn(x), expected, rtol=1e-5, atol=1e-5)


def test_tdbn_output_std_is_alpha_threshold_at_init():
    y = norm.TdBatchNorm(4, alpha=norm.RESIDUAL_ALPHA, threshold=2.0)(torch.randn(3, 50, 4) * 7)
    y = y.detach()
    assert abs(float(y.std(unbiased=False)) - math.sqrt(2)) < 1e-3


def _trained_stats(bn, shape):
    bn.train()
    for _ in range(5):
        bn(torch.randn(*shape) * 3 + 1)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.normal_()
    return bn.eval()


@pytest.mark.parametrize("make_bn", [norm.TdBatchNorm, norm.BatchNormThroughTime])
def test_folding_into_conv_keeps_eval_outputs(make_bn):
    torch.manual_seed(2)
    net = nn.Sequential(TimeFolded(nn.Conv2d(2, 4, 3, padding=1)), make_bn(4), nn.ReLU())
    x = torch.randn(3, 6, 2, 5, 5)
    _trained_stats(net[1], (3, 6, 4, 5, 5))
    net.eval()
    before = net(x)
    norm.fold_batchnorm(net)
    assert isinstance(net[1], nn.Identity)
    torch.testing.assert_close(net(x), before, rtol=1e-5, atol=1e-5)


def test_fold_into_linear_without_bias_and_plain_batchnorm():
    torch.manual_seed(3)
    lin, bn = nn.Linear(5, 3, bias=False), nn.BatchNorm1d(3)
    for _ in range(3):
        bn(lin(torch.randn(16, 5)))
    bn.eval()
    x = torch.randn(7, 5)
    torch.testing.assert_close(norm.fold_into(lin, bn)(x), bn(lin(x)), rtol=1e-5, atol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="num_features"):
        norm.TdBatchNorm(0)
    with pytest.raises(ValueError, match="alpha"):
        norm.TdBatchNorm(3, alpha=-1)
    with pytest.raises(ValueError, match="3 channels"):
        norm.TdBatchNorm(3)(torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match="x_seq"):
        norm.BatchNormThroughTime(3)(torch.randn(4, 3))
    with pytest.raises(TypeError, match="layer"):
        norm.fold_into(nn.ReLU(), nn.BatchNorm1d(3))
    with pytest.raises(ValueError, match="channels"):
        norm.fold_into(nn.Linear(2, 4), nn.BatchNorm1d(3))
