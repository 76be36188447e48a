"""Few-shot GAN transfer strategies: start from a source GAN and adapt it to a handful of target images.

Strategies (selectable by name, all combinable with DiffAugment):
- `finetune`: every weight trains, usually with a lower learning rate.
- `freeze_d:K`: FreezeD, the lowest K discriminator blocks keep their source weights.
- `alternate`: phases that train D with G frozen, then G with D frozen, repeated.
- `feature_d`: the discriminator is a frozen pretrained feature network with a small trainable head.
- `reptile`: Reptile meta-training over source classes first (`kgantl.transfer.reptile`), then fine-tuning.

Reference: Mo et al., Freeze the Discriminator: a Simple Baseline for Fine-Tuning GANs,
https://arxiv.org/abs/2002.10964 ; Wang et al., Transferring GANs, https://arxiv.org/abs/1805.01677
"""
import os
import re
from pathlib import Path

import keras

from kgantl.transfer.backbones import build_backbone
from kgantl.transfer.classifier import InferenceMode, InputAdapter

STRATEGIES = ("finetune", "freeze_d:K", "alternate", "feature_d", "reptile")


def parse_strategy(text):
    """`"freeze_d:2"` -> `("freeze_d", 2)`; `"finetune"` -> `("finetune", None)`."""
    match = re.fullmatch(r"(finetune|alternate|feature_d|reptile)|freeze_d:(\d+)", str(text))
    if not match:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)} (K a block count). Received: {text!r}")
    return ("freeze_d", int(match.group(2))) if match.group(2) else (match.group(1), None)


def load_source_gan(source):
    """A source GAN from a `.keras` file, a `saved_models/<name>` folder or a run directory."""
    from kgantl.training import load_gan

    path = Path(source)
    if path.is_dir() and (path / "model.keras").is_file():
        path = path / "model.keras"
    return load_gan(path)


def discriminator_blocks(discriminator):
    """Block numbers of a kgantl discriminator, from the input up (`d_block1_*`, `d_block2_*`, ...)."""
    numbers = {int(m.group(1)) for layer in discriminator.layers
               for m in [re.match(r"d_block(\d+)_", layer.name)] if m}
    return sorted(numbers)


def freeze_discriminator_blocks(discriminator, count):
    """FreezeD: make the lowest `count` blocks of a kgantl discriminator non-trainable.

    Returns:
        Names of the frozen layers.
    """
    blocks = discriminator_blocks(discriminator)
    if not 0 <= count <= len(blocks):
        raise ValueError(f"freeze_d needs K between 0 and the discriminator's {len(blocks)} blocks. "
                         f"Received: K={count}")
    frozen = []
    for layer in discriminator.layers:
        match = re.match(r"d_block(\d+)_", layer.name)
        if match and int(match.group(1)) <= count and layer.weights:
            layer.trainable = False
            frozen.append(layer.name)
    return frozen


def feature_discriminator(backbone, image_shape, feature_layer=None, head_units=64, name="feature_discriminator",
                          seed=0):
    """A discriminator whose features come from a frozen pretrained network, with a small trainable head.

    Args:
        backbone: a `.keras` classifier file (e.g. `saved_models/fmnist-0-4-backbone/model.keras`, cut below
            its head), a `keras.Model`, or a `keras.applications` name (ImageNet weights).
        image_shape: the GAN's image shape.
        feature_layer: layer of a user model whose output is used (default: the input of its last layer).
        head_units: width of the head's hidden layer.
        seed: seed of the head's initial weights (Keras would otherwise draw them from its global state, so
            they would depend on what ran before in the process).

    Returns:
        A `keras.Model` images -> logits whose feature network is frozen and runs in inference mode.
    """
    from kgantl.transfer.classifier import feature_model

    is_named = isinstance(backbone, str) and not backbone.endswith(".keras")
    network, preprocess = build_backbone(backbone, (max(32, image_shape[0]),) * 2 + (3,))
    if not is_named:
        network = feature_model(network, feature_layer)
    network.trainable = False
    size, channels = tuple(network.inputs[0].shape[1:3]), int(network.inputs[0].shape[-1])
    images = keras.Input(image_shape, name="images")
    h = InputAdapter(size, channels, preprocess, name="d_input_adapter")(images)
    h = InferenceMode(network, name="d_features")(h)
    if len(h.shape) == 4:
        h = keras.layers.GlobalAveragePooling2D(name="d_pool")(h)
    h = keras.layers.Dense(head_units, kernel_initializer=keras.initializers.GlorotUniform(seed), name="d_head_dense")(h)
    h = keras.layers.LeakyReLU(0.2, name="d_head_act")(h)
    logits = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed + 1), name="d_logit")(h)
    return keras.Model(images, logits, name=name)


def copy_matching_weights(source, target):
    """Copy the weights of every layer of `source` whose name and weight shapes match one in `target`.

    Returns:
        Names of the layers copied.
    """
    copied = []
    by_name = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        match = by_name.get(layer.name)
        if match is not None and layer.weights and [w.shape for w in match.weights] == [w.shape for w in layer.weights]:
            layer.set_weights(match.get_weights())
            copied.append(layer.name)
    return copied


def to_conditional(gan, num_classes, seed=0):
    """A `ConditionalGAN` that starts as the unconditional `gan`: shared weights, new label embeddings.

    The generator's embedding starts at ones and the discriminator's projection embedding at zeros, so
    before training the conditional networks compute exactly what the source networks did.

    Returns:
        `(generator, discriminator)` with label inputs.
    """
    from kgantl.models import build_discriminator, build_generator

    generator, discriminator = gan.generator, gan.discriminator
    height, _, channels = generator.output_shape[1:]
    width = generator.get_layer(sorted(layer.name for layer in generator.layers
                                       if layer.name.endswith("_convt"))[-1]).filters
    norm = "batch" if any(isinstance(layer, keras.layers.BatchNormalization) for layer in generator.layers) else "none"
    spectral = any(isinstance(layer, keras.layers.SpectralNormalization) for layer in discriminator.layers)
    new_generator = build_generator(int(height), int(channels), int(generator.inputs[0].shape[-1]), int(width),
                                    num_classes=num_classes, norm=norm, seed=seed)
    first = discriminator.get_layer("d_block1_conv_sn" if spectral else "d_block1_conv")
    d_width = (first.layer if spectral else first).filters
    new_discriminator = build_discriminator(int(height), int(channels), int(d_width), num_classes=num_classes,
                                            spectral_norm=spectral, seed=seed)
    copy_matching_weights(generator, new_generator)
    copy_matching_weights(discriminator, new_discriminator)
    embedding = new_discriminator.get_layer("d_label_embedding")
    embedding.set_weights([keras.ops.convert_to_numpy(keras.ops.zeros_like(embedding.weights[0]))])
    return new_generator, new_discriminator


def prepare_transfer(source, strategy, backbone=None, augment=None, ema_decay=0.999, seed=0, num_classes=None,
                     **gan_kwargs):
    """Turn a source GAN into the uncompiled GAN a strategy trains.

    Args:
        source: a `GAN` or anything `load_source_gan` takes.
        strategy: see `STRATEGIES`.
        backbone: feature network for `feature_d` (default: `saved_models/fmnist-0-4-backbone`).
        augment: DiffAugment policy for the new GAN.
        ema_decay: EMA decay of the new GAN (the EMA restarts from the source generator).
        seed: seed of the new GAN's noise.
        num_classes: turn an unconditional source into a `ConditionalGAN` with this many classes
            (see `to_conditional`).
        **gan_kwargs: further `GAN` arguments (e.g. `ada_target`).

    Returns:
        `(gan, info)`: the GAN to compile and fit (for `alternate`, with `fit_alternating`), and a dict
        describing what was frozen.
    """
    name, count = parse_strategy(strategy)
    gan = load_source_gan(source) if isinstance(source, (str, os.PathLike)) else source
    generator, discriminator = gan.generator, gan.discriminator
    info = {"strategy": name}
    model_class = type(gan)
    if num_classes is not None and len(generator.inputs) == 1:
        from kgantl.models import ConditionalGAN

        generator, discriminator = to_conditional(gan, num_classes, seed=seed)
        model_class = ConditionalGAN
        info["converted_to_conditional"] = num_classes
    if name == "freeze_d":
        info["frozen"] = freeze_discriminator_blocks(discriminator, count)
    elif name == "feature_d":
        from kgantl.metrics.extractors import find_shipped_model

        if len(generator.inputs) == 2:
            raise ValueError("feature_d builds an unconditional discriminator; use it with an unconditional "
                             "target. Received: a conditional GAN")
        discriminator = feature_discriminator(backbone or str(find_shipped_model("fmnist-0-4-backbone")),
                                              tuple(generator.output_shape[1:]), seed=seed)
        info["frozen"] = ["d_features"]
    return model_class(generator, discriminator, augment=augment, ema_decay=ema_decay, seed=seed, **gan_kwargs), info


def alternating_phases(epochs, phase_epochs, initial_epoch=0):
    """`(start, end, phase)` for the `alternate` strategy: D-only phases at even phase numbers, G-only at odd.

    Phases follow from the epoch number alone, so a resumed run continues in the right phase.
    """
    start = initial_epoch
    while start < epochs:
        index = start // phase_epochs
        end = min(epochs, (index + 1) * phase_epochs)
        yield start, end, "discriminator" if index % 2 == 0 else "generator"
        start = end


def set_phase(gan, phase):
    """Make only the phase's network trainable (None: both) and recompile with the same optimizers."""
    gan.generator.trainable = phase in (None, "generator")
    gan.discriminator.trainable = phase in (None, "discriminator")
    gan.recompile()


def fit_alternating(gan, dataset, epochs, phase_epochs=1, steps_per_epoch=None, callbacks=(), verbose="auto",
                    **compile_kwargs):
    """Alternate phases: train D with G frozen for `phase_epochs`, then G with D frozen, until `epochs`.

    The same optimizers serve every phase (their state carries over); each phase boundary recompiles.

    Returns:
        list of `(phase, History.history)`, phase being `"discriminator"` or `"generator"`.
    """
    gan.compile(**compile_kwargs)
    results = []
    for start, end, phase in alternating_phases(epochs, phase_epochs):
        set_phase(gan, phase)
        history = gan.fit(dataset, epochs=end, initial_epoch=start, steps_per_epoch=steps_per_epoch,
                          callbacks=list(callbacks), verbose=verbose, shuffle=False)
        results.append((phase, history.history))
    set_phase(gan, None)
    return results


__all__ = ["STRATEGIES", "alternating_phases", "copy_matching_weights", "discriminator_blocks", "set_phase",
           "to_conditional", "feature_discriminator", "fit_alternating",
           "freeze_discriminator_blocks", "load_source_gan", "parse_strategy", "prepare_transfer"]
