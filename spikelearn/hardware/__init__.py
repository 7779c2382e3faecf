"""Towards hardware: quantisation, integer-only inference, operation and energy counts,
NIR export. Tutorial 10."""
