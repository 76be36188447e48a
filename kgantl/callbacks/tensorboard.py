"""TensorBoard event files: every epoch's logs as scalars and the sample grid as an image.

Why not `keras.callbacks.TensorBoard`: it logs `train/` and `validation/` subruns with `epoch_`-prefixed
tags, adds graph, profiler and weight-histogram machinery a GAN with two optimizers does not fit, and it
writes through `tf.summary.scalar`, which since TensorFlow 2.21 needs the separate `tensorboard` package.
This callback instead writes with the core `tf.summary.write` op and the same summary metadata the
TensorBoard scalar and image plugins write, so training needs no extra dependency (only viewing does:
`pip install tensorboard; tensorboard --logdir runs/`), and its tags are exactly the keys of
`metrics.jsonl` (`d_loss`, `g_loss`, `aug_p`, `val_kid`, ...) at step = epoch number.
"""
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgantl.callbacks.samples import render_sample_grid
from kgantl.io import atomic_path

EVENT_FILE_GLOB = "events.out.tfevents.*"
IMAGE_TAG = "samples"


def _metadata(plugin_name, data_class):
    # Plugin contents are the plugins' own (empty, version-0) protos, which serialise to b"".
    return tf.compat.v1.SummaryMetadata(plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name=plugin_name),
                                        data_class=data_class)


_SCALAR_METADATA = _metadata("scalars", "DATA_CLASS_SCALAR")
_IMAGE_METADATA = _metadata("images", "DATA_CLASS_BLOB_SEQUENCE")


def _read_events(path):
    """The events of one file, stopping at a record cut short by a kill."""
    events = []
    try:
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            events.append(event)
    except tf.errors.DataLossError:
        pass
    return events


@keras.saving.register_keras_serializable(package="kgantl")
class TensorBoardLogger(keras.callbacks.Callback):
    """Write each epoch's numeric logs as TensorBoard scalars and, every N epochs, the sample grid as an image.

    Scalars use the log keys as tags at step = epoch number (1-based, as in `metrics.jsonl`); the image
    (tag `samples`, uint8 `[1, H, W, C]`) is the picture `SampleGrid` saves as PNG for the same `count`,
    `seed` and classes. The writer opens at the first epoch, is flushed after every epoch and closed at
    the end of training. On a resume (`fit(initial_epoch=N)`) events of epochs > N left by the interrupted
    run are first removed from the existing event files, so every epoch appears exactly once.

    Args:
        log_dir: folder for the event files (created if missing), normally `<run_dir>/tensorboard`.
        every: write the image every `every` epochs (and always after the last one).
        count: images in the grid.
        seed: seed of the fixed noise.
        num_classes: class count of a conditional model, None for an unconditional one.
        class_ids: for a conditional model, the labels to show, one class per row (default: all).

    Example:
        >>> gan.fit(ds, epochs=5, callbacks=[TensorBoardLogger("runs/x/tensorboard", every=1)])
    """

    def __init__(self, log_dir, every=1, count=64, seed=0, num_classes=None, class_ids=None):
        super().__init__()
        if every < 1 or count < 1:
            raise ValueError(f"every and count must be positive. Received: every={every}, count={count}")
        self.log_dir, self.every, self.count, self.seed = str(log_dir), every, count, seed
        self.num_classes = num_classes
        self.class_ids = None if class_ids is None else [int(k) for k in class_ids]
        self._writer = None

    def get_config(self):
        return {"log_dir": self.log_dir, "every": self.every, "count": self.count, "seed": self.seed,
                "num_classes": self.num_classes, "class_ids": self.class_ids}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def on_epoch_begin(self, epoch, logs=None):
        if self._writer is None:
            self._drop_from(epoch + 1)
            Path(self.log_dir).mkdir(parents=True, exist_ok=True)
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def _drop_from(self, step):
        """Rewrite event files without the summaries of steps >= `step` (a crashed run's unsaved epochs)."""
        for path in sorted(Path(self.log_dir).glob(EVENT_FILE_GLOB)):
            events = _read_events(path)
            kept = [e for e in events if not (e.HasField("summary") and e.step >= step)]
            if len(kept) == len(events) and path.stat().st_size == sum(8 + 4 + e.ByteSize() + 4 for e in events):
                continue  # nothing stale and no cut record
            with atomic_path(path) as tmp, tf.io.TFRecordWriter(str(tmp)) as records:
                for event in kept:
                    records.write(event.SerializeToString())

    def write_scalars(self, epoch_number, logs):
        """Write every numeric value of `logs` as a scalar at step `epoch_number`; returns the tags written."""
        tags = []
        with self._writer.as_default(step=epoch_number):
            for key, value in (logs or {}).items():
                try:
                    value = float(value)
                except (TypeError, ValueError):  # e.g. a learning-rate schedule's name
                    continue
                tf.summary.write(key, tf.constant(value, tf.float32), metadata=_SCALAR_METADATA)
                tags.append(key)
        return tags

    def write_image(self, epoch_number):
        """Render the sample grid and write it as the `samples` image at step `epoch_number`; returns it."""
        picture = render_sample_grid(self.model, count=self.count, seed=self.seed, num_classes=self.num_classes,
                                     class_ids=self.class_ids)
        height, width = picture.shape[:2]
        # The image plugin's format: [width, height, png_0, ...] as one string tensor.
        tensor = tf.stack([tf.as_string(width), tf.as_string(height), tf.image.encode_png(picture)])
        with self._writer.as_default(step=epoch_number):
            tf.summary.write(IMAGE_TAG, tensor, metadata=_IMAGE_METADATA)
        return picture[np.newaxis]

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:  # used outside fit() without on_epoch_begin
            self.on_epoch_begin(epoch)
        self.write_scalars(epoch + 1, logs)
        last = self.params.get("epochs") == epoch + 1 if self.params else False
        if (epoch + 1) % self.every == 0 or last:
            self.write_image(epoch + 1)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
