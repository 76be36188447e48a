"""Few-shot GAN transfer benchmark (BENCHMARKS.md protocol, issue 10): kgantl's methods against the obvious recipes.

Grid: target classes 5-9 at 100 shots (seed 0) and classes 7 and 9 at 10 shots (seeds 0, 1, 2). In each cell
every method trains once for 2000 generator steps; every 250 steps the sampling generator is scored against
the 1000 test images of the class (`fmnist_1k_test`: KID, FID, precision, recall, near-copy share), so the
500-step figures are read off the same run's curve (recorded as their own `steps: 500` records, marked
`read_off`). Only the benchmark scores against the test split; the runs themselves never read it.

Recipes (what each method trains with; `recipe` in every record):
- `scratch`: no source; DiffAugment color,translation,cutout, batch 32, EMA 0.999 (a GAN trained from nothing
  on 100 images needs augmentation; this is the recipe the earlier grids used, so its records carry over).
- `plain finetune`: BENCHMARKS.md's hand-written baseline: source G and D, fresh Adam, nothing frozen, no
  augmentation, no EMA, batch 64.
- every kgantl method: `kgantl transfer`'s defaults: batch 64, no DiffAugment, EMA 0.999. `auto`'s pilots train
  on 80 of the 100 shots and are scored on the other 20; its final run trains on all 100 (no `eval_every`).

Results are appended to `bench/results/few_shot.jsonl` as each run ends, so an interrupted grid resumes where it
stopped (the newest record of a run wins). Records of the earlier grids (kgantl methods at batch 32 with
DiffAugment, before issue 10) stay in the file under recipe `diffaugment-b32` and are not reported here.

Usage:
    python bench/few_shot.py [--only-class 7 --only-shots 100 --only-seed 0] [--methods finetune cdc]
    python bench/few_shot.py --report      # rewrite the tables, the plot and kgantl/measured.json
    python bench/few_shot.py --bf16-parity # vision_d on 100 sandals, seeds 0-2, float32 and mixed_bfloat16
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

import keras  # noqa: E402
import numpy as np  # noqa: E402

import measured  # noqa: E402
from kgantl.io import atomic_path  # noqa: E402
from sections import cpu_line, header, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "few_shot.jsonl"
SOURCE = str(ROOT / "saved_models" / "source-fmnist-0-4")
BEST = "cdc+vision_d"  # the two additions that scored best alone on class 7 (100 shots, 500 steps), see docs
# `default`: `kgantl transfer` with no strategy, augmentation or selection flag (issue 24: at 10 shots the copy check
# chooses the checkpoint and stops the run; its record is the chosen checkpoint's score). Its first records (recipe
# kgantl-transfer-defaults-copy-check) used a copy test on nearest-shot distances, which stopped boots too early.
METHODS = ["scratch", "plain finetune", "finetune", "freeze_d:1", "cdc", "ewc", "vision_d", BEST, "auto", "default"]
# auto's records before 2026-12-01 (recipe transfer-defaults-b64) trained its final run on the 80 shots its pilots
# did not score on; since then the final run trains on all 100, as the fixed methods do.
RECIPES = {"copy the shots": "copy", "scratch": "scratch-diffaugment-b32", "plain finetune": "plain-b64",
           "auto": "transfer-defaults-b64-refit-all", "default": "kgantl-transfer-defaults-ratio-copy-check"}
TRANSFER_RECIPE = "transfer-defaults-b64"
STEPS, CURVE_EVERY, READ_OFF = 2000, 250, 500
PLOT = ROOT / "docs" / "few_shot_kid_vs_steps.png"
MEASURED = ROOT / "kgantl" / "measured.json"
BF16_SUFFIX = "-bf16"  # the recipe of a parity run in mixed_bfloat16 (its float32 twin is the grid's own recipe)


def grid():
    return [(k, 100, 0) for k in (7, 5, 8, 9, 6)] + [(k, 10, s) for k in (7, 9) for s in (0, 1, 2)]


# 10-shot cells outside the grid, run only with --held-out: a checkpoint-selection rule chosen by replaying the
# grid's records is checked on classes it was not chosen on. Never part of the grid's tables.
HELD_OUT = [(5, 10, 0), (8, 10, 0)]


def recipe(method):
    return RECIPES.get(method, TRANSFER_RECIPE)


def _recipe_of(record):
    """Records written before recipes were named: scratch and plain finetune kept theirs, the rest were b32."""
    return record.get("recipe") or RECIPES.get(record["method"], "diffaugment-b32")


def _done():
    if not RESULTS.exists():
        return {}
    records = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    return {(r["class"], r["shots"], r["seed"], r["method"], r["steps"], _recipe_of(r)): r for r in records}


def _append(record):
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(record) + "\n")


class ScoreCurve(keras.callbacks.Callback):
    """Score the sampling generator against the test split every `every` steps (the benchmark's curve).

    Records the report at each point and the seconds spent since the callback was made, scoring excluded
    (made just before `train`, so set-up and `auto`'s pilots count, as they do in a user's wall time): wall
    seconds, and the process's CPU seconds over all its threads, which other work on the machine barely
    changes (wall seconds it inflates).
    """

    def __init__(self, k, shots, seed, steps_per_epoch, every=CURVE_EVERY, kid_every=None, score_last=False):
        """`kid_every`: also score KID alone (and recall) at these multiples, e.g. every copy-check evaluation.
        `score_last`: score the model at STEPS here too, for a run whose saved model is a chosen checkpoint."""
        super().__init__()
        self.cell, self.steps_per_epoch, self.every = (k, shots, seed), steps_per_epoch, every
        self.kid_every, self.score_last = kid_every, score_last
        self.points, self.scoring_s, self.start = [], 0.0, time.perf_counter()
        self.scoring_cpu_s, self.cpu_start = 0.0, time.process_time()

    def train_seconds(self):
        """(wall, CPU) seconds since the callback was made, scoring excluded."""
        return (time.perf_counter() - self.start - self.scoring_s,
                time.process_time() - self.cpu_start - self.scoring_cpu_s)

    def on_epoch_end(self, epoch, logs=None):
        steps = (epoch + 1) * self.steps_per_epoch
        # The last point is normally the saved model's own score, taken after training.
        full = (steps % self.every == 0 and steps < STEPS) or (steps >= STEPS and self.score_last)
        kid_only = bool(self.kid_every) and steps % self.kid_every == 0
        if not (full or kid_only):
            return
        wall_s, cpu_s = self.train_seconds()
        began, began_cpu = time.perf_counter(), time.process_time()
        report = _score(self.model, *self.cell) if full else _score_kid(self.model, *self.cell)
        self.points.append({"steps": steps, "train_s": round(wall_s, 1), "cpu_s": round(cpu_s, 1), **report})
        self.scoring_s += time.perf_counter() - began
        self.scoring_cpu_s += time.process_time() - began_cpu


def _score(generator, k, shots, seed):
    """The protocol's scores (fmnist features), and KID and recall in an independent random-CNN feature space."""
    from kgantl.metrics import evaluate

    report = evaluate(generator, ref=f"fashion_mnist:{k}", split="test", n=1000, seed=0,
                      train_images=_shots(k, shots, seed))
    independent = evaluate(generator, ref=f"fashion_mnist:{k}", split="test", n=1000, seed=0,
                           extractor=_random_cnn_extractor(), use_cache=False)
    return {**{m: report[m] for m in ("kid", "kid_std", "fid", "precision", "recall")},
            "near_copy": report["near_copy_share"], "real_near_copy": report["memorisation"]["real_near_copy_share"],
            "protocol": report["protocol"], "kid_random_cnn": independent["kid"],
            "recall_random_cnn": independent["recall"]}


def _score_kid(generator, k, shots, seed):
    """The protocol's KID, recall and near-copy share alone: the cheap points between the full ones."""
    from kgantl.metrics import evaluate

    report = evaluate(generator, ref=f"fashion_mnist:{k}", split="test", n=1000, seed=0,
                      train_images=_shots(k, shots, seed))
    return {**{m: report[m] for m in ("kid", "kid_std", "recall")}, "near_copy": report["near_copy_share"]}


def random_cnn(seed=0, image_shape=(28, 28, 1)):
    """Three random 3x3 convolutions (64, 128, 256 filters, the last two with stride 2), ReLU, average pooling."""
    images = keras.Input(image_shape)
    h = images
    for i, (filters, stride) in enumerate(((64, 1), (128, 2), (256, 2))):
        h = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu",
                                kernel_initializer=keras.initializers.HeNormal(seed + i))(h)
    features = keras.layers.GlobalAveragePooling2D(name="features")(h)
    return keras.Model(images, features, name=f"random_cnn_seed{seed}")


_RANDOM_CNN = []


def _random_cnn_extractor():
    """`random_cnn()` as a kgantl extractor, built once per process."""
    if not _RANDOM_CNN:
        from kgantl.metrics.extractors import from_keras_model

        _RANDOM_CNN.append(from_keras_model(random_cnn(), "features"))
    return _RANDOM_CNN[0]


def run_method(k, shots, seed, method, workdir, shared_machine=False, keep=None, precision=None):
    """Train one method on one cell for STEPS steps and score it; returns its record and the read-off record.

    `shared_machine` marks the records of a run that shared the CPU with other work: their wall seconds are an
    upper bound, their CPU seconds (`cpu_s`) still compare. `keep`: a folder to copy the scored model into, as
    `<class>-<shots>-<seed>-<method>.keras`, for sample grids (the run directory itself is temporary).
    `precision`: `mixed_bfloat16` for a bfloat16 parity run (its recipe gets BF16_SUFFIX), else float32.
    """
    from kgantl.config import FEW_SHOTS, TrainOptions
    from kgantl.training import train

    # `default` evaluates its copy check every 100 steps at epoch ends, so its epochs are shorter.
    steps_per_epoch = 50 if method == "default" else CURVE_EVERY
    options = dict(data=f"fashion_mnist:{k}", shots=shots, seed=seed, epochs=STEPS // steps_per_epoch,
                   steps_per_epoch=steps_per_epoch, sample_every=STEPS // steps_per_epoch,
                   run_dir=str(workdir / f"{k}-{shots}-{seed}-{method.replace(':', '_').replace(' ', '_')}"))
    if method == "default":  # what `kgantl transfer --source S --target T --shots N` resolves to, nothing forced
        options.update(source=SOURCE, eval_every=None)
    elif method == "scratch":
        options.update(batch_size=32, diffaugment="color,translation,cutout", ema_decay=0.999)
    else:  # plain finetune and every kgantl method: the `kgantl transfer` defaults, less EMA for plain
        options.update(batch_size=64, diffaugment="", ema_decay=0.0 if method == "plain finetune" else 0.999,
                       source=SOURCE, strategy="finetune" if method == "plain finetune" else method)
    if precision:
        options["precision"] = precision
    # With few shots `default` saves the copy check's chosen checkpoint, not the model at STEPS: its curve scores the
    # model at STEPS during training, and KID at every copy-check evaluation, so the chosen step's KID is on it.
    chooses = method == "default" and shots <= FEW_SHOTS
    curve = ScoreCurve(k, shots, seed, steps_per_epoch, every=CURVE_EVERY,
                       kid_every=100 if chooses else None, score_last=chooses)
    _, run_dir = train(TrainOptions(**options), callbacks=[curve], verbose=0)
    train_s, cpu_s = curve.train_seconds()
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(run_dir / "model.keras", Path(keep) / f"{Path(run_dir).name}.keras")
    final = {"steps": STEPS, "train_s": round(train_s, 1), "cpu_s": round(cpu_s, 1),
             **_score(str(run_dir / "model.keras"), k, shots, seed)}
    extra = {}  # what the run chose: the copy check's checkpoint, auto's strategy
    selection = run_dir / "selection.json"
    if selection.is_file():  # the copy check's choice and stop, and the recipe the defaults resolved to
        chosen = json.loads(selection.read_text())
        resolved = json.loads((run_dir / "options.json").read_text())
        extra = {"chosen_step": chosen["chosen_step"],
                "stopped_step": chosen["stopped_epoch"] and chosen["stopped_epoch"] * steps_per_epoch,
                "resolved": {key: resolved[key] for key in ("strategy", "diffaugment", "batch_size", "ema_decay",
                                                            "copy_every", "copy_patience")},
                # every evaluation of the copy check, so other selection rules can be replayed on the same run
                "selection": [{key: round(value, 5) if isinstance(value, float) else value
                               for key, value in row.items()} for row in chosen["evaluations"]]}
    if method == "auto":  # what it chose, and from what: the candidates' pilot KIDs against the validation shots
        table = json.loads((run_dir / "pilot.json").read_text())
        extra |= {"auto_chose": table["chosen"], "auto_pilot_steps": table["pilot_steps"],
                "auto_pilot_kid": {row["strategy"]: round(row["kid"], 4) for row in table["rows"]}}
    base = {"class": k, "shots": shots, "seed": seed, "method": method,
            "batch": json.loads((run_dir / "options.json").read_text())["batch_size"],
            "recipe": recipe(method) + (BF16_SUFFIX if precision == "mixed_bfloat16" else ""), **extra,
            "cpu": cpu_line(),  # wall times differ ~3x between CPUs
            "date": time.strftime("%Y-%m-%d"), **({"shared_machine": True} if shared_machine else {})}
    # With a copy check the saved model is the chosen checkpoint, kept off the curve (which scored STEPS itself).
    curve_points = [*curve.points] + ([] if curve.score_last else [final])
    record = {**base, "steps": STEPS, "wall_s": final["train_s"], "cpu_s": final["cpu_s"], **_metrics(final),
              "curve": [{key: p[key] for key in ("steps", "kid", "recall", "near_copy", "train_s", "cpu_s",
                                                 "kid_random_cnn") if key in p} for p in curve_points]}
    point = next((p for p in curve_points if p["steps"] == READ_OFF and "fid" in p), None)  # a full point
    if point is None:  # stopped by the copy check before the read-off step
        return (record,)
    read_off = {**base, "steps": READ_OFF, "wall_s": point["train_s"], "cpu_s": point["cpu_s"], **_metrics(point),
                "read_off": STEPS}
    return record, read_off


def _metrics(point):
    return {m: point[m] for m in ("kid", "kid_std", "fid", "precision", "recall", "near_copy", "real_near_copy",
                                  "protocol", "kid_random_cnn", "recall_random_cnn")}


def _shots(k, shots, seed):
    from kgantl.data import load_arrays

    return load_arrays(f"fashion_mnist:{k}", shots=shots, seed=seed).images


def copy_the_shots(k, shots, seed):
    """1000 draws (with repetition) from the shots themselves, scored like a generator."""
    images = _shots(k, shots, seed)
    draws = images[np.random.default_rng(seed).integers(0, len(images), 1000)].astype(np.uint8)
    return {"class": k, "shots": shots, "seed": seed, "method": "copy the shots", "steps": 0, "batch": 0,
            "recipe": "copy", "wall_s": 0.0, **_metrics(_score(draws, k, shots, seed))}


def _cell_records(records, k, shots, steps):
    """The records the report uses for a cell's shot count and budget: each method's own recipe only, `default`
    at the checkpoint today's rule picks (`at_current_rule`)."""
    return [at_current_rule(r)[0] if r["method"] == "default" else r for r in records
            if (r["class"], r["shots"]) == (k, shots) and r["steps"] in (steps, 0)
            and _recipe_of(r) == recipe(r["method"])]


def _table(records, title):
    lines = [f"**{title}**", "", "| method | KID | FID | precision | recall | near-copy | KID (random CNN) | "
             "train s | CPU s | runs |", "|---|---|---|---|---|---|---|---|---|---|"]
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
            subset = f" ({len(values)} of {len(rows)} runs)" if len(values) < len(rows) else ""
            return f"{mean:.{digits}f}{spread}{subset}"

        chose = sorted({r["auto_chose"] for r in rows if r.get("auto_chose")})
        name = f"{method} (chose {', '.join(chose)})" if chose else method
        shared = "*" if any(r.get("shared_machine") for r in rows) else ""  # wall time an upper bound
        lines.append(f"| {name} | {cell('kid', 4)} | {cell('fid', 2)} | {cell('precision', 3)} | "
                     f"{cell('recall', 3)} | {cell('near_copy', 3)} | {cell('kid_random_cnn', 6)} | "
                     f"{cell('wall_s', 0)}{shared} | {cell('cpu_s', 0)} | {len(rows)} |")
    return "\n".join(lines)


def plot(records, path=PLOT):
    """KID against generator steps, one panel per 100-shot class, one line per method (the curve records)."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("The plot needs matplotlib: pip install -e '.[bench]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [(k, n, s) for k, n, s in grid()
             if any(r.get("curve") and (r["class"], r["shots"], r["seed"]) == (k, n, s) for r in records)]
    if not cells:
        return False
    fig, axes = plt.subplots(1, len(cells), figsize=(3.6 * len(cells), 3.6), dpi=110, squeeze=False)
    for ax, (k, n, s) in zip(axes[0], cells):
        for method in METHODS:
            rows = [r for r in records if (r["class"], r["shots"], r["seed"], r["method"]) == (k, n, s, method)
                    and r.get("curve") and _recipe_of(r) == recipe(method)]
            if rows:
                curve = rows[-1]["curve"]
                ax.plot([p["steps"] for p in curve], [p["kid"] for p in curve], marker="o", ms=3, label=method)
        scratch = [r for r in records if (r["class"], r["shots"], r["seed"], r["method"]) == (k, n, s, "scratch")
                   and _recipe_of(r) == recipe("scratch")]
        if scratch:  # the time-to-quality target: reach this line by step 500
            ax.axhline(scratch[-1]["kid"], color="gray", linestyle=":", label=f"scratch at {STEPS}")
        ax.axvline(READ_OFF, color="lightgray", linewidth=0.8)
        ax.set(yscale="log", xlabel="generator steps", title=f"class {k}, {n} shots, seed {s}")
    axes[0][0].set_ylabel("KID (fmnist_1k_test)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return True


def report():
    """Rewrite the grid's tables and the KID-against-steps plot in docs/benchmarks.md."""
    records = list(_done().values())
    parts = header("python bench/few_shot.py", " (then `--report`)",
                   date_note="; raw records: `bench/results/few_shot.jsonl`")
    finished = [cell for cell in grid() if all(
        any((r["class"], r["shots"], r["seed"], r["method"], r["steps"]) == (*cell, m, STEPS)
            and _recipe_of(r) == recipe(m) for r in records) for m in METHODS)]
    parts.append(f"Cells with every method at {STEPS} steps: {len(finished)} of {len(grid())}. Recipes: scratch "
                 "batch 32 with DiffAugment; plain finetune batch 64, no augmentation, no EMA; kgantl's methods "
                 "`kgantl transfer`'s defaults (batch 64, no augmentation, EMA 0.999). train s: training seconds "
                 "(scoring excluded) on the CPU each record names (`cpu`; records without it ran on the Intel Xeon "
                 "with AMX named in the probe's section, 2026-11-22), * where the CPU was shared with other work "
                 "(an upper bound); CPU s: the process's CPU seconds over its threads, recorded from 2026-12-01 "
                 "on, which sharing barely changes; 500-step rows are read off the 2000-step runs.")
    for steps in (READ_OFF, STEPS):
        for k, n in dict.fromkeys((k, n) for k, n, _ in grid()):
            cell = [r for r in _cell_records(records, k, n, steps) if r["seed"] in {s for kk, nn, s in grid()
                                                                                   if (kk, nn) == (k, n)}]
            if any(r["method"] != "copy the shots" for r in cell):
                seeds = sorted({r["seed"] for r in cell})
                title = f"class {k}, {n} shots, {steps} steps, seed{'s' if len(seeds) > 1 else ''} " \
                        f"{', '.join(map(str, seeds))}{' (mean ± std)' if len(seeds) > 1 else ''}"
                parts += ["", _table(cell, title)]
    if plot([r for r in records if r["steps"] == STEPS]):
        parts += ["", f"![KID against steps]({PLOT.name})"]
    write_section("few-shot-grid", "\n".join(parts), "Few-shot GAN transfer: the issue-10 grid")
    ten_shot = ten_shot_default_table(records)
    write_section("ten-shot-default", ten_shot, "Ten shots: kgantl transfer's own recipe (issue 24)")
    defaults = measured.derive(*measured_inputs(records))
    with atomic_path(MEASURED) as tmp:
        tmp.write_text(measured.dumps(defaults))
    table = measured.render(defaults)
    write_section("measured-defaults", table, "What the benchmarks set")
    return "\n".join(parts + ["", ten_shot, "", table])


def measured_inputs(records):
    """What `measured.derive` reads off the records: KID per method of each 100-shot cell (seed 0) and each
    10-shot cell at STEPS (`default` at today's rule's checkpoint), and the bfloat16 parity runs' KIDs."""
    def kids(k, shots, seed):
        return {r["method"]: r["kid"] for r in _cell_records(records, k, shots, STEPS)
                if r["seed"] == seed and r["method"] != "copy the shots"}

    hundred = {k: kids(k, n, s) for k, n, s in grid() if n == 100}
    ten = {(k, s): kids(k, n, s) for k, n, s in grid() if n == 10}
    cell, parity = measured.PARITY_CELL, {}
    for policy, suffix in (("float32", ""), ("mixed_bfloat16", BF16_SUFFIX)):
        runs = {r["seed"]: r["kid"] for r in records
                if (r["class"], r["shots"], r["method"], r["steps"]) == (cell["class"], cell["shots"], cell["method"],
                                                                         STEPS)
                and r["seed"] in cell["seeds"] and _recipe_of(r) == recipe(cell["method"]) + suffix}
        parity[policy] = [runs[seed] for seed in sorted(runs)]
    return hundred, ten, parity


def at_current_rule(record):
    """A `default` record's scores at the checkpoint today's rule (`kgantl.callbacks.copy_check.choose`) picks
    from the run's own copy-check evaluations, and whether that differs from the run's choice.

    Selection does not change training (and training is deterministic here), so a record made under an earlier
    rule is replayed exactly: KID, recall and near-copy share come from the run's curve at the replayed step,
    scored by the same protocol as the chosen checkpoint (the stopping rule has not changed). FID, precision and
    the random-CNN scores are only taken at the chosen checkpoint, so they are dropped from a replayed record.
    """
    from kgantl.callbacks.copy_check import choose

    if not record.get("selection") or not record.get("curve"):
        return record, False
    step = choose(record["selection"])["step"]
    if step == record.get("chosen_step"):
        return record, False
    point = next(p for p in record["curve"] if p["steps"] == step)
    kept = {key: value for key, value in record.items()
            if key not in ("kid_std", "fid", "precision", "kid_random_cnn", "recall_random_cnn")}
    return {**kept, "chosen_step": step, **{m: point[m] for m in ("kid", "recall", "near_copy")}}, True


def ten_shot_default_table(records):
    """The issue-24 targets per 10-shot cell: `default` (`kgantl transfer`'s own recipe at its chosen checkpoint)
    against scratch, plain finetune and kgantl's `finetune`, and the copy check's chosen step against the step with
    the lowest test KID on the run's own curve (KID every 100 steps, the full scores every 250, up to where the
    check stopped it; records before 2026-12-05 afternoon scored every 250 steps only)."""
    def one(k, seed, method):
        rows = [r for r in records if (r["class"], r["shots"], r["seed"], r["method"], r["steps"]) ==
                (k, 10, seed, method, 0 if method == "copy the shots" else STEPS) and _recipe_of(r) == recipe(method)]
        return rows[-1] if rows else None

    lines = ["| cell | KID | KID / min(scratch, plain) | recall (finetune's) | near-copy (real's) | chosen step | "
             "stopped at | test-best step on its curve | chosen within 250 | train s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    ratios, kids, near, replayed = [], {"default": [], "scratch": [], "plain finetune": []}, [], 0
    for k, n, seed in grid():
        default = one(k, seed, "default")
        if n != 10 or default is None:
            continue
        default, moved = at_current_rule(default)
        replayed += moved
        scratch, plain, finetune = one(k, seed, "scratch"), one(k, seed, "plain finetune"), one(k, seed, "finetune")
        baseline = min(r["kid"] for r in (scratch, plain) if r)
        ratios.append(default["kid"] / baseline)
        for name, row in (("default", default), ("scratch", scratch), ("plain finetune", plain)):
            kids[name].append(row["kid"] if row else float("nan"))
        best = min(default["curve"], key=lambda p: p["kid"]) if default.get("curve") else None
        if best and default.get("chosen_step"):
            near.append(abs(default["chosen_step"] - best["steps"]) <= 250)
        lines.append(
            f"| class {k}, seed {seed} | {default['kid']:.4f} | {default['kid'] / baseline:.2f} | "
            f"{default['recall']:.3f} ({finetune['recall'] if finetune else float('nan'):.3f}) | "
            f"{default['near_copy']:.3f} ({default['real_near_copy']:.3f}) | {default.get('chosen_step')}"
            f"{' (replayed)' if moved else ''} | "
            f"{default.get('stopped_step') or 'not stopped'} | "
            f"{best['steps'] if best else 'n/a'} (KID {best['kid'] if best else float('nan'):.4f}) | "
            f"{('yes' if near[-1] else 'no') if best and default.get('chosen_step') else 'n/a'} | "
            f"{default['wall_s']:.0f}{'*' if default.get('shared_machine') else ''} |")
    if ratios:
        means = {name: statistics.mean(values) for name, values in kids.items() if values}
        lines += ["", f"Mean KID over these {len(ratios)} cells: default {means['default']:.4f}, scratch "
                      f"{means.get('scratch', float('nan')):.4f}, plain finetune "
                      f"{means.get('plain finetune', float('nan')):.4f}; default / min of the two means: "
                      f"{means['default'] / min(means.get('scratch', np.inf), means.get('plain finetune', np.inf)):.2f}.",
                  f"Chosen step within 250 steps of the test-KID-best step: {sum(near)} of {len(near)} cells."]
        if replayed:
            lines.append(f"(replayed): {replayed} run(s) made under an earlier checkpoint rule, scored at the step "
                         "today's rule picks from the run's own copy-check evaluations (`at_current_rule`).")
    return "\n".join(lines)


def bf16_parity(done, args):
    """The runs `measured` decides `--precision auto` by: PARITY_CELL in both precisions (the float32 ones are
    the grid's own recipe, so its seed-0 record counts), then `--report` to flip the setting if it holds."""
    from kgantl.precision import has_fast_bfloat16

    if not has_fast_bfloat16():
        raise SystemExit("--bf16-parity needs bfloat16 units (a CPU with AMX or AVX512-BF16, or a GPU of compute "
                         "capability 8.0 or more): elsewhere bfloat16 is emulated and its speed means nothing")
    cell = measured.PARITY_CELL
    workdir = Path(tempfile.mkdtemp(prefix="kgantl-bf16-parity-"))
    try:
        for seed in cell["seeds"]:
            for precision, suffix in (("float32", ""), ("mixed_bfloat16", BF16_SUFFIX)):
                key = (cell["class"], cell["shots"], seed, cell["method"], STEPS, recipe(cell["method"]) + suffix)
                if key in done and not args.force:
                    continue
                for record in run_method(cell["class"], cell["shots"], seed, cell["method"], workdir,
                                         args.shared_machine, args.keep, precision=precision):
                    _append(record)
                    print(json.dumps({key: v for key, v in record.items() if key != "curve"}), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _selected(cell, args):
    return all(wanted is None or value in wanted
               for value, wanted in zip(cell, (args.only_class, args.only_shots, args.only_seed)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only-class", type=int, nargs="+", help="run only cells of these classes")
    parser.add_argument("--only-shots", type=int, nargs="+", help="run only cells with these shot counts")
    parser.add_argument("--only-seed", type=int, nargs="+", help="run only cells with these seeds")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS, help="methods to run (default: all)")
    parser.add_argument("--report", action="store_true", help="only rewrite the tables in docs/benchmarks.md")
    parser.add_argument("--shared-machine", action="store_true",
                        help="mark the records: other work ran on this CPU, so wall times are upper bounds")
    parser.add_argument("--keep", default=None, help="copy each scored model.keras into this folder")
    parser.add_argument("--held-out", action="store_true",
                        help="run the held-out 10-shot cells (classes 5 and 8, seed 0) instead of the grid")
    parser.add_argument("--bf16-parity", action="store_true",
                        help="run the bfloat16 quality check instead of the grid: vision_d on 100 sandals, seeds 0-2, "
                             "in float32 and mixed_bfloat16 (needs a CPU with AMX or AVX512-BF16, or a GPU)")
    parser.add_argument("--force", action="store_true",
                        help="re-run the selected methods even where they have records (the newest record wins)")
    args = parser.parse_args()
    if args.report:
        print(report())
        return
    done = _done()
    if args.bf16_parity:
        bf16_parity(done, args)
        return
    workdir = Path(tempfile.mkdtemp(prefix="kgantl-few-shot-"))
    try:
        for k, shots, seed in (HELD_OUT if args.held_out else grid()):
            if not _selected((k, shots, seed), args):
                continue
            if (k, shots, seed, "copy the shots", 0, "copy") not in done:
                _append(copy_the_shots(k, shots, seed))
            for method in args.methods:
                if not args.force and (k, shots, seed, method, STEPS, recipe(method)) in done:
                    continue
                for record in run_method(k, shots, seed, method, workdir, args.shared_machine, args.keep):
                    _append(record)
                    print(json.dumps({key: v for key, v in record.items() if key != "curve"}), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
