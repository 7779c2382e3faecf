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

or, with ``spiking_resnet(block="sew")``, the spike-element-wise block of SEW-ResNet (Fang et al.
NeurIPS 2021, arXiv 2102.04159; :class:`SEWBlock`), which can be the identity::

    out = g( LIF(norm(conv(LIF(norm(conv(s)))))), shortcut(s) )     g: ADD a + s, AND a·s, IAND (1 - a)·s
    shortcut = identity, or LIF(norm(conv1x1, stride s)) when the shape changes (spikes again)

For event data the SEW paper chains its blocks at shrinking resolution instead, each block
followed by 2x2 max pooling, and reads out the time-averaged spikes (:func:`sew_chain`, its
CIFAR10-DVS "Wide-7B-Net").
"""

from torch import nn

from .._checks import check_choice, check_int, check_sequence
from ..cells.adaptive import PLIF
from ..cells.leak_aware import LeakAwareLIF
from ..cells.neurons import LIF
from . import norm as _norm
from .layers import Spiking, TimeFolded

NORMS = ("none", "bn", "tdbn")
NEURONS = ("lif", "leak_aware", "plif")
BLOCKS = ("basic", "sew")
CONNECTIONS = ("add", "and", "iand")
READOUTS = ("mean", "spikes")


class NeuronLayers:
    """The neuron settings of a model, given once: each call makes one fresh ``Spiking`` layer.

    Every builder takes ``neuron=`` (a kind, or a ready ``NeuronLayers``) plus these options as
    keywords, e.g. ``spiking_mlp(64, neuron="leak_aware", beta=0.99)``.

    Args:
        kind: ``"lif"`` (:class:`spikelearn.neurons.LIF`) or ``"leak_aware"`` (hidden layers of
            :class:`spikelearn.leak_aware.LeakAwareLIF`; the output layer stays a LIF with a
            surrogate, read out by its membrane as in Lee et al. 2020 - use ``return_mem=True``
            and ``training.ce_membrane_loss()``) or ``"plif"`` (:class:`spikelearn.adaptive.PLIF`
            in every layer, each with its own learnable time constant, starting from ``beta``;
            ``reset_mechanism`` is then the PLIF's, ``"zero_before"`` unless given).
        beta, threshold, spike_grad, reset_mechanism: the LIF parameters (see ``neurons.LIF``).
    """

    def __init__(self, kind="lif", beta=0.9, threshold=1.0, spike_grad=None,
                 reset_mechanism=None):  # fmt: skip
        self.kind = check_choice("neuron", kind, NEURONS)
        if reset_mechanism is None and kind != "plif":
            reset_mechanism = "subtract"
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
        elif self.kind == "plif":
            reset = "zero_before" if self.reset_mechanism is None else self.reset_mechanism
            cell = PLIF(self.beta, self.threshold, self.spike_grad, reset)
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


def _widths(name, value):
    """``value`` (an int, or a tuple/list of ints, each >= 1) as a tuple of ints."""
    values = value if isinstance(value, tuple | list) else (value,)
    return tuple(check_int(name, v, low=1) for v in values)


def _head(features, hidden, num_classes, norm, make, return_mem):
    """``Linear -> normalisation -> Spiking`` per width in ``hidden``, then the spiking output."""
    layers = []
    for width in _widths("hidden", hidden):
        linear = nn.Linear(features, width, bias=norm == "none")
        layers += _with_norm(linear, norm, width, make.threshold)
        layers.append(make())
        features = width
    return layers + [TimeFolded(nn.Linear(features, num_classes)), make(return_mem, output=True)]


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
    layout=None,
    hidden=(),
    **neuron_options,
):
    """A VGG-style SNN: ``depth`` 3x3 convolutions, 2x2 average pooling after every ``pool_every``
    (the width doubles after each pooling), then a linear spiking output layer.

    Each convolution is ``Conv -> normalisation -> Spiking``. Other args as :func:`spiking_mlp`;
    ``image_size`` is the input height = width.

    Args:
        layout: the convolutions' widths per stage, with 2x2 average pooling after each stage;
            overrides ``width``, ``depth`` and ``pool_every``. Lee et al. 2020's VGG-9 is
            ``((64, 64), (128, 128), (256, 256, 256))`` with ``hidden=1024``.
        hidden: widths of spiking linear layers (``Linear -> normalisation -> Spiking``) before
            the output layer, an int or a tuple (default none).
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

    def conv(cout):
        return [*_with_norm(_conv(cin, cout, 3, 1, norm), norm, cout, threshold), make()]

    if layout is None:
        for i in range(depth):
            layers += conv(width)
            cin = width
            if (i + 1) % pool_every == 0 and size >= 2:
                layers.append(TimeFolded(nn.AvgPool2d(2)))
                size, width = size // 2, width * 2
    else:
        for stage in layout:
            for cout in _widths("layout", stage):
                layers += conv(cout)
                cin = cout
            if size >= 2:
                layers.append(TimeFolded(nn.AvgPool2d(2)))
                size //= 2
    layers.append(TimeFolded(nn.Flatten()))
    head = _head(cin * size * size, hidden, num_classes, norm, make, return_mem)
    return nn.Sequential(*layers, *head)


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


def sew_connect(a, s, connection="add"):
    """SEW's element-wise connection ``g(a, s)`` of the branch's spikes ``a`` and the shortcut's ``s``.

    ``"add"``: ``a + s`` (a count: 0, 1 or 2 when both are spikes); ``"and"``: ``a·s``;
    ``"iand"``: ``(1 - a)·s`` (the input spike passes unless the branch fires). With a silent
    branch (``a = 0``), ``"add"`` and ``"iand"`` return ``s`` exactly: the identity.
    """
    check_choice("connection", connection, CONNECTIONS)
    if connection == "add":
        return a + s
    if connection == "and":
        return a * s
    return (1 - a) * s


class SEWBlock(nn.Module):
    """Spike-element-wise residual block (SEW-ResNet, Fang et al. NeurIPS 2021, arXiv 2102.04159).

    tdBN's block (:class:`SpikingBasicBlock`) fires a neuron on the *sum* ``F(s) + s``: with the
    branch ``F`` silenced (zero weights) its output is ``LIF(s)``, a neuron driven by the input
    spikes, which is not ``s`` (a single input spike of 1 leaves the membrane at ``V_th``, and
    ``H(u - V_th)`` stays 0). A stack of such blocks cannot pass its input through unchanged, so
    it lacks the identity mapping that lets deep ResNets train (He et al. 2016). SEW puts the last
    neuron inside the branch and joins *spikes* element-wise::

        a = LIF(norm(conv(LIF(norm(conv(s)))))),     o = g(a, shortcut(s))   (:func:`sew_connect`)

    With the branch silent, ``"add"`` and ``"iand"`` give ``o = s`` exactly, at any depth. The
    normalisations use ``α = 1`` (no currents are summed). ``"add"`` outputs counts (0, 1, 2, ...
    growing with depth); ``"and"`` and ``"iand"`` stay binary. Reported on ImageNet at ``T = 4``:
    SEW-ResNet-50/101/152 with ADD, 67.78 / 68.76 / 69.26 %.

    Args:
        cin, cout: input and output channels.
        stride: stride of the first convolution; when ``stride != 1`` or ``cin != cout`` the
            shortcut is ``LIF(norm(conv1x1, stride))``, so it too outputs spikes.
        connection: ``"add"`` (default, the paper's best), ``"and"`` or ``"iand"``.
        norm, neuron, neuron_options: as :func:`spiking_mlp`.
    """

    def __init__(self, cin, cout, stride=1, connection="add", norm="tdbn", neuron="lif",
                 **neuron_options):  # fmt: skip
        super().__init__()
        check_int("cin", cin, low=1)
        check_int("cout", cout, low=1)
        check_int("stride", stride, low=1)
        self.connection = check_choice("connection", connection, CONNECTIONS)
        check_choice("norm", norm, NORMS)
        make_neuron = NeuronLayers.of(neuron, neuron_options)
        threshold = make_neuron.threshold
        self.branch = nn.Sequential(
            *_with_norm(_conv(cin, cout, 3, stride, norm), norm, cout, threshold),
            make_neuron(),
            *_with_norm(_conv(cout, cout, 3, 1, norm), norm, cout, threshold),
            make_neuron(),  # the branch ends in spikes: a = SN(F(s))
        )
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                *_with_norm(_conv(cin, cout, 1, stride, norm), norm, cout, threshold),
                make_neuron(),
            )

    def forward(self, x_seq):
        """``[T, B, cin, H, W]`` spikes (or ADD's counts) to ``[T, B, cout, H/stride, W/stride]``."""
        return sew_connect(self.branch(x_seq), self.shortcut(x_seq), self.connection)

    def extra_repr(self):
        return f"connection={self.connection!r}"


def spiking_resnet(
    in_channels=1,
    num_classes=10,
    width=16,
    depth=20,
    blocks=None,
    norm="tdbn",
    neuron="lif",
    return_mem=False,
    block="basic",
    connection="add",
    hidden=(),
    **neuron_options,
):
    """A ResNet-style SNN (CIFAR layout, He et al. 2016) with tdBN's or SEW's residual blocks.

    A 3x3 stem convolution, then stages of residual blocks, :class:`SpikingBasicBlock`
    (``block="basic"``) or :class:`SEWBlock` (``block="sew"``) (widths ``width``,
    ``2·width``, ``4·width``...; every stage after the first halves the resolution), global
    average pooling and a linear spiking output layer. ``depth = 6n + 2`` gives three stages of
    ``n`` blocks (ResNet-20: ``n = 3``); ``blocks=(3, 3, 2)`` sets the blocks per stage directly
    (then ``depth`` is ignored): with ``width=128`` and ``hidden=256`` that is tdBN's ResNet-19.

    Args:
        in_channels, num_classes: image channels and classes.
        width: channels of the first stage.
        depth: weight layers, ``6n + 2`` (20, 32, 44, 56, ...).
        blocks: tuple of blocks per stage, overrides ``depth``.
        norm, neuron, return_mem, neuron_options: as :func:`spiking_mlp` (``norm="tdbn"`` by
            default here).
        block: ``"basic"`` (tdBN's block, the neuron after the sum) or ``"sew"`` (SEW-ResNet).
        connection: SEW's element-wise connection, ``"add"``, ``"and"`` or ``"iand"`` (used with
            ``block="sew"`` only).
        hidden: widths of spiking linear layers before the output layer, as
            :func:`spiking_vgg` (tdBN's ResNet-19 has one of 256).
    """
    check_int("in_channels", in_channels, low=1)
    check_int("width", width, low=1)
    check_choice("norm", norm, NORMS)
    check_choice("block", block, BLOCKS)
    check_choice("connection", connection, CONNECTIONS)
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
            if block == "sew":
                layers.append(SEWBlock(cin, cout, stride, connection, norm, make))
            else:
                layers.append(SpikingBasicBlock(cin, cout, stride, norm, make))
            cin = cout
    layers += [TimeFolded(nn.AdaptiveAvgPool2d(1)), TimeFolded(nn.Flatten())]
    return nn.Sequential(*layers, *_head(cin, hidden, num_classes, norm, make, return_mem))


class MeanOverTime(nn.Module):
    """``[T, B, ...] -> [B, ...]``: the mean over the time steps, ``(1/T) Σ_t x[t]``.

    On spikes that is each feature's firing rate: SEW-ResNet's read-out for event data puts its
    linear classifier after it (:func:`sew_chain`), so the network outputs logits ``[B, classes]``
    rather than a sequence (Fang et al. NeurIPS 2021, arXiv 2102.04159).
    """

    def forward(self, x_seq):
        check_sequence("x_seq", x_seq, finite=False)
        return x_seq.mean(0)


def sew_chain(
    in_channels=2,
    num_classes=10,
    width=64,
    blocks=(4, 3),
    image_size=128,
    norm="bn",
    neuron="plif",
    connection="add",
    readout="mean",
    return_mem=False,
    **neuron_options,
):
    """SEW-ResNet's network for event data: stages of :class:`SEWBlock` s, each block followed by
    2x2 max pooling (Fang et al. NeurIPS 2021, arXiv 2102.04159; its CIFAR10-DVS "Wide-7B-Net").

    Stage ``i`` has ``c = width·2^i`` channels and ``blocks[i]`` blocks::

        s = SN(norm(conv1x1(s)))                 when the channels change (input -> c)
        s = maxpool2x2(g(SN(F(s)), s))           blocks[i] times (SEW block, identity shortcut)

    then, with ``readout="mean"`` (the paper's), a linear layer on the time-averaged flattened
    spikes: ``y = W·((1/T) Σ_t s[t]) + b``, logits ``[B, classes]`` (train with a cross-entropy
    on them); with ``readout="spikes"``, the library's spiking output layer (``Linear -> Spiking``,
    ``[T, B, classes]``, ``return_mem`` as in :func:`spiking_mlp`). Pooling stops at 1x1: a
    smaller image skips the last poolings (as :func:`spiking_vgg` does).

    The Wide-7B-Net is ``sew_chain(2, 10, width=64, blocks=(4, 3))`` on 2x128x128 frames, with
    batch norm (``norm="bn"``) and PLIF neurons from ``τ = 2`` (``beta=0.5``); its seven poolings
    take 128x128 to 1x1, so the classifier sees 128 firing rates. The up-projections are 1x1 as
    in the authors' code (``cifar10dvs/smodels.py``).

    Args:
        in_channels, num_classes: input channels (2 polarities for event frames) and classes.
        width: channels of the first stage; each later stage doubles them.
        blocks: SEW blocks per stage, a tuple of ints >= 1.
        image_size: the input height = width (to size the classifier).
        norm: ``"none"``, ``"bn"`` or ``"tdbn"``, as :func:`spiking_mlp`.
        neuron, neuron_options: as :func:`spiking_mlp` (``"plif"`` and ``beta=0.5`` by default
            here).
        connection: SEW's ``g``: ``"add"`` (the paper's choice here), ``"and"`` or ``"iand"``.
        readout: ``"mean"`` (logits of the mean spikes) or ``"spikes"`` (a spiking output layer).
        return_mem: with ``readout="spikes"``, the output layer returns ``(spk, mem)``.
    """
    check_int("in_channels", in_channels, low=1)
    check_int("num_classes", num_classes, low=1)
    check_int("width", width, low=1)
    blocks = _widths("blocks", blocks)
    size = check_int("image_size", image_size, low=1)
    check_choice("norm", norm, NORMS)
    check_choice("connection", connection, CONNECTIONS)
    check_choice("readout", readout, READOUTS)
    if return_mem and readout == "mean":
        raise ValueError(
            "return_mem=True needs readout='spikes'; readout='mean' returns logits [B, classes], "
            "no output membrane"
        )
    if not isinstance(neuron, NeuronLayers):
        neuron_options = {"beta": 0.5, **neuron_options}  # the paper's τ = 2 unless given
    make = NeuronLayers.of(neuron, neuron_options)
    layers, cin = [], in_channels
    for stage, n in enumerate(blocks):
        cout = width * 2**stage
        if cin != cout:
            layers += [
                *_with_norm(_conv(cin, cout, 1, 1, norm), norm, cout, make.threshold),
                make(),
            ]
        for _ in range(n):
            layers.append(SEWBlock(cout, cout, 1, connection, norm, make))
            if size >= 2:
                layers.append(TimeFolded(nn.MaxPool2d(2)))
                size //= 2
        cin = cout
    layers.append(TimeFolded(nn.Flatten()))
    features = cin * size * size
    if readout == "mean":
        return nn.Sequential(*layers, MeanOverTime(), nn.Linear(features, num_classes))
    head = [TimeFolded(nn.Linear(features, num_classes)), make(return_mem, output=True)]
    return nn.Sequential(*layers, *head)


__all__ = [
    "NORMS",
    "NEURONS",
    "NeuronLayers",
    "spiking_mlp",
    "spiking_vgg",
    "spiking_resnet",
    "SpikingBasicBlock",
    "SEWBlock",
    "sew_connect",
    "BLOCKS",
    "CONNECTIONS",
    "MeanOverTime",
    "sew_chain",
    "READOUTS",
]
