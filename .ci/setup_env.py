"""Make (or repair) ``.venv`` and install spikelearn with its dev tools: what ``make`` runs first.

Run by the system's Python (``python3 .ci/setup_env.py``; the Makefile does this whenever
``pyproject.toml``, ``constraints.txt`` or this script changed, or ``.venv/bin/python`` does not
run). Three things a plain
``pip install`` gets wrong for a newcomer, done right here:

1. **torch.** On Linux, PyPI's torch wheel pulls in 2.2 GB of CUDA libraries that a laptop never
   uses. PyTorch's CPU wheel index serves the same version built for the CPU (190 MB).
   A short request (``PROBE_TIMEOUT``, 3 s) checks that index answers; if it does, pip gets it as
   an extra index, if not (offline, firewalled) the set-up says so and takes the default index
   instead of letting pip retry every package for minutes. macOS and Windows take the default
   index: PyPI's wheel there is already CPU-only (with Apple's GPU on macOS).
   ``TORCH_INDEX=URL`` uses that index instead (e.g. a CUDA one), ``TORCH_INDEX=default`` none.
2. **A stale ``.venv``**: one made by a Python older than 3.10, one whose Python no longer runs,
   one without pip (``python3-venv`` missing), or one left by a set-up that did not finish is
   removed and made again, saying why.
3. **Progress**: pip's own output is shown (what it downloads, how large), never silenced.

Usage::

    python3 .ci/setup_env.py                   # .venv in the repository's root
    python3 .ci/setup_env.py --choose-index    # only say which index torch would come from
    python3 .ci/setup_env.py --dry-run         # make/repair .venv, print the installs only

Runs on Python 3.7 and newer: run by an older Python than 3.10 it makes ``.venv`` with the newest
``python3.X`` on PATH, or says clearly that none was found.
"""

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

MINIMUM = (3, 10)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT = 3.0  # seconds to wait for it: a few, where pip would retry for minutes
# Downloads measured for Linux x86-64 (README, "What the set-up downloads"), said before they start
WITH_CPU_INDEX = "about 430 MB in all, torch's CPU build 190 MB of it"
WITH_PYPI = "about 3 GB in all, 2.2 GB of it CUDA libraries"
INCOMPLETE = ".setup-incomplete"  # present in .venv while an install runs; gone when it finished
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def say(message):
    print(">>> " + message, flush=True)


def venv_python(venv):
    """The interpreter inside ``venv`` (``bin/python`` on POSIX, ``Scripts\\python.exe`` on Windows)."""
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def python_version(python):
    """``(major, minor)`` of an interpreter, or None if it does not run."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def venv_problem(venv, minimum=MINIMUM):
    """Why ``venv`` cannot be used as it is, or None if it can (or does not exist yet)."""
    if not os.path.exists(venv):
        return None
    python = venv_python(venv)
    version = python_version(python)
    if version is None:
        return f"its Python ({python}) is missing or does not run"
    if version < minimum:
        return (
            f"it was made by Python {version[0]}.{version[1]} and spikelearn needs "
            f"{minimum[0]}.{minimum[1]} or newer"
        )
    if os.path.exists(os.path.join(venv, INCOMPLETE)):
        return "the set-up that made it did not finish"
    if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        return "it has no pip (on Debian/Ubuntu: sudo apt install python3-venv)"
    return None


def find_python(current=sys.executable, minimum=MINIMUM):
    """An interpreter >= ``minimum``: this one, else the newest ``python3.X`` on PATH, else None."""
    if sys.version_info[:2] >= minimum:
        return current
    for minor in range(20, minimum[1] - 1, -1):
        found = shutil.which(f"python3.{minor}")
        if found and (python_version(found) or (0, 0)) >= minimum:
            return found
    return None


def probe(url, timeout):
    """``(True, seconds)`` if ``url`` answers 200 within ``timeout`` s, else ``(False, why)``.

    The request runs in a thread that is abandoned after ``timeout``: a name that does not resolve
    can block far longer than a socket timeout, and this check must not.
    """
    result = {}

    def fetch():
        start = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                response.read(1024)
                ok, seconds = response.status == 200, time.monotonic() - start
                detail = f"{seconds:.1f} s" if ok else f"HTTP {response.status}"
        except Exception as error:  # any failure means: do not use this index
            ok, detail = False, f"{type(error).__name__}: {error}"
        result.update(ok=ok, detail=detail)  # both at once: the caller may be reading

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    thread.join(timeout)
    if "ok" not in result:
        return False, f"no answer within {timeout:g} s"
    return result["ok"], result["detail"]


def choose_torch_index(env=None, platform=None, cpu_index=CPU_INDEX, timeout=PROBE_TIMEOUT):
    """``(index URL or None, message)``: where pip should look for torch, and why.

    None means pip's default index (whatever the user's pip configuration says, PyPI by default).
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    override = env.get("TORCH_INDEX", "").strip()
    if override.lower() == "default":
        return None, "torch: TORCH_INDEX=default, so pip's default index."
    if override:
        return override, f"torch: TORCH_INDEX={override}, so that index as well as the default one."
    if not platform.startswith("linux"):
        return None, "torch: pip's default index (on macOS and Windows its torch is CPU-only)."
    ok, detail = probe(cpu_index.rstrip("/") + "/torch/", timeout)
    if ok:
        return cpu_index, (
            f"torch: PyTorch's CPU wheel index answered ({detail}), so torch's CPU build from "
            f"{cpu_index} ({WITH_CPU_INDEX}) rather than PyPI's ({WITH_PYPI})."
        )
    return None, (
        f"torch: PyTorch's CPU wheel index {cpu_index} did not answer ({detail}), so pip's "
        f"default index ({WITH_PYPI}). For the CPU build, run `rm -rf .venv` and make again "
        "where that index can be reached, or set TORCH_INDEX=URL to name another index."
    )


def pip_install_command(python, index):
    """The install itself: the project in editable mode with its dev tools, torch pinned."""
    command = [python, "-m", "pip", "install", "-c", "constraints.txt"]
    if index:
        command += ["--extra-index-url", index]
    return command + ["-e", ".[dev]"]


def make_venv(venv, python):
    """A new ``venv`` made by ``python``; exits with the reason if that fails."""
    major, minor = python_version(python)
    say(f"Making {venv} with {python} (Python {major}.{minor}).")
    made = subprocess.run([python, "-m", "venv", venv])
    if made.returncode != 0 or python_version(venv_python(venv)) is None:
        shutil.rmtree(venv, ignore_errors=True)
        sys.exit(
            f"Could not make {venv} with {python}. On Debian/Ubuntu install the venv module "
            "first: sudo apt install python3-venv"
        )


def run(command, dry_run=False):
    print("$ " + " ".join(command), flush=True)
    if not dry_run and subprocess.run(command, cwd=ROOT).returncode != 0:
        sys.exit(
            "The set-up stopped: the command above failed. Run make again to retry "
            "(it starts from a fresh .venv; pip's cache keeps what was already downloaded)."
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", default=os.path.join(ROOT, ".venv"))
    parser.add_argument("--cpu-index", default=CPU_INDEX, help="PyTorch's CPU wheel index")
    parser.add_argument("--probe-timeout", type=float, default=PROBE_TIMEOUT, help="seconds")
    parser.add_argument(
        "--choose-index", action="store_true", help="only say where torch would come from"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check/make the venv, print the installs only"
    )
    args = parser.parse_args(argv)
    venv = os.path.abspath(args.venv)
    index, message = choose_torch_index(cpu_index=args.cpu_index, timeout=args.probe_timeout)
    if args.choose_index:
        say(message)
        print(index or "default")
        return

    python = find_python()
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if python is None:
        sys.exit(
            f"spikelearn needs Python {MINIMUM[0]}.{MINIMUM[1]} or newer; {sys.executable} is "
            f"{here} and no newer python3.X was found on PATH. Install one and run e.g. "
            "`make lab PYTHON=python3.12`."
        )
    if python != sys.executable:
        say(f"{sys.executable} is Python {here}, too old; using {python}.")
    problem = venv_problem(venv)
    if problem:
        say(f"{venv} cannot be used: {problem}. Removing it and making a new one.")
        shutil.rmtree(venv)
    if not os.path.exists(venv):
        make_venv(venv, python)
    marker = os.path.join(venv, INCOMPLETE)
    open(marker, "w").close()

    say(
        f"Installing torch, snnTorch, JupyterLab and the dev tools into {venv}; pip shows each "
        "download (the README's 'What the set-up downloads' has the sizes)."
    )
    say(message)
    python = venv_python(venv)
    run([python, "-m", "pip", "install", "--upgrade", "pip"], args.dry_run)
    run(pip_install_command(python, index), args.dry_run)
    kernel = [python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"]
    if args.dry_run:
        return run(kernel, dry_run=True)  # the marker stays: this venv is not installed
    if subprocess.run(kernel, cwd=ROOT, capture_output=True).returncode != 0:
        run(kernel)  # again, this time showing why
    os.remove(marker)
    say(f"{venv} is ready.")


if __name__ == "__main__":
    main()
