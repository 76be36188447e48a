"""The run's resolver: options in, a checked and built run out (`ResolvedRun`), nothing written.

Every option is parsed and defaulted here, once: the transfer strategy (given, the few-shot recipe, or the measured
transfer default, then parsed into a `Strategy`), `auto`'s candidates (parsed here too), the backbone of feature_d
and +vision_d (given, or the one for the images' channels, parsed into a `Backbone`), the DiffAugment policy
(parsed into its operations), the precision (`auto` decided for this machine) and the options that depend on the
data or on the source. The code below (`kgantl.training`, the GAN, the strategy, the callbacks) takes those parsed
values and never reads an option's text again. `kgantl.training.train` runs what this returns; `--dry-run`
prints it.
"""
import contextlib
import dataclasses
import logging
from typing import Dict, Optional, Tuple

import keras

from kgantl.config import DEFAULT_BATCH_SIZE, OptionError, TrainOptions
from kgantl.data.augment import parse_policy
from kgantl.data.pipeline import load_arrays
from kgantl.data.shots import default_held_out, split_validation
from kgantl.data.sources import ImageArrays
from kgantl.distribute import is_chief, make_distribution
from kgantl.image_shape import conversions, resolve_new_architecture, resolve_transfer_architecture, run_channels
from kgantl.run_defaults import (resolve_budget, resolve_few_shot_defaults, with_the_folder_budget,
                                 with_the_folder_eval_every)
from kgantl.metrics.copying import MIN_SHOTS
from kgantl.metrics.extractors import default_extractor
from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator
from kgantl.precision import auto_precision, computes_under, precision_policy, resolve_precision, with_policy
from kgantl.runs.artifacts import load_gan
from kgantl.runs.folder import check_space, check_writable
from kgantl.transfer.auto import CANDIDATES as AUTO_CANDIDATES
from kgantl.transfer.backbone import Backbone, parse_backbone
from kgantl.transfer.colour import to_colour
from kgantl.transfer.strategy import Strategy, parse_strategy, prepare_transfer

logger = logging.getLogger("kgantl")
# At most this many training images, the copy check's measured power is partial (bench/copy_check_power.py: 32-36 of
# 50 half copiers flagged at 3 and 5 shots, 40 at 10): the run says so at start.
FEW_FOR_THE_COPY_CHECK = 5
_JIT = {"auto": "auto", "on": True, "off": False}


@dataclasses.dataclass
class ResolvedRun:
    """A run checked and built, with nothing written yet: what `--dry-run` prints and `prepare_training` uses.

    Holds parsed values only: code below the resolver takes `strategy`, `candidates`, `augment` and the
    resolved `options` (whose `precision` is a concrete Keras policy) and parses no option again.
    """

    options: TrainOptions  # resolved: every default filled in, the text forms canonical (what options.json holds)
    arrays: ImageArrays  # what the run trains on
    gan: keras.Model
    strategy: Optional[Strategy]  # None: a new GAN; `auto`: chosen by pilots from `candidates`
    distribution: object = None  # the tf.distribute strategy the GAN was built under
    reference: Optional[ImageArrays] = None  # the val_kid reference (held-out shots or eval_ref), with `eval_every`
    strategy_data: Optional[ImageArrays] = None  # what the strategy needs before fitting (Reptile's tasks)
    pilot_arrays: Optional[ImageArrays] = None  # `auto`'s pilots train on these (`arrays` less the validation shots)
    augment: Tuple[str, ...] = ()  # the DiffAugment operations, parsed
    candidates: Dict[str, Strategy] = dataclasses.field(default_factory=dict)  # `auto`'s, by their text
    backbone: Optional[Backbone] = None  # feature_d's and +vision_d's (None where no strategy uses one)
    conversions: Tuple[str, ...] = ()  # what the run does to the data and the source unasked (`conversions`)

    @property
    def reptile_settings(self):
        """The keyword arguments of `Strategy.before_fit` (Reptile's schedule), from the resolved options."""
        options = self.options
        return dict(meta_iterations=options.reptile_iterations, inner_steps=options.reptile_inner_steps,
                    meta_step_size=options.reptile_step_size, batch_size=options.batch_size, seed=options.seed)


def build_gan(options, strategy=None, num_classes=None, class_ids=None, source=None, augment=(), backbone=None):
    """Build and compile the GAN that resolved options describe: new networks, or a source GAN adapted by a strategy.

    Args:
        options: resolved `TrainOptions` (see `resolve_training`).
        strategy: the parsed `Strategy` of a transfer run (required with `options.source`).
        num_classes: label-embedding size, required when `options.conditional`.
        class_ids: the classes the conditional GAN is trained on (kept in the saved model).
        source: the loaded source `GAN` (default: loaded from `options.source`, if any).
        augment: the parsed DiffAugment operations (empty: none).
        backbone: the parsed `Backbone` of a strategy that uses one (`feature_d`, `+vision_d`).

    Returns:
        A compiled `GAN` or `ConditionalGAN`.
    """
    gan_kwargs = dict(augment=",".join(augment) or None, ada_target=options.ada_target,
                      ema_decay=options.ema_decay, seed=options.seed)
    if options.source:
        if strategy is None:
            raise ValueError("a transfer run needs its parsed strategy (resolve_training parses it). "
                             f"Received: strategy=None, source={options.source!r}")
        gan, _ = prepare_transfer(source if source is not None else load_gan(options.source), strategy,
                                  num_classes=num_classes if options.conditional else None,
                                  class_ids=class_ids if options.conditional else None, backbone=backbone,
                                  **gan_kwargs)
    else:
        gan = _new_gan(options, num_classes, class_ids, gan_kwargs)
    return _compile(gan, options)


def _new_gan(options, num_classes, class_ids, gan_kwargs):
    classes = num_classes if options.conditional else None
    if options.conditional and not num_classes or (classes is not None and classes < 2):
        raise ValueError(f"A conditional GAN needs data with at least 2 classes. Received: num_classes={num_classes}")
    generator = build_generator(options.image_size, options.channels, options.latent_dim, options.width,
                                num_classes=classes, norm=options.norm, seed=options.seed, to_image=options.to_image)
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
    if options.precision == "mixed_float16":  # float16 gradients underflow without loss scaling
        optimizers = [keras.optimizers.LossScaleOptimizer(optimizer) for optimizer in optimizers]
    gan.compile(
        d_optimizer=optimizers[0], g_optimizer=optimizers[1],
        loss=options.loss, n_critic=options.n_critic, r1_weight=options.r1_weight, gp_weight=options.gp_weight,
        jit_compile=_JIT[options.jit_compile], metrics=metrics,
    )
    return gan


def resolve_options(options, arrays, source=None):
    """Fill the options that depend on the data (size, channels, the budget) or on a transfer source.

    A new GAN trains at the data's size and colour unless told otherwise: `image_size` defaults to the builder
    size nearest the images' larger side (`kgantl.sizes.size_for_data`, at most 128), `channels` to the data's;
    a default that would shrink the images more than 2x is refused with the option to give. A transfer run takes
    its architecture from the source (`resolve_transfer_architecture`). Everything else unset takes the
    architecture defaults.

    Args:
        options: validated `TrainOptions` whose strategy is already resolved.
        arrays: the training `ImageArrays`.
        source: the source `GAN` when `options.source` is set (default: loaded from `options.source`).

    Returns:
        The resolved `TrainOptions`.

    Raises:
        ValueError: an option contradicts the source, or a default would shrink the images more than 2x.
    """
    options = resolve_budget(with_the_folder_budget(options), len(arrays.images))
    if options.source:
        return resolve_transfer_architecture(options, arrays, source if source is not None else
                                             load_gan(options.source))
    return resolve_new_architecture(options, arrays)


@contextlib.contextmanager
def building(distribution, options):
    """Where a run's networks, optimizers and seed generators are made: the distribution's scope, the run's
    (resolved) precision policy."""
    with distribution.scope(), precision_policy(options.precision):
        yield


def load_source(options, colour=None):
    """The source GAN, its networks computing under the run's resolved precision (a saved model keeps the policy
    it was built with, so where that is not the run's, say a source trained in mixed bfloat16 adapted in float32,
    they are rebuilt with the same weights), expanded to colour (`kgantl.transfer.colour.to_colour`) when it is
    grayscale and `colour` (default: `options.channels == 3`)."""
    source = load_gan(options.source)
    if (options.channels == 3 if colour is None else colour) and source.generator.output_shape[-1] == 1:
        return to_colour(source, seed=options.seed)  # built under the caller's scope: the run's policy
    if all(computes_under(net) == options.precision for net in (source.generator, source.discriminator)):
        return source
    kwargs = {"class_ids": source.trained_class_ids()} if isinstance(source, ConditionalGAN) else {}
    return type(source)(with_policy(source.generator, options.precision),
                        with_policy(source.discriminator, options.precision), ema_decay=0.0, **kwargs)


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
    try:
        train_arrays, held_out = split_validation(arrays, per_class)
    except ValueError as error:
        rule = error.args[0].split(" Received")[0].rstrip(".")
        raise OptionError("eval_every", f"val_kid (eval_every={options.eval_every}) scores held-out images, and "
                                        f"{rule}: give more shots or eval_ref, or turn val_kid off with eval_every 0 "
                                        f"(--eval-every 0). Received: val_per_class={per_class}") from None
    if len(held_out.images) < 2:
        raise ValueError(f"val_kid needs at least 2 held-out images; give more shots, a larger val_per_class or "
                         f"eval_ref. Received: {len(held_out.images)} held out")
    return train_arrays, held_out, dataclasses.replace(options, val_per_class=per_class)


def _parsed_strategy(text):
    """The one place a strategy's text becomes a `Strategy`; its error names the option."""
    try:
        return parse_strategy(text)
    except ValueError as error:
        raise OptionError("strategy", str(error)) from None


def _parsed_policy(text):
    """The one place the run's DiffAugment policy becomes its operations; its error names the option."""
    try:
        return parse_policy(text)
    except ValueError as error:
        raise OptionError("diffaugment", str(error)) from None


def _parsed_backbone(options, strategies):
    """The one place the backbone's text (given, or the default for the images' channels) becomes a `Backbone`;
    None where none of `strategies` uses one, for which a given backbone is refused."""
    if not any(strategy is not None and strategy.uses_backbone for strategy in strategies):
        if options.backbone is not None:
            raise OptionError("backbone", f"backbone is the pretrained network of feature_d and +vision_d, which "
                                          f"strategy {options.strategy} does not use: leave it out or choose one of "
                                          f"them. Received: backbone={options.backbone!r}")
        return None
    return parse_backbone(options.backbone, (options.image_size, options.image_size, options.channels))


def _with_resolved_precision(options):
    """The options with a concrete `precision` (no "auto" below the resolver), saying what auto chose and why."""
    options, given = dataclasses.replace(options, precision=resolve_precision(options.precision)), options.precision
    if given == "auto":
        logger.info("precision auto: %s, since %s", options.precision, auto_precision()[1])
    return options


def resolve_training(options):
    """Validate options, load every data set and the source, parse the strategy, build the GAN. Writes nothing.

    Every input error surfaces here (the CLI maps them to exit status 2), including the ones only the
    source can reveal, such as `freeze_d:K` with more blocks than its discriminator has, and those of
    the KID reference and Reptile's task data.

    Returns:
        `ResolvedRun`.
    """
    options = _with_resolved_precision(options.validate())
    # Parsed now so a bad strategy is reported before any data loads; an unset one is resolved with the data.
    given = _parsed_strategy(options.strategy) if options.source and options.strategy is not None else None
    auto = given is not None and given.is_auto
    if auto and options.distribute == "multiworker":
        raise ValueError("strategy=auto trains its pilots as separate runs, which a cluster does not: choose the "
                         "strategy with auto on one host, then train it on the cluster. Received: strategy='auto', "
                         "distribute='multiworker'")
    distribution = make_distribution(options.distribute, options.cpu_replicas)  # before TensorFlow sets up devices
    if is_chief(distribution):  # the one that writes; checked here too, so --dry-run reports it
        check_writable(options.run_dir or options.runs_root, "run directory" if options.run_dir else "runs_root")
    arrays = load_arrays(options.data, shots=options.shots, seed=options.seed)
    with building(distribution, options):  # expanded to colour below, once the run's channels are known
        source = load_source(options, colour=False) if options.source else None
    source_channels = int(source.generator.output_shape[-1]) if source is not None else None
    # By the channels the run trains at (set below): a grey source or target made colour makes a colour run.
    options = resolve_few_shot_defaults(with_the_folder_eval_every(options), arrays,
                                        run_channels(options, arrays.images.shape[-1], source_channels))
    strategy = given if given is not None or not options.source else _parsed_strategy(options.strategy)
    augment = _parsed_policy(options.diffaugment)  # (the options keep the text as given: options.json compares it)
    # `auto` scores its pilots on held-out shots, except where the copy check scores them on all the shots.
    needs_reference = bool(options.eval_every) or (auto and options.copy_check == "off")
    train_arrays, reference, options = _validation_split(options, arrays, needed=needs_reference)
    # `auto`'s pilots never train on the validation shots. Its final run does unless `val_kid` still needs them
    # held out: a choice made on held-out data is then refit on all of it, as a user with no other data would.
    pilot_arrays = train_arrays if auto else None
    arrays = arrays if auto and not options.eval_every else train_arrays
    options = resolve_options(options, arrays, source)
    if options.eval_extractor == "auto":  # by the images the run makes: a grayscale extractor drops colour
        options = dataclasses.replace(options, eval_extractor=default_extractor(options.channels))
    if source_channels == 1 and options.channels == 3:
        with building(distribution, options):
            source = to_colour(source, seed=options.seed)
    _warn_large_batch(options, arrays)
    _check_copy_check(options, arrays)
    candidates = {text: _parsed_strategy(text) for text in AUTO_CANDIDATES} if auto else {}
    # `auto` picks its strategy by pilots once the run has a directory; its first candidate stands in for the checks.
    built = candidates[AUTO_CANDIDATES[0]] if auto else strategy
    strategy_data = built.load_data(options.reptile_data) if built is not None else None
    backbone = _parsed_backbone(options, candidates.values() if auto else [strategy])
    options = dataclasses.replace(options, backbone=backbone.text if backbone else None)
    with building(distribution, options):
        gan = build_gan(options, built, arrays.num_classes, class_ids=class_ids(options, arrays), source=source,
                        augment=augment, backbone=backbone)
    # XLA as Keras resolved `auto` for this machine and distribution (GPU only), so options.json says what ran.
    options = dataclasses.replace(options, jit_compile="on" if gan.jit_compile else "off")
    if is_chief(distribution):
        check_space(options, gan)
    return ResolvedRun(options, arrays, gan, strategy, distribution, reference, strategy_data, pilot_arrays,
                       augment, candidates, backbone, conversions(options, arrays, source_channels))


def _check_copy_check(options, arrays):
    """The copy check's own refusal, made here so a dry run makes it too (the monitor is built after the folder)."""
    if options.copy_check == "on" and len(arrays.images) < MIN_SHOTS:
        raise OptionError("copy_check", f"the copy check needs at least {MIN_SHOTS} training images (one is left out "
                                        f"at a time); with fewer it cannot run: turn it off with copy_check off "
                                        f"(--copy-check off). Received: {len(arrays.images)} training images")
    if options.copy_check == "on" and len(arrays.images) <= FEW_FOR_THE_COPY_CHECK:
        logger.warning("with %d training images the copy check flags outright copying but misses about a third of "
                       "generators that copy half their samples (docs/metrics.md, \"The copy check's power\"): look "
                       "at the samples too (kgantl compare)", len(arrays.images))


def _warn_large_batch(options, arrays):
    if options.batch_size > max(len(arrays.images), DEFAULT_BATCH_SIZE):  # the default over few shots: the recipe
        logger.warning("batch_size %d is larger than the %d training images: each batch repeats every image about "
                       "%d times and a step costs what %d images do; the benchmarks train few shots with batches "
                       "of at most %d", options.batch_size, len(arrays.images),
                       round(options.batch_size / len(arrays.images)), options.batch_size, DEFAULT_BATCH_SIZE)


def class_ids(options, arrays):
    """The classes a conditional run trains on (None for an unconditional one)."""
    return sorted(set(arrays.labels.tolist())) if options.conditional else None


__all__ = ["ResolvedRun", "build_gan", "building", "class_ids", "load_source", "resolve_options", "resolve_training"]
