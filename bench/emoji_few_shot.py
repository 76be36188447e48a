"""Colour few-shot GAN transfer benchmark (issue 35, item 3): emoji in two art styles, from the colour source.

Cells (`emoji_few_shot_cells.cells`): cross-style (Twemoji outside "Animals & Nature") at 10 shots, seeds 0-2, and
100 shots, seed 0; cross-subject (Noto "Animals & Nature") at 10 shots, seeds 0-2. Methods: `scratch` (DiffAugment
color,translation,cutout, batch 32, EMA), `plain finetune` (the source's G and D, no augmentation, EMA, selection or
copy check), `default` (`kgantl transfer` with no recipe flags: its own few-shot recipe and, at <= 30 images, the
copy check's chosen checkpoint), `vision_d` (`--strategy vision_d`, the colour backbone by default), and up to two
probe-chosen methods (`PROBE_CHOSEN`); these last two also pass no recipe flag but `--strategy NAME`, so they too
run the copy check at 10 shots. Each run trains `--steps` generator steps (default 2000) and its sampler is
scored every 250 steps against the cell's test images (all, or 1000 drawn with `default_rng(0)`) in the `noto`
extractor's features: KID, FID, precision, recall, near-copy share (and KID/recall in a random CNN's features);
a run with the copy check also KID every 100 steps, and its record is the chosen checkpoint's score. At 100 shots
these runs hold a fifth of the shots out for `val_kid` and keep `best.keras` by it, but `model.keras`, which
`kgantl.open_generator(run_dir)`, `kgantl export` and the run's SavedModel give a user, is the last step's: that is
what their record scores, beside the step `val_kid` kept (`val_best_step`). Each cell also gets a `copy the shots`
record and a `source as is` one (the source GAN not adapted at all, scored the same way). Records (the
Fashion-MNIST grid's fields, `target` and `data` for `class`, the CPU's model and bf16 flags in `cpu`, wall and
CPU seconds, and a transfer run's `source_sha256`, the first 16 hex digits of its source's `model.keras` sha256)
are appended to `bench/results/emoji_few_shot.jsonl` as each run ends; a (cell, method) with a record (from the
same source) is skipped, so the grid resumes in parts (`--only-*`, `--methods`), and `--report` shows the given
source's records and writes what they set for colour runs (`bench/measured.py`, `derive_colour`) into
kgantl/measured.json's `colour` entry, once they set anything (`write_colour_defaults`).

Usage:
    python bench/emoji_few_shot.py [--only-target cross-style] [--only-shots 10] [--only-seed 0] \\
        [--methods default scratch] [--source saved_models/source-emoji-noto-64] [--steps 2000]
    python bench/emoji_few_shot.py --report   # rewrite the `emoji-few-shot` section of docs/benchmark-log.md,
                                              # and what it sets for colour runs in kgantl/measured.json

Sizing (an estimate, not a measurement): 7 cells x 4 methods x 2000 steps = 56,000 generator steps; at roughly
9,000 steps per CPU-hour for the 64x64 width-32 design that is about 6 CPU-hours of training, plus scoring (8
full points per run, roughly 20% more), so one working day of a 2-core machine. Run it in parts,
e.g. one `--only-target`/`--only-shots` at a time; two probe-chosen methods add about half again.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import emoji_few_shot_cells as grid  # noqa: E402
import few_shot_runner as runner  # noqa: E402
from emoji_few_shot_cells import recipe, recipe_options  # noqa: E402
from few_shot_cells import STEPS, _metrics  # noqa: E402
import measured  # noqa: E402
from few_shot_report import _table, at_current_rule, write_measured, written_measured  # noqa: E402
from emoji_few_shot_pictures import cell_picture, plot_curves, run_name  # noqa: E402
from emoji_few_shot_verdict import verdict_table  # noqa: E402
from sections import DOCS, cpu_line, header, write_section  # noqa: E402


def score(generator, shots_path, test_path, kid_only=False):
    """The protocol's scores against the cell's test images (`noto` features); with `kid_only`, KID, recall and
    near-copy share alone (the points between the full ones), else also KID/recall in a random CNN's features."""
    from kgantl.metrics import evaluate

    generator = runner._opened(generator)
    with np.load(shots_path) as shots:
        train_images = shots["images"].astype(np.float32)
    report = evaluate(generator, ref=str(test_path), split="test", n=1000, seed=0, extractor="noto",
                      train_images=train_images)
    if kid_only:
        return {**{m: report[m] for m in ("kid", "kid_std", "recall")}, "near_copy": report["near_copy_share"]}
    independent = evaluate(generator, ref=str(test_path), split="test", n=1000, seed=0, use_cache=False,
                           extractor=runner._random_cnn_extractor(train_images.shape[1:]))
    return {**{m: report[m] for m in ("kid", "kid_std", "fid", "precision", "recall")},
            "near_copy": report["near_copy_share"], "real_near_copy": report["memorisation"]["real_near_copy_share"],
            "protocol": report["protocol"], "kid_random_cnn": independent["kid"],
            "recall_random_cnn": independent["recall"]}


def _base(cell, method, extra):
    target, shots, seed = cell
    return {"target": target, "data": grid.spec(target), "shots": shots, "seed": seed, "method": method, **extra,
            "cpu": cpu_line(), "date": time.strftime("%Y-%m-%d")}


def run_method(cell, method, source, steps, workdir, cache=None, shared_machine=False, keep="models"):
    """Train `method` on `cell` for `steps` steps from `source`, scored along; returns its record. The scored model
    is kept as `cache`/`keep`/`run_name`.keras (the pictures draw the grid's from `models`)."""
    shots_path, test_path = grid.cell_files(*cell, cache=cache)
    target, shots, seed = cell
    options = dict(data=str(shots_path), seed=seed, run_dir=str(workdir / run_name(cell, method)),
                   **recipe_options(method, str(source)))
    curve, final, chosen = runner.train_scored(
        options, method, shots, lambda model: score(model, shots_path, test_path),
        lambda model: score(model, shots_path, test_path, kid_only=True), steps=steps,
        keep=(grid.CACHE if cache is None else Path(cache)) / keep, selects=grid.selects(method))
    made_by = {"source_sha256": grid.source_sha256(str(source))} if grid.uses_source(method) else {}
    base = _base(cell, method, {"batch": chosen.pop("batch"), "recipe": recipe(method), **made_by, **chosen,
                                **({"shared_machine": True} if shared_machine else {})})
    return runner._records(base, curve, final, steps=steps, read_off=None)[0]


def copy_the_shots(cell, cache=None):
    """1000 draws (with repetition) from the shots themselves, scored like a generator."""
    shots_path, test_path = grid.cell_files(*cell, cache=cache)
    with np.load(shots_path) as shots:
        images = shots["images"]
    draws = images[np.random.default_rng(cell[2]).integers(0, len(images), 1000)]
    return _base(cell, "copy the shots", {"steps": 0, "batch": 0, "recipe": "copy", "wall_s": 0.0,
                                          **_metrics(score(draws, shots_path, test_path))})


def the_source_as_is(cell, source, cache=None):
    """The source GAN not adapted at all, scored like a run (`grid.SOURCE_AS_IS`)."""
    shots_path, test_path = grid.cell_files(*cell, cache=cache)
    return _base(cell, grid.SOURCE_AS_IS, {"steps": 0, "batch": 0, "recipe": recipe(grid.SOURCE_AS_IS),
                                           "source_sha256": grid.source_sha256(str(source)), "wall_s": 0.0,
                                           **_metrics(score(str(source), shots_path, test_path))})


def _append(record, results):
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps({key: v for key, v in record.items() if key not in ("curve", "selection")}), flush=True)


def run_grid(args, results=None, cache=None):
    """Run the selected cells' `copy the shots` and `source as is` records and each selected method without a
    record yet; with `--probe`, the probe's candidates instead (and no `source as is`), into the probe's own
    results file."""
    results = (grid.PROBE_RESULTS if args.probe else grid.RESULTS) if results is None else results
    done, sha256 = grid._done(results), _source_sha256(args.source)
    wanted = (args.only_target, args.only_shots, args.only_seed)
    selected = lambda cell: all(w is None or v in w for v, w in zip(cell, wanted))  # noqa: E731
    workdir = Path(tempfile.mkdtemp(prefix="kgantl-emoji-few-shot-"))
    try:
        for cell in filter(selected, grid.cells()):
            if (*cell, "copy the shots", 0, "copy", None) not in done:
                _append(copy_the_shots(cell, cache), results)
            if not args.probe and (*cell, grid.SOURCE_AS_IS, 0, recipe(grid.SOURCE_AS_IS), sha256) not in done:
                _append(the_source_as_is(cell, args.source, cache), results)
        for cell, method in grid.todo(done, args.steps, args.probe or args.methods, sha256, selected, args.force):
            # a probe keeps its models apart: the same cell and method names would overwrite the grid's pictures' models
            _append(run_method(cell, method, args.source, args.steps, workdir, cache, args.shared_machine,
                               keep="probe-models" if args.probe else "models"), results)
            # ~130 MB a run: gone once its record is written (its scored model is kept apart)
            shutil.rmtree(workdir / run_name(cell, method), ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _source_sha256(source):
    """`grid.source_sha256` of `source`, or one line saying it is missing."""
    if not Path(source).exists():
        raise SystemExit(f"The colour source GAN is missing: train it first (make source-emoji) or pass --source. "
                         f"Received: --source {source}")
    return grid.source_sha256(str(source))


def report(results=None, steps=STEPS, docs=DOCS, cache=None, source=None):
    """The `emoji-few-shot` section: a table per (target, shots) at `steps` of the records `source` made (and those
    of scratch), each at today's checkpoint rule, then the pictures (`pictures`, written into `docs`, from the
    models kept under `cache`)."""
    records = shown_records(results, steps, source)
    parts = header("python bench/emoji_few_shot.py", " (then `--report`)",
                   date_note="; raw records: `bench/results/emoji_few_shot.jsonl`")
    parts.append(f"Scores against each cell's test images in the `noto` extractor's features; {steps} steps; "
                 "every method but scratch and plain finetune at the copy check's chosen checkpoint at 10 shots; "
                 "train s on the CPU each record names.")
    for target, shots in dict.fromkeys((t, n) for t, n, _ in grid.cells()):
        cell = [r for r in records if (r["target"], r["shots"]) == (target, shots)]
        if any(r["method"] != "copy the shots" for r in cell):
            seeds = ", ".join(map(str, sorted({r["seed"] for r in cell})))
            parts += ["", _table(cell, f"{target} ({grid.spec(target)}), {shots} shots, seeds {seeds}",
                                 [grid.SOURCE_AS_IS, *grid.METHODS])]
    colour = measured.derive_colour(records) or {}
    parts += ["", "Issue 35's targets (`default`, and the colour recipe and default once the grid sets them, against "
              "the baselines; `bench/emoji_few_shot_verdict.py`):", "",
              verdict_table(records, grid.cells(), colour.get("few_shots"), colour.get("default"))]
    return "\n".join(parts + pictures(records, docs, cache, grid.SOURCE if source is None else source))


def shown_records(results=None, steps=STEPS, source=None):
    """The records the report shows: at `steps` (and the `copy the shots` ones), those `source` made and those of
    scratch, each method's own recipe, a checkpoint-choosing run at today's rule."""
    sha256 = _source_sha256(grid.SOURCE if source is None else source)
    return [at_current_rule(r)[0] if grid.selects(r["method"]) else r
            for r in grid.of_source(grid._done(results).values(), sha256)
            if r["steps"] in (steps, 0) and r["recipe"] == recipe(r["method"])]


def write_colour_defaults(records, path=None, page=None):
    """Write what `records` set for colour runs (`measured.derive_colour`) into kgantl/measured.json's (or `path`'s)
    `colour` entry, the rest of the file kept as it is, and re-render "What the benchmarks set" in `page`; nothing
    while the records set nothing (a colour run then keeps the Fashion-MNIST values, or the colour values an earlier
    report wrote). Returns the entry ({}: none written)."""
    colour = measured.derive_colour(records)
    if colour:
        write_measured({**written_measured(path), "colour": colour}, path, page)
    return colour


def pictures(records, docs, cache=None, source=None):
    """Write the KID-against-steps plot and, for seed 0 of each (target, shots), the shots beside the `source`'s
    (not adapted; None: left out) and every method's samples (from the models kept under `cache`/models) into
    `docs`; returns the Markdown lines that show them."""
    cache = grid.CACHE if cache is None else Path(cache)
    lines = []
    if plot_curves(records, grid.METHODS, docs / "emoji_few_shot_curves.png"):
        lines += ["", "![KID against generator steps, one panel per cell](emoji_few_shot_curves.png)"]
    for target, shots in dict.fromkeys((t, n) for t, n, _ in grid.cells()):
        name = f"emoji_few_shot_{target}_{shots}.png"
        drawn = cell_picture((target, shots, 0), grid.METHODS, docs / name, models=cache / "models", cache=cache,
                             source=source)
        if drawn:
            lines += ["", f"![{target}, {shots} shots, seed 0: the shots, then {', '.join(drawn)} (16 samples each, "
                          f"2x)]({name})"]
    return lines


def probe_report(results=None, steps=STEPS, source=None):
    """The `emoji-few-shot-probe` section: the probe's records `source` made, a table per cell (no pictures, no
    verdict)."""
    results = grid.PROBE_RESULTS if results is None else results
    sha256 = _source_sha256(grid.SOURCE if source is None else source)
    records = [r for r in grid.of_source(grid._done(results).values(), sha256) if r["steps"] in (steps, 0)]
    methods = list(dict.fromkeys(r["method"] for r in records if r["method"] != "copy the shots"))
    parts = header(f"python bench/emoji_few_shot.py --probe {' '.join(methods)} --steps {steps} ...",
                   " (then `--report --probe`)", date_note="; raw records: `bench/results/emoji_few_shot_probe.jsonl`")
    parts.append(f"Which strategies join the colour grid (`PROBE_CHOSEN`): each candidate at {steps} steps with the "
                 "`kgantl transfer --strategy NAME` defaults (no other recipe flag: kgantl's few-shot recipe, the "
                 "copy check at <= 30 shots), scored like the grid.")
    for cell in dict.fromkeys((r["target"], r["shots"], r["seed"]) for r in records):
        rows = [r for r in records if (r["target"], r["shots"], r["seed"]) == cell]
        parts += ["", _table(rows, f"{cell[0]}, {cell[1]} shots, seed {cell[2]}", methods)]
    return "\n".join(parts)


def _steps(text):
    """`--steps` as an int, refused unless a positive multiple of CURVE_EVERY: a run trains whole epochs of at most
    that many steps, so another budget would be cut short while its records still named the budget given."""
    steps = int(text)
    if steps <= 0 or steps % runner.CURVE_EVERY:
        raise argparse.ArgumentTypeError(f"must be a positive multiple of {runner.CURVE_EVERY} (runs train and are "
                                         f"scored in blocks of {runner.CURVE_EVERY} steps). Received: --steps {text}")
    return steps


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only-target", nargs="+", choices=list(grid.TARGETS), help="run only these targets")
    parser.add_argument("--only-shots", type=int, nargs="+", help="run only cells with these shot counts")
    parser.add_argument("--only-seed", type=int, nargs="+", help="run only cells with these seeds")
    parser.add_argument("--methods", nargs="+", choices=grid.METHODS, default=grid.METHODS, help="default: all")
    parser.add_argument("--probe", nargs="*", metavar="STRATEGY",
                        help="run these candidates instead (any --strategy text, and `default` to compare), into "
                             "bench/results/emoji_few_shot_probe.jsonl; with --report, its table")
    parser.add_argument("--source", default=str(grid.SOURCE), help="the colour source GAN (default: %(default)s)")
    parser.add_argument("--steps", type=_steps, default=STEPS,
                        help=f"generator steps per run, a multiple of {runner.CURVE_EVERY} (default: %(default)s)")
    parser.add_argument("--report", action="store_true", help="only rewrite the section in docs/benchmark-log.md")
    parser.add_argument("--force", action="store_true", help="re-run the selected methods even where recorded")
    parser.add_argument("--shared-machine", action="store_true",
                        help="mark the records: other work ran on this CPU, so wall times are upper bounds")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.probe == [] and not args.report:
        parser.error("--probe needs the strategies to try (e.g. --probe default maskd adapters)")
    if args.report and args.probe is not None:
        text = probe_report(steps=args.steps, source=args.source)
        write_section("emoji-few-shot-probe", text, "Colour few-shot probe: which strategies join the grid")
        print(text)
        return
    if args.report:
        text = report(steps=args.steps, source=args.source)
        write_section("emoji-few-shot", text, "Colour few-shot GAN transfer: emoji")
        print(text)
        write_colour_defaults(shown_records(steps=args.steps, source=args.source))
        return
    run_grid(args)


if __name__ == "__main__":
    sys.exit(main())
