"""TTFS networks equal their ReLU networks (Stanojevic et al. 2024): exactness, simulators, errors."""

import copy
import warnings

import pytest
import torch
from torch import nn

from spikelearn import quant, relu_nets, ttfs, ttfs_mapping, ttfs_simulation


@pytest.fixture(autouse=True)
def _one_thread():
    """These networks are tiny: one thread avoids threading overhead on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _randomise_bn(model):
    """Give every BatchNorm non-trivial statistics so that fusing it is really tested."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def _mlp(widths, bn=True):
    layers = []
    for a, b in zip(widths[:-2], widths[1:-1], strict=True):
        layers += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b)] if bn else []) + [nn.ReLU()]
    return _randomise_bn(nn.Sequential(*layers, nn.Dropout(0.2), nn.Linear(*widths[-2:])))


def _conv():
    return _randomise_bn(
        nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 12, 3, padding=1, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(48, 16),
            nn.ReLU(),
            nn.Linear(16, 10),
        )
    )


def _check_exact(model, x_train, x):
    net = ttfs_mapping.from_relu(model, x_train)
    with torch.no_grad():
        logits, times = net.run(x)
        ref, out = relu_nets.relu_outputs(model, x)
    acts = net.activations(times)
    assert torch.equal(acts[0], x) or (acts[0] - x).abs().max() <= 1e-6
    assert len(acts) == len(ref) + 1
    for a, r in zip(acts[1:], ref, strict=True):
        assert a.shape == r.shape
        assert (a - r).abs().max() <= 1e-5
    assert (logits - out).abs().max() <= 1e-5
    assert torch.equal(logits.argmax(1), out.argmax(1))
    return net, times


@pytest.mark.parametrize(
    "widths", [(20, 10), (20, 32, 10), (30, 64, 16, 5), (16, 8, 40, 24, 12, 3)]
)
@pytest.mark.parametrize("bn", [False, True])
def test_dense_network_equals_relu_network(widths, bn):
    torch.manual_seed(sum(widths))
    model = _mlp(widths, bn)
    _check_exact(model, torch.rand(256, widths[0]), torch.rand(128, widths[0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conv_network_with_maxpool_and_batchnorm_equals_relu_network(seed):
    torch.manual_seed(seed)
    _check_exact(_conv(), torch.rand(200, 1, 8, 8), torch.rand(100, 1, 8, 8))


def test_windows_follow_the_training_set():
    torch.manual_seed(0)
    model, x_train = _mlp((20, 32, 16, 10)), torch.rand(300, 20)
    net = ttfs_mapping.from_relu(model, x_train, margin=1.5)
    windows = net.windows
    assert windows[0] == (0.0, 1.0)
    for (_, t_max), (t_min, _) in zip(windows[:-1], windows[1:], strict=True):
        assert t_min == t_max  # t_min(n) = t_max(n-1)
    peaks = [a.max().item() for a in relu_nets.relu_outputs(model, x_train)[0]]
    for (t_min, t_max), peak in zip(windows[1:], peaks, strict=True):
        assert t_max - t_min == pytest.approx(1.5 * peak, rel=1e-5)


def test_one_neuron_follows_the_spike_time_equation():
    # t_i = t_max - D - Σ_j W_ij (t_min - t_j), no spike at or after t_max, none before t_min
    lin = nn.Linear(2, 3)
    lin.weight.data = torch.tensor([[0.5, 0.25], [-1.0, 0.5], [3.0, 3.0]])
    lin.bias.data = torch.tensor([0.1, -0.2, 0.0])
    model = nn.Sequential(lin, nn.ReLU(), nn.Linear(3, 1))
    net = ttfs_mapping.from_relu(model, torch.tensor([[0.5, 0.5]]))  # peaks 0.475, 0, 3 -> B = 4.5
    (t0, t1), (t_min, t_max) = net.windows
    x = torch.tensor([[0.8, 0.4]])
    _, times = net.run(x)
    t_in = t1 - x
    assert torch.allclose(times[0], t_in)
    expected0 = t_max - 0.1 - (0.5 * (t_min - t_in[0, 0]) + 0.25 * (t_min - t_in[0, 1]))
    assert times[1][0, 0].item() == pytest.approx(expected0.item(), abs=1e-6)
    assert times[1][0, 1].item() == t_max  # -0.8 + 0.2 - 0.2 < 0: no spike
    assert times[1][0, 2].item() == pytest.approx(t_max - 3.6, abs=1e-6)
    # inputs of 1 drive neuron 2 to 6 > B = 4.5: it fires at t_min, the activation saturates at B
    _, times = net.run(torch.ones(1, 2))
    assert times[1][0, 2].item() == pytest.approx(t_min, abs=1e-6)


def test_event_driven_and_discrete_time_simulators_agree_as_dt_shrinks():
    torch.manual_seed(3)
    model = _mlp((12, 16, 8, 4)).double()
    net = ttfs_mapping.from_relu(model, torch.rand(200, 12, dtype=torch.float64))
    x = torch.rand(16, 12, dtype=torch.float64)
    logits, times = net.run(x)
    errors = []
    for dt in (0.1, 0.01, 0.001):
        d_logits, d_times, _ = ttfs_simulation.simulate(net, x, dt)
        err = max((a - b).abs().max().item() for a, b in zip(times, d_times, strict=True))
        errors.append(max(err, (logits - d_logits).abs().max().item()))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.02  # O(dt): a few dt per layer at dt = 1e-3


def test_discrete_time_conv_network_matches_the_event_driven_one():
    torch.manual_seed(4)
    model = _conv().double()
    net = ttfs_mapping.from_relu(model, torch.rand(100, 1, 8, 8, dtype=torch.float64))
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    logits, times = net.run(x)
    d_logits, d_times, _ = ttfs_simulation.simulate(net, x, 0.002)
    assert max((a - b).abs().max().item() for a, b in zip(times, d_times, strict=True)) < 0.05
    assert (logits - d_logits).abs().max() < 0.05


def test_membrane_has_slope_one_after_t_min_and_fires_at_threshold():
    torch.manual_seed(5)
    model = _mlp((10, 6, 3), bn=False).double()
    net = ttfs_mapping.from_relu(model, torch.rand(100, 10, dtype=torch.float64))
    dt = 0.001
    _, times, traces = ttfs_simulation.simulate(
        net, torch.rand(1, 10, dtype=torch.float64), dt, record=True
    )
    grid, v = traces[0]
    t_min, t_max = net.windows[1]
    after = grid >= t_min
    slope = (v[1:] - v[:-1])[after[:-1]] / dt
    assert torch.allclose(slope, torch.ones_like(slope))
    theta = (t_max - t_min) - net.ops[0].bias
    for i in range(v.shape[-1]):
        t_i = times[1][0, i].item()
        if (
            t_i < t_max
        ):  # at the spike the potential has reached threshold (and not one step before)
            k = int(torch.argmin((grid - t_i).abs()))
            assert v[k, 0, i] >= theta[i] - 1e-9
            assert grid[k] == t_min or v[k - 1, 0, i] < theta[i]


def test_spikes_per_neuron_is_the_fraction_of_nonzero_activations():
    torch.manual_seed(6)
    model, x = _mlp((20, 40, 30, 10)), torch.rand(64, 20)
    net = ttfs_mapping.from_relu(model, torch.rand(256, 20))
    _, times = net.run(x)
    acts = relu_nets.relu_outputs(model, x)[0]
    expected = sum(int((a > 0).sum()) for a in acts) / sum(a.numel() for a in acts)
    assert ttfs.spikes_per_neuron(net, times) == pytest.approx(expected)
    assert 0 < expected < 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_the_snn_follows_the_ann_trajectory(optimizer):
    torch.manual_seed(7)
    ann = _mlp((20, 32, 16, 4), bn=False)
    init = copy.deepcopy(ann)
    x, y = torch.rand(256, 20), torch.randint(0, 4, (256,))
    snn = ttfs_mapping.from_relu(ann, x)

    def make(params):
        if optimizer == "sgd":
            return torch.optim.SGD(params, lr=0.1, momentum=0.9)
        return torch.optim.Adam(params, lr=1e-2)

    opt_a, opt_s = make(ann.parameters()), make(snn.parameters())
    steps = 60 if optimizer == "sgd" else 20  # Adam amplifies float32 rounding of tiny gradients
    for step in range(steps):
        batch = slice(16 * step % 256, 16 * step % 256 + 16)
        snn.fit_windows(x[batch], grow_only=True)  # no value may saturate
        for model, opt in ((ann, opt_a), (snn, opt_s)):
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if model is ann:
                ann_loss = loss.item()
        assert loss.item() == pytest.approx(ann_loss, abs=1e-5)
    ann_params, snn_params = list(ann.parameters()), list(snn.parameters())
    assert len(ann_params) == len(snn_params)
    for a, s in zip(ann_params, snn_params, strict=True):
        assert (a - s).abs().max() <= 1e-5
    assert (ann_params[0] - init[0].weight).abs().max() > 1e-2  # the weights did move


def test_fit_windows_grows_windows_so_nothing_saturates():
    torch.manual_seed(10)
    model = _mlp((10, 16, 8, 3), bn=False)
    net = ttfs_mapping.from_relu(
        model, torch.rand(50, 10) * 0.1
    )  # fitted on weak inputs: narrow windows
    x = torch.rand(64, 10)
    before = [b - a for a, b in net.windows]
    net.fit_windows(x, grow_only=True)
    after = [b - a for a, b in net.windows]
    assert all(n >= o - 1e-6 for n, o in zip(after, before, strict=True))
    _, times = net.run(x)
    for (t_min, _), t in zip(net.windows[1:], times[1:], strict=True):
        assert (t > t_min).all()  # no neuron pushed to the start of its window
    relus, out = relu_nets.relu_outputs(model, x)
    assert (net(x) - out).abs().max() <= 1e-5
    net.fit_windows(torch.rand(5, 10) * 0.01, grow_only=True)
    assert [b - a for a, b in net.windows] == after  # grow_only never shrinks


@pytest.mark.parametrize("bits", [1, 2, 3, 5])
def test_time_quantiser_has_exactly_2_to_the_k_levels_in_the_window(bits):
    t = torch.linspace(2.0, 5.0, 10001, requires_grad=True)
    q = ttfs.quantize_times(t, 2.0, 5.0, bits)
    levels = torch.unique(q.detach())
    expected = 2.0 + torch.arange(2**bits) * 3.0 / (2**bits - 1)
    assert torch.allclose(levels, expected)
    assert (q - t).abs().max() <= 3.0 / (2**bits - 1) / 2 + 1e-6
    q.sum().backward()
    assert torch.equal(t.grad, torch.ones_like(t))  # straight-through


def test_hardware_options_change_the_forward_pass_as_defined():
    torch.manual_seed(8)
    model = _mlp((20, 16, 10), bn=False)
    net = ttfs_mapping.from_relu(model, torch.rand(100, 20))
    x = torch.rand(32, 20)
    _, times = net.run(x, time_bits=3)
    for (t_min, t_max), t in zip(net.windows, times, strict=True):
        steps = (t - t_min) / ((t_max - t_min) / 7)
        assert torch.allclose(steps, steps.round(), atol=1e-4)
    q = copy.deepcopy(net)
    for op in q.ops:
        if hasattr(op, "weight"):
            op.weight.data = quant.fake_quantize(op.weight.data, 3)
    assert torch.equal(net(x, weight_bits=3), q(x))
    per_neuron = copy.deepcopy(net)  # per_channel: one scale per output neuron (row of W)
    for op in per_neuron.ops:
        if hasattr(op, "weight"):
            op.weight.data = quant.fake_quantize(op.weight.data, 2, per_channel=True)
    assert torch.equal(net(x, weight_bits=2, per_channel=True), per_neuron(x))
    shorter = copy.deepcopy(net)
    widths = torch.tensor([b - a for a, b in net.windows])
    shorter.set_windows(widths * torch.tensor([1.0, 0.25]))
    _, times = shorter.run(x)
    acts = shorter.activations(times)[1]
    assert acts.max() <= widths[1] * 0.25 + 1e-5  # activations saturate at the shorter window


def test_one_scale_per_neuron_keeps_a_layer_that_one_large_weight_would_round_to_zero():
    torch.manual_seed(8)
    net = ttfs_mapping.from_relu(_mlp((20, 16, 10), bn=False), torch.rand(100, 20))
    layer = next(op for op in net.ops if hasattr(op, "weight"))
    with torch.no_grad():  # one outlier: 10x the largest weight, in neuron 0's row
        layer.weight[0, 0] = 10 * layer.weight.abs().max()
    x = torch.rand(32, 20)
    _, per_layer = net.run(x, weight_bits=2)
    _, per_neuron = net.run(x, weight_bits=2, per_channel=True)
    # one ternary scale per layer: every other weight rounds to 0, so neurons 1..15 see only
    # their bias and fire at the same time for every input
    assert (per_layer[1][:, 1:] == per_layer[1][:1, 1:]).all()
    # one scale per neuron: the outlier zeroes only its own row; the other neurons still listen
    varies = (per_neuron[1][:, 1:] != per_neuron[1][:1, 1:]).any(0)
    assert varies.sum() >= 8, varies


def test_jitter_is_reproducible_with_a_seed():
    t = torch.tensor([0.1, 0.5, 1.0, 0.9])
    a = ttfs.jitter(t, 0.05, 1.0, torch.Generator().manual_seed(0))
    b = ttfs.jitter(t, 0.05, 1.0, torch.Generator().manual_seed(0))
    c = ttfs.jitter(t, 0.05, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a[2] == 1.0 and (a <= 1.0).all()  # no spike stays no spike; late spikes are lost
    assert torch.equal(ttfs.jitter(t, 0.0, 1.0), t)
    torch.manual_seed(9)
    net = ttfs_mapping.from_relu(_mlp((10, 8, 3), bn=False), torch.rand(50, 10))
    x = torch.rand(4, 10)
    out1 = net(x, sigma=0.1, generator=torch.Generator().manual_seed(3))
    out2 = net(x, sigma=0.1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out1, out2) and not torch.equal(out1, net(x))


def test_bad_inputs_and_windows_raise_clear_errors():
    with pytest.raises(ValueError, match=r"x must be in \[0, 1\], got .*min -0.5"):
        ttfs.encode(torch.tensor([0.2, -0.5]))
    with pytest.raises(ValueError, match=r"x must be in \[0, 1\], got .*max 1.5"):
        ttfs.encode(torch.tensor([0.2, 1.5]))
    with pytest.raises(ValueError, match="t_min < t_max, got t_min=2, t_max=1"):
        ttfs.encode(torch.tensor([0.2]), t_min=2.0, t_max=1.0)
    with pytest.raises(ValueError, match="t_min=nan"):
        ttfs.encode(torch.tensor([0.2]), t_min=float("nan"))
    with pytest.raises(ValueError, match="must be >= 1 to hold inputs in \\[0, 1\\], got 0.5"):
        ttfs.encode(torch.tensor([0.2]), t_min=0.5, t_max=1.0)
    with pytest.raises(ValueError, match="x must be finite"):
        ttfs.encode(torch.tensor([float("nan")]))
    model = _mlp((4, 3, 2), bn=False)
    with pytest.raises(ValueError, match=r"x_train must be in \[0, 1\]"):
        ttfs_mapping.from_relu(model, -torch.rand(5, 4))
    with pytest.raises(ValueError, match="input_window must have finite t_min < t_max"):
        ttfs_mapping.from_relu(model, torch.rand(5, 4), input_window=(1.0, 1.0))
    with pytest.raises(ValueError, match=r"margin must be in \[1, inf\), got 0.5"):
        ttfs_mapping.from_relu(model, torch.rand(5, 4), margin=0.5)
    net = ttfs_mapping.from_relu(model, torch.rand(5, 4))
    with pytest.raises(ValueError, match=r"x must be in \[0, 1\]"):
        net(torch.full((1, 4), 2.0))
    with pytest.raises(ValueError, match="widths must have 2 entries"):
        net.set_windows([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"widths must be in \(0, inf\), got .*min -1"):
        net.set_windows([1.0, -1.0])
    with pytest.raises(ValueError, match=r"dt must be in \(0, inf\), got 0"):
        ttfs_simulation.simulate(net, torch.rand(1, 4), 0.0)
    with pytest.raises(ValueError, match="bits must be an integer >= 1, got 0"):
        ttfs.quantize_times(torch.rand(3), 0.0, 1.0, 0)
    with pytest.raises(ValueError, match=r"sigma must be in \[0, inf\), got -0.1"):
        ttfs.jitter(torch.rand(3), -0.1, 1.0)


@pytest.mark.parametrize(
    "layers, error, match",
    [
        ([nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2)], TypeError, "unsupported layer Sigmoid"),
        ([nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU()], ValueError, "must end with"),
        ([nn.ReLU(), nn.Linear(4, 2)], ValueError, "ReLU must follow a Linear or Conv2d"),
        ([nn.BatchNorm1d(4), nn.Linear(4, 2)], ValueError, "BatchNorm1d must directly follow"),
        ([nn.Linear(4, 3), nn.Linear(3, 2)], ValueError, "without a ReLU in between"),
        (
            [nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2, 2)],
            ValueError,
            "put MaxPool2d after the ReLU",
        ),
    ],
)
def test_unsupported_models_are_rejected(layers, error, match):
    x = torch.rand(5, 1, 4, 4) if isinstance(layers[0], nn.Conv2d) else torch.rand(5, 4)
    with pytest.raises(error, match=match):
        ttfs_mapping.from_relu(nn.Sequential(*layers), x)
    with pytest.raises(TypeError, match="model must be an nn.Sequential, got Linear"):
        ttfs_mapping.from_relu(nn.Linear(4, 2), torch.rand(5, 4))


def _mixed_scale_relu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        model[0].weight.mul_(2e4)  # layer 1's window reaches ~1e4: float32 spacing ~1e-3 there
        model[2].weight.mul_(1e-4)  # layer 2's window is narrow
    return model


def test_windows_float32_cannot_resolve_warn_and_float64_on_request_is_exact():
    # issue 12: mixed-scale layers stack the windows; float32 lost the exact ReLU mapping silently
    model, x = _mixed_scale_relu(), torch.rand(64, 4)
    with pytest.warns(ttfs.TTFSPrecisionWarning, match="float64"):
        ttfs_mapping.from_relu(model, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ttfs.TTFSPrecisionWarning)
        net64 = ttfs_mapping.from_relu(model, x, dtype=torch.float64)
    assert net64.edges.dtype == torch.float64
    ref = model.double()(x.double())
    torch.testing.assert_close(net64(x.double()), ref, rtol=1e-9, atol=1e-9)


def test_saturated_test_activations_are_counted():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    with torch.no_grad():
        model[0].weight.abs_()  # brighter inputs drive every hidden neuron harder
    x_train = torch.rand(32, 4) * 0.1
    net = ttfs_mapping.from_relu(model, x_train)
    net(x_train)
    assert net.saturated == [0]  # the windows hold every training value (margin 1.5)
    relu = torch.relu(model[0](torch.ones(8, 4)))
    over = int((relu > net.edges[2] - net.edges[1]).sum())
    net(torch.ones(8, 4))  # brighter than anything in training
    assert net.saturated == [over] and over > 0


def test_from_relu_rejects_zero_samples_and_mismatched_dtypes():
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    with pytest.raises(
        ValueError, match=r"x_train must hold at least one sample, got shape \(0, 4\)"
    ):
        ttfs_mapping.from_relu(model, torch.rand(0, 4))
    with pytest.raises(
        TypeError,
        match="x_train has dtype torch.float64 but Sequential's parameters are torch.float32",
    ):
        ttfs_mapping.from_relu(model, torch.rand(8, 4, dtype=torch.float64))
    net = ttfs_mapping.from_relu(model, torch.rand(8, 4))
    with pytest.raises(TypeError, match="x has dtype torch.float64"):
        net(torch.rand(8, 4, dtype=torch.float64))
