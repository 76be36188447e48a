"""Runs the few-shot grid: trains each method on each cell and appends the scored records to the results file.

Each run trains for STEPS generator steps; every CURVE_EVERY steps its sampling generator is scored against the
1000 test images of the class (`ScoreCurve`), and its records (the STEPS record with the curve, and the READ_OFF
record read off that curve) are appended to `bench/results/few_shot.jsonl` as the run ends, so an interrupted
grid resumes where it stopped (`run_grid` skips what `_done` already holds). `--held-out` runs the held-out cells
instead of the grid, `--bf16-parity` the bfloat16 quality runs (`bf16_parity`).

Also the scoring the sibling scripts import: `_score` (few_shot_probe.py), `random_cnn` and `_shots`
(few_shot_independent.py).
"""
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import measured  # noqa: E402
from few_shot_cells import (BF16_SUFFIX, CURVE_EVERY, HELD_OUT, READ_OFF, RESULTS, STEPS,  # noqa: E402
                            _metrics, grid, recipe, recipe_options)
from sections import cpu_line  # noqa: E402


# A run that leaves the copy check on (`selects`): 50-step epochs, so each copy-check evaluation (every 100 steps, the
# `copy_every` default) falls on an epoch end, and the curve's KID at each of them.
SELECTING_EPOCH, SELECTING_KID_EVERY = 50, 100


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

    def __init__(self, k, shots, seed, steps_per_epoch, every=CURVE_EVERY, kid_every=None, score_last=False,
                 score=None, score_kid=None, steps=None):
        """`kid_every`: also score KID alone (and recall) at these multiples, e.g. every copy-check evaluation.
        `score_last`: score the model at `steps` here too, for a run whose saved model is a chosen checkpoint.
        `score`, `score_kid`: functions of the model giving the full and the KID-only scores (default: the
        Fashion-MNIST protocol's `_score` and `_score_kid` for the cell); `steps`: the run's budget."""
        super().__init__()
        self.cell, self.steps_per_epoch, self.every = (k, shots, seed), steps_per_epoch, every
        self.kid_every, self.score_last, self.steps = kid_every, score_last, STEPS if steps is None else steps
        self.score = score or (lambda model: _score(model, k, shots, seed))
        self.score_kid = score_kid or (lambda model: _score_kid(model, k, shots, seed))
        self.points, self.scoring_s, self.start = [], 0.0, time.perf_counter()
        self.scoring_cpu_s, self.cpu_start = 0.0, time.process_time()

    def train_seconds(self):
        """(wall, CPU) seconds since the callback was made, scoring excluded."""
        return (time.perf_counter() - self.start - self.scoring_s,
                time.process_time() - self.cpu_start - self.scoring_cpu_s)

    def on_epoch_end(self, epoch, logs=None):
        steps = (epoch + 1) * self.steps_per_epoch
        # The last point is normally the saved model's own score, taken after training.
        full = (steps % self.every == 0 and steps < self.steps) or (steps >= self.steps and self.score_last)
        kid_only = bool(self.kid_every) and steps % self.kid_every == 0
        if not (full or kid_only):
            return
        wall_s, cpu_s = self.train_seconds()
        began, began_cpu = time.perf_counter(), time.process_time()
        report = self.score(self.model) if full else self.score_kid(self.model)
        self.points.append({"steps": steps, "train_s": round(wall_s, 1), "cpu_s": round(cpu_s, 1), **report})
        self.scoring_s += time.perf_counter() - began
        self.scoring_cpu_s += time.process_time() - began_cpu


def _opened(generator):
    """A model path opened as a sampler (`evaluate` takes generators and images, not paths)."""
    from kgantl.runs.artifacts import open_generator

    return open_generator(generator) if isinstance(generator, (str, Path)) else generator


def _score(generator, k, shots, seed):
    """The protocol's scores (fmnist features), and KID and recall in an independent random-CNN feature space."""
    from kgantl.metrics import evaluate

    generator = _opened(generator)
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


_RANDOM_CNN = {}


def _random_cnn_extractor(image_shape=(28, 28, 1)):
    """`random_cnn()` for images of `image_shape` as a kgantl extractor, built once per process and shape."""
    if image_shape not in _RANDOM_CNN:
        from kgantl.metrics.extractors import from_keras_model

        _RANDOM_CNN[image_shape] = from_keras_model(random_cnn(image_shape=image_shape), "features")
    return _RANDOM_CNN[image_shape]


def run_method(k, shots, seed, method, workdir, shared_machine=False, keep=None, precision=None):
    """Train one method on one cell for STEPS steps and score it; returns its record and the read-off record.

    `shared_machine` marks the records of a run that shared the CPU with other work: their wall seconds are an
    upper bound, their CPU seconds (`cpu_s`) still compare. `keep`: a folder to copy the scored model into, as
    `<class>-<shots>-<seed>-<method>.keras`, for sample grids (the run directory itself is temporary).
    `precision`: `mixed_bfloat16` for a bfloat16 parity run (its recipe gets BF16_SUFFIX), else float32.
    """
    # One folder per run: a parity pair (float32 and mixed_bfloat16 of the same cell and method) are two runs.
    name = f"{k}-{shots}-{seed}-{method.replace(':', '_').replace(' ', '_')}" + (f"-{precision}" if precision else "")
    options = dict(data=f"fashion_mnist:{k}", shots=shots, seed=seed, run_dir=str(workdir / name),
                   **recipe_options(method))
    if precision:
        options["precision"] = precision
    score = (lambda model: _score(model, k, shots, seed)), (lambda model: _score_kid(model, k, shots, seed))
    curve, final, chosen = train_scored(options, method, shots, *score, keep=keep)
    base = {"class": k, "shots": shots, "seed": seed, "method": method, "batch": chosen.pop("batch"),
            "recipe": recipe(method) + (BF16_SUFFIX if precision == "mixed_bfloat16" else ""), **chosen,
            "cpu": cpu_line(),  # wall times differ ~3x between CPUs
            "date": time.strftime("%Y-%m-%d"), **({"shared_machine": True} if shared_machine else {})}
    return _records(base, curve, final)


def train_scored(options, method, shots, score, score_kid, steps=None, keep=None, selects=None):
    """Train `options` (`TrainOptions` fields less the epochs) for `steps` generator steps, scoring the sampler
    every CURVE_EVERY steps with `score` (KID alone with `score_kid` at each copy-check evaluation), then the
    saved model with `score`. Returns `(curve, final, chosen)`: the `ScoreCurve`, the saved model's point, and
    the run's batch size with what it chose (`_choices`). `keep`: a folder to copy the scored model into.
    `selects`: the run leaves the copy check to kgantl, as `kgantl transfer` with no selection flag does, so with
    few shots it saves the chosen checkpoint, not the model at `steps` (None: only `default` does, the
    Fashion-MNIST grid's rule)."""
    from kgantl.config import FEW_SHOTS, TrainOptions
    from kgantl.training import train

    steps = STEPS if steps is None else steps
    selects = method == "default" if selects is None else selects
    # The copy check evaluates every 100 steps at epoch ends, so a run that may use it has shorter epochs.
    steps_per_epoch = SELECTING_EPOCH if selects else CURVE_EVERY
    # With few shots such a run saves the copy check's chosen checkpoint, not the model at `steps`: its curve scores
    # the model at `steps` during training, and KID at every copy-check evaluation, so the chosen step's KID is on it.
    chooses = selects and shots <= FEW_SHOTS
    curve = ScoreCurve(None, shots, None, steps_per_epoch, every=CURVE_EVERY,
                       kid_every=SELECTING_KID_EVERY if chooses else None,
                       score_last=chooses, score=score, score_kid=score_kid, steps=steps)
    options = dict(options, epochs=steps // steps_per_epoch, steps_per_epoch=steps_per_epoch,
                   sample_every=steps // steps_per_epoch)
    _, run_dir = train(TrainOptions(**options), callbacks=[curve], verbose=0)
    train_s, cpu_s = curve.train_seconds()
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(run_dir / "model.keras", Path(keep) / f"{Path(run_dir).name}.keras")
    final = {"steps": steps, "train_s": round(train_s, 1), "cpu_s": round(cpu_s, 1),
             **score(str(run_dir / "model.keras"))}
    resolved = json.loads((run_dir / "options.json").read_text())
    # the strategy the run trained, as kgantl resolved it (a `default` run trains whatever the defaults say today)
    return curve, final, {"batch": resolved["batch_size"], "trained_strategy": resolved.get("strategy"),
                          **_choices(run_dir, method, steps_per_epoch)}


def _choices(run_dir, method, steps_per_epoch):
    """What the run chose, for its records: the copy check's checkpoint and stop, `val_kid`'s best step, auto's
    strategy."""
    extra = {}
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
    best = run_dir / "best.json"
    if best.is_file() and not selection.is_file():
        # `val_kid` on held-out shots kept best.keras (more shots than the copy check serves); model.keras stays the
        # last step, so the record scores that and names the step a user of best.keras would get
        extra["val_best_step"] = json.loads(best.read_text())["epoch"] * steps_per_epoch
    if method == "auto":  # what it chose, and from what: the candidates' pilot KIDs against the validation shots
        table = json.loads((run_dir / "pilot.json").read_text())
        extra |= {"auto_chose": table["chosen"], "auto_pilot_steps": table["pilot_steps"],
                  "auto_pilot_kid": {row["strategy"]: round(row["kid"], 4) for row in table["rows"]}}
    return extra


def _records(base, curve, final, steps=None, read_off=READ_OFF):
    """The run's `steps` record (with its curve) and, where the curve has a full point at `read_off` (None: no
    read-off), the `read_off` record read off it; `base` holds what both share, `final` the saved model's score.
    `steps`: the run's budget (default STEPS)."""
    steps = STEPS if steps is None else steps
    # With a copy check the saved model is the chosen checkpoint, kept off the curve (which scored STEPS itself).
    curve_points = [*curve.points] + ([] if curve.score_last else [final])
    record = {**base, "steps": steps, "wall_s": final["train_s"], "cpu_s": final["cpu_s"], **_metrics(final),
              "curve": [{key: p[key] for key in ("steps", "kid", "recall", "near_copy", "train_s", "cpu_s",
                                                 "kid_random_cnn") if key in p} for p in curve_points]}
    point = next((p for p in curve_points if p["steps"] == read_off and "fid" in p), None)  # a full point
    if point is None:  # stopped by the copy check before the read-off step
        return (record,)
    read = {**base, "steps": read_off, "wall_s": point["train_s"], "cpu_s": point["cpu_s"], **_metrics(point),
            "read_off": steps}
    return record, read


def _shots(k, shots, seed):
    from kgantl.data import load_arrays

    return load_arrays(f"fashion_mnist:{k}", shots=shots, seed=seed).images


def copy_the_shots(k, shots, seed):
    """1000 draws (with repetition) from the shots themselves, scored like a generator."""
    images = _shots(k, shots, seed)
    draws = images[np.random.default_rng(seed).integers(0, len(images), 1000)].astype(np.uint8)
    return {"class": k, "shots": shots, "seed": seed, "method": "copy the shots", "steps": 0, "batch": 0,
            "recipe": "copy", "wall_s": 0.0, **_metrics(_score(draws, k, shots, seed))}


def _run(k, shots, seed, method, workdir, args, precision=None):
    """`run_method`, each record appended to RESULTS as the run ends and printed without its curve."""
    for record in run_method(k, shots, seed, method, workdir, args.shared_machine, args.keep, precision=precision):
        _append(record)
        print(json.dumps({key: v for key, v in record.items() if key != "curve"}), flush=True)


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
                _run(cell["class"], cell["shots"], seed, cell["method"], workdir, args, precision=precision)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _selected(cell, args):
    return all(wanted is None or value in wanted
               for value, wanted in zip(cell, (args.only_class, args.only_shots, args.only_seed)))


def run_grid(done, args):
    """Run the grid's cells (the held-out ones with `--held-out`) that the `--only-*` flags select: each cell's
    `copy the shots` record, then every method in `args.methods` without a record yet (all of them with
    `--force`). `done`: the records so far, as `_done` gives them."""
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
                _run(k, shots, seed, method, workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
