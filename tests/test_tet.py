import pytest
import torch

from spikelearn import tet, training


def _ce_by_hand(logits, targets):
    """Mean cross-entropy written out: -log(exp(z_y) / Σ_c exp(z_c))."""
    log_p = logits - torch.log(torch.exp(logits).sum(-1, keepdim=True))
    return -log_p[torch.arange(len(targets)), targets].mean()


def _tet_by_hand(out, targets, lamb, phi):
    per_step = sum(_ce_by_hand(out[t], targets) for t in range(out.shape[0])) / out.shape[0]
    return (1 - lamb) * per_step + lamb * ((out - phi) ** 2).mean()


@pytest.mark.parametrize("lamb, phi", [(0.0, 1.0), (1e-3, 1.0), (0.3, 0.5)])
def test_tet_loss_against_the_formula_written_here(lamb, phi):
    torch.manual_seed(0)
    mem = torch.randn(5, 7, 4) * 3
    y = torch.randint(0, 4, (7,))
    spk = (mem > 1).float()
    expected = _tet_by_hand(mem, y, lamb, phi)
    torch.testing.assert_close(tet.tet_loss(lamb, phi)((spk, mem), y), expected)
    torch.testing.assert_close(tet.tet_loss(lamb, phi)(mem, y), expected)  # a plain output
    if lamb == 0:  # TET without its regulariser is the per-step membrane cross-entropy
        torch.testing.assert_close(training.ce_membrane_loss()((spk, mem), y), expected)


def test_per_step_gradients_tet_differs_by_step_the_mean_output_loss_does_not():
    torch.manual_seed(0)
    steps, batch, classes = 4, 6, 3
    out = torch.randn(steps, batch, classes, requires_grad=True)
    y = torch.randint(0, classes, (batch,))
    onehot = torch.nn.functional.one_hot(y, classes).float()
    (grad_mean,) = torch.autograd.grad(tet.mean_output_loss()(out, y), out)
    expected_mean = (torch.softmax(out.mean(0), -1) - onehot) / (steps * batch)
    for t in range(steps):  # ∂L/∂O[t] = (softmax(Ō) - onehot)/(T·B): the same at every step
        torch.testing.assert_close(grad_mean[t], expected_mean)
    (grad_tet,) = torch.autograd.grad(tet.tet_loss(lamb=0)(out, y), out)
    expected_tet = (torch.softmax(out, -1) - onehot) / (steps * batch)  # each step its own
    torch.testing.assert_close(grad_tet, expected_tet)
    assert float((grad_tet[0] - grad_tet[1]).abs().max()) > 1e-3


def test_accuracy_reads_the_mean_output_and_fit_trains_with_tet():
    out = torch.tensor([[[2.0, 0.0]], [[-1.0, 0.5]]])  # mean over time: [0.5, 0.25] -> class 0
    assert tet.accuracy_mean_output(out, torch.tensor([0])) == 1.0
    assert tet.accuracy_mean_output((out > 0, out), torch.tensor([1])) == 0.0
    torch.manual_seed(0)
    from spikelearn import models

    x = torch.rand(64, 1, 4, 4)
    y = (x.mean((1, 2, 3)) > 0.5).long()
    data = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    net = models.spiking_mlp(16, num_classes=2, hidden=16, depth=2, return_mem=True)
    history = training.fit(net, data, epochs=15, num_steps=3, loss_fn=tet.tet_loss(), lr=0.01,
                           progress=False)  # fmt: skip
    assert history["loss"][-1] < history["loss"][0]


def test_bad_input():
    with pytest.raises(ValueError, match=r"lamb must be in \[0, 1\], got 2"):
        tet.tet_loss(lamb=2)
    with pytest.raises(ValueError, match="output must have >= 3 dimensions"):
        tet.tet_loss()(torch.rand(4, 3), torch.zeros(4, dtype=torch.long))
