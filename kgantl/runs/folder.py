"""Run directories: one per training run, holding options.json, samples, metrics and checkpoints.

Running the same command again resumes the unfinished run with identical options instead of
starting over, which is what makes `kill -9` followed by the same command safe.
"""
import dataclasses
import json
import logging
import math
import os
import re
import tempfile
from pathlib import Path

from kgantl.callbacks.checkpoint import LATEST, latest_epoch
from kgantl.io import free_bytes, state_bytes
from kgantl.option_fields import OptionError
from kgantl.runs.lock import RunDirLock

logger = logging.getLogger("kgantl")

OPTIONS_FILE = "options.json"
CHECKPOINTS = "checkpoints"
MODEL_FILE = "model.keras"  # written last: a run directory holding it (newer than its checkpoints) is finished
ARCHITECTURE_FILE = "architecture.json"  # the GAN's Keras config, so checkpoints load without the options
# Not part of what a run computes: a run may be resumed with other values of these (a run on N replicas
# computes what one device does at the same global batch, up to float rounding; XLA, which `jit_compile="auto"`
# turns on where there is a GPU, changes rounding only, so a run started on a CPU resumes on a GPU).
_LOCATION_KEYS = ("run_dir", "runs_root", "tensorboard", "distribute", "cpu_replicas", "jit_compile")


def _slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_")[:40] or "run"


def _comparable(options_dict, ignore=()):
    """Resolved options as they decide a run's result, so a run written by an older kgantl compares equal.

    Through `TrainOptions`, a run written before an option existed compares with its default (for `backbone`,
    the shipped one feature_d and vision_d always used then). A new GAN's
    unset architecture takes its defaults; a transfer run's architecture is its source's, whatever an
    older version recorded for it.
    """
    from kgantl.config import ARCHITECTURE_DEFAULTS, FROM_SOURCE, TO_IMAGE_BEFORE, TrainOptions

    full = TrainOptions.from_dict(options_dict).to_dict()
    if full["precision"] == "auto":  # written unresolved before options.json held resolved values only
        full["precision"] = "float32"  # what auto was then: bfloat16 quality was not shown until 2026-12-06
    if full["to_image"] == "auto":  # written before the option existed, when every generator was "conv5"
        full["to_image"] = TO_IMAGE_BEFORE
    if full["eval_extractor"] == "auto":  # written before `auto`, when the default was fmnist
        full["eval_extractor"] = "fmnist"
    if "backbone" not in options_dict and re.search(r"feature_d|vision_d|^auto$", full["strategy"] or ""):
        full["backbone"] = "fmnist-0-4-backbone"  # what feature_d and vision_d used before the option existed
    if full["source"]:
        ignore = (*ignore, *FROM_SOURCE)
    else:
        full.update({k: v for k, v in ARCHITECTURE_DEFAULTS.items() if full[k] is None})
    # `steps` is epochs x steps_per_epoch (both compared); runs written before budgets were in steps lack it.
    return {k: v for k, v in full.items() if k not in _LOCATION_KEYS and k not in ignore and k != "steps"}


def is_finished(run_dir, epochs):
    """True when the run trained `epochs` epochs and saved its final `model.keras` after the last checkpoint.

    Checkpoints alone are not enough: a kill between the last checkpoint and `model.keras` leaves a run
    that the same command must finish (it restores the checkpoint, trains nothing and saves).
    """
    run_dir = Path(run_dir)
    latest, final = run_dir / CHECKPOINTS / LATEST, run_dir / MODEL_FILE
    return (latest_epoch(run_dir / CHECKPOINTS) >= epochs and final.is_file()
            and final.stat().st_mtime >= latest.stat().st_mtime)


def newest_run(runs_root, accept, name="*"):
    """The newest numbered run directory `<runs_root>/NNNNN-<name>` that `accept(path)` is true for, or None.

    Shared by `train` and `augment` to find the unfinished run an identical command should resume.
    """
    root = Path(runs_root)
    if not root.is_dir():
        return None
    return next((c for c in sorted(root.glob(f"[0-9][0-9][0-9][0-9][0-9]-{name}"), reverse=True) if accept(c)), None)


def describe_differences(new, old):
    """`key=new (was old), ...` for the keys whose values differ between two dicts ('' when none do)."""
    return ", ".join(f"{k}={new.get(k)!r} (was {old.get(k)!r})" for k in sorted(set(old) | set(new))
                     if old.get(k) != new.get(k))


def find_resumable(runs_root, options):
    """The newest unfinished run under `runs_root` whose options equal `options`, or None (see `is_finished`)."""
    wanted = _comparable(options.to_dict())

    def same_and_unfinished(candidate):
        path = candidate / OPTIONS_FILE
        return (path.is_file() and _comparable(json.loads(path.read_text())) == wanted
                and not is_finished(candidate, options.epochs))

    return newest_run(runs_root, same_and_unfinished)


def next_run_dir(runs_root, name):
    """`<runs_root>/NNNNN-<name>` with the next free number (not created)."""
    root = Path(runs_root)
    numbers = [int(p.name[:5]) for p in root.glob("[0-9][0-9][0-9][0-9][0-9]-*")] if root.is_dir() else []
    return root / f"{max(numbers, default=-1) + 1:05d}-{_slug(name)}"


def check_writable(folder, what="run directory"):
    """Raise `ValueError` (one line) unless `folder` exists as a writable directory or can be created.

    Tries what a run does, creating a file, in `folder` or its nearest existing parent, so a read-only file
    system is caught as well as missing permissions (whatever user runs it).

    Args:
        folder: the run directory (or the parent of the numbered ones).
        what: how the message names it.
    """
    folder = Path(folder)
    existing = next((p for p in (folder, *folder.absolute().parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ValueError(f"{what} {folder} cannot be made: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ValueError(f"{what} {folder} cannot be written: {existing} does not accept new files "
                         f"({os.strerror(error.errno) if error.errno else error})") from None


def has_trained(run_dir):
    """Whether a run folder holds anything a run produced: a checkpoint, a model, auto's pilots or an export."""
    return latest_epoch(run_dir / CHECKPOINTS) > 0 or any(
        (run_dir / name).exists() for name in (MODEL_FILE, "best.keras", "pilot.json", "pilots", "saved_model"))


def prepare_run_dir(options, write=True):
    """Pick (or create) the run directory for resolved `options`, lock it and write `options.json` into it.

    With `options.run_dir`, that folder is used; if it holds a run with other options (apart from
    `epochs`, which may grow to extend a run) a `ValueError` says which differ, unless it holds nothing a run
    produced (no checkpoint, model, pilots or export): a start that failed before training (a bad input found late)
    leaves a folder the corrected command takes over. Without it, an
    unfinished run with identical options under `options.runs_root` is resumed, or a new folder
    `NNNNN-<data>` is created.

    Args:
        options: validated, resolved `TrainOptions`.
        write: create the folder, take its lock and write `options.json`; False on the workers of a cluster that
            only read the chief's run directory (they name it with `options.run_dir`, so no search is needed).

    Returns:
        `(run_dir, lock)`: the `Path`, and the held `kgantl.runs.lock.RunDirLock` (None without `write`), which the
            caller releases when the run ends.

    Raises:
        RunDirInUse: another process holds the run directory (nothing was written).
    """
    if options.run_dir:
        run_dir = Path(options.run_dir)
        existing = run_dir / OPTIONS_FILE
        if existing.is_file():
            differing = describe_differences(_comparable(options.to_dict(), ignore=("epochs",)),
                                             _comparable(json.loads(existing.read_text()), ignore=("epochs",)))
            if differing and has_trained(run_dir):
                raise ValueError(f"run_dir {run_dir} holds a run with other options; choose another run_dir or the "
                                 f"same options. Received different: {differing}")
            if differing:  # a start that failed before its first checkpoint trained nothing: take its folder over
                logger.warning("run_dir %s holds no checkpoint (an earlier start stopped before training): taking it "
                               "over with these options (%s)", run_dir, differing)
    else:
        run_dir = find_resumable(options.runs_root, options) or next_run_dir(options.runs_root, options.data)
    if not write:
        return run_dir, None
    check_writable(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunDirLock(run_dir).acquire()  # before anything is written: a second process changes nothing
    try:  # with the folder it chose, so options.json holds resolved values only (rewritten at every start)
        dataclasses.replace(options, run_dir=str(run_dir)).to_json(run_dir / OPTIONS_FILE)
    except BaseException:
        lock.release()
        raise
    return run_dir, lock


def space_needed(options, gan):
    """Bytes a run holds at its peak, about: three checkpoints (two kept, one being written) and `model.keras`, each
    about the size of the model's and optimizers' state; `best.keras` where a rule keeps one; the exported generator
    of a transfer run; a sample grid (64 images, PNG at about half their raw size) per `sample_every` epochs; and
    128 KB of JSON. Measured against a 6-epoch run of a small GAN: 1.19 MB estimated, 0.87 MB written."""
    state = state_bytes(gan)
    keeps_best = options.copy_check == "on" or bool(options.eval_every)
    grids = math.ceil(options.epochs / options.sample_every)
    grid = 64 * options.image_size ** 2 * options.channels // 2 + 2048
    return (4 + keeps_best) * state + (state // 2 if options.source else 0) + grids * grid + 2**17


def check_space(options, gan):
    """Refuse a run its filesystem cannot hold (the dry run too); warn when it would fill most of it.

    Raises:
        OptionError: naming `run_dir` or `runs_root`, when the folder has less free space than the run needs.
    """
    folder = options.run_dir or options.runs_root
    # A resumed run replaces what its folder holds (checkpoints, samples) rather than adding to it.
    written = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) if options.run_dir and \
        Path(folder).is_dir() else 0
    needed, free = max(space_needed(options, gan) - written, state_bytes(gan)), free_bytes(folder)
    if free < needed:
        raise OptionError("run_dir" if options.run_dir else "runs_root",
                          f"{folder} has {free / 2**20:.1f} MB free; this run writes about {needed / 2**20:.1f} MB "
                          f"(checkpoints, model files, samples): free space or choose another folder")
    if free < 2 * needed:
        logger.warning("%s has %.1f MB free and this run writes about %.1f MB", folder, free / 2**20, needed / 2**20)
