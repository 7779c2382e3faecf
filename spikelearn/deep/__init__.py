"""Deep SNNs beyond direct training's basics: ANN-to-SNN conversion (tutorial 11); the TET loss,
spiking self-attention and lighter BPTT (checkpointing through time, 1-bit spikes) (tutorial 16)."""
