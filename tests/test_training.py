"""Training: losses equal snnTorch's, fit/evaluate train a real SNN, seeding, checkpoints."""

import math

import pytest
import snntorch.functional as SF
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from spikelearn import encoding, layers, neurons, training
from spikelearn import surrogate as S


def snn_mlp(inputs=8, hidden=32, classes=4, return_mem=False):
    sg = S.fast_sigmoid(slope=25)
    return nn.Sequential(
        layers.TimeFolded(nn.Linear(inputs, hidden)),
        layers.Spiking(neurons.LIF(0.9, spike_grad=sg)),
        layers.TimeFolded(nn.Linear(hidden, classes)),
        layers.Spiking(neurons.LIF(0.9, spike_grad=sg), return_mem=return_mem),
    )


def blobs(n=256, inputs=8, classes=4, seed=0):
    """Four well-separated clusters (class k: inputs 2k and 2k+1 on, plus noise)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(classes).repeat_interleave(inputs // classes, dim=1)
    y = torch.arange(n) % classes
    x = (centres[y] + 0.05 * torch.randn(n, inputs, generator=g)).clamp(0, 1)
    return TensorDataset(x, y)


def loaders(batch_size=32):
    train, test = blobs(seed=0), blobs(n=128, seed=0)
    g = torch.Generator().manual_seed(0)
    return DataLoader(train, batch_size, shuffle=True, generator=g), DataLoader(test, 64)


def spikes_and_targets(seed=0):
    g = torch.Generator().manual_seed(seed)
    spk = (torch.rand(12, 6, 5, generator=g) < 0.3).float().requires_grad_()
    return spk, torch.randint(0, 5, (6,), generator=g)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (training.ce_count_loss(), SF.ce_count_loss()),
        (training.ce_rate_loss(), SF.ce_rate_loss()),
        (training.mse_count_loss(), SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.2)),
        (
            training.mse_count_loss(1.0, 0.1),
            SF.mse_count_loss(correct_rate=1.0, incorrect_rate=0.1),
        ),
    ],
    ids=repr,
)
def test_losses_equal_snntorch(ours, theirs):
    spk, y = spikes_and_targets()
    a, b = ours(spk, y), theirs(spk, y)
    torch.testing.assert_close(a, b.reshape(a.shape))  # snnTorch's ce_rate_loss has shape [1]
    torch.testing.assert_close(torch.autograd.grad(a, spk)[0], torch.autograd.grad(b, spk)[0])


def test_loss_takes_tuple_output_and_membrane_loss_needs_it():
    spk, y = spikes_and_targets()
    mem = torch.randn(12, 6, 5)
    assert training.ce_count_loss()((spk, mem), y) == training.ce_count_loss()(spk, y)
    per_step = torch.stack([nn.functional.cross_entropy(m, y) for m in mem]).mean()
    torch.testing.assert_close(training.ce_membrane_loss()((spk, mem), y), per_step)
    with pytest.raises(ValueError, match=r"return \(spk, mem\).*return_mem=True"):
        training.ce_membrane_loss()(spk, y)


def test_accuracy_functions():
    spk = torch.zeros(3, 2, 3)
    spk[:, 0, 2] = 1  # sample 0 -> class 2
    spk[:2, 1, 1] = 1  # sample 1 -> class 1
    assert training.accuracy_rate(spk, torch.tensor([2, 1])) == 1.0
    assert training.accuracy_rate((spk, None), torch.tensor([2, 0])) == 0.5
    mem = torch.zeros(3, 2, 3)
    mem[:, 0, 1], mem[:, 1, 0] = 1.0, 2.0
    assert training.accuracy_membrane((spk, mem), torch.tensor([1, 2])) == 0.5


def test_mse_count_loss_checks_rates():
    with pytest.raises(ValueError, match=r"correct_rate must be in \[0, 1\], got 1.5"):
        training.mse_count_loss(correct_rate=1.5)


def test_fit_learns_and_returns_history():
    torch.manual_seed(0)
    net = snn_mlp()
    train_loader, test_loader = loaders()
    before = training.evaluate(net, test_loader, num_steps=10)
    hist = training.fit(
        net, train_loader, epochs=5, num_steps=10, lr=2e-2, test_loader=test_loader, progress=False
    )
    assert set(hist) == {"loss", "train_acc", "test_acc"}
    assert all(len(v) == 5 for v in hist.values())
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["test_acc"][-1] >= 0.95 > before
    assert hist["test_acc"][-1] == training.evaluate(net, test_loader, num_steps=10)
    assert not any(p.grad is None for p in net.parameters())


def test_fit_is_seeded():
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # same initial weights; fit seeds shuffling itself
        net = snn_mlp()
        train_loader = DataLoader(blobs(), 32, shuffle=True)  # shuffled by the global generator
        runs.append(training.fit(net, train_loader, epochs=2, num_steps=5, seed=7, progress=False))
    assert runs[0] == runs[1]
    assert runs[0]["test_acc"] == []


def test_fit_accepts_snntorch_losses_and_membrane_losses():
    train_loader, test_loader = loaders()
    torch.manual_seed(0)
    hist = training.fit(
        snn_mlp(), train_loader, epochs=5, num_steps=10, lr=2e-2,
        loss_fn=SF.ce_rate_loss(), test_loader=test_loader, progress=False,
    )  # fmt: skip
    assert hist["loss"][-1] < hist["loss"][0] and hist["test_acc"][-1] >= 0.9
    torch.manual_seed(0)
    net = snn_mlp(return_mem=True)
    hist = training.fit(
        net, train_loader, epochs=5, num_steps=10, lr=2e-2,
        loss_fn=training.ce_membrane_loss(), test_loader=test_loader, progress=False,
    )  # fmt: skip
    assert hist["loss"][-1] < hist["loss"][0] and hist["test_acc"][-1] >= 0.9
    acc = training.evaluate(net, test_loader, num_steps=10, accuracy_fn=training.accuracy_membrane)
    assert acc == hist["test_acc"][-1]


def test_fit_with_custom_encoder_and_optimizer():
    calls = []

    def encode(x, num_steps):
        calls.append(num_steps)
        return (torch.rand(num_steps, *x.shape) < x).float()  # Bernoulli rate code

    net = snn_mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.0)  # lr 0: weights must not move
    before = [p.detach().clone() for p in net.parameters()]
    training.fit(
        net, loaders()[0], epochs=1, num_steps=7, encode=encode, optimizer=opt, progress=False
    )
    assert calls and set(calls) == {7}
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_cosine_scheduler_is_cosine_annealing_over_the_epochs():
    # scheduler="cosine" is Adam(lr) + CosineAnnealingLR(T_max=epochs) written out: same weights
    runs = []
    for by_name in (False, True):
        torch.manual_seed(0)
        net = snn_mlp()
        if by_name:
            kwargs = {"lr": 2e-2, "scheduler": "cosine"}
        else:
            opt = torch.optim.Adam(net.parameters(), lr=2e-2)
            kwargs = {
                "optimizer": opt,
                "scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(opt, 3),
            }
        hist = training.fit(net, loaders()[0], epochs=3, num_steps=5, progress=False, **kwargs)
        runs.append((hist, [p.detach().clone() for p in net.parameters()]))
    (h0, w0), (h1, w1) = runs
    assert h0 == h1 and all(torch.equal(a, b) for a, b in zip(w0, w1, strict=True))


def test_cosine_scheduler_follows_the_formula_on_a_given_optimizer():
    net = snn_mlp()
    opt, seen = torch.optim.SGD(net.parameters(), lr=0.1), []

    def loss_fn(spk, y):  # records the learning rate of every training batch
        seen.append(opt.param_groups[0]["lr"])
        return training.ce_count_loss()(spk, y)

    train_loader = loaders()[0]
    training.fit(net, train_loader, epochs=4, num_steps=5, loss_fn=loss_fn, optimizer=opt,
                 scheduler="cosine", progress=False)  # fmt: skip
    per_epoch = [seen[e * len(train_loader)] for e in range(4)]
    assert len(set(seen)) == 4  # constant within an epoch, stepped once per epoch
    expected = [0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert per_epoch == pytest.approx(expected, abs=1e-12)
    assert abs(opt.param_groups[0]["lr"]) < 1e-12  # annealed to 0 after the last epoch


def test_scheduler_bad_input():
    net, (train_loader, _) = snn_mlp(), loaders()
    with pytest.raises(ValueError, match="scheduler must be one of 'cosine', got 'linear'"):
        training.fit(net, train_loader, epochs=1, num_steps=5, scheduler="linear", progress=False)
    with pytest.raises(TypeError, match="scheduler must be one of .* got int"):
        training.fit(net, train_loader, epochs=1, num_steps=5, scheduler=3, progress=False)


def test_direct_encoding_repeats_the_input():
    x = torch.rand(3, 4)
    seq = encoding.direct(x, 5)
    assert seq.shape == (5, 3, 4) and all(torch.equal(s, x) for s in seq)


def test_checkpoint_round_trip(tmp_path):
    net = snn_mlp()
    opt = torch.optim.Adam(net.parameters())
    hist = training.fit(net, loaders()[0], epochs=1, num_steps=5, optimizer=opt, progress=False)
    training.save_checkpoint(tmp_path / "ckpt.pt", net, opt, hist)
    other, other_opt = snn_mlp(), torch.optim.Adam(snn_mlp().parameters())
    loaded = training.load_checkpoint(tmp_path / "ckpt.pt", other, other_opt)
    assert loaded == hist
    sd_a, sd_b = net.state_dict(), other.state_dict()
    assert all(torch.equal(sd_a[k], sd_b[k]) for k in sd_a)


def test_bad_arguments():
    net, (train_loader, _) = snn_mlp(), loaders()
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        training.fit(net, train_loader, epochs=0, num_steps=5, progress=False)
    with pytest.raises(TypeError, match="num_steps must be an integer, got float"):
        training.fit(net, train_loader, epochs=1, num_steps=2.5, progress=False)
    with pytest.raises(ValueError, match=r"lr must be in \(0, inf\), got -1"):
        training.fit(net, train_loader, epochs=1, num_steps=5, lr=-1, progress=False)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        training.evaluate(lambda x: x, train_loader, num_steps=5)
    with pytest.raises(ValueError, match="empty loader"):
        training.evaluate(net, [], num_steps=5)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        training.fit(net, train_loader, epochs=1, num_steps=5, loss_fn="mse", progress=False)


def test_direct_has_one_home_and_the_old_name_still_works():
    # issue 12: encoding.direct re-exported encoding.direct; tutorials 06-08 still call it
    assert "direct" not in training.__all__
    assert encoding.direct is encoding.direct
