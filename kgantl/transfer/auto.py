"""`--strategy auto`: choose the transfer strategy on the user's own shots, measured, not from a rule.

The shots are split into training and validation images (validation never trains a pilot). Each candidate
strategy trains a short pilot on the training shots; each pilot is scored by KID against the validation shots, with
recall and the near-copy share beside it. The lowest KID wins (ties: higher recall) when it beats the
benchmark's best method, `PRIOR`, by more than twice the noise of the difference (its jackknife standard error
over the validation images); otherwise `PRIOR` stays. On the benchmark's sneaker cell, twenty validation images and
250-step pilots put the candidates within 0.05 KID of each other and the lowest-KID pick was the worse method
at 2000 steps: a pick on a difference smaller than its noise is a coin toss. The
table is written into the run directory as `pilot.json`, and a resumed run reads it back instead of training
the pilots again. The chosen strategy's run then trains on every shot, validation ones included, unless
`val_kid` (`eval_every`) still needs them held out (`kgantl.training.resolve_training`).
"""
import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from kgantl.io import write_json, write_npz
from kgantl.measured import hundred_shots

# From the few-shot grid by the rules in kgantl/measured.json (docs/benchmarks.md, "What the benchmarks set"): the
# strategies a pilot is trained for, and the best fixed method, which auto keeps unless a pilot beats it clearly.
# (On sneakers the 250-step pilots scored 0.254-0.305 and the lowest-KID pick, freeze_d:1, 0.254 against
# vision_d's 0.264, was the worse method at 2000 steps.)
CANDIDATES = tuple(hundred_shots()["candidates"])
PRIOR = hundred_shots()["prior"]
# How many standard errors a lead over PRIOR must exceed: two, the usual threshold (a design choice, not fitted). (One was tried first: on
# sneakers freeze_d:1's lead of 0.0099 beat its standard error of 0.0071 and auto picked the worse method.)
NOISE_MULTIPLE = 2.0
PILOT_FILE = "pilot.json"
# Generated images per pilot score: a design choice (enough for KID against tens of validation images, cheap
# beside a pilot's training), not a measurement.
PILOT_SAMPLES = 500


def _save_images(path, arrays):
    write_npz(path, images=arrays.images.astype(np.uint8), labels=arrays.labels)


def score_pilot(model_path, validation_file, train_images, seed=0, extractor="fmnist"):
    """KID, recall and near-copy share of a pilot's generator against the validation shots.

    Written for few validation images (two per class are common): KID is the unbiased MMD² on the whole
    sets (no subsets), recall uses k = min(3, validation images - 1) neighbours.

    Returns:
        dict with `kid`, `recall` (None with fewer than 2 validation images), `near_copy_share` and `kid_leave_one_out`
            (KID with each validation image left out in turn, for the jackknife in `choose`; None with fewer than 3
            validation images).
    """
    from kgantl.data.sources import resolve_source
    from kgantl.metrics.distances import precision_recall, unbiased_mmd2
    from kgantl.metrics.evaluate import sample_images
    from kgantl.metrics.extractors import get_extractor
    from kgantl.metrics.memorisation import memorisation_check
    from kgantl.runs.artifacts import open_generator

    extractor = get_extractor(extractor)
    validation = resolve_source(str(validation_file))
    labels = validation.labels[np.arange(PILOT_SAMPLES) % len(validation.labels)].astype(np.int32)
    fake = extractor.features(sample_images(open_generator(model_path), PILOT_SAMPLES, seed=seed, labels=labels))
    real = extractor.features(validation.images / 127.5 - 1.0)
    k = min(3, len(real) - 1)
    recall = precision_recall(real, fake, k=k)[1] if k >= 1 else None
    copies = memorisation_check(fake, extractor.features(np.asarray(train_images) / 127.5 - 1.0), real)
    leave_one_out = [unbiased_mmd2(np.delete(real, i, axis=0), fake) for i in range(len(real))] \
        if len(real) >= 3 else None
    return {"kid": unbiased_mmd2(real, fake), "recall": recall, "near_copy_share": copies["near_copy_share"],
            "kid_leave_one_out": leave_one_out}


def difference_noise(row, other):
    """Jackknife standard error of `row`'s KID minus `other`'s, over the validation images both were scored on.

    Both KIDs share the validation images, so the error of their difference is smaller than either's; 0.0 when
    a row has no leave-one-out values (fewer than 3 validation images, or a stub).
    """
    a, b = row.get("kid_leave_one_out"), other.get("kid_leave_one_out")
    if not a or not b or len(a) != len(b):
        return 0.0
    differences = np.asarray(a) - np.asarray(b)
    return float(np.sqrt((len(differences) - 1) / len(differences)
                         * np.sum((differences - differences.mean()) ** 2)))


def choose(rows, prior=None):
    """The row with the lowest validation KID (ties: the higher recall, then the earlier candidate), unless it
    is within `NOISE_MULTIPLE` standard errors of `prior`'s row.

    Args:
        rows: dicts with `strategy`, `kid`, `recall` and optionally `kid_leave_one_out`.
        prior: a strategy text; its row is kept unless the lowest-KID row beats it by more than
            `NOISE_MULTIPLE` times `difference_noise` (None, or no such row: plain lowest KID).

    Returns:
        The chosen row.
    """
    if not rows:
        raise ValueError("auto needs at least one candidate strategy. Received: none")
    best = min(enumerate(rows), key=lambda item: (item[1]["kid"], -(item[1]["recall"] or 0.0), item[0]))[1]
    kept = next((row for row in rows if row["strategy"] == prior), None)
    if kept is not None and kept["kid"] - best["kid"] <= NOISE_MULTIPLE * difference_noise(best, kept):
        return kept
    return best


def choose_strategy(options, train_arrays, validation_arrays, run_dir, train_pilot, candidates=CANDIDATES,
                    prior=PRIOR):
    """Train a pilot per candidate, score it on the validation shots, and return the chosen strategy's text.

    Args:
        options: the run's resolved `TrainOptions` (strategy `auto`).
        train_arrays: the training shots.
        validation_arrays: the held-out validation shots.
        run_dir: the run directory; pilots go to `<run_dir>/pilots/`, the table to `pilot.json`.
        train_pilot: `TrainOptions` -> the pilot's run directory (`kgantl.training` passes its `train`; taking
            it as an argument keeps this module below training).
        candidates: strategy texts to try, or a dict of them to their parsed `Strategy` (the resolver's): a pilot
            whose strategy uses no backbone then gets none (its resolver would refuse one).
        prior: the candidate kept unless another beats it by more than twice the noise (see `choose`).

    Returns:
        `(chosen strategy text, table)`; the table is what `pilot.json` holds.

    Example:
        >>> strategy, table = choose_strategy(options, train, validation, Path("runs/00007-auto"),
        ...                                   lambda o: kgantl.train(o, verbose=0)[1])
    """
    run_dir = Path(run_dir)
    by_copy_check = validation_arrays is None
    table_path = run_dir / PILOT_FILE
    if table_path.is_file():
        table = json.loads(table_path.read_text())
        if table["candidates"] == list(candidates) and table.get("prior") == (None if by_copy_check else prior):
            return table["chosen"], table
    pilots = run_dir / "pilots"
    pilots.mkdir(parents=True, exist_ok=True)
    shots_file = pilots / "shots.npz"
    _save_images(shots_file, train_arrays)
    if by_copy_check:
        return _choose_by_copy_check(options, shots_file, pilots, table_path, train_pilot, candidates)
    validation_file = pilots / "validation.npz"
    _save_images(validation_file, validation_arrays)
    rows = []
    for candidate in candidates:
        pilot_options = dataclasses.replace(
            options, data=str(shots_file), shots=None, strategy=candidate,
            backbone=_backbone(options, candidates, candidate), epochs=1, steps=None,
            steps_per_epoch=options.pilot_steps, eval_every=0, eval_ref=None, val_per_class=None, copy_check="off",
            tensorboard=False, run_dir=_pilot_dir(pilots, candidate))
        pilot_dir = Path(train_pilot(pilot_options))
        rows.append({"strategy": candidate, **score_pilot(pilot_dir / "model.keras", validation_file,
                                                          train_arrays.images, seed=options.seed,
                                                          extractor=options.eval_extractor)})
    prior_row = next((row for row in rows if row["strategy"] == prior), None)
    for row in rows:  # the noise each candidate's lead over the prior must exceed
        row["kid_minus_prior_noise"] = difference_noise(row, prior_row) if prior_row else None
    chosen = choose(rows, prior)["strategy"]
    table = {"candidates": list(candidates), "prior": prior, "pilot_steps": options.pilot_steps, "rows": rows,
             "chosen": chosen,
             "rule": f"lowest KID against the validation shots (ties: higher recall), unless {prior}'s KID "
                     f"is within {NOISE_MULTIPLE:g} jackknife standard errors of the difference: then {prior} "
                     "is kept",
             "validation_images": int(len(validation_arrays.images))}
    write_json(table_path, table)
    return chosen, table


def _backbone(options, candidates, candidate):
    """The run's backbone for a pilot whose parsed strategy uses one, None for the others (texts alone: as it is)."""
    strategy = candidates.get(candidate) if isinstance(candidates, dict) else None
    return options.backbone if strategy is None or strategy.uses_backbone else None


def _pilot_dir(pilots, candidate):
    return str(pilots / candidate.replace(":", "_").replace("+", "-"))


def choose_pilot(rows):
    """Among pilots' chosen checkpoints: the lowest `shot_kid` of those that pass the copy test, else the highest
    `copy_z` (the least copying).

    Unlike the checkpoint rule within one run (`kgantl.callbacks.copy_check.choose`, the latest passing), pilots
    of different strategies at the same short budget differ in how far they got towards the class, which the KID
    against all the shots does show; within one run it falls to its noise floor and then only tracks the drift
    towards the shots.
    """
    from kgantl.callbacks.copy_check import passes

    passing = [r for r in rows if passes(r)]
    if passing:
        return min(passing, key=lambda r: r["shot_kid"])
    return max(rows, key=lambda r: r["copy_z"])


def _choose_by_copy_check(options, shots_file, pilots, table_path, train_pilot, candidates):
    """Few shots: every pilot trains on all the shots with the copy check, and `choose_pilot` picks among the
    checkpoints each pilot's check chose. No shot is held out: a KID against two held-out images is noise.
    """
    from kgantl.callbacks.copy_check import read_selection

    every = min(options.copy_every, options.pilot_steps)
    rows = []
    for candidate in candidates:
        pilot_options = dataclasses.replace(
            options, data=str(shots_file), shots=None, strategy=candidate, steps=None,
            backbone=_backbone(options, candidates, candidate), epochs=math.ceil(options.pilot_steps / every),
            steps_per_epoch=every, copy_every=every, eval_every=0, eval_ref=None, val_per_class=None,
            tensorboard=False, run_dir=_pilot_dir(pilots, candidate))
        selection = read_selection(train_pilot(pilot_options))
        chosen = next(r for r in selection["evaluations"] if r["epoch"] == selection["chosen_epoch"])
        rows.append({"strategy": candidate, **chosen, "stopped_epoch": selection["stopped_epoch"]})
    chosen = choose_pilot(rows)["strategy"]
    table = {"candidates": list(candidates), "prior": None, "pilot_steps": options.pilot_steps, "rows": rows,
             "chosen": chosen,
             "rule": "each pilot trains on all the shots with the copy check; among the checkpoints the checks chose, "
                     "the lowest shot_kid of those that pass the copy test, else the highest copy_z",
             "validation_images": 0}
    write_json(table_path, table)
    return chosen, table


__all__ = ["CANDIDATES", "NOISE_MULTIPLE", "PRIOR", "choose", "choose_pilot", "choose_strategy", "difference_noise", "score_pilot"]
