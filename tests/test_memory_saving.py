import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from spikelearn import (
    adaptive,
    attention,
    layers,
    memory,
    memory_saving,
    models,
    neurons,
    recurrent,
)


def _loss(out, y):
    mem = out[1] if isinstance(out, tuple) else out
    return nn.functional.cross_entropy(mem.mean(0), y)


def _grads(net, run, x, y):
    net.zero_grad()
    loss = _loss(run(), y)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in net.parameters()]


def _nets():
    torch.manual_seed(0)
    vgg = models.spiking_vgg(width=6, depth=2, norm="none", return_mem=True)
    sew = models.spiking_resnet(width=4, blocks=(1, 1), norm="none", block="sew", return_mem=True)
    mlp = models.spiking_mlp(64, hidden=12, depth=3)  # spikes out
    former = attention.spiking_transformer(dim=8, heads=2, return_mem=True)
    former(torch.rand(4, 8, 1, 8, 8))  # running statistics, then frozen
    return {"vgg": vgg, "sew": sew, "mlp": mlp, "transformer": former.eval()}


@pytest.mark.parametrize("name", ["vgg", "sew", "mlp", "transformer"])
@pytest.mark.parametrize("segment", [1, 3, 7, 20])
def test_checkpointed_bptt_gives_plain_bptts_outputs_and_gradients(name, segment):
    net = _nets()[name]
    torch.manual_seed(1)
    x, y = torch.rand(7, 5, 1, 8, 8) * 1.5, torch.randint(0, 10, (5,))
    loss, grads = _grads(net, lambda: net(x), x, y)
    loss_c, grads_c = _grads(
        net, lambda: memory_saving.checkpoint_through_time(net, x, segment), x, y
    )
    assert torch.equal(loss_c, loss)  # the forward pass is the same arithmetic
    assert any(float(g.abs().sum()) > 0 for g in grads)
    for g, g_c in zip(grads, grads_c, strict=True):  # summed in another order: float tolerance
        torch.testing.assert_close(g_c, g, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["vgg", "sew", "mlp", "transformer"])
def test_one_bit_spikes_gives_the_same_gradients_bit_for_bit(name):
    net = _nets()[name]
    torch.manual_seed(1)
    x, y = torch.rand(6, 5, 1, 8, 8) * 1.5, torch.randint(0, 10, (5,))
    loss, grads = _grads(net, lambda: net(x), x, y)

    def run():
        with memory_saving.one_bit_spikes():
            return net(x)

    loss_b, grads_b = _grads(net, run, x, y)
    assert torch.equal(loss_b, loss)
    for g, g_b in zip(grads, grads_b, strict=True):
        assert torch.equal(g_b, g)
    plain = memory.saved_bytes(lambda: net(x))
    bits = memory.saved_bytes(lambda: net(x), hooks=memory_saving.one_bit_spikes())
    assert bits < plain


@pytest.mark.parametrize(
    "make",
    [
        lambda: neurons.Synaptic(0.6, 0.9),
        lambda: adaptive.ALIF(0.9, 0.95, beta_a=0.5),
        lambda: recurrent.RLIF(0.9, linear_features=12),
    ],
    ids=["Synaptic", "ALIF", "RLIF"],
)
def test_checkpointing_carries_every_state_of_the_neuron_core(make):
    torch.manual_seed(0)
    net = nn.Sequential(
        layers.TimeFolded(nn.Linear(6, 12)), layers.Spiking(make()),
        layers.TimeFolded(nn.Linear(12, 3)), layers.Spiking(neurons.LIF(0.9), return_mem=True),
    )  # fmt: skip
    x, y = torch.rand(9, 4, 6) * 2, torch.randint(0, 3, (4,))
    loss, grads = _grads(net, lambda: net(x), x, y)
    loss_c, grads_c = _grads(net, lambda: memory_saving.checkpoint_through_time(net, x, 4), x, y)
    assert torch.equal(loss_c, loss)
    for g, g_c in zip(grads, grads_c, strict=True):
        torch.testing.assert_close(g_c, g, rtol=1e-5, atol=1e-6)


def test_what_checkpointing_keeps_is_the_input_and_one_membrane_per_neuron_per_segment():
    torch.manual_seed(0)
    net = models.spiking_mlp(64, hidden=12, depth=3, return_mem=True)
    x = torch.rand(12, 5, 1, 8, 8)
    state = 5 * (12 + 12 + 10) * 4  # one step of every neuron's membrane, float32
    for segment in (1, 2, 3, 4, 6, 12):
        kept = memory.saved_bytes(
            lambda s=segment: memory_saving.checkpoint_through_time(net, x, s)
        )
        segments = 12 // segment
        # the input, once in slices; the membranes where segments 2.. start; the 0-d anchor
        assert kept == x.numel() * 4 + (segments - 1) * state + segments * 4


@given(
    st.lists(st.booleans(), min_size=1, max_size=50),
    st.sampled_from([torch.float32, torch.float64]),
)
def test_bits_round_trip_exactly(values, dtype):
    x = torch.tensor(values, dtype=dtype).reshape(len(values), 1)
    bits, shape, got_dtype = memory_saving.pack_bits(x)
    assert bits.dtype == torch.uint8 and bits.numel() == -(-len(values) // 8)
    back = memory_saving.unpack_bits((bits, shape, got_dtype))
    assert back.dtype == dtype and torch.equal(back, x)


def test_one_bit_keeps_other_tensors_as_they_are():
    w = torch.randn(4, 16, requires_grad=True)
    spikes = (torch.rand(3, 16) < 0.5).float()
    currents = torch.randn(3, 16)
    hooks = memory_saving.one_bit_spikes()
    # x @ w.T saves x for w's gradient: 48 spikes in 6 bytes; currents stay 48 floats
    assert memory.saved_bytes(lambda: spikes @ w.T, hooks=hooks) == 6
    assert memory.saved_bytes(lambda: currents @ w.T, hooks=hooks) == 3 * 16 * 4


def test_bad_input():
    net = models.spiking_mlp(4, hidden=4, depth=2, norm="bn")
    with pytest.raises(ValueError, match="batch norm in training mode"):
        memory_saving.checkpoint_through_time(net, torch.rand(3, 2, 4), 2)
    net.eval()
    memory_saving.checkpoint_through_time(net, torch.rand(3, 2, 4), 2)  # frozen statistics: fine
    with pytest.raises(ValueError, match="segment must be an integer >= 1, got 0"):
        memory_saving.checkpoint_through_time(net, torch.rand(3, 2, 4), 0)

    class Outside(nn.Module):  # a neuron outside the core: its state is unknown
        kind = "neuron"

        def multi_step(self, x_seq):
            return (x_seq > 0).float(), x_seq

    other = nn.Sequential(layers.TimeFolded(nn.Linear(4, 2)), layers.Spiking(Outside()))
    with pytest.raises(TypeError, match="resumes neurons of the neuron core .* got Outside"):
        memory_saving.checkpoint_through_time(other, torch.rand(3, 2, 4), 2)
