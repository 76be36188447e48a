import numpy as np
import tensorflow as tf

from kgantl.data.classic_augment import augment_dataset, classic_augmentation


def _dataset():
    images = np.full((32, 8, 8, 1), -1.0, np.float32)
    images[:, 2:6, :3] = 1.0  # a bright block on the left: a horizontal flip moves it right
    return tf.data.Dataset.from_tensor_slices((images, np.arange(32) % 4)).batch(8)


def _collect(dataset):
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(images), np.concatenate(labels)


def test_flips_and_crops_change_images_not_labels_and_repeat_under_the_seed():
    original, labels = _collect(_dataset())
    first = _collect(augment_dataset(_dataset(), classic_augmentation(seed=0)))
    again = _collect(augment_dataset(_dataset(), classic_augmentation(seed=0)))
    np.testing.assert_array_equal(first[1], labels)
    np.testing.assert_array_equal(first[0], again[0])
    changed = np.abs(first[0] - original).reshape(32, -1).max(axis=1) > 0.5
    assert 0 < changed.sum()
    right_side = first[0][:, :, 5:].reshape(32, -1).max(axis=1) > 0  # only a flip lights up the right edge
    assert 0 < right_side.sum() < 32
    assert first[0].min() >= -1.0 - 1e-6 and first[0].max() <= 1.0 + 1e-6  # still in the [-1, 1] range
