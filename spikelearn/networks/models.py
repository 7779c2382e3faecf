"""Ready-made spiking networks: MLP, VGG-style and ResNet-style, of any depth and width.

Every model maps an input sequence ``[T, B, ...]`` to output spikes ``[T, B, classes]`` (or
``(spk, mem)`` with ``return_mem=True``), the contract of :func:`spikelearn.training.fit`. Stateless
layers run on time folded into batch (:class:`spikelearn.layers.TimeFolded`), neurons on whole
sequences (:class:`spikelearn.layers.Spiking`). Each weight layer is followed by a choice of
normalisation of the neurons' input currents:

* ``norm="none"`` - nothing: deep networks stop firing or explode (tutorials 06-08 show it);
* ``norm="bn"`` - batch norm with statistics shared over time (Ledinauskas et al. 2020);
* ``norm="tdbn"`` - threshold-dependent batch norm (Zheng et al. 2021).

The residual block is tdBN's (Zheng et al. AAAI 2021, arXiv 2011.05280), the neuron after the sum::

    out = LIF( tdBN_{α=1/√2}(conv(LIF(tdBN_{α=1}(conv(x))))) + shortcut(x) )
    shortcut = identity, or tdBN_{α=1/√2}(conv1x1, stride s) when the shape changes
"""

from torch import nn

from .._checks import check_choice, check_int
from ..cells.leak_aware import LeakAwareLIF
from ..cells.neurons import LIF
from . import norm as _norm
from .layers import Spiking, TimeFolded

NORMS = ("none", "bn", "tdbn")
NEURONS = ("lif", "leak_aware")


class NeuronLayers:
    """The neuron settings of a model, given once: each call makes one fresh ``Spiking`` layer.

    Every builder takes ``neuron=`` (a kind, or a ready ``NeuronLayers``) plus these options as
    keywords, e.g. ``spiking_mlp(64, neuron="leak_aware", beta=0.99)``.

    Args:
        kind: ``"lif"`` (:class:`spikelearn.neurons.LIF`) or ``"leak_aware"`` (hidden layers of
            :class:`spikelearn.leak_aware.LeakAwareLIF`; the output layer stays a LIF with a
            surrogate, read out by its membrane as in Lee et al. 2020 - use ``return_mem=True``
            and ``training.ce_membrane_loss()``).
        beta, threshold, spike_grad, reset_mechanism: the LIF parameters (see ``neurons.LIF``).
    """

    def __init__(self, kind="lif", beta=0.9, threshold=1.0, spike_grad=None,
                 reset_mechanism="subtract"):  # fmt: skip
        self.kind = check_choice("neuron", kind, NEURONS)
        self.beta, self.threshold = beta, threshold
        self.spike_grad, self.reset_mechanism = spike_grad, reset_mechanism
        self()  # validate the parameters now, with the neuron's own messages

    @classmethod
    def of(cls, neuron, options):
        """``neuron`` as a :class:`NeuronLayers`: a kind with ``options``, or a ready one (no options)."""
        if isinstance(neuron, NeuronLayers):
            if options:
                raise TypeError(
                    f"give the neuron options either in neuron=NeuronLayers(...) or as keywords, not "
                    f"both; got neuron={neuron!r} and {sorted(options)}"
                )
            return neuron
        allowed = ("beta", "threshold", "spike_grad", "reset_mechanism")
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise TypeError(f"unexpected keyword {unknown[0]!r}; neuron options are {allowed}")
        return cls(neuron, **options)

    def __call__(self, return_mem=False, output=False):
        if self.kind == "leak_aware" and not output:
            cell = LeakAwareLIF(self.beta, self.threshold)
        else:
            cell = LIF(self.beta, self.threshold, self.spike_grad, self.reset_mechanism)
        return Spiking(cell, return_mem=return_mem)

    def __repr__(self):
        return (
            f"NeuronLayers({self.kind!r}, beta={self.beta!r}, threshold={self.threshold!r}, "
            f"spike_grad={self.spike_grad!r}, reset_mechanism={self.reset_mechanism!r})"
        )


def _normalisation(kind, channels, threshold, alpha=1.0):
    if kind == "bn":
        return _norm.BatchNormThroughTime(channels)
    if kind == "tdbn":
        return _norm.TdBatchNorm(channels, alpha=alpha, threshold=threshold)
    return None


def _with_norm(layer, kind, channels, threshold, alpha=1.0):
    """``[TimeFolded(layer), normalisation]`` (no normalisation for ``"none"``)."""
    bn = _normalisation(kind, channels, threshold, alpha)
    return [TimeFolded(layer)] + ([bn] if bn is not None else [])


def spiking_mlp(
    in_features,
    num_classes=10,
    hidden=64,
    depth=3,
    norm="none",
    neuron="lif",
    return_mem=False,
    **neuron_options,
):
    """A fully connected SNN with ``depth`` weight layers (``depth - 1`` hidden, width ``hidden``).

    ``[T, B, ...]`` inputs are flattened per sample. Hidden layers are
    ``Linear -> normalisation -> Spiking``; the output layer ``Linear -> Spiking``.

    Args:
        in_features: input size per sample (e.g. 64 for 8x8 digits).
        num_classes: output neurons.
        hidden: width of every hidden layer.
        depth: number of weight layers, >= 1.
        norm: ``"none"``, ``"bn"`` (batch norm through time) or ``"tdbn"``.
        neuron: ``"lif"``, ``"leak_aware"`` or a :class:`NeuronLayers`.
        return_mem: the output layer returns ``(spk, mem)``.
        neuron_options (keywords): ``beta``, ``threshold``, ``spike_grad``, ``reset_mechanism`` (see
            :class:`NeuronLayers`).
    """
    check_int("in_features", in_features, low=1)
    check_int("num_classes", num_classes, low=1)
    check_int("hidden", hidden, low=1)
    check_int("depth", depth, low=1)
    check_choice("norm", norm, NORMS)
    make = NeuronLayers.of(neuron, neuron_options)
    threshold = make.threshold
    layers, width = [TimeFolded(nn.Flatten())], in_features
    for _ in range(depth - 1):
        layers += _with_norm(nn.Linear(width, hidden, bias=norm == "none"), norm, hidden, threshold)
        layers.append(make())
        width = hidden
    layers += [TimeFolded(nn.Linear(width, num_classes)), make(return_mem, output=True)]
    return nn.Sequential(*layers)


def _conv(cin, cout, kernel, stride, norm):
    return nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=norm == "none")


def spiking_vgg(
    in_channels=1,
    num_classes=10,
    width=16,
    depth=4,
    pool_every=2,
    image_size=8,
    norm="tdbn",
    neuron="lif",
    return_mem=False,
    **neuron_options,
):
    """A VGG-style SNN: ``depth`` 3x3 convolutions, 2x2 average pooling after every ``pool_every``
    (the width doubles after each pooling), then a linear spiking output layer.

    Each convolution is ``Conv -> normalisation -> Spiking``. Other args as :func:`spiking_mlp`;
    ``image_size`` is the input height = width.
    """
    check_int("in_channels", in_channels, low=1)
    check_int("width", width, low=1)
    check_int("depth", depth, low=1)
    check_int("pool_every", pool_every, low=1)
    check_int("image_size", image_size, low=1)
    check_choice("norm", norm, NORMS)
    make = NeuronLayers.of(neuron, neuron_options)
    threshold = make.threshold
    layers, cin, size = [], in_channels, image_size
    for i in range(depth):
        layers += _with_norm(_conv(cin, width, 3, 1, norm), norm, width, threshold)
        layers.append(make())
        cin = width
        if (i + 1) % pool_every == 0 and size >= 2:
            layers.append(TimeFolded(nn.AvgPool2d(2)))
            size, width = size // 2, width * 2
    layers += [TimeFolded(nn.Flatten()), TimeFolded(nn.Linear(cin * size * size, num_classes))]
    return nn.Sequential(*layers, make(return_mem, output=True))


class SpikingBasicBlock(nn.Module):
    """tdBN's residual block: ``LIF(norm_{1/√2}(conv(LIF(norm_1(conv(x))))) + shortcut(x))``.

    Args:
        cin, cout: input and output channels.
        stride: stride of the first convolution (and of the 1x1 shortcut convolution, used when
            ``stride != 1`` or ``cin != cout``).
        norm, neuron, neuron_options: as :func:`spiking_mlp`.
    """

    def __init__(
        self,
        cin,
        cout,
        stride=1,
        norm="tdbn",
        neuron="lif",
        **neuron_options,
    ):
        super().__init__()
        check_int("cin", cin, low=1)
        check_int("cout", cout, low=1)
        check_int("stride", stride, low=1)
        check_choice("norm", norm, NORMS)
        make_neuron = NeuronLayers.of(neuron, neuron_options)
        threshold = make_neuron.threshold
        half = _norm.RESIDUAL_ALPHA
        self.branch = nn.Sequential(
            *_with_norm(_conv(cin, cout, 3, stride, norm), norm, cout, threshold),
            make_neuron(),
            *_with_norm(_conv(cout, cout, 3, 1, norm), norm, cout, threshold, alpha=half),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                *_with_norm(_conv(cin, cout, 1, stride, norm), norm, cout, threshold, alpha=half)
            )
        self.neuron = make_neuron()  # after the addition

    def forward(self, x_seq):
        """``[T, B, cin, H, W]`` spikes to ``[T, B, cout, H/stride, W/stride]`` spikes."""
        return self.neuron(self.branch(x_seq) + self.shortcut(x_seq))


def spiking_resnet(
    in_channels=1,
    num_classes=10,
    width=16,
    depth=20,
    blocks=None,
    norm="tdbn",
    neuron="lif",
    return_mem=False,
    **neuron_options,
):
    """A ResNet-style SNN (CIFAR layout, He et al. 2016) with tdBN's residual blocks.

    A 3x3 stem convolution, then stages of :class:`SpikingBasicBlock` (widths ``width``,
    ``2·width``, ``4·width``...; every stage after the first halves the resolution), global
    average pooling and a linear spiking output layer. ``depth = 6n + 2`` gives three stages of
    ``n`` blocks (ResNet-20: ``n = 3``); ``blocks=(3, 3, 2)`` sets the blocks per stage directly
    (then ``depth`` is ignored): with ``width=128`` that is tdBN's ResNet-19 layout.

    Args:
        in_channels, num_classes: image channels and classes.
        width: channels of the first stage.
        depth: weight layers, ``6n + 2`` (20, 32, 44, 56, ...).
        blocks: tuple of blocks per stage, overrides ``depth``.
        norm, neuron, return_mem, neuron_options: as :func:`spiking_mlp` (``norm="tdbn"`` by
            default here).
    """
    check_int("in_channels", in_channels, low=1)
    check_int("width", width, low=1)
    check_choice("norm", norm, NORMS)
    if blocks is None:
        depth = check_int("depth", depth, low=8)
        if (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 (20, 32, 44, ...), got {depth}")
        blocks = ((depth - 2) // 6,) * 3
    blocks = tuple(check_int("blocks", b, low=1) for b in blocks)
    make = NeuronLayers.of(neuron, neuron_options)
    threshold = make.threshold
    layers = _with_norm(_conv(in_channels, width, 3, 1, norm), norm, width, threshold)
    layers.append(make())
    cin = width
    for stage, n in enumerate(blocks):
        cout = width * 2**stage
        for b in range(n):
            stride = 2 if stage > 0 and b == 0 else 1
            layers.append(SpikingBasicBlock(cin, cout, stride, norm, make))
            cin = cout
    layers += [
        TimeFolded(nn.AdaptiveAvgPool2d(1)),
        TimeFolded(nn.Flatten()),
        TimeFolded(nn.Linear(cin, num_classes)),
        make(return_mem, output=True),
    ]
    return nn.Sequential(*layers)


__all__ = [
    "NORMS",
    "NEURONS",
    "NeuronLayers",
    "spiking_mlp",
    "spiking_vgg",
    "spiking_resnet",
    "SpikingBasicBlock",
]
