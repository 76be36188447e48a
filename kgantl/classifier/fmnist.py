"""kgantl's own small CNN classifier: trained on Fashion-MNIST, its `embedding` layer is the offline `fmnist` feature
space; trained on other data (a folder of colour images, digits, an .npz), a classifier of that data.

Train and ship it with kgantl's own command (the model card in `saved_models/fmnist-classifier/`
records the exact run):

    kgantl train-classifier --out saved_models/fmnist-classifier --epochs 10

The same network trained on classes 0-4 only (`--data fashion_mnist:0-4`) is the offline pretrained
backbone for transfer to classes 5-9. On any other data its input shape (size and channels) and its number of
classes come from the data: `kgantl train-classifier --data photos/ --out runs/photos-classifier`.
"""
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers

from kgantl.metrics.extractors import EMBEDDING_LAYER  # the layer the `fmnist` extractor reads


# Two 2x2 max-pools: smaller images would pool away to nothing.
MIN_SIDE = 4
# Larger images get further convolution pairs and pools until the last map is at most this side (28 px: 7).
MAX_POOLED_SIDE = 8


def _conv_filters(side):
    """Filters of each 3x3 convolution, a max-pool after every second: 32-32-64-64 (Fashion-MNIST's 28 px pool to
    7), and a further 64-64 pair per halving while the map is over `MAX_POOLED_SIDE`, so larger images (64 px: 8)
    do not make a flatten of thousands of features and a multi-megabyte embedding layer."""
    filters, side = [32, 32, 64, 64], side // 4
    while side > MAX_POOLED_SIDE:
        filters, side = filters + [64, 64], side // 2
    return filters


def build_fmnist_classifier(num_classes=10, embedding_dim=64, seed=0, input_shape=(28, 28, 1)):
    """A small CNN for images in [-1, 1] (28x28x1 by default) with a linear `embedding` layer before the softmax head:
    3x3 convolutions 32-32-64-64 with a max-pool after each pair, another 64-64 pair and pool per halving while the
    map is larger than 8 px (64 px images: three pools), flatten, dropout, the embedding.

    The embedding is linear (ReLU comes after it), so its features have no dead, constant dimensions
    and their covariance is full rank, as FID requires.

    Args:
        num_classes: output classes.
        embedding_dim: size of the feature embedding.
        seed: initialiser seed.
        input_shape: `(height, width, channels)` of the images, each side at least `MIN_SIDE`.

    Returns:
        An uncompiled functional `keras.Model` (images -> class probabilities).

    Example:
        >>> build_fmnist_classifier(num_classes=2, input_shape=(64, 64, 3)).input_shape
        (None, 64, 64, 3)
    """
    if min(input_shape[:2]) < MIN_SIDE:
        raise ValueError(f"the classifier's images must be at least {MIN_SIDE}x{MIN_SIDE}. "
                         f"Received: input_shape={tuple(input_shape)}")
    init = lambda i: keras.initializers.GlorotUniform(seed=seed * 100 + i)  # noqa: E731
    images = keras.Input(tuple(input_shape), name="images")
    h = images
    for i, filters in enumerate(_conv_filters(max(input_shape[:2]))):
        h = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer=init(i),
                          name=f"conv{i + 1}")(h)
        if i % 2 == 1:
            h = layers.MaxPooling2D(name=f"pool{i // 2 + 1}")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dropout(0.3, seed=seed, name="dropout1")(h)
    embedding = layers.Dense(embedding_dim, kernel_initializer=init(10), name=EMBEDDING_LAYER)(h)
    h = layers.Activation("relu", name="embedding_relu")(embedding)
    h = layers.Dropout(0.3, seed=seed + 1, name="dropout2")(h)
    probabilities = layers.Dense(num_classes, activation="softmax", kernel_initializer=init(11), name="classes")(h)
    return keras.Model(images, probabilities, name="fmnist_classifier")


def classifier_data(data="fashion_mnist", seed=0, test_data=None):
    """What `train_fmnist_classifier` trains and scores on, checked: never the same images
    (`kgantl.classifier.finetune.train_and_test`: a test split, or for a folder or file the last fifth of each class,
    or `test_data`), and the number of classes (the highest class id + 1, so a subset keeps its ids).

    Returns:
        `(train ImageArrays, test ImageArrays, test rule, classes)`.

    Raises:
        ValueError: the test set has a class the training data lacks, or what the data refuse.

    Example:
        >>> train, test, rule, classes = classifier_data("photos/")
    """
    from kgantl.classifier.finetune import train_and_test

    train, test, rule = train_and_test(data, seed=seed, test_data=test_data)
    classes = int(train.labels.max()) + 1
    if int(test.labels.max()) >= classes:
        raise ValueError(f"the test set has class ids the training data does not ({rule}): the classifier has "
                         f"{classes} outputs. Received: test class id {int(test.labels.max())}")
    return train, test, rule, classes


def embedding_rms(model, images, count=10_000):
    """RMS of the `embedding` layer over up to `count` of `images` (pixels in [0, 255]): the scale that brings the
    layer's features to about unit RMS as an extractor (`fmnist` divides by 5, its 4.96)."""
    features = keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).output)
    batch = np.asarray(images[:count], np.float32) / 127.5 - 1.0
    values = np.concatenate([features(batch[i:i + 512], training=False) for i in range(0, len(batch), 512)])
    return round(float(np.sqrt(np.mean(np.square(values)))), 3)


def train_fmnist_classifier(out_dir, epochs=10, batch_size=128, seed=0, data="fashion_mnist", verbose="auto",
                            test_data=None):
    """Train the CNN on a data spec, score it on images it did not train on, save `model.keras` + metrics.

    Fashion-MNIST (the default) trains on its train split and is scored on its test split, as the shipped
    classifiers were. The network's input shape and number of classes come from the data.

    Args:
        out_dir: folder that receives `model.keras` and `metrics.json`.
        epochs: training epochs.
        batch_size: batch size.
        seed: seed of shuffling and initialisation (and of a folder's held-out fifth).
        data: labelled data spec: `fashion_mnist` or a class subset such as `fashion_mnist:0-4` (the head then
            has as many outputs as the highest class id + 1), `digits`, a folder, an `.npz` file.
        verbose: Keras progress bar setting.
        test_data: a data spec to score on instead (all of it; its test split where it has one).

    Returns:
        dict with `test_accuracy`, `test_loss`, `test_set` (the rule and the counts), `input_shape`, `epochs`,
            `wall_time_s`, `embedding_rms` (see `embedding_rms`). `model.keras` holds the weights without optimizer
            state (it loads uncompiled).

    Example:
        >>> metrics = train_fmnist_classifier("runs/photos-classifier", epochs=5, data="photos/")
    """
    from kgantl.classifier.finetune import test_set_record
    from kgantl.data import make_dataset
    from kgantl.export import export_keras
    from kgantl.io import write_json

    arrays, test_arrays, rule, classes = classifier_data(data, seed, test_data)
    train = make_dataset(arrays, batch_size=batch_size, seed=seed, with_labels=True)
    test = make_dataset(test_arrays, batch_size=512, shuffle=False, with_labels=True)
    model = build_fmnist_classifier(num_classes=classes, seed=seed, input_shape=arrays.images.shape[1:])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train, epochs=epochs, verbose=verbose)
    wall = time.perf_counter() - start
    loss, accuracy = model.evaluate(test, verbose=0)
    out_dir = Path(out_dir)
    export_keras(model, out_dir / "model.keras")  # weights only: a shipped model carries no optimizer state
    metrics = {"data": data, "test_accuracy": float(accuracy), "test_loss": float(loss),
               "test_set": test_set_record(rule, arrays, test_arrays),
               "input_shape": [int(n) for n in arrays.images.shape[1:]], "epochs": epochs,
               "batch_size": batch_size, "seed": seed, "wall_time_s": round(wall, 1),
               "embedding_rms": embedding_rms(model, arrays.images)}
    write_json(out_dir / "metrics.json", metrics)
    return metrics


if __name__ == "__main__":
    raise SystemExit("Train this classifier with `kgantl train-classifier` (for example --out "
                     "saved_models/fmnist-classifier --epochs 10); the module no longer runs as a script.")
