"""Sample grids of a fixed noise batch, so epochs can be compared by eye."""
from pathlib import Path

import keras
import numpy as np

from kgantl.images import make_grid, save_png


def grid_layout(count, num_classes=None, class_ids=None):
    """Columns of a sample grid of `count` images and, for a conditional model, the label of each image.

    Rows follow classes: row r shows `class_ids[r % len(class_ids)]`.

    Args:
        count: images in the grid.
        num_classes: class count of a conditional model, None for an unconditional one.
        class_ids: labels to show (default: 0 .. num_classes-1); ignored when `num_classes` is None.

    Returns:
        `(columns, labels)`: columns is ceil(sqrt(count)); labels is an int32 array (count,), or None.

    Example:
        >>> grid_layout(4, num_classes=3, class_ids=[1, 2])
        (2, array([1, 1, 2, 2], dtype=int32))
    """
    columns = int(np.ceil(np.sqrt(count)))
    if num_classes is None:
        return columns, None
    ids = list(class_ids) if class_ids else list(range(num_classes))
    rows = np.arange(count) // columns
    return columns, np.asarray(ids)[rows % len(ids)].astype(np.int32)


def render_sample_grid(model, count=64, seed=0, num_classes=None, class_ids=None):
    """Sample `model` on fixed noise and tile the images into one uint8 picture.

    The noise depends only on `seed`, `count` and `model.latent_dim`, so grids of different epochs
    (or of the PNG files and the TensorBoard images of one run) show the same latent points.

    Args:
        model: a GAN or ConditionalGAN (anything with `latent_dim` and `generate(noise=, labels=)`).
        count: images in the grid.
        seed: seed of the fixed noise.
        num_classes: class count of a conditional model, None for an unconditional one.
        class_ids: for a conditional model, the labels to show, one class per row (default: all).

    Returns:
        uint8 array (H, W, C), as `kgantl.images.make_grid` tiles it.

    Example:
        >>> picture = render_sample_grid(gan, count=16, seed=0)  # (4 * (size + 1) + 1, ..., channels)
    """
    noise = np.random.default_rng(seed).standard_normal((count, model.latent_dim)).astype("float32")
    columns, labels = grid_layout(count, num_classes, class_ids)
    return make_grid(model.generate(noise=noise, labels=labels), columns=columns)


class SampleGrid(keras.callbacks.Callback):
    """Write `samples/epoch_NNNN.png`: the sampling generator on the same noise every N epochs.

    For a conditional model each row is one class (classes cycle if there are more rows than classes).

    Args:
        directory: folder for the PNG files (created if missing), normally inside the run directory.
        every: write every `every` epochs (and always after the last one).
        count: images in the grid.
        seed: seed of the fixed noise.
        num_classes: class count of a conditional model, None for an unconditional one.
        class_ids: for a conditional model, the labels to show (default: 0 .. num_classes-1).

    Example:
        >>> gan.fit(ds, epochs=5, callbacks=[SampleGrid("runs/x/samples", every=1)])
    """

    def __init__(self, directory, every=1, count=64, seed=0, num_classes=None, class_ids=None):
        super().__init__()
        if every < 1 or count < 1:
            raise ValueError(f"every and count must be positive. Received: every={every}, count={count}")
        self.directory, self.every, self.count, self.seed = str(directory), every, count, seed
        self.num_classes = num_classes
        self.class_ids = None if class_ids is None else [int(k) for k in class_ids]

    def get_config(self):
        return {"directory": self.directory, "every": self.every, "count": self.count, "seed": self.seed,
                "num_classes": self.num_classes, "class_ids": self.class_ids}

    def _columns_and_labels(self):
        return grid_layout(self.count, self.num_classes, self.class_ids)

    def write(self, epoch_number):
        """Render and save the grid for `epoch_number` (1-based); returns the PNG path."""
        picture = render_sample_grid(self.model, count=self.count, seed=self.seed, num_classes=self.num_classes,
                                     class_ids=self.class_ids)
        path = Path(self.directory) / f"epoch_{epoch_number:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_png(path, picture)
        return path

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") == epoch + 1 if self.params else False
        if (epoch + 1) % self.every == 0 or last:
            self.write(epoch + 1)
