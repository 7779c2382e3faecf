"""The package itself: the layer folders, every module reachable by its short name, imported
lazily, and imports that only point down the stack of layers (no circle, no back-arrow)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import spikelearn as sl

PACKAGE = Path(sl.__file__).parent


@pytest.mark.parametrize("name", sl.MODULES)
def test_every_module_is_reachable_by_its_short_name(name):
    # issue 12: ``import spikelearn as sl; sl.neurons`` raised AttributeError
    module = getattr(sl, name)
    assert module.__name__ == f"spikelearn.{sl.MODULES[name]}"
    assert name in dir(sl)


def test_the_layer_folders_are_the_layers_and_short_names_are_unique():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(sl.LAYERS)
    files = [p.stem for layer in sl.LAYERS for p in (PACKAGE / layer).glob("[a-z]*.py")]
    assert sorted(files) == sorted(sl.MODULES), "two modules share a short name"
    # nothing public at the top but the package itself (private helpers such as _checks only)
    assert [p.name for p in PACKAGE.glob("[a-z]*.py")] == []


def _imports(path):
    """The spikelearn modules ``path`` imports, as ``"layer.module"`` (or ``"_checks"``)."""
    layer = path.parent.name
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module == "spikelearn":
                found |= {sl.MODULES[a.name] for a in node.names if a.name in sl.MODULES}
            elif node.level == 0 and (node.module or "").startswith("spikelearn."):
                found.add(node.module.removeprefix("spikelearn."))
            elif node.level == 1:
                found |= (
                    {f"{layer}.{node.module}"}
                    if node.module
                    else {f"{layer}.{a.name}" for a in node.names}
                )
            elif node.level == 2:
                if node.module and "." in node.module:
                    found.add(node.module)
                elif node.module:  # from ..layer import module / from .._checks import x
                    found |= (
                        {node.module}
                        if node.module.startswith("_")
                        else {f"{node.module}.{a.name}" for a in node.names}
                    )
    return found


MODULE_FILES = sorted(p for layer in sl.LAYERS for p in (PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("path", MODULE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_imports_point_down_the_stack_of_layers(path):
    here = sl.LAYERS.index(path.parent.name)
    for target in _imports(path):
        if target.startswith("_"):  # spikelearn/_checks.py: below every layer
            continue
        layer = target.split(".")[0]
        assert sl.LAYERS.index(layer) <= here, (
            f"{path.parent.name}/{path.name} imports {target}: a back-arrow from layer "
            f"{path.parent.name!r} up to {layer!r}"
        )


def test_no_import_circle_and_no_module_getattr():
    graph = {f"{p.parent.name}.{p.stem}": _imports(p) for p in MODULE_FILES}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                raise AssertionError(f"import circle: {' -> '.join([*stack, node, nxt])}")
            if nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])
    for p in MODULE_FILES:  # forwarding shims re-exported moved names through __getattr__
        names = {n.name for n in ast.parse(p.read_text()).body if isinstance(n, ast.FunctionDef)}
        assert "__getattr__" not in names, f"{p}: a module __getattr__ (a forwarding shim)"


def test_import_spikelearn_loads_no_submodule_and_no_torch():
    code = "import sys, spikelearn; print(sorted(m for m in sys.modules if m.startswith(('spikelearn.', 'torch'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        sl.nope  # noqa: B018


def test_a_short_dotted_import_is_the_same_module():
    # `from spikelearn.neurons import LIF` (what snnTorch users write) works wherever the file is
    import importlib

    from spikelearn.neurons import LIF

    module = importlib.import_module("spikelearn.neurons")
    assert module is importlib.import_module("spikelearn.cells.neurons") is sl.neurons
    assert LIF is module.LIF and module.__spec__.name == "spikelearn.cells.neurons"
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("spikelearn.nope")
