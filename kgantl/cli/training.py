"""`kgantl train` and `kgantl transfer`: their flags (the fields of `TrainOptions`), the options resolved from
the command's defaults, a preset, `--config` and the flags typed, and the run or its dry run.
"""
import dataclasses
import json
import sys

from kgantl.cli.common import (USAGE_ERRORS, UsageError, _add_dataclass_flags, _argument_groups,
                               _blaming_the_config_file, _command, _given_options, _progress, _with_config_file)
from kgantl.config import FROM_SOURCE, OPTION_GROUPS, PRESETS, TRANSFER_ONLY, TrainOptions
from kgantl.io import DiskWriteError


def _add_gan_commands(commands):
    """`train` and `transfer`: the options as flags in their `--help` sections, a preset, a config file and a dry
    run."""
    train = _command(commands, "train", "train a new GAN in its own run directory (resumes an identical run)")
    transfer = _command(commands, "transfer", "adapt a source GAN to a few target images (the architecture comes "
                                              "from the source; a grayscale source is expanded for colour images)")
    for name, command in (("train", train), ("transfer", transfer)):
        groups = _argument_groups(command, OPTION_GROUPS)
        if name == "transfer":
            _add_source_and_target(groups)
        _add_train_flags(command, name, groups)
        command.add_argument("--preset", choices=sorted(PRESETS), help="start from a named preset of options "
                                                                       "(under transfer, without its architecture "
                                                                       "entries: the source decides them; default: "
                                                                       "none)")
        command.add_argument("--config", metavar="FILE", help="JSON file of options by field name; overrides the "
                                                              "preset, flags given explicitly override both "
                                                              "(default: none)")
        command.add_argument("--dry-run", action="store_true", help="check everything a run would (data, source, "
                                                                    "strategy), print the resolved options and exit")


def _add_source_and_target(groups):
    """`transfer`'s required `--source` and `--target` (the `data` field), in the sections their fields name."""
    group_of = {field.name: field.metadata["group"] for field in dataclasses.fields(TrainOptions)}
    groups[group_of["source"]].add_argument("--source", required=True, help="source GAN: a shipped model's name "
                                                                            "(kgantl models list), a .keras file "
                                                                            "or a run directory")
    groups[group_of["data"]].add_argument("--target", dest="data", required=True, metavar="SPEC",
                                          help="target data spec, e.g. fashion_mnist:7 (resized to the source's "
                                               "image size)")


def _add_train_flags(parser, command, groups):
    """`train` builds a new GAN; `transfer` adapts a source, whose architecture it does not let flags change. Each
    flag goes into the `--help` section (of `groups`) its field names."""
    if command == "train":
        _add_dataclass_flags(parser, TrainOptions, exclude=TRANSFER_ONLY, groups=groups)
        return
    # The source decides the architecture; the size (to accept a large shrink) and channels (grayscale or colour)
    # are offered, and checked against the source by the resolver.
    from_source = tuple(name for name in FROM_SOURCE if name not in ("image_size", "channels"))
    _add_dataclass_flags(parser, TrainOptions, exclude=from_source + ("data", "source"), groups=groups)


def _train_options(args, argv, parser):
    """Defaults of the command <- preset <- config file <- flags typed on the command line.

    A preset is a recipe for a new GAN: under `transfer`, its architecture entries (spectral
    normalisation, ...) do not apply, since the source decides them.
    """
    values = {f.name: getattr(args, f.name, f.default) for f in dataclasses.fields(TrainOptions)}
    preset = dict(PRESETS[args.preset]) if args.preset else {}
    if args.command == "transfer":
        preset = {k: v for k, v in preset.items() if k not in FROM_SOURCE}
    given = _given_options(parser, argv)
    values.update({k: v for k, v in preset.items() if k not in given})
    values, from_the_file = _with_config_file(args, argv, parser, values)  # the file's keys override the preset
    args.config_keys = from_the_file  # so errors found later (by the resolver) name the file too
    # The budget is one setting: a typed --steps replaces the epochs a file or preset set, and --epochs the steps.
    for typed, other in (("steps", "epochs"), ("epochs", "steps")):
        if typed in given and other not in given:
            values[other] = None
    # `train` offers no transfer flags and no preset sets one, so only a config file can bring them; refused by
    # their names in the file (TrainOptions would drop a strategy without a source silently).
    file_transfer_keys = [k for k in TRANSFER_ONLY if k in from_the_file]
    if args.command == "train" and file_transfer_keys:
        raise UsageError(f"config file {args.config}: {', '.join(file_transfer_keys)} adapt a source GAN: use kgantl "
                         f"transfer, or leave them out. Received: "
                         f"{', '.join(f'{k}={values[k]!r}' for k in file_transfer_keys)}")
    with _blaming_the_config_file(args.config, from_the_file):
        return TrainOptions.from_dict(values).validate()


def _print_plan(command, resolved):
    """What the run trains and every conversion of its data, on stderr (stdout holds the options' JSON)."""
    options, arrays = resolved.options, resolved.arrays
    colour = "colour" if options.channels == 3 else "grayscale"
    what = f"transfers {options.source} ({options.strategy}) to" if options.source else "trains a new GAN on"
    print(f"kgantl {command}: {what} {len(arrays.images)} images of {options.data}, at {options.image_size}x"
          f"{options.image_size} {colour} ({options.channels} channel{'s' if options.channels > 1 else ''}), "
          f"{options.steps} steps", file=sys.stderr)
    for line in resolved.conversions:
        print(f"kgantl {command}: {line}", file=sys.stderr)


def _train(args, options):
    """Set-up errors are usage errors (exit 2); errors during training itself propagate as they are. SIGTERM or
    SIGINT while fitting stops after the current step with a message and exit status 143 or 130."""
    from kgantl.callbacks import TrainingDiverged, latest_epoch
    from kgantl.callbacks.signals import EXIT_STATUS, StopOnSignal, StopRequested, ignore_further_signals
    from kgantl.runs.folder import CHECKPOINTS
    from kgantl.training import prepare_training, resolve_training, run_training

    stop = StopOnSignal()
    try:  # an option the config file set is blamed on the file, also where the resolver finds it wrong
        with _blaming_the_config_file(args.config, getattr(args, "config_keys", ())):
            if args.dry_run:  # every check of a real run, nothing written
                # The resolved options: the budget (steps, epochs, steps_per_epoch) among them.
                resolved = resolve_training(options)
                _print_plan(args.command, resolved)
                print(json.dumps(resolved.options.to_dict(), indent=2, sort_keys=True))
                return 0
            prepared = prepare_training(options, callbacks=[stop])
    except USAGE_ERRORS as error:
        raise UsageError(str(error)) from None
    try:
        with stop.handling():
            run_training(prepared, verbose=_progress())
    except TrainingDiverged as error:
        print(f"kgantl {args.command}: {error}", file=sys.stderr)
        return 1
    except DiskWriteError as error:
        kept = latest_epoch(prepared.run_dir / CHECKPOINTS)
        print(f"kgantl {args.command}: {error}; {prepared.run_dir} keeps the checkpoint of epoch {kept} of "
              f"{prepared.options.epochs}: free space and run the same command to resume", file=sys.stderr)
        return 1
    except StopRequested as request:
        # The command is ending: a second Ctrl-C while TensorFlow shuts down would only print "Exception ignored
        # ... KeyboardInterrupt" from its threads. The checkpoint is already written; let the exit finish.
        ignore_further_signals()
        kept = latest_epoch(prepared.run_dir / CHECKPOINTS)
        print(flush=True)  # end the progress bar's line
        print(f"kgantl {args.command}: {request}; the run directory {prepared.run_dir} keeps the checkpoint of "
              f"epoch {kept} of {prepared.options.epochs}: run the same command to resume", file=sys.stderr)
        return EXIT_STATUS[request.signum]
    print(f"run directory: {prepared.run_dir}")
    return 0
