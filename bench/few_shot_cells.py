"""The few-shot grid's definition: its cells, its methods, the recipe each method trains with, and its records.

What `bench/few_shot.py` runs and reports, in one place: the cells (class, shots, seed) of the grid and the
held-out cells, the methods, each method's recipe (its name in the records, `recipe`, and the training settings
it stands for, `recipe_options`), and the record format: the results file, the key a run's records are known by
(`_done`) and the scores each record carries (`_metrics`). The protocol itself is described in few_shot.py's
docstring. No TensorFlow here: the runner (`few_shot_runner`) and the report (`few_shot_report`) both read it.
"""
import json
from pathlib import Path

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
BF16_SUFFIX = "-bf16"  # the recipe of a parity run in mixed_bfloat16 (its float32 twin is the grid's own recipe)


def grid():
    """The grid's cells as (class, shots, seed): classes 5-9 at 100 shots (seed 0), 7 and 9 at 10 (seeds 0-2)."""
    return [(k, 100, 0) for k in (7, 5, 8, 9, 6)] + [(k, 10, s) for k in (7, 9) for s in (0, 1, 2)]


# 10-shot cells outside the grid, run only with --held-out: a checkpoint-selection rule chosen by replaying the
# grid's records is checked on classes it was not chosen on. Never part of the grid's tables.
HELD_OUT = [(5, 10, 0), (8, 10, 0)]


def recipe(method):
    """The name of the recipe `method` trains with today (`recipe` in its records)."""
    return RECIPES.get(method, TRANSFER_RECIPE)


def recipe_options(method, source=SOURCE):
    """The `TrainOptions` fields `method`'s recipe sets (the recipes of few_shot.py's docstring); `source`: the
    source GAN the transfer methods start from (the emoji grid passes the colour one)."""
    if method == "default":  # what `kgantl transfer --source S --target T --shots N` resolves to, nothing forced
        return dict(source=source, eval_every=None)
    if method == "scratch":
        return dict(batch_size=32, diffaugment="color,translation,cutout", ema_decay=0.999)
    # plain finetune and every kgantl method: the `kgantl transfer` defaults, less EMA for plain, and without val_kid
    # on held-out shots (eval_every 0: every shot trains, as the grid's records did; kgantl's rule turns it on above
    # FEW_SHOTS images where the copy check is off, and `TrainOptions` took 0 for unset before issue 36)
    return dict(batch_size=64, diffaugment="", ema_decay=0.0 if method == "plain finetune" else 0.999,
                source=source, strategy="finetune" if method == "plain finetune" else method, eval_every=0)


def _recipe_of(record):
    """Records written before recipes were named: scratch and plain finetune kept theirs, the rest were b32."""
    return record.get("recipe") or RECIPES.get(record["method"], "diffaugment-b32")


def _done():
    """Every record in RESULTS by (class, shots, seed, method, steps, recipe); the newest record of a key wins."""
    if not RESULTS.exists():
        return {}
    records = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    return {(r["class"], r["shots"], r["seed"], r["method"], r["steps"], _recipe_of(r)): r for r in records}


def _metrics(point):
    """The scores a record carries, taken from a full point of the curve (or the final score)."""
    return {m: point[m] for m in ("kid", "kid_std", "fid", "precision", "recall", "near_copy", "real_near_copy",
                                  "protocol", "kid_random_cnn", "recall_random_cnn")}
