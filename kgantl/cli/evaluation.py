"""`kgantl evaluate`: scores a generator, or images, against real images and keeps the report in a run
directory.
"""
import json
import re
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
    evaluate.add_argument("--train-data", default=None, metavar="SPEC", help="the generator's training data spec: "
                          "adds the memorisation check (near-copy share of the training images; default: none)")
    evaluate.add_argument("--shots", type=int, default=None, help="n-shot subset of --train-data (default: all)")
    evaluate.add_argument("--shots-seed", type=int, default=0, help="seed of the n-shot subset (default: 0)")
    evaluate.add_argument("--runs-root", default="runs", help="where a new run directory is made when GENERATOR "
                                                              "is not one (default: runs)")
    evaluate.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")


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

    if args.layer and args.extractor == "auto":
        raise UsageError(f"--layer names the feature layer of an --extractor model file: give --extractor FILE too. "
                         f"Received: --layer {args.layer} without --extractor")
    extractor = args.extractor if args.extractor == "auto" else get_extractor(args.extractor, layer=args.layer)
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
