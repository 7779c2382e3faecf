"""spikelearn: learn spiking neural networks by running them.

The package is a stack of layers, one folder each, in the order of the course (bottom first):
:data:`LAYERS`. A module may import only from its own layer or the layers below it, so the tree
reads as the architecture (``docs/developers.md``; ``tests/test_package.py`` checks it).

Every module is reachable by its short name, ``from spikelearn import neurons``,
``spikelearn.neurons.LIF`` or ``from spikelearn.neurons import LIF``, whatever folder holds it:
the short names are read from the folders themselves (:data:`MODULES`; the one list of modules
is the tree), and a module is imported the first time it is used, through the module
``__getattr__`` of PEP 562 (and, for ``import spikelearn.neurons``, an import finder that gives
the same module object), so ``import spikelearn`` stays quick.
"""

import importlib
import importlib.abc
import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"  # the one version source: pyproject.toml reads it (setuptools dynamic)
# The distribution this package ships in (pyproject's [project] name; PyPI's `spikelearn` is an
# unrelated project). The tutorials' Colab install cell checks it to prove it got this package.
__distribution__ = "spikelearn-course"

LAYERS = (
    "cells",  # one neuron: charge, fire, reset; surrogate gradients; spike codes (01-03, 12)
    "networks",  # layers over time, the model walker, normalisation, models, training, data (04-08)
    "observe",  # monitors, gradients, plots and widgets: looking inside any spiking network
    "deep",  # deep SNNs beyond the basics: conversion (11); TET, attention, lighter BPTT (16)
    "hardware",  # quantisation, integer-only inference, operation counts, NIR export (10)
    "timing",  # time-to-first-spike coding and its exact simulation (09)
    "temporal",  # tasks in time, event-camera data and its datasets (12-13)
    "learning",  # local and online learning rules: STDP, e-prop, OTTT (14)
    "teaching",  # what the notebooks share: asserted claims, notebook helpers
    "recipes",  # the papers' networks on the real datasets, one command, one CPU or many GPUs
)


def _modules():
    """``{short name: "layer.module"}`` for every public module file in the layer folders."""
    here = Path(__file__).parent
    found = {}
    for layer in LAYERS:
        for path in sorted((here / layer).glob("[a-z]*.py")):
            found[path.stem] = f"{layer}.{path.stem}"
    return found


MODULES = _modules()


class _ShortName(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import spikelearn.neurons`` is ``spikelearn.cells.neurons``: the same module object."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, short = fullname.partition(".")
        if package == __name__ and short in MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module(f"{__name__}.{MODULES[spec.name.partition('.')[2]]}")
        spec.loader_state = module.__spec__  # the import machinery sets __spec__ to the alias's
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state  # it ran when its own name was imported


sys.meta_path.append(_ShortName())


def __getattr__(name):
    if name in MODULES:
        return importlib.import_module(f".{MODULES[name]}", __name__)
    raise AttributeError(f"module 'spikelearn' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *MODULES])
