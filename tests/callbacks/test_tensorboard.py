import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kgantl.callbacks import SampleGrid, TensorBoardLogger
from kgantl.callbacks.samples import render_sample_grid
from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator


def _gan():
    gan = GAN(build_generator(8, 1, 8, width=4, seed=0), build_discriminator(8, 1, width=4, seed=0), seed=0,
              ada_target=0.6)
    gan.compile()
    return gan


def _data():
    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).repeat().batch(8)


def _read(log_dir):
    """{tag: {step: value}} for scalars and {step: uint8 image (H, W, C)} for the `samples` image."""
    scalars, images, plugins = {}, {}, {}
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name:  # written with the first event of each tag only
                    plugins[value.tag] = value.metadata.plugin_data.plugin_name
                array = tf.make_ndarray(value.tensor)
                if value.tag == "samples":
                    width, height = int(array[0]), int(array[1])
                    images[event.step] = tf.image.decode_png(array[2]).numpy()
                    assert images[event.step].shape[:2] == (height, width)
                else:
                    assert event.step not in scalars.setdefault(value.tag, {}), "an epoch was written twice"
                    scalars[value.tag][event.step] = float(array)
    return scalars, images, plugins


def test_scalars_equal_the_history_and_the_grid_is_an_image(tmp_path):
    gan = _gan()
    history = gan.fit(_data(), epochs=2, steps_per_epoch=2, verbose=0,
                      callbacks=[TensorBoardLogger(tmp_path / "tb", every=2, count=4, seed=3)])
    scalars, images, plugins = _read(tmp_path / "tb")
    assert set(scalars) == set(history.history) >= {"d_loss", "g_loss", "d_real", "d_fake", "aug_p"}
    for tag, values in history.history.items():
        assert scalars[tag] == pytest.approx({1: values[0], 2: values[1]}, rel=1e-6), tag
    assert plugins == {**{tag: "scalars" for tag in scalars}, "samples": "images"}
    assert list(images) == [2]  # every=2: none after epoch 1
    np.testing.assert_array_equal(images[2], render_sample_grid(gan, count=4, seed=3))
    assert images[2].shape == (2 * 9 + 1, 2 * 9 + 1, 1)


def test_conditional_grid_matches_the_sample_png(tmp_path):
    gan = ConditionalGAN(build_generator(8, 1, 8, width=4, num_classes=3, seed=0),
                         build_discriminator(8, 1, width=4, num_classes=3, seed=1), seed=0)
    gan.compile()
    labels = np.arange(12) % 3
    images = np.broadcast_to(((labels - 1) * 0.8)[:, None, None, None], (12, 8, 8, 1)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((images, labels.astype("int32"))).repeat().batch(6)
    grid = dict(every=1, count=6, seed=1, num_classes=3, class_ids=[2, 0])
    gan.fit(data, epochs=2, steps_per_epoch=1, verbose=0,
            callbacks=[TensorBoardLogger(tmp_path / "tb", **grid), SampleGrid(tmp_path / "png", **grid)])
    _, written, _ = _read(tmp_path / "tb")
    assert sorted(written) == [1, 2]
    png = np.asarray(Image.open(tmp_path / "png" / "epoch_0002.png"))
    np.testing.assert_array_equal(written[2][..., 0], png)
    rows = [written[2][1 + 9 * r:9 * (r + 1)] for r in range(2)]
    assert not np.array_equal(rows[0], rows[1])  # one class per row, same noise per column


def test_resume_appends_each_epoch_once(tmp_path):
    log_dir = tmp_path / "tb"
    gan = _gan()
    gan.fit(_data(), epochs=3, steps_per_epoch=1, verbose=0, callbacks=[TensorBoardLogger(log_dir, count=4)])
    # The run is killed mid-write after epoch 3, but its last checkpoint is epoch 1: epochs 2-3 run again.
    with open(next(log_dir.glob("events.out.tfevents.*")), "ab") as f:
        f.write(b"\x40\x00\x00\x00\x00\x00\x00\x00half a record")
    history = gan.fit(_data(), epochs=3, initial_epoch=1, steps_per_epoch=1, verbose=0,
                      callbacks=[TensorBoardLogger(log_dir, count=4)])
    scalars, images, _ = _read(log_dir)
    assert sorted(scalars["g_loss"]) == [1, 2, 3] and sorted(images) == [1, 2, 3]
    assert [scalars["g_loss"][2], scalars["g_loss"][3]] == pytest.approx(history.history["g_loss"], rel=1e-6)


def test_non_numeric_logs_are_skipped(tmp_path):
    logger = TensorBoardLogger(tmp_path, every=5)
    logger.set_model(_gan())
    logger.on_epoch_begin(0)
    assert logger.write_scalars(1, {"d_loss": np.float32(0.5), "schedule": "cosine"}) == ["d_loss"]
    logger.on_train_end()
    assert _read(tmp_path)[0] == {"d_loss": {1: 0.5}}


def test_config_round_trips_and_bad_arguments_are_refused():
    logger = TensorBoardLogger("runs/x/tensorboard", every=2, count=9, seed=1, num_classes=3, class_ids=(1, 2))
    clone = TensorBoardLogger(**logger.get_config())
    assert clone.get_config() == logger.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(logger))
    assert isinstance(restored, TensorBoardLogger) and restored.get_config() == logger.get_config()
    with pytest.raises(ValueError, match=r"every and count must be positive. Received: every=0, count=64"):
        TensorBoardLogger("x", every=0)
