"""GAN losses as pure functions of discriminator logits, named `<variant>_generator_loss` and
`<variant>_discriminator_loss`, plus the gradient penalties, and `get_losses`, which turns what
`GAN.compile(loss=...)` accepts (a name, a Keras loss on logits, or a pair of functions) into the two
functions.

All take raw logits (no sigmoid) and return a scalar mean over the batch. The named losses are registered
Keras-serialisable functions, so a pair of them saved with a GAN loads again in safe mode.
"""
import inspect

import keras
import tensorflow as tf
from keras import ops

_serializable = keras.saving.register_keras_serializable(package="kgantl")


@_serializable
def nonsaturating_generator_loss(fake_logits):
    """-log D(G(z)): the non-saturating generator loss of Goodfellow et al. (2014)."""
    return ops.mean(ops.softplus(-fake_logits))


@_serializable
def nonsaturating_discriminator_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))): binary cross-entropy with real = 1, fake = 0."""
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


@_serializable
def minimax_generator_loss(fake_logits):
    """log(1 - D(G(z))), the generator's side of min_G max_D E[log D(x)] + E[log(1 - D(G(z)))].

    It saturates (tiny gradients) when D confidently rejects fakes; kept for faithfulness to the
    original objective. Reference: https://arxiv.org/abs/1406.2661
    """
    return ops.mean(-ops.softplus(fake_logits))


minimax_discriminator_loss = nonsaturating_discriminator_loss


@_serializable
def hinge_generator_loss(fake_logits):
    """-D(G(z)). Reference: Lim & Ye, Geometric GAN, https://arxiv.org/abs/1705.02894"""
    return -ops.mean(fake_logits)


@_serializable
def hinge_discriminator_loss(real_logits, fake_logits):
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


@_serializable
def wasserstein_generator_loss(fake_logits):
    """-D(G(z)) for a Wasserstein critic. Reference: https://arxiv.org/abs/1701.07875"""
    return -ops.mean(fake_logits)


@_serializable
def wasserstein_discriminator_loss(real_logits, fake_logits):
    """D(G(z)) - D(x): the negated Wasserstein-1 estimate of the critic."""
    return ops.mean(fake_logits) - ops.mean(real_logits)


def _gradient_norm_sq(discriminator_fn, images):
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = ops.sum(discriminator_fn(images))
    grads = tape.gradient(total, images)
    return ops.sum(ops.square(grads), axis=(1, 2, 3))


def gradient_penalty(discriminator_fn, real, fake, seed=None):
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 at random interpolates of real and fake images.

    Args:
        discriminator_fn: callable images -> logits.
        real: a batch of real images.
        fake: a batch of generated images, of the same shape.
        seed: a `keras.random.SeedGenerator` for the interpolation weights.

    Returns:
        Scalar penalty (not yet weighted).

    Reference: Gulrajani et al., Improved Training of Wasserstein GANs, https://arxiv.org/abs/1704.00028
    """
    import keras

    alpha = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), seed=seed)
    interpolates = real + alpha * (fake - real)
    norm = ops.sqrt(_gradient_norm_sq(discriminator_fn, interpolates) + 1e-12)
    return ops.mean(ops.square(norm - 1.0))


def r1_penalty(discriminator_fn, real):
    """R1: the squared gradient norm of D at real images (weight gamma/2 is applied by the caller).

    Reference: Mescheder et al., Which Training Methods for GANs do actually Converge?,
    https://arxiv.org/abs/1801.04406
    """
    return ops.mean(_gradient_norm_sq(discriminator_fn, real))


LOSSES = {
    "nonsaturating": (nonsaturating_generator_loss, nonsaturating_discriminator_loss),
    "minimax": (minimax_generator_loss, minimax_discriminator_loss),
    "hinge": (hinge_generator_loss, hinge_discriminator_loss),
    "wgan-gp": (wasserstein_generator_loss, wasserstein_discriminator_loss),
}


def keras_loss_gan_losses(loss):
    """The non-saturating GAN losses built from a Keras loss `loss(y_true, y_pred)` on logits.

    The discriminator's loss is `loss(1, D(x)) + loss(0, D(G(z)))`, the generator's `loss(1, D(G(z)))`:
    what the keras-io GAN examples do with `keras.losses.BinaryCrossentropy(from_logits=True)`, for which
    this equals `nonsaturating` (up to rounding; `label_smoothing` smooths both targets).

    Args:
        loss: a `keras.losses.Loss` or a callable `(y_true, y_pred) -> loss`, taking logits.

    Returns:
        `(generator_loss, discriminator_loss)`, each the batch mean.

    Example:
        >>> g_loss, d_loss = keras_loss_gan_losses(keras.losses.BinaryCrossentropy(from_logits=True))
    """

    def generator_loss(fake_logits):
        return ops.mean(loss(ops.ones_like(fake_logits), fake_logits))

    def discriminator_loss(real_logits, fake_logits):
        return (ops.mean(loss(ops.ones_like(real_logits), real_logits))
                + ops.mean(loss(ops.zeros_like(fake_logits), fake_logits)))

    return generator_loss, discriminator_loss


def _probability_loss(loss):
    """How to name `loss` in an error if it takes probabilities (`from_logits=False`), else None."""
    if hasattr(loss, "from_logits"):  # keras.losses.BinaryCrossentropy and the other Loss classes with it
        return None if loss.from_logits else f"{type(loss).__name__}(from_logits=False)"
    try:  # keras.losses.binary_crossentropy and other functions whose from_logits defaults to False
        parameter = inspect.signature(loss).parameters.get("from_logits")
    except (TypeError, ValueError):
        return None
    if parameter is not None and parameter.default is False:
        return f"{getattr(loss, '__name__', type(loss).__name__)}(from_logits=False)"
    return None


def get_losses(loss):
    """Turn a GAN loss into `(generator_loss, discriminator_loss)` functions of discriminator logits.

    Args:
        loss: one of
            - a name: `nonsaturating`, `minimax`, `hinge`, `wgan-gp`;
            - a Keras loss on logits, e.g. `keras.losses.BinaryCrossentropy(from_logits=True)` as in the
              keras-io GAN examples, or any callable `loss(y_true, y_pred)`: the non-saturating GAN loss
              built from it (see `keras_loss_gan_losses`). A loss with `from_logits=False` is refused:
              kgantl discriminators output logits;
            - a pair `(generator_loss, discriminator_loss)` of functions `fake_logits -> loss` and
              `(real_logits, fake_logits) -> loss`, used as they are.

    Returns:
        Tuple of two functions.

    Example:
        >>> g_loss, d_loss = get_losses("hinge")
        >>> g_loss, d_loss = get_losses(keras.losses.BinaryCrossentropy(from_logits=True))
    """
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}. Received: loss={loss!r}")
        return LOSSES[loss]
    if isinstance(loss, (tuple, list)) and len(loss) == 2 and all(callable(f) for f in loss):
        return tuple(loss)
    if callable(loss):
        received = _probability_loss(loss)
        if received is not None:
            raise ValueError("A Keras loss for a GAN must take logits (from_logits=True): kgantl discriminators "
                             "output logits, not probabilities. Use keras.losses.BinaryCrossentropy(from_logits=True) "
                             f"or loss='nonsaturating'. Received: loss={received}")
        return keras_loss_gan_losses(loss)
    raise ValueError(f"loss must be a name ({', '.join(LOSSES)}), a Keras loss on logits such as "
                     "keras.losses.BinaryCrossentropy(from_logits=True), or a (generator_loss, discriminator_loss) "
                     f"pair. Received: loss={loss!r}")
