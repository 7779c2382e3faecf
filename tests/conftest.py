"""Test settings shared by every test file."""

import os

from hypothesis import settings

# CI replays the same examples every run (a red build is then reproducible, never a fluke of the
# draw); locally hypothesis keeps exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
