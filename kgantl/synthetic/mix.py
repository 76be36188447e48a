"""`mix_real_and_generated`: a tf.data pipeline that interleaves real and generated labelled images.

Generated images are made inside the pipeline, a chunk at a time, by the conditional generator: nothing
is written to disk. Each element of the mixed stream comes from the generator with probability `ratio`
(`tf.data.Dataset.sample_from_datasets`), so real images are consumed only for the real elements.
"""
import dataclasses
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

# Chunks with nothing kept by the filter before the pipeline gives up instead of spinning forever.
_EMPTY_CHUNKS_LIMIT = 20


class GenerationStats:
    """Counts of generated images and of those the filter kept, updated as the pipeline runs.

    Attributes:
        generated, kept: int64 `tf.Variable`s the pipeline adds to.

    Example:
        >>> stats = GenerationStats()
        >>> dataset = mix_real_and_generated(real, gan, 0.5, filter_model=clf, threshold=0.9, stats=stats)
        >>> model.fit(dataset, steps_per_epoch=10); stats.kept_share
    """

    def __init__(self):
        self.generated = tf.Variable(0, dtype=tf.int64, trainable=False, name="generated")
        self.kept = tf.Variable(0, dtype=tf.int64, trainable=False, name="kept")

    @property
    def kept_share(self):
        """Share of generated images that passed the filter (None before any was generated)."""
        generated = int(self.generated.numpy())
        return int(self.kept.numpy()) / generated if generated else None

    def as_dict(self):
        return {"generated": int(self.generated.numpy()), "kept": int(self.kept.numpy()),
                "kept_share": self.kept_share}


@dataclasses.dataclass
class ConditionalSampler:
    """What the pipeline needs of a conditional generator: the network and its input and output sizes."""

    network: keras.Model
    latent_dim: int
    num_classes: int
    image_shape: tuple
    trained_classes: Optional[tuple] = None  # the classes a kgantl ConditionalGAN learnt (None: not known)


def as_conditional_sampler(generator):
    """A `ConditionalSampler` from a kgantl `ConditionalGAN`, a `.keras` file or run directory, or a
    Keras model taking `[noise, labels]` (its class count read from its label `Embedding`).

    Raises:
        ValueError: the generator is not conditional.
    """
    from kgantl.models.gan import GAN
    from kgantl.runs.artifacts import load_gan

    if isinstance(generator, (str, bytes)) or hasattr(generator, "__fspath__"):
        generator = load_gan(generator)
    trained = None
    if isinstance(generator, GAN):
        network = generator.sampler
        num_classes = getattr(generator, "num_classes", None)
        trained = generator.trained_class_ids()
    elif isinstance(generator, keras.Model):
        network = generator
        embeddings = [layer for layer in generator.layers if isinstance(layer, keras.layers.Embedding)]
        num_classes = int(embeddings[0].input_dim) if embeddings else None
    else:
        raise ValueError(f"generator must be a ConditionalGAN, a .keras file or run directory, or a Keras model "
                         f"taking [noise, labels]. Received: {type(generator).__name__}")
    if len(network.inputs) != 2 or num_classes is None:
        raise ValueError("generator must be conditional (inputs [noise, labels] and a label embedding): generated "
                         "images need the labels they were made for. Train one with conditional=True.")
    return ConditionalSampler(network, int(network.inputs[0].shape[-1]), num_classes,
                              tuple(int(d) for d in network.outputs[0].shape[1:]),
                              None if trained is None else tuple(int(k) for k in trained))


def _check_ratio(ratio):
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.floating)) or not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be a number in [0, 1] (the share of generated images). Received: {ratio!r}")
    return float(ratio)


def _element_specs(real_ds):
    """`(image_spec, label_spec, batched)` of a dataset of `(images, labels)`, checked."""
    spec = real_ds.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(f"real_ds must yield (images, labels) pairs. Received elements: {spec}")
    image_spec, label_spec = spec
    batched = image_spec.shape.rank == 4
    if image_spec.shape.rank not in (3, 4) or label_spec.shape.rank != int(batched) or not label_spec.dtype.is_integer:
        raise ValueError(f"real_ds must yield images (H, W, C) with integer class labels, batched or not. "
                         f"Received: images {image_spec}, labels {label_spec}")
    return image_spec, label_spec, batched


def count_labels(real_ds, num_classes):
    """Images per class in a finite dataset of `(images, labels)`, batched or not."""
    if real_ds.cardinality() < 0:  # INFINITE, or UNKNOWN (a filter, a generator): it may never end
        raise ValueError("real_ds may not end (it repeats, or its size is unknown), so its classes cannot be "
                         "counted: pass class_counts= (images per class of the real data).")
    counts = np.zeros(num_classes, np.int64)
    for _, labels in real_ds:
        labels = np.ravel(labels.numpy())
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"The generator knows {num_classes} classes (ids 0-{num_classes - 1}) but real_ds has "
                             f"label {labels.max() if labels.max() >= num_classes else labels.min()}: use a "
                             f"generator trained with the data's class ids.")
        counts += np.bincount(labels, minlength=num_classes)
    return counts


def generation_probabilities(class_counts, ratio, balance):
    """Class probabilities of generated labels.

    Without `balance`, uniform over the classes that have real images. With `balance`, rare classes get
    more: `p_c ∝ max(0, 1/K - (1 - ratio) q_c)` (q: real class shares, K classes), which makes the
    expected class counts of the mixed stream equal whenever the ratio allows it.
    """
    counts = np.asarray(class_counts, np.float64)
    present = counts > 0
    if not present.any():
        raise ValueError("class_counts must count at least one image.")
    probabilities = present.astype(np.float64)
    if balance and ratio > 0:
        shares = counts / counts.sum()
        probabilities = np.where(present, np.clip(1.0 / present.sum() - (1.0 - ratio) * shares, 0.0, None), 0.0)
        if probabilities.sum() <= 1e-12:  # nothing is under-represented: keep it uniform
            probabilities = present.astype(np.float64)
    return probabilities / probabilities.sum()


def _value_range(value_range, dtype):
    """The real images' `(low, high)`: (-1, 1) for floats and (0, 255) for integers unless given; checked."""
    if value_range is None:
        value_range = (0.0, 255.0) if dtype.is_integer else (-1.0, 1.0)
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(isinstance(v, (int, float)) for v in value_range) or not value_range[0] < value_range[1]):
        raise ValueError(f"value_range must be (low, high) with low < high. Received: value_range={value_range!r}")
    if dtype.is_integer and (value_range[0] < dtype.min or value_range[1] > dtype.max):
        raise ValueError(f"value_range {tuple(value_range)} does not fit the real images' dtype {dtype.name} "
                         f"({dtype.min}..{dtype.max}).")
    return float(value_range[0]), float(value_range[1])


def _to_real_range(images, value_range, dtype):
    """Generator output in [-1, 1] -> the real pipeline's value range and dtype."""
    low, high = value_range
    images = (tf.clip_by_value(images, -1.0, 1.0) + 1.0) * ((high - low) / 2.0) + low
    if dtype.is_integer:
        images = tf.round(images)
    return tf.cast(images, dtype)


def _generated_elements(sampler, probabilities, seed, chunk, image_spec, label_dtype, value_range,
                        filter_model, threshold, stats):
    """An endless dataset of single generated `(image, label)` elements, a chunk generated at a time."""
    log_probabilities = tf.constant(np.log(np.maximum(probabilities, 1e-30))[None, :], tf.float32)
    impossible = tf.constant(probabilities <= 0)

    def make_chunk(key):
        # Stateless draws keyed by (seed, a per-chunk key from Dataset.random): the same seed gives the same
        # stream, and every new iterator (each `fit` call) gets new images instead of replaying them.
        noise = tf.random.stateless_normal([chunk, sampler.latent_dim], seed=tf.stack([tf.constant(seed, tf.int64), key]))
        labels = tf.random.stateless_categorical(log_probabilities, chunk, seed=tf.stack([tf.constant(seed + 1, tf.int64), key]),
                                                 dtype=tf.int32)[0]
        # log(1e-30) is not -inf: make sure a class with probability 0 is never drawn.
        labels = tf.where(tf.gather(impossible, labels), tf.cast(tf.argmax(log_probabilities[0]), tf.int32), labels)
        images = _to_real_range(sampler.network([noise, labels], training=False), value_range, image_spec.dtype)
        if filter_model is not None:
            confidence = tf.gather(filter_model(images, training=False), labels, axis=1, batch_dims=1)
            keep = confidence >= threshold
            kept_now = tf.reduce_sum(tf.cast(keep, tf.int64))
            total = stats.generated.assign_add(chunk)
            kept = stats.kept.assign_add(kept_now)
            check = tf.debugging.Assert(tf.logical_or(kept > 0, total < chunk * _EMPTY_CHUNKS_LIMIT),
                                        [f"The filter kept none of the first {chunk * _EMPTY_CHUNKS_LIMIT} generated "
                                         f"images: lower the threshold ({threshold}) or check filter_model."])
            with tf.control_dependencies([check]):
                images, labels = tf.boolean_mask(images, keep), tf.boolean_mask(labels, keep)
        elif stats is not None:
            stats.generated.assign_add(chunk)
            stats.kept.assign_add(chunk)
        return images, tf.cast(labels, label_dtype)

    # One chunk at a time, one ahead. A parallel map measured slower on 2 cores (bench/augment_pipeline.py:
    # 0.62x against 0.71x of the real-only speed): its extra chunks compete with the training step.
    return (tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
            .map(make_chunk)
            .prefetch(1)
            .unbatch())


def _check_trained_classes(sampler, class_counts):
    """Refuse to generate classes the GAN never learnt: their label embeddings are untrained."""
    wanted = [k for k, count in enumerate(np.asarray(class_counts)) if count > 0]
    unknown = sorted(set(wanted) - set(sampler.trained_classes)) if sampler.trained_classes is not None else []
    if unknown:
        raise ValueError(f"The generator was trained on classes {', '.join(map(str, sampler.trained_classes))} and "
                         f"cannot make labelled images of the others: train or transfer a GAN on the real data's "
                         f"classes. Received: classes {', '.join(map(str, unknown))}")


def _check_filter(filter_model, threshold, num_classes):
    outputs = getattr(filter_model, "output_shape", (None,))[-1]
    if outputs is not None and outputs < num_classes:
        raise ValueError(f"filter_model must output a probability for each of the generator's {num_classes} "
                         f"class ids. Received: {outputs} outputs")
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be a probability in [0, 1]. Received: threshold={threshold!r}")


def _class_counts(real_ds, num_classes, classes, class_counts, balance):
    """Real images per class id (length `num_classes`), restricted to `classes` when given."""
    if class_counts is None:
        class_counts = count_labels(real_ds, num_classes) if classes is None or balance else \
            np.isin(np.arange(num_classes), classes).astype(np.int64)
    class_counts = np.asarray(class_counts, np.int64)
    if class_counts.ndim != 1 or len(class_counts) > num_classes or (class_counts < 0).any():
        raise ValueError(f"class_counts must hold a non-negative count for each class id, at most the generator's "
                         f"{num_classes}. Received: {len(class_counts)} entries")
    class_counts = np.pad(class_counts, (0, num_classes - len(class_counts)))
    if classes is not None:
        classes = np.asarray(classes)
        if classes.size == 0 or classes.min() < 0 or classes.max() >= num_classes:
            raise ValueError(f"classes must be class ids in 0-{num_classes - 1}. Received: {classes.tolist()}")
        class_counts = np.where(np.isin(np.arange(num_classes), classes), np.maximum(class_counts, 1), 0)
    return class_counts


def mix_real_and_generated(real_ds, generator, ratio, seed=0, batch_size=None, classes=None, class_counts=None,
                           balance=False, value_range=None, filter_model=None, threshold=0.5,
                           generate_chunk=64, stats=None):
    """Interleave real labelled images with images generated on the fly by a conditional generator.

    Each element comes from the generator with probability `ratio` and from `real_ds` otherwise. The
    generated labels are drawn from the real data's classes (uniformly, or with `balance` more for rare
    classes); every generated image is made for its label. The stream is deterministic under `seed` and
    has the real pipeline's dtype, value range and shape; it is batched and prefetched. It ends when
    `real_ds` ends (with `ratio=1` it is endless: give `steps_per_epoch` to `fit`).

    Args:
        real_ds: `tf.data.Dataset` of `(images, labels)`, batched or not; integer class labels.
        generator: a kgantl `ConditionalGAN`, a `.keras` file or run directory, or a Keras model taking
            `[noise, labels]` with a label `Embedding`; images in [-1, 1].
        ratio: share of generated elements, in [0, 1].
        seed: seed of the mixing choices, the noise and the generated labels.
        batch_size: output batch size (default: the static batch size of a batched `real_ds`).
        classes: class ids to generate (default: those present in `class_counts`).
        class_counts: images per class of the real data (default: counted from a finite `real_ds`;
            needed for a `real_ds` that repeats, unless `classes` is given without `balance`).
        balance: generate more of the rare classes so the mixed stream is balanced in expectation.
        value_range: `(low, high)` of the real images (default: (-1, 1), kgantl's pipelines, for float images
            and (0, 255) for integer ones); generated images are mapped from [-1, 1] to it and cast to the
            real dtype.
        filter_model: optional classifier (images in the real range -> class probabilities): generated images
            whose probability for their own label is below `threshold` are dropped.
        threshold: confidence a generated image needs to pass `filter_model`.
        generate_chunk: images generated per generator call.
        stats: optional `GenerationStats`, updated with generated and kept counts (of all images the
            pipeline generated, including up to two chunks made ahead and not yet consumed).

    Returns:
        `tf.data.Dataset` of `(images, labels)` batches; when `real_ds` has a static batch size equal to `batch_size`,
            the batches are full and keep it (`element_spec` equals the real one).

    Raises:
        ValueError: a ratio outside [0, 1], an unconditional generator, a generator whose image shape or
            class count does not fit the real data, or a dataset that is not `(images, labels)`.

    Example:
        >>> real = make_dataset(load_arrays("fashion_mnist:5-9", shots=10), batch_size=16, with_labels=True,
        ...                     repeat=True)
        >>> mixed = mix_real_and_generated(real, "runs/00003-shots/model.keras", ratio=0.5,
        ...                                class_counts=[0] * 5 + [10] * 5)
        >>> classifier.fit(mixed, epochs=10, steps_per_epoch=4)
    """
    ratio = _check_ratio(ratio)
    image_spec, label_spec, batched = _element_specs(real_ds)
    sampler = as_conditional_sampler(generator)
    batch_size = _checked_batch_size(batch_size, image_spec, batched, sampler, generate_chunk)
    value_range = _value_range(value_range, image_spec.dtype)
    if filter_model is not None:
        _check_filter(filter_model, threshold, sampler.num_classes)
    mixed = real_ds.unbatch() if batched else real_ds
    if ratio > 0.0:
        generated = _generated_stream(real_ds, sampler, ratio, seed, classes, class_counts, balance, generate_chunk,
                                      image_spec, label_spec, value_range, filter_model, threshold, stats)
        mixed = _interleaved(mixed, generated, ratio, seed)
    return _batched(mixed, batch_size, image_spec, batched)


def _checked_batch_size(batch_size, image_spec, batched, sampler, generate_chunk):
    """The output batch size (default: the real batches'), once the generator's image shape and the sizes fit."""
    if tuple(image_spec.shape[-3:]) != sampler.image_shape:
        raise ValueError(f"The generator makes images of shape {sampler.image_shape} but real_ds yields "
                         f"{tuple(image_spec.shape[-3:])}: use a generator trained at the real image size.")
    if batch_size is None:
        batch_size = image_spec.shape[0] if batched else None
        if batch_size is None:
            raise ValueError("batch_size is needed: real_ds is not batched, or its batch size is not static "
                             "(batch with drop_remainder=True or pass batch_size=).")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    if not isinstance(generate_chunk, (int, np.integer)) or generate_chunk < 1:
        raise ValueError(f"generate_chunk must be a positive integer. Received: {generate_chunk!r}")
    return batch_size


def _generated_stream(real_ds, sampler, ratio, seed, classes, class_counts, balance, generate_chunk, image_spec,
                      label_spec, value_range, filter_model, threshold, stats):
    """The generated `(image, label)` elements of `mix_real_and_generated` (its arguments, checked), unbatched."""
    class_counts = _class_counts(real_ds, sampler.num_classes, classes, class_counts, balance)
    _check_trained_classes(sampler, class_counts)
    if filter_model is not None and stats is None:
        stats = GenerationStats()
    return _generated_elements(sampler, generation_probabilities(class_counts, ratio, balance), int(seed),
                               int(generate_chunk), image_spec, label_spec.dtype, value_range, filter_model,
                               float(threshold), stats)


def _interleaved(real, generated, ratio, seed):
    """`real` and `generated` elements mixed, each one generated with probability `ratio` (> 0)."""
    if ratio == 1.0:
        return generated
    return tf.data.Dataset.sample_from_datasets([real, generated], weights=[1.0 - ratio, ratio],
                                                seed=int(seed), stop_on_empty_dataset=True,
                                                rerandomize_each_iteration=True)


def _batched(elements, batch_size, image_spec, batched):
    """`elements` in batches of `batch_size`, prefetched."""
    # Keep the real pipeline's static batch shape when asked for the same batch size.
    drop_remainder = batched and image_spec.shape[0] == batch_size
    return elements.batch(int(batch_size), drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
