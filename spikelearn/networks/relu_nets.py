"""The ReLU networks (ANNs) that conversion and TTFS mapping start from: train them, read them.

Tutorials 09 and 11 turn a trained ReLU network into a spiking one (``ttfs_mapping.from_relu``,
``conversion.convert``), so the ANN is trained first, by ordinary supervised learning: Adam on
the cross-entropy of its logits, ``L = CE(f(x), y)``. In a TTFS network a hidden neuron spikes
only if its ReLU output is non-zero, so the spike count *is* the ANN's activity; an L1 activity
penalty on the outputs ``a_l`` of every ``nn.ReLU`` keeps it low::

    L = CE(f(x), y) + λ Σ_l mean(a_l)

(an ordinary activity regulariser; with ``λ = 0`` it is plain training). :func:`relu_outputs`
records those outputs with forward hooks, with or without the graph.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_int, check_positive, check_range
from .training import _check_model_loader, _device


def relu_outputs(model, x, grad=False):
    """``(outputs, y)``: the outputs of every ``nn.ReLU`` call in ``model`` on ``x`` in order, and
    the model's output ``y``. ``grad=True`` keeps the graph (for an activity penalty)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    outs = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: outs.append(o if grad else o.detach().clone()))
        for m in model.modules()
        if isinstance(m, nn.ReLU)
    ]
    try:
        with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
            y = model(x)
    finally:
        for h in hooks:
            h.remove()
    return outs, y


def train_ann(model, train_loader, *, epochs, lr=1e-3, activity_penalty=0.0, device=None):
    """Train a (ReLU) classifier with Adam on ``CE(model(x), y) + activity_penalty·Σ_l mean(a_l)``.

    Args:
        model: maps ``x [B, ...]`` to logits ``[B, classes]``.
        train_loader: iterable of ``(x, y)`` batches, iterated once per epoch (a ``DataLoader``,
            or :class:`spikelearn.datasets.TensorLoader` for tensors already in memory).
        epochs: passes over ``train_loader``.
        lr: Adam's learning rate.
        activity_penalty: ``λ >= 0``, the weight of the mean output of every ``nn.ReLU``
            (0: plain cross-entropy, and the model needs no ``nn.ReLU``).
        device: where to train (default: the model's device); batches are moved there.

    Returns:
        ``model``, trained and in eval mode (ready for ``conversion.convert`` or
        ``ttfs_mapping.from_relu``).
    """
    _check_model_loader(model, train_loader, "train_loader")
    epochs = check_int("epochs", epochs, low=1)
    check_positive("lr", lr)
    activity_penalty = float(check_range("activity_penalty", activity_penalty, low=0))
    if activity_penalty > 0 and not any(isinstance(m, nn.ReLU) for m in model.modules()):
        raise ValueError(
            f"activity_penalty={activity_penalty:g} needs nn.ReLU modules in model to penalise, "
            f"found none in {type(model).__name__}"
        )
    device = _device(model, device)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        batches = 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            if activity_penalty > 0:
                relus, logits = relu_outputs(model, x, grad=True)
                loss = F.cross_entropy(logits, y)
                loss = loss + activity_penalty * sum(a.mean() for a in relus)
            else:
                loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batches += 1
        if batches == 0:
            raise ValueError("train_loader must yield at least one batch, got an empty loader")
    return model.eval()


__all__ = ["train_ann", "relu_outputs"]
