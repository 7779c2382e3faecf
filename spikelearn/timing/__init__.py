"""Time-to-first-spike (TTFS) coding: one spike per neuron, its time is the value. Tutorial 09."""
