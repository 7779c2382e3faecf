"""Local and online learning rules: STDP, e-prop eligibility traces, OTTT. Tutorial 14."""
