"""ReLU networks: their ReLU outputs, and train_ann is Adam on cross-entropy (+ activity penalty)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from spikelearn import datasets, relu_nets


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)
    )


def blobs(n=256, seed=0):
    """Four separable clusters in 8 inputs (class k: inputs 2k and 2k+1 on, plus noise)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = (torch.eye(4).repeat_interleave(2, dim=1)[y] + 0.1 * torch.randn(n, 8, generator=g)).clamp(
        0, 1
    )
    return x, y


def test_relu_outputs_are_every_relu_in_order_and_hooks_are_removed():
    model, x = mlp(), torch.rand(5, 8)
    outs, y = relu_nets.relu_outputs(model, x)
    h1 = torch.relu(model[0](x))
    h2 = torch.relu(model[2](h1))
    assert len(outs) == 2 and torch.equal(outs[0], h1) and torch.equal(outs[1], h2)
    assert torch.equal(y, model[4](h2)) and not y.requires_grad and not outs[0].requires_grad
    outs, y = relu_nets.relu_outputs(model, x, grad=True)  # the graph kept, for a penalty
    assert outs[0].requires_grad and y.requires_grad
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(RuntimeError):  # a failing forward still removes the hooks
        relu_nets.relu_outputs(model, torch.rand(5, 3))
    assert all(not m._forward_hooks for m in model.modules())


def hand_loop(model, x, y, epochs, lr, penalty, batch_size, seed):
    """The loop train_ann stands for, written out with the layers called one by one."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            h1 = torch.relu(model[0](x[idx]))
            h2 = torch.relu(model[2](h1))
            loss = F.cross_entropy(model[4](h2), y[idx])
            if penalty:
                loss = loss + penalty * (h1.mean() + h2.mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


@pytest.mark.parametrize("penalty", [0.0, 0.3])
def test_train_ann_is_adam_on_cross_entropy_plus_the_penalty_bit_for_bit(penalty):
    x, y = blobs()
    ours = relu_nets.train_ann(
        mlp(), datasets.TensorLoader(x, y, batch_size=32, seed=3), epochs=3, lr=1e-2,
        activity_penalty=penalty,
    )  # fmt: skip
    theirs = hand_loop(mlp(), x, y, epochs=3, lr=1e-2, penalty=penalty, batch_size=32, seed=3)
    assert all(
        torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters(), strict=True)
    )
    assert not ours.training  # returned in eval mode, ready to convert or map


def test_train_ann_learns_and_the_penalty_lowers_the_activity():
    x, y = blobs()
    loader = DataLoader(
        TensorDataset(x, y), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    before = (mlp()(x).argmax(1) == y).float().mean().item()
    active, acc = {}, {}
    for penalty in (0.0, 0.5):
        model = relu_nets.train_ann(mlp(), loader, epochs=20, lr=1e-2, activity_penalty=penalty)
        with torch.no_grad():
            outs, logits = relu_nets.relu_outputs(model, x)
        acc[penalty] = (logits.argmax(1) == y).float().mean().item()
        active[penalty] = torch.cat([o.flatten() for o in outs]).gt(0).float().mean().item()
    assert before < 0.5 and min(acc.values()) >= 0.95  # both learn the separable clusters
    assert active[0.5] < 0.5 * active[0.0]  # the penalty silences most ReLUs


def test_train_ann_bad_input():
    x, y = blobs(16)
    loader = datasets.TensorLoader(x, y, batch_size=8)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        relu_nets.train_ann(lambda v: v, loader, epochs=1)
    with pytest.raises(TypeError, match="train_loader must be an iterable"):
        relu_nets.train_ann(mlp(), 3, epochs=1)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        relu_nets.train_ann(mlp(), loader, epochs=0)
    with pytest.raises(ValueError, match=r"lr must be in \(0, inf\), got -1"):
        relu_nets.train_ann(mlp(), loader, epochs=1, lr=-1)
    with pytest.raises(ValueError, match=r"activity_penalty must be in \[0, inf\), got -0.1"):
        relu_nets.train_ann(mlp(), loader, epochs=1, activity_penalty=-0.1)
    with pytest.raises(ValueError, match="activity_penalty=0.1 needs nn.ReLU modules .* Linear"):
        relu_nets.train_ann(nn.Linear(8, 4), loader, epochs=1, activity_penalty=0.1)
    with pytest.raises(ValueError, match="empty loader"):
        relu_nets.train_ann(mlp(), [], epochs=1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        relu_nets.relu_outputs(lambda v: v, x)
