import numpy as np
import pytest
import tensorflow as tf

from kgantl.data import load_arrays, load_images, make_dataset, to_model_range


def _first(dataset):
    return next(iter(dataset))


def test_images_are_float_in_minus_one_one_and_batched(fake_fmnist):
    batch = _first(load_images("fashion_mnist:0-4", batch_size=16))
    assert batch.shape == (16, 28, 28, 1) and batch.dtype == tf.float32
    assert -1.0 <= float(tf.reduce_min(batch)) and float(tf.reduce_max(batch)) <= 1.0


def test_resize_and_channel_conversion_in_the_pipeline(fake_fmnist):
    images, labels = _first(load_images("fashion_mnist:7", image_size=32, channels=3, batch_size=4,
                                        with_labels=True))
    assert images.shape == (4, 32, 32, 3) and labels.dtype == tf.int32
    assert set(labels.numpy()) == {7}
    np.testing.assert_allclose(images[..., 0], images[..., 2])  # gray to RGB repeats the channel
    rgb = (np.ones((2, 8, 8, 3), np.float32) * [255, 0, 0])
    gray = to_model_range(rgb, channels=1)
    assert gray.shape == (2, 8, 8, 1)
    np.testing.assert_allclose(gray.numpy(), 0.2989 * 255 / 127.5 - 1, atol=1e-2)


def test_downsampling_is_antialiased():
    # A one-pixel checkerboard averages to mid grey under a proper low-pass filter; naive
    # subsampling would keep only the black or only the white pixels.
    board = ((np.indices((32, 32)).sum(0) % 2) * 255.0).astype(np.float32)[None, ..., None]
    small = to_model_range(board, image_size=(8, 8)).numpy()
    assert np.abs(small).max() < 0.1


def test_shots_apply_the_n_shot_rule(fake_fmnist):
    arrays = load_arrays("fashion_mnist:5-6", shots=3, seed=1)
    assert list(arrays.labels) == [5, 5, 5, 6, 6, 6]
    full = load_arrays("fashion_mnist", seed=1)
    from kgantl.data.shots import select_shots

    idx = select_shots(full.labels, [5, 6], 3, seed=1)
    np.testing.assert_array_equal(arrays.images, full.images[idx])


def test_shots_larger_than_class_is_rejected(fake_fmnist):
    with pytest.raises(ValueError, match=r"shots must be <= 20 for class 7\. Received: shots=21"):
        load_images("fashion_mnist:7", shots=21)


def test_same_seed_same_order_and_reshuffled_each_pass(tiny_npz):
    def order(seed):
        ds = load_images(str(tiny_npz), batch_size=40, seed=seed, with_labels=True)
        return [tuple(images.numpy()[:, 0, 0, 0]) for images, _ in ds.repeat(2)]

    first = order(3)
    assert first == order(3)
    assert first[0] != first[1]
    assert first != order(4)


def test_repeat_gives_full_batches_and_skip_replays_the_order(tiny_npz):
    arrays = load_arrays(str(tiny_npz))
    full = [b.numpy() for b in make_dataset(arrays, batch_size=16, repeat=True).take(6)]
    assert all(b.shape[0] == 16 for b in full)
    skipped = [b.numpy() for b in make_dataset(arrays, batch_size=16, repeat=True, skip_batches=4).take(2)]
    np.testing.assert_array_equal(skipped[0], full[4])
    np.testing.assert_array_equal(skipped[1], full[5])


def test_a_repeated_dataset_gives_every_iterator_the_same_passes_each_a_new_permutation(tiny_npz):
    # Keras under tf.distribute takes one batch from an extra iterator before training; with a stateful
    # shuffle, training would then see another order than on one device.
    arrays = load_arrays(str(tiny_npz))
    dataset = make_dataset(arrays, batch_size=40, seed=3, repeat=True, with_labels=True)
    first, again = ([labels.numpy() for _, labels in dataset.take(3)] for _ in range(2))
    for pass_labels, pass_again in zip(first, again):
        np.testing.assert_array_equal(pass_labels, pass_again)
    passes = [images.numpy()[:, 0, 0, 0] for images, _ in dataset.take(2)]
    assert sorted(passes[0].tolist()) == sorted(passes[1].tolist())  # each pass holds every image once
    assert not np.array_equal(passes[0], passes[1])
    other_seed = next(iter(make_dataset(arrays, batch_size=40, seed=4, repeat=True)))
    assert not np.array_equal(other_seed.numpy()[:, 0, 0, 0], passes[0])


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": 0}, "image_size must be a positive int"),
    ({"channels": 2}, "channels must be 1 or 3"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
])
def test_bad_pipeline_arguments(tiny_npz, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_images(str(tiny_npz), **kwargs)
