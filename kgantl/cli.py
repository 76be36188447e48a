"""Command line: parse flags -> options -> one library call. Usage errors exit 2 with one line.

Parsing, `--help` and the usage errors found while parsing need neither TensorFlow nor Keras: this module
imports only light modules at the top, and TensorFlow is loaded (quietly, unless `--verbose`) once a
command runs.
"""
import argparse
import contextlib
import dataclasses
import json
import logging
import os
import re
import sys
import textwrap
import typing
from pathlib import Path

from kgantl.synthetic.settings import AugmentSettings
from kgantl.config import FROM_SOURCE, PRESETS, TRANSFER_ONLY, OptionError, TrainOptions, read_config
from kgantl.cli_pages import PAGES, epilog
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


def _add_augment_command(commands):
    augment = _command(commands, "augment", "does generated data help a few-shot classifier? GAN on the shots, one "
                                            "classifier per mix ratio, scored on the test split (resumes an "
                                            "unfinished identical experiment)")
    # Its required settings may come from --config, so they are checked once the file is merged.
    _add_dataclass_flags(augment, AugmentSettings, argparse_required=False)
    augment.add_argument("--config", metavar="FILE", help="JSON file of settings (any of the flags above, by field "
                                                          "name, e.g. \"gan_steps\": 500); flags given explicitly "
                                                          "override it (default: none)")
    augment.add_argument("--runs-root", default="runs", help="parent of the numbered run directories "
                                                             "(default: runs)")
    augment.add_argument("--run-dir", default=None, help="run directory; an unfinished experiment in it is "
                                                         "continued (default: a new NNNNN-augment one, or the "
                                                         "unfinished one with the same settings)")
    augment.add_argument("--dry-run", action="store_true", help="print the resolved settings and exit")


def _augment_settings(args, argv, parser):
    """Defaults <- config file <- flags typed on the command line, as `AugmentSettings`, checked."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(AugmentSettings)}
    values, from_the_file = _with_config_file(args, argv, parser, values, AugmentSettings, "augment settings")
    missing = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(AugmentSettings)
               if f.default is dataclasses.MISSING and values[f.name] is None]
    if missing:
        raise UsageError(f"the following arguments are required: {', '.join(missing)} (as flags or in --config)")
    values["weights"] = None if values["weights"] == "none" else values["weights"]
    with _blaming_the_config_file(args.config, from_the_file):
        return AugmentSettings(**values).validate()


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


def _augment(args, settings):
    """Set-up errors are usage errors (exit 2); errors during training itself propagate as they are."""
    from kgantl.synthetic.experiment import markdown_report, prepare_experiment, run_experiment

    try:
        if args.dry_run:
            print(json.dumps(settings.to_dict(), indent=2))
            return
        # Data, backbone, source and run directory are checked here, before the run directory is created.
        prepared = prepare_experiment(settings, runs_root=args.runs_root, run_dir=args.run_dir)
    except USAGE_ERRORS as error:
        raise UsageError(str(error)) from None
    report, run_dir = run_experiment(prepared)
    print(markdown_report(report))
    print(f"run directory: {run_dir}")


def _flag_type(field):
    """The type argparse converts a flag's text with: `Optional[int]` -> int, `Tuple[float, ...]` -> a list parser."""
    args = [a for a in typing.get_args(field.type) if a is not type(None)]
    if typing.get_origin(field.type) is tuple:
        return _number_list(args[0])
    return args[0] if args else field.type


def _add_dataclass_flags(parser, options_class, exclude=(), defaults=None, argparse_required=True):
    """One flag per field of a dataclass, with the default, help and choices declared in its metadata.

    `--field-name` for `field_name`; a field without a default is a required flag; bools get `--x/--no-x`;
    tuples take comma-separated values; fields with choices show them (`{a,b}`) instead of a placeholder.

    Args:
        parser: the `argparse` (sub-)parser.
        options_class: a dataclass whose fields are made with `kgantl.config.option_field`.
        exclude: field names that get no flag (the command does not use them).
        defaults: field name -> default of this command, where it differs from the field's.
        argparse_required: a field without a default is a required flag; False where `--config` may set it
            (the command then checks it after merging).
    """
    defaults = defaults or {}
    for field in dataclasses.fields(options_class):
        if field.name in exclude:
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = _flag_type(field)
        default = defaults.get(field.name, None if field.default is dataclasses.MISSING else field.default)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        if field.name not in defaults:
            shown = field.metadata.get("default_text", shown)
        help_text = field.metadata["help"] + (f" (default: {shown})" if shown not in (None, "") else "")
        if field.default is dataclasses.MISSING and not argparse_required:
            help_text += " (required: on the command line or in --config)"
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            choices = field.metadata.get("choices")
            parser.add_argument(flag, type=kind, default=default, choices=choices, help=help_text,
                                required=argparse_required and field.default is dataclasses.MISSING,
                                metavar=None if choices else field.metadata.get("metavar", field.name.upper()))


def _add_train_flags(parser, command):
    """`train` builds a new GAN; `transfer` adapts a source, whose architecture it does not let flags change."""
    if command == "train":
        _add_dataclass_flags(parser, TrainOptions, exclude=TRANSFER_ONLY)
        return
    transfer_defaults = {f.name: f.metadata["transfer_default"] for f in dataclasses.fields(TrainOptions)
                         if "transfer_default" in f.metadata}
    _add_dataclass_flags(parser, TrainOptions, exclude=FROM_SOURCE + ("data", "source"), defaults=transfer_defaults)


def _command(commands, name, summary):
    """A sub-command whose page has the one-line summary in the command list, and a description and examples
    (kgantl/cli_pages.py) on its own page."""
    return commands.add_parser(name, help=summary, description=textwrap.fill(PAGES[name][0], 100),
                               epilog=epilog(name), formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser():
    """The `kgantl` argument parser with its sub-commands."""
    parser = _Parser(prog="kgantl", description="GANs and transfer learning for scarce data (Keras 3).",
                     epilog="Exit status: 0 done, 1 training diverged, 2 bad input or a run directory in use, "
                            "143/130 training stopped by SIGTERM/SIGINT (the same command resumes).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    train = _command(commands, "train", "train a new GAN in its own run directory (resumes an identical run)")
    transfer = _command(commands, "transfer", "adapt a source GAN to a few target images (image size, channels "
                                              "and latent size come from the source)")
    transfer.add_argument("--source", required=True, help="source GAN: a shipped model's name (kgantl models list), "
                                                         "a .keras file or a run directory")
    transfer.add_argument("--target", dest="data", required=True, metavar="SPEC",
                          help="target data spec, e.g. fashion_mnist:7 (resized to the source's image size)")
    for name, command in (("train", train), ("transfer", transfer)):
        _add_train_flags(command, name)
        command.add_argument("--preset", choices=sorted(PRESETS), help="start from a named preset of options "
                                                                       "(under transfer, without its architecture "
                                                                       "entries: the source decides them; default: "
                                                                       "none)")
        command.add_argument("--config", metavar="FILE", help="JSON file of options by field name; overrides the "
                                                              "preset, flags given explicitly override both "
                                                              "(default: none)")
        command.add_argument("--dry-run", action="store_true", help="check everything a run would (data, source, "
                                                                    "strategy), print the resolved options and exit")

    generate = _command(commands, "generate", "sample images from a .keras model, run directory or SavedModel")
    generate.add_argument("model", help="a .keras file, a run directory or an exported SavedModel folder")
    generate.add_argument("--n", type=int, default=64, help="number of images (default: 64)")
    generate.add_argument("--out", required=True, help="output .png (grid), .npy or .npz (images in [-1, 1])")
    generate.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    generate.add_argument("--labels", default=None, help="class labels for a conditional model, e.g. 7 or 5-9 "
                                                         "(default: none; a conditional model needs them)")
    generate.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")

    export = _command(commands, "export", "export the generator as a TensorFlow SavedModel")
    export.add_argument("model", help="a .keras file or a run directory")
    export.add_argument("--out", default=None, help="SavedModel folder, or .keras file with --format keras "
                                                   "(default: saved_models/<run or file name>-generator)")
    export.add_argument("--format", default="savedmodel", choices=("savedmodel", "keras"),
                        help="savedmodel: the generator, for serving; keras: the whole GAN without optimizer "
                             "state, for shipping as a transfer source (default: savedmodel)")
    export.add_argument("--no-ema", action="store_true", help="export the raw generator, not its EMA copy "
                                                               "(default: the EMA copy where the GAN keeps one)")
    export.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")
    compare = _command(commands, "compare", "one picture of several models' samples side by side, after the "
                                            "shots they learned from")
    compare.add_argument("models", nargs="+", metavar="MODEL",
                         help=".keras files, run directories or SavedModels, drawn left to right")
    compare.add_argument("--out", required=True, help="output .png")
    compare.add_argument("--names", nargs="+", default=None, help="panel titles, one per MODEL (default: the "
                                                                  "file or folder names)")
    compare.add_argument("--shots-from", default=None, metavar="SPEC", help="data spec of the training shots, "
                         "drawn first, e.g. fashion_mnist:7 (default: no shots panel)")
    compare.add_argument("--shots", type=int, default=None, help="n-shot subset of --shots-from (default: all)")
    compare.add_argument("--shots-seed", type=int, default=0, help="seed of the n-shot subset (default: 0)")
    compare.add_argument("--n", type=int, default=36, help="images per panel (default: 36)")
    compare.add_argument("--seed", type=int, default=0, help="noise seed, the same for every model (default: 0)")
    compare.add_argument("--labels", default=None, help="class labels for conditional models, e.g. 7 or 5-9 "
                                                        "(default: none; conditional models need them)")
    compare.add_argument("--dry-run", action="store_true", help="check the models and the shots, print the "
                                                                "resolved arguments and exit")
    evaluate = _command(commands, "evaluate", "FID, KID, IS, precision and recall against real images")
    evaluate.add_argument("generator", help="a .keras file, a run directory, a SavedModel, or an .npy/.npz of images")
    evaluate.add_argument("--ref", required=True, metavar="SPEC", help="reference data spec, e.g. fashion_mnist:7")
    evaluate.add_argument("--split", default="test", choices=("train", "test"), help="reference split (default: test)")
    evaluate.add_argument("--n", type=int, default=1000, help="generated images, at least 10 (default: 1000)")
    evaluate.add_argument("--extractor", default="fmnist",
                          help="fmnist (offline), inception_v3, or a .keras model file with --layer (default: fmnist)")
    evaluate.add_argument("--layer", default=None, help="feature layer of a --extractor model file, which needs "
                                                        "one (default: none, for the named extractors)")
    evaluate.add_argument("--seed", type=int, default=0, help="noise and KID-subset seed (default: 0)")
    evaluate.add_argument("--train-data", default=None, metavar="SPEC", help="the generator's training data spec: "
                          "adds the memorisation check (near-copy share of the training images; default: none)")
    evaluate.add_argument("--shots", type=int, default=None, help="n-shot subset of --train-data (default: all)")
    evaluate.add_argument("--shots-seed", type=int, default=0, help="seed of the n-shot subset (default: 0)")
    evaluate.add_argument("--runs-root", default="runs", help="where a new run directory is made when GENERATOR "
                                                              "is not one (default: runs)")
    evaluate.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")
    classifier = _command(commands, "train-classifier", "train kgantl's Fashion-MNIST classifier (the fmnist "
                                                        "extractor, backbones)")
    classifier.add_argument("--data", default="fashion_mnist", metavar="SPEC", help="fashion_mnist or a class "
                            "subset, e.g. fashion_mnist:0-4 (default: fashion_mnist)")
    classifier.add_argument("--out", default="runs/fmnist-classifier", help="output folder; the shipped models in "
                            "saved_models/ are only replaced when you name one (default: runs/fmnist-classifier)")
    classifier.add_argument("--epochs", type=int, default=10, help="epochs over the training split (default: 10)")
    classifier.add_argument("--batch-size", type=int, default=128, help="batch size (default: 128)")
    classifier.add_argument("--seed", type=int, default=0, help="seed of the weights and shuffling (default: 0)")
    classifier.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")
    tune = _command(commands, "finetune-classifier", "fine-tune a classifier on a pretrained backbone with a "
                                                     "freeze/unfreeze schedule")
    tune.add_argument("--data", required=True, metavar="SPEC", help="labelled data spec, e.g. fashion_mnist:5-9")
    tune.add_argument("--shots", type=int, default=None, help="images per class (n-shot rule; default: all)")
    tune.add_argument("--seed", type=int, default=0, help="seed of the n-shot rule, weights and shuffling "
                                                          "(default: 0)")
    tune.add_argument("--backbone", required=True, help="vgg16, resnet50, mobilenet_v2, efficientnet_b0 or a "
                                                         ".keras model, e.g. saved_models/fmnist-0-4-backbone/model.keras")
    tune.add_argument("--weights", default="imagenet", help="imagenet, none or a weights file (named backbones; "
                                                            "default: imagenet)")
    tune.add_argument("--stages", default="10:0:1e-3,10:2:1e-4",
                      help="EPOCHS:TRAINABLE:LR per stage, TRAINABLE counted from the top or 'all' "
                           "(default: 10:0:1e-3,10:2:1e-4)")
    tune.add_argument("--unit", default="blocks", choices=("blocks", "layers"), help="what TRAINABLE counts "
                                                                                     "(default: blocks)")
    tune.add_argument("--batch-size", type=int, default=16, help="batch size (default: 16)")
    tune.add_argument("--runs-root", default="runs", help="parent of the numbered run directories (default: runs)")
    tune.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")
    _add_augment_command(commands)
    models = _command(commands, "models", "the shipped models kgantl finds by name, and where")
    models.add_argument("action", choices=("list",), help="list: each shipped model, the folder it was found in "
                                                          "and its size")
    for command in commands.choices.values():
        command.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up messages")
    parser.subcommands = {"train": train, "transfer": transfer, "generate": generate, "compare": compare,
                          "export": export,
                          "evaluate": evaluate, "train-classifier": classifier, "finetune-classifier": tune,
                          "augment": commands.choices["augment"], "models": models}
    return parser


def _given_options(parser, argv):
    """Names of the options whose flags appear in argv (`--x`, `--x=1`, `--no-x`)."""
    typed = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    return {action.dest for action in parser._actions if typed & set(action.option_strings)}


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
    with _blaming_the_config_file(args.config, from_the_file):
        options = TrainOptions.from_dict(values)
        defaults = TrainOptions()
        transfer_keys = [k for k in TRANSFER_ONLY if getattr(options, k) != getattr(defaults, k)]
        if args.command == "train" and transfer_keys:
            raise UsageError(f"{', '.join(transfer_keys)} adapt a source GAN: use kgantl transfer. Received in "
                             f"--config: {', '.join(f'{k}={getattr(options, k)!r}' for k in transfer_keys)}")
        return options.validate()


def _parse_labels(text, count):
    import numpy as np

    if text is None:
        return None
    from kgantl.data.sources import parse_classes

    classes = parse_classes(text, 10**6, f"labels:{text}")
    return np.resize(np.asarray(classes, dtype=np.int32), count)


def _write_images(out, images, labels):
    import numpy as np

    from kgantl.images import make_grid, save_png
    from kgantl.io import atomic_path, write_npz

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".png":
        save_png(out, make_grid(images))
        return
    if out.suffix == ".npz":
        write_npz(out, images=images, **({} if labels is None else {"labels": labels}))
        return
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, images)


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


def _generate(args):
    import numpy as np

    out = Path(args.out)
    if out.suffix not in (".png", ".npy", ".npz"):
        raise UsageError(f"--out must end in .png, .npy or .npz. Received: {args.out}")
    if args.n < 1:
        raise UsageError(f"--n must be a positive integer. Received: {args.n}")
    labels = _parse_labels(args.labels, args.n)
    model_path, = _model_paths([args.model])
    from kgantl.runs.artifacts import open_generator

    sampler = open_generator(model_path)
    noise = np.random.default_rng(args.seed).standard_normal((args.n, sampler.latent_dim)).astype("float32")
    images = sampler.generate(noise, labels=labels)  # refuses labels the model was not trained on
    if args.dry_run:
        print(json.dumps({"model": str(model_path), "n": args.n, "out": str(out), "seed": args.seed,
                          "labels": None if labels is None else labels.tolist(),
                          "model_classes": sampler.class_ids}, indent=2))
        return
    _write_images(out, images, labels)
    print(f"wrote {len(images)} images to {out}")


def _compare(args):
    import numpy as np

    out = Path(args.out)
    if out.suffix != ".png":
        raise UsageError(f"--out must end in .png. Received: {args.out}")
    if args.n < 1:
        raise UsageError(f"--n must be a positive integer. Received: {args.n}")
    names = args.names or [Path(model).name for model in args.models]
    if len(names) != len(args.models):
        raise UsageError(f"--names needs one title per MODEL: {len(args.models)} models, {len(names)} names. "
                         f"Received: --names {' '.join(names)}")
    model_paths = _model_paths(args.models)
    if args.shots is not None and not args.shots_from:
        raise UsageError("--shots selects the n-shot subset of --shots-from: give --shots-from too")
    from kgantl.data import load_arrays
    from kgantl.images import labelled_panels, make_grid, save_png
    from kgantl.runs.artifacts import open_generator

    shots = load_arrays(args.shots_from, shots=args.shots, seed=args.shots_seed).images[:args.n] \
        if args.shots_from else None
    samplers = [open_generator(model) for model in model_paths]  # every model opens before anything is drawn
    if args.dry_run:
        print(json.dumps({**{k: v for k, v in vars(args).items() if k not in ("dry_run", "command", "verbose")},
                          "models": [str(path) for path in model_paths], "names": names}, indent=2))
        return
    panels, titles = [], []
    if shots is not None:
        panels.append(make_grid(shots / 127.5 - 1.0))  # pixels 0-255, the range models generate is [-1, 1]
        titles.append(f"the shots ({args.shots_from})" if args.shots is None else f"{args.shots} shots")
    labels = _parse_labels(args.labels, args.n)
    for sampler, name in zip(samplers, names):
        noise = np.random.default_rng(args.seed).standard_normal((args.n, sampler.latent_dim)).astype("float32")
        panels.append(make_grid(sampler.generate(noise, labels=labels)))
        titles.append(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(out, labelled_panels(panels, titles))
    print(f"wrote {out}: {', '.join(titles)}")


def _models(args):
    """`kgantl models list`: each shipped model, where it was found (or that it was not) and its size."""
    from kgantl.shipped import SHIPPED, find_shipped_model, models_dirs

    print("searched, in order: " + ", ".join(str(folder) for folder in dict.fromkeys(models_dirs())))
    missing = 0
    for name in SHIPPED:
        try:
            path = find_shipped_model(name)
        except FileNotFoundError:
            print(f"{name:32s} not found")
            missing += 1
            continue
        print(f"{name:32s} {path.parent}  ({path.stat().st_size / 2**20:.1f} MB)")
    return 1 if missing else 0


def _export(args):
    from kgantl.export import DEFAULT_EXPORT_ROOT, export_generator, export_keras
    from kgantl.runs.artifacts import load_gan

    model_path = Path(args.model)
    default = Path(DEFAULT_EXPORT_ROOT) / model_path.stem
    out = Path(args.out) if args.out else (default / "model.keras" if args.format == "keras"
                                           else default.with_name(default.name + "-generator"))
    if args.format == "keras" and out.suffix != ".keras":
        raise UsageError(f"--out must end in .keras with --format keras. Received: {out}")
    if args.dry_run:
        print(json.dumps({"model": str(model_path), "out": str(out), "format": args.format,
                          "use_ema": not args.no_ema}, indent=2))
        return
    if args.format == "keras":
        print(f"exported {export_keras(load_gan(model_path), out)} (GAN without optimizer state)")
        return
    path = export_generator(load_gan(model_path), out, use_ema=not args.no_ema)
    print(f"exported SavedModel to {path} (signature 'serve')")


def _evaluation_dir(generator, runs_root):
    """The generator's run directory, or a new numbered `NNNNN-evaluate` one under `runs_root`."""
    from kgantl.runs.folder import OPTIONS_FILE, next_run_dir

    path = Path(generator)
    for candidate in (path, path.parent):
        if candidate.is_dir() and (candidate / OPTIONS_FILE).is_file():
            return candidate
    return next_run_dir(runs_root, "evaluate")


def _evaluate(args):
    from kgantl.io import write_json

    _model_paths([args.generator], "GENERATOR", "a .keras file, a run directory, a SavedModel or an .npy/.npz file")
    if args.shots is not None and not args.train_data:
        raise UsageError("--shots selects the n-shot subset of --train-data: give --train-data too")
    out_dir = _evaluation_dir(args.generator, args.runs_root)
    if args.dry_run:
        print(json.dumps({**{k: v for k, v in vars(args).items() if k != "dry_run"}, "run_dir": str(out_dir)},
                         indent=2))
        return
    from kgantl.metrics import evaluate, get_extractor

    extractor = get_extractor(args.extractor, layer=args.layer)
    train_images = None
    if args.train_data:
        from kgantl.data import load_arrays

        train_images = load_arrays(args.train_data, shots=args.shots, seed=args.shots_seed).images
    generator = args.generator
    if Path(generator).suffix not in (".npy", ".npz"):  # image files are scored as they are
        from kgantl.runs.artifacts import open_generator

        generator = open_generator(generator)
    report = evaluate(generator, ref=args.ref, split=args.split, n=args.n, extractor=extractor,
                      seed=args.seed, train_images=train_images)
    report["generator"] = str(args.generator)
    out_dir.mkdir(parents=True, exist_ok=True)
    reference = re.sub(r"[^A-Za-z0-9]+", "_", Path(args.ref).name if Path(args.ref).exists() else args.ref)
    write_json(out_dir / f"evaluation_{reference}_{report['protocol']}_seed{args.seed}.json", report)
    print(json.dumps(report, indent=2, sort_keys=True))


def _train_classifier(args):
    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError(f"--epochs and --batch-size must be positive. Received: {args.epochs}, {args.batch_size}")
    if args.dry_run:
        print(json.dumps({k: v for k, v in vars(args).items() if k not in ("dry_run", "command")}, indent=2))
        return
    from kgantl.classifier.fmnist import train_fmnist_classifier

    metrics = train_fmnist_classifier(args.out, args.epochs, args.batch_size, args.seed, args.data,
                                      verbose=_progress())
    print(json.dumps(metrics, indent=2))


def _finetune_classifier(args):
    from kgantl.classifier import parse_stages

    stages = parse_stages(args.stages)
    arguments = {k: v for k, v in vars(args).items() if k not in ("dry_run", "command")}
    if args.dry_run:
        print(json.dumps(arguments, indent=2))
        return
    from kgantl.classifier.finetune import finetune_classifier

    report, _ = finetune_classifier(args.data, args.backbone, stages, shots=args.shots, seed=args.seed,
                                    weights=None if args.weights == "none" else args.weights, unit=args.unit,
                                    batch_size=args.batch_size, runs_root=args.runs_root, arguments=arguments,
                                    verbose=_progress())
    print(json.dumps(report, indent=2))


def _command_options(args, argv, parser):
    """The resolved `TrainOptions` of `train` and `transfer`, or `AugmentSettings` of `augment` (None for the other
    commands), before TensorFlow starts: where and on how many devices a run trains may come from `--config`."""
    if args.command not in ("train", "transfer", "augment"):
        return None
    try:
        if args.command == "augment":
            return _augment_settings(args, argv, parser.subcommands["augment"])
        return _train_options(args, argv, parser.subcommands[args.command])
    except USAGE_ERRORS as error:
        raise UsageError(str(error)) from None


def _train(args, options):
    """Set-up errors are usage errors (exit 2); errors during training itself propagate as they are. SIGTERM or
    SIGINT while fitting stops after the current step with a message and exit status 143 or 130."""
    from kgantl.callbacks import TrainingDiverged, latest_epoch
    from kgantl.callbacks.signals import EXIT_STATUS, StopOnSignal, StopRequested
    from kgantl.runs.folder import CHECKPOINTS
    from kgantl.training import prepare_training, resolve_training, run_training

    stop = StopOnSignal()
    try:
        if args.dry_run:  # every check of a real run, nothing written
            print(json.dumps(resolve_training(options).options.to_dict(), indent=2, sort_keys=True))
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
    except StopRequested as request:
        kept = latest_epoch(prepared.run_dir / CHECKPOINTS)
        print(flush=True)  # end the progress bar's line
        print(f"kgantl {args.command}: {request}; the run directory {prepared.run_dir} keeps the checkpoint of "
              f"epoch {kept} of {options.epochs}: run the same command to resume", file=sys.stderr)
        return EXIT_STATUS[request.signum]
    print(f"run directory: {prepared.run_dir}")
    return 0


def _progress():
    """Keras' progress setting: a bar on a terminal, one line per epoch into a file or pipe (a bar there is a
    line per step)."""
    return "auto" if sys.stdout.isatty() else 2


@contextlib.contextmanager
def _native_logging_silenced(enabled=True):
    """Send what C++ code writes to file descriptor 2 to /dev/null while Python's `sys.stderr` keeps its target.

    TensorFlow logs from C++ through absl (oneDNN, CUDA probing, CPU features at start-up; Grappler notes
    while training), which neither `TF_CPP_MIN_LOG_LEVEL` nor Python's logging silences. Python's own
    messages (kgantl's log lines, warnings, tracebacks) still reach the terminal: when `sys.stderr` is
    the process's fd 2 it is re-opened on a copy of it first. `--verbose` turns this off.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved_fd = os.dup(2)
    saved_stream = sys.stderr
    try:
        python_writes_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # e.g. a test's capture object: it does not write to fd 2
        python_writes_fd2 = False
    if python_writes_fd2:
        sys.stderr = os.fdopen(os.dup(saved_fd), "w", buffering=1, encoding=saved_stream.encoding,
                               errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        if python_writes_fd2:
            temporary, sys.stderr = sys.stderr, saved_stream
            # Log handlers made meanwhile (ours, TensorFlow's) hold the temporary stream: give them the real one.
            loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict.values()
                                             if isinstance(logger, logging.Logger))]
            for handler in (h for logger in loggers for h in logger.handlers):
                if isinstance(handler, logging.StreamHandler) and handler.stream is temporary:
                    handler.setStream(saved_stream)
            temporary.close()


def _load_tensorflow(options):
    """Import TensorFlow and Keras, start its devices (which logs) and register kgantl's Keras classes.

    `cpu_replicas` splits the CPU first and `distribute="multiworker"` starts its strategy first: TensorFlow
    fixes its devices and collectives when it starts them. `options`: the run's `TrainOptions`, or None.
    """
    import kgantl
    import tensorflow as tf

    replicas, distribute = getattr(options, "cpu_replicas", 1), getattr(options, "distribute", None)
    if distribute == "mirrored" and isinstance(replicas, int) and replicas > 1:
        from kgantl.distribute import split_cpu

        split_cpu(replicas)
    if distribute == "multiworker":  # its collectives are configured once, before the devices start
        from kgantl.distribute import make_distribution

        try:
            make_distribution("multiworker")
        except ValueError as error:
            raise UsageError(str(error)) from None
    tf.config.list_logical_devices()
    kgantl.register_serializable_classes()


def main(argv=None):
    """Entry point of the `kgantl` console script.

    Args:
        argv: arguments without the program name (default: `sys.argv[1:]`).

    Returns:
        Exit status: 0 success, 1 training diverged, 2 usage or input error (also a run directory in use),
        143 or 130 training stopped by SIGTERM or SIGINT (its last epoch checkpoint kept; the same command resumes).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    command = argv[0] if argv and not argv[0].startswith("-") else None
    prefix = f"kgantl {command}" if command in parser.subcommands else "kgantl"
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(f"{prefix}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if args.verbose else "2")
    with _native_logging_silenced(enabled=not args.verbose):
        logging.basicConfig(level=logging.WARNING, format="kgantl: %(message)s")
        try:
            options = _command_options(args, argv, parser)
            _load_tensorflow(options)
            return _run_command(args, options)
        except UsageError as error:
            print(f"{prefix}: error: {' '.join(str(error).split())}", file=sys.stderr)
            return 2


def _run_command(args, options):
    """Run the parsed command; returns its exit status. Usage errors surface as `UsageError`."""
    if args.command in ("train", "transfer"):
        return _train(args, options)
    if args.command == "augment":
        _augment(args, options)
        return 0
    if args.command == "models":
        return _models(args)
    try:
        {"generate": _generate, "compare": _compare, "export": _export, "evaluate": _evaluate,
         "train-classifier": _train_classifier,
         "finetune-classifier": _finetune_classifier}[args.command](args)
    except USAGE_ERRORS as error:
        # generate, compare, export and evaluate only read inputs and write results. train-classifier and
        # finetune-classifier do not separate set-up from training yet: any such error of theirs exits 2.
        raise UsageError(str(error)) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
