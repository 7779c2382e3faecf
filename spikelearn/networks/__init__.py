"""Networks over time: layers that run whole ``[T, B, ...]`` sequences, the one model walker,
normalisation through time, model builders, training and the datasets. Tutorials 04-08."""
