"""Command line: parse flags -> options -> one library call. Usage errors exit 2 with one line.

Parsing, `--help` and the usage errors found while parsing need neither TensorFlow nor Keras: the modules of
this package import only light modules at the top, and TensorFlow is loaded (quietly, unless `--verbose`) once a
command runs.

One module per family of commands, each holding its sub-commands' flags and what they run: `training` (train,
transfer), `samples` (generate, compare, export, models list), `evaluation` (evaluate), `classifiers`
(train-classifier, finetune-classifier) and `synthetic` (augment). `common` holds what they share (the usage error, the
parser class, flags made from an options dataclass, `--config`), `pages` each command's description and
examples, `parser` assembles the `kgantl` parser, and `entry` is the console script (`main`).
"""
# What `kgantl.cli` offered as one module: the entry point, the parser, the usage error, and the private functions
# the tests call.
from kgantl.cli.common import USAGE_ERRORS, UsageError
from kgantl.cli.entry import main
from kgantl.cli.training import _train_options
from kgantl.cli.parser import build_parser
from kgantl.cli.synthetic import _augment, _augment_settings

__all__ = ["USAGE_ERRORS", "UsageError", "build_parser", "main"]
