"""From a data spec to a shuffled, batched, prefetched `tf.data.Dataset` of images in [-1, 1]."""
import dataclasses

import numpy as np
import tensorflow as tf

from kgantl.data.emoji import is_emoji_spec, spec_shots
from kgantl.data.shots import select_shots
from kgantl.data.sources import resolve_source


def load_arrays(spec, split="train", shots=None, seed=0):
    """Load a spec into memory and apply the n-shot rule.

    Args:
        spec: see `kgantl.data.sources.resolve_source`.
        split: `"train"` or `"test"`.
        shots: images per class (the benchmark protocol's n-shot rule), or None for all. For an `emoji:` spec, base
            emoji of the whole selection within `split` (the protocol's emoji rule, `kgantl.data.emoji.spec_shots`),
            not per class.
        seed: seed of the n-shot rule.

    Returns:
        `ImageArrays` with float32 images in [0, 255].

    Example:
        >>> arrays = load_arrays("fashion_mnist:7", shots=10, seed=0)
    """
    if shots is not None and is_emoji_spec(spec):
        return spec_shots(spec, shots, seed=seed, split=split)
    arrays = resolve_source(spec, split=split)
    if len(arrays.images) == 0:
        raise ValueError(f"The data spec selects no images. Received: {spec!r} split={split!r}")
    if shots is not None:
        idx = select_shots(arrays.labels, np.unique(arrays.labels), shots, seed)
        arrays = dataclasses.replace(arrays, images=arrays.images[idx], labels=arrays.labels[idx])
    return arrays


def _size_pair(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (int(image_size), int(image_size))
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
            or not all(isinstance(v, (int, np.integer)) and v > 0 for v in image_size)):
        raise ValueError(f"image_size must be a positive int or (height, width). Received: image_size={image_size!r}")
    return tuple(int(v) for v in image_size)


def convert_and_resize(images, size=None, channels=None):
    """Channel conversion and antialiased resizing, shared by every place that adapts images.

    Grey becomes RGB by repetition, RGB becomes grey by ITU-R 601 luma; resizing is bilinear with
    antialiasing (a proper low-pass filter when shrinking) and skipped when the size already matches.

    Args:
        images: float tensor (N, H, W, 1 or 3).
        size: (height, width), or None to keep the size.
        channels: 1, 3, or None to keep the channels.

    Returns:
        float tensor (N, height, width, channels), in the input's value range.
    """
    if channels == 3 and images.shape[-1] == 1:
        images = tf.image.grayscale_to_rgb(images)
    elif channels == 1 and images.shape[-1] == 3:
        images = tf.image.rgb_to_grayscale(images)
    if size is not None and tuple(images.shape[1:3]) != tuple(size):
        images = tf.image.resize(images, size, method="bilinear", antialias=True)
    return images


def to_model_range(images, image_size=None, channels=None):
    """Convert a batch of [0, 255] images to the models' input: resized, channel-converted, in [-1, 1].

    Resizing is bilinear with antialiasing (a proper low-pass filter when shrinking). An alpha channel
    is dropped; grayscale becomes RGB by repetition, RGB becomes grayscale by ITU-R 601 luma.

    Args:
        images: float tensor (N, H, W, C) in [0, 255].
        image_size: (height, width) or None to keep the size.
        channels: 1, 3 or None to keep the channels.

    Returns:
        float32 tensor (N, height, width, channels) in [-1, 1].
    """
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape[-1] == 4:
        images = images[..., :3]
    images = convert_and_resize(images, image_size, channels)
    return tf.clip_by_value(images / 127.5 - 1.0, -1.0, 1.0)


def _reshuffled_batches(arrays, batch_size, seed, drop_remainder):
    """Endless batches, each pass over the data a permutation that depends on `(seed, pass)` alone.

    A seeded `Dataset.shuffle` gives every new iterator of the same dataset another order, and Keras makes
    an extra one under a `tf.distribute` strategy (it takes a batch to build the model, then starts over):
    with stateless permutations every iterator yields the same batches, so a run on N replicas sees what
    one device sees, and each `fit` call of a run sees what an uninterrupted or a resumed run sees.
    """
    images = tf.constant(arrays.images)
    labels = tf.constant(arrays.labels.astype(np.int32))
    count = len(arrays.images)

    def permutation(pass_number):
        order = tf.random.experimental.stateless_shuffle(tf.range(count, dtype=tf.int64),
                                                         seed=tf.stack([tf.constant(seed, tf.int64), pass_number]))
        return tf.data.Dataset.from_tensor_slices(order)

    indices = tf.data.Dataset.counter().flat_map(permutation)
    return indices.batch(batch_size, drop_remainder=drop_remainder).map(
        lambda batch: (tf.gather(images, batch), tf.gather(labels, batch)))


def make_dataset(arrays, image_size=None, channels=None, batch_size=64, seed=0, shuffle=True,
                 repeat=False, with_labels=False, skip_batches=0, drop_remainder=None):
    """Build the training pipeline from in-memory arrays.

    Args:
        arrays: `ImageArrays` from `load_arrays`.
        image_size: int or (height, width), or None to keep the source size.
        channels: 1 or 3, or None to keep the source channels (an alpha channel is dropped).
        batch_size: images per batch.
        seed: shuffle seed (the order changes every pass, reproducibly; when repeating, every iterator of
            the dataset yields the same order).
        shuffle: shuffle over the whole data set.
        repeat: repeat forever; batches are then always full, so an epoch is set by `steps_per_epoch`.
        with_labels: yield `(images, labels)` instead of images.
        skip_batches: batches to drop from the start (a resumed run replays the same order).
        drop_remainder: drop a last, smaller batch (default: only when repeating, where none occurs).

    Returns:
        `tf.data.Dataset` of float32 images in [-1, 1] (and int32 labels), prefetched with AUTOTUNE.
    """
    size = _size_pair(image_size)
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 or 3. Received: channels={channels!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    drop_remainder = repeat if drop_remainder is None else drop_remainder
    if shuffle and repeat:
        dataset = _reshuffled_batches(arrays, int(batch_size), seed, drop_remainder)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((arrays.images, arrays.labels.astype(np.int32)))
        if shuffle:
            dataset = dataset.shuffle(len(arrays.images), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            dataset = dataset.repeat()
        dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
    if skip_batches:
        dataset = dataset.skip(skip_batches)  # before the map, so skipped batches are not resized
    if with_labels:
        dataset = dataset.map(lambda x, y: (to_model_range(x, size, channels), y),
                              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        dataset = dataset.map(lambda x, y: to_model_range(x, size, channels),
                              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def load_images(spec, image_size=None, channels=None, batch_size=64, shots=None, seed=0, split="train",
                with_labels=False, shuffle=True, repeat=False):
    """Load any supported data spec as a ready-to-train `tf.data.Dataset`.

    Args:
        spec: `fashion_mnist[:CLASSES]` (e.g. `fashion_mnist:7`, `fashion_mnist:0-4`), `digits[:CLASSES]`,
            `tfds:NAME[:CLASSES]`, `emoji:VENDOR[:SELECTION][@LABELS]` (e.g. `emoji:google:!Animals & Nature`), a
            folder with one sub-folder per class, an `.npz`/`.npy` file, a numpy array or `(images, labels)`.
        image_size: int or (height, width); None keeps the source size.
        channels: 1 or 3; None keeps the source channels.
        batch_size: images per batch.
        shots: images per class by the benchmark protocol's n-shot rule, or None for all.
        seed: seed of the n-shot rule and of shuffling.
        split: `"train"` or `"test"`.
        with_labels: yield `(images, labels)`; labels keep the data set's own class ids.
        shuffle: shuffle each pass.
        repeat: repeat forever with full batches.

    Returns:
        `tf.data.Dataset` of float32 images in [-1, 1] (and int32 labels).

    Example:
        >>> ds = load_images("fashion_mnist:7", image_size=32, channels=3, batch_size=16, shots=10)
    """
    arrays = load_arrays(spec, split=split, shots=shots, seed=seed)
    return make_dataset(arrays, image_size=image_size, channels=channels, batch_size=batch_size, seed=seed,
                        shuffle=shuffle, repeat=repeat, with_labels=with_labels)
