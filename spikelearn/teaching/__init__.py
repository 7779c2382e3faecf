"""What the tutorials share: asserted claims and the helpers notebooks import."""
