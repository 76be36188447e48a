"""The `kgantl` argument parser: `--version`, each family's sub-commands, in the order `kgantl --help` lists them,
and `--verbose` on every one.
"""
from kgantl import __version__
from kgantl.cli.synthetic import _add_augment_command
from kgantl.cli.classifiers import _add_classifier_commands
from kgantl.cli.common import _Parser
from kgantl.cli.evaluation import _add_evaluate_command
from kgantl.cli.training import _add_gan_commands
from kgantl.cli.samples import _add_models_command, _add_sample_commands


def build_parser():
    """The `kgantl` argument parser with its sub-commands."""
    parser = _Parser(prog="kgantl", description="GANs and transfer learning for scarce data (Keras 3).",
                     epilog="Exit status: 0 done, 1 training diverged, 2 bad input or a run directory in use, "
                            "143/130 training stopped by SIGTERM/SIGINT (the same command resumes).")
    # The root package defines the version without importing TensorFlow: `kgantl --version` answers at once.
    parser.add_argument("--version", action="version", version=f"kgantl {__version__}",
                        help="print kgantl's version and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    # The order of the command list in `kgantl --help`.
    for add_commands in (_add_gan_commands, _add_sample_commands, _add_evaluate_command,
                         _add_classifier_commands, _add_augment_command, _add_models_command):
        add_commands(commands)
    for command in commands.choices.values():
        command.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up messages")
    parser.subcommands = dict(commands.choices)
    return parser
