"""The temporal efficient training (TET) loss: a cross-entropy at every time step.

Deng, Li, Zhang & Gu 2022, "Temporal Efficient Training of Spiking Neural Network via Gradient
Re-weighting", ICLR, arXiv 2202.11946.

A spiking network's output ``O[t]`` (here the output layer's membrane, or the output of a final
linear layer) is usually classified after averaging it over the ``T`` steps, "standard direct
training" (SDT)::

    L_SDT = CE( (1/T)·Σ_t O[t], y )          ∂L_SDT/∂O[t] = (1/T)·(softmax(Ō) - onehot(y))

Its gradient is *the same at every step*: a step whose output is wrong gets no more correction
than one that is right, as long as the average is right. TET asks every step to classify::

    L_TET = (1/T)·Σ_t CE(O[t], y)            ∂L_TET/∂O[t] = (1/T)·(softmax(O[t]) - onehot(y))

so each step is corrected by its own error: the gradient is re-weighted towards the steps that
are wrong, and the network learns to be right at every step (which also makes it robust to the
number of steps). The paper adds a small term pulling every output towards a constant ``φ``,
which keeps the outputs from growing without bound::

    L = (1 - λ)·L_TET + λ·(1/T)·Σ_t MSE(O[t], φ)          (λ = 1e-3, φ = 1 in the authors' code)

Reported: one to two points over SDT at small ``T`` (e.g. CIFAR-10 and ImageNet with
``T`` = 2-6). ``training.ce_membrane_loss`` is ``L_TET`` with ``λ = 0`` on the membrane.
Use with ``training.fit(net, ..., loss_fn=tet.tet_loss())`` on a model with ``return_mem=True``.
"""

import torch
import torch.nn.functional as F

from .._checks import check_range, check_tensor
from ..networks import training


def per_step_outputs(output):
    """``O[t]``, ``[T, B, classes]``: the membrane of a ``(spk, mem)`` output, else the output."""
    out = output[1] if isinstance(output, tuple | list) else output
    check_tensor("output", out, min_dim=3)
    return out


def accuracy_mean_output(output, targets):
    """Fraction of samples whose class with the largest ``(1/T)·Σ_t O[t]`` is the target."""
    return (per_step_outputs(output).mean(0).argmax(-1) == targets).float().mean().item()


class tet_loss(training.Loss):  # noqa: N801 - a loss, named like training's losses
    """``(1 - λ)·(1/T)·Σ_t CE(O[t], y) + λ·MSE(O, φ)`` (Deng et al. 2022).

    Args:
        lamb: the weight ``λ`` of the regulariser, in [0, 1] (the paper's code: 1e-3).
        phi: the constant ``φ`` the outputs are pulled towards (the paper's code: 1.0).
    """

    accuracy = staticmethod(accuracy_mean_output)

    def __init__(self, lamb=1e-3, phi=1.0):
        self.lamb = float(check_range("lamb", lamb, 0, 1))
        self.phi = float(check_range("phi", phi))

    def __call__(self, output, targets):
        out = per_step_outputs(output)
        steps = out.shape[0]
        loss = F.cross_entropy(out.flatten(0, 1), targets.repeat(steps))  # mean over t and b
        if self.lamb == 0:
            return loss
        return (1 - self.lamb) * loss + self.lamb * F.mse_loss(out, torch.full_like(out, self.phi))


class mean_output_loss(training.Loss):  # noqa: N801
    """Standard direct training's loss, ``CE((1/T)·Σ_t O[t], y)``: the baseline TET improves on."""

    accuracy = staticmethod(accuracy_mean_output)

    def __call__(self, output, targets):
        return F.cross_entropy(per_step_outputs(output).mean(0), targets)


__all__ = ["tet_loss", "mean_output_loss", "per_step_outputs", "accuracy_mean_output"]
