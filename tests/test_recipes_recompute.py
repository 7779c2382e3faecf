"""Gradient checkpointing of BPTT: the same outputs, gradients and running statistics."""

import pytest
import torch

from spikelearn import models
from spikelearn.recipes import recompute


def resnet():
    torch.manual_seed(0)
    return models.spiking_resnet(width=4, blocks=(1, 1), hidden=8, return_mem=True)


@pytest.mark.parametrize("segments", [None, 2, 5])
def test_checkpointed_bptt_gives_the_same_gradients_and_statistics(segments):
    plain, checked = resnet(), resnet()
    wrapped = recompute.Recomputed(checked, segments)
    x, y = torch.rand(4, 6, 1, 8, 8), torch.randint(0, 10, (6,))
    grads = []
    for net in (plain, wrapped):
        spk, mem = net(x)
        torch.nn.functional.cross_entropy(mem.mean(0), y).backward()
        grads.append([p.grad for p in (plain if net is plain else checked).parameters()])
    assert any(g.abs().sum() > 0 for g in grads[0])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    # the recomputation in backward must not update the running statistics a second time
    for (name, a), b in zip(plain.named_buffers(), checked.buffers(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    assert list(wrapped.net.state_dict()) == list(plain.state_dict())


def test_without_gradients_it_is_the_plain_forward():
    net = resnet().eval()
    x = torch.rand(2, 3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(recompute.Recomputed(net, 3)(x), net(x))


def test_bad_segments_are_named():
    with pytest.raises(ValueError, match=r"segments must be in \[1, "):
        recompute.Recomputed(resnet(), 0)
    with pytest.raises(TypeError, match="needs an nn.Sequential"):
        recompute.Recomputed(torch.nn.Linear(2, 2))
