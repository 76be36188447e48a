import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.models import ConditionalGAN, build_discriminator, build_generator


def _cgan(**kwargs):
    return ConditionalGAN(build_generator(8, 1, 8, width=8, num_classes=3, seed=0),
                          build_discriminator(8, 1, width=8, num_classes=3, spectral_norm=True, seed=1),
                          seed=0, **kwargs)


def _labelled_data():
    # Class k is a constant image of value (k - 1) * 0.8: classes are easy to tell apart.
    labels = np.arange(96) % 3
    images = np.broadcast_to(((labels - 1) * 0.8)[:, None, None, None], (96, 8, 8, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((images, labels.astype("int32"))).repeat().batch(24)


def test_generator_learns_each_class():
    gan = _cgan(ema_decay=0.0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5), g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    gan.fit(_labelled_data(), epochs=3, steps_per_epoch=60, verbose=0)
    means = [gan.generate(32, labels=k, seed=1).mean() for k in range(3)]
    assert means[0] < means[1] < means[2], means
    assert gan.num_classes == 3


def test_label_embeddings_of_both_networks_train():
    gan = _cgan()
    gan.compile()
    g_embed = gan.generator.get_layer("g_label_embedding").get_weights()[0].copy()
    d_embed = gan.discriminator.get_layer("d_label_embedding").get_weights()[0].copy()
    gan.fit(_labelled_data(), epochs=1, steps_per_epoch=2, verbose=0)
    assert not np.array_equal(g_embed, gan.generator.get_layer("g_label_embedding").get_weights()[0])
    assert not np.array_equal(d_embed, gan.discriminator.get_layer("d_label_embedding").get_weights()[0])


def test_needs_labelled_data_and_conditional_networks():
    gan = _cgan()
    gan.compile()
    unlabelled = tf.data.Dataset.from_tensor_slices(np.zeros((8, 8, 8, 1), "float32")).batch(4)
    with pytest.raises(ValueError, match="needs a dataset of \\(images, labels\\)"):
        gan.fit(unlabelled, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="needs a generator taking \\[noise, labels\\]"):
        ConditionalGAN(build_generator(8, 1, 8, width=4), build_discriminator(8, 1, width=4, num_classes=3))


def test_sampling_checks_labels():
    gan = _cgan()
    with pytest.raises(ValueError, match="labels are required"):
        gan.generate(2)
    with pytest.raises(ValueError, match=r"labels must be classes the model was trained on \(0, 1, 2\)\. "
                                         r"Received: labels 3"):
        gan.generate(2, labels=3)


def test_class_ids_limit_sampling_and_survive_saving(tmp_path):
    """A model trained on classes 1 and 2 of a 3-id embedding refuses class 0, also after save and load."""
    gan = _cgan()
    trained = ConditionalGAN(gan.generator, gan.discriminator, class_ids=[2, 1], seed=0)
    assert trained.trained_class_ids() == [1, 2]
    assert trained.generate(2, labels=[1, 2]).shape == (2, 8, 8, 1)
    trained.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=r"trained on \(1, 2\)\. Received: labels 0"):
        loaded.generate(2, labels=0)
    with pytest.raises(ValueError, match="class_ids must be label ids"):
        ConditionalGAN(gan.generator, gan.discriminator, class_ids=[3])


def test_save_load_round_trip(tmp_path):
    gan = _cgan(augment="cutout")
    gan.compile()
    gan.fit(_labelled_data(), epochs=1, steps_per_epoch=1, verbose=0)
    gan.save(tmp_path / "c.keras")
    loaded = keras.saving.load_model(tmp_path / "c.keras")
    noise = np.ones((3, 8), "float32")
    assert isinstance(loaded, ConditionalGAN)
    np.testing.assert_allclose(loaded.generate(noise=noise, labels=[0, 1, 2]),
                               gan.generate(noise=noise, labels=[0, 1, 2]), atol=1e-6)
