"""The frozen pretrained network of `feature_d` and `+vision_d`: chosen by name or path, parsed once, and by default
the one made for the images' channels.

A backbone is one of:

- a `keras.applications` family of `kgantl.classifier.backbones.BACKBONES` (`vgg16`, `resnet50`, `mobilenet_v2`,
  `efficientnet_b0`), with its ImageNet weights (downloaded once into the Keras cache; offline, building it fails
  with the weights file's name and the folder to put it in);
- a shipped model's name (`fmnist-0-4-backbone`; `kgantl models list`), found wherever kgantl runs;
- a `.keras` classifier file, or a folder holding `model.keras`.

What it is fed (inside the discriminator, by `kgantl.classifier.model.InputAdapter`): a `.keras` file has a fixed
input shape, so the GAN's images are resized to its size and converted to its channels (grey repeated to RGB, RGB
to grey by ITU-R 601 luma). A family is fed RGB at the GAN's image size when that is at least the family's minimum
(32 for all four), else at the minimum (the images are upsampled: `kgantl.classifier.backbones.input_side`).

Unset, the backbone is the one `DEFAULT_BACKBONES` holds for the images' channels: the shipped grey
`fmnist-0-4-backbone` for grey images, the shipped colour `noto-backbone` (Noto emoji outside "Animals & Nature",
64x64 RGB) for colour ones; a grey backbone is never used on colour images unasked. A grey backbone given
explicitly for colour images is fed their luminance, and the run says so in a warning.
"""
import dataclasses
import logging
from pathlib import Path

import keras

from kgantl.classifier.backbones import BACKBONES, input_side
from kgantl.config import OptionError

logger = logging.getLogger("kgantl")
# The backbone a run takes when none is given, by the images' channels: kgantl's shipped ones (their model cards say
# what they were trained on; neither is the network of the extractor that scores the same images).
DEFAULT_BACKBONES = {1: "fmnist-0-4-backbone", 3: "noto-backbone"}


@dataclasses.dataclass(frozen=True)
class Backbone:
    """A parsed backbone choice: what `feature_d` and `+vision_d` build their frozen feature network from.

    Attributes:
        text: the choice as the run records it (the `backbone` of options.json): a family name, a shipped model's
            name or a path, as given, or the default taken.
        network: what `feature_discriminator` and `vision_discriminator` take: a family name, the path of a
            `.keras` file, or a `keras.Model`.
        input_shape: `(height, width, channels)` the backbone is fed (the GAN's images are converted to it).

    Example:
        >>> parse_backbone(None, (28, 28, 1))
        Backbone(text='fmnist-0-4-backbone', network='.../saved_models/fmnist-0-4-backbone/model.keras',
                 input_shape=(28, 28, 1))
    """

    text: str
    network: object
    input_shape: tuple


def _rule(text):
    families = ", ".join(BACKBONES)
    return (f"backbone must be a keras.applications family ({families}; ImageNet weights), a shipped model's name "
            f"(e.g. {DEFAULT_BACKBONES[1]}; kgantl models list) or a .keras classifier file (or a folder holding "
            f"model.keras). Received: backbone={text!r}")


def default_backbone(channels):
    """The backbone's text for images of `channels` (1 or 3) channels when none is given (`DEFAULT_BACKBONES`)."""
    return DEFAULT_BACKBONES[channels]


def _model_file(text):
    """The `.keras` file a shipped name, a folder or a path names; `OptionError` for anything else."""
    from kgantl.runs.artifacts import model_file

    try:
        path = Path(model_file(str(text)))
    except FileNotFoundError:
        raise OptionError("backbone", _rule(text)) from None
    if path.suffix != ".keras" or not path.is_file():
        raise OptionError("backbone", _rule(text))
    return path


def _file_backbone(text, path, channels):
    """A `.keras` file's `Backbone`: the file opened once to read its input shape."""
    try:
        network = keras.saving.load_model(path, compile=False)
    except Exception as error:  # a corrupt zip, an unknown layer: not a usable classifier
        raise OptionError("backbone", f"backbone {path} could not be opened as a Keras model ({str(error)[:200]}). "
                                      f"Received: backbone={text!r}") from None
    shape = tuple(network.inputs[0].shape[1:]) if len(network.inputs) == 1 else ()
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise OptionError("backbone", f"backbone must take images (height, width, 1 or 3 channels); {path} takes "
                                      f"{[tuple(t.shape[1:]) for t in network.inputs]}. Received: backbone={text!r}")
    if shape[-1] == 1 and channels == 3:
        logger.warning("backbone %s takes grey images: the GAN's colour images are converted to grey (ITU-R 601 "
                       "luma) before it, so what it contributes to the discriminator ignores colour", text)
    return Backbone(str(text), str(path), shape)


def parse_backbone(text, image_shape):
    """Turn a backbone choice into a `Backbone` for a GAN's images (see the module docstring for the choices).

    Args:
        text: a family name, a shipped model's name, a `.keras` path or a folder holding `model.keras`, a
            `keras.Model`, a `Backbone` (returned as it is), or None for the default of the images' channels.
        image_shape: the GAN's images, `(size, size, channels)`.

    Returns:
        `Backbone`.

    Raises:
        OptionError: naming `backbone`, for a value that is none of the choices (or no default for colour).

    Example:
        >>> parse_backbone("vgg16", (16, 16, 3)).input_shape  # upsampled to VGG16's minimum
        (32, 32, 3)
    """
    if isinstance(text, Backbone):
        return text
    channels = int(image_shape[-1])
    if isinstance(text, keras.Model):
        return Backbone(text.name, text, tuple(text.inputs[0].shape[1:]))
    text = default_backbone(channels) if text is None else text
    if text in BACKBONES:
        side = input_side(text, int(image_shape[0]))
        return Backbone(text, text, (side, side, 3))
    return _file_backbone(text, _model_file(text), channels)


__all__ = ["DEFAULT_BACKBONES", "Backbone", "default_backbone", "parse_backbone"]
