"""The classic-augmentation baseline: random flips and crops as Keras preprocessing layers in tf.data."""
import keras
import tensorflow as tf


def classic_augmentation(seed=0, flip=True, shift=0.1, fill_value=-1.0):
    """Random horizontal flips and random crops (shifts of up to `shift` of the side, the rest padded).

    Args:
        seed: seed of the random layers.
        flip: include the horizontal flip.
        shift: largest shift as a fraction of height and width (a crop of the padded image).
        fill_value: value of the padding; -1 is black in kgantl's [-1, 1] range.

    Returns:
        A `keras.Sequential` to call with `training=True` on image batches.

    Example:
        >>> augment = classic_augmentation(seed=0)
        >>> dataset = dataset.map(lambda x, y: (augment(x, training=True), y))
    """
    layers = [keras.layers.RandomFlip("horizontal", seed=seed)] if flip else []
    layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="constant", fill_value=fill_value,
                                                 seed=seed + 1))
    return keras.Sequential(layers, name="classic_augmentation")


def augment_dataset(dataset, augmentation):
    """Apply `augmentation` (training mode) to the images of a dataset of `(images, labels)` batches."""
    # Sequential on purpose: parallel calls would race on the random layers' seed state and break
    # reproducibility under the seed.
    return dataset.map(lambda images, labels: (augmentation(images, training=True), labels)).prefetch(tf.data.AUTOTUNE)
