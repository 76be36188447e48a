"""`kgantl generate`, `compare`, `export` and `models list`: what trained models make, and where the shipped
models are.
"""
import json
from pathlib import Path

from kgantl.cli.common import UsageError, _command, _model_paths

# The rule of kgantl.images.default_scale, in words.
SCALE_RULE = ("(default: the smallest factor that makes {what} at least 84 px on the shorter side: 3 for 28-px "
              "images, 11 for 8 px, 2 for 64 px, 1 from 84 px up; 1: the images' own size)")


def _add_scale_flag(parser, enlarged, what):
    """`--scale FACTOR`: how many times a PNG picture is enlarged, nearest neighbour."""
    parser.add_argument("--scale", type=int, default=None, metavar="FACTOR",
                        help=f"enlarge {enlarged} FACTOR times, nearest neighbour (each pixel a FACTOR x FACTOR "
                             "block) " + SCALE_RULE.format(what=what))


def _add_sample_commands(commands):
    """`generate`, `export` and `compare`."""
    generate = _command(commands, "generate", "sample images from a .keras model, run directory or SavedModel")
    generate.add_argument("model", help="a .keras file, a run directory or an exported SavedModel folder")
    generate.add_argument("--n", type=int, default=64, help="number of images (default: 64)")
    generate.add_argument("--out", required=True, help="output .png (grid, enlarged by --scale), .npy or .npz (the "
                                                       "images as generated, in [-1, 1])")
    generate.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    generate.add_argument("--labels", default=None, help="class labels for a conditional model, e.g. 7 or 5-9 "
                                                         "(default: none; a conditional model needs them)")
    _add_scale_flag(generate, "the .png grid (borders too)", "each image")
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
    _add_scale_flag(compare, "each panel (borders too; titles stay their size)", "the panel's images")
    compare.add_argument("--dry-run", action="store_true", help="check the models and the shots, print the "
                                                                "resolved arguments and exit")


def _add_models_command(commands):
    """`models list`."""
    models = _command(commands, "models", "the shipped models kgantl finds by name, and where")
    models.add_argument("action", choices=("list",), help="list: each shipped model, the folder it was found in "
                                                          "and its size")


def _parse_labels(text, count):
    import numpy as np

    if text is None:
        return None
    from kgantl.data.sources import parse_classes

    classes = parse_classes(text, 10**6, f"labels:{text}")
    return np.resize(np.asarray(classes, dtype=np.int32), count)


def _check_scale(scale):
    """--scale, when given, is a whole number of at least 1 (argparse has already refused non-integers)."""
    if scale is not None and scale < 1:
        raise UsageError(f"--scale must be a positive integer (1: the images' own size). Received: --scale {scale}")


def _panel_scale(scale, image_shape):
    """--scale as given, or the default for images of `image_shape` (H, W, ...)."""
    from kgantl.images import default_scale

    return scale or default_scale(min(int(side) for side in image_shape[:2]))


def _grid_picture(images, scale):
    """The images tiled by `make_grid`, then the whole grid enlarged, so the borders keep their share of it."""
    from kgantl.images import make_grid, upscale

    return upscale(make_grid(images), _panel_scale(scale, images.shape[1:]))


def _write_images(out, images, labels, scale):
    import numpy as np

    from kgantl.images import save_png
    from kgantl.io import atomic_path, write_npz

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".png":
        save_png(out, _grid_picture(images, scale))
        return
    if out.suffix == ".npz":
        write_npz(out, images=images, **({} if labels is None else {"labels": labels}))
        return
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, images)


def _generate(args):
    import numpy as np

    out = Path(args.out)
    if out.suffix not in (".png", ".npy", ".npz"):
        raise UsageError(f"--out must end in .png, .npy or .npz. Received: {args.out}")
    if args.n < 1:
        raise UsageError(f"--n must be a positive integer. Received: {args.n}")
    _check_scale(args.scale)
    if args.scale is not None and out.suffix != ".png":  # arrays stay as generated, for scoring and training
        raise UsageError(f"--scale enlarges .png pictures; .npy and .npz keep the images as generated. "
                         f"Received: --scale {args.scale} with --out {args.out}")
    labels = _parse_labels(args.labels, args.n)
    model_path, = _model_paths([args.model])
    from kgantl.runs.artifacts import open_generator

    sampler = open_generator(model_path)
    noise = np.random.default_rng(args.seed).standard_normal((args.n, sampler.latent_dim)).astype("float32")
    images = sampler.generate(noise, labels=labels)  # refuses labels the model was not trained on
    if args.dry_run:
        print(json.dumps({"model": str(model_path), "n": args.n, "out": str(out), "seed": args.seed,
                          "labels": None if labels is None else labels.tolist(),
                          "model_classes": sampler.class_ids,
                          "scale": _panel_scale(args.scale, images.shape[1:]) if out.suffix == ".png" else None},
                         indent=2))
        return
    _write_images(out, images, labels, args.scale)
    print(f"wrote {len(images)} images to {out}")


def _compare(args):
    import numpy as np

    out = Path(args.out)
    if out.suffix != ".png":
        raise UsageError(f"--out must end in .png. Received: {args.out}")
    if args.n < 1:
        raise UsageError(f"--n must be a positive integer. Received: {args.n}")
    _check_scale(args.scale)
    names = args.names or [Path(model).name for model in args.models]
    if len(names) != len(args.models):
        raise UsageError(f"--names needs one title per MODEL: {len(args.models)} models, {len(names)} names. "
                         f"Received: --names {' '.join(names)}")
    model_paths = _model_paths(args.models)
    if args.shots is not None and not args.shots_from:
        raise UsageError("--shots selects the n-shot subset of --shots-from: give --shots-from too")
    from kgantl.data import load_arrays
    from kgantl.images import labelled_panels, save_png
    from kgantl.runs.artifacts import open_generator

    shots = load_arrays(args.shots_from, shots=args.shots, seed=args.shots_seed).images[:args.n] \
        if args.shots_from else None
    samplers = [open_generator(model) for model in model_paths]  # every model opens before anything is drawn
    if args.dry_run:
        shapes = ([] if shots is None else [shots.shape[1:]]) + [sampler.image_shape for sampler in samplers]
        print(json.dumps({**{k: v for k, v in vars(args).items() if k not in ("dry_run", "command", "verbose")},
                          "models": [str(path) for path in model_paths], "names": names,
                          "panel_scales": [_panel_scale(args.scale, shape) for shape in shapes]}, indent=2))
        return
    panels, titles = [], []
    if shots is not None:
        panels.append(_grid_picture(shots / 127.5 - 1.0, args.scale))  # pixels 0-255; models make [-1, 1]
        titles.append(f"the shots ({args.shots_from})" if args.shots is None else f"{args.shots} shots")
    labels = _parse_labels(args.labels, args.n)
    for sampler, name in zip(samplers, names):
        noise = np.random.default_rng(args.seed).standard_normal((args.n, sampler.latent_dim)).astype("float32")
        panels.append(_grid_picture(np.asarray(sampler.generate(noise, labels=labels)), args.scale))
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
