"""One way to walk a model: every layer, what kind of layer it is and where it sits.

Every transform of a whole model (quantisation, integer inference, NIR export, ANN-to-SNN
conversion, TTFS mapping, operation counts, the surrogate scale, step-by-step execution) walks
it through this module, so they agree on what a layer is and fail the same way on one they do
not know. A layer's kind comes from one table::

    "synapse"     Linear, Conv1d/2d/3d              weights: what quantisers and counters see
    "norm"        BatchNorm1d/2d/3d, spikelearn's   what folding removes
    "activation"  ReLU and other pointwise maps     an ANN's non-linearity
    "stateless"   Flatten, pooling, Dropout, ...    the same operation at every time step
    "neuron"      every spikelearn neuron           state across time steps (cells.neuron)

torch's layers are looked up in :data:`KINDS`; spikelearn's own layers say what they are with a
class attribute ``kind`` (every ``Neuron`` is ``"neuron"``, ``BatchNormThroughTime`` ``"norm"``).
The wrappers ``layers.TimeFolded`` and ``layers.Spiking`` are looked through; containers
(``nn.Sequential``, residual blocks) are entered; any other module is a layer of unknown kind
(``None``), which a transform names in its error.

A transform that supports only some neuron types checks the exact type, never ``isinstance``:
a subclass (a neuron with another equation) is not silently treated as its parent.
"""

from typing import NamedTuple

from torch import nn

from .layers import Spiking, TimeFolded

KINDS = {
    **dict.fromkeys((nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d), "synapse"),
    **dict.fromkeys((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), "norm"),
    **dict.fromkeys((nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Sigmoid, nn.Tanh), "activation"),
    **dict.fromkeys(
        (
            nn.Flatten,
            nn.Identity,
            nn.Dropout,
            nn.MaxPool1d,
            nn.MaxPool2d,
            nn.AvgPool1d,
            nn.AvgPool2d,
            nn.AdaptiveAvgPool1d,
            nn.AdaptiveAvgPool2d,
        ),
        "stateless",
    ),  # fmt: skip
}
CONTAINERS = (nn.Sequential, nn.ModuleList)


def kind(layer):
    """``"synapse"``, ``"norm"``, ``"activation"``, ``"stateless"``, ``"neuron"`` or ``None``."""
    own = getattr(type(layer), "kind", None)
    if isinstance(own, str):
        return own
    # torch's layers by their class or a base class (a parametrized Linear is still a Linear)
    return next((KINDS[t] for t in type(layer).__mro__ if t in KINDS), None)


def inner(module):
    """The layer a ``TimeFolded`` (its ``module``) or ``Spiking`` (its ``neuron``) wraps; any other
    module as it is."""
    if isinstance(module, TimeFolded):
        return module.module
    return module.neuron if isinstance(module, Spiking) else module


class Site(NamedTuple):
    """One layer of a model: its dotted ``name``, the ``layer``, its ``kind``, and where it sits:
    the ``wrapper`` (``TimeFolded``/``Spiking``) around it, or else its ``parent`` and ``key``."""

    name: str
    layer: nn.Module
    kind: str | None
    parent: nn.Module
    key: str
    wrapper: nn.Module | None


def walk(model, prefix=""):
    """Every layer of ``model`` in order, as :class:`Site` s (wrappers looked through, containers
    and residual blocks entered; a layer of a known kind is not entered, so a recurrent neuron's
    own feedback ``Linear`` belongs to the neuron)."""
    if kind(model) is not None:
        return [Site(prefix or type(model).__name__, model, kind(model), model, "", None)]
    sites = []
    for key, child in model.named_children():
        name = f"{prefix}.{key}" if prefix else key
        layer = inner(child)
        if kind(layer) is not None or not list(layer.children()):  # a layer, known or not
            sites.append(
                Site(name, layer, kind(layer), model, key, None if layer is child else child)
            )
        else:  # a container or a block: its layers
            sites += walk(layer, name)
    return sites


def replace(site, new):
    """Put ``new`` where ``site``'s layer was (inside its wrapper, if it has one)."""
    if isinstance(site.wrapper, TimeFolded):
        site.wrapper.module = new
    elif isinstance(site.wrapper, Spiking):
        site.wrapper.neuron = new
    else:
        setattr(site.parent, site.key, new)


def neurons(model):
    """The :class:`Site` of every neuron in ``model``."""
    return [site for site in walk(model) if site.kind == "neuron"]


def _names(types):
    return ", ".join(t.__name__ for t in types)


def require(site, supported, what):
    """``TypeError`` unless ``type(site.layer)`` is exactly one of ``supported`` (a subclass with
    its own equation is not its parent), naming the layer's type and what ``what`` supports."""
    if type(site.layer) not in supported:
        raise TypeError(
            f"{what} supports {_names(supported)}; got {type(site.layer).__name__} at {site.name!r}"
        )
    return site


def chain(model, supported, what):
    """The sites of a flat ``nn.Sequential`` of ``TimeFolded``/``Spiking`` layers, each wrapped
    layer exactly one of ``supported`` (``TypeError`` naming it otherwise)."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    sites = []
    for i, m in enumerate(model):
        if not isinstance(m, TimeFolded | Spiking):
            raise TypeError(
                f"{what}: model layers must be TimeFolded or Spiking, got {type(m).__name__} "
                f"at index {i}"
            )
        layer = inner(m)
        sites.append(require(Site(str(i), layer, kind(layer), model, str(i), m), supported, what))
    return sites


__all__ = [
    "KINDS",
    "CONTAINERS",
    "kind",
    "inner",
    "Site",
    "walk",
    "replace",
    "neurons",
    "require",
    "chain",
]
