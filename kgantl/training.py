"""`train(options)`: the one entry used by the CLI, notebooks and benchmarks.

A run goes through three steps, so that every input error surfaces before anything is written:
`resolve_training` (`kgantl.resolve`: validate, parse and default every option, load data and source, build the
GAN), `prepare_training` (run directory, checkpoint restore, work before the first epoch) and `run_training`
(fit, then save). The last two take the resolver's parsed values and parse no option again.
"""
import dataclasses
import logging
from pathlib import Path
from typing import Optional

import keras

from kgantl import callbacks as kcallbacks
from kgantl.callbacks.copy_check import BEST_FILE, CopyAwareSelection, CopyMonitor, read_selection
from kgantl.config import TrainOptions
from kgantl.data.pipeline import make_dataset
from kgantl.distribute import is_chief
from kgantl.export import export_generator
from kgantl.io import atomic_path, ensure_free, state_bytes, write_json
from kgantl.resolve import ResolvedRun, build_gan, building, class_ids, load_source, resolve_training
from kgantl.runs.artifacts import save_architecture
from kgantl.runs.folder import CHECKPOINTS, MODEL_FILE, prepare_run_dir
from kgantl.runs.lock import RunDirLock
from kgantl.transfer.auto import PILOT_FILE, choose_strategy
from kgantl.transfer.gan_transfer import set_phase
from kgantl.transfer.strategy import Strategy

logger = logging.getLogger("kgantl")
# A design choice, not a measurement: up to 250 real and as many generated images per KID subset keep one
# validation pass within a few seconds on 2 CPU cores.
EVAL_BATCH = 250
LABELS_FILE = "labels.json"  # label id -> class name, of the classes the run trains on


@dataclasses.dataclass
class PreparedRun:
    """Everything `run_training` needs; built by `prepare_training`, which does all the validation."""

    options: TrainOptions
    gan: keras.Model
    dataset: object
    validation: object
    callbacks: list
    run_dir: Path
    initial_epoch: int
    strategy: Optional[Strategy] = None
    writes: bool = True  # False on the workers of a cluster other than the chief: they train and write nothing
    lock: Optional[RunDirLock] = None  # the run directory's, held by the process that writes it until it ends


def _run_callbacks(options, arrays, run_dir, writes=True, initial_epoch=0):
    """The run's own callbacks; on a worker that does not write, only the guard (it stops where the chief does)."""
    if not writes:
        return [kcallbacks.DivergenceGuard()]
    grid = dict(seed=options.seed, num_classes=arrays.num_classes if options.conditional else None,
                class_ids=class_ids(options, arrays))
    run_callbacks = [
        kcallbacks.DivergenceGuard(),
        kcallbacks.SampleGrid(run_dir / "samples", every=options.sample_every, **grid),
        kcallbacks.JsonlLogger(run_dir / "metrics.jsonl"),
        kcallbacks.EpochCheckpoint(run_dir / CHECKPOINTS),
    ]
    # Both before the epoch checkpoint, so a kill between the two never loses a better model.
    if options.copy_check == "on":  # the copy-aware rule keeps best.keras; the monitor's scores reach the log
        run_callbacks.insert(2, CopyMonitor(arrays.images, options.eval_extractor, options.steps_per_epoch,
                                            options.copy_every, labels=arrays.labels if options.conditional else None,
                                            seed=options.seed))
        run_callbacks.insert(4, CopyAwareSelection(run_dir, options.steps_per_epoch, options.copy_patience,
                                                   initial_epoch=initial_epoch))
    elif options.eval_every:
        run_callbacks.insert(3, kcallbacks.BestCheckpoint(run_dir, monitor="val_kid", mode="min"))
    if options.tensorboard:
        run_callbacks.append(kcallbacks.TensorBoardLogger(run_dir / "tensorboard", every=options.sample_every, **grid))
    return run_callbacks


def prepare_training(options, callbacks=()):
    """Resolve the run, pick its directory, restore its checkpoint and do the strategy's work before fitting.

    Args:
        options: `TrainOptions`.
        callbacks: extra Keras callbacks.

    Returns:
        `PreparedRun`.
    """
    resolved = resolve_training(options)
    for line in resolved.conversions[len(resolved.arrays.conversions):]:  # (the loader logged its own)
        logger.info("%s", line)
    # Every worker of a cluster trains; only the chief writes. The others read its checkpoints to resume.
    writes = is_chief(resolved.distribution)
    run_dir, lock = prepare_run_dir(resolved.options, write=writes)  # the chief holds the lock until run_training ends
    try:
        return _prepare_locked(resolved, run_dir, lock, writes, callbacks)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def _prepare_locked(resolved, run_dir, lock, writes, callbacks):
    options, arrays, gan, strategy = resolved.options, resolved.arrays, resolved.gan, resolved.strategy
    if strategy is not None and strategy.is_auto:
        reference = None if options.copy_check == "on" else resolved.reference  # None: the copy check scores
        chosen, _ = choose_strategy(options, resolved.pilot_arrays, reference, run_dir,
                                    train_pilot=lambda pilot: train(pilot, verbose=0)[1],
                                    candidates=resolved.candidates)
        logger.info("auto chose %s by its pilots (table: %s)", chosen, run_dir / PILOT_FILE)
        strategy = resolved.candidates[chosen]
        with building(resolved.distribution, options):
            gan = build_gan(options, strategy, arrays.num_classes, class_ids=class_ids(options, arrays),
                            source=load_source(options), augment=resolved.augment, backbone=resolved.backbone)
    if writes:
        save_architecture(gan, run_dir)  # lets `load_gan` open the run from its checkpoints alone
        # Which label is which class (a folder's sub-folders, in sorted order): what a conditional model's labels mean.
        write_json(run_dir / LABELS_FILE, {str(k): arrays.class_names[k] for k in sorted(set(arrays.labels.tolist()))})
    with resolved.distribution.scope():  # what the strategy builds before fitting is mirrored too
        initial_epoch = kcallbacks.restore_checkpoint(gan, run_dir / CHECKPOINTS, cleanup=writes)
        if strategy is not None:
            strategy.before_fit(gan, initial_epoch, resolved.strategy_data, **resolved.reptile_settings)
    # Skipping the batches already trained on replays the exact data order of an uninterrupted run.
    dataset = make_dataset(arrays, image_size=options.image_size, channels=options.channels,
                           batch_size=options.batch_size, seed=options.seed, repeat=True,
                           with_labels=options.conditional, skip_batches=initial_epoch * options.steps_per_epoch)
    validation = None
    if options.eval_every:  # (the reference also exists for `auto` alone, which scores its pilots on it)
        # KID against the held-out images, one KID subset per batch of up to 250 real and as many generated
        # images. Shuffled (with a fixed seed) so no subset is a single class of a class-sorted set; full
        # batches only, since a 1-image batch has no unbiased KID.
        reference = resolved.reference
        validation = make_dataset(reference, image_size=options.image_size, channels=options.channels,
                                  batch_size=min(EVAL_BATCH, len(reference.images)), seed=options.seed,
                                  with_labels=options.conditional, drop_remainder=True)
    run_callbacks = _run_callbacks(options, arrays, run_dir, writes, initial_epoch) + list(callbacks)
    return PreparedRun(options, gan, dataset, validation, run_callbacks, run_dir, initial_epoch, strategy, writes,
                       lock)


def run_training(prepared, verbose="auto"):
    """Fit a `PreparedRun` to its last epoch, then export (transfer runs) and save `model.keras`.

    The strategy says which `fit` calls to make (`alternate`: D only, then G only, ...). `model.keras` is
    written last: its presence marks a finished run, so a kill before it makes the same command finish
    the run (restore the last checkpoint, fit nothing, save) instead of starting a new one.

    The run directory's lock (`prepared.lock`) is released when this returns or raises.

    Returns:
        The Keras `History` of the last `fit` call (None when every epoch was already trained).
    """
    try:
        return _fit_and_save(prepared, verbose)
    finally:
        if prepared.lock is not None:
            prepared.lock.release()


def _fit_and_save(prepared, verbose):
    options, gan = prepared.options, prepared.gan
    if prepared.initial_epoch:
        logger.warning("Resuming %s from epoch %d of %d", prepared.run_dir, prepared.initial_epoch, options.epochs)
    phases = (prepared.strategy.phases(options.epochs, options.phase_epochs, prepared.initial_epoch)
              if prepared.strategy else _one_phase(options.epochs, prepared.initial_epoch))
    history = None
    for start, end, phase in phases:
        if _copy_stop(options, prepared.run_dir, start) is not None:
            break  # the copy check stopped this run (a resume after that stop trains no further)
        if phase is not None:
            set_phase(gan, phase)
        history = gan.fit(prepared.dataset, epochs=end, steps_per_epoch=options.steps_per_epoch, initial_epoch=start,
                          callbacks=prepared.callbacks, verbose=verbose, shuffle=False,
                          validation_data=prepared.validation, validation_freq=options.eval_every or 1)
        if gan.stop_training:
            break
    if any(phase is not None for _, _, phase in phases):
        set_phase(gan, None)
    if not prepared.writes:
        return history
    stopped = _copy_stop(options, prepared.run_dir, options.epochs)
    if stopped is not None:
        logger.warning("copying of the shots set in: stopped after epoch %d; best.keras, model.keras and the export "
                       "hold epoch %d (%s)", stopped, read_selection(prepared.run_dir)["chosen_epoch"],
                       prepared.run_dir / "selection.json")
    if options.copy_check == "on" and (prepared.run_dir / BEST_FILE).is_file():
        gan.load_weights(prepared.run_dir / BEST_FILE)  # the chosen checkpoint; checkpoints/ keeps the last
    if options.source:
        export_generator(gan, prepared.run_dir / "saved_model")
    ensure_free(prepared.run_dir / MODEL_FILE, int(state_bytes(gan) * 1.1) + 2**16, MODEL_FILE)
    with atomic_path(prepared.run_dir / MODEL_FILE) as tmp:
        gan.save(tmp)
    return history


def _one_phase(epochs, initial_epoch):
    """A new GAN's `fit` calls: one, both networks training, unless every epoch is done."""
    return [(initial_epoch, epochs, None)] if initial_epoch < epochs else []


def _copy_stop(options, run_dir, before_epoch):
    """The epoch where the copy check stopped the run, if it did by `before_epoch`; else None."""
    if options.copy_check != "on":
        return None
    selection = read_selection(run_dir) or {}
    stopped = selection.get("stopped_epoch")
    return stopped if stopped is not None and stopped <= before_epoch else None


def train(options, callbacks=(), verbose="auto"):
    """Train a GAN as `options` say, in its own run directory, resuming an unfinished identical run.

    The run directory receives `options.json`, `architecture.json`, `samples/epoch_NNNN.png`,
    `metrics.jsonl`, `checkpoints/` (one per epoch, atomic), `tensorboard/` with `options.tensorboard`,
    and, at the end, `model.keras` (and `saved_model/` for a transfer run). Under `distribute="multiworker"`
    the chief alone writes them; the other workers train and read its checkpoints to resume.

    Args:
        options: `TrainOptions` (validated here).
        callbacks: extra Keras callbacks.
        verbose: passed to `fit` (progress bars).

    Returns:
        `(history, run_dir)`: the Keras `History` of this call (None when only the saving was left) and the run
            directory `Path`.

    Example:
        >>> history, run_dir = train(TrainOptions(data="fashion_mnist:7", shots=100, epochs=5))
    """
    prepared = prepare_training(options, callbacks)
    history = run_training(prepared, verbose=verbose)
    return history, prepared.run_dir


__all__ = ["PreparedRun", "ResolvedRun", "prepare_training", "resolve_training", "run_training", "train"]
