"""Deep SNNs beyond direct training's basics: ANN-to-SNN conversion. Tutorial 11."""
