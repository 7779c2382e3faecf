"""What a user installs is what we test: the built wheel and sdist, and Binder's environment.

``built`` runs ``python -m build`` once (sdist, then the wheel from that sdist, as a package index
would). ``test_built_wheel_installs_and_runs`` checks the archives carry LICENSE, installs the
wheel with ``pip install --no-deps --target`` into an empty folder (no download: torch and the
other dependencies come from the running environment) and runs a smoke test in a fresh
interpreter started outside the repository, so ``import spikelearn`` finds the wheel's copy.
``test_sdist_installs_and_carries_what_its_tests_need`` installs from the sdist the same way and
runs the tests the sdist carries against that copy: collected only (every file imports, every
fixture resolves) in ``make test``, all of them with ``SPIKELEARN_SDIST_TESTS=all``
(``make sdist-test``, which CI runs).
"""

import os
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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``(wheel, sdist)`` built from this checkout into a temporary folder."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return wheel, sdist


def _install(archive, target):
    """``pip install --no-deps --target``: the archive's own files; the rest from this venv."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
        + ["--target", str(target), str(archive)],
        check=True,
        capture_output=True,
    )


def test_built_wheel_installs_and_runs(built, tmp_path):
    wheel, sdist = built
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
    _install(wheel, target)
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


# The tests about the repository around the package (MANIFEST.in leaves them out of the sdist)
REPOSITORY_TESTS = {
    "test_identity.py",
    "test_figures.py",
    "test_packaging.py",
    "test_robustness_runner.py",
    "test_widgets_browser.py",
    "test_docs_browser.py",
    "test_tidy_notebooks.py",
    "test_setup_env.py",
    "test_course.py",
}


def test_sdist_installs_and_carries_what_its_tests_need(built, tmp_path):
    _, sdist = built
    with tarfile.open(sdist) as t:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.10.12+
        t.extractall(tmp_path, **safe)
    (unpacked,) = tmp_path.glob("spikelearn_course-*")
    shipped = {p.name for p in (unpacked / "tests").glob("test_*.py")}
    here = {p.name for p in (ROOT / "tests").glob("test_*.py")}
    assert shipped == here - REPOSITORY_TESTS, "MANIFEST.in and REPOSITORY_TESTS disagree"
    target = tmp_path / "site"
    _install(sdist, target)  # builds the wheel from the sdist, as pip does for a user

    everything = os.environ.get("SPIKELEARN_SDIST_TESTS") == "all"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(unpacked / "tests")]
    # the one long measured claim (a training run) already ran in the unit suite of the same CI
    slow = "not test_the_cifar_recipe_learns_the_digits_at_cifar_size"
    cmd += ["-k", slow] if everything else ["--collect-only"]
    env = dict(os.environ, PYTHONPATH=str(target), MPLBACKEND="Agg")
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    counts = re.search(r"(\d+) (?:passed|tests? collected)", run.stdout)
    assert counts and int(counts[1]) > 100, run.stdout[-2000:]
    # the tests ran against the installed sdist, not this checkout
    where = subprocess.run(
        [sys.executable, "-c", "import spikelearn; print(spikelearn.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(target)), where.stdout + where.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
