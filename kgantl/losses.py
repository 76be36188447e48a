"""GAN losses as pure functions of discriminator logits, named `<variant>_generator_loss` and
`<variant>_discriminator_loss`, plus the gradient penalties.

All take raw logits (no sigmoid) and return a scalar mean over the batch.
"""
import tensorflow as tf
from keras import ops


def nonsaturating_generator_loss(fake_logits):
    """-log D(G(z)): the non-saturating generator loss of Goodfellow et al. (2014)."""
    return ops.mean(ops.softplus(-fake_logits))


def nonsaturating_discriminator_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))): binary cross-entropy with real = 1, fake = 0."""
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def minimax_generator_loss(fake_logits):
    """log(1 - D(G(z))), the generator's side of min_G max_D E[log D(x)] + E[log(1 - D(G(z)))].

    It saturates (tiny gradients) when D confidently rejects fakes; kept for faithfulness to the
    original objective. Reference: https://arxiv.org/abs/1406.2661
    """
    return ops.mean(-ops.softplus(fake_logits))


minimax_discriminator_loss = nonsaturating_discriminator_loss


def hinge_generator_loss(fake_logits):
    """-D(G(z)). Reference: Lim & Ye, Geometric GAN, https://arxiv.org/abs/1705.02894"""
    return -ops.mean(fake_logits)


def hinge_discriminator_loss(real_logits, fake_logits):
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


def wasserstein_generator_loss(fake_logits):
    """-D(G(z)) for a Wasserstein critic. Reference: https://arxiv.org/abs/1701.07875"""
    return -ops.mean(fake_logits)


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
        real, fake: image batches of equal shape.
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


def get_losses(name):
    """Look up `(generator_loss, discriminator_loss)` by name.

    Args:
        name: one of `nonsaturating`, `minimax`, `hinge`, `wgan-gp`.

    Returns:
        Tuple of two functions.
    """
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}. Received: loss={name!r}")
    return LOSSES[name]
