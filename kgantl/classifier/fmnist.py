"""kgantl's own Fashion-MNIST classifier, whose `embedding` layer is the offline `fmnist` feature space.

Train and ship it with kgantl's own command (the model card in `saved_models/fmnist-classifier/`
records the exact run):

    kgantl train-classifier --out saved_models/fmnist-classifier --epochs 10

The same network trained on classes 0-4 only (`--data fashion_mnist:0-4`) is the offline pretrained
backbone for transfer to classes 5-9.
"""
import time
from pathlib import Path

import keras
from keras import layers

from kgantl.metrics.extractors import EMBEDDING_LAYER  # the layer the `fmnist` extractor reads


def build_fmnist_classifier(num_classes=10, embedding_dim=64, seed=0):
    """A small CNN for 28x28x1 images in [-1, 1] with a linear `embedding` layer before the softmax head.

    The embedding is linear (ReLU comes after it), so its features have no dead, constant dimensions
    and their covariance is full rank, as FID requires.

    Args:
        num_classes: output classes.
        embedding_dim: size of the feature embedding.
        seed: initialiser seed.

    Returns:
        An uncompiled functional `keras.Model` (images -> class probabilities).
    """
    init = lambda i: keras.initializers.GlorotUniform(seed=seed * 100 + i)  # noqa: E731
    images = keras.Input((28, 28, 1), name="images")
    h = images
    for i, filters in enumerate((32, 32, 64, 64)):
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


def train_fmnist_classifier(out_dir, epochs=10, batch_size=128, seed=0, data="fashion_mnist", verbose="auto"):
    """Train on a Fashion-MNIST train split, evaluate on its test split, save `model.keras` + metrics.

    Args:
        out_dir: folder that receives `model.keras` and `metrics.json`.
        data: `fashion_mnist` or a class subset such as `fashion_mnist:0-4` (the head then has as many
            outputs as the highest class id + 1).
        epochs: training epochs.
        batch_size: batch size.
        seed: seed of shuffling and initialisation.
        verbose: Keras progress bar setting.

    Returns:
        dict with `test_accuracy`, `test_loss`, `epochs`, `wall_time_s`.
    """
    from kgantl.data import load_arrays, load_images, make_dataset
    from kgantl.io import atomic_path, write_json

    arrays = load_arrays(data)
    classes = int(arrays.labels.max()) + 1
    train = make_dataset(arrays, batch_size=batch_size, seed=seed, with_labels=True)
    test = load_images(data, split="test", batch_size=512, shuffle=False, with_labels=True)
    model = build_fmnist_classifier(num_classes=classes, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train, epochs=epochs, verbose=verbose)
    wall = time.perf_counter() - start
    loss, accuracy = model.evaluate(test, verbose=0)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "model.keras") as tmp:
        model.save(tmp)
    metrics = {"data": data, "test_accuracy": float(accuracy), "test_loss": float(loss), "epochs": epochs,
               "batch_size": batch_size, "seed": seed, "wall_time_s": round(wall, 1)}
    write_json(out_dir / "metrics.json", metrics)
    return metrics



if __name__ == "__main__":
    raise SystemExit("Train this classifier with `kgantl train-classifier` (for example --out "
                     "saved_models/fmnist-classifier --epochs 10); the module no longer runs as a script.")
