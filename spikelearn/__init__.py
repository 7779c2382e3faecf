"""spikelearn: learn spiking neural networks by running them.

``import spikelearn as sl`` loads nothing else; a module is imported the first time it is used
(``sl.neurons.LIF``), through the module ``__getattr__`` of PEP 562, so the package stays quick
to import while every module is reachable from it.
"""

import importlib

__version__ = "0.1.0"  # the one version source: pyproject.toml reads it (setuptools dynamic)
# The distribution this package ships in (pyproject's [project] name; PyPI's `spikelearn` is an
# unrelated project). The tutorials' Colab install cell checks it to prove it got this package.
__distribution__ = "spikelearn-course"

MODULES = (
    "adaptive", "analysis", "claims", "conversion", "cost", "datasets", "encoding",
    "event_datasets", "events", "export", "integer", "layers", "leak_aware", "models", "neurons",
    "norm", "online", "plasticity", "plot", "quant", "recurrent", "surrogate", "tasks", "training",
    "ttfs", "ttfs_mapping", "ttfs_simulation", "widgets",
)  # fmt: skip


def __getattr__(name):
    if name in MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'spikelearn' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *MODULES])
