import pytest
import snntorch as snn
import torch
from snntorch.functional import quant as snn_quant
from torch import nn

from spikelearn import models, quant
from spikelearn.cells.neurons import IF, LIF
from spikelearn.networks.layers import Spiking, TimeFolded


def dense_weights(n=4001):
    return torch.linspace(-1.0, 1.0, n)[None].repeat(3, 1)


# --- weights ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 8])
def test_k_bits_give_exactly_the_expected_levels(bits):
    q, s = quant.quantize(dense_weights(), bits)
    expected = [-1, 1] if bits == 1 else list(range(-(2 ** (bits - 1) - 1), 2 ** (bits - 1)))
    assert sorted(set(q.flatten().tolist())) == expected
    assert quant.weight_levels(bits).tolist() == expected
    w_hat = quant.fake_quantize(dense_weights(), bits)
    assert sorted(set(w_hat.flatten().tolist())) == sorted(set((s * q).flatten().tolist()))
    assert len(set(w_hat.flatten().tolist())) == (2 if bits == 1 else 2**bits - 1)


def test_scale_maps_the_largest_weight_to_the_top_level():
    w = torch.tensor([[-0.5, 0.25, 0.7], [0.1, -0.05, 0.0]])
    q, s = quant.quantize(w, 4)
    assert s.item() == pytest.approx(0.7 / 7)
    assert q.tolist() == [[-5, 2, 7], [1, 0, 0]]
    # per output channel: each row has its own scale, each row's largest weight is exact
    q, s = quant.quantize(w, 4, per_channel=True)
    assert s.shape == (2, 1)
    assert q.abs().amax(dim=1).tolist() == [7, 7]
    assert torch.allclose((q * s).abs().amax(dim=1), w.abs().amax(dim=1))


def test_one_bit_is_sign_times_mean_abs():
    w = torch.tensor([0.5, -0.1, 0.3, -0.0])
    w_hat = quant.fake_quantize(w, 1)
    assert w_hat.tolist() == pytest.approx([0.225, -0.225, 0.225, 0.225])


def test_power_of_two_scale_never_clips():
    w = torch.randn(8, 20)
    q, s = quant.quantize(w, 4, per_channel=True, pow2=True)
    assert torch.equal(torch.log2(s), torch.round(torch.log2(s)))
    assert q.abs().max() <= 7
    assert ((q * s - w).abs() <= s / 2 + 1e-7).all()


def test_straight_through_gradient():
    w = torch.randn(5, 6, requires_grad=True)
    (quant.fake_quantize(w, 2) * torch.arange(6.0)).sum().backward()
    assert torch.equal(w.grad, torch.arange(6.0).expand(5, 6))


def test_zero_tensor_keeps_scale_one_and_stays_zero():
    q, s = quant.quantize(torch.zeros(3, 3), 4)
    assert s.item() == 1 and (q == 0).all()


@pytest.mark.parametrize(
    "bits, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_bad_bit_widths_are_rejected(bits, error):
    with pytest.raises(error, match="bits"):
        quant.weight_levels(bits)
    with pytest.raises(error, match="bits"):
        quant.fake_quantize(torch.randn(3, 3), bits)
    with pytest.raises(error, match="bits"):
        quant.add_weight_quant(nn.Linear(3, 3), bits)
    with pytest.raises(error, match="num_bits"):
        quant.state_quant(num_bits=bits)


def test_bad_ranges_are_rejected():
    with pytest.raises(ValueError, match="threshold"):
        quant.state_quant(4, threshold=-1.0)
    with pytest.raises(ValueError, match="lower_limit"):
        quant.state_quant(4, lower_limit=-0.5)
    with pytest.raises(ValueError, match="step"):
        quant.fixed_point(0.0)
    with pytest.raises(ValueError, match="std"):
        quant.add_weight_noise(nn.Linear(2, 2), -0.1)
    with pytest.raises(ValueError, match="scale"):
        quant.quantize(torch.randn(3), 4, scale=-1.0)
    with pytest.raises(ValueError, match="value"):
        quant.dyadic(1.5)
    with pytest.raises(ValueError, match="no Linear/Conv"):
        quant.quantize_weights(nn.ReLU(), 4)


def test_qat_parametrization_trains_float_weights_and_bakes_in():
    torch.manual_seed(0)
    model = nn.Sequential(TimeFolded(nn.Linear(6, 4)), Spiking(LIF(0.9)))
    quant.add_weight_quant(model, 3)
    layer = model[0].module
    levels = set((quant.weight_scale(layer.weight, 3) * quant.weight_levels(3)).tolist())
    assert set(layer.weight.flatten().tolist()) <= levels
    x = torch.rand(5, 2, 6)
    model(x).sum().backward()
    original = layer.parametrizations.weight.original
    assert original.grad is not None and original.grad.abs().sum() > 0
    used = layer.weight.detach().clone()
    quant.remove_weight_quant(model)
    assert type(layer.weight) is nn.Parameter and torch.equal(layer.weight.detach(), used)


def test_qat_on_a_convolutional_snn_runs_and_trains():
    # TimeFolded checks a convolution's input; QAT's parametrization subclasses the Conv2d
    torch.manual_seed(0)
    net = quant.add_weight_quant(models.spiking_vgg(width=4, depth=2, image_size=8), bits=8)
    out = net(torch.rand(2, 3, 1, 8, 8))
    assert out.shape == (2, 3, 10)
    out.sum().backward()
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    assert conv.parametrizations.weight.original.grad is not None


def test_post_training_quantisation_copies_unless_inplace():
    torch.manual_seed(0)
    model = nn.Sequential(TimeFolded(nn.Linear(10, 5)))
    before = model[0].module.weight.detach().clone()
    q = quant.quantize_weights(model, 2)
    assert torch.equal(model[0].module.weight, before)
    assert len(set(q[0].module.weight.flatten().tolist())) <= 3
    quant.quantize_weights(model, 2, inplace=True)
    assert torch.equal(model[0].module.weight, q[0].module.weight)


def test_weight_noise_is_seeded_and_relative():
    torch.manual_seed(0)
    model = nn.Sequential(TimeFolded(nn.Linear(100, 100)))
    w = model[0].module.weight.detach()
    a = quant.add_weight_noise(model, 0.1, seed=1)[0].module.weight.detach()
    b = quant.add_weight_noise(model, 0.1, seed=1)[0].module.weight.detach()
    assert torch.equal(a, b) and not torch.equal(a, w)
    assert (a - w).std().item() == pytest.approx(0.1 * w.abs().max().item(), rel=0.05)
    assert torch.equal(quant.add_weight_noise(model, 0.0)[0].module.weight, w)


# --- membranes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bits, thr, lo, hi",
    [(1, 1.0, 0.0, 0.2), (3, 2.0, 0.5, 0.0), (4, 1.5, 0.1, 0.2), (8, 0.7, 0.0, 1.0)],
)
def test_state_quant_equals_snntorch(bits, thr, lo, hi):
    ours = quant.state_quant(bits, threshold=thr, lower_limit=lo, upper_limit=hi)
    theirs = snn_quant.state_quant(bits, threshold=thr, lower_limit=lo, upper_limit=hi)
    assert len(ours.levels) == 2**bits
    torch.manual_seed(0)
    x = torch.cat([torch.randn(20000) * 2 * thr, ours.levels, torch.linspace(-3, 3, 5001) * thr])
    assert torch.equal(ours(x), theirs(x))
    assert torch.equal(torch.unique(ours(x)), ours.levels)


def test_quant_lif_takes_snntorch_state_quant_and_snntorch_takes_ours():
    torch.manual_seed(0)
    x = torch.rand(30, 4, 7) * 0.6
    for make in (
        lambda: snn_quant.state_quant(4, threshold=1.0),
        lambda: quant.state_quant(4, threshold=1.0),
    ):
        ours = LIF(beta=0.85, threshold=1.0, state_quant=make())
        leaky = snn.Leaky(beta=0.85, threshold=1.0, state_quant=make())
        spk, mem = ours.multi_step(x)
        m = leaky.init_leaky()
        for t in range(len(x)):
            s, m = leaky(x[t], m)
            assert torch.equal(s, spk[t]) and torch.equal(m, mem[t])
        assert 0 < spk.mean() < 1


def test_add_state_quant_quantises_every_neuron_keeping_its_class_and_the_original():
    torch.manual_seed(0)
    net = nn.Sequential(
        TimeFolded(nn.Linear(6, 8)),
        Spiking(LIF(0.9, threshold=0.5)),
        TimeFolded(nn.Linear(8, 3)),
        Spiking(IF(reset_mechanism="zero")),
    )
    q = quant.add_state_quant(net, 3, upper_limit=0.5)
    assert net[1].neuron.state_quant is None and q[1].neuron.state_quant is not None
    assert type(q[1].neuron) is LIF and type(q[3].neuron) is IF
    assert q[3].neuron.reset_mechanism == "zero_before" and q[3].neuron.beta.item() == 1
    assert torch.allclose(q[1].neuron.state_quant.levels, torch.linspace(-0.5, 0.75, 8))
    x = torch.rand(10, 4, 6) * 2
    with torch.no_grad():
        q(x)
    assert set(q[1].mem.flatten().tolist()) <= set(q[1].neuron.state_quant.levels.tolist())
    theirs = quant.add_state_quant(net, quantiser=snn_quant.state_quant(3, threshold=0.5))
    assert theirs[1].neuron.state_quant is theirs[3].neuron.state_quant
    with pytest.raises(ValueError, match="no spikelearn neuron"):
        quant.add_state_quant(nn.Sequential(TimeFolded(nn.Linear(2, 2))))


def test_fixed_point_floors_and_saturates():
    fp = quant.fixed_point(0.25, bits=4)
    x = torch.tensor([0.3, -0.3, 0.49, 5.0, -5.0])
    assert fp(x).tolist() == [0.25, -0.5, 0.25, 7 * 0.25, -8 * 0.25]


def test_an_identity_quantiser_gives_the_fused_lif_s_numbers():
    torch.manual_seed(0)
    x = torch.rand(20, 3, 5)
    a = LIF(0.9, state_quant=lambda u: u).multi_step(x)  # the step loop
    b = LIF(0.9).multi_step(x)  # the fused kernel
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(TypeError, match="state_quant must be callable, got int"):
        LIF(0.9, state_quant=3)


def test_dyadic_leak():
    assert quant.dyadic(0.9, 8) == (230, 8)
    assert quant.dyadic(0.5, 1) == (1, 1)


@pytest.mark.parametrize(("bits", "error"), [(0, ValueError), (2.5, TypeError), (-1, ValueError)])
def test_quantize_checks_bits_when_a_scale_is_given(bits, error):
    # issue 12: quantize(w, bits=0, scale=0.1) returned zeros, bits=2.5 returned ±1, silently
    with pytest.raises(error, match="bits must be an integer"):
        quant.quantize(torch.randn(5), bits=bits, scale=0.1)
    with pytest.raises(error, match="bits must be an integer"):
        quant.fake_quantize(torch.randn(5), bits=bits, scale=0.1)
