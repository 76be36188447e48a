"""The package's import structure: no import loop, and no module importing one above it.

Read from the source (every import, also those inside functions), so a lazy import that would close a loop
is caught too. Importing `kgantl.a.b` from outside `kgantl.a` runs `kgantl/a/__init__.py` first, so the
importer depends on that package too.
"""
import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kgantl"
# The layers from the bottom up: a module may import modules of its own layer (no loop: see the loop test) and of
# the layers below it, never one above. A new module must be placed here (a test says so).
LAYERS = (
    # what everything may use: no kgantl import above it
    ("kgantl.lazy", "kgantl.io", "kgantl.sizes", "kgantl.losses", "kgantl.measured", "kgantl.shipped",
     "kgantl.option_fields", "kgantl.logs"),
    ("kgantl.data",),                                     # data specs, pipelines, augmentation
    ("kgantl.config",),                                   # options (checks a DiffAugment policy with data's parser)
    ("kgantl.precision", "kgantl.distribute"),           # how and where a run computes
    ("kgantl.models",),                                   # networks and the GAN models
    ("kgantl.metrics",),                                  # scores of images and generators
    ("kgantl.images", "kgantl.export", "kgantl.callbacks"),
    ("kgantl.runs",),                                     # run folders and what they hold
    ("kgantl.classifier",),                               # classifier transfer (its backbones serve GAN transfer)
    ("kgantl.transfer",),                                 # GAN transfer
    ("kgantl.image_shape", "kgantl.run_defaults", "kgantl.resolve"),  # options -> a checked, built run (parses all)
    ("kgantl.training",),                                 # train(options)
    ("kgantl.synthetic",),                                # generated training data (trains GANs and classifiers)
    ("kgantl.cli",),                                      # the command line
)


def layer_of(module):
    """The index in `LAYERS` of the entry `module` is, or lies in; None when no entry holds it."""
    for index, entries in enumerate(LAYERS):
        if any(module == entry or module.startswith(entry + ".") for entry in entries):
            return index
    return None


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


def upward_imports(graph):
    """`(importer, imported)` pairs where a module imports one in a higher layer."""
    return sorted((name, other) for name, edges in graph.items() for other in edges
                  if layer_of(name) is not None and layer_of(other) is not None and layer_of(other) > layer_of(name))


def test_every_module_has_a_layer():
    assert [name for name in import_graph() if name != "kgantl" and layer_of(name) is None] == []


def test_no_module_imports_one_above_it():
    assert upward_imports(import_graph()) == []


def test_an_added_upward_import_is_caught(tmp_path, monkeypatch):
    """The check itself: a copy of the package where the metrics import the run folders (above them) fails."""
    import shutil

    copy = tmp_path / "kgantl"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.keras"))
    evaluate = copy / "metrics" / "evaluate.py"
    evaluate.write_text(evaluate.read_text() + "\n\ndef _opened(path):\n"
                        "    from kgantl.runs.artifacts import open_generator\n\n    return open_generator(path)\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", copy)
    assert ("kgantl.metrics.evaluate", "kgantl.runs.artifacts") in upward_imports(import_graph())


def test_the_root_package_imports_nothing_eagerly_but_the_lazy_table():
    assert import_graph()["kgantl"] <= {"kgantl.lazy"}


def test_the_cycle_finder_finds_a_loop():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
