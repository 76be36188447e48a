"""DCGAN-style generator and discriminator builders (functional Keras models), plain or conditional.

With `width=64`, `resolution=28`, `channels=1`, `latent_dim=128`, `norm="none"` the pair is exactly the
reference DCGAN of kgantl's benchmark protocol; with `resolution=64`, `channels=3`, `to_image="convt"` the
generator is its 64x64x3 colour reference's. Layers are named by block (`d_block1_conv`, ...) so that transfer
strategies such as FreezeD can address them.
"""
import keras
from keras import layers

from kgantl.sizes import MAX_WIDTH_MULTIPLIER, upsampling_plan

def _initializer(seed, index):
    return keras.initializers.GlorotUniform(seed=None if seed is None else seed * 1000 + index)


def _check_common(channels, width, num_classes):
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3. Received: channels={channels!r}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive integer. Received: width={width!r}")
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 2):
        raise ValueError(f"num_classes must be an integer >= 2 or None. Received: num_classes={num_classes!r}")


TO_IMAGE = ("conv5", "convt")


def _check_generator(norm, latent_dim, to_image):
    if norm not in ("none", "batch"):
        raise ValueError(f"norm must be 'none' or 'batch'. Received: norm={norm!r}")
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer. Received: latent_dim={latent_dim!r}")
    if to_image not in TO_IMAGE:
        raise ValueError(f"to_image must be one of {TO_IMAGE}. Received: to_image={to_image!r}")


def build_generator(resolution=28, channels=1, latent_dim=128, width=64, num_classes=None, norm="none",
                    seed=None, name="generator", to_image="conv5"):
    """DCGAN generator: Dense -> Reshape -> (ConvTranspose 4x4/2, LeakyReLU) x stages -> image.

    Args:
        resolution: output side (see `upsampling_plan`).
        channels: 1 or 3 output channels.
        latent_dim: size of the noise vector.
        width: channels of the last hidden stage; earlier stages double it (capped at 8x).
        num_classes: if set, the model takes `[noise, labels]` and multiplies the noise by a learned
            per-class embedding (initialised to ones, so it starts as the unconditional generator).
        norm: `"none"` or `"batch"` (BatchNormalization after the dense and each upsampling layer).
        seed: int seed for the weight initialisers, or None.
        name: model name.
        to_image: how the image is made. `"conv5"` (default): every stage is a hidden ConvTranspose
            block and a 5x5 tanh convolution at full resolution makes the image. `"convt"`: the classic
            DCGAN; the last stage is itself the image layer, ConvTranspose(channels, 4, 2, tanh), so there
            is one hidden block fewer and block i has the filters `"conv5"` gives block i + 1: fewer
            channels at high resolution (at 64x64x3 and width 64, exactly the benchmark protocol's colour
            reference generator, about a fifth of `"conv5"`'s multiply-adds). Either
            way the image layer is named `g_to_image` and the hidden blocks `g_block{i}_convt`.

    Returns:
        A functional `keras.Model` producing images in [-1, 1] of shape (resolution, resolution, channels).

    Example:
        >>> g = build_generator(resolution=32, channels=3, latent_dim=64, width=32)
        >>> classic = build_generator(resolution=64, channels=3, to_image="convt")

    Reference: Radford et al., Unsupervised Representation Learning with Deep Convolutional GANs,
    https://arxiv.org/abs/1511.06434
    """
    _check_common(channels, width, num_classes)
    _check_generator(norm, latent_dim, to_image)
    base, stages = upsampling_plan(resolution)
    noise = keras.Input((latent_dim,), name="noise")
    h = noise
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        embedding = layers.Embedding(num_classes, latent_dim, embeddings_initializer="ones",
                                     name="g_label_embedding")(labels)
        h = layers.Multiply(name="g_condition")([noise, embedding])
    top_width = width * min(2 ** (stages - 1), MAX_WIDTH_MULTIPLIER)
    h = layers.Dense(base * base * top_width, kernel_initializer=_initializer(seed, 0), name="g_dense")(h)
    if norm == "batch":
        h = layers.BatchNormalization(name="g_dense_bn")(h)
        h = layers.LeakyReLU(0.2, name="g_dense_act")(h)
    h = layers.Reshape((base, base, top_width), name="g_reshape")(h)
    hidden = stages if to_image == "conv5" else stages - 1
    for i in range(hidden):
        filters = width * min(2 ** (hidden - 1 - i), MAX_WIDTH_MULTIPLIER)
        h = layers.Conv2DTranspose(filters, 4, 2, padding="same", kernel_initializer=_initializer(seed, i + 1),
                                   name=f"g_block{i + 1}_convt")(h)
        if norm == "batch":
            h = layers.BatchNormalization(name=f"g_block{i + 1}_bn")(h)
        h = layers.LeakyReLU(0.2, name=f"g_block{i + 1}_act")(h)
    images = _image_layer(to_image, channels, seed, stages)(h)
    return keras.Model([noise, labels] if num_classes is not None else noise, images, name=name)


def _image_layer(to_image, channels, seed, stages):
    """`g_to_image`: a 5x5 convolution at full resolution, or the last stage's transposed convolution."""
    if to_image == "conv5":
        return layers.Conv2D(channels, 5, padding="same", activation="tanh",
                             kernel_initializer=_initializer(seed, stages + 1), name="g_to_image")
    return layers.Conv2DTranspose(channels, 4, 2, padding="same", activation="tanh",
                                  kernel_initializer=_initializer(seed, stages), name="g_to_image")


def generator_to_image(generator):
    """The `to_image` a kgantl generator was built with, read from its `g_to_image` layer.

    Args:
        generator: a generator from `build_generator` (its layers may be wrapped, e.g. by transfer adapters).

    Returns:
        `"convt"` where `g_to_image` is a transposed convolution, else `"conv5"`.

    Example:
        >>> generator_to_image(build_generator(64, 3, to_image="convt"))
        'convt'
    """
    for layer in generator.layers:
        while isinstance(layer, layers.Wrapper):  # transfer adapters, spectral normalisation
            layer = layer.layer
        if layer.name == "g_to_image":
            return "convt" if isinstance(layer, layers.Conv2DTranspose) else "conv5"
    return "conv5"


def build_discriminator(resolution=28, channels=1, width=64, num_classes=None, spectral_norm=False, seed=None,
                        name="discriminator"):
    """DCGAN discriminator: (Conv 4x4/2, LeakyReLU) x stages -> Flatten -> Dense(1) logit.

    Args:
        resolution: input side (see `upsampling_plan`).
        channels: 1 or 3 input channels.
        width: filters of the first block; each later block doubles them (capped at 8x).
        num_classes: if set, the model takes `[images, labels]` and adds a projection term
            <embedding(label), features> to the logit (projection discriminator).
        spectral_norm: wrap every convolution and dense layer in `keras.layers.SpectralNormalization`.
        seed: int seed for the weight initialisers, or None.
        name: model name.

    Returns:
        A functional `keras.Model` returning one raw logit per image, shape (N, 1).

    Example:
        >>> d = build_discriminator(resolution=32, channels=3, width=32, spectral_norm=True)

    Reference: Miyato & Koyama, cGANs with Projection Discriminator, https://arxiv.org/abs/1802.05637 ;
    Miyato et al., Spectral Normalization for GANs, https://arxiv.org/abs/1802.05957
    """
    _check_common(channels, width, num_classes)
    _, stages = upsampling_plan(resolution)

    def maybe_sn(layer):
        return layers.SpectralNormalization(layer, name=layer.name + "_sn") if spectral_norm else layer

    images = keras.Input((resolution, resolution, channels), name="images")
    h = images
    for i in range(stages):
        filters = width * min(2 ** i, MAX_WIDTH_MULTIPLIER)
        conv = layers.Conv2D(filters, 4, 2, padding="same", kernel_initializer=_initializer(seed, i),
                             name=f"d_block{i + 1}_conv")
        h = maybe_sn(conv)(h)
        h = layers.LeakyReLU(0.2, name=f"d_block{i + 1}_act")(h)
    features = layers.Flatten(name="d_flatten")(h)
    logits = maybe_sn(layers.Dense(1, kernel_initializer=_initializer(seed, stages), name="d_logit"))(features)
    if num_classes is None:
        return _seed_power_iteration(keras.Model(images, logits, name=name), seed)
    labels = keras.Input((), dtype="int32", name="labels")
    embedding = layers.Embedding(num_classes, features.shape[-1], name="d_label_embedding",
                                 embeddings_initializer=keras.initializers.RandomUniform(
                                     -0.05, 0.05, seed=None if seed is None else seed * 1000 + 999))(labels)
    projection = layers.Dot(axes=1, name="d_projection")([embedding, features])
    logits = layers.Add(name="d_logit_conditional")([logits, projection])
    return _seed_power_iteration(keras.Model([images, labels], logits, name=name), seed)


def _seed_power_iteration(model, seed):
    """Give every SpectralNormalization's power-iteration vector a seeded start (Keras draws it unseeded)."""
    if seed is None:
        return model
    wrapped = [layer for layer in model.layers if isinstance(layer, layers.SpectralNormalization)]
    for i, layer in enumerate(wrapped):
        start = keras.random.truncated_normal(layer.vector_u.shape, stddev=0.02, seed=seed * 1000 + 500 + i)
        layer.vector_u.assign(start)
    return model
