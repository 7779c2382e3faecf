"""One neuron: the neuron core (charge, fire, reset), the neuron family, surrogate
gradients and spike codes. Tutorials 01-03 and 12."""
