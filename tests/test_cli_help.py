"""Every sub-command's page: a description, examples, and for every option a help text that states its default."""
import argparse
import configparser
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from kgantl.cli import build_parser, main
from kgantl.cli.pages import PAGES

PARSER = build_parser()
COMMANDS = sorted(PARSER.subcommands)
# Options whose value names a data spec: one placeholder for all of them.
DATA_SPEC_OPTIONS = {"data", "eval_ref", "reptile_data", "ref", "train_data", "shots_from"}


def _options(command):
    return [action for action in PARSER.subcommands[command]._actions
            if not isinstance(action, argparse._HelpAction)]


def test_every_command_has_a_page_and_every_page_a_command():
    assert set(PAGES) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help_that_states_its_default(command):
    for action in _options(command):
        name = "/".join(action.option_strings) or action.dest
        assert action.help and len(action.help) > 10, f"kgantl {command} {name}: no help text"
        flag_only = isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction))
        needs_default = action.option_strings and not action.required and not flag_only
        if needs_default:  # also for a default of None: what happens when the option is not given
            assert "default" in action.help or "(required" in action.help, \
                f"kgantl {command} {name}: help does not state the default"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_data_spec_option_shows_the_same_placeholder(command):
    for action in _options(command):
        if action.dest in DATA_SPEC_OPTIONS and action.option_strings:
            assert action.metavar == "SPEC", f"kgantl {command} {action.option_strings[0]}: metavar {action.metavar}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_page_shows_a_description_and_examples(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    with pytest.raises(SystemExit):
        main([command, "--help"])
    page = capsys.readouterr().out
    assert PAGES[command][0].split()[0] in page and "examples:\n  kgantl " + command in page
    for example in PAGES[command][1]:  # every example parses (flags and values exist)
        argv = example.split()[1:]
        assert argv[0] == command
        PARSER.parse_args(argv)


def test_train_classifier_does_not_overwrite_the_shipped_classifier_by_default():
    args = PARSER.parse_args(["train-classifier"])
    assert not args.out.startswith("saved_models")


def test_version_is_the_installed_packages_and_loads_no_tensorflow():
    """`kgantl --version` in a fresh process started as the console script is: the version setup.cfg installs."""
    setup = configparser.ConfigParser()
    setup.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    code = ("import sys; sys.argv = ['/usr/bin/kgantl', '--version']\n"
            "from kgantl.cli import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit as exit:\n    print('status:', exit.code)\n"
            "print('tensorflow loaded:', 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines() == [f"kgantl {setup['metadata']['version']}", "status: 0",
                                          "tensorflow loaded: False"], result.stderr

# Flags about the command itself rather than the run's options: argparse's own section, above the groups.
COMMAND_FLAGS = {"-h", "--help", "--preset", "--config", "--dry-run", "--verbose"}


@pytest.mark.parametrize("command", ["train", "transfer"])
def test_train_and_transfer_show_every_option_in_the_section_its_field_names(command, capsys, monkeypatch):
    from kgantl.config import OPTION_GROUPS, TrainOptions

    parser = PARSER.subcommands[command]
    section_of = {flag: group.title for group in parser._action_groups for action in group._group_actions
                  for flag in action.option_strings}
    assert {flag for flag, title in section_of.items() if title not in OPTION_GROUPS} == COMMAND_FLAGS
    for field in dataclasses.fields(TrainOptions):
        name = field.name.replace("_", "-")
        flags = {f"--{name}", f"--no-{name}"} | ({"--target"} if field.name == "data" else set())  # transfer's data
        for flag in flags & set(section_of):
            assert section_of[flag] == field.metadata["group"], f"kgantl {command} {flag}"
    monkeypatch.setenv("COLUMNS", "120")
    with pytest.raises(SystemExit):
        main([command, "--help"])
    headings = [line[:-1] for line in capsys.readouterr().out.splitlines() if line[:-1] in OPTION_GROUPS]
    assert headings == list(OPTION_GROUPS)


def test_a_field_without_a_section_is_refused_by_name():
    from kgantl.cli.common import _add_dataclass_flags, _argument_groups
    from kgantl.option_fields import option_field

    @dataclasses.dataclass(frozen=True)
    class Options:
        shots: int = option_field(1, "images per class", group="data")
        new_option: int = option_field(0, "an option added without a group")

    parser = argparse.ArgumentParser()
    with pytest.raises(ValueError, match=r"every Options field needs group= metadata naming one of data, budget\. "
                                         r"Received: new_option \(group=None\)"):
        _add_dataclass_flags(parser, Options, groups=_argument_groups(parser, {"data": "d", "budget": "b"}))
