"""A GAN transfer strategy as one object: parsed once from its text, then asked by the training code.

The training code never compares strategy strings; it asks the `Strategy` three things:
- `prepare(generator, discriminator)`: turn the source GAN's networks into the networks this strategy trains (freeze blocks, swap D);
- `load_data(reptile_data)`: what else it needs (Reptile's source tasks), loaded when the run is checked;
- `before_fit(gan, initial_epoch, data, **settings)`: work before the first epoch (Reptile meta-training);
- `phases(epochs, phase_epochs, initial_epoch)`: the `fit` calls to make, each with the network that trains
  (None: both), for strategies that alternate.

`auto` chooses one of several by short pilot runs on the user's own shots (`kgantl.transfer.auto`).

Strategies (text form): a base, `finetune`, `freeze_d:K`, `alternate`, `feature_d` or `reptile`, optionally
composed after a `+` with generator regularisers, `cdc[:WEIGHT]` (cross-domain correspondence) and
`ewc[:WEIGHT]` (elastic weight consolidation), and with `vision_d` (a second, vision-aided discriminator on a
frozen pretrained backbone; `feature_d`'s and its backbone is chosen by `kgantl.transfer.backbone`), with
`maskd[:RATE]` (random masks on D's last feature map) and with `adapters` (the generator's source weights frozen,
small per-channel adapters trained; `kgantl.transfer.adapters`),
e.g. `freeze_d:1+cdc`, `finetune+ewc:1e4`, `freeze_d:1+vision_d`, `maskd+adapters`, or `cdc` alone (finetune
with CDC).

Reference: Mo et al., Freeze the Discriminator: a Simple Baseline for Fine-Tuning GANs,
https://arxiv.org/abs/2002.10964 ; Wang et al., Transferring GANs, https://arxiv.org/abs/1805.01677 ;
Nichol et al., On First-Order Meta-Learning Algorithms, https://arxiv.org/abs/1803.02999
"""
import dataclasses
import os
import re
from typing import Optional, Tuple

from kgantl.transfer import gan_transfer

STRATEGIES = ("finetune", "freeze_d:K", "alternate", "feature_d", "reptile", "auto")
REGULARIZERS = ("cdc", "ewc")
# What may follow the base after a `+`: the regularisers, a vision-aided D, masked D (`maskd[:RATE]`) and
# generator adapters (kgantl.transfer.maskd, kgantl.transfer.adapters).
ADDITIONS = (*REGULARIZERS, "vision_d", "maskd", "adapters")
# A design choice, not a benchmark result: weights that put each penalty on the scale of the generator loss
# (no grid has compared weights). Measured 2026-11-22 (saved_models/
# source-fmnist-0-4 to 100 sneakers, batch 32, DiffAugment, 2 epochs of 50 steps, mean per epoch): CDC at
# 1000 (the paper's lambda) gave a penalty of 0.05-0.08 beside a g_loss of 1.4-1.7 (at weight 1: 0.0001-0.0007);
# EWC at 1e6 gave 0.2-0.6 and pushed g_loss from 1.6 to 2.3, so its default is ten times weaker.
DEFAULT_WEIGHTS = {"cdc": 1000.0, "ewc": 1e5}


@dataclasses.dataclass(frozen=True)
class Strategy:
    """One parsed transfer strategy.

    Attributes:
        name: the base: `finetune`, `freeze_d`, `alternate`, `feature_d` or `reptile`.
        frozen_blocks: K of `freeze_d:K` (None for the others).
        regularizers: `(name, weight)` pairs of what follows the base: `cdc` / `ewc` (generator-loss terms, weight
            None: default), `maskd` (weight: the mask rate, None: default), `vision_d` and `adapters` (weight
            always None).

    Example:
        >>> strategy = parse_strategy("freeze_d:1")
        >>> generator, discriminator, info = strategy.prepare(source.generator, source.discriminator)
    """

    name: str
    frozen_blocks: Optional[int] = None
    regularizers: Tuple[Tuple[str, Optional[float]], ...] = ()

    @property
    def uses_backbone(self):
        """True when the strategy builds on a frozen pretrained backbone (`feature_d`, `+vision_d`)."""
        return self.name == "feature_d" or "vision_d" in dict(self.regularizers)

    @property
    def is_auto(self):
        """True for `auto`: the training code runs `kgantl.transfer.auto` pilots to pick the real strategy."""
        return self.name == "auto"

    def __str__(self):
        parts = [f"{self.name}:{self.frozen_blocks}" if self.name == "freeze_d" else self.name]
        parts += [name if weight is None else f"{name}:{weight:g}" for name, weight in self.regularizers]
        return "+".join(parts)

    def generator_penalties(self, generator, discriminator, class_ids=None, seed=0):
        """The generator-loss terms of this strategy's regularisers, anchored at the networks as they are now.

        Args:
            generator: the source generator, before any training (and before freezing matters:
                nothing here trains either network).
            discriminator: the source discriminator, likewise.
            class_ids: labels EWC's Fisher estimate draws for a conditional generator.
            seed: seed of that estimate.

        Returns:
            list of callables for `GAN.add_generator_penalty`.
        """
        from kgantl.transfer.regularizers import CDCPenalty, EWCPenalty

        penalties = []
        for name, weight in self.regularizers:
            if name not in REGULARIZERS:
                continue
            weight = DEFAULT_WEIGHTS[name] if weight is None else weight
            if name == "cdc":
                penalties.append(CDCPenalty(generator, weight=weight))
            else:
                penalties.append(EWCPenalty(generator, discriminator, weight=weight, seed=seed, class_ids=class_ids))
        return penalties

    def load_data(self, reptile_data):
        """The data this strategy needs besides the target (Reptile's source tasks), checked and loaded.

        Args:
            reptile_data: the source data spec whose classes are Reptile's tasks (the `reptile_data` option).

        Returns:
            `ImageArrays`, or None when the strategy needs none.

        Raises:
            ValueError: this strategy needs data that `reptile_data` does not give.
        """
        if self.name != "reptile":
            return None
        if not reptile_data:
            raise ValueError("strategy reptile needs reptile_data, the source spec whose classes are the tasks "
                             "(e.g. fashion_mnist:0-4). Received: reptile_data=None")
        from kgantl.data.pipeline import load_arrays

        return load_arrays(reptile_data)

    def prepare(self, generator, discriminator, backbone=None, seed=0):
        """The networks this strategy trains, made from a source GAN's (changed in place where frozen).

        Args:
            generator: the source GAN's generator (already made conditional if requested).
            discriminator: the source GAN's discriminator, likewise.
            backbone: the frozen feature network of `feature_d` and `+vision_d`: a parsed
                `kgantl.transfer.backbone.Backbone` (`prepare_transfer` and the run's resolver parse it), or what
                `feature_discriminator` takes (a family name, a `.keras` path, a `keras.Model`).
            seed: seed of any new weights (the `feature_d` head, the vision heads).

        Returns:
            `(generator, discriminator, info)`, info saying what was frozen.
        """
        if self.is_auto:
            raise ValueError("auto is not a strategy to prepare: choose one with kgantl.transfer.auto first. "
                             "Received: strategy='auto'")
        if self.uses_backbone and backbone is None:
            raise ValueError(f"strategy {self} needs its backbone: pass a parsed Backbone (prepare_transfer parses "
                             f"one). Received: backbone=None")
        network = getattr(backbone, "network", backbone)
        info = {"strategy": str(self)}
        if self.name == "freeze_d":
            info["frozen"] = gan_transfer.freeze_discriminator_blocks(discriminator, self.frozen_blocks)
        elif self.name == "feature_d":
            if len(generator.inputs) == 2:
                raise ValueError("feature_d builds an unconditional discriminator; use it with an unconditional "
                                 "target. Received: a conditional GAN")
            discriminator = gan_transfer.feature_discriminator(network, tuple(generator.output_shape[1:]), seed=seed)
            info["frozen"] = ["d_features"]
        additions = dict(self.regularizers)
        if "maskd" in additions:
            from kgantl.transfer.maskd import DEFAULT_MASK_RATE, mask_discriminator

            rate = additions["maskd"]
            discriminator = mask_discriminator(discriminator, DEFAULT_MASK_RATE if rate is None else rate,
                                               seed=seed + 29)
        if "adapters" in additions:
            from kgantl.transfer.adapters import adapt_generator

            generator = adapt_generator(generator)
            info["frozen"] = info.get("frozen", []) + ["generator source weights (adapters train)"]
        if "vision_d" in additions:
            vision = gan_transfer.vision_discriminator(network, tuple(generator.output_shape[1:]), seed=seed + 17)
            discriminator = gan_transfer.with_vision_discriminator(discriminator, vision)
            info["frozen"] = info.get("frozen", []) + ["vd_features"]
        return generator, discriminator, info

    def before_fit(self, gan, initial_epoch, data=None, **reptile_settings):
        """Reptile meta-training over the classes of `data` (from `load_data`), on a fresh run only.

        After a checkpoint its result is already in the restored weights, so a resumed run skips it.

        Args:
            gan: the compiled GAN about to be fitted.
            initial_epoch: the epoch the run starts from (0: a fresh run).
            data: `load_data`'s `ImageArrays` (Reptile's tasks).
            **reptile_settings: `kgantl.transfer.reptile.reptile`'s keyword arguments (`meta_iterations`,
                `inner_steps`, `meta_step_size`, `batch_size`, `seed`).
        """
        if self.name != "reptile" or initial_epoch > 0:
            return
        from kgantl.transfer.reptile import reptile

        if data is None:
            raise ValueError("strategy reptile needs its task data: pass load_data's result. Received: data=None")
        reptile(gan, data, **reptile_settings)

    def phases(self, epochs, phase_epochs=1, initial_epoch=0):
        """`(start, end, phase)` per `fit` call; phase `"discriminator"` / `"generator"` trains only that
        network, None trains both."""
        if self.name == "alternate":
            return list(gan_transfer.alternating_phases(epochs, phase_epochs, initial_epoch))
        return [(initial_epoch, epochs, None)] if initial_epoch < epochs else []


def _parse_regularizer(part, text):
    if part in ("vision_d", "adapters"):
        return part, None
    match = re.fullmatch(r"(cdc|ewc|maskd)(?::([0-9.eE+-]+))?", part)
    try:
        weight = None if not match or match.group(2) is None else float(match.group(2))
    except ValueError:
        match = None
    if match and match.group(1) == "maskd" and weight is not None and not 0 < weight < 1:
        raise ValueError(f"maskd's rate (the share of D's feature positions masked) must be in (0, 1). "
                         f"Received: {part!r} in {text!r}")
    if not match or (weight is not None and not weight > 0):
        raise ValueError(f"strategy parts after the base must be {', '.join(ADDITIONS)}, cdc and ewc with an "
                         f"optional positive weight (cdc:0.5), maskd with an optional rate in (0, 1) (maskd:0.3). "
                         f"Received: {part!r} in {text!r}")
    return match.group(1), weight


def parse_strategy(text):
    """`"freeze_d:2"` -> `Strategy("freeze_d", 2)`; `"freeze_d:1+cdc"` adds CDC; a `Strategy` is returned as it is.

    Raises:
        ValueError: not one of `STRATEGIES`, optionally followed by `+cdc[:W]` / `+ewc[:W]` (each at most once).
    """
    if isinstance(text, Strategy):
        return text
    parts = str(text).split("+")
    if re.fullmatch(r"(cdc|ewc|vision_d|maskd|adapters)(:.*)?", parts[0]):  # an addition alone: finetune with it
        parts = ["finetune", *parts]
    base = re.fullmatch(r"(finetune|alternate|feature_d|reptile|auto)|freeze_d:(\d+)", parts[0])
    if base is None:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)} (K a block count), optionally followed "
                         f"by +{' / +'.join(ADDITIONS)}. Received: {text!r}")
    if base.group(1) == "auto" and len(parts) > 1:
        raise ValueError(f"auto chooses among composed strategies itself and takes no +parts. Received: {text!r}")
    regularizers = tuple(_parse_regularizer(part, text) for part in parts[1:])
    names = [name for name, _ in regularizers]
    if len(set(names)) != len(names):
        raise ValueError(f"each addition (regulariser, vision_d) may appear once in a strategy. Received: {text!r}")
    if base.group(2):
        return Strategy("freeze_d", int(base.group(2)), regularizers)
    return Strategy(base.group(1), None, regularizers)


def prepare_transfer(source, strategy, backbone=None, augment=None, ema_decay=0.999, seed=0, num_classes=None,
                     class_ids=None, **gan_kwargs):
    """Turn a source GAN into the uncompiled GAN a strategy trains.

    Args:
        source: a `GAN`, or a path `kgantl.runs.artifacts.load_gan` opens (`.keras` file, `saved_models/<name>`
            folder, run directory).
        strategy: a `Strategy` or its text (see `STRATEGIES`).
        backbone: the frozen feature network of `feature_d` and `+vision_d`: a family name of
            `kgantl.classifier.backbones.BACKBONES` (ImageNet weights), a shipped model's name, a `.keras` file, a
            `keras.Model` or a parsed `Backbone` (default: the one for the images' channels,
            `kgantl.transfer.backbone.DEFAULT_BACKBONES`: `fmnist-0-4-backbone` for grey; colour images need one).
        augment: DiffAugment policy for the new GAN.
        ema_decay: EMA decay of the new GAN (the EMA restarts from the source generator).
        seed: seed of the new GAN's noise.
        num_classes: turn an unconditional source into a `ConditionalGAN` with this many classes
            (see `kgantl.transfer.gan_transfer.to_conditional`).
        class_ids: the target's classes, kept by a conditional GAN so sampling refuses the others.
        **gan_kwargs: further `GAN` arguments (e.g. `ada_target`).

    Returns:
        `(gan, info)`: the GAN to compile and fit (for `alternate`, phase by phase), and a dict describing what was
            frozen.

    Example:
        >>> gan, info = prepare_transfer("saved_models/source-fmnist-0-4", "freeze_d:1")
    """
    from kgantl.models import ConditionalGAN
    from kgantl.runs.artifacts import load_gan

    strategy = parse_strategy(strategy)
    gan = load_gan(source) if isinstance(source, (str, os.PathLike)) else source
    generator, discriminator, model_class = gan.generator, gan.discriminator, type(gan)
    converted = num_classes is not None and len(generator.inputs) == 1
    if converted:
        generator, discriminator = gan_transfer.to_conditional(gan, num_classes, seed=seed)
        model_class = ConditionalGAN
    # Anchored at the source networks, before the strategy swaps or freezes anything.
    penalties = strategy.generator_penalties(generator, discriminator, class_ids=class_ids, seed=seed)
    if strategy.uses_backbone:
        from kgantl.transfer.backbone import parse_backbone

        backbone = parse_backbone(backbone, tuple(generator.output_shape[1:]))
    generator, discriminator, info = strategy.prepare(generator, discriminator, backbone=backbone, seed=seed)
    if converted:
        info["converted_to_conditional"] = num_classes
    kwargs = dict(augment=augment, ema_decay=ema_decay, seed=seed, **gan_kwargs)
    if issubclass(model_class, ConditionalGAN):
        kwargs["class_ids"] = class_ids
    gan = model_class(generator, discriminator, **kwargs)
    for penalty in penalties:
        gan.add_generator_penalty(penalty)
    info["regularizers"] = [name for name, _ in strategy.regularizers]
    return gan, info


__all__ = ["STRATEGIES", "Strategy", "parse_strategy", "prepare_transfer"]
