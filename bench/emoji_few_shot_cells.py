"""The colour few-shot grid's definition (issue 35): its cells, methods, recipes, records and the cell files.

The cells are (target, shots, seed): cross-style (Twemoji outside "Animals & Nature") at 10 shots, seeds 0-2,
and at 100 shots, seed 0; cross-subject (Noto "Animals & Nature") at 10 shots, seeds 0-2. Each cell's shots and
test images follow `kgantl.data.emoji.emoji_shots` (BENCHMARKS.md's emoji n-shot rule) and are written once as
two `.npz` files (`images` uint8, `labels` all 0: one class, so `kgantl transfer --target FILE` and `kgantl train
--data FILE` read the shots as an unconditional set) under `bench/runs/emoji_few_shot/`. A test set of more
than 1000 images is cut to 1000 drawn with `np.random.default_rng(0)` (BENCHMARKS.md). `scratch` and `plain
finetune` train the Fashion-MNIST grid's recipes (`few_shot_cells.recipe_options`, the plain one with no selection);
every other method trains as `kgantl transfer [--strategy NAME]` with no other recipe flag, from the colour source.
"""
import functools
import hashlib
import json
from pathlib import Path

import numpy as np

import few_shot_cells
from few_shot_cells import ROOT

RESULTS = ROOT / "bench" / "results" / "emoji_few_shot.jsonl"
PROBE_RESULTS = ROOT / "bench" / "results" / "emoji_few_shot_probe.jsonl"  # the probe's records (`--probe`)
CACHE = ROOT / "bench" / "runs" / "emoji_few_shot"
SOURCE = ROOT / "saved_models" / "source-emoji-noto-64"
TARGETS = {"cross-style": ("twitter", "!Animals & Nature"), "cross-subject": ("google", "Animals & Nature")}
TEST_SIZE = 1000
# Room for at most two more methods, chosen by a probe on the colour targets (issue 35: maskd and adapters among
# the candidates). Add their names here once the probe has run; `recipe_options` trains them as `--strategy NAME`.
# The probe (2026-12-06, cross-style, 10 shots, seed 0, 1000 steps, docs/benchmark-log.md "Colour few-shot probe"):
# adapters 0.073 (recall 0.34) against default 0.147, maskd 0.135, vision_d 0.126 (kid_std about 0.014).
# maskd+adapters (0.071) drew near-identical samples to adapters' on the same noise, so it would add a second
# ~1 CPU-hour for no new information; maskd alone was within a std of default.
PROBE_CHOSEN = ["adapters"]
METHODS = ["scratch", "plain finetune", "default", "vision_d", *PROBE_CHOSEN]


# Every method but `scratch` and `plain finetune` trains as a user's `kgantl transfer --strategy NAME` does, with no
# other recipe flag, so the grid measures what the command gives: kgantl's few-shot recipe, the copy check at <= 30
# shots (its chosen checkpoint is the run's model) and `val_kid` on held-out shots above that. `default` passes no
# strategy either and keeps the Fashion-MNIST grid's name for the same thing.
CLI_RECIPE = "kgantl-transfer-strategy-flag-only"
# The source GAN itself, not trained on the target at all: on cross-style it already draws the same subjects in
# the other style, so it is the baseline an adaptation has to beat first (scored like a run, trained never).
SOURCE_AS_IS = "source as is"
OWN_RECIPES = ("copy the shots", SOURCE_AS_IS, "scratch", "plain finetune")  # the baselines, set by the grid


def selects(method):
    """Whether `method` trains as `kgantl transfer` does, leaving the checkpoint it saves to kgantl's rules."""
    return method not in OWN_RECIPES


def recipe(method):
    """The record's recipe name. `plain finetune`: the Fashion-MNIST grid's, with no selection at all (the
    brief's plain fine-tune: every shot trains and the last step is scored, while `kgantl transfer` turns the copy
    check on at <= 30 shots, or else `val_kid` on a held-out fifth of the shots, by default); `SOURCE_AS_IS`: the
    source untrained; `scratch` and `default`: the Fashion-MNIST grid's; any other method: `CLI_RECIPE`."""
    if method == "plain finetune":
        return "plain-b64-no-selection"
    if method == SOURCE_AS_IS:
        return "source-not-adapted"
    return few_shot_cells.recipe(method) if method in ("copy the shots", "scratch", "default") else CLI_RECIPE


def recipe_options(method, source):
    """The `TrainOptions` fields `method` sets from `source`: the Fashion-MNIST grid's for `scratch`, and for
    `plain finetune` with the copy check and `val_kid` off (see `recipe`); for any other method only the source and
    `strategy=method` (`default`: not even that), as `kgantl transfer` with no other recipe flag."""
    if selects(method):
        return dict(source=str(source), eval_every=None, **({} if method == "default" else {"strategy": method}))
    options = few_shot_cells.recipe_options(method, str(source))
    return {**options, "copy_check": "off", "eval_every": 0} if method == "plain finetune" else options


def cells():
    """The grid's cells as (target, shots, seed), in the order they run."""
    return ([("cross-style", 10, s) for s in (0, 1, 2)] + [("cross-style", 100, 0)]
            + [("cross-subject", 10, s) for s in (0, 1, 2)])


def spec(target):
    """The target's emoji data spec, e.g. `emoji:twitter:!Animals & Nature`."""
    vendor, selection = TARGETS[target]
    return f"emoji:{vendor}:{selection}"


def cell_files(target, shots, seed, cache=None):
    """The cell's shots and test `.npz` files, written from `emoji_shots` the first time. Returns both paths."""
    from kgantl.data.emoji import emoji_shots
    from kgantl.io import write_npz

    cache = CACHE if cache is None else cache
    shots_path, test_path = (cache / f"{target}-{shots}-{seed}-{part}.npz" for part in ("shots", "test"))
    if not (shots_path.is_file() and test_path.is_file()):
        vendor, selection = TARGETS[target]
        train, test = emoji_shots(vendor, selection, shots, seed)
        images = test.images
        if len(images) > TEST_SIZE:
            images = images[np.sort(np.random.default_rng(0).choice(len(images), TEST_SIZE, replace=False))]
        cache.mkdir(parents=True, exist_ok=True)
        for path, pixels in ((shots_path, train.images), (test_path, images)):
            write_npz(path, images=np.round(pixels).astype(np.uint8), labels=np.zeros(len(pixels), np.int64))
    return shots_path, test_path


@functools.lru_cache(maxsize=None)
def source_sha256(source):
    """The first 16 hex digits of the sha256 of `source`'s `model.keras` (a folder means the one in it): the source
    GAN will be replaced by a final one, and a record must say which made it. Read once per process and file."""
    path = Path(source)
    digest = hashlib.sha256()
    with open(path / "model.keras" if path.is_dir() else path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def uses_source(method):
    """Whether `method` starts from the source GAN (all but `scratch` and `copy the shots`)."""
    return method not in ("scratch", "copy the shots")


def _done(results=None):
    """Every record by `key`; the newest record of a key wins."""
    results = RESULTS if results is None else results
    if not results.exists():
        return {}
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return {key(r): r for r in records}


def key(record):
    """A record's key in `_done`: (target, shots, seed, method, steps, recipe, source_sha256), the last None for a
    record no source made (and for a transfer record that does not name its source, so none counts as done)."""
    return (record["target"], record["shots"], record["seed"], record["method"], record["steps"], record["recipe"],
            record.get("source_sha256"))


def of_source(records, sha256):
    """The records the source of `sha256` made, and those no source made: what the report shows."""
    return [r for r in records if r.get("source_sha256") == (sha256 if uses_source(r["method"]) else None)]


def todo(done, steps, methods, sha256, selected=lambda cell: True, force=False):
    """The (cell, method) pairs still to run: those of `methods` in the `selected` cells without a record made from
    the source of `sha256` (`source_sha256`)."""
    return [(cell, method) for cell in cells() if selected(cell) for method in methods
            if force or (*cell, method, steps, recipe(method), sha256 if uses_source(method) else None) not in done]
