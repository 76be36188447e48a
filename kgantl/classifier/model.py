"""A classifier on a pretrained backbone: input adaptation inside the model, frozen BatchNorm statistics."""
import keras

from kgantl.data.pipeline import convert_and_resize

from kgantl.classifier.backbones import backbone_family, detect_family, fed_backbone

BACKBONE_NAME = "backbone"


@keras.saving.register_keras_serializable(package="kgantl")
class InputAdapter(keras.layers.Layer):
    """Turn the user's images (any size, 1 or 3 channels, values in [-1, 1]) into what a backbone expects.

    Resizes with antialiasing, converts grey to RGB (or RGB to grey), then applies the backbone family's
    own `keras.applications.<family>.preprocess_input` on [0, 255] values, or keeps [-1, 1] for user
    models (`preprocess=None`). Being a layer, it is saved with the model, so users always feed one range.

    Args:
        size: (height, width) of the backbone input.
        channels: channels of the backbone input.
        preprocess: `keras.applications` module name (`vgg16`, `resnet50`, `mobilenet_v2`, `efficientnet`)
            or None.
    """

    def __init__(self, size, channels, preprocess=None, **kwargs):
        super().__init__(**kwargs)
        self.size, self.channels, self.preprocess = tuple(size), int(channels), preprocess

    def call(self, images):
        images = convert_and_resize(images, self.size, self.channels)
        if self.preprocess is None:
            return images
        family = getattr(keras.applications, self.preprocess)
        return family.preprocess_input((images + 1.0) * 127.5)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "channels": self.channels,
                "preprocess": self.preprocess}


@keras.saving.register_keras_serializable(package="kgantl")
class InferenceMode(keras.layers.Layer):
    """Run a network in inference mode always (BatchNorm uses and keeps its moving statistics).

    Why a layer: in Keras 3, `backbone(x, training=False)` inside a functional model is overridden by
    the outer model's `training=True` during `fit` (the functional graph re-injects the call-context
    value), so BatchNorm statistics drift while fine-tuning. This layer has no `training` argument and
    calls its network with `training=False` explicitly, which nothing overrides. Its weights still train
    when its network's layers are trainable.

    Args:
        network: the wrapped `keras.Model`.
        family: the network's `BACKBONES` family, if known (kept so a `FreezeSchedule` can count its
            blocks after saving and loading).
    """

    def __init__(self, network, family=None, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.family = family

    def call(self, inputs):
        return self.network(inputs, training=False)

    def compute_output_shape(self, input_shape):
        return self.network.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "network": keras.saving.serialize_keras_object(self.network),
                "family": self.family}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)


def get_backbone(model):
    """The backbone network of a classifier made by `build_classifier`."""
    return model.get_layer(BACKBONE_NAME).network


def get_backbone_family(model):
    """The `BACKBONES` family of a classifier's backbone: the one recorded by `build_classifier`, else the one
    its name shows (`detect_family`), else None.

    Example:
        >>> get_backbone_family(build_classifier("vgg16", num_classes=3, weights=None))
        'vgg16'
    """
    layer = model.get_layer(BACKBONE_NAME)
    return getattr(layer, "family", None) or detect_family(layer.network)


def feature_model(model, feature_layer):
    """A user classifier cut below its head (or at `feature_layer`): the input of its last layer by default."""
    if feature_layer is not None:
        output = model.get_layer(feature_layer).output
    else:
        output = model.layers[-1].input if len(model.layers) > 1 else model.output
    return keras.Model(model.inputs, output, name=model.name)


def build_classifier(backbone, num_classes, input_shape=(28, 28, 1), weights="imagenet", input_size=None,
                     dense_units=(256,), dropout=0.5, feature_layer=None, family=None):
    """A transfer classifier: InputAdapter -> backbone(training=False) -> pooling -> dense head -> softmax.

    The backbone always runs with `training=False` (through `InferenceMode`), so its BatchNorm statistics
    stay frozen even when its weights are unfrozen and fine-tuned. Feed images in [-1, 1] (what
    `kgantl.data.load_images` yields).

    What feeds the head depends on the kind of backbone:

    - a name: the `keras.applications` network without its top;
    - a `keras.Model`: the model as given, its output is the feature map or vector (build
      `keras.applications` models with `include_top=False`); nothing is cut unless `feature_layer` is set;
    - a `.keras` file: a saved classifier, cut below its head (the input of its last layer).

    The backbone's family (its `preprocess_input` and how its layers form blocks for `FreezeSchedule`) is
    the name, or for a `keras.Model` the one its `keras.applications` name shows (`vgg16`, `resnet50`,
    `mobilenetv2_1.00_224`, `efficientnetb0`), or `family=`. A backbone of unknown family takes the
    [-1, 1] images unchanged.

    Fed (resized and converted inside the model): a named backbone RGB squares of side `input_size`, by default the
    images' larger side raised to the family's minimum (32; `kgantl.classifier.backbones.input_side`), grey repeated
    to 3 channels; a `keras.Model` or a `.keras` file its own input shape (an open size: `input_size` or the images').

    Args:
        backbone: `vgg16`, `resnet50`, `mobilenet_v2`, `efficientnet_b0`, a `keras.Model`, or a `.keras`
            file (e.g. `saved_models/fmnist-0-4-backbone/model.keras`).
        num_classes: outputs of the new head.
        input_shape: shape of the user's images.
        weights: `"imagenet"`, None or a weights file path (named backbones only).
        input_size: input side of a named backbone (default: the rule above); a fixed input refuses another.
        dense_units: hidden dense layers of the head.
        dropout: dropout before each head layer.
        feature_layer: for a `keras.Model` or a `.keras` file, the layer whose output feeds the head
            (default: the model's output for a `keras.Model`, the input of the last layer for a file).
        family: for a `keras.Model` or a `.keras` file, the key of `kgantl.transfer.BACKBONES` it belongs
            to (default: detected from a `keras.Model`'s name, none for files). Recorded in the model.

    Returns:
        An uncompiled `keras.Model`; `get_backbone(model)` returns its backbone network and `get_backbone_family(model)`
            its family.

    Example:
        >>> model = build_classifier("saved_models/fmnist-0-4-backbone/model.keras", num_classes=10)
        >>> mine = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
        >>> model = build_classifier(mine, num_classes=10)  # ends at block5_pool, VGG16 preprocessing
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2. Received: num_classes={num_classes!r}")
    network, preprocess, size, channels = fed_backbone(backbone, input_shape, input_size, weights, family)
    family = backbone_family(backbone, network, family)
    network = _feature_network(backbone, network, feature_layer)
    images = keras.Input(input_shape, name="images")
    h = InputAdapter(size, channels, preprocess, name="input_adapter")(images)
    h = InferenceMode(network, family=family, name=BACKBONE_NAME)(h)
    probabilities = _head(h, num_classes, dense_units, dropout)
    return keras.Model(images, probabilities, name="transfer_classifier")


def _feature_network(backbone, network, feature_layer):
    """The part of the built `network` that feeds the head, by the kind of `backbone` (see `build_classifier`)."""
    if isinstance(backbone, keras.Model):
        if feature_layer is not None:
            network = feature_model(network, feature_layer)
    elif isinstance(backbone, str) and not backbone.endswith(".keras"):
        network = keras.Model(network.input, network.output, name=network.name)
    else:  # a .keras file: a saved classifier, cut below its head
        network = feature_model(network, feature_layer)
    return network


def _head(h, num_classes, dense_units, dropout):
    """The classifier's head on the backbone's output `h`: pooling (of a feature map), dense layers, softmax."""
    if len(h.shape) == 4:
        h = keras.layers.GlobalAveragePooling2D(name="pool")(h)
    for i, units in enumerate(dense_units):
        h = keras.layers.Dropout(dropout, name=f"head_dropout{i + 1}")(h)
        h = keras.layers.Dense(units, activation="relu", name=f"head_dense{i + 1}")(h)
    h = keras.layers.Dropout(dropout, name="head_dropout_out")(h)
    return keras.layers.Dense(num_classes, activation="softmax", name="head_classes")(h)
