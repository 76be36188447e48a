"""Pretrained classifier backbones by name: constructor, `preprocess_input`, and how layers form blocks.

A backbone is a family name (a key of `BACKBONES`), a `keras.Model` used as it is, or a `.keras` file. The
family of a `keras.Model` (which `preprocess_input` it expects, how its layers form blocks) is read from
the name `keras.applications` gives it (`vgg16`, `resnet50`, `mobilenetv2_1.00_224`, `efficientnetb0`),
or given explicitly with `family=`; a model of unknown family gets no preprocessing.

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
        model_name: regex matching the name `keras.applications` gives the model (None: only the family
            name itself matches).
    """

    constructor: object
    preprocess: str
    block_pattern: str
    min_size: int = 32
    model_name: str = None


BACKBONES = {
    "vgg16": BackboneSpec(keras.applications.VGG16, "vgg16", r"^(block\d+)_", model_name=r"vgg16"),
    "resnet50": BackboneSpec(keras.applications.ResNet50, "resnet50", r"^(conv\d+_block\d+|conv1)_",
                             model_name=r"resnet50"),
    "mobilenet_v2": BackboneSpec(keras.applications.MobileNetV2, "mobilenet_v2", r"^(block_\d+|expanded_conv)_",
                                 model_name=r"mobilenetv2_[\d.]+_\d+"),
    "efficientnet_b0": BackboneSpec(keras.applications.EfficientNetB0, "efficientnet", r"^(block\d+[a-z])_",
                                    model_name=r"efficientnetb0"),
}


def input_side(family, image_side, given=None):
    """The side of the square input a `keras.applications` family is fed: `given`, else the images' side raised to
    the family's minimum (`BackboneSpec.min_size`, 32 for every family here); smaller images are upsampled.

    Args:
        family: a key of `BACKBONES`.
        image_side: the images' side (the larger one of a non-square image).
        given: a side stated by the user (`--input-size`), or None for the rule.

    Returns:
        int, the side.

    Raises:
        ValueError: `given` is below the family's minimum.

    Example:
        >>> input_side("vgg16", 28), input_side("vgg16", 64), input_side("vgg16", 28, given=48)
        (32, 64, 48)
    """
    least = BACKBONES[family].min_size
    if given is None:
        return max(least, int(image_side))
    if isinstance(given, bool) or not isinstance(given, int) or given < least:
        raise ValueError(f"input_size must be an integer of at least {least} for {family} (its smallest input). "
                         f"Received: input_size={given!r}")
    return given


def fed_backbone(backbone, image_shape, input_size=None, weights="imagenet", family=None):
    """A backbone built to be fed images of `image_shape`, and what it is fed (resized and converted in the model).

    A family is built for RGB squares of side `input_size`, by default the images' larger side raised to its minimum
    (`input_side`); a `.keras` file or a `keras.Model` keeps its own input shape, a spatial size it leaves open taking
    `input_size` or the images' size (another `input_size` for a fixed input is refused).

    Args:
        backbone: a key of `BACKBONES`, a `keras.Model` or a `.keras` file.
        image_shape: `(height, width, channels)` of the images.
        input_size: the side a family is fed, or None for the rule above.
        weights: `"imagenet"`, None or a weights file (families only).
        family: see `build_backbone`.

    Returns:
        `(network, preprocess, (height, width) fed, channels fed)`.

    Example:
        >>> fed_backbone("vgg16", (28, 28, 1), weights=None)[2:]
        ((32, 32), 3)
    """
    named = isinstance(backbone, str) and backbone in BACKBONES
    side = input_side(backbone, max(image_shape[:2]), input_size) if named else None
    network, preprocess = build_backbone(backbone, (side, side, 3) if named else None, weights=weights, family=family)
    own = tuple(network.inputs[0].shape[1:3])
    if input_size is not None and None not in own and own != (input_size, input_size):
        raise ValueError(f"input_size sets the side of a keras.applications backbone; {network.name} takes "
                         f"{own[0]}x{own[1]} images (its own input): leave input_size out. "
                         f"Received: input_size={input_size}")
    size = tuple(int(given or input_size or image_shape[i]) for i, given in enumerate(own))
    return network, preprocess, size, int(network.inputs[0].shape[-1])


def keras_cache_dir():
    """Where Keras keeps downloaded weights: `$KERAS_HOME/models` or `~/.keras/models`."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def detect_family(model):
    """The `BACKBONES` family of a model, from its name; None when the name is not one `keras.applications` gives.

    Args:
        model: a `keras.Model`, e.g. `keras.applications.MobileNetV2(include_top=False)`.

    Returns:
        A key of `BACKBONES` (`"mobilenet_v2"` for a model named `mobilenetv2_1.00_224`), or None.

    Example:
        >>> detect_family(keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)))
        'vgg16'
    """
    for family, spec in BACKBONES.items():
        if model.name == family or (spec.model_name and re.fullmatch(spec.model_name, model.name)):
            return family
    return None


def backbone_family(backbone, model, family=None):
    """The family of a backbone argument: `family` if given, the name itself for named backbones, the
    family detected from the model's name for a `keras.Model`, and None for `.keras` files.

    Why not detect for files: a `.keras` file is usually a network trained on the classifier's own
    [-1, 1] images, whatever its name; say `family=` to feed it a family's preprocessing.

    Args:
        backbone: what the user passed (a name, a `keras.Model` or a `.keras` path).
        model: the network built or loaded from it.
        family: an explicit key of `BACKBONES`, or None.

    Returns:
        A key of `BACKBONES`, or None.
    """
    is_named = isinstance(backbone, str) and backbone in BACKBONES
    if family is not None:
        if family not in BACKBONES:
            raise ValueError(f"family must be one of {', '.join(BACKBONES)} or None. Received: family={family!r}")
        if is_named and family != backbone:
            raise ValueError(f"family names the backbone of a keras.Model or a .keras file; a named backbone is "
                             f"its own family. Received: backbone={backbone!r}, family={family!r}")
        return family
    if is_named:
        return backbone
    return detect_family(model) if isinstance(backbone, keras.Model) else None


def build_backbone(name, input_shape, weights="imagenet", family=None):
    """A `keras.applications` network without its top, or a user model used as it is.

    Args:
        name: a key of `BACKBONES`, a `keras.Model`, or a path to a `.keras` model file.
        input_shape: (height, width, 3) for `keras.applications` networks (ignored for user models).
        weights: `"imagenet"`, None, or a path to a weights file (`.h5` / `.weights.h5`), for named
            backbones only.
        family: for a `keras.Model` or a `.keras` file, the key of `BACKBONES` whose preprocessing it
            expects. Default: detected from the name of a `keras.Model` (see `detect_family`), none for
            files.

    Returns:
        `(backbone_model, preprocess_name)`; `preprocess_name` is None for user models of unknown family, which take the
            classifier's input range ([-1, 1]) directly.

    Example:
        >>> backbone, preprocess = build_backbone("vgg16", (32, 32, 3), weights=None)
        >>> mine = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
        >>> build_backbone(mine, None)[1]
        'resnet50'
    """
    if isinstance(name, keras.Model) or (isinstance(name, (str, os.PathLike)) and str(name).endswith(".keras")):
        if isinstance(name, keras.Model):
            model = name
        elif not Path(name).is_file():
            raise FileNotFoundError(f"Backbone model file does not exist. Received: {name}")
        else:
            model = keras.saving.load_model(name, compile=False)
        family = backbone_family(name, model, family)
        return model, BACKBONES[family].preprocess if family else None
    backbone_family(name, None, family)  # a named backbone is its own family: check a conflicting one
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
    `conv5_block3` of ResNet50, ...); layers outside any block, and all layers when `name` is not a
    family, are blocks of their own.

    Args:
        backbone: the backbone network.
        name: its family (a key of `BACKBONES`), or None to count layers.

    Returns:
        list of `(block_name, layer)` for the layers that hold weights.
    """
    pattern = re.compile(BACKBONES[name].block_pattern) if isinstance(name, str) and name in BACKBONES else None
    blocks = []
    for layer in backbone.layers:
        if not layer.weights:
            continue
        match = pattern.match(layer.name) if pattern else None
        blocks.append((match.group(1) if match else layer.name, layer))
    return blocks
