"""The building blocks of few-shot GAN transfer; `kgantl.transfer.strategy` combines them into strategies.

- `freeze_discriminator_blocks`: FreezeD, the lowest K discriminator blocks keep their source weights.
- `alternating_phases` / `set_phase` / `fit_alternating`: train D with G frozen, then G with D frozen.
- `feature_discriminator`: a frozen pretrained feature network with a small trainable head as D.
- `to_conditional`: an unconditional source made conditional, computing exactly what it did at the start.

Reference: Mo et al., Freeze the Discriminator: a Simple Baseline for Fine-Tuning GANs,
https://arxiv.org/abs/2002.10964 ; Wang et al., Transferring GANs, https://arxiv.org/abs/1805.01677
"""
import re

import keras

from kgantl.classifier.backbones import BACKBONES, fed_backbone
from kgantl.classifier.model import InferenceMode, InputAdapter
from kgantl.models.builders import generator_to_image


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

    The GAN's images are resized and converted to the backbone's input inside the model: to a `.keras` file's or
    a `keras.Model`'s own input shape, or for a `keras.applications` family to RGB at the images' side, raised to
    the family's minimum (32) when smaller.

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
    from kgantl.classifier.model import feature_model

    network, preprocess, size, channels = fed_backbone(backbone, image_shape)
    if not (isinstance(backbone, str) and backbone in BACKBONES):
        network = feature_model(network, feature_layer)
    network.trainable = False
    images = keras.Input(image_shape, name="images")
    h = InputAdapter(size, channels, preprocess, name="d_input_adapter")(images)
    h = InferenceMode(network, name="d_features")(h)
    if len(h.shape) == 4:
        h = keras.layers.GlobalAveragePooling2D(name="d_pool")(h)
    h = keras.layers.Dense(head_units, kernel_initializer=keras.initializers.GlorotUniform(seed), name="d_head_dense")(h)
    h = keras.layers.LeakyReLU(0.2, name="d_head_act")(h)
    logits = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed + 1), name="d_logit")(h)
    return keras.Model(images, logits, name=name)


def _multiscale_outputs(network, scales):
    """The last layer output at each of the `scales` coarsest spatial sizes of a convolutional network."""
    last_at_size = {}
    for layer in network.layers[1:]:
        if len(layer.output.shape) == 4:
            last_at_size[tuple(layer.output.shape[1:3])] = layer.output
    if not last_at_size:
        raise ValueError(f"A vision-aided discriminator needs a backbone with spatial feature maps. Received: "
                         f"{network.name} with no 4-D layer output")
    return [last_at_size[size] for size in sorted(last_at_size, reverse=True)[-scales:]]


def vision_discriminator(backbone, image_shape, scales=2, head_filters=32, seed=0, name="vision_discriminator"):
    """A discriminator made of a frozen pretrained backbone's multi-scale feature maps and small trainable heads.

    Each chosen feature map (the last layer at each of the `scales` coarsest spatial sizes) feeds a head (1x1 convolution,
    LeakyReLU, global average pooling, one logit); the logit is the sum of the heads'. The backbone runs in
    inference mode and never trains. The images are fed to the backbone as `feature_discriminator` feeds them.

    Args:
        backbone: a `.keras` classifier file (its convolutional part is used), a `keras.Model`, or a
            `keras.applications` name (ImageNet weights).
        image_shape: the GAN's image shape.
        scales: number of feature-map sizes used.
        head_filters: channels of each head's 1x1 convolution.
        seed: seed of the heads' initial weights.

    Returns:
        A `keras.Model` images -> logits (N, 1).

    Reference: Kumari et al., Ensembling Off-the-shelf Models for GAN Training, https://arxiv.org/abs/2112.09130
    """
    network, preprocess, size, channels = fed_backbone(backbone, image_shape)
    features = keras.Model(network.inputs, _multiscale_outputs(network, scales), name=f"{name}_features")
    features.trainable = False
    images = keras.Input(image_shape, name="images")
    h = InputAdapter(size, channels, preprocess, name="vd_input_adapter")(images)
    maps = InferenceMode(features, name="vd_features")(h)
    maps = maps if isinstance(maps, (list, tuple)) else [maps]
    logits = []
    for i, feature_map in enumerate(maps):
        x = keras.layers.Conv2D(head_filters, 1, kernel_initializer=keras.initializers.GlorotUniform(seed + 2 * i),
                                name=f"vd_head{i + 1}_conv")(feature_map)
        x = keras.layers.LeakyReLU(0.2, name=f"vd_head{i + 1}_act")(x)
        x = keras.layers.GlobalAveragePooling2D(name=f"vd_head{i + 1}_pool")(x)
        logits.append(keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed + 2 * i + 1),
                                         name=f"vd_head{i + 1}_logit")(x))
    logit = keras.layers.Add(name="vd_logit")(logits) if len(logits) > 1 else logits[0]
    return keras.Model(images, logit, name=name)


def with_vision_discriminator(discriminator, vision):
    """The GAN's own discriminator and a vision-aided one as one model whose logits are (N, 2): base, vision.

    kgantl's losses average over every logit, so each is the mean of the two discriminators' losses: the
    vision D's loss is added to the base D's (at half weight each), the generator is judged by both, and
    DiffAugment reaches both. A conditional base keeps its labels; the vision D sees images only.

    Returns:
        A `keras.Model` with the base's inputs.
    """
    inputs = [keras.Input(tuple(t.shape[1:]), dtype=t.dtype, name=t.name.split(":")[0].split("/")[0])
              for t in discriminator.inputs]
    base = discriminator(inputs if len(inputs) > 1 else inputs[0])
    aided = vision(inputs[0])
    logits = keras.layers.Concatenate(name="d_and_vision_logits")([base, aided])
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], logits, name="vision_aided_discriminator")


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


def source_architecture(generator, discriminator):
    """What a transfer run takes from its source: the `TrainOptions` fields that describe its networks.

    Image size, channels and latent size come from any generator; width, normalisation and spectral
    normalisation are read from kgantl-built networks (None where the layers are not kgantl's).

    Returns:
        dict with `image_size`, `channels`, `latent_dim`, `width`, `norm`, `spectral_norm`, `to_image`.
    """
    from kgantl.transfer.wrapped import unwrapped

    height, _, channels = generator.output_shape[1:]
    layers = {unwrapped(layer).name: unwrapped(layer) for layer in generator.layers}  # adapters: the source layer
    upsampling = sorted(name for name in layers if name.endswith("_convt"))
    return {
        "image_size": int(height), "channels": int(channels), "latent_dim": int(generator.inputs[0].shape[-1]),
        "width": int(layers[upsampling[-1]].filters) if upsampling else None,
        "norm": "batch" if any(isinstance(layer, keras.layers.BatchNormalization) for layer in generator.layers)
        else "none",
        "spectral_norm": any(isinstance(layer, keras.layers.SpectralNormalization) for layer in discriminator.layers),
        "to_image": generator_to_image(generator),
    }


def to_conditional(gan, num_classes, seed=0):
    """A `ConditionalGAN` that starts as the unconditional `gan`: shared weights, new label embeddings.

    The generator's embedding starts at ones and the discriminator's projection embedding at zeros, so
    before training the conditional networks compute exactly what the source networks did.

    Returns:
        `(generator, discriminator)` with label inputs.
    """
    from kgantl.models import build_discriminator, build_generator

    generator, discriminator = gan.generator, gan.discriminator
    shape = source_architecture(generator, discriminator)
    height, channels, spectral = shape["image_size"], shape["channels"], shape["spectral_norm"]
    new_generator = build_generator(height, channels, shape["latent_dim"], shape["width"], num_classes=num_classes,
                                    norm=shape["norm"], seed=seed, to_image=generator_to_image(generator))
    first = discriminator.get_layer("d_block1_conv_sn" if spectral else "d_block1_conv")
    d_width = (first.layer if spectral else first).filters
    new_discriminator = build_discriminator(height, channels, int(d_width), num_classes=num_classes,
                                            spectral_norm=spectral, seed=seed)
    copy_matching_weights(generator, new_generator)
    copy_matching_weights(discriminator, new_discriminator)
    embedding = new_discriminator.get_layer("d_label_embedding")
    embedding.set_weights([keras.ops.convert_to_numpy(keras.ops.zeros_like(embedding.weights[0]))])
    return new_generator, new_discriminator


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


__all__ = ["alternating_phases", "copy_matching_weights", "discriminator_blocks", "feature_discriminator",
           "fit_alternating", "freeze_discriminator_blocks", "set_phase", "source_architecture", "to_conditional",
           "vision_discriminator", "with_vision_discriminator"]
