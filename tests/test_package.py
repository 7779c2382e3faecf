"""The package itself: every module reachable as ``spikelearn.<module>``, imported lazily."""

import subprocess
import sys

import pytest

import spikelearn as sl


@pytest.mark.parametrize("name", sl.MODULES)
def test_every_module_is_reachable_from_the_package(name):
    # issue 12: ``import spikelearn as sl; sl.neurons`` raised AttributeError
    module = getattr(sl, name)
    assert module.__name__ == f"spikelearn.{name}"
    assert name in dir(sl)


def test_import_spikelearn_loads_no_submodule_and_no_torch():
    code = "import sys, spikelearn; print(sorted(m for m in sys.modules if m.startswith(('spikelearn.', 'torch'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        sl.nope  # noqa: B018
