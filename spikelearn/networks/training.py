"""Training spiking networks with backpropagation through time (BPTT).

An SNN run for T steps is a recurrent network unrolled in time. The loss is computed from the
output layer's spikes (or membrane potentials) over all steps, and ``loss.backward()`` sends the
gradient back through every step and layer, with a surrogate derivative standing in for the
spike's (Neftci, Mostafa & Zenke 2019, IEEE Signal Processing Magazine; Eshraghian et al. 2023,
Proc. IEEE, arXiv 2109.12894, section 4)::

    history = fit(net, train_loader, epochs=5, num_steps=25, test_loader=test_loader)
    acc = evaluate(net, test_loader, num_steps=25)

The model maps ``[T, B, ...]`` to output spikes ``[T, B, classes]``, or to a tuple
``(spk, mem)`` whose first item is that (``layers.Spiking(neuron, return_mem=True)`` on the
output layer). Losses (snnTorch's names and numbers, ``snntorch.functional``):

* ``ce_count_loss()`` (default) - cross-entropy on spike counts ``Σ_t o[t]`` as logits;
* ``ce_rate_loss()`` - cross-entropy on each step's spikes, averaged over the T steps;
* ``ce_membrane_loss()`` - cross-entropy on each step's output membrane, averaged over steps
  (needs ``(spk, mem)``; snnTorch's tutorial 5 sums over steps instead, T times larger);
* ``mse_count_loss(correct_rate, incorrect_rate)`` - mean squared error between spike counts
  and target counts ``T·rate`` for the correct and the incorrect classes, divided by T.

Any other ``loss_fn(spk, targets)`` works too, for example ``snntorch.functional.ce_rate_loss()``:
``fit`` hands it the spike tensor ``[T, B, classes]``; spikelearn's own losses get the model's
whole output so the membrane losses can read ``output[1]``.
"""

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .._checks import check_choice, check_int, check_positive, check_range
from ..cells import encoding

SCHEDULERS = ("cosine",)  # the learning-rate schedules fit builds by name


def _spikes(output):
    return output[0] if isinstance(output, (tuple, list)) else output


def _membrane(output):
    if not isinstance(output, (tuple, list)) or len(output) < 2:
        raise ValueError(
            "a membrane loss needs the model to return (spk, mem), got a single tensor; "
            "use layers.Spiking(neuron, return_mem=True) as the output layer"
        )
    return output[1]


def accuracy_rate(output, targets):
    """Fraction of samples whose most active output neuron (spike count) is the target."""
    return (_spikes(output).sum(0).argmax(-1) == targets).float().mean().item()


def accuracy_membrane(output, targets):
    """Fraction of samples whose output neuron with the largest mean membrane is the target."""
    return (_membrane(output).mean(0).argmax(-1) == targets).float().mean().item()


class Loss:
    """Base class: ``loss(output, targets)``; ``accuracy`` is the matching accuracy function."""

    accuracy = staticmethod(accuracy_rate)

    def __repr__(self):
        args = ", ".join(f"{k}={v:g}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class ce_count_loss(Loss):  # noqa: N801 - snnTorch's name
    """Cross-entropy with spike counts as logits: ``CE(Σ_t o[t], y)`` (snnTorch ``ce_count_loss``)."""

    def __call__(self, output, targets):
        return F.cross_entropy(_spikes(output).sum(0), targets)


class ce_rate_loss(Loss):  # noqa: N801
    """Cross-entropy on every step's spikes, averaged: ``(1/T) Σ_t CE(o[t], y)`` (snnTorch's)."""

    def __call__(self, output, targets):
        spk = _spikes(output)
        return F.cross_entropy(spk.flatten(0, 1), targets.repeat(spk.shape[0]))


class ce_membrane_loss(Loss):  # noqa: N801
    """Cross-entropy on every step's output membrane, averaged: ``(1/T) Σ_t CE(u[t], y)``."""

    accuracy = staticmethod(accuracy_membrane)

    def __call__(self, output, targets):
        mem = _membrane(output)
        return F.cross_entropy(mem.flatten(0, 1), targets.repeat(mem.shape[0]))


class mse_count_loss(Loss):  # noqa: N801
    """``MSE(Σ_t o[t], T·rate) / T`` with rate ``correct_rate`` for the target class and
    ``incorrect_rate`` for the others (snnTorch's ``mse_count_loss``, same integer targets).

    Args:
        correct_rate: target firing rate of the correct class, in [0, 1].
        incorrect_rate: target firing rate of the other classes, in [0, 1].
    """

    def __init__(self, correct_rate=0.8, incorrect_rate=0.2):
        self.correct_rate = float(check_range("correct_rate", correct_rate, 0, 1))
        self.incorrect_rate = float(check_range("incorrect_rate", incorrect_rate, 0, 1))

    def __call__(self, output, targets):
        spk = _spikes(output)
        steps = spk.shape[0]
        on, off = int(steps * self.correct_rate), int(steps * self.incorrect_rate)
        target = torch.full_like(spk[0], float(off))
        target.scatter_(-1, targets[:, None], float(on))
        return F.mse_loss(spk.sum(0), target) / steps


def _device(model, device):
    if device is not None:
        return torch.device(device)
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _check_model_loader(model, loader, name):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not hasattr(loader, "__iter__"):
        raise TypeError(
            f"{name} must be an iterable of (x, y) batches, got {type(loader).__name__}"
        )


@torch.no_grad()
def evaluate(model, loader, *, num_steps, encode=None, device=None, accuracy_fn=None):
    """Accuracy of ``model`` over ``loader`` (spike-count accuracy unless ``accuracy_fn``).

    Args:
        model: maps ``[T, B, ...]`` to output spikes ``[T, B, classes]`` (or ``(spk, mem)``).
        loader: iterable of ``(x, y)`` batches, ``x`` of shape ``[B, ...]``.
        num_steps: number of time steps T.
        encode: ``encode(x, num_steps) -> [T, B, ...]`` (default :func:`spikelearn.encoding.direct`).
        device: where to run (default: the model's device).
        accuracy_fn: ``accuracy_fn(output, y) -> fraction`` (default :func:`accuracy_rate`).

    Returns:
        The accuracy in [0, 1] as a float.
    """
    _check_model_loader(model, loader, "loader")
    num_steps = check_int("num_steps", num_steps, low=1)
    encode, accuracy_fn = encode or encoding.direct, accuracy_fn or accuracy_rate
    device, was_training = _device(model, device), model.training
    model.to(device).eval()
    correct, total = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        correct += accuracy_fn(model(encode(x, num_steps)), y) * len(y)
        total += len(y)
    model.train(was_training)
    if total == 0:
        raise ValueError("loader must yield at least one batch, got an empty loader")
    return correct / total


def fit(
    model,
    train_loader,
    *,
    epochs,
    num_steps,
    encode=None,
    loss_fn=None,
    optimizer=None,
    lr=1e-3,
    scheduler=None,
    test_loader=None,
    device=None,
    seed=0,
    progress=True,
):
    """Train ``model`` with BPTT; returns the history of each epoch.

    Args:
        model: maps ``[T, B, ...]`` to output spikes ``[T, B, classes]`` (or ``(spk, mem)``).
        train_loader: iterable of ``(x, y)`` batches, ``x`` of shape ``[B, ...]``.
        epochs: passes over ``train_loader``.
        num_steps: number of time steps T each input is presented for.
        encode: ``encode(x, num_steps) -> [T, B, ...]`` (default :func:`spikelearn.encoding.direct`), e.g.
            ``spikelearn.encoding.rate`` or ``lambda x, T: snntorch.spikegen.rate(x, T)``.
        loss_fn: a spikelearn loss (default ``ce_count_loss()``) or any ``loss(spk, y)`` such as
            ``snntorch.functional.ce_rate_loss()``.
        optimizer: a ``torch.optim`` optimizer (default Adam over ``model.parameters()``).
        lr: learning rate of the default optimizer.
        scheduler: ``"cosine"`` anneals the learning rate from its start to 0 over the ``epochs``,
            ``η_e = η_0 (1 + cos(π e / epochs)) / 2`` after epoch ``e`` (Loshchilov & Hutter 2017,
            SGDR, arXiv 1608.03983: ``CosineAnnealingLR(optimizer, T_max=epochs)``); or any
            ``torch.optim.lr_scheduler`` built on ``optimizer``. Stepped once per epoch.
        test_loader: if given, the test accuracy is measured after every epoch.
        device: where to train (default: the model's device), e.g. ``"cuda"``.
        seed: seeds ``torch`` before training (shuffling, dropout, rate encoding).
        progress: show a ``tqdm`` progress bar.

    Returns:
        ``{"loss": [...], "train_acc": [...], "test_acc": [...]}``, one value per epoch
        (``test_acc`` stays empty without a ``test_loader``).
    """
    _check_model_loader(model, train_loader, "train_loader")
    epochs = check_int("epochs", epochs, low=1)
    num_steps = check_int("num_steps", num_steps, low=1)
    check_positive("lr", lr)
    torch.manual_seed(check_int("seed", seed))
    encode, loss_fn = encode or encoding.direct, loss_fn or ce_count_loss()
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if isinstance(scheduler, str):
        check_choice("scheduler", scheduler, SCHEDULERS)
    elif scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(
            f"scheduler must be one of {SCHEDULERS} or a torch.optim.lr_scheduler, "
            f"got {type(scheduler).__name__}"
        )
    ours = isinstance(loss_fn, Loss)
    accuracy_fn = loss_fn.accuracy if ours else accuracy_rate
    device = _device(model, device)
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    if scheduler == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = {"loss": [], "train_acc": [], "test_acc": []}
    bar = tqdm(range(epochs), desc="epochs", disable=not progress)
    for _ in bar:
        model.train()
        loss_sum, correct, total = 0.0, 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            output = model(encode(x, num_steps))
            loss = loss_fn(output if ours else _spikes(output), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += accuracy_fn(output, y) * len(y)
            total += len(y)
        if total == 0:
            raise ValueError("train_loader must yield at least one batch, got an empty loader")
        if scheduler is not None:
            scheduler.step()
        history["loss"].append(loss_sum / total)
        history["train_acc"].append(correct / total)
        if test_loader is not None:
            history["test_acc"].append(
                evaluate(
                    model,
                    test_loader,
                    num_steps=num_steps,
                    encode=encode,
                    device=device,
                    accuracy_fn=accuracy_fn,
                )
            )
        bar.set_postfix({k: f"{v[-1]:.3f}" for k, v in history.items() if v})
    return history


def save_checkpoint(path, model, optimizer=None, history=None):
    """Save the model (and optimizer state, history) with ``torch.save``."""
    state = {"model": model.state_dict(), "history": history or {}}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    torch.save(state, path)


def load_checkpoint(path, model, optimizer=None):
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``: no pickled
    code runs); returns the saved history."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    return state["history"]


__all__ = [
    "fit",
    "SCHEDULERS",
    "evaluate",
    "Loss",
    "ce_count_loss",
    "ce_rate_loss",
    "ce_membrane_loss",
    "mse_count_loss",
    "accuracy_rate",
    "accuracy_membrane",
    "save_checkpoint",
    "load_checkpoint",
]
