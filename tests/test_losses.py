import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl import losses

REAL = tf.constant([[2.0], [-1.0]])
FAKE = tf.constant([[0.5], [-3.0]])


def _softplus(x):
    return np.log1p(np.exp(x))


def test_nonsaturating_and_minimax_match_their_formulas():
    real, fake = REAL.numpy(), FAKE.numpy()
    d_expected = np.mean(_softplus(-real)) + np.mean(_softplus(fake))
    assert float(losses.nonsaturating_discriminator_loss(REAL, FAKE)) == pytest.approx(d_expected, rel=1e-5)
    assert float(losses.minimax_discriminator_loss(REAL, FAKE)) == pytest.approx(d_expected, rel=1e-5)
    assert float(losses.nonsaturating_generator_loss(FAKE)) == pytest.approx(np.mean(-np.log(1 / (1 + np.exp(-fake)))), rel=1e-5)
    # log(1 - sigmoid(f)) = -softplus(f)
    sigmoid = 1 / (1 + np.exp(-fake))
    assert float(losses.minimax_generator_loss(FAKE)) == pytest.approx(np.mean(np.log(1 - sigmoid)), rel=1e-5)


def test_hinge_and_wasserstein():
    assert float(losses.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx((0 + 2) / 2 + (1.5 + 0) / 2)
    assert float(losses.hinge_generator_loss(FAKE)) == pytest.approx(1.25)
    assert float(losses.wasserstein_discriminator_loss(REAL, FAKE)) == pytest.approx(-1.25 - 0.5)
    assert float(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(1.25)


def test_penalties_of_a_linear_critic():
    # D(x) = 3 * sum(x): the gradient norm is 3 * sqrt(pixels) everywhere.
    critic = lambda x: 3.0 * tf.reduce_sum(x, axis=[1, 2, 3])[:, None]  # noqa: E731
    real, fake = tf.zeros((4, 2, 2, 1)), tf.ones((4, 2, 2, 1))
    assert float(losses.r1_penalty(critic, real)) == pytest.approx(9 * 4)
    assert float(losses.gradient_penalty(critic, real, fake)) == pytest.approx((6 - 1) ** 2, rel=1e-4)


def test_unknown_loss_name():
    with pytest.raises(ValueError, match=r"loss must be one of nonsaturating, minimax, hinge, wgan-gp\. Received: loss='lsgan'"):
        losses.get_losses("lsgan")


def test_keras_loss_on_logits_builds_the_nonsaturating_gan_loss():
    g_loss, d_loss = losses.get_losses(keras.losses.BinaryCrossentropy(from_logits=True))
    assert float(d_loss(REAL, FAKE)) == pytest.approx(float(losses.nonsaturating_discriminator_loss(REAL, FAKE)),
                                                      rel=1e-6)
    assert float(g_loss(FAKE)) == pytest.approx(float(losses.nonsaturating_generator_loss(FAKE)), rel=1e-6)
    # Any callable loss(y_true, y_pred) on logits is used the same way: D on (1, real) and (0, fake), G on (1, fake).
    squared = lambda y_true, y_pred: tf.reduce_mean(tf.square(y_true - y_pred))  # noqa: E731
    g_loss, d_loss = losses.get_losses(squared)
    assert float(d_loss(REAL, FAKE)) == pytest.approx((1 + 4) / 2 + (0.25 + 9) / 2)
    assert float(g_loss(FAKE)) == pytest.approx((0.25 + 16) / 2)


def test_a_pair_of_functions_is_generator_then_discriminator_loss():
    pair = (losses.hinge_generator_loss, losses.hinge_discriminator_loss)
    assert losses.get_losses(pair) == pair
    assert losses.get_losses(list(pair)) == pair


@pytest.mark.parametrize("loss, received", [
    (keras.losses.BinaryCrossentropy(), "BinaryCrossentropy(from_logits=False)"),
    (keras.losses.binary_crossentropy, "binary_crossentropy(from_logits=False)"),
])
def test_keras_losses_on_probabilities_are_refused(loss, received):
    with pytest.raises(ValueError) as error:
        losses.get_losses(loss)
    assert str(error.value) == (
        "A Keras loss for a GAN must take logits (from_logits=True): kgantl discriminators output logits, not "
        "probabilities. Use keras.losses.BinaryCrossentropy(from_logits=True) or loss='nonsaturating'. "
        f"Received: loss={received}")


def test_losses_that_are_neither_names_nor_callables_are_refused():
    with pytest.raises(ValueError, match=r"loss must be a name \(nonsaturating, minimax, hinge, wgan-gp\), a Keras "
                                         r"loss on logits .* or a \(generator_loss, discriminator_loss\) pair\. "
                                         r"Received: loss=3"):
        losses.get_losses(3)
    with pytest.raises(ValueError, match=r"Received: loss=\(<function"):
        losses.get_losses((losses.hinge_generator_loss,))
