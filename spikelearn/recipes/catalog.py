"""The recipes: each paper the course teaches, as one network, dataset and training schedule.

A :class:`Recipe` states what a run does: the paper, the architecture (one of the library's
builders and its arguments), the time steps ``T``, the input encoding, the loss, the optimiser and
schedule, the epochs and global batch, the paper's own number and, where known, its cost. The
networks are built by :mod:`spikelearn.models` (and :mod:`spikelearn.conversion` for the ReLU
twin of a TTFS network), the losses are :mod:`spikelearn.training`'s; this module only chooses.

The paper's numbers are the authors' (see ``/docs/methods``); every training setting that the
paper does not fix here is marked *ours* in the recipe's notes. ``python -m spikelearn.recipes
list`` prints the table; ``docs/recipes.md`` maps each recipe onto the tutorials' ideas.
"""

import dataclasses
import inspect

import torch
from torch import nn

from spikelearn import (
    adaptive,
    analysis,
    conversion,
    encoding,
    layers,
    models,
    neurons,
    quant,
    surrogate,
    training,
    ttfs,
    ttfs_mapping,
)

TDBN_SURROGATE = ("rectangle", 1.0, 1.0)  # tdBN's rectangle, unit height and width (METHODS §2)
VGG9 = ((64, 64), (128, 128), (256, 256, 256))  # Lee et al. 2020 (with a 1024-wide linear layer)
VGG16 = ((64,) * 2, (128,) * 2, (256,) * 3, (512,) * 3, (512,) * 3)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One training recipe. ``model`` is ``(builder kind, keyword arguments)``; a surrogate is
    given as ``(name, height, width)`` (:func:`spikelearn.surrogate.from_height_width`)."""

    name: str
    paper: str
    idea: str  # which tutorial's idea it scales up
    dataset: str  # loaders.DATASETS key
    architecture: str
    model: tuple
    time_steps: int  # T; 0 for a ReLU network (the TTFS recipe trains the ANN, then maps it)
    encoding: str  # "direct", "rate", "frames" (event data, already [T, ...]) or "none"
    loss: str  # a LOSSES key
    optimizer: str  # "sgd" (momentum 0.9) or "adam"
    lr: float
    weight_decay: float
    epochs: int  # cosine schedule over these epochs, stepped once per epoch
    batch_size: int  # global: split over the processes
    paper_result: str
    cost: str = "not known"
    quant_bits: int = 0  # > 0: quantisation-aware training of every weight (quant.add_weight_quant)
    prepare: str = ""  # "tune_surrogate": Ledinauskas et al.'s scale, chosen on one batch
    finish: str = ""  # "ttfs": map the trained ReLU network to TTFS and measure it
    notes: str = ""

    @property
    def sync_batch_norm_default(self):
        """Whether the network has batch statistics to synchronise across processes."""
        kind, kw = self.model
        return kind == "relu_vgg" or kw.get("norm", "none") != "none"


def _tdbn_cifar10(steps, result):
    return Recipe(
        name=f"tdbn-resnet19-cifar10-t{steps}",
        paper="Zheng et al., AAAI 2021 (arXiv 2011.05280): STBP-tdBN",
        idea="tutorials 07-08: tdBN, residual blocks with the neuron after the sum",
        dataset="cifar10",
        architecture="ResNet-19: stem, 3/3/2 tdBN basic blocks of 128/256/512, linear 256, output",
        model=(
            "spiking_resnet",
            dict(
                width=128,
                blocks=(3, 3, 2),
                hidden=256,
                norm="tdbn",
                reset_mechanism="zero_before",
                spike_grad=TDBN_SURROGATE,
            ),
        ),
        time_steps=steps,
        encoding="direct",
        loss="ce_membrane_loss",
        optimizer="sgd",
        lr=0.1,
        weight_decay=5e-4,
        epochs=300,
        batch_size=128,
        paper_result=f"{result} % (ResNet-19, T = {steps})",
        notes="ours: beta 0.9, membrane read-out and per-step CE, SGD/cosine/300 epochs, batch "
        "128, random crop and flip; the paper's: tdBN, rectangle surrogate, hard reset",
    )


RECIPES = {
    r.name: r
    for r in [
        _tdbn_cifar10(2, "92.34"),
        _tdbn_cifar10(4, "92.92"),
        _tdbn_cifar10(6, "93.16"),
        Recipe(
            name="tdbn-resnet19-cifar10dvs",
            paper="Zheng et al., AAAI 2021 (arXiv 2011.05280): STBP-tdBN",
            idea="tutorials 08 and 13: tdBN ResNet on event frames",
            dataset="cifar10_dvs",
            architecture="ResNet-19 (as CIFAR-10) on 2 x 64 x 64 event frames",
            model=(
                "spiking_resnet",
                dict(
                    in_channels=2,
                    width=128,
                    blocks=(3, 3, 2),
                    hidden=256,
                    norm="tdbn",
                    reset_mechanism="zero_before",
                    spike_grad=TDBN_SURROGATE,
                ),
            ),
            time_steps=10,
            encoding="frames",
            loss="ce_membrane_loss",
            optimizer="sgd",
            lr=0.1,
            weight_decay=5e-4,
            epochs=200,
            batch_size=64,
            paper_result="67.8 % (T = 10)",
            notes="ours: T equal time bins per recording, 128x128 pooled 2x2 to 64x64, 90/10 "
            "split per class, SGD/cosine/200 epochs",
        ),
        Recipe(
            name="lee-vgg9-cifar10",
            paper="Lee et al., Front. Neurosci. 2020 (arXiv 1903.06379)",
            idea="tutorial 04 (rate coding) and the leak-aware derivative (leak_aware)",
            dataset="cifar10",
            architecture="VGG-9: 64-64-P-128-128-P-256-256-256-P, linear 1024, output",
            model=(
                "spiking_vgg",
                dict(
                    layout=VGG9,
                    hidden=1024,
                    norm="none",
                    neuron="leak_aware",
                    beta=0.99,
                    reset_mechanism="none",
                ),
            ),
            time_steps=100,
            encoding="rate",
            loss="ce_membrane_loss",
            optimizer="sgd",
            lr=0.01,
            weight_decay=5e-4,
            epochs=100,
            batch_size=64,
            paper_result="best spike-trained CIFAR-10 accuracy of its time (number not restated "
            "here)",
            notes="the paper's: Bernoulli rate input, T ~ 100, leak 0.99, hard reset, no batch "
            "norm, membrane read-out; ours: SGD/cosine/100 epochs, average pooling",
        ),
        Recipe(
            name="lee-resnet11-cifar10",
            paper="Lee et al., Front. Neurosci. 2020 (arXiv 1903.06379)",
            idea="tutorial 08 (residual blocks) with the leak-aware derivative",
            dataset="cifar10",
            architecture="ResNet-11: stem, one basic block per stage (64/128/256/512), linear "
            "1024, output (11 weight layers)",
            model=(
                "spiking_resnet",
                dict(
                    width=64,
                    blocks=(1, 1, 1, 1),
                    hidden=1024,
                    norm="none",
                    neuron="leak_aware",
                    beta=0.99,
                    reset_mechanism="none",
                ),
            ),
            time_steps=100,
            encoding="rate",
            loss="ce_membrane_loss",
            optimizer="sgd",
            lr=0.01,
            weight_decay=5e-4,
            epochs=100,
            batch_size=64,
            paper_result="best spike-trained CIFAR-10 accuracy of its time (number not restated "
            "here)",
            notes="the block is tdBN's (neuron after the sum) without normalisation; Lee et al. "
            "add the shortcut into the membrane: same place, their stem may differ",
        ),
        Recipe(
            name="ledinauskas-resnet18-cifar100",
            paper="Ledinauskas et al. 2020 (arXiv 2006.04436)",
            idea="tutorials 06-07: the surrogate's scale, batch norm on the currents",
            dataset="cifar100",
            architecture="ResNet-18 layout: 2/2/2/2 basic blocks of 64/128/256/512, BN through "
            "time on every current",
            model=(
                "spiking_resnet",
                dict(width=64, blocks=(2, 2, 2, 2), norm="bn", spike_grad=("atan", 1.0, 0.6366)),
            ),
            time_steps=10,
            encoding="direct",
            loss="ce_membrane_loss",
            optimizer="sgd",
            lr=0.1,
            weight_decay=5e-4,
            epochs=200,
            batch_size=128,
            paper_result="ResNet-50 trained directly to good accuracy in ~10 time steps (number "
            "not restated here)",
            prepare="tune_surrogate",
            notes="the paper's ResNet-50 has bottleneck blocks, which the library does not build; "
            "the surrogate scale is tuned on the first batch (analysis.tune_surrogate_scale)",
        ),
        Recipe(
            name="stanojevic-ttfs-vgg16-cifar10",
            paper="Stanojevic et al., Nat. Commun. 2024 (arXiv 2306.08744)",
            idea="tutorial 09: an exact mapping from a ReLU network to TTFS spikes",
            dataset="cifar10",
            architecture="ReLU VGG16 (conv-BN-ReLU, max pooling, linear 512), then TTFS",
            model=("relu_vgg", dict(layout=VGG16, hidden=512)),
            time_steps=0,
            encoding="none",
            loss="logits",
            optimizer="sgd",
            lr=0.05,
            weight_decay=5e-4,
            epochs=200,
            batch_size=128,
            paper_result="the TTFS network equals its ReLU twin (93.56 % ReLU VGG16 baseline), "
            "< 0.3 spikes per neuron",
            cost="about 12 min per epoch on one GPU (the paper's fine-tuning)",
            finish="ttfs",
            notes="the ReLU network is trained, then mapped (ttfs_mapping.from_relu, windows "
            "1.5 x the training maximum) and measured; the paper's SNN fine-tuning is not run",
        ),
        Recipe(
            name="alif-shd",
            paper="Bellec et al. 2018 (ALIF); Cramer et al., IEEE TNNLS 2020 (SHD)",
            idea="tutorials 12-13: adaptive thresholds, spoken-digit events",
            dataset="shd",
            architecture="700 -> 256 ALIF (tau_a = 200 steps) -> 20 leaky read-out neurons",
            model=("alif_network", dict(hidden=256)),
            time_steps=100,
            encoding="frames",
            loss="ce_membrane_loss",
            optimizer="adam",
            lr=1e-3,
            weight_decay=0.0,
            epochs=50,
            batch_size=128,
            paper_result="~83 % for a recurrent LIF network (Cramer et al.); adaptive neurons and "
            "delays later 90-95 %",
            notes="ours: 100 bins of 10 ms, no recurrent weights (the library's ALIF is feed-"
            "forward), Adam/cosine/50 epochs",
        ),
        Recipe(
            name="nmnist",
            paper="Orchard et al. 2015 (the dataset)",
            idea="tutorials 05 and 13: a convolutional SNN on event frames",
            dataset="nmnist",
            architecture="VGG-style: 2 x 34 x 34 frames, 32-32-P-64-64-P tdBN convolutions",
            model=(
                "spiking_vgg",
                dict(in_channels=2, image_size=34, width=32, depth=4, norm="tdbn"),
            ),
            time_steps=10,
            encoding="frames",
            loss="ce_membrane_loss",
            optimizer="adam",
            lr=1e-3,
            weight_decay=0.0,
            epochs=30,
            batch_size=128,
            paper_result="-",
            notes="ours: 10 bins of 30 ms over the 300 ms recordings",
        ),
        dataclasses.replace(  # tdBN's training, so only the block, neuron and norm differ
            _tdbn_cifar10(4, "-"),
            name="sew-resnet19-cifar10-t4",
            paper="Fang et al., NeurIPS 2021 (arXiv 2102.04159): SEW-ResNet",
            idea="tutorial 16: SEW-ResNet, the spike-element-wise block that can be the identity",
            architecture="tdBN's ResNet-19 layout (stem, 3/3/2 blocks of 128/256/512, linear 256) "
            "with SEW blocks (ADD), PLIF neurons and batch norm through time",
            model=(
                "spiking_resnet",
                dict(
                    width=128,
                    blocks=(3, 3, 2),
                    hidden=256,
                    block="sew",
                    connection="add",
                    neuron="plif",
                    beta=0.5,
                    norm="bn",
                ),
            ),
            paper_result="none: the paper reports no CIFAR-10 result (its results: ImageNet, DVS "
            "Gesture, CIFAR10-DVS); compare tdbn-resnet19-cifar10-t4 (92.92 %, tdBN's blocks)",
            notes="the paper's: the SEW block with ADD, the spiking 1x1 shortcut when the shape "
            "changes, batch norm (statistics over T, batch and space), PLIF from tau 2 with hard "
            "reset (its neuron for event data; its ImageNet networks use IF), atan (alpha 2); "
            "ours: the ResNet-19 layout and T = 4 (tdBN's, for the comparison) and the whole "
            "training, as tdbn-resnet19-cifar10-t4 (membrane read-out and per-step CE, "
            "SGD/cosine/300 epochs, batch 128, crop and flip)",
        ),
        Recipe(
            name="sew-7b-cifar10dvs",
            paper="Fang et al., NeurIPS 2021 (arXiv 2102.04159): SEW-ResNet",
            idea="tutorial 16: SEW-ResNet on event frames (with tutorial 13's binning)",
            dataset="cifar10_dvs",
            architecture="Wide-7B-Net: 1x1 conv 64, 4 x (SEW block 64, max pool 2), 1x1 conv "
            "128, 3 x (SEW block 128, max pool 2), linear on the time-mean spikes; PLIF, BN, ADD",
            model=(
                "sew_chain",
                dict(
                    in_channels=2,
                    width=64,
                    blocks=(4, 3),
                    norm="bn",
                    neuron="plif",
                    beta=0.5,
                    connection="add",
                    readout="mean",
                ),
            ),
            time_steps=16,
            encoding="frames",
            loss="logits",
            optimizer="sgd",
            lr=0.01,
            weight_decay=0.0,
            epochs=64,
            batch_size=16,
            paper_result="74.4 % (Wide-7B-Net, T = 16; as widely cited, not read in the paper "
            "here: the authors' own log of this run peaks at 74.4 % in epoch 42 of 64, 72.8 % at "
            "the last)",
            cost="about 2.8 min per epoch, 3 h for 64 epochs, on one A100 with AMP at 128x128 "
            "(the timestamps of the authors' log)",
            notes="the paper's (its code, cifar10dvs/): the network with 1x1 up-projections, "
            "PLIF from tau 2 with detached hard reset, batch norm, CE on the logits, SGD 0.01 "
            "momentum 0.9 without weight decay, cosine over 64 epochs, batch 16, 90/10 split per "
            "class; atan (alpha 2) is SpikingJelly's C++ PLIF default, read in a nearby version "
            "of its source, not the pinned one; ours: 2x64x64 frames "
            "(the loader pools 128x128 2x2, so the 7th pooling is skipped; the paper runs at "
            "128x128), T equal time bins (the paper's frames hold equal event counts), fp32 "
            "unless --precision; the paper reports the best epoch on the test split",
        ),
        dataclasses.replace(
            _tdbn_cifar10(4, "-"),
            name="qat8-tdbn-resnet19-cifar10",
            idea="tutorial 10: 8-bit weights trained with the straight-through estimator",
            quant_bits=8,
            paper_result="- (a spikelearn variant: compare tdbn-resnet19-cifar10-t4)",
            notes="tdbn-resnet19-cifar10-t4 with every weight fake-quantised to 8 bits per output "
            "channel in training (quant.add_weight_quant)",
        ),
    ]
}


def get(name):
    """The recipe called ``name``; an unknown name is a ``ValueError`` listing every recipe."""
    if name not in RECIPES:
        raise ValueError(
            f"unknown recipe {name!r}; the recipes are: {', '.join(RECIPES)} "
            "(python -m spikelearn.recipes list shows the table)"
        )
    return RECIPES[name]


# --- the network --------------------------------------------------------------------------------


def alif_network(
    in_features=700, num_classes=20, hidden=256, beta=0.95, tau_a=200.0, beta_a=1.8, spike_grad=None
):
    """``Linear -> ALIF -> Linear -> leaky read-out`` on ``[T, B, ...]`` (flattened per step);
    the read-out is never reset (``reset_mechanism="none"``) and returns ``(spk, mem)``."""
    grad = _surrogate(spike_grad)
    alif = adaptive.ALIF(beta, rho=adaptive.decay(tau_a), beta_a=beta_a, spike_grad=grad)
    readout = neurons.LIF(beta, spike_grad=grad, reset_mechanism="none")
    return nn.Sequential(
        layers.TimeFolded(nn.Flatten()),
        layers.TimeFolded(nn.Linear(in_features, hidden)),
        layers.Spiking(alif),
        layers.TimeFolded(nn.Linear(hidden, num_classes)),
        layers.Spiking(readout, return_mem=True),
    )


BUILDERS = {
    "spiking_resnet": models.spiking_resnet,
    "spiking_vgg": models.spiking_vgg,
    "sew_chain": models.sew_chain,
    "relu_vgg": conversion.relu_vgg,
    "alif_network": alif_network,
}


def _surrogate(spec):
    """``(name, height, width)`` as a surrogate; ``None`` is the neurons' default (atan)."""
    return None if spec is None else surrogate.from_height_width(*spec)


def model_arguments(
    recipe, num_classes, in_channels=None, image_size=None, width=None, options=None
):
    """The builder's keyword arguments: the recipe's, the data's shape, ``width`` (the first
    stage's channels; a VGG layout is scaled in proportion) and ``options`` on top."""
    kind, kw = recipe.model
    kw = dict(kw, num_classes=num_classes)
    if kind in ("spiking_resnet", "spiking_vgg") and recipe.loss == "ce_membrane_loss":
        kw["return_mem"] = True  # the loss reads the output membrane
    if in_channels is not None and kind != "alif_network":
        kw["in_channels"] = in_channels
    if image_size is not None and kind in ("spiking_vgg", "sew_chain", "relu_vgg"):
        kw["image_size"] = image_size
    if width is not None:
        if "layout" in kw:
            base = kw["layout"][0][0]
            kw["layout"] = tuple(
                tuple(max(1, round(w * width / base)) for w in s) for s in kw["layout"]
            )
        else:
            kw["hidden" if kind == "alif_network" else "width"] = width
    allowed = set(inspect.signature(BUILDERS[kind]).parameters) - {"neuron_options"}
    if kind in ("spiking_resnet", "spiking_vgg", "sew_chain"):
        allowed |= {"beta", "threshold", "spike_grad", "reset_mechanism"}
    unknown = sorted(set(options or {}) - allowed)
    if unknown:
        raise ValueError(
            f"--model-option {unknown[0]!r} is not an argument of {kind}; "
            f"its arguments are {', '.join(sorted(allowed))}"
        )
    return kind, dict(kw, **(options or {}))


def build_model(recipe, num_classes, in_channels=None, image_size=None, width=None, options=None):
    """The recipe's network from the library's builder (see :func:`model_arguments`), with
    8-bit (or ``quant_bits``) quantisation-aware training of its weights if the recipe asks."""
    kind, kw = model_arguments(recipe, num_classes, in_channels, image_size, width, options)
    if "spike_grad" in kw:
        kw["spike_grad"] = _surrogate(kw["spike_grad"])
    model = BUILDERS[kind](**kw)
    if recipe.quant_bits:
        quant.add_weight_quant(model, recipe.quant_bits, per_channel=True)
    return model


# --- encoding, loss, optimiser --------------------------------------------------------------------


def encode(recipe, x, time_steps):
    """The network's input sequence from a batch ``x``: ``[T, B, ...]`` (or ``x`` itself for a
    ReLU network). Event frames arrive as ``[B, T, ...]``."""
    if recipe.encoding == "direct":
        return encoding.direct(x, time_steps)
    if recipe.encoding == "rate":
        return encoding.rate(x.clamp(0, 1), time_steps)
    if recipe.encoding == "frames":
        return x.transpose(0, 1)
    return x


class Logits(training.Loss):
    """Cross-entropy on a ReLU network's logits ``[B, classes]``; accuracy of their argmax."""

    accuracy = staticmethod(lambda output, y: (output.argmax(-1) == y).float().mean().item())

    def __call__(self, output, targets):
        return nn.functional.cross_entropy(output, targets)


LOSSES = {
    "ce_membrane_loss": training.ce_membrane_loss,
    "ce_count_loss": training.ce_count_loss,
    "ce_rate_loss": training.ce_rate_loss,
    "logits": Logits,
}


def optimizer(recipe, parameters, lr=None):
    """SGD (momentum 0.9) or Adam with the recipe's weight decay, and a cosine schedule."""
    lr = recipe.lr if lr is None else lr
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr, momentum=0.9, weight_decay=recipe.weight_decay)
    return torch.optim.Adam(parameters, lr, weight_decay=recipe.weight_decay)


# --- what some recipes do before and after training ----------------------------------------------


def tune_surrogate(model, x_seq, y, loss_fn):
    """Ledinauskas et al.'s rule: the surrogate scale that keeps the first-to-last layer gradient
    ratio nearest 1 on one batch (:func:`spikelearn.analysis.tune_surrogate_scale`)."""
    buffers = {k: b.clone() for k, b in model.named_buffers()}  # running statistics
    scales = torch.logspace(-1, 1, 13).tolist()
    best, _ = analysis.tune_surrogate_scale(model, x_seq, y, scales=scales, loss_fn=loss_fn)
    with torch.no_grad():
        for k, b in model.named_buffers():
            b.copy_(buffers[k])
    model.zero_grad(set_to_none=True)
    return {"surrogate_scale": best}


def apply_prepared(model, extra):
    """Set again what :func:`tune_surrogate` chose (it lives outside the state dict)."""
    if "surrogate_scale" in extra:
        analysis.set_surrogate_scale(model, extra["surrogate_scale"])


@torch.no_grad()
def ttfs_mapping_metrics(model, x_train, batches):
    """Map the trained ReLU ``model`` to TTFS (float64, windows from ``x_train``) and count, over
    ``batches`` of ``(x, y)``: samples, correct by the ANN, correct by the TTFS network, equal
    predictions, and the spikes per hidden neuron summed over samples."""
    model = model.eval()
    net = ttfs_mapping.from_relu(model, x_train, dtype=torch.float64)
    counts = torch.zeros(5, dtype=torch.float64)
    for x, y in batches:
        ann = model(x).argmax(-1)
        logits, times = net.run(x.double())
        snn = logits.argmax(-1)
        counts += torch.tensor(
            [
                len(y),
                (ann == y).sum(),
                (snn == y).sum(),
                (ann == snn).sum(),
                ttfs.spikes_per_neuron(net, times) * len(y),
            ],
            dtype=torch.float64,
        )
    return counts


def table():
    """The recipes as rows of text (for ``python -m spikelearn.recipes list`` and the docs)."""
    rows = []
    for r in RECIPES.values():
        steps = f"T = {r.time_steps}" if r.time_steps else "ReLU, then TTFS"
        rows.append(
            f"{r.name}\n  paper:        {r.paper}\n  network:      {r.architecture}\n"
            f"  data:         {r.dataset}, {steps}, encoding {r.encoding}\n"
            f"  training:     {r.loss}, {r.optimizer} lr {r.lr:g} wd {r.weight_decay:g}, cosine, "
            f"{r.epochs} epochs, batch {r.batch_size}"
            + (f", {r.quant_bits}-bit QAT" if r.quant_bits else "")
            + f"\n  paper's:      {r.paper_result}\n  cost:         {r.cost}\n"
            f"  idea:         {r.idea}\n  notes:        {r.notes}"
        )
    return "\n\n".join(rows)


__all__ = [
    "Recipe",
    "RECIPES",
    "get",
    "alif_network",
    "build_model",
    "model_arguments",
    "encode",
    "Logits",
    "LOSSES",
    "optimizer",
    "tune_surrogate",
    "apply_prepared",
    "ttfs_mapping_metrics",
    "table",
]
