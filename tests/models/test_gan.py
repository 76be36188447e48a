import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl import losses as gan_losses
from kgantl.models import GAN, build_discriminator, build_generator

LATENT = 8


def _gan(seed=0, **kwargs):
    return GAN(build_generator(8, 1, LATENT, width=8, seed=seed), build_discriminator(8, 1, width=8, seed=seed + 1),
               seed=seed, **kwargs)


def _data(value=0.5, count=64, batch=16):
    images = np.full((count, 8, 8, 1), value, np.float32)
    return tf.data.Dataset.from_tensor_slices(images).repeat().batch(batch)


def _distance_to_data(gan, value=0.5):
    samples = gan.generate(noise=np.random.default_rng(1).standard_normal((64, LATENT)).astype("float32"))
    return float(np.mean((samples - value) ** 2))


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def test_one_step_updates_both_networks_and_ema():
    gan = _gan()
    gan.compile()
    d0, g0, e0 = _weights(gan.discriminator), _weights(gan.generator), _weights(gan.ema_generator)
    gan.fit(_data(), epochs=1, steps_per_epoch=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(d0, gan.discriminator.get_weights()))
    assert all(not np.array_equal(a, b) for a, b in zip(g0, gan.generator.get_weights()))
    assert not np.array_equal(e0[0], gan.ema_generator.get_weights()[0])
    assert gan.d_optimizer.iterations.numpy() == 1 and gan.g_optimizer.iterations.numpy() == 1


@pytest.mark.parametrize("loss, n_critic", [("nonsaturating", 1), ("minimax", 1), ("hinge", 1), ("wgan-gp", 2)])
def test_generator_learns_a_constant_image(loss, n_critic):
    gan = _gan(ema_decay=0.0)
    optimizer = lambda: keras.optimizers.Adam(2e-3, beta_1=0.5)  # noqa: E731
    gan.compile(d_optimizer=optimizer(), g_optimizer=optimizer(), loss=loss, n_critic=n_critic)
    before = _distance_to_data(gan)
    history = gan.fit(_data(), epochs=4, steps_per_epoch=60, verbose=0)
    after = _distance_to_data(gan)
    assert after < 0.2 * before, (loss, before, after)
    assert set(history.history) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for values in history.history.values() for v in values)


def test_n_critic_counts_discriminator_updates():
    gan = _gan()
    gan.compile(n_critic=3)
    gan.fit(_data(), epochs=1, steps_per_epoch=2, verbose=0)
    assert gan.d_optimizer.iterations.numpy() == 6 and gan.g_optimizer.iterations.numpy() == 2


def test_r1_penalty_trains_and_stays_finite():
    gan = _gan()
    gan.compile(r1_weight=10.0)
    history = gan.fit(_data(), epochs=1, steps_per_epoch=3, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])


def test_same_seed_same_training():
    results = []
    for _ in range(2):
        gan = GAN(build_generator(8, 1, LATENT, width=8, seed=7),
                  build_discriminator(8, 1, width=8, spectral_norm=True, seed=8),
                  augment="color,translation,cutout", seed=7)
        gan.compile()
        gan.fit(_data(), epochs=1, steps_per_epoch=3, verbose=0)
        results.append([w.numpy() for w in gan.weights])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_adaptive_augmentation_moves_p_with_the_sign_of_real_logits():
    gan = _gan(ada_target=0.6, ada_speed=160)
    assert float(gan.augment.probability.numpy()) == 0.0  # adaptive mode starts without augmentation
    gan._update_augment_probability(tf.ones((16, 1)), 16)  # D sure of every real image: overfitting
    assert float(gan.augment.probability.numpy()) == pytest.approx(0.1)
    gan._update_augment_probability(-tf.ones((16, 1)), 16)
    gan._update_augment_probability(-tf.ones((16, 1)), 16)
    assert float(gan.augment.probability.numpy()) == 0.0  # clipped at 0


def test_adaptive_augmentation_reports_p_during_fit():
    gan = _gan(ada_target=0.6)
    gan.compile()
    history = gan.fit(_data(), epochs=2, steps_per_epoch=2, verbose=0)
    assert len(history.history["aug_p"]) == 2
    assert 0.0 <= history.history["aug_p"][-1] <= 1.0


def test_jit_compile_auto_follows_the_device_and_can_be_forced():
    gan = _gan()
    gan.compile()
    assert gan.jit_compile is bool(tf.config.list_physical_devices("GPU"))
    for forced in (True, False):
        model = _gan()
        model.compile(jit_compile=forced)
        assert model.jit_compile is forced and model.get_compile_config()["jit_compile"] is forced


def test_save_load_round_trip_and_training_continues(tmp_path):
    gan = _gan(augment="translation", ada_target=0.6)
    gan.compile(loss="hinge", n_critic=2)
    gan.fit(_data(), epochs=1, steps_per_epoch=2, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")  # safe_mode=True by default
    assert isinstance(loaded, GAN) and loaded.loss_name == "hinge" and loaded.n_critic == 2
    assert loaded.d_optimizer.iterations.numpy() == 4
    noise = np.random.default_rng(0).standard_normal((4, LATENT)).astype("float32")
    np.testing.assert_allclose(loaded.generate(noise=noise), gan.generate(noise=noise), atol=1e-6)
    np.testing.assert_allclose(loaded.augment.probability.numpy(), gan.augment.probability.numpy())
    loaded.fit(_data(), epochs=1, steps_per_epoch=1, verbose=0)
    assert loaded.g_optimizer.iterations.numpy() == 3


def test_keras_binary_crossentropy_on_logits_trains_as_the_nonsaturating_loss():
    histories, weights = [], []
    for loss in ("nonsaturating", keras.losses.BinaryCrossentropy(from_logits=True)):
        gan = _gan(ema_decay=0.0)
        gan.compile(loss=loss)  # the keras-io GAN examples' pattern
        histories.append(gan.fit(_data(), epochs=3, steps_per_epoch=1, verbose=0).history)
        weights.append(gan.generator.get_weights())
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert all(np.isfinite(histories[1][key]))
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-4)
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("loss", [
    keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    (gan_losses.hinge_generator_loss, gan_losses.hinge_discriminator_loss),
])
def test_keras_loss_objects_and_loss_pairs_round_trip_through_keras_files(tmp_path, loss):
    gan = _gan()
    gan.compile(loss=loss)
    gan.fit(_data(), epochs=1, steps_per_epoch=1, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")  # safe_mode=True by default
    assert loaded.loss_name is None and type(loaded.gan_loss) is type(loss)
    if isinstance(loss, tuple):
        assert loaded.gan_loss == loss
    else:
        assert loaded.gan_loss.get_config() == loss.get_config()
    logits = tf.constant([[1.5], [-0.5]])
    assert float(loaded.g_loss_fn(logits)) == pytest.approx(float(gan.g_loss_fn(logits)))
    assert float(loaded.d_loss_fn(logits, -logits)) == pytest.approx(float(gan.d_loss_fn(logits, -logits)))
    loaded.recompile()  # keeps the loss
    history = loaded.fit(_data(), epochs=1, steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0]) and loaded.g_optimizer.iterations.numpy() == 2


def test_binary_crossentropy_on_probabilities_is_refused():
    with pytest.raises(ValueError, match=r"must take logits \(from_logits=True\): kgantl discriminators output "
                                         r"logits.*Received: loss=BinaryCrossentropy\(from_logits=False\)"):
        _gan().compile(loss=keras.losses.BinaryCrossentropy())


def test_generate_checks_its_arguments():
    gan = _gan()
    with pytest.raises(ValueError, match=r"noise must have shape \(N, 8\)"):
        gan.generate(noise=np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="count must be a positive integer"):
        gan.generate()
    assert gan.generate(5, seed=1).shape == (5, 8, 8, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_critic": 0}, "n_critic must be a positive integer"),
    ({"loss": "lsgan"}, "loss must be one of"),
    ({"r1_weight": -1}, "r1_weight must be >= 0"),
])
def test_bad_compile_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _gan().compile(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"ema_decay": 1.0}, r"ema_decay must be in \[0, 1\)"),
    ({"ada_target": 1.5}, r"ada_target must be in \[-1, 1\)"),
    ({"augment": "blur"}, "diffaugment policy must be"),
])
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _gan(**kwargs)


def test_train_step_compiles_with_xla():
    # jit_compile="auto" turns XLA on for GPUs; check on CPU that every op of the step compiles.
    gan = GAN(build_generator(8, 1, LATENT, width=4, seed=0),
              build_discriminator(8, 1, width=4, spectral_norm=True, seed=1),
              augment="color,translation,cutout", ada_target=0.6, seed=0)
    gan.compile(jit_compile=True, r1_weight=1.0)
    assert gan.jit_compile is True
    history = gan.fit(_data(), epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])
