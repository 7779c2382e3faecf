"""Mapping a trained ReLU network to a TTFS network with exactly the same outputs.

Stanojevic et al. 2022, "An exact mapping from ReLU networks to spiking neural networks" (arXiv
2212.12522), and 2024 (Nat. Commun., arXiv 2306.08744). Each ``Linear``/``Conv2d`` + ``ReLU``
becomes a layer of constant-slope neurons of :class:`spikelearn.ttfs.TTFSNetwork` (its bias becomes
``D``); a batch norm after a layer is folded into it first; a max-pool after a ReLU picks the
largest value, i.e. the earliest spike (a min over spike times); the last layer is the readout.
Each window's width is ``margin`` times the largest ReLU output of its layer on the training set.
The ReLU network is trained first (``spikelearn.relu_nets.train_ann``, whose activity penalty keeps
the number of spikes low; ``relu_nets.relu_outputs`` reads the activations the SNN reproduces).
"""

import copy

from torch import nn

from .._checks import check_dtype, check_range, check_tensor
from ..networks import walk
from ..networks.norm import fold_into
from .ttfs import TTFSNetwork, _check_window


def from_relu(model, x_train, margin=1.5, input_window=(0.0, 1.0), dtype=None):
    """Map a trained ReLU ``nn.Sequential`` to a :class:`TTFSNetwork` with the same outputs.

    Supported: ``Linear``/``Conv2d`` (biases become ``D``), ``BatchNorm1d/2d`` right after one
    (fused), ``ReLU``, ``MaxPool2d`` after a ReLU (min over spike times), ``Flatten``,
    ``Dropout``/``Identity`` (skipped). The last layer must be a ``Linear``/``Conv2d`` (the
    readout). Window widths ``B_n = margin x max`` ReLU output of layer ``n`` on ``x_train``
    (inputs must lie in [0, 1], at least one sample). ``dtype=torch.float64`` maps a float64 copy
    (for windows float32 cannot resolve, see :class:`TTFSNetwork`); inputs must then be float64.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    check_tensor("x_train", x_train, min_dim=2)
    if x_train.shape[0] < 1:
        raise ValueError(f"x_train must hold at least one sample, got shape {tuple(x_train.shape)}")
    check_range("x_train", x_train, 0, 1)
    check_range("margin", margin, low=1)
    t0, t1 = _check_window(*input_window, name="input_window")
    model = copy.deepcopy(model).eval()
    if dtype is not None:
        model, x_train = model.to(dtype), x_train.to(dtype)
    check_dtype("x_train", x_train, model)
    blocks, pending = [], None
    for site in walk.walk(model):  # nested Sequentials entered, in order
        m, name = site.layer, type(site.layer).__name__
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if getattr(m, "padding_mode", "zeros") != "zeros":
                raise ValueError(f"Conv2d padding_mode must be 'zeros', got {m.padding_mode!r}")
            if pending is not None:
                raise ValueError(f"{name} follows a Linear/Conv2d without a ReLU in between")
            pending = m
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if pending is None:
                raise ValueError(f"{name} must directly follow a Linear or Conv2d to be fused")
            pending = fold_into(pending, m)  # W' = s·W, b' = s·(b - μ) + β
        elif isinstance(m, nn.ReLU):
            if pending is None:
                raise ValueError("ReLU must follow a Linear or Conv2d")
            blocks.append(("spike", pending))
            pending = None
        elif isinstance(m, (nn.MaxPool2d, nn.Flatten)):
            if pending is not None:
                raise ValueError(f"put {name} after the ReLU, not between a layer and its ReLU")
            blocks.append(("pool" if isinstance(m, nn.MaxPool2d) else "flatten", m))
        elif type(m) not in (nn.Dropout, nn.Identity):
            raise TypeError(
                f"model contains an unsupported layer {name} at {site.name!r}; supported: Linear, "
                "Conv2d, BatchNorm1d/2d, ReLU, MaxPool2d, Flatten, Dropout, Identity"
            )
    if pending is None:
        raise ValueError("model must end with a Linear or Conv2d layer (the readout)")
    blocks.append(("out", pending))
    for _, op in blocks:
        if isinstance(op, (nn.Linear, nn.Conv2d)) and op.bias is None:
            op.bias = nn.Parameter(op.weight.new_zeros(op.weight.shape[0]))
    hidden = sum(kind == "spike" for kind, _ in blocks)
    net = TTFSNetwork(blocks, [t0] + [t1 + n for n in range(hidden + 1)])  # widths 1, then fitted
    return net.fit_windows(x_train, margin)


__all__ = ["from_relu"]
