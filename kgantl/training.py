"""`train(options)`: the one entry used by the CLI, notebooks and benchmarks."""
import dataclasses
import logging
import math
from pathlib import Path

import keras

from kgantl import callbacks as kcallbacks
from kgantl.callbacks.checkpoint import LATEST
from kgantl.config import TrainOptions
from kgantl.data.pipeline import load_arrays, make_dataset
from kgantl.io import atomic_path
from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator
from kgantl.runs import CHECKPOINTS, OPTIONS_FILE, prepare_run_dir

logger = logging.getLogger("kgantl")
MODEL_FILE = "model.keras"
EVAL_BATCH = 250
_JIT = {"auto": "auto", "on": True, "off": False}


def build_gan(options, num_classes=None):
    """Build and compile the GAN that `options` describe: new networks, or a source GAN adapted by a strategy.

    Args:
        options: resolved `TrainOptions` (channels set).
        num_classes: class count, required when `options.conditional` (and no source is given).

    Returns:
        A compiled `GAN` or `ConditionalGAN`.
    """
    gan_kwargs = dict(augment=options.diffaugment or None, ada_target=options.ada_target,
                      ema_decay=options.ema_decay, seed=options.seed)
    if options.source:
        from kgantl.transfer.gan_transfer import prepare_transfer

        gan, _ = prepare_transfer(options.source, options.strategy,
                                  num_classes=num_classes if options.conditional else None, **gan_kwargs)
    else:
        gan = _new_gan(options, num_classes, gan_kwargs)
    return _compile(gan, options)


def _new_gan(options, num_classes, gan_kwargs):
    classes = num_classes if options.conditional else None
    if options.conditional and not num_classes or (classes is not None and classes < 2):
        raise ValueError(f"A conditional GAN needs data with at least 2 classes. Received: num_classes={num_classes}")
    generator = build_generator(options.image_size, options.channels, options.latent_dim, options.width,
                                num_classes=classes, norm=options.norm, seed=options.seed)
    discriminator = build_discriminator(options.image_size, options.channels, options.width, num_classes=classes,
                                        spectral_norm=options.spectral_norm, seed=options.seed + 1)
    model_class = ConditionalGAN if options.conditional else GAN
    return model_class(generator, discriminator, **gan_kwargs)


def _compile(gan, options):
    metrics = []
    if options.eval_every:
        from kgantl.metrics import KernelInceptionDistance

        metrics.append(KernelInceptionDistance(options.eval_extractor))
    gan.compile(
        d_optimizer=keras.optimizers.Adam(options.d_lr, beta_1=options.beta_1),
        g_optimizer=keras.optimizers.Adam(options.g_lr, beta_1=options.beta_1),
        loss=options.loss, n_critic=options.n_critic, r1_weight=options.r1_weight, gp_weight=options.gp_weight,
        jit_compile=_JIT[options.jit_compile], metrics=metrics,
    )
    return gan


def resolve_options(options, arrays):
    """Fill the options that depend on the data (channels, steps per epoch) or on a transfer source.

    With `options.source`, the image size, channels and latent size are the source generator's, whatever
    the flags said; a conditional source makes the run conditional.
    """
    channels = options.channels or (1 if arrays.images.shape[-1] == 1 else 3)
    steps = options.steps_per_epoch or max(1, math.ceil(len(arrays.images) / options.batch_size))
    options = dataclasses.replace(options, channels=channels, steps_per_epoch=steps)
    if options.source:
        from kgantl.transfer.gan_transfer import load_source_gan

        generator = load_source_gan(options.source).generator
        height, _, source_channels = generator.output_shape[1:]
        # A conditional source stays conditional; an unconditional one becomes conditional on request.
        options = dataclasses.replace(options, image_size=int(height), channels=int(source_channels),
                                      latent_dim=int(generator.inputs[0].shape[-1]),
                                      conditional=options.conditional or len(generator.inputs) == 2)
    return options


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


def prepare_training(options, callbacks=()):
    """Validate options, load data, build the GAN, pick the run directory and restore its checkpoint.

    Every input error surfaces here, before anything is trained (the CLI maps them to exit status 2).

    Args:
        options: `TrainOptions`.
        callbacks: extra Keras callbacks.

    Returns:
        `PreparedRun`.
    """
    options.validate()
    arrays = load_arrays(options.data, shots=options.shots, seed=options.seed)
    options = resolve_options(options, arrays)
    gan = build_gan(options, arrays.num_classes)  # before the run directory: bad options leave nothing behind
    run_dir = prepare_run_dir(options)
    initial_epoch = kcallbacks.restore_checkpoint(gan, run_dir / CHECKPOINTS)
    if options.source and options.strategy == "reptile" and initial_epoch == 0:
        # Meta-training before the first epoch; after a checkpoint, its result is in the restored weights.
        from kgantl.transfer.reptile import reptile

        reptile(gan, load_arrays(options.reptile_data), meta_iterations=options.reptile_iterations,
                inner_steps=options.reptile_inner_steps, meta_step_size=options.reptile_step_size,
                batch_size=options.batch_size, seed=options.seed)
    # Skipping the batches already trained on replays the exact data order of an uninterrupted run.
    dataset = make_dataset(arrays, image_size=options.image_size, channels=options.channels,
                           batch_size=options.batch_size, seed=options.seed, repeat=True,
                           with_labels=options.conditional, skip_batches=initial_epoch * options.steps_per_epoch)
    run_callbacks = [
        kcallbacks.DivergenceGuard(),
        kcallbacks.SampleGrid(run_dir / "samples", every=options.sample_every, seed=options.seed,
                              num_classes=arrays.num_classes if options.conditional else None,
                              class_ids=sorted(set(arrays.labels.tolist())) if options.conditional else None),
        kcallbacks.JsonlLogger(run_dir / "metrics.jsonl"),
        kcallbacks.EpochCheckpoint(run_dir / CHECKPOINTS),
        *callbacks,
    ]
    validation = None
    if options.eval_every:
        # KID against the test split, one KID subset per batch of 250 real and 250 generated images.
        # Shuffled (with a fixed seed) so no subset is a single class of a class-sorted set; full batches
        # only, since a 1-image batch has no unbiased KID.
        reference = load_arrays(options.eval_ref or options.data, split="test")
        validation = make_dataset(reference, image_size=options.image_size, channels=options.channels,
                                  batch_size=min(EVAL_BATCH, len(reference.images)), seed=options.seed,
                                  with_labels=options.conditional, drop_remainder=True)
        # Before the epoch checkpoint, so a kill between the two never loses a better model.
        run_callbacks.insert(3, kcallbacks.BestCheckpoint(run_dir, monitor="val_kid", mode="min"))
    return PreparedRun(options, gan, dataset, validation, run_callbacks, run_dir, initial_epoch)


def run_training(prepared, verbose="auto"):
    """Fit a `PreparedRun` to its last epoch and save `model.keras` in its run directory.

    The `alternate` transfer strategy runs as phases (D only, then G only, ...), each its own `fit` call;
    transfer runs also export their generator as a SavedModel into `<run>/saved_model`.

    Returns:
        The Keras `History` of the last `fit` call.
    """
    from kgantl.transfer.gan_transfer import alternating_phases, parse_strategy, set_phase

    options, gan = prepared.options, prepared.gan
    if prepared.initial_epoch:
        logger.warning("Resuming %s from epoch %d of %d", prepared.run_dir, prepared.initial_epoch, options.epochs)
    alternate = options.source and parse_strategy(options.strategy)[0] == "alternate"
    phases = (alternating_phases(options.epochs, options.phase_epochs, prepared.initial_epoch) if alternate
              else [(prepared.initial_epoch, options.epochs, None)])
    history = None
    for start, end, phase in phases:
        if alternate:
            set_phase(gan, phase)
        history = gan.fit(prepared.dataset, epochs=end, steps_per_epoch=options.steps_per_epoch, initial_epoch=start,
                          callbacks=prepared.callbacks, verbose=verbose, shuffle=False,
                          validation_data=prepared.validation, validation_freq=options.eval_every or 1)
    if alternate:
        set_phase(gan, None)
    with atomic_path(prepared.run_dir / MODEL_FILE) as tmp:
        gan.save(tmp)
    if options.source:
        from kgantl.export import export_generator

        export_generator(gan, prepared.run_dir / "saved_model")
    return history


def train(options, callbacks=(), verbose="auto"):
    """Train a GAN as `options` say, in its own run directory, resuming an unfinished identical run.

    The run directory receives `options.json`, `samples/epoch_NNNN.png`, `metrics.jsonl`,
    `checkpoints/` (one per epoch, atomic) and, at the end, `model.keras`.

    Args:
        options: `TrainOptions` (validated here).
        callbacks: extra Keras callbacks.
        verbose: passed to `fit` (progress bars).

    Returns:
        `(history, run_dir)`: the Keras `History` of this call and the run directory `Path`.

    Example:
        >>> history, run_dir = train(TrainOptions(data="fashion_mnist:7", shots=100, epochs=5))
    """
    prepared = prepare_training(options, callbacks)
    history = run_training(prepared, verbose=verbose)
    return history, prepared.run_dir


def load_gan(path):
    """Load a trained GAN from a `.keras` file or a run directory.

    A run directory gives its final `model.keras`, or, when checkpoints are newer (an unfinished or
    extended run), a model rebuilt from `options.json` with the newest checkpoint.

    Args:
        path: `.keras` file or run directory.

    Returns:
        The compiled `GAN` / `ConditionalGAN`.
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".keras":
        return keras.saving.load_model(path)
    latest = path / CHECKPOINTS / LATEST
    final = path / MODEL_FILE
    if path.is_dir() and final.is_file() and (not latest.exists() or final.stat().st_mtime >= latest.stat().st_mtime):
        return keras.saving.load_model(final)
    if path.is_dir() and (path / OPTIONS_FILE).is_file():
        options = TrainOptions.from_json(path / OPTIONS_FILE)
        num_classes = None
        if options.conditional:
            num_classes = load_arrays(options.data, shots=options.shots, seed=options.seed).num_classes
        gan = build_gan(options, num_classes)
        if not kcallbacks.restore_checkpoint(gan, path / CHECKPOINTS):
            raise FileNotFoundError(f"Run directory has no checkpoint yet. Received: {path}")
        return gan
    raise FileNotFoundError(f"A model must be a .keras file or a kgantl run directory. Received: {path}")


__all__ = ["PreparedRun", "build_gan", "prepare_training", "run_training", "load_gan", "resolve_options", "train"]
