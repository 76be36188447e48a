"""Pretrained classifier backbones by name: constructor, `preprocess_input`, and how layers form blocks.

`weights` is `"imagenet"` (downloaded into the Keras cache, `~/.keras/models`), None (random), or a path
to a weights file. With no network and no cached file, `"imagenet"` fails at once with the file name
and the folder to put it in.
"""
import dataclasses
import os
import re
from pathlib import Path

import keras


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """How to build and feed one `keras.applications` family.

    Attributes:
        constructor: e.g. `keras.applications.VGG16`.
        preprocess: name of the `keras.applications` module whose `preprocess_input` the backbone expects.
        block_pattern: regex whose first group names the block a layer belongs to.
        min_size: smallest input side the architecture accepts.
    """

    constructor: object
    preprocess: str
    block_pattern: str
    min_size: int = 32


BACKBONES = {
    "vgg16": BackboneSpec(keras.applications.VGG16, "vgg16", r"^(block\d+)_"),
    "resnet50": BackboneSpec(keras.applications.ResNet50, "resnet50", r"^(conv\d+_block\d+|conv1)_"),
    "mobilenet_v2": BackboneSpec(keras.applications.MobileNetV2, "mobilenet_v2", r"^(block_\d+|expanded_conv)_"),
    "efficientnet_b0": BackboneSpec(keras.applications.EfficientNetB0, "efficientnet", r"^(block\d+[a-z])_"),
}


def keras_cache_dir():
    """Where Keras keeps downloaded weights: `$KERAS_HOME/models` or `~/.keras/models`."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def build_backbone(name, input_shape, weights="imagenet"):
    """A `keras.applications` network without its top, or a user model used as it is.

    Args:
        name: a key of `BACKBONES`, a `keras.Model`, or a path to a `.keras` model file.
        input_shape: (height, width, 3) for `keras.applications` networks (ignored for user models).
        weights: `"imagenet"`, None, or a path to a weights file (`.h5` / `.weights.h5`), for named
            backbones only.

    Returns:
        `(backbone_model, preprocess_name)`; `preprocess_name` is None for user models, which take the
        classifier's input range directly.

    Example:
        >>> backbone, preprocess = build_backbone("vgg16", (32, 32, 3), weights=None)
    """
    if isinstance(name, keras.Model):
        return name, None
    if isinstance(name, (str, os.PathLike)) and str(name).endswith(".keras"):
        if not Path(name).is_file():
            raise FileNotFoundError(f"Backbone model file does not exist. Received: {name}")
        return keras.saving.load_model(name, compile=False), None
    if name not in BACKBONES:
        raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, a keras.Model or a .keras file. "
                         f"Received: {name!r}")
    spec = BACKBONES[name]
    if input_shape[0] < spec.min_size or input_shape[1] < spec.min_size or input_shape[2] != 3:
        raise ValueError(f"{name} needs RGB inputs of at least {spec.min_size}x{spec.min_size}. "
                         f"Received: input_shape={tuple(input_shape)}")
    path_weights = weights not in (None, "imagenet")
    if path_weights and not Path(weights).is_file():
        raise FileNotFoundError(f"weights must be 'imagenet', None or an existing weights file. Received: {weights}")
    try:
        model = spec.constructor(include_top=False, weights=None if path_weights else weights,
                                 input_shape=tuple(input_shape))
    except Exception as error:  # URL, SSL and HTTP errors alike mean "not downloadable here"
        if weights != "imagenet":
            raise
        match = re.search(r"/([^/\s]+\.h5)", str(error))
        expected = match.group(1) if match else f"the {name} no-top weights file"
        raise FileNotFoundError(
            f"ImageNet weights for {name} are not available offline: put {expected} into {keras_cache_dir()}, "
            f"or use weights=None or a local weights file (download error: {str(error)[:200]})."
        ) from None
    if path_weights:
        model.load_weights(weights)
    return model, spec.preprocess


def block_names(backbone, name=None):
    """Block of every layer with weights, in order from input to output.

    For named backbones, layers are grouped by the family's naming pattern (`block5` of VGG16,
    `conv5_block3` of ResNet50, ...); layers outside any block, and all layers of user models, are
    blocks of their own.

    Returns:
        list of `(block_name, layer)` for the layers that hold weights.
    """
    pattern = re.compile(BACKBONES[name].block_pattern) if name in BACKBONES else None
    blocks = []
    for layer in backbone.layers:
        if not layer.weights:
            continue
        match = pattern.match(layer.name) if pattern else None
        blocks.append((match.group(1) if match else layer.name, layer))
    return blocks
