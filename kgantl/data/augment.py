"""Differentiable augmentation (DiffAugment) with an adjustable probability for adaptive use (ADA).

Applied to real and generated images alike before the discriminator, so D cannot memorise the few real
images while G still receives gradients through the augmentation.
"""
import keras
import tensorflow as tf
from keras import ops

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy):
    """Turn `"color,translation"` (or a list) into a tuple of known augmentation names.

    Args:
        policy: comma-separated string, list of names, or empty/None for no augmentation.

    Returns:
        Tuple of names from `POLICIES`, in the given order.
    """
    if not policy:
        return ()
    names = [p.strip() for p in policy.split(",")] if isinstance(policy, str) else list(policy)
    unknown = [n for n in names if n not in POLICIES]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            f"diffaugment policy must be a comma-separated subset of {', '.join(POLICIES)} without repeats. "
            f"Received: {policy!r}"
        )
    return tuple(names)


def _uniform(batch, seed, dtype):
    """One uniform draw per image, in the images' dtype (bfloat16 or float16 under a mixed-precision policy)."""
    return ops.cast(keras.random.uniform((batch, 1, 1, 1), seed=seed), dtype)


def random_color(images, seed):
    """Random brightness, saturation and contrast per image (values stay unclipped, as in DiffAugment)."""
    batch = ops.shape(images)[0]
    images = images + (_uniform(batch, seed, images.dtype) - 0.5)
    channel_mean = ops.mean(images, axis=-1, keepdims=True)
    images = (images - channel_mean) * (_uniform(batch, seed, images.dtype) * 2.0) + channel_mean
    image_mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - image_mean) * (_uniform(batch, seed, images.dtype) + 0.5) + image_mean


def _shifted_axis(images, shift, axis):
    """Move every image by its own integer shift along `axis` (1 rows, 2 columns), filling with zeros."""
    size = images.shape[axis]
    source = tf.range(size)[None, :] - shift  # (batch, size): which input row/column each output takes
    valid = tf.cast((source >= 0) & (source < size), images.dtype)
    moved = tf.gather(images, tf.clip_by_value(source, 0, size - 1), axis=axis, batch_dims=1)
    mask_shape = (-1, size, 1, 1) if axis == 1 else (-1, 1, size, 1)
    return moved * tf.reshape(valid, mask_shape)


def random_translation(images, seed, ratio=0.125):
    """Shift each image by up to `ratio` of its size in each direction, zero-padded."""
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    max_dy, max_dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = keras.random.randint((batch, 1), -max_dy, max_dy + 1, seed=seed)
    dx = keras.random.randint((batch, 1), -max_dx, max_dx + 1, seed=seed)
    return _shifted_axis(_shifted_axis(images, dy, axis=1), dx, axis=2)


def random_cutout(images, seed, ratio=0.5):
    """Zero one square of `ratio` times the image size at a random position in each image."""
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = keras.random.randint((batch, 1), 0, height + (1 - cut_h % 2), seed=seed) - cut_h // 2
    left = keras.random.randint((batch, 1), 0, width + (1 - cut_w % 2), seed=seed) - cut_w // 2
    rows, cols = tf.range(height)[None, :], tf.range(width)[None, :]
    in_rows = (rows >= top) & (rows < top + cut_h)
    in_cols = (cols >= left) & (cols < left + cut_w)
    hole = in_rows[:, :, None] & in_cols[:, None, :]
    return images * tf.cast(~hole, images.dtype)[..., None]


_OPS = {"color": random_color, "translation": random_translation, "cutout": random_cutout}


@keras.saving.register_keras_serializable(package="kgantl")
class DiffAugment(keras.layers.Layer):
    """Differentiable augmentation, each op applied to each image with probability `probability`.

    With `probability=1` this is DiffAugment; the GAN's adaptive mode moves `probability` up or down
    (ADA) and saves it with the model, so a resumed run keeps its augmentation strength.

    Args:
        policy: comma-separated subset of `color`, `translation`, `cutout`.
        probability: initial probability of applying each op to each image.
        seed: int seed of the layer's own `SeedGenerator` (used when `call` gets no seed generator).

    Example:
        >>> augment = DiffAugment("color,translation,cutout")
        >>> augmented = augment(images)  # images in [-1, 1], shape (N, H, W, C)

    Reference: Zhao et al., Differentiable Augmentation for Data-Efficient GAN Training,
    https://arxiv.org/abs/2006.10738 ; Karras et al., Training Generative Adversarial Networks with
    Limited Data, https://arxiv.org/abs/2006.06676
    """

    def __init__(self, policy="color,translation,cutout", probability=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.operations = parse_policy(policy)  # parsed once: `call` runs these (it is traced more than once)
        self.policy = ",".join(self.operations)
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError(f"probability must be in [0, 1]. Received: probability={probability!r}")
        self.initial_probability = float(probability)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.probability = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial_probability),
            trainable=False, name="probability",
        )

    def call(self, images, seed_generator=None):
        seed = seed_generator if seed_generator is not None else self.seed_generator
        batch = ops.shape(images)[0]
        for name in self.operations:
            augmented = _OPS[name](images, seed)
            # (float32 both: under a mixed-precision policy the variable reads as the compute dtype)
            apply = keras.random.uniform((batch, 1, 1, 1), seed=seed) < ops.cast(self.probability, "float32")
            images = ops.where(apply, augmented, images)
        return images

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "policy": self.policy, "probability": self.initial_probability,
                "seed": self.seed}
