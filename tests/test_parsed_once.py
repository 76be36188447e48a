"""Each option is parsed and defaulted in one place: the resolver. Counted from the source.

The text of a strategy, a backbone, a DiffAugment policy, a freeze schedule's stages and a precision is turned into
the object the code uses at the places listed below, and nowhere else in kgantl/: code below a resolver takes the
parsed object. A new call site fails this test; if it is a new door (a public function that takes the text from a user),
add it here with the reason.
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kgantl"
PARSERS = ("parse_strategy", "parse_backbone", "parse_policy", "parse_stages", "resolve_precision")
ALLOWED = {
    # The training run's resolver: the strategy (given, recipe or measured default) and auto's candidates, the
    # DiffAugment policy and the precision, each parsed once (kgantl.resolve).
    ("parse_strategy", "kgantl.resolve", "_parsed_strategy"),
    ("parse_backbone", "kgantl.resolve", "_parsed_backbone"),
    ("parse_policy", "kgantl.resolve", "_parsed_policy"),
    ("resolve_precision", "kgantl.resolve", "_with_resolved_precision"),
    # Doors: validate() refuses bad text, naming the option, before anything loads (the result is not used; the
    # resolver parses the value the run takes, which may be a default the door never saw).
    ("parse_policy", "kgantl.config", "TrainOptions._check_text_forms"),
    ("parse_strategy", "kgantl.synthetic.settings", "AugmentSettings._parse_text_forms"),
    ("parse_policy", "kgantl.synthetic.settings", "AugmentSettings._parse_text_forms"),
    # The experiment's resolver: its stages are parsed once and kept (AugmentSettings.parsed_stages).
    ("parse_stages", "kgantl.synthetic.settings", "AugmentSettings._parse_text_forms"),
    # `kgantl finetune-classifier`'s resolver (the command takes --stages as text).
    ("parse_stages", "kgantl.cli.classifiers", "_finetune_classifier"),
    # Public API that takes text from a user (a Strategy passes through unparsed) and a Keras layer rebuilt
    # from its saved config.
    ("parse_strategy", "kgantl.transfer.strategy", "prepare_transfer"),
    ("parse_backbone", "kgantl.transfer.strategy", "prepare_transfer"),
    ("parse_policy", "kgantl.data.augment", "DiffAugment.__init__"),
}


def parse_call_sites(package=PACKAGE):
    """`(parser, module, enclosing function)` for every call of one of `PARSERS` in the package."""
    sites = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

        def visit(node, scope):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    visit(child, scope + [child.name])
                    continue
                if isinstance(child, ast.Call):
                    func = child.func
                    name = getattr(func, "id", None) or getattr(func, "attr", None)
                    if name in PARSERS:
                        sites.add((name, module, ".".join(scope)))
                visit(child, scope)

        visit(ast.parse(path.read_text()), [])
    return sites


def test_each_option_is_parsed_only_where_the_list_says():
    sites = parse_call_sites()
    assert sites - ALLOWED == set(), "parsed below a resolver: pass the parsed object down instead"
    assert ALLOWED - sites == set(), "a listed call site is gone: take it off the list"


def test_an_added_parse_below_the_resolver_is_caught(tmp_path):
    import shutil

    copy = tmp_path / "kgantl"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.keras"))
    training = copy / "training.py"
    training.write_text(training.read_text() + "\n\ndef _again(options):\n"
                        "    from kgantl.transfer.strategy import parse_strategy\n\n"
                        "    return parse_strategy(options.strategy)\n")
    assert parse_call_sites(copy) - ALLOWED == {("parse_strategy", "kgantl.training", "_again")}
