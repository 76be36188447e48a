"""A grayscale source GAN made colour, so it can be adapted to colour images: the rule of `kgantl transfer` when the
target is colour and the source is not.

The two layers that touch pixels take three channels; every other weight transfers as it is:
- the generator's output layer (`g_to_image`, a convolution or a transposed one) is copied to each of the three outputs, so the colour generator
  starts by drawing the source's grey images in RGB (R = G = B), exactly;
- the discriminator's first convolution (`d_block1_conv`) splits its kernel equally over the three inputs, so on a
  grey image in RGB it computes exactly what the source did, and on a colour image it sees the channels' mean.
  With spectral normalisation the split kernel's largest singular value is the source's over sqrt(3); the first
  training step normalises it again, so that layer's response to grey images grows by sqrt(3) (the rest of the
  discriminator is unchanged).

Only networks built by kgantl's builders are expanded (the layers are found by name); others are refused.
"""
import numpy as np

from kgantl.transfer.gan_transfer import copy_matching_weights, source_architecture

TO_IMAGE = "g_to_image"
FIRST_CONV = "d_block1_conv"


def _conv(model, name):
    """The named convolution of a kgantl network, inside its spectral-normalisation wrapper if it has one."""
    names = {layer.name: layer for layer in model.layers}
    if name in names:
        return names[name], None
    wrapper = names.get(f"{name}_sn")
    if wrapper is None:
        raise ValueError(f"a grayscale source GAN is expanded to colour by its layer {name!r}, which "
                         f"{model.name} has not (not built by kgantl's builders): give channels 1 (--channels 1) "
                         f"to train in grayscale. Received: layers {', '.join(sorted(names))}")
    return wrapper.layer, wrapper


def _colour_networks(gan, seed):
    """New three-channel G and D of the source's architecture, every other layer's weights copied."""
    from kgantl.models import build_discriminator, build_generator
    from kgantl.models.builders import generator_to_image

    generator, discriminator = gan.generator, gan.discriminator
    shape = source_architecture(generator, discriminator)
    conditional = len(generator.inputs) == 2
    classes = generator.get_layer("g_label_embedding").input_dim if conditional else None
    first, _ = _conv(discriminator, FIRST_CONV)
    new_generator = build_generator(shape["image_size"], 3, shape["latent_dim"], shape["width"], num_classes=classes,
                                    norm=shape["norm"], seed=seed, name=generator.name,
                                    to_image=generator_to_image(generator))
    new_discriminator = build_discriminator(shape["image_size"], 3, int(first.filters), num_classes=classes,
                                            spectral_norm=shape["spectral_norm"], seed=seed,
                                            name=discriminator.name)
    for old, new, expanded in ((generator, new_generator, TO_IMAGE), (discriminator, new_discriminator, FIRST_CONV)):
        copied = set(copy_matching_weights(old, new))
        missing = [layer.name for layer in old.layers if layer.weights and layer.name not in copied
                   and layer.name not in (expanded, f"{expanded}_sn")]
        if missing:
            raise ValueError(f"a grayscale source GAN is expanded to colour layer by layer, and {old.name}'s "
                             f"layers {', '.join(missing)} have no match in kgantl's builders: give channels 1 "
                             f"(--channels 1) to train in grayscale")
    return new_generator, new_discriminator


def _expand(old, new, name, spread):
    """Copy `name`'s kernel and bias from `old` to `new`, widened to three channels by `spread`."""
    old_conv, old_wrapper = _conv(old, name)
    new_conv, new_wrapper = _conv(new, name)
    kernel, bias = (np.asarray(w) for w in (old_conv.kernel, old_conv.bias))
    new_kernel, new_bias = spread(kernel, bias)
    new_conv.kernel.assign(new_kernel)
    new_conv.bias.assign(new_bias)
    if old_wrapper is not None:  # the power iteration's vector depends on the output side only
        new_wrapper.vector_u.assign(np.asarray(old_wrapper.vector_u))


def to_colour(gan, seed=0):
    """The grayscale `gan` as a colour GAN of the same kind and weights (see the module docstring for the rule).

    Args:
        gan: a grayscale `GAN` or `ConditionalGAN` whose networks kgantl's builders made.
        seed: seed of the rebuilt networks' initialisers (every weight is then overwritten).

    Returns:
        A `GAN` (or `ConditionalGAN`, keeping its trained classes) of three channels, uncompiled, without EMA.

    Raises:
        ValueError: `gan` is already colour, or its networks are not kgantl's.

    Example:
        >>> colour = to_colour(kgantl.open_generator("source-fmnist-0-4"))  # doctest: +SKIP
    """
    from kgantl.models import ConditionalGAN

    channels = gan.generator.output_shape[-1]
    if channels != 1:
        raise ValueError(f"to_colour expands a grayscale GAN. Received: a GAN of {channels} channels")
    from kgantl.models.builders import generator_to_image

    generator, discriminator = _colour_networks(gan, seed)
    # A convolution's kernel is (h, w, in, out); a transposed convolution's is (h, w, out, in).
    outputs = 2 if generator_to_image(gan.generator) == "convt" else 3
    _expand(gan.generator, generator, TO_IMAGE,
            lambda kernel, bias: (np.repeat(kernel, 3, axis=outputs), np.repeat(bias, 3)))
    _expand(gan.discriminator, discriminator, FIRST_CONV,
            lambda kernel, bias: (np.repeat(kernel, 3, axis=2) / 3.0, bias))
    kwargs = {"class_ids": gan.trained_class_ids()} if isinstance(gan, ConditionalGAN) else {}
    return type(gan)(generator, discriminator, ema_decay=0.0, **kwargs)


__all__ = ["to_colour"]
