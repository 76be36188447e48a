"""The image size and channels a run trains at, from its data (a new GAN) or its source (a transfer run), and the
lines saying what that converts: the rules of docs/guide.md, "Your own images".

Part of the resolver (`kgantl.resolve`), apart so that each stays one job: this one decides shapes, nothing else.
"""
import dataclasses

from kgantl.config import FROM_SOURCE, OptionError, TrainOptions
from kgantl.sizes import MAX_DEFAULT_SIZE, MAX_IMPLICIT_SHRINK, builder_sizes, shrink_factor, size_for_data
from kgantl.transfer.gan_transfer import source_architecture


def resolve_new_architecture(options, arrays):
    """A new GAN's image size, channels and design: the data's size and colour unless given.

    `image_size` defaults to the builder size nearest the images' larger side (`kgantl.sizes.size_for_data`, at
    most 128), refused where that shrinks them more than 2x (the message gives the flag); `channels` to the data's
    (colour stays colour); the rest from `TrainOptions.with_architecture_defaults` (the design by size).

    Args:
        options: validated `TrainOptions` without a source.
        arrays: the training `ImageArrays`.

    Returns:
        The options with `image_size`, `channels`, `latent_dim`, `width` and `to_image` set.

    Example:
        >>> resolve_new_architecture(TrainOptions(data="photos"), load_arrays("photos")).image_size  # 64x64 photos
        64
    """
    height, width, data_channels = arrays.images.shape[1:]
    size = options.image_size
    if size is None:
        size = size_for_data(height, width)
        _refuse_implicit_shrink(options, height, width, size, f"the default image size (the data's, at most "
                                                              f"{MAX_DEFAULT_SIZE})")
    channels = run_channels(options, data_channels)
    return dataclasses.replace(options, image_size=size, channels=channels).with_architecture_defaults()


def _refuse_implicit_shrink(options, height, width, size, why):
    factor = shrink_factor(height, width, size)
    if factor > MAX_IMPLICIT_SHRINK:
        raise OptionError("image_size", f"the images of {options.data} are {height}x{width} and {why} is {size}: "
                                        f"that shrinks them {factor:.1f}x, more than kgantl does unasked. Give "
                                        f"image_size {size} (--image-size {size}) to accept it"
                                        + ("" if options.source else
                                           f", or another size ({', '.join(map(str, builder_sizes(512)))})")
                                        + f". Received: image_size=None")


def resolve_transfer_architecture(options, arrays, source):
    """A transfer run's architecture: the source's, with two rules for a target that differs.

    - Size: the target images are resized to the source's image size; shrinking them more than 2x needs
      `image_size` given as the source's size (it is refused otherwise). Any other `image_size` is refused.
    - Colour: `channels` defaults to 3 if the target or the source is colour. Grayscale targets with a colour
      source are repeated to three channels. A grayscale source with a colour run is expanded to colour
      (`kgantl.transfer.colour.to_colour`: G's output layer and D's input layer take three channels, every other
      weight transfers as it is). A colour source with `channels` 1 is refused.

    Args:
        options: validated `TrainOptions` with `source` set, budget resolved.
        arrays: the target `ImageArrays`.
        source: the loaded source `GAN`.

    Returns:
        The resolved `TrainOptions` (the source's architecture, the run's channels).
    """
    taken = source_architecture(source.generator, source.discriminator)
    unset = {f.name: f.default for f in dataclasses.fields(TrainOptions) if f.name in FROM_SOURCE}
    for name in FROM_SOURCE:
        given = getattr(options, name)
        if name != "channels" and given != unset[name] and given != taken[name]:
            raise OptionError(name, f"{name} comes from the source GAN, which has {taken[name]}: leave it out or give "
                             f"{taken[name]} (the target images are resized to the source's size). "
                             f"Received: {name}={given}")
    height, width, data_channels = arrays.images.shape[1:]
    if options.image_size is None:
        _refuse_implicit_shrink(options, height, width, taken["image_size"], "the source GAN's image size")
    channels = run_channels(options, data_channels, taken["channels"])
    if channels == 1 and taken["channels"] == 3:
        raise OptionError("channels", f"the source GAN {options.source} makes colour images and a grayscale run "
                                      f"cannot start from it: leave channels out (grayscale targets are repeated to "
                                      f"three channels). Received: channels=1")
    conditional = options.conditional or len(source.generator.inputs) == 2
    return dataclasses.replace(options, **{**taken, "channels": channels}, conditional=conditional)


def run_channels(options, data_channels, source_channels=None):
    """The channels a run trains at: `options.channels` if given, else colour (3) if the data or the source is.

    The one rule `resolve_transfer_architecture` and `resolve_new_architecture` apply, also read before them by
    the few-shot defaults (`kgantl.run_defaults.resolve_few_shot_defaults`), which take a colour run's recipe from
    the colour benchmark: a grey source with a colour target is expanded to colour and a grey target with a colour
    source repeated to three channels, so either run trains in colour.

    Args:
        options: `TrainOptions` (`channels` None: unset).
        data_channels: the target images' channels.
        source_channels: the source GAN's channels, or None without a source.

    Returns:
        1 or 3 (or `options.channels` as given).

    Example:
        >>> run_channels(TrainOptions(data="emoji.npz", source="source-fmnist-0-4"), 3, 1)
        3
    """
    return options.channels or max(source_channels or 1, 1 if data_channels == 1 else 3)


def conversions(options, arrays, source_channels=None):
    """Lines saying what the run does to the data and the source that the user did not store: the loader's (a
    folder's images made one mode and size), a resize to `image_size`, a change of channels, a source expanded
    to colour. What a dry run prints and a run logs.

    Args:
        options: resolved `TrainOptions`.
        arrays: the training `ImageArrays`.
        source_channels: the source GAN's channels (transfer runs), else None.

    Returns:
        tuple of str.
    """
    height, width, data_channels = arrays.images.shape[1:]
    size, lines = options.image_size, list(arrays.conversions)
    if (height, width) != (size, size):
        lines.append(f"resizing the {height}x{width} images of {options.data} to {size}x{size}"
                     + (" (the source GAN's size)" if options.source else ""))
    if data_channels == 1 and options.channels == 3:
        lines.append(f"grayscale images of {options.data} repeated to three channels (a colour "
                     + ("source GAN)" if source_channels == 3 else "run: channels 3)"))
    if data_channels != 1 and options.channels == 1:
        lines.append(f"colour images of {options.data} made grayscale (channels 1 was given)")
    if source_channels == 1 and options.channels == 3:
        lines.append(f"source GAN {options.source} expanded from grayscale to colour: its generator's output layer "
                     f"and its discriminator's input layer take three channels (starting as grey), every other "
                     f"weight transferred (kgantl.transfer.colour)")
    return tuple(lines)


__all__ = ["conversions", "resolve_new_architecture", "resolve_transfer_architecture"]
