"""The package's import structure: no import loop, and no module importing one above it.

Read from the source (every import, also those inside functions), so a lazy import that would close a loop
is caught too. Importing `kgantl.a.b` from outside `kgantl.a` runs `kgantl/a/__init__.py` first, so the
importer depends on that package too.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kgantl"
# The orchestrators that may use `train()`; everything else sits below training.py.
MAY_IMPORT_TRAINING = {"kgantl.cli", "kgantl.augment.experiment"}


def _modules():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def import_graph():
    """module -> the kgantl modules it imports (directly, or by running a parent package's __init__)."""
    modules = _modules()

    def resolve(target):
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target

    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from a import b` imports the module a.b when there is one, else the name b of a.
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in (resolve(t) for t in targets if t.startswith("kgantl")):
                packages = [".".join(target.split(".")[:i]) for i in range(2, target.count(".") + 1)]
                edges |= {target} | {p for p in packages if not (name + ".").startswith(p + ".")}
        graph[name] = {m for m in edges if m not in (name, "kgantl")}  # the root package imports nothing eagerly
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_there_is_no_import_loop():
    assert _cycles(import_graph()) == []


@pytest.mark.parametrize("upper, allowed", [("kgantl.cli", set()), ("kgantl.training", MAY_IMPORT_TRAINING)])
def test_no_module_imports_one_above_it(upper, allowed):
    importers = {name for name, edges in import_graph().items() if upper in edges}
    assert importers <= allowed, f"{sorted(importers - allowed)} import {upper}"


def test_the_cycle_finder_finds_a_loop():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
