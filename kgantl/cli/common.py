"""What the command families share: the usage error and the parser that raises it, a command's page, flags made
from an options dataclass, `--config` merging, model arguments and Keras' progress setting.
"""
import argparse
import contextlib
import dataclasses
import sys
import textwrap
import typing

from kgantl.cli.pages import PAGES, epilog
from kgantl.config import TrainOptions, read_config
from kgantl.option_fields import OptionError
from kgantl.runs.lock import RunDirInUse

USAGE_ERRORS = (ValueError, FileNotFoundError, ImportError, RunDirInUse)


class UsageError(Exception):
    """A bad flag or input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        # No abbreviated flags: `--config` must know exactly which options were typed.
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
        raise UsageError(message)


def _number_list(kind):
    """An argparse type for comma-separated lists: `"0,0.25,0.5"` -> (0.0, 0.25, 0.5)."""
    def parse(text):
        try:
            return tuple(kind(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got {text!r}") from None
    return parse


def _flag_type(field):
    """The type argparse converts a flag's text with: `Optional[int]` -> int, `Tuple[float, ...]` -> a list parser."""
    args = [a for a in typing.get_args(field.type) if a is not type(None)]
    if typing.get_origin(field.type) is tuple:
        return _number_list(args[0])
    return args[0] if args else field.type


def _argument_groups(parser, descriptions):
    """One `--help` section (argparse argument group) per entry of `descriptions` (name -> what its options
    decide), in its order; returns name -> group."""
    return {name: parser.add_argument_group(name, description) for name, description in descriptions.items()}


def _field_groups(parser, options_class, groups):
    """field name -> where its flag goes: the group its `group` metadata names, or `parser` when `groups` is None.

    Raises:
        ValueError: a field names no group, or one `groups` lacks (a new option must say where it belongs).
    """
    if groups is None:
        return {field.name: parser for field in dataclasses.fields(options_class)}
    missing = [f"{f.name} (group={f.metadata.get('group')!r})" for f in dataclasses.fields(options_class)
               if f.metadata.get("group") not in groups]
    if missing:
        raise ValueError(f"every {options_class.__name__} field needs group= metadata naming one of "
                         f"{', '.join(groups)}. Received: {', '.join(missing)}")
    return {field.name: groups[field.metadata["group"]] for field in dataclasses.fields(options_class)}


def _add_dataclass_flags(parser, options_class, exclude=(), argparse_required=True, groups=None):
    """One flag per field of a dataclass, with the default, help, choices and section declared in its metadata.

    `--field-name` for `field_name`; a field without a default is a required flag; bools get `--x/--no-x`;
    tuples take comma-separated values; fields with choices show them (`{a,b}`) instead of a placeholder.

    Args:
        parser: the `argparse` (sub-)parser.
        options_class: a dataclass whose fields are made with `kgantl.config.option_field`.
        exclude: field names that get no flag (the command does not use them).
        argparse_required: a field without a default is a required flag; False where `--config` may set it
            (the command then checks it after merging).
        groups: `--help` sections by name (`_argument_groups`); each field's flag goes into the one its `group`
            metadata names, and every field must name one. None: all flags in one list.

    Raises:
        ValueError: with `groups`, a field whose `group` metadata names none of them.

    Example:
        >>> _add_dataclass_flags(parser, TrainOptions, groups=_argument_groups(parser, OPTION_GROUPS))
    """
    group_of = _field_groups(parser, options_class, groups)
    for field in dataclasses.fields(options_class):
        if field.name in exclude:
            continue
        group = group_of[field.name]
        flag = "--" + field.name.replace("_", "-")
        kind = _flag_type(field)
        default = None if field.default is dataclasses.MISSING else field.default
        shown = field.metadata.get("default_text", ",".join(map(str, default)) if isinstance(default, tuple)
                                   else default)
        help_text = field.metadata["help"] + (f" (default: {shown})" if shown not in (None, "") else "")
        if field.default is dataclasses.MISSING and not argparse_required:
            help_text += " (required: on the command line or in --config)"
        if kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            choices = field.metadata.get("choices")
            group.add_argument(flag, type=kind, default=default, choices=choices, help=help_text,
                               required=argparse_required and field.default is dataclasses.MISSING,
                               metavar=None if choices else field.metadata.get("metavar", field.name.upper()))


def _command(commands, name, summary):
    """A sub-command whose page has the one-line summary in the command list, and a description and examples
    (kgantl/cli/pages.py) on its own page."""
    return commands.add_parser(name, help=summary, description=textwrap.fill(PAGES[name][0], 100),
                               epilog=epilog(name), formatter_class=argparse.RawDescriptionHelpFormatter)


def _given_options(parser, argv):
    """Names of the options whose flags appear in argv (`--x`, `--x=1`, `--no-x`)."""
    typed = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    return {action.dest for action in parser._actions if typed & set(action.option_strings)}


def _with_config_file(args, argv, parser, values, options_class=TrainOptions, what="training options"):
    """`values` with `--config`'s entries for the options whose flags were not typed (names and types checked,
    the file named); returns them and the names the file decided."""
    given = _given_options(parser, argv)
    from_file = read_config(args.config, options_class, what) if args.config else {}
    return {**values, **{k: v for k, v in from_file.items() if k not in given}}, set(from_file) - given


@contextlib.contextmanager
def _blaming_the_config_file(path, from_the_file):
    """An `OptionError` about an option the config file decided is reported as that file's error."""
    try:
        yield
    except OptionError as error:
        if error.option in from_the_file:
            raise UsageError(f"config file {path}: {error}") from None
        raise


def _model_paths(models, what="MODEL", kinds="a .keras file, a run directory or a SavedModel folder"):
    """Each of `models` as an existing path: a path as given, or a shipped model's folder for its name."""
    from kgantl.shipped import resolve_model_path

    try:
        paths = [resolve_model_path(model) for model in models]
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise UsageError(f"{what} must be {kinds}, or a shipped model's name. Received: {', '.join(missing)}")
    return paths


def _progress():
    """Keras' progress setting: a bar on a terminal, one line per epoch into a file or pipe (a bar there is a
    line per step)."""
    return "auto" if sys.stdout.isatty() else 2
