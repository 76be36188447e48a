"""Command line: parse flags -> options -> one library call. Usage errors exit 2 with one line."""
import argparse
import dataclasses
import json
import logging
import os
import sys
import typing
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter hides the real output

from kgantl.config import PRESETS, TrainOptions  # noqa: E402

USAGE_ERRORS = (ValueError, FileNotFoundError, ImportError)


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
    augment = commands.add_parser("augment", help="does generated data help a few-shot classifier? GAN on the "
                                                  "shots, one classifier per mix ratio, scored on the test split")
    augment.add_argument("--data", required=True, help="labelled data spec, e.g. fashion_mnist:5-9")
    augment.add_argument("--shots", type=int, required=True, help="labelled images per class (n-shot rule)")
    augment.add_argument("--backbone", required=True, help="classifier backbone: vgg16, resnet50, mobilenet_v2, "
                         "efficientnet_b0, a .keras file or a saved_models/ folder")
    augment.add_argument("--ratios", type=_number_list(float), default=(0.0, 0.25, 0.5),
                         help="shares of generated images to compare; must include 0 (default: 0,0.25,0.5)")
    augment.add_argument("--seeds", type=_number_list(int), default=(0,), help="seeds, e.g. 0,1,2 (default: 0)")
    augment.add_argument("--val-per-class", type=int, default=None,
                         help="shots per class held out to choose the ratio (default: a fifth, at least 1)")
    augment.add_argument("--source", default=None, help="source GAN to transfer from (default: train the "
                                                        "conditional GAN from scratch)")
    augment.add_argument("--strategy", default="freeze_d:1", help="transfer strategy (default: freeze_d:1)")
    augment.add_argument("--gan-steps", type=int, default=500, help="generator steps (default: 500)")
    augment.add_argument("--gan-batch-size", type=int, default=32)
    augment.add_argument("--stages", default="40:0:1e-3,20:2:1e-4",
                         help="classifier freeze schedule EPOCHS:TRAINABLE:LR,... (default: 40:0:1e-3,20:2:1e-4)")
    augment.add_argument("--unit", default="layers", choices=("blocks", "layers"), help="what TRAINABLE counts")
    augment.add_argument("--feature-layer", default=None, help="layer of a .keras backbone feeding the head, "
                                                               "e.g. flatten (default: input of its last layer)")
    augment.add_argument("--weights", default="imagenet", help="imagenet, none or a weights file (named backbones)")
    augment.add_argument("--batch-size", type=int, default=16, help="classifier batch size (default: 16)")
    augment.add_argument("--balance", action="store_true", help="generate more of the rarer classes")
    augment.add_argument("--filter-threshold", type=float, default=None,
                         help="keep generated images the real-only classifier gives their label with at least "
                              "this confidence (default: no filter)")
    augment.add_argument("--classic-baseline", action=argparse.BooleanOptionalAction, default=True,
                         help="also train the flips-and-crops baseline (default: on)")
    augment.add_argument("--eval-n", type=int, default=1000, help="generated images for the GAN check (default: 1000)")
    augment.add_argument("--runs-root", default="runs")
    augment.add_argument("--run-dir", default=None, help="run directory (default: a new NNNNN-augment one)")
    augment.add_argument("--dry-run", action="store_true", help="print the resolved settings and exit")


def _augment(args):
    from kgantl.augment.experiment import AugmentSettings

    names = {f.name for f in dataclasses.fields(AugmentSettings)}
    values = {k: v for k, v in vars(args).items() if k in names}
    values["weights"] = None if args.weights == "none" else args.weights
    settings = AugmentSettings(**values).validate()
    if args.dry_run:
        print(json.dumps(dataclasses.asdict(settings), indent=2))
        return
    from kgantl.augment.experiment import augment_experiment, markdown_report

    report, run_dir = augment_experiment(settings, runs_root=args.runs_root, run_dir=args.run_dir)
    print(markdown_report(report))
    print(f"run directory: {run_dir}")


def _train_flag_type(field):
    """`Optional[int]` -> int, `bool` -> bool: the type argparse should convert a flag's text to."""
    args = [a for a in typing.get_args(field.type) if a is not type(None)]
    return args[0] if args else field.type


def _add_train_flags(parser):
    for field in dataclasses.fields(TrainOptions):
        flag = "--" + field.name.replace("_", "-")
        kind = _train_flag_type(field)
        help_text = field.metadata["help"] + (f" (default: {field.default})" if field.default not in (None, "") else "")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default, help=help_text)
        else:
            parser.add_argument(flag, type=kind, default=field.default, choices=field.metadata.get("choices"),
                                help=help_text, metavar=field.name.upper())


def build_parser():
    """The `kgantl` argument parser with its sub-commands."""
    parser = _Parser(prog="kgantl", description="GANs and transfer learning for scarce data (Keras 3).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a GAN in its own run directory (resumes an identical run)")
    transfer = commands.add_parser("transfer", help="adapt a source GAN to a few target images (train with "
                                                    "--source and --strategy; KID every epoch by default)")
    for command in (train, transfer):
        _add_train_flags(command)
        command.add_argument("--preset", choices=sorted(PRESETS), help="start from a named preset of options")
        command.add_argument("--config", help="JSON file of options; overrides the preset, flags given "
                                              "explicitly override both")
        command.add_argument("--dry-run", action="store_true", help="print the resolved options and exit")
    transfer.add_argument("--target", dest="data", help="target data spec, e.g. fashion_mnist:7 (same as --data)")

    generate = commands.add_parser("generate", help="sample images from a .keras model, run directory or SavedModel")
    generate.add_argument("model", help="a .keras file, a run directory or an exported SavedModel folder")
    generate.add_argument("--n", type=int, default=64, help="number of images (default: 64)")
    generate.add_argument("--out", required=True, help="output .png (grid), .npy or .npz (images in [-1, 1])")
    generate.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    generate.add_argument("--labels", default=None, help="class labels for a conditional model, e.g. 7 or 5-9")
    generate.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")

    export = commands.add_parser("export", help="export the generator as a TensorFlow SavedModel")
    export.add_argument("model", help="a .keras file or a run directory")
    export.add_argument("--out", default=None, help="SavedModel folder, or .keras file with --format keras "
                                                   "(default: saved_models/<run or file name>-generator)")
    export.add_argument("--format", default="savedmodel", choices=("savedmodel", "keras"),
                        help="savedmodel: the generator, for serving; keras: the whole GAN without optimizer "
                             "state, for shipping as a transfer source (default: savedmodel)")
    export.add_argument("--no-ema", action="store_true", help="export the raw generator, not its EMA copy")
    export.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")
    evaluate = commands.add_parser("evaluate", help="FID, KID, IS, precision and recall against real images")
    evaluate.add_argument("generator", help="a .keras file, a run directory, a SavedModel, or an .npy/.npz of images")
    evaluate.add_argument("--ref", required=True, help="reference data spec, e.g. fashion_mnist:7")
    evaluate.add_argument("--split", default="test", choices=("train", "test"), help="reference split (default: test)")
    evaluate.add_argument("--n", type=int, default=1000, help="generated images (default: 1000)")
    evaluate.add_argument("--extractor", default="fmnist",
                          help="fmnist (offline), inception_v3, or a .keras model file with --layer (default: fmnist)")
    evaluate.add_argument("--layer", default=None, help="feature layer of a --extractor model file")
    evaluate.add_argument("--seed", type=int, default=0, help="noise and KID-subset seed (default: 0)")
    evaluate.add_argument("--train-data", default=None, help="the generator's training data spec: adds the "
                          "memorisation check (near-copy share of the training images)")
    evaluate.add_argument("--shots", type=int, default=None, help="n-shot subset of --train-data (default: all)")
    evaluate.add_argument("--shots-seed", type=int, default=0, help="seed of the n-shot subset (default: 0)")
    evaluate.add_argument("--runs-root", default="runs", help="where a new run directory is made when GENERATOR "
                                                              "is not one (default: runs)")
    evaluate.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")
    classifier = commands.add_parser("train-classifier",
                                     help="train kgantl's Fashion-MNIST classifier (the fmnist extractor, backbones)")
    classifier.add_argument("--data", default="fashion_mnist", help="fashion_mnist or a class subset, e.g. "
                                                                  "fashion_mnist:0-4 (default: fashion_mnist)")
    classifier.add_argument("--out", default="saved_models/fmnist-classifier", help="output folder")
    classifier.add_argument("--epochs", type=int, default=10)
    classifier.add_argument("--batch-size", type=int, default=128)
    classifier.add_argument("--seed", type=int, default=0)
    classifier.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")
    tune = commands.add_parser("finetune-classifier", help="fine-tune a classifier on a pretrained backbone "
                                                           "with a freeze/unfreeze schedule")
    tune.add_argument("--data", required=True, help="labelled data spec, e.g. fashion_mnist:5-9")
    tune.add_argument("--shots", type=int, default=None, help="images per class (n-shot rule; default: all)")
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--backbone", required=True, help="vgg16, resnet50, mobilenet_v2, efficientnet_b0 or a "
                                                         ".keras model, e.g. saved_models/fmnist-0-4-backbone/model.keras")
    tune.add_argument("--weights", default="imagenet", help="imagenet, none or a weights file (named backbones)")
    tune.add_argument("--stages", default="10:0:1e-3,10:2:1e-4",
                      help="EPOCHS:TRAINABLE:LR per stage, TRAINABLE counted from the top or 'all' "
                           "(default: 10:0:1e-3,10:2:1e-4)")
    tune.add_argument("--unit", default="blocks", choices=("blocks", "layers"), help="what TRAINABLE counts")
    tune.add_argument("--batch-size", type=int, default=16)
    tune.add_argument("--runs-root", default="runs")
    tune.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")
    _add_augment_command(commands)
    parser.subcommands = {"train": train, "transfer": transfer, "generate": generate, "export": export,
                          "evaluate": evaluate, "train-classifier": classifier, "finetune-classifier": tune,
                          "augment": commands.choices["augment"]}
    return parser


def _given_options(parser, argv):
    """Names of the options whose flags appear in argv (`--x`, `--x=1`, `--no-x`)."""
    typed = {arg.split("=")[0] for arg in argv if arg.startswith("--")}
    return {action.dest for action in parser._actions if typed & set(action.option_strings)}


TRANSFER_DEFAULTS = {"eval_every": 1}  # a transfer run reports KID over training and keeps the best model


def _train_options(args, argv, parser):
    """Defaults <- (transfer defaults) <- preset <- config file <- flags typed on the command line."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainOptions)}
    given = _given_options(parser, argv)
    layered = dict(TRANSFER_DEFAULTS) if args.command == "transfer" else {}
    layered.update(PRESETS[args.preset] if args.preset else {})
    if args.config:
        from_file = json.loads(Path(args.config).read_text())
        TrainOptions.from_dict(from_file)  # rejects unknown keys
        layered.update(from_file)  # only the keys the file sets: the rest keep the preset's values
    values.update({k: v for k, v in layered.items() if k not in given})
    return TrainOptions.from_dict(values).validate()


def _parse_labels(text, count):
    import numpy as np

    if text is None:
        return None
    from kgantl.data.sources import parse_classes

    classes = parse_classes(text, 10**6, f"labels:{text}")
    return np.resize(np.asarray(classes, dtype=np.int32), count)


def _generate(args):
    import numpy as np

    from kgantl.images import make_grid, save_png
    from kgantl.io import atomic_path

    out = Path(args.out)
    if out.suffix not in (".png", ".npy", ".npz"):
        raise UsageError(f"--out must end in .png, .npy or .npz. Received: {args.out}")
    if args.n < 1:
        raise UsageError(f"--n must be a positive integer. Received: {args.n}")
    labels = _parse_labels(args.labels, args.n)
    model_path = Path(args.model)
    if not model_path.exists():
        raise UsageError(f"MODEL must be a .keras file, a run directory or a SavedModel folder. Received: {model_path}")
    if args.dry_run:
        print(json.dumps({"model": str(model_path), "n": args.n, "out": str(out), "seed": args.seed,
                          "labels": None if labels is None else labels.tolist()}, indent=2))
        return
    if (model_path / "saved_model.pb").is_file():
        import tensorflow as tf

        serve = tf.saved_model.load(str(model_path)).signatures["serve"]
        latent = serve.structured_input_signature[1]["noise"].shape[-1]
        noise = np.random.default_rng(args.seed).standard_normal((args.n, latent)).astype("float32")
        inputs = {"noise": tf.constant(noise)}
        if "labels" in serve.structured_input_signature[1]:
            if labels is None:
                raise UsageError("--labels is required for a conditional model")
            inputs["labels"] = tf.constant(labels)
        try:
            images = serve(**inputs)["images"].numpy()
        except tf.errors.InvalidArgumentError as error:  # e.g. a label beyond the embedding
            raise UsageError(f"the SavedModel rejected the inputs ({error.message.splitlines()[0]})") from None
    else:
        from kgantl.training import load_gan

        gan = load_gan(model_path)
        noise = np.random.default_rng(args.seed).standard_normal((args.n, gan.latent_dim)).astype("float32")
        images = gan.generate(noise=noise, labels=labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".png":
        save_png(out, make_grid(images))
    else:
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as f:
                if out.suffix == ".npy":
                    np.save(f, images)
                else:
                    np.savez(f, images=images, **({} if labels is None else {"labels": labels}))
    print(f"wrote {len(images)} images to {out}")


def _export(args):
    from kgantl.export import DEFAULT_EXPORT_ROOT, export_generator, export_keras
    from kgantl.training import load_gan

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
    from kgantl.runs import OPTIONS_FILE, next_run_dir

    path = Path(generator)
    for candidate in (path, path.parent):
        if candidate.is_dir() and (candidate / OPTIONS_FILE).is_file():
            return candidate
    return next_run_dir(runs_root, "evaluate")


def _evaluate(args):
    from kgantl.io import write_json

    if not Path(args.generator).exists():
        raise UsageError(f"GENERATOR must be a .keras file, a run directory, a SavedModel or an .npy/.npz file. "
                         f"Received: {args.generator}")
    if args.shots is not None and not args.train_data:
        raise UsageError("--shots selects the n-shot subset of --train-data: give --train-data too")
    out_dir = _evaluation_dir(args.generator, args.runs_root)
    if args.dry_run:
        print(json.dumps({**{k: v for k, v in vars(args).items() if k != "dry_run"}, "run_dir": str(out_dir)},
                         indent=2))
        return
    import re

    from kgantl.metrics import evaluate, get_extractor

    extractor = get_extractor(args.extractor, layer=args.layer)
    train_images = None
    if args.train_data:
        from kgantl.data import load_arrays

        train_images = load_arrays(args.train_data, shots=args.shots, seed=args.shots_seed).images
    report = evaluate(args.generator, ref=args.ref, split=args.split, n=args.n, extractor=extractor,
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
    from kgantl.metrics.fmnist_classifier import train_fmnist_classifier

    metrics = train_fmnist_classifier(args.out, args.epochs, args.batch_size, args.seed, args.data)
    print(json.dumps(metrics, indent=2))


def _finetune_classifier(args):
    from kgantl.transfer import parse_stages

    stages = parse_stages(args.stages)
    arguments = {k: v for k, v in vars(args).items() if k not in ("dry_run", "command")}
    if args.dry_run:
        print(json.dumps(arguments, indent=2))
        return
    from kgantl.transfer.finetune import finetune_classifier

    report, _ = finetune_classifier(args.data, args.backbone, stages, shots=args.shots, seed=args.seed,
                                    weights=None if args.weights == "none" else args.weights, unit=args.unit,
                                    batch_size=args.batch_size, runs_root=args.runs_root, arguments=arguments)
    print(json.dumps(report, indent=2))


def _train(args, argv, parser):
    """Set-up errors are usage errors (exit 2); errors during training itself propagate as they are."""
    from kgantl.callbacks import TrainingDiverged
    from kgantl.training import prepare_training, resolve_options, run_training

    try:
        options = _train_options(args, argv, parser)
        if args.command == "transfer" and not options.source:
            raise UsageError("--source is required: a .keras file, saved_models/<name> or a run directory")
        if args.dry_run:
            from kgantl.data import load_arrays

            arrays = load_arrays(options.data, shots=options.shots, seed=options.seed)
            print(json.dumps(resolve_options(options, arrays).to_dict(), indent=2, sort_keys=True))
            return 0
        prepared = prepare_training(options)
    except USAGE_ERRORS as error:
        raise UsageError(str(error)) from None
    try:
        run_training(prepared)
    except TrainingDiverged as error:
        print(f"kgantl train: {error}", file=sys.stderr)
        return 1
    print(f"run directory: {prepared.run_dir}")
    return 0


def main(argv=None):
    """Entry point of the `kgantl` console script.

    Args:
        argv: arguments without the program name (default: `sys.argv[1:]`).

    Returns:
        Exit status: 0 success, 1 training diverged, 2 usage or input error.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    logging.basicConfig(level=logging.WARNING, format="kgantl: %(message)s")
    parser = build_parser()
    command = argv[0] if argv and not argv[0].startswith("-") else None
    try:
        args = parser.parse_args(argv)
        if args.command in ("train", "transfer"):
            return _train(args, argv, parser.subcommands[args.command])
        {"generate": _generate, "export": _export, "evaluate": _evaluate, "train-classifier": _train_classifier,
         "augment": _augment,
         "finetune-classifier": _finetune_classifier}[args.command](args)
        return 0
    except (UsageError, *USAGE_ERRORS) as error:
        prefix = f"kgantl {command}" if command in parser.subcommands else "kgantl"
        message = " ".join(str(error).split())
        print(f"{prefix}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
