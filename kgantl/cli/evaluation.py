"""`kgantl evaluate`: scores a generator, or images, against real images and keeps the report in a run
directory; a run folder's generator is also checked for near-copies of its own training shots.
"""
import json
import re
import sys
from pathlib import Path

from kgantl.cli.common import UsageError, _command, _model_paths


def _add_evaluate_command(commands):
    """`evaluate`."""
    evaluate = _command(commands, "evaluate", "FID, KID, IS, precision and recall against real images")
    evaluate.add_argument("generator", help="a .keras file, a run directory, a SavedModel, or an .npy/.npz of images")
    evaluate.add_argument("--ref", required=True, metavar="SPEC", help="reference data spec, e.g. fashion_mnist:7")
    evaluate.add_argument("--split", default="test", choices=("train", "test"), help="reference split (default: test)")
    evaluate.add_argument("--n", type=int, default=1000, help="generated images, at least 10 (default: 1000)")
    evaluate.add_argument("--extractor", default="auto",
                          help="fmnist (grayscale, offline), noto (colour, offline), inception_v3 (ImageNet weights), "
                               "or a .keras model file with --layer (default: auto: fmnist for grayscale images; "
                               "for colour inception_v3 where its weights are in the Keras cache, else noto)")
    evaluate.add_argument("--layer", default=None, help="feature layer of a --extractor model file, which needs "
                                                        "one (default: none, for the named extractors)")
    evaluate.add_argument("--seed", type=int, default=0, help="noise and KID-subset seed (default: 0)")
    evaluate.add_argument("--train-data", default=None, metavar="SPEC", help="the generator's training data spec "
                          "for the memorisation check (near-copy share of the training images), or none to skip it "
                          "(default: a run folder's own training shots, the data, shots and seed of its "
                          "options.json; none for a .keras file, SavedModel or images outside a run folder)")
    evaluate.add_argument("--shots", type=int, default=None, help="n-shot subset of --train-data (default: all)")
    # Not --seed, which is the noise seed here as in generate and compare; compare names its shots' seed alike.
    evaluate.add_argument("--shots-seed", type=int, default=None, help="seed of --train-data's n-shot subset: the "
                                                                       "training run's --seed (default: 0)")
    evaluate.add_argument("--runs-root", default="runs", help="where a new run directory is made when GENERATOR "
                                                              "is not one (default: runs)")
    evaluate.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")


def _evaluation_dir(generator, runs_root):
    """The generator's run directory, or a new numbered `NNNNN-evaluate` one under `runs_root`."""
    from kgantl.runs.folder import next_run_dir
    from kgantl.runs.shots import run_folder_of

    return run_folder_of(generator) or next_run_dir(runs_root, "evaluate")


def _training_shots(args):
    """What the near-copy check compares with: `--train-data` (with `--shots` and `--shots-seed`), else the run
    folder's own training shots (`kgantl.runs.shots.training_shots`), else nothing (`--train-data none`, or a
    generator outside a run folder). Returns `TrainingShots` or None."""
    from kgantl.runs.shots import TrainingShots, training_shots

    if args.train_data is None or args.train_data == "none":
        for flag, value in (("--shots", args.shots), ("--shots-seed", args.shots_seed)):
            if value is not None:
                raise UsageError(f"{flag} selects the n-shot subset of --train-data: give --train-data too (a run "
                                 f"folder is checked against its own shots without them). Received: {flag} {value}")
        return training_shots(args.generator) if args.train_data is None else None
    return TrainingShots(args.train_data, args.shots, 0 if args.shots_seed is None else args.shots_seed)


def _train_images(shots):
    """The images of `shots` (None: None); the run's own are announced on stderr, with where they came from."""
    if shots is None:
        return None
    try:
        images = shots.load()
    except ValueError as error:
        if shots.options_file is None:
            raise
        raise UsageError(f"{error}; give --train-data SPEC, or --train-data none to skip the near-copy check") \
            from None
    if shots.options_file is not None:
        print(f"kgantl evaluate: near-copy check against the run's own {shots.describe()} ({len(images)} images, "
              f"from {shots.options_file})", file=sys.stderr)
    return images


def _evaluate(args):
    from kgantl.io import write_json

    _model_paths([args.generator], "GENERATOR", "a .keras file, a run directory, a SavedModel or an .npy/.npz file")
    shots = _training_shots(args)
    out_dir = _evaluation_dir(args.generator, args.runs_root)
    if args.dry_run:
        print(json.dumps({**{k: v for k, v in vars(args).items() if k != "dry_run"}, "run_dir": str(out_dir),
                          "train_shots": None if shots is None else shots.to_dict()}, indent=2))
        return
    from kgantl.metrics import evaluate, get_extractor

    if args.layer and args.extractor == "auto":
        raise UsageError(f"--layer names the feature layer of an --extractor model file: give --extractor FILE too. "
                         f"Received: --layer {args.layer} without --extractor")
    extractor = args.extractor if args.extractor == "auto" else get_extractor(args.extractor, layer=args.layer)
    train_images = _train_images(shots)
    generator = args.generator
    if Path(generator).suffix not in (".npy", ".npz"):  # image files are scored as they are
        from kgantl.runs.artifacts import open_generator

        generator = open_generator(generator)
    report = evaluate(generator, ref=args.ref, split=args.split, n=args.n, extractor=extractor,
                      seed=args.seed, train_images=train_images)
    report["generator"] = str(args.generator)
    report["train_shots"] = None if shots is None else shots.to_dict()  # what near_copy_share was measured against
    out_dir.mkdir(parents=True, exist_ok=True)
    reference = re.sub(r"[^A-Za-z0-9]+", "_", Path(args.ref).name if Path(args.ref).exists() else args.ref)
    write_json(out_dir / f"evaluation_{reference}_{report['protocol']}_seed{args.seed}.json", report)
    print(json.dumps(report, indent=2, sort_keys=True))
