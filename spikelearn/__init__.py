"""spikelearn: learn spiking neural networks by running them."""

__version__ = "0.1.0"  # the one version source: pyproject.toml reads it (setuptools dynamic)
# The distribution this package ships in (pyproject's [project] name; PyPI's `spikelearn` is an
# unrelated project). The tutorials' Colab install cell checks it to prove it got this package.
__distribution__ = "spikelearn-course"
