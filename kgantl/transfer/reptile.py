"""Reptile: a meta-learned GAN initialisation from tasks made of source classes, before few-shot fine-tuning.

Each meta-iteration picks one source class (a task), trains the GAN on it for a few steps from the
current weights, and moves the weights a fraction of the way towards the result. The initialisation
then adapts to a new class in few steps.

Reference: Nichol et al., On First-Order Meta-Learning Algorithms, https://arxiv.org/abs/1803.02999 ;
Clouâtre & Demers, FIGR: Few-shot Image Generation with Reptile, https://arxiv.org/abs/1901.02199
"""
import logging

import numpy as np

from kgantl.data.pipeline import make_dataset

logger = logging.getLogger("kgantl")


def reptile(gan, arrays, meta_iterations=100, inner_steps=5, meta_step_size=0.1, batch_size=32, seed=0):
    """Meta-train a compiled GAN over one task per class of `arrays`, in place.

    The meta step size decays linearly to 0, as in the Reptile paper. Optimizer state carries over
    between tasks (a first-order simplification); the EMA generator is reset to the result.

    Args:
        gan: a compiled `GAN` or `ConditionalGAN`.
        arrays: `ImageArrays` of the source domain (at least 2 classes).
        meta_iterations: tasks sampled.
        inner_steps: GAN training steps per task.
        meta_step_size: initial interpolation factor towards the task-trained weights.
        batch_size: images per inner step.
        seed: seed of task sampling and shuffling.

    Returns:
        list of the inner `d_loss` at the end of each task, to watch the meta-training.

    Example:
        >>> reptile(gan, load_arrays("fashion_mnist:0-4"), meta_iterations=50)
    """
    classes = np.unique(arrays.labels)
    if len(classes) < 2:
        raise ValueError(f"Reptile needs source data with at least 2 classes (one task each). "
                         f"Received: {len(classes)} class")
    for name, value in (("meta_iterations", meta_iterations), ("inner_steps", inner_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    if not 0 < meta_step_size <= 1:
        raise ValueError(f"meta_step_size must be in (0, 1]. Received: meta_step_size={meta_step_size!r}")
    size, channels = gan.generator.output_shape[1:3], gan.generator.output_shape[-1]
    conditional = len(gan.generator.inputs) == 2
    tasks = {}
    for k in classes:
        keep = arrays.labels == k
        subset = type(arrays)(arrays.images[keep], arrays.labels[keep], arrays.num_classes, arrays.class_names)
        tasks[int(k)] = make_dataset(subset, image_size=size, channels=channels, batch_size=batch_size, seed=seed,
                                     repeat=True, with_labels=conditional)
    networks = (gan.generator, gan.discriminator)
    rng = np.random.default_rng(seed)
    losses = []
    for iteration in range(meta_iterations):
        task = int(rng.choice(classes))
        before = [network.get_weights() for network in networks]
        history = gan.fit(tasks[task], epochs=1, steps_per_epoch=inner_steps, verbose=0, shuffle=False)
        step = meta_step_size * (1.0 - iteration / meta_iterations)
        for network, start in zip(networks, before):
            network.set_weights([w0 + step * (w1 - w0) for w0, w1 in zip(start, network.get_weights())])
        losses.append(float(history.history["d_loss"][-1]))
    if gan.ema_generator is not None:
        gan.ema_generator.set_weights(gan.generator.get_weights())
    logger.info("Reptile: %d tasks of %d steps over classes %s", meta_iterations, inner_steps, classes.tolist())
    return losses
