"""What a user installs is what we test: the built wheel and sdist, and Binder's environment.

``test_built_wheel_installs_and_runs`` runs ``python -m build`` (sdist, then the wheel from that
sdist, as a package index would), checks the archives carry LICENSE and tests/conftest.py,
installs the wheel with ``pip install --no-deps --target`` into an empty folder (no download:
torch and the other dependencies come from the running environment) and runs a smoke test in a
fresh interpreter started outside the repository, so ``import spikelearn`` finds the wheel's copy.
"""

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import spikelearn

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = {Requirement(r).name: Requirement(r) for r in PROJECT["dependencies"]}

SMOKE = """
import importlib.metadata, sys, torch
import spikelearn
from spikelearn import neurons, widgets
assert spikelearn.__file__.startswith(sys.argv[1]), spikelearn.__file__
assert importlib.metadata.version(spikelearn.__distribution__) == spikelearn.__version__
spk, mem = neurons.LIF(beta=0.5)(torch.full((1, 3), 2.0))
assert spk.sum() == 3, spk
assert widgets.lif_explorer(current=0.5).png.startswith(b"\\x89PNG")
print("smoke ok", spikelearn.__version__)
"""


def _pip_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return {Requirement(r).name: Requirement(r) for r in pip if not r.startswith("-")}, env


def test_binder_environment_pins_the_runtime_dependencies_of_pyproject():
    pins, env = _pip_pins()
    assert set(RUNTIME) <= set(pins), f"missing from environment.yml: {set(RUNTIME) - set(pins)}"
    extra = set(pins) - set(RUNTIME) - {"jupyterlab", "setuptools", "nir"}
    assert not extra, f"environment.yml installs {extra}, which pyproject does not list"
    for name, pin in pins.items():
        (spec,) = pin.specifier
        assert spec.operator == "==", f"{name} is not pinned: {pin}"
        if name in RUNTIME:
            assert RUNTIME[name].specifier.contains(spec.version), f"{pin} vs {RUNTIME[name]}"
    # postBuild builds without isolation: setuptools must meet pyproject's build requirement
    build_req = Requirement(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"][0]
    )
    assert build_req.specifier.contains(next(iter(pins["setuptools"].specifier)).version)
    torch_pin = re.search(r"^torch==(\S+)", (ROOT / "constraints.txt").read_text(), re.M)[1]
    assert str(pins["torch"].specifier) == f"=={torch_pin}"  # the torch CI tests
    assert "python=3.11" in env["dependencies"]


def test_built_wheel_installs_and_runs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    stem = f"{PROJECT['name'].replace('-', '_')}-{spikelearn.__version__}"
    assert wheel.name.startswith(stem + "-") and sdist.name == f"{stem}.tar.gz"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert f"{stem}.dist-info/licenses/LICENSE" in names
        meta = z.read(f"{stem}.dist-info/METADATA").decode()
    assert f"Name: {PROJECT['name']}\n" in meta and "License-Expression: MIT\n" in meta
    assert "Project-URL: Source, https://github.com/" in meta
    assert not [n for n in names if n.startswith(("tests/", "tutorials/"))]
    with tarfile.open(sdist) as t:
        members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    assert {"LICENSE", "tests/conftest.py", "CHANGELOG.md", "CITATION.cff"} <= members

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {"PYTHONPATH": str(target), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-c", SMOKE, str(target)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == f"smoke ok {spikelearn.__version__}"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
