"""Run by tests/test_distribute.py in a fresh process (the CPU must be split before TensorFlow sets up its
devices): a few steps of a tiny GAN on one device and on two mirrored CPU devices at the same global batch.

Prints one JSON line: both runs' epoch logs and the largest weight difference.
Usage: python tests/mirrored_equivalence.py gan|conditional adam|sgd
(SGD shows a wrongly scaled loss, which Adam, invariant to the gradient's scale, would hide.)
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kgantl.distribute import make_distribution, split_cpu  # noqa: E402

split_cpu(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator  # noqa: E402

GLOBAL_BATCH, STEPS, CLASSES = 16, 3, 3


def train(strategy, conditional, optimizer):
    """Logs and weights (G, D, EMA G) after STEPS steps; augmentation off, R1 on."""
    classes = CLASSES if conditional else None
    with strategy.scope():
        generator = build_generator(16, 1, 8, 8, num_classes=classes, seed=0)
        discriminator = build_discriminator(16, 1, 8, num_classes=classes, seed=1)
        kwargs = {"class_ids": list(range(CLASSES))} if conditional else {}
        gan = (ConditionalGAN if conditional else GAN)(generator, discriminator, ema_decay=0.9, seed=0, **kwargs)
        optimizers = {"d_optimizer": keras.optimizers.SGD(0.05), "g_optimizer": keras.optimizers.SGD(0.05)} \
            if optimizer == "sgd" else {}
        gan.compile(jit_compile=False, r1_weight=1.0, **optimizers)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (64, 16, 16, 1)).astype("float32")
    labels = rng.integers(0, CLASSES, 64).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((images, labels) if conditional else images)
    history = gan.fit(data.batch(GLOBAL_BATCH, drop_remainder=True).repeat(), epochs=1, steps_per_epoch=STEPS,
                      verbose=0)
    weights = [w.numpy() for w in gan.generator.weights + gan.discriminator.weights + gan.ema_generator.weights]
    return {k: v[-1] for k, v in history.history.items()}, weights, strategy.num_replicas_in_sync


def main(kind, optimizer):
    one_logs, one_weights, _ = train(tf.distribute.get_strategy(), kind == "conditional", optimizer)
    two_logs, two_weights, replicas = train(make_distribution("mirrored", cpu_replicas=2), kind == "conditional",
                                            optimizer)
    changed = max(float(np.max(np.abs(a - b))) for a, b in zip(one_weights, _initial(kind)))
    print(json.dumps({"one_device": one_logs, "mirrored": two_logs, "replicas": replicas, "weights_moved": changed,
                      "max_weight_difference": max(float(np.max(np.abs(a - b)))
                                                   for a, b in zip(one_weights, two_weights))}))


def _initial(kind):
    classes = CLASSES if kind == "conditional" else None
    generator = build_generator(16, 1, 8, 8, num_classes=classes, seed=0)
    discriminator = build_discriminator(16, 1, 8, num_classes=classes, seed=1)
    return [w.numpy() for w in generator.weights + discriminator.weights + generator.weights]


if __name__ == "__main__":
    main(*sys.argv[1:3])
