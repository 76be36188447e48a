"""Sample grids of a fixed noise batch, so epochs can be compared by eye."""
from pathlib import Path

import keras
import numpy as np

from kgantl.images import make_grid, save_png


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
        columns = int(np.ceil(np.sqrt(self.count)))
        if self.num_classes is None:
            return columns, None
        ids = self.class_ids or list(range(self.num_classes))
        rows = np.arange(self.count) // columns
        return columns, np.asarray(ids)[rows % len(ids)].astype(np.int32)

    def write(self, epoch_number):
        """Render and save the grid for `epoch_number` (1-based); returns the PNG path."""
        noise = np.random.default_rng(self.seed).standard_normal((self.count, self.model.latent_dim)).astype("float32")
        columns, labels = self._columns_and_labels()
        images = self.model.generate(noise=noise, labels=labels)
        path = Path(self.directory) / f"epoch_{epoch_number:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_png(path, make_grid(images, columns=columns))
        return path

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") == epoch + 1 if self.params else False
        if (epoch + 1) % self.every == 0 or last:
            self.write(epoch + 1)
