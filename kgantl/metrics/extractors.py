"""Feature extractors behind one registry: images in [-1, 1] -> feature vectors (and class probabilities).

The image pipeline before every extractor is fixed, because it changes FID: images are quantised to
8 bit (as if saved as PNG), then resized with an antialiased bilinear filter to the extractor's input
size, converted to its channel count, and mapped to its input range.
"""
import dataclasses
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgantl.data.pipeline import convert_and_resize
from kgantl.shipped import find_shipped_model

FMNIST_MODEL_DIR = "fmnist-classifier"
# The layer of kgantl's Fashion-MNIST classifier whose output is the `fmnist` feature space
# (`kgantl.classifier.fmnist` names it so when it builds the network).
EMBEDDING_LAYER = "embedding"
# RMS of the fmnist embedding over the first 10,000 train images was 4.96; dividing by 5 gives features of
# about unit RMS, the range the KID kernel (x·y/d + 1)³ is meant for (Inception pool features are similar).
FMNIST_FEATURE_SCALE = 5.0
NOTO_MODEL_DIR = "noto-classifier"
# RMS of the noto embedding over its 3,272 training images was 27.27 (its metrics.json, `embedding_rms`): dividing
# by it gives features of about unit RMS, as for fmnist.
NOTO_FEATURE_SCALE = 27.27
INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def quantise_and_resize(images, size, channels):
    """The fixed evaluation pipeline: [-1, 1] floats -> 8-bit levels -> antialiased resize -> channels.

    Written in TensorFlow ops so it also runs inside a compiled `test_step`.

    Args:
        images: array or tensor (N, H, W, 1 or 3) in [-1, 1].
        size: (height, width) of the extractor.
        channels: 1 or 3.

    Returns:
        float32 tensor (N, height, width, channels) in [0, 255].
    """
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (N, H, W, 1 or 3). Received: shape={tuple(images.shape)}")
    pixels = tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0))  # what a PNG would store
    return tf.clip_by_value(convert_and_resize(pixels, size, channels), 0.0, 255.0)


@dataclasses.dataclass
class FeatureExtractor:
    """A network cut at a feature layer, with its input conventions.

    Attributes:
        name: registry name (used in protocol names and cache keys).
        features_model: model images -> features (N, d).
        probabilities_model: model images -> class probabilities, or None (no Inception Score).
        size: input (height, width).
        channels: input channels.
        scale: `(a, b)`: the model sees `pixels * a + b` for pixels in [0, 255].
    """

    name: str
    features_model: keras.Model
    probabilities_model: object
    size: tuple
    channels: int
    scale: tuple = (1 / 127.5, -1.0)
    weights_path: object = None  # file the weights came from, when known (part of the cache key)
    feature_scale: float = 1.0  # features are divided by this

    def _inputs(self, images):
        return quantise_and_resize(images, self.size, self.channels) * self.scale[0] + self.scale[1]

    def __call__(self, images):
        """Features of a batch as a tensor (usable inside a compiled step)."""
        return self.features_model(self._inputs(images), training=False) / self.feature_scale

    def _run(self, model, images, batch_size):
        if not np.all(np.isfinite(images)):
            raise ValueError("images must not contain NaN or infinite values.")
        outputs = [model(self._inputs(images[i:i + batch_size]), training=False).numpy()
                   for i in range(0, len(images), batch_size)]
        return np.concatenate(outputs).astype(np.float64)

    def features(self, images, batch_size=256):
        """Feature vectors (N, d) of images in [-1, 1]."""
        return self._run(self.features_model, np.asarray(images), batch_size) / self.feature_scale

    def probabilities(self, images, batch_size=256):
        """Class probabilities (N, classes), or None when the extractor has no classifier head."""
        if self.probabilities_model is None:
            return None
        return self._run(self.probabilities_model, np.asarray(images), batch_size)


def from_keras_model(model, layer, name=None, scale=(1 / 127.5, -1.0)):
    """An extractor from any Keras model and the name of its feature layer.

    Args:
        model: functional or sequential Keras model, or a path to a `.keras` file.
        layer: name of the layer whose output is the feature vector (flattened if it is not 2-D).
        name: registry name (default: the model's name and the layer).
        scale: how pixels in [0, 255] map to the model's input range.

    Returns:
        `FeatureExtractor` (its probabilities are the model's output when that is a softmax over classes).
    """
    weights_path = None
    if isinstance(model, (str, os.PathLike)):
        weights_path = Path(model)
        model = keras.saving.load_model(model)
    try:
        output = model.get_layer(layer).output
    except ValueError:
        names = ", ".join(l.name for l in model.layers)
        raise ValueError(f"layer must be one of the model's layers ({names}). Received: layer={layer!r}") from None
    if len(output.shape) > 2:
        output = keras.layers.Flatten()(output)
    features_model = keras.Model(model.inputs, output)
    height, width, channels = model.inputs[0].shape[1:4]
    is_classifier = len(model.outputs[0].shape) == 2 and model.layers[-1].get_config().get("activation") == "softmax"
    return FeatureExtractor(name or f"{model.name}.{layer}", features_model, model if is_classifier else None,
                            (height, width), channels, scale, weights_path)


def fmnist_extractor():
    """kgantl's own Fashion-MNIST classifier (`saved_models/fmnist-classifier`), 64-d embedding / 5; offline."""
    extractor = from_keras_model(find_shipped_model(FMNIST_MODEL_DIR), EMBEDDING_LAYER, name="fmnist")
    return dataclasses.replace(extractor, feature_scale=FMNIST_FEATURE_SCALE)


def _keras_models_dir():
    """Where Keras keeps downloaded weights: `$KERAS_HOME/models` or `~/.keras/models`."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def inception_v3_extractor():
    """keras.applications InceptionV3 (ImageNet weights), 2048-d pool features at 299x299, as in papers.

    Probabilities for IS need the top layer too, which is a second download; only features are provided.
    """
    cache = _keras_models_dir()
    try:
        model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights="imagenet",
                                               input_shape=(299, 299, 3))
    except Exception as error:  # URL, SSL and HTTP errors alike mean "not downloadable here"
        raise FileNotFoundError(
            f"InceptionV3 ImageNet weights are not available offline: put {INCEPTION_WEIGHTS} into {cache} "
            f"(download error: {error})."
        ) from None
    return FeatureExtractor("inception_v3", model, None, (299, 299), 3, (1 / 127.5, -1.0), cache / INCEPTION_WEIGHTS)


def noto_extractor():
    """kgantl's own colour extractor (`saved_models/noto-classifier`): a classifier of 64x64 RGB Noto emoji outside
    "Animals & Nature" by subcategory, its embedding scaled to unit RMS; offline. See its model card for the data."""
    extractor = from_keras_model(find_shipped_model(NOTO_MODEL_DIR), EMBEDDING_LAYER, name="noto")
    return dataclasses.replace(extractor, feature_scale=NOTO_FEATURE_SCALE)


EXTRACTORS = {"fmnist": fmnist_extractor, "noto": noto_extractor, "inception_v3": inception_v3_extractor}


def inception_weights_present():
    """True when InceptionV3's ImageNet weights are in the Keras cache (so `inception_v3` loads offline)."""
    return (_keras_models_dir() / INCEPTION_WEIGHTS).is_file()


def default_extractor(channels):
    """The extractor `auto` means for images of `channels` channels.

    Grayscale: `fmnist`. Colour: `inception_v3` where its ImageNet weights are already in the Keras cache (the
    papers' extractor), else kgantl's shipped `noto` (offline): a grayscale extractor would score colour images
    by their luminance alone.

    Args:
        channels: 1 or 3.

    Returns:
        A key of `EXTRACTORS`.

    Example:
        >>> default_extractor(1)
        'fmnist'
    """
    if channels == 1:
        return "fmnist"
    return "inception_v3" if inception_weights_present() else "noto"


def get_extractor(extractor, layer=None):
    """Look up a feature extractor.

    Args:
        extractor: `"fmnist"`, `"inception_v3"`, a `FeatureExtractor`, or a Keras model / `.keras` path
            together with `layer`.
        layer: feature layer name when `extractor` is a model.

    Returns:
        `FeatureExtractor`.

    Example:
        >>> features = get_extractor("fmnist").features(images)
    """
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if isinstance(extractor, str) and extractor in EXTRACTORS and layer is None:
        return EXTRACTORS[extractor]()
    if layer is not None:
        return from_keras_model(extractor, layer)
    raise ValueError(f"extractor must be one of {', '.join(EXTRACTORS)}, or a Keras model with layer=... "
                     f"Received: {extractor!r}")
