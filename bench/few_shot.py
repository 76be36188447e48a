"""Few-shot GAN transfer benchmark (BENCHMARKS.md protocol): strategies against training from scratch.

Grid: every target class 5-9 at 100 shots (seed 0), and class 7 at 10, 100 and 1000 shots with seeds
0, 1, 2. Each cell trains from scratch and with each transfer strategy for the same number of generator
steps, then scores 1000 generated images against the 1000 test images of the class (`fmnist_1k_test`:
KID, FID, precision, recall), beside a "copy the shots" row (1000 draws from the shots themselves).

Results are appended to `bench/results/few_shot.jsonl` as each run ends, so an interrupted grid resumes
where it stopped (finished cells are skipped; `--backfill` re-runs the records made before the near-copy
share was added, and the newest record of a run wins). `--report` rewrites the tables in docs/benchmarks.md.

Usage:
    python bench/few_shot.py [--steps 500] [--only-class 7 --only-shots 100 --only-seed 0] [--backfill]
    python bench/few_shot.py --steps 2000 --only-class 5 8 9 --only-shots 100 --only-seed 0 \\
        --methods scratch finetune freeze_d:1 reptile        # a longer budget on chosen cells
    python bench/few_shot.py --report [--steps 2000]
"""
import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from kgantl.io import atomic_path  # noqa: E402
from sections import header, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "few_shot.jsonl"
SOURCE = str(ROOT / "saved_models" / "source-fmnist-0-4")
# "plain finetune" is the hand-written baseline of BENCHMARKS.md: the source G and D with fresh Adam, nothing
# frozen, no augmentation, no EMA, batch 64, the generator after the last step scored. (kgantl's pipeline
# reshuffles the shots each pass instead of drawing with replacement.)
METHODS = ["scratch", "plain finetune", "finetune", "freeze_d:1", "alternate", "feature_d", "reptile",
           "finetune+cdc", "freeze_d:1+cdc", "finetune+ewc", "freeze_d:1+vision_d", "auto"]
PLAIN_BATCH = 64
DEFAULT_STEPS = 500
PLOT = ROOT / "docs" / "few_shot_kid_vs_shots.png"


def grid():
    cells = [(k, 100, 0) for k in (5, 6, 7, 8, 9)]
    cells += [(7, n, s) for n in (10, 100, 1000) for s in (0, 1, 2) if (n, s) != (100, 0)]
    return cells


def _done():
    if not RESULTS.exists():
        return {}
    records = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    return {(r["class"], r["shots"], r["seed"], r["method"], r["steps"]): r for r in records}


def _needs_run(record, backfill, force=False):
    """A run is due when it has no record, with `backfill` when its record predates `near_copy`, or forced."""
    return force or record is None or (backfill and "near_copy" not in record)


def _append(record):
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(record) + "\n")


def run_method(k, shots, seed, method, steps, batch, workdir):
    """Train one method on one cell and score it; returns the record."""
    from kgantl.config import TrainOptions
    from kgantl.metrics import evaluate
    from kgantl.training import train

    epochs = 5
    plain = method == "plain finetune"
    batch = PLAIN_BATCH if plain else batch
    options = dict(data=f"fashion_mnist:{k}", shots=shots, seed=seed, batch_size=batch, epochs=epochs,
                   steps_per_epoch=steps // epochs, diffaugment="" if plain else "color,translation,cutout",
                   ema_decay=0.0 if plain else 0.999,
                   run_dir=str(workdir / f"{k}-{shots}-{seed}-{method.replace(':', '_').replace(' ', '_')}"),
                   sample_every=epochs)
    if method != "scratch":
        options.update(source=SOURCE, strategy="finetune" if plain else method, phase_epochs=1)
    if method == "reptile":
        options.update(reptile_data="fashion_mnist:0-4", reptile_iterations=50, reptile_inner_steps=5)
    start = time.perf_counter()
    _, run_dir = train(TrainOptions(**options), verbose=0)
    wall = time.perf_counter() - start
    report = evaluate(str(run_dir / "model.keras"), ref=f"fashion_mnist:{k}", split="test", n=1000, seed=0,
                      train_images=_shots(k, shots, seed))
    return _record(k, shots, seed, method, steps, batch, wall, report)


def _shots(k, shots, seed):
    from kgantl.data import load_arrays

    return load_arrays(f"fashion_mnist:{k}", shots=shots, seed=seed).images


def _record(k, shots, seed, method, steps, batch, wall, report):
    return {"class": k, "shots": shots, "seed": seed, "method": method, "steps": steps, "batch": batch,
            "wall_s": round(wall, 1), **{m: report[m] for m in ("kid", "kid_std", "fid", "precision", "recall")},
            "near_copy": report["near_copy_share"], "real_near_copy": report["memorisation"]["real_near_copy_share"],
            "protocol": report["protocol"]}


def copy_the_shots(k, shots, seed):
    """1000 draws (with repetition) from the shots themselves, scored like a generator."""
    from kgantl.metrics import evaluate

    images = _shots(k, shots, seed)
    draws = images[np.random.default_rng(seed).integers(0, len(images), 1000)].astype(np.uint8)
    report = evaluate(draws, ref=f"fashion_mnist:{k}", split="test", n=1000, seed=0, train_images=images)
    return _record(k, shots, seed, "copy the shots", 0, 0, 0.0, report)


def _table(records, title):
    lines = [f"**{title}**", "", "| method | KID | FID | precision | recall | near-copy | wall s | runs |",
             "|---|---|---|---|---|---|---|---|"]
    for method in ["copy the shots", *METHODS]:
        rows = [r for r in records if r["method"] == method]
        if not rows:
            continue

        def cell(key, digits):
            values = [r[key] for r in rows if r.get(key) is not None]
            if not values:
                return "n/a"
            mean = statistics.mean(values)
            spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
            partial = f" (of {len(values)})" if len(values) < len(rows) else ""  # e.g. records made before near-copy
            return f"{mean:.{digits}f}{spread}{partial}"

        lines.append(f"| {method} | {cell('kid', 4)} | {cell('fid', 2)} | {cell('precision', 3)} | "
                     f"{cell('recall', 3)} | {cell('near_copy', 3)} | {cell('wall_s', 0)} | {len(rows)} |")
    return "\n".join(lines)


def plot(records, steps, path=PLOT):
    """KID against shots for class 7, one line per method (mean over seeds, bars: min to max)."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("The plot needs matplotlib: pip install -e '.[bench]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for method in ["copy the shots", *METHODS]:
        points = []
        for shots in (10, 100, 1000):
            kids = [r["kid"] for r in records if (r["class"], r["shots"], r["method"]) == (7, shots, method)]
            if kids:
                points.append((shots, statistics.mean(kids), min(kids), max(kids)))
        if not points:
            continue
        x, mean, low, high = map(np.array, zip(*points))
        ax.errorbar(x, mean, yerr=[mean - low, high - mean], marker="o", capsize=3, label=method,
                    linestyle="--" if method == "copy the shots" else "-")
    ax.set_yscale("symlog", linthresh=0.01)  # unbiased KID can be slightly negative (copying 1000 shots)
    ax.set(xscale="log", xlabel="shots",
           ylabel="KID (fmnist_1k_test, lower is better)",
           title=f"Few-shot transfer to sneakers (class 7), {steps} generator steps")
    ax.set_xticks([10, 100, 1000], ["10", "100", "1000"])
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def report(steps):
    """Rewrite the tables (and at the default step count, the plot) in docs/benchmarks.md."""
    records = [r for r in _done().values() if r["steps"] in (steps, 0)]
    finished = {(r["class"], r["shots"], r["seed"]) for r in records if r["method"] in METHODS}
    records = [r for r in records if (r["class"], r["shots"], r["seed"]) in finished]
    parts = header(f"python bench/few_shot.py --steps {steps}", f" (then `--report --steps {steps}`)",
                   date_note="; raw records: `bench/results/few_shot.jsonl`")
    parts.append(f"Cells with results: {len(finished)} of {len(grid())}.")
    parts.append("`plain finetune` is BENCHMARKS.md's hand-written baseline (source G and D, fresh Adam, nothing "
                 "frozen, no augmentation, no EMA, batch 64). Its rows were measured on 2026-11-22 with KID subsets "
                 "of half the smaller set when a subset would hold a whole set (kgantl's rule since then); the other "
                 "rows used whole-set subsets. Both estimate the same unbiased KID, so the means compare.")
    # Per class: 100 shots, seed 0. Then class 7 at each shot count, mean ± std over its seeds.
    for k in sorted({k for k, _, _ in grid()}):
        cell = [r for r in records if (r["class"], r["shots"], r["seed"]) == (k, 100, 0)]
        if cell:
            parts += ["", _table(cell, f"class {k}, 100 shots, seed 0")]
    for shots in sorted({n for k, n, _ in grid() if k == 7}):
        cell = [r for r in records if (r["class"], r["shots"]) == (7, shots)]
        seeds = sorted({r["seed"] for r in cell})
        if cell:
            parts += ["", _table(cell, f"class 7, {shots} shots, seeds {', '.join(map(str, seeds))} (mean ± std)")]
    if steps == DEFAULT_STEPS:
        plot(records, steps)
        parts += ["", f"![KID against shots, class 7]({PLOT.name})"]
        write_section("few-shot", "\n".join(parts), "Few-shot GAN transfer (issue 4)")
    else:  # a longer (or shorter) budget gets its own section beside the main grid
        write_section(f"few-shot-{steps}", "\n".join(parts), f"Few-shot GAN transfer at {steps} steps (issue 4)")
    return "\n".join(parts)


def _selected(cell, args):
    return all(wanted is None or value in wanted
               for value, wanted in zip(cell, (args.only_class, args.only_shots, args.only_seed)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"generator steps per run (default: {DEFAULT_STEPS})")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--only-class", type=int, nargs="+", help="run only cells of these classes")
    parser.add_argument("--only-shots", type=int, nargs="+", help="run only cells with these shot counts")
    parser.add_argument("--only-seed", type=int, nargs="+", help="run only cells with these seeds")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS, help="methods to run (default: all)")
    parser.add_argument("--report", action="store_true", help="only rewrite the tables in docs/benchmarks.md")
    parser.add_argument("--backfill", action="store_true",
                        help="also re-run finished runs recorded before the near-copy share was measured")
    parser.add_argument("--force", action="store_true",
                        help="re-run the selected methods even where they have records (the newest record wins)")
    args = parser.parse_args()
    if args.report:
        print(report(args.steps))
        return
    done = _done()
    workdir = Path(tempfile.mkdtemp(prefix="kgantl-few-shot-"))
    try:
        for k, shots, seed in grid():
            if not _selected((k, shots, seed), args):
                continue
            if _needs_run(done.get((k, shots, seed, "copy the shots", 0)), args.backfill):
                _append(copy_the_shots(k, shots, seed))
            for method in args.methods:
                if not _needs_run(done.get((k, shots, seed, method, args.steps)), args.backfill, args.force):
                    continue
                record = run_method(k, shots, seed, method, args.steps, args.batch, workdir)
                _append(record)
                print(json.dumps(record), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
