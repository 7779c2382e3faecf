"""The set-up that ``make`` runs first (``.ci/setup_env.py``): torch's index, a stale ``.venv``.

Everything here stays on this machine: a local HTTP server (127.0.0.1) stands in for PyTorch's
CPU wheel index, serving a tiny wheel named like the CPU build of torch, and pip runs with
``--dry-run`` and no configuration of this machine (``PIP_CONFIG_FILE=/dev/null``), against that
server only. "Unreachable" is a port nobody listens on, and a listener that never answers.
"""

import functools
import http.server
import importlib.util
import io
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import zipfile
from glob import glob
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "setup_env.py"
TORCH_CPU = "torch-2.13.0+cpu-py3-none-any.whl"  # constraints.txt pins torch==2.13.0


def load_script():
    spec = importlib.util.spec_from_file_location("setup_env", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


setup = load_script()


def _fake_torch_wheel():
    """A valid, empty wheel that pip's resolver takes for torch 2.13.0+cpu."""
    buf, info = io.BytesIO(), "torch-2.13.0+cpu.dist-info"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0+cpu\n")
        z.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        z.writestr(f"{info}/RECORD", "")
    return buf.getvalue()


@pytest.fixture(scope="module")
def index_server(tmp_path_factory):
    """``(base URL, requested paths)``: /cpu/ is a PEP 503 index holding torch's CPU wheel,
    /pypi/ an empty one standing in for the default index."""
    root = tmp_path_factory.mktemp("indexes")
    (root / "cpu" / "torch").mkdir(parents=True)
    (root / "pypi").mkdir()
    (root / "files").mkdir()
    (root / "files" / TORCH_CPU).write_bytes(_fake_torch_wheel())
    link = f'<a href="/files/{TORCH_CPU.replace("+", "%2B")}">{TORCH_CPU}</a>'
    (root / "cpu" / "torch" / "index.html").write_text(f"<html><body>{link}</body></html>")
    requested = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requested.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requested
    server.shutdown()


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers (a firewall that drops, a dead proxy)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: connections are refused


def _choose(*args, env=None):
    env = {k: v for k, v in (env or os.environ).items() if k != "TORCH_INDEX"}
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--choose-index", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    *said, chosen = run.stdout.strip().splitlines()
    return chosen, "\n".join(said), time.monotonic() - start


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the CPU index is Linux's only")
def test_the_cpu_index_is_chosen_when_it_answers(index_server):
    base, requested = index_server
    chosen, said, _ = _choose("--cpu-index", f"{base}/cpu")
    assert chosen == f"{base}/cpu"
    assert "CPU wheel index answered" in said
    assert "/cpu/torch/" in requested


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the CPU index is Linux's only")
@pytest.mark.parametrize("how", ["refused", "silent"])
def test_an_unreachable_index_falls_back_within_seconds_and_says_so(how, request):
    port = _closed_port() if how == "refused" else request.getfixturevalue("silent_port")
    chosen, said, seconds = _choose(
        "--cpu-index", f"http://127.0.0.1:{port}/cpu", "--probe-timeout", "1"
    )
    assert chosen == "default"
    assert "did not answer" in said and "default index" in said
    assert seconds < 1 + 4, seconds  # the probe's timeout plus starting Python, not pip's retries


def test_the_default_probe_waits_a_few_seconds_only():
    assert 1 <= setup.PROBE_TIMEOUT <= 5


def test_a_hanging_lookup_is_abandoned_after_the_timeout(monkeypatch):
    """A name that does not resolve can hang past any socket timeout; the probe does not wait."""
    monkeypatch.setattr(setup.urllib.request, "urlopen", lambda *a, **k: time.sleep(30))
    start = time.monotonic()
    ok, why = setup.probe("https://download.pytorch.org/whl/cpu/torch/", timeout=0.5)
    assert not ok and "no answer within 0.5 s" in why
    assert time.monotonic() - start < 2


def test_torch_index_overrides_and_other_systems_take_the_default(monkeypatch):
    monkeypatch.setattr(setup, "probe", lambda *a: pytest.fail("probed although told not to"))
    cuda = "https://download.pytorch.org/whl/cu128"
    assert setup.choose_torch_index({"TORCH_INDEX": cuda}, "linux")[0] == cuda
    assert setup.choose_torch_index({"TORCH_INDEX": "default"}, "linux")[0] is None
    for platform in ("darwin", "win32"):
        index, said = setup.choose_torch_index({}, platform)
        assert index is None and "macOS and Windows" in said


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the CPU index is Linux's only")
def test_pip_installs_torch_from_the_chosen_index(index_server, tmp_path):
    """The install command, run by pip as a dry run: torch resolves to the CPU index's wheel."""
    base, requested = index_server
    index, _ = setup.choose_torch_index({}, "linux", cpu_index=f"{base}/cpu", timeout=5)
    command = setup.pip_install_command(sys.executable, index)
    assert command[-2:] == ["-e", ".[dev]"]  # the project; here torch alone, without its deps
    report = tmp_path / "report.json"
    dry = command[:-2] + ["--dry-run", "--no-deps", "--report", str(report)]
    dry += ["--index-url", f"{base}/pypi", "--ignore-installed", "--no-cache-dir", "torch"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # none of this machine's mirrors or constraints
    run = subprocess.run(dry, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (torch,) = json.loads(report.read_text())["install"]
    assert torch["metadata"]["version"] == "2.13.0+cpu"
    assert torch["download_info"]["url"].startswith(f"{base}/files/")


def _venv(path, python=sys.executable, *extra):
    subprocess.run([python, "-m", "venv", "--without-pip", *extra, str(path)], check=True)
    return path


def _old_python():
    """A Python older than 3.10 that runs (PATH first, then pyenv's versions), or None."""
    names = [shutil.which(f"python3.{m}") for m in (9, 8, 7)]
    names += sorted(glob(os.path.expanduser("~/.pyenv/versions/3.[789].*/bin/python3")))
    for name in filter(None, names):
        version = setup.python_version(name)
        if version is not None and version < (3, 10):
            return name
    return None


def test_a_stale_venv_is_named_with_its_reason(tmp_path):
    healthy = _venv(tmp_path / "ok", sys.executable, "--system-site-packages")
    assert setup.venv_problem(str(healthy)) is None  # pip comes from the base interpreter
    assert setup.venv_problem(str(tmp_path / "absent")) is None

    no_pip = _venv(tmp_path / "nopip")
    assert "no pip" in setup.venv_problem(str(no_pip))

    unfinished = _venv(tmp_path / "unfinished", sys.executable, "--system-site-packages")
    (unfinished / setup.INCOMPLETE).touch()
    assert "did not finish" in setup.venv_problem(str(unfinished))

    gone = _venv(tmp_path / "gone")
    python = Path(setup.venv_python(str(gone)))
    python.unlink()
    python.symlink_to(tmp_path / "no-such-python")
    assert "does not run" in setup.venv_problem(str(gone))


def test_a_venv_of_an_old_python_is_rebuilt_saying_so(tmp_path):
    old = _old_python()
    if old is None:
        pytest.skip("no Python older than 3.10 found (PATH, ~/.pyenv) to make a stale .venv")
    venv = _venv(tmp_path / ".venv", old)
    assert "made by Python 3." in setup.venv_problem(str(venv))
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--venv", str(venv), "--dry-run"],
        env=dict(os.environ, TORCH_INDEX="default"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cannot be used: it was made by Python 3." in run.stdout
    assert "Removing it and making a new one" in run.stdout
    assert setup.python_version(setup.venv_python(str(venv))) >= setup.MINIMUM
    assert (
        f"{setup.venv_python(str(venv))} -m pip install -c constraints.txt -e .[dev]" in run.stdout
    )


def test_an_old_python_alone_gets_a_clear_message(tmp_path):
    old = _old_python()
    if old is None:
        pytest.skip("no Python older than 3.10 found (PATH, ~/.pyenv)")
    empty = tmp_path / "bin"
    empty.mkdir()  # a PATH with no newer python3.X on it
    run = subprocess.run(
        [old, str(SCRIPT), "--venv", str(tmp_path / ".venv"), "--dry-run"],
        env={"PATH": str(empty), "TORCH_INDEX": "default"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "spikelearn needs Python 3.10 or newer" in run.stderr
    assert not (tmp_path / ".venv").exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_sets_up_again_when_the_venvs_python_is_gone(tmp_path):
    """``make`` reruns the set-up when .venv/bin/python no longer runs, even with a fresh stamp."""
    for name in ("Makefile", "pyproject.toml", "constraints.txt", ".ci/setup_env.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)

    def planned():
        (tmp_path / ".venv" / ".installed").touch()  # newer than every prerequisite
        out = subprocess.run(
            ["make", "-n", "install"], cwd=tmp_path, capture_output=True, text=True
        )
        return out.stdout

    python.symlink_to(sys.executable)
    assert "setup_env.py" not in planned()
    python.unlink()
    python.symlink_to(tmp_path / "removed-python")
    assert "setup_env.py --venv .venv" in planned()


def _readme_block(heading, lang):
    readme = (ROOT / "README.md").read_text()
    section = readme.split(heading, 1)[1].split("\n##", 1)[0]
    return section.split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def test_the_readme_pip_line_is_the_set_ups_own_and_resolves(tmp_path):
    """The README's Linux command without make installs what make installs (a dry run here)."""
    block = _readme_block("### Set-up on macOS, Windows, or without make", "bash")
    (pip_line,) = [line for line in block.splitlines() if " pip install " in line]
    command = shlex.split(pip_line)
    assert command == setup.pip_install_command(".venv/bin/python", setup.CPU_INDEX)
    windows = _readme_block("### Set-up on macOS, Windows, or without make", "bat")
    assert '.venv\\Scripts\\python -m pip install -c constraints.txt -e ".[dev]"' in windows

    # this environment was installed by the same command: nothing may be missing from it
    report = tmp_path / "report.json"
    dry = [sys.executable, *command[1:], "--dry-run", "--no-index", "--no-build-isolation"]
    run = subprocess.run(
        dry + ["--report", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    planned = [i["metadata"]["name"] for i in json.loads(report.read_text())["install"]]
    assert planned == ["spikelearn-course"], planned


def test_the_readme_jupyter_line_serves_the_tutorials(tmp_path):
    block = _readme_block("### Set-up on macOS, Windows, or without make", "bash")
    (lab_line,) = [line for line in block.splitlines() if "jupyter lab" in line]
    assert shlex.split(lab_line) == [".venv/bin/jupyter", "lab", "tutorials/"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = uuid.uuid4().hex
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "tutorials/", "--no-browser"]
    cmd += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    cmd += [f"--IdentityProvider.token={token}"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/contents?token={token}"  # tutorials/ is the root
    try:
        for _ in range(120):
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    listing = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    names = {item["name"] for item in listing["content"]}
    assert {p.name for p in ROOT.glob("tutorials/[0-9][0-9]_*.ipynb")} <= names


def test_the_readme_library_line_takes_the_same_torch():
    readme = (ROOT / "README.md").read_text()
    (line,) = [x for x in readme.splitlines() if "pip install" in x and "git+" in x]
    words = shlex.split(line.strip("`."))
    pin = next(
        x for x in (ROOT / "constraints.txt").read_text().splitlines() if x.startswith("torch")
    )
    assert pin in words
    assert words[words.index("--extra-index-url") + 1] == setup.CPU_INDEX
