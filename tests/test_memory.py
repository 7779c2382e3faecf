import pytest
import torch

from spikelearn import memory, neurons


def test_saved_bytes_counts_what_autograd_saves():
    w = torch.randn(5, 7, requires_grad=True)
    x = torch.randn(3, 7)
    # x @ w.T saves x (3x7 floats) for w's gradient; w is not saved as x needs no gradient
    assert memory.saved_bytes(lambda: x @ w.T) == 3 * 7 * 4
    assert memory.saved_bytes(lambda: (x @ w.T).detach() * 2) == 3 * 7 * 4
    with torch.no_grad():
        assert memory.saved_bytes(lambda: x @ w.T) == 0


def test_saved_bytes_grows_with_the_steps_of_a_step_loop():
    lif = neurons.LIF(beta=0.9)
    x = torch.rand(40, 4, 6, requires_grad=True)

    def loop(steps):
        mem = None
        for t in range(steps):
            _, mem = lif(x[t], mem)

    b10, b20, b30 = (memory.saved_bytes(loop, steps) for steps in (10, 20, 30))
    assert b30 - b20 == b20 - b10 > 0  # every step saves the same tensors again


def test_saved_bytes_counts_what_a_storage_hook_keeps():
    w = torch.randn(5, 7, requires_grad=True)
    x = torch.randn(3, 7)
    as_half = torch.autograd.graph.saved_tensors_hooks(
        lambda t: (t.half(), "a note"), lambda packed: packed[0].float()
    )
    assert memory.saved_bytes(lambda: x @ w.T, hooks=as_half) == 3 * 7 * 2  # float16: 2 bytes
    with pytest.raises(TypeError, match="hooks must be a torch.autograd.graph.saved_tensors_hooks"):
        memory.saved_bytes(lambda: x @ w.T, hooks=(lambda t: t, lambda t: t))
