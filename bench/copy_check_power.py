"""How often the copy check flags a copying generator, and how often an honest one, at 3, 5, 10 and 30 shots.

The copy check sees only the shots (`kgantl.metrics.copying.copy_scores` on 256 samples, as `CopyMonitor` draws
them). Here its inputs are made where the truth is known, in the `fmnist` feature space:
- honest: 256 new real images of the class (test split), a generator that learned the class and copies nothing;
- copying: 256 draws of the shots with pixel noise (std 0.05 on [-1, 1]), what a GAN pushed to copy produces;
- half: 128 of each, a generator that has started to copy;
- averages: 256 means of three shots each (with the same noise), a blurry generator that copies no shot: a test
  of the honest side that is harder than new real images, since averages sit closer to the shots than new images.
Each cell (class 5-9 of Fashion-MNIST, seeds 0-9 of the n-shot rule) gives one score per kind; a rule's detection
rate is the share of copying (or half) cells it flags, its false-alarm rate the share of honest cells.

Usage:
    python bench/copy_check_power.py [--classes 5 6 7 8 9] [--seeds 10] [--out bench/results/copy_check_power.jsonl]
    python bench/copy_check_power.py --table   # the detection table of docs/metrics.md, from the records
"""
import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SAMPLES, NOISE = 256, 0.05
SHOT_COUNTS = (3, 5, 10, 30)


def _kinds(shots, test, rng):
    """The three generators' samples, images in [-1, 1]."""
    copies = shots[rng.integers(0, len(shots), SAMPLES)] + rng.normal(0, NOISE, (SAMPLES, *shots.shape[1:]))
    honest = test[rng.choice(len(test), SAMPLES, replace=False)]
    half = np.concatenate([copies[:SAMPLES // 2], honest[:SAMPLES // 2]])
    triples = rng.integers(0, len(shots), (SAMPLES, 3))
    averages = shots[triples].mean(axis=1) + rng.normal(0, NOISE, (SAMPLES, *shots.shape[1:]))
    return {"honest": honest, "averages": np.clip(averages, -1, 1), "copying": np.clip(copies, -1, 1),
            "half": np.clip(half, -1, 1)}


def measure(classes, seeds):
    """One record per (class, shots, seed, kind) with the copy check's scores."""
    from kgantl.data import load_arrays
    from kgantl.metrics.copying import copy_scores
    from kgantl.metrics.extractors import get_extractor

    extractor = get_extractor("fmnist")
    for k in classes:
        test = load_arrays(f"fashion_mnist:{k}", split="test").images / 127.5 - 1.0
        for n in SHOT_COUNTS:
            for seed in range(seeds):
                shots = load_arrays(f"fashion_mnist:{k}", shots=n, seed=seed).images / 127.5 - 1.0
                shot_features = extractor.features(shots)
                rng = np.random.default_rng(1000 * k + seed)
                for kind, samples in _kinds(shots, test, rng).items():
                    scores = copy_scores(extractor.features(samples.astype("float32")), shot_features)
                    yield {"class": k, "shots": n, "seed": seed, "kind": kind,
                           **{key: round(float(value), 5) for key, value in scores.items()}}


RULES = {
    "`copy_z >= -2` alone (the rule until 2026-12-06)": lambda r: r["copy_z"] < -2,
    "`copy_z >= -2` and `copy_ratio >= 0.5` (the rule since)": lambda r: r["copy_z"] < -2 or r["copy_ratio"] < 0.5,
}
KINDS = ("copying", "half", "honest", "averages")


def table(path):
    """Markdown: per rule and shot count, the cells of each kind the rule flags."""
    import collections

    records = [json.loads(line) for line in open(path) if line.strip()]
    cells = collections.defaultdict(list)
    for record in records:
        cells[(record["shots"], record["kind"])].append(record)
    lines = ["| rule | shots | copies flagged | half copies flagged | new real images flagged "
             "| averages of 3 flagged |", "|---|---|---|---|---|---|"]
    for name, flags in RULES.items():
        for n in SHOT_COUNTS:
            counts = [f"{sum(map(flags, cells[(n, kind)]))} of {len(cells[(n, kind)])}" for kind in KINDS]
            lines.append(f"| {name} | {n} | " + " | ".join(counts) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[5, 6, 7, 8, 9])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", default="bench/results/copy_check_power.jsonl")
    parser.add_argument("--table", action="store_true", help="print the detection table of the records in --out")
    args = parser.parse_args()
    if args.table:
        print(table(args.out))
        return
    with open(args.out, "w") as out:
        for record in measure(args.classes, args.seeds):
            out.write(json.dumps(record) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
