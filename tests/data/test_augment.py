import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.data.augment import DiffAugment, parse_policy, random_cutout, random_translation


def _images(n=8, size=16):
    return tf.random.stateless_uniform((n, size, size, 1), seed=(1, 2), minval=-1, maxval=1)


def test_parse_policy():
    assert parse_policy("color, cutout") == ("color", "cutout")
    assert parse_policy("") == ()
    with pytest.raises(ValueError, match=r"subset of color, translation, cutout.*Received: 'blur'"):
        parse_policy("blur")
    with pytest.raises(ValueError, match="without repeats"):
        parse_policy("color,color")


def test_probability_zero_is_identity_and_one_changes_every_image():
    images = _images()
    np.testing.assert_array_equal(DiffAugment(probability=0.0, seed=1)(images), images)
    changed = DiffAugment(probability=1.0, seed=1)(images).numpy() != images.numpy()
    assert changed.reshape(len(images), -1).any(axis=1).all()


def test_translation_moves_content_and_fills_with_zeros():
    image = np.zeros((1, 16, 16, 1), np.float32)
    image[0, 8, 8, 0] = 1.0
    seen = set()
    for seed in range(20):
        moved = random_translation(tf.constant(image), keras.random.SeedGenerator(seed)).numpy()
        assert moved.sum() == 1.0  # one pixel, moved by at most 2 (= 0.125 * 16) in each direction
        row, col = np.argwhere(moved[0, ..., 0])[0]
        assert abs(row - 8) <= 2 and abs(col - 8) <= 2
        seen.add((row, col))
    assert len(seen) > 3


def test_cutout_zeroes_at_most_one_square_of_half_size():
    ones = tf.ones((16, 16, 16, 1))
    out = random_cutout(ones, keras.random.SeedGenerator(0)).numpy()
    zeroed = (out == 0).reshape(16, -1).sum(axis=1)
    assert (zeroed <= 8 * 8).all() and (zeroed > 0).all()
    assert set(np.unique(out)) <= {0.0, 1.0}


def test_gradients_flow_through_every_op():
    images = _images()
    augment = DiffAugment("color,translation,cutout", seed=0)
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(augment(images))
    grad = tape.gradient(total, images)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


def test_same_seed_same_augmentation():
    images = _images()
    a = DiffAugment(seed=5)(images)
    b = DiffAugment(seed=5)(images)
    np.testing.assert_array_equal(a, b)


def test_serialisation_round_trip_keeps_policy_and_probability():
    layer = DiffAugment("translation", probability=0.3, seed=2)
    clone = DiffAugment.from_config(layer.get_config())
    assert clone.policy == "translation" and float(clone.probability.numpy()) == pytest.approx(0.3)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, DiffAugment)


def test_bad_probability():
    with pytest.raises(ValueError, match=r"probability must be in \[0, 1\]"):
        DiffAugment(probability=1.5)
