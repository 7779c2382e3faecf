"""spikelearn: learn spiking neural networks by running them."""

__version__ = "0.1.0"
