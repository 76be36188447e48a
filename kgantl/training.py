"""`train(options)`: the one entry used by the CLI, notebooks and benchmarks.

A run goes through three steps, so that every input error surfaces before anything is written:
`resolve_training` (validate, load data and source, build the GAN), `prepare_training` (run directory,
checkpoint restore, work before the first epoch) and `run_training` (fit, then save).
"""
import contextlib
import dataclasses
import logging
import math
from pathlib import Path
from typing import Optional

import keras
import numpy as np

from kgantl import callbacks as kcallbacks
from kgantl.callbacks.copy_check import BEST_FILE, CopyAwareSelection, CopyMonitor, read_selection
from kgantl.config import DEFAULT_BATCH_SIZE, FEW_SHOTS, FROM_SOURCE, TrainOptions
from kgantl.data.pipeline import load_arrays, make_dataset
from kgantl.data.shots import default_held_out, split_validation
from kgantl.data.sources import ImageArrays
from kgantl.distribute import is_chief, make_distribution
from kgantl.export import export_generator
from kgantl.io import atomic_path
from kgantl.measured import few_shot_recipe
from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator
from kgantl.runs.artifacts import load_gan, save_architecture
from kgantl.precision import precision_policy, resolve_precision, with_policy
from kgantl.runs.lock import RunDirLock
from kgantl.runs.folder import CHECKPOINTS, MODEL_FILE, check_writable, prepare_run_dir
from kgantl.transfer.gan_transfer import set_phase, source_architecture
from kgantl.transfer.auto import CANDIDATES as AUTO_CANDIDATES
from kgantl.transfer.auto import PILOT_FILE, choose_strategy
from kgantl.transfer.strategy import Strategy, parse_strategy, prepare_transfer

logger = logging.getLogger("kgantl")
EVAL_BATCH = 250
DEFAULT_STRATEGY = "finetune"
_JIT = {"auto": "auto", "on": True, "off": False}


def build_gan(options, num_classes=None, class_ids=None, source=None, strategy=None):
    """Build and compile the GAN that `options` describe: new networks, or a source GAN adapted by a strategy.

    Args:
        options: resolved `TrainOptions` (see `resolve_options`).
        num_classes: label-embedding size, required when `options.conditional`.
        class_ids: the classes the conditional GAN is trained on (kept in the saved model).
        source: the loaded source `GAN` (default: loaded from `options.source`, if any).
        strategy: the parsed `Strategy` (default: parsed from `options.strategy`).

    Returns:
        A compiled `GAN` or `ConditionalGAN`.
    """
    gan_kwargs = dict(augment=options.diffaugment or None, ada_target=options.ada_target,
                      ema_decay=options.ema_decay, seed=options.seed)
    if options.source:
        gan, _ = prepare_transfer(source if source is not None else load_gan(options.source),
                                  strategy or parse_strategy(options.strategy or DEFAULT_STRATEGY),
                                  num_classes=num_classes if options.conditional else None,
                                  class_ids=class_ids if options.conditional else None, **gan_kwargs)
    else:
        gan = _new_gan(options, num_classes, class_ids, gan_kwargs)
    return _compile(gan, options)


def _new_gan(options, num_classes, class_ids, gan_kwargs):
    classes = num_classes if options.conditional else None
    if options.conditional and not num_classes or (classes is not None and classes < 2):
        raise ValueError(f"A conditional GAN needs data with at least 2 classes. Received: num_classes={num_classes}")
    generator = build_generator(options.image_size, options.channels, options.latent_dim, options.width,
                                num_classes=classes, norm=options.norm, seed=options.seed)
    discriminator = build_discriminator(options.image_size, options.channels, options.width, num_classes=classes,
                                        spectral_norm=options.spectral_norm, seed=options.seed + 1)
    if options.conditional:
        return ConditionalGAN(generator, discriminator, class_ids=class_ids, **gan_kwargs)
    return GAN(generator, discriminator, **gan_kwargs)


def _compile(gan, options):
    metrics = []
    if options.eval_every:
        from kgantl.metrics.keras_metrics import KernelInceptionDistance

        metrics.append(KernelInceptionDistance(options.eval_extractor))
    optimizers = [keras.optimizers.Adam(lr, beta_1=options.beta_1) for lr in (options.d_lr, options.g_lr)]
    if resolve_precision(options.precision) == "mixed_float16":  # float16 gradients underflow without it
        optimizers = [keras.optimizers.LossScaleOptimizer(optimizer) for optimizer in optimizers]
    gan.compile(
        d_optimizer=optimizers[0], g_optimizer=optimizers[1],
        loss=options.loss, n_critic=options.n_critic, r1_weight=options.r1_weight, gp_weight=options.gp_weight,
        jit_compile=_JIT[options.jit_compile], metrics=metrics,
    )
    return gan


def resolve_options(options, arrays, source=None):
    """Fill the options that depend on the data (channels, steps per epoch) or on a transfer source.

    A new GAN takes the architecture defaults for what is unset. A transfer run takes its architecture
    (image size, channels, latent size, width, normalisation, spectral normalisation) from the source: a
    value given for one of them that differs from the source's is refused, not overridden, and the
    source's values are what the resolved options record. A conditional source makes the run conditional.

    Args:
        options: validated `TrainOptions`.
        arrays: the training `ImageArrays`.
        source: the source `GAN` when `options.source` is set (default: loaded from `options.source`).

    Returns:
        The resolved `TrainOptions`.

    Raises:
        ValueError: an option contradicts the source.
    """
    steps = options.steps_per_epoch or max(1, math.ceil(len(arrays.images) / options.batch_size))
    options = dataclasses.replace(options, steps_per_epoch=steps)
    if not options.source:
        options = options.with_architecture_defaults()
        channels = options.channels or (1 if arrays.images.shape[-1] == 1 else 3)
        return dataclasses.replace(options, channels=channels)
    source = source if source is not None else load_gan(options.source)
    taken = source_architecture(source.generator, source.discriminator)
    unset = {f.name: f.default for f in dataclasses.fields(TrainOptions) if f.name in FROM_SOURCE}
    for name in FROM_SOURCE:
        given = getattr(options, name)
        if given != unset[name] and given != taken[name]:
            raise ValueError(f"{name} comes from the source GAN, which has {taken[name]}: leave it out or give "
                             f"{taken[name]} (the target images are resized to the source's size). "
                             f"Received: {name}={given}")
    conditional = options.conditional or len(source.generator.inputs) == 2
    return dataclasses.replace(options, **taken, conditional=conditional,
                               strategy=options.strategy or DEFAULT_STRATEGY)


@contextlib.contextmanager
def _building(distribution, options):
    """Where a run's networks, optimizers and seed generators are made: the strategy's scope, the run's policy."""
    with distribution.scope(), precision_policy(options.precision):
        yield


def _load_source(options):
    """The source GAN, its networks computing under the run's precision (a saved model keeps the policy it was
    built with, so under mixed precision they are rebuilt with the same weights)."""
    source = load_gan(options.source)
    if resolve_precision(options.precision) == "float32":
        return source
    kwargs = {"class_ids": source.trained_class_ids()} if isinstance(source, ConditionalGAN) else {}
    return type(source)(with_policy(source.generator, options.precision),
                        with_policy(source.discriminator, options.precision), ema_decay=0.0, **kwargs)


def _log_resizing(arrays, options, spec):
    height, width = arrays.images.shape[1:3]
    if (height, width) != (options.image_size, options.image_size):
        logger.warning("resizing the %dx%d images of %s to %dx%d%s", height, width, spec, options.image_size,
                       options.image_size, " (the source GAN's size)" if options.source else "")


def _validation_split(options, arrays, needed):
    """`(training images, validation reference, options)`: a user's run never reads a test split.

    When `needed` (for `val_kid`, or for `auto`'s pilots), the reference is `eval_ref`'s train split, or
    images held out of the training data (`val_per_class` per class, never trained on; the resolved count
    is recorded in the options).
    """
    if not needed:
        return arrays, None, options
    if options.eval_ref:
        return arrays, load_arrays(options.eval_ref), options
    per_class = options.val_per_class or default_held_out(arrays)
    train_arrays, held_out = split_validation(arrays, per_class)
    if len(held_out.images) < 2:
        raise ValueError(f"val_kid needs at least 2 held-out images; give more shots, a larger val_per_class or "
                         f"eval_ref. Received: {len(held_out.images)} held out")
    return train_arrays, held_out, dataclasses.replace(options, val_per_class=per_class)


@dataclasses.dataclass
class ResolvedRun:
    """A run checked and built, with nothing written yet: what `--dry-run` prints and `prepare_training` uses."""

    options: TrainOptions
    arrays: ImageArrays  # what the run trains on
    gan: keras.Model
    strategy: Optional[Strategy]
    distribution: object = None  # the tf.distribute strategy the GAN was built under
    reference: Optional[ImageArrays] = None  # the val_kid reference (held-out shots or eval_ref), with `eval_every`
    strategy_data: Optional[ImageArrays] = None  # what the strategy needs before fitting (Reptile's tasks)
    pilot_arrays: Optional[ImageArrays] = None  # `auto`'s pilots train on these (`arrays` less the validation shots)


def resolve_training(options):
    """Validate options, load every data set and the source, parse the strategy, build the GAN. Writes nothing.

    Every input error surfaces here (the CLI maps them to exit status 2), including the ones only the
    source can reveal, such as `freeze_d:K` with more blocks than its discriminator has, and those of
    the KID reference and Reptile's task data.

    Returns:
        `ResolvedRun`.
    """
    options = dataclasses.replace(options.validate(), precision=resolve_precision(options.precision))  # no "auto"
    # Parsed now so a bad strategy is reported before any data loads; an unset one is resolved with the data.
    given = parse_strategy(options.strategy) if options.source and options.strategy is not None else None
    auto = given is not None and given.is_auto
    if auto and options.distribute == "multiworker":
        raise ValueError("strategy=auto trains its pilots as separate runs, which a cluster does not: choose the "
                         "strategy with auto on one host, then train it on the cluster. Received: strategy='auto', "
                         "distribute='multiworker'")
    distribution = make_distribution(options.distribute, options.cpu_replicas)  # before TensorFlow sets up devices
    if is_chief(distribution):  # the one that writes; checked here too, so --dry-run reports it
        check_writable(options.run_dir or options.runs_root, "run directory" if options.run_dir else "runs_root")
    arrays = load_arrays(options.data, shots=options.shots, seed=options.seed)
    with _building(distribution, options):
        source = _load_source(options) if options.source else None
    options = _resolve_few_shot_defaults(options, arrays)
    # A given strategy is the one parsed above; an unset one is the few-shot or transfer default, parsed here.
    strategy = given if given is not None else (parse_strategy(options.strategy) if options.source else None)
    # `auto` scores its pilots on held-out shots, except where the copy check scores them on all the shots.
    needs_reference = bool(options.eval_every) or (auto and options.copy_check == "off")
    train_arrays, reference, options = _validation_split(options, arrays, needed=needs_reference)
    # `auto`'s pilots never train on the validation shots. Its final run does unless `val_kid` still needs them
    # held out: a choice made on held-out data is then refit on all of it, as a user with no other data would.
    pilot_arrays = train_arrays if auto else None
    arrays = arrays if auto and not options.eval_every else train_arrays
    options = resolve_options(options, arrays, source)
    if options.batch_size > max(len(arrays.images), DEFAULT_BATCH_SIZE):  # the default over few shots: the recipe
        logger.warning("batch_size %d is larger than the %d training images: each batch repeats every image about "
                       "%d times and a step costs what %d images do; the benchmarks train few shots with batches "
                       "of at most %d", options.batch_size, len(arrays.images),
                       round(options.batch_size / len(arrays.images)), options.batch_size, DEFAULT_BATCH_SIZE)
    # `auto` picks its strategy by pilots once the run has a directory; its first candidate stands in for the checks.
    built = parse_strategy(AUTO_CANDIDATES[0]) if auto else strategy
    strategy_data = built.load_data(options) if built is not None else None
    with _building(distribution, options):
        gan = build_gan(options, arrays.num_classes, class_ids=_class_ids(options, arrays), source=source,
                        strategy=built)
    # XLA as Keras resolved `auto` for this machine and distribution (GPU only), so options.json says what ran.
    options = dataclasses.replace(options, jit_compile="on" if gan.jit_compile else "off")
    return ResolvedRun(options, arrays, gan, strategy, distribution, reference, strategy_data, pilot_arrays)


def _resolve_few_shot_defaults(options, arrays):
    """The options whose defaults depend on how few the images are, resolved (options.json records values only).

    A transfer run whose rarest class has at most `FEW_SHOTS` images is a few-shot run. There `copy_check="auto"`
    turns the copy check on (the copy-aware rule, not `val_kid` on a hold-out of two shots, chooses `best.keras`),
    an unset `eval_every` becomes 0 (every shot trains), and an unset `diffaugment` and strategy take the few-shot
    recipe the 10-shot benchmark backs (`kgantl.measured.few_shot_recipe`). Elsewhere the transfer defaults
    stay: `eval_every` 1, no augmentation, `DEFAULT_STRATEGY`; `auto` turns the copy check off.
    """
    rarest = int(np.unique(arrays.labels, return_counts=True)[1].min())
    few_shot = bool(options.source) and rarest <= FEW_SHOTS
    copy_check = options.copy_check
    if copy_check == "auto":  # never on a cluster: it would stop the chief alone (TrainOptions.validate)
        copy_check = "on" if few_shot and options.distribute != "multiworker" else "off"
    resolved = dict(copy_check=copy_check)
    if options.eval_every is None:
        resolved["eval_every"] = 0 if copy_check == "on" else 1
    if options.diffaugment is None:
        resolved["diffaugment"] = few_shot_recipe()["diffaugment"] if few_shot else ""
    if options.source and options.strategy is None:
        resolved["strategy"] = few_shot_recipe()["strategy"] if few_shot else DEFAULT_STRATEGY
    return dataclasses.replace(options, **resolved)


def _class_ids(options, arrays):
    return sorted(set(arrays.labels.tolist())) if options.conditional else None


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
                class_ids=_class_ids(options, arrays))
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
    options, arrays, gan, strategy = resolved.options, resolved.arrays, resolved.gan, resolved.strategy
    _log_resizing(arrays, options, options.data)
    # Every worker of a cluster trains; only the chief writes. The others read its checkpoints to resume.
    writes = is_chief(resolved.distribution)
    run_dir, lock = prepare_run_dir(options, write=writes)  # the chief holds the lock until run_training ends
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
                                    train_pilot=lambda pilot: train(pilot, verbose=0)[1])
        logger.warning("auto chose %s by its pilots (table: %s)", chosen, run_dir / PILOT_FILE)
        strategy = parse_strategy(chosen)
        with _building(resolved.distribution, options):
            gan = build_gan(options, arrays.num_classes, class_ids=_class_ids(options, arrays),
                            source=_load_source(options), strategy=strategy)
    if writes:
        save_architecture(gan, run_dir)  # lets `load_gan` open the run from its checkpoints alone
    with resolved.distribution.scope():  # what the strategy builds before fitting is mirrored too
        initial_epoch = kcallbacks.restore_checkpoint(gan, run_dir / CHECKPOINTS, cleanup=writes)
        if strategy is not None:
            strategy.before_fit(gan, options, initial_epoch, resolved.strategy_data)
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
              if prepared.strategy else Strategy(DEFAULT_STRATEGY).phases(options.epochs, 1, prepared.initial_epoch))
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
    with atomic_path(prepared.run_dir / MODEL_FILE) as tmp:
        gan.save(tmp)
    return history


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
        `(history, run_dir)`: the Keras `History` of this call (None when only the saving was left) and the
        run directory `Path`.

    Example:
        >>> history, run_dir = train(TrainOptions(data="fashion_mnist:7", shots=100, epochs=5))
    """
    prepared = prepare_training(options, callbacks)
    history = run_training(prepared, verbose=verbose)
    return history, prepared.run_dir


__all__ = ["PreparedRun", "ResolvedRun", "build_gan", "prepare_training", "resolve_options", "resolve_training",
           "run_training", "train"]
