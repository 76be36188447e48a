"""Exports: the generator as a TensorFlow SavedModel that needs neither kgantl nor Keras to run, and the
whole GAN as a compact `.keras` file without optimizer state, for shipping as a transfer source."""
import contextlib
import json
import logging
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from kgantl.io import atomic_path, disk_writes

DEFAULT_EXPORT_ROOT = "saved_models"
# Beside saved_model.pb: what the signature cannot say (the classes a conditional generator was trained on).
EXPORT_INFO_FILE = "kgantl_generator.json"


@contextlib.contextmanager
def _tensorflow_logs_at_least(level):
    """Within the block, TensorFlow's Python logger drops records below `level` (its own level comes back)."""
    tf_logger = tf.get_logger()
    previous = tf_logger.level
    tf_logger.setLevel(max(level, tf_logger.getEffectiveLevel()))
    try:
        yield
    finally:
        tf_logger.setLevel(previous)


def export_generator(gan, export_dir, use_ema=True):
    """Write the generator as a SavedModel with one `serve` signature.

    The signature takes `noise` (float32, (N, latent_dim)) and, for a conditional model, `labels`
    (int32, (N,)), and returns `images` (float32, (N, H, W, C) in [-1, 1]). Load it anywhere with
    `tf.saved_model.load(export_dir).serve(noise=...)`. `kgantl_generator.json` beside it records the
    latent size and, for a conditional model, the class ids it was trained on (`class_ids`), which
    `kgantl generate` and `kgantl.runs.artifacts.open_generator` check labels against.

    The export is written to a temporary folder and moved into place (an older export is moved aside
    first and deleted last), so a failure at any point leaves a complete SavedModel or none.

    Args:
        gan: a `GAN` / `ConditionalGAN`.
        export_dir: target folder (replaced if it exists).
        use_ema: export the EMA generator when the model has one.

    Returns:
        `Path` of the SavedModel folder.

    Example:
        >>> export_generator(load_gan("runs/00000-fashion_mnist_0_4"), "saved_models/fmnist-0-4")
    """
    generator = gan.sampler if use_ema else gan.generator
    export_dir = Path(export_dir)
    noise_spec = tf.TensorSpec((None, gan.latent_dim), tf.float32, name="noise")
    archive = keras.export.ExportArchive()
    archive.track(generator)
    # float32 images whatever policy the generator computes in (a mixed-precision run's generator gives bfloat16).
    if len(generator.inputs) == 2:
        label_spec = tf.TensorSpec((None,), tf.int32, name="labels")
        archive.add_endpoint("serve", lambda noise, labels: {"images": tf.cast(generator([noise, labels],
                                                                                         training=False), tf.float32)},
                             input_signature=[noise_spec, label_spec])
    else:
        archive.add_endpoint("serve", lambda noise: {"images": tf.cast(generator(noise, training=False), tf.float32)},
                             input_signature=[noise_spec])
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = export_dir.with_name(export_dir.name + ".partial")
    previous = export_dir.with_name(export_dir.name + ".previous")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with _tensorflow_logs_at_least(logging.WARNING), disk_writes(export_dir):  # "Assets written to" is INFO
            archive.write_out(str(partial), verbose=False)
        info = {"latent_dim": int(gan.latent_dim), "image_shape": [int(d) for d in generator.outputs[0].shape[1:]],
                "class_ids": gan.trained_class_ids()}
        with disk_writes(export_dir):
            (partial / EXPORT_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        if export_dir.exists():
            shutil.rmtree(previous, ignore_errors=True)
            export_dir.rename(previous)
        partial.rename(export_dir)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return export_dir


def export_keras(gan, path):
    """Save the GAN (generator, discriminator, EMA generator, augmentation), or any Keras model, without optimizer
    state (rebuilt from its config: Keras 3's `clone_model` would copy the compilation, optimizer included).

    The file is about a third of a training checkpoint's size and loads with
    `keras.saving.load_model` as an uncompiled model: compile it with fresh optimizers to fine-tune,
    as transfer learning does anyway.

    Args:
        gan: a `GAN` / `ConditionalGAN`, or another Keras model (e.g. kgantl's classifier).
        path: target `.keras` file (written atomically).

    Returns:
        `Path` of the file.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras. Received: {path}")
    bare = type(gan).from_config(gan.get_config())
    bare.set_weights(gan.get_weights())
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        bare.save(tmp)
    return path
