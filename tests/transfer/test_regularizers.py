import numpy as np
import pytest
import tensorflow as tf

from kgantl.models import GAN, build_discriminator, build_generator
from kgantl.transfer.regularizers import CDCPenalty, EWCPenalty, cross_domain_distance


def _gan():
    return GAN(build_generator(8, 1, 8, width=4, seed=0), build_discriminator(8, 1, width=4, seed=1), seed=0,
               ema_decay=0.0)


def _images():
    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).repeat().batch(8)


def _noise(n=6):
    return tf.constant(np.random.default_rng(1).standard_normal((n, 8)).astype("float32"))


def test_cross_domain_distance_is_zero_for_equal_features_and_positive_otherwise():
    features = tf.constant(np.random.default_rng(0).standard_normal((5, 3, 3, 2)).astype("float32"))
    assert float(cross_domain_distance(features, features)) == pytest.approx(0.0, abs=1e-6)
    assert float(cross_domain_distance(features, 2.0 * features)) == pytest.approx(0.0, abs=1e-6)  # scale-free
    shuffled = tf.gather(features, [1, 0, 2, 4, 3])
    assert float(cross_domain_distance(features, shuffled)) > 1e-4


def test_cdc_is_zero_at_the_source_and_positive_after_a_step():
    gan = _gan()
    penalty = CDCPenalty(gan.generator, weight=1.0)
    assert penalty.layer_names == ["g_block1_act"]
    assert float(penalty(gan, _noise())) == pytest.approx(0.0, abs=1e-6)
    gan.add_generator_penalty(penalty)
    gan.compile(g_optimizer=tf.keras.optimizers.Adam(1e-2))
    history = gan.fit(_images(), epochs=1, steps_per_epoch=3, verbose=0)
    assert float(penalty(gan, _noise())) > 0.0
    assert history.history["g_penalty"][0] >= 0.0


def test_ewc_is_zero_at_the_source_with_non_negative_fisher_and_holds_weights_back():
    gan = _gan()
    penalty = EWCPenalty(gan.generator, gan.discriminator, weight=1.0, batches=2, batch_size=8)
    assert all(float(tf.reduce_min(f)) >= 0.0 for f in penalty.fisher)
    assert sum(float(tf.reduce_sum(f)) for f in penalty.fisher) > 0.0
    assert float(penalty(gan, _noise())) == 0.0
    gan.generator.trainable_weights[0].assign_add(tf.ones_like(gan.generator.trainable_weights[0]))
    expected = float(tf.reduce_sum(penalty.fisher[0]))
    assert float(penalty(gan, _noise())) == pytest.approx(expected, rel=1e-5)


def test_a_generator_penalty_changes_training_and_is_not_saved(tmp_path):
    def train(with_penalty):
        gan = _gan()
        if with_penalty:
            gan.add_generator_penalty(EWCPenalty(gan.generator, gan.discriminator, weight=1e6, batches=1,
                                                 batch_size=8))
        gan.compile()
        gan.fit(_images(), epochs=1, steps_per_epoch=2, verbose=0)
        return gan

    plain, held = train(False), train(True)
    moved = [np.abs(a - b).sum() for a, b in zip(plain.generator.get_weights(), held.generator.get_weights())]
    assert sum(moved) > 0  # the penalty entered the generator's gradient
    held.save(tmp_path / "m.keras")  # the penalty is a training recipe: the file loads without it
    import keras

    assert keras.saving.load_model(tmp_path / "m.keras")._generator_penalties.items == []
    with pytest.raises(ValueError, match="penalty must be callable"):
        plain.add_generator_penalty(3)
