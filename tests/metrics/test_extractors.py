import keras
import numpy as np
import pytest

from kgantl.metrics import extractors
from kgantl.metrics.extractors import from_keras_model, get_extractor, quantise_and_resize


def test_pipeline_quantises_resizes_and_converts_channels():
    images = np.full((2, 8, 8, 1), -0.999, np.float32)
    images[:, :4] = 0.3
    pixels = quantise_and_resize(images, (8, 8), 3).numpy()
    assert pixels.shape == (2, 8, 8, 3)
    assert set(np.unique(pixels)) == {0.0, np.round(1.3 * 127.5)}  # 8-bit levels, as a PNG would hold
    assert quantise_and_resize(images, (16, 16), 1).shape == (2, 16, 16, 1)
    with pytest.raises(ValueError, match=r"images must have shape \(N, H, W, 1 or 3\)"):
        quantise_and_resize(np.zeros((8, 8, 1)), (8, 8), 1)


def _tiny_classifier():
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(4, name="features")(h)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="head")(h), name="tiny")


def test_any_keras_model_and_layer():
    extractor = from_keras_model(_tiny_classifier(), "features")
    images = np.random.default_rng(0).uniform(-1, 1, (5, 16, 16, 3)).astype("float32")  # resized, made gray
    assert extractor.features(images).shape == (5, 4)
    np.testing.assert_allclose(extractor.probabilities(images).sum(axis=1), 1.0, rtol=1e-5)
    assert extractor.name == "tiny.features"
    with pytest.raises(ValueError, match=r"layer must be one of the model's layers.*Received: layer='nope'"):
        from_keras_model(_tiny_classifier(), "nope")


def test_fmnist_extractor_is_shipped_and_works_offline():
    extractor = get_extractor("fmnist")
    images = np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    assert extractor.features(images).shape == (4, 64)
    assert extractor.probabilities(images).shape == (4, 10)


def test_fmnist_classifier_recognises_real_test_images():
    from kgantl.data import load_arrays

    try:
        arrays = load_arrays("fashion_mnist", split="test")
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not available on this machine")
    probabilities = get_extractor("fmnist").probabilities(arrays.images[:2000] / 127.5 - 1)
    assert np.mean(probabilities.argmax(axis=1) == arrays.labels[:2000]) > 0.9


def test_missing_shipped_model_names_the_places(tmp_path, monkeypatch):
    from kgantl import shipped

    monkeypatch.setattr(shipped, "models_dirs", lambda: [tmp_path])
    with pytest.raises(FileNotFoundError, match=rf"Model 'fmnist-classifier' was not found in {tmp_path}\. "
                                                r".*install kgantl with pip, or set KGANTL_MODELS_DIR"):
        get_extractor("fmnist")


def test_inception_without_weights_names_file_and_cache(tmp_path, monkeypatch):
    def offline(**kwargs):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    with pytest.raises(FileNotFoundError, match=rf"put {extractors.INCEPTION_WEIGHTS} into {tmp_path}/models"):
        get_extractor("inception_v3")


def test_unknown_extractor():
    with pytest.raises(ValueError, match="extractor must be one of fmnist, noto, inception_v3"):
        get_extractor("vgg")
