"""A GAN transfer strategy as one object: parsed once from its text, then asked by the training code.

The training code never compares strategy strings; it asks the `Strategy` three things:
- `prepare(generator, discriminator)`: turn the source GAN's networks into the networks this strategy trains (freeze blocks, swap D);
- `load_data(options)`: what else it needs (Reptile's source tasks), loaded when the run is checked;
- `before_fit(gan, options, initial_epoch, data)`: work before the first epoch (Reptile meta-training);
- `phases(epochs, phase_epochs, initial_epoch)`: the `fit` calls to make, each with the network that trains
  (None: both), for strategies that alternate.

Strategies (text form): `finetune`, `freeze_d:K`, `alternate`, `feature_d`, `reptile`.

Reference: Mo et al., Freeze the Discriminator: a Simple Baseline for Fine-Tuning GANs,
https://arxiv.org/abs/2002.10964 ; Wang et al., Transferring GANs, https://arxiv.org/abs/1805.01677 ;
Nichol et al., On First-Order Meta-Learning Algorithms, https://arxiv.org/abs/1803.02999
"""
import dataclasses
import os
import re
from typing import Optional

from kgantl.transfer import gan_transfer

STRATEGIES = ("finetune", "freeze_d:K", "alternate", "feature_d", "reptile")


@dataclasses.dataclass(frozen=True)
class Strategy:
    """One parsed transfer strategy.

    Attributes:
        name: `finetune`, `freeze_d`, `alternate`, `feature_d` or `reptile`.
        frozen_blocks: K of `freeze_d:K` (None for the others).

    Example:
        >>> strategy = parse_strategy("freeze_d:1")
        >>> generator, discriminator, info = strategy.prepare(source.generator, source.discriminator)
    """

    name: str
    frozen_blocks: Optional[int] = None

    def __str__(self):
        return f"{self.name}:{self.frozen_blocks}" if self.name == "freeze_d" else self.name

    def load_data(self, options):
        """The data this strategy needs besides the target (Reptile's source tasks), checked and loaded.

        Args:
            options: the run's `TrainOptions`.

        Returns:
            `ImageArrays`, or None when the strategy needs none.

        Raises:
            ValueError: `options` lack what this strategy needs.
        """
        if self.name != "reptile":
            return None
        if not options.reptile_data:
            raise ValueError("strategy reptile needs reptile_data, the source spec whose classes are the tasks "
                             "(e.g. fashion_mnist:0-4). Received: reptile_data=None")
        from kgantl.data.pipeline import load_arrays

        return load_arrays(options.reptile_data)

    def prepare(self, generator, discriminator, backbone=None, seed=0):
        """The networks this strategy trains, made from a source GAN's (changed in place where frozen).

        Args:
            generator, discriminator: the source GAN's networks (already made conditional if requested).
            backbone: feature network of `feature_d` (default: the shipped classes-0-4 classifier).
            seed: seed of any new weights (the `feature_d` head).

        Returns:
            `(generator, discriminator, info)`, info saying what was frozen.
        """
        info = {"strategy": str(self)}
        if self.name == "freeze_d":
            info["frozen"] = gan_transfer.freeze_discriminator_blocks(discriminator, self.frozen_blocks)
        elif self.name == "feature_d":
            if len(generator.inputs) == 2:
                raise ValueError("feature_d builds an unconditional discriminator; use it with an unconditional "
                                 "target. Received: a conditional GAN")
            from kgantl.metrics.extractors import find_shipped_model

            discriminator = gan_transfer.feature_discriminator(
                backbone or str(find_shipped_model("fmnist-0-4-backbone")), tuple(generator.output_shape[1:]),
                seed=seed)
            info["frozen"] = ["d_features"]
        return generator, discriminator, info

    def before_fit(self, gan, options, initial_epoch, data=None):
        """Reptile meta-training over the classes of `data` (from `load_data`), on a fresh run only.

        After a checkpoint its result is already in the restored weights, so a resumed run skips it.
        """
        if self.name != "reptile" or initial_epoch > 0:
            return
        from kgantl.transfer.reptile import reptile

        data = data if data is not None else self.load_data(options)
        reptile(gan, data, meta_iterations=options.reptile_iterations, inner_steps=options.reptile_inner_steps,
                meta_step_size=options.reptile_step_size, batch_size=options.batch_size, seed=options.seed)

    def phases(self, epochs, phase_epochs=1, initial_epoch=0):
        """`(start, end, phase)` per `fit` call; phase `"discriminator"` / `"generator"` trains only that
        network, None trains both."""
        if self.name == "alternate":
            return list(gan_transfer.alternating_phases(epochs, phase_epochs, initial_epoch))
        return [(initial_epoch, epochs, None)] if initial_epoch < epochs else []


def parse_strategy(text):
    """`"freeze_d:2"` -> `Strategy("freeze_d", 2)`; a `Strategy` is returned as it is.

    Raises:
        ValueError: not one of `STRATEGIES`.
    """
    if isinstance(text, Strategy):
        return text
    match = re.fullmatch(r"(finetune|alternate|feature_d|reptile)|freeze_d:(\d+)", str(text))
    if not match:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)} (K a block count). Received: {text!r}")
    return Strategy("freeze_d", int(match.group(2))) if match.group(2) else Strategy(match.group(1))


def prepare_transfer(source, strategy, backbone=None, augment=None, ema_decay=0.999, seed=0, num_classes=None,
                     class_ids=None, **gan_kwargs):
    """Turn a source GAN into the uncompiled GAN a strategy trains.

    Args:
        source: a `GAN`, or a path `kgantl.models.loading.load_gan` opens (`.keras` file, `saved_models/<name>`
            folder, run directory).
        strategy: a `Strategy` or its text (see `STRATEGIES`).
        backbone: feature network for `feature_d` (default: `saved_models/fmnist-0-4-backbone`).
        augment: DiffAugment policy for the new GAN.
        ema_decay: EMA decay of the new GAN (the EMA restarts from the source generator).
        seed: seed of the new GAN's noise.
        num_classes: turn an unconditional source into a `ConditionalGAN` with this many classes
            (see `kgantl.transfer.gan_transfer.to_conditional`).
        class_ids: the target's classes, kept by a conditional GAN so sampling refuses the others.
        **gan_kwargs: further `GAN` arguments (e.g. `ada_target`).

    Returns:
        `(gan, info)`: the GAN to compile and fit (for `alternate`, phase by phase), and a dict describing
        what was frozen.

    Example:
        >>> gan, info = prepare_transfer("saved_models/source-fmnist-0-4", "freeze_d:1")
    """
    from kgantl.models import ConditionalGAN
    from kgantl.models.loading import load_gan

    strategy = parse_strategy(strategy)
    gan = load_gan(source) if isinstance(source, (str, os.PathLike)) else source
    generator, discriminator, model_class = gan.generator, gan.discriminator, type(gan)
    converted = num_classes is not None and len(generator.inputs) == 1
    if converted:
        generator, discriminator = gan_transfer.to_conditional(gan, num_classes, seed=seed)
        model_class = ConditionalGAN
    generator, discriminator, info = strategy.prepare(generator, discriminator, backbone=backbone, seed=seed)
    if converted:
        info["converted_to_conditional"] = num_classes
    kwargs = dict(augment=augment, ema_decay=ema_decay, seed=seed, **gan_kwargs)
    if issubclass(model_class, ConditionalGAN):
        kwargs["class_ids"] = class_ids
    return model_class(generator, discriminator, **kwargs), info


__all__ = ["STRATEGIES", "Strategy", "parse_strategy", "prepare_transfer"]
