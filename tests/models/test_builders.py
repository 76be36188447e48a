import keras
import numpy as np
import pytest

from kgantl.models import build_discriminator, build_generator, upsampling_plan


@pytest.mark.parametrize("resolution, plan", [(8, (4, 1)), (14, (7, 1)), (28, (7, 2)), (32, (4, 3)), (64, (4, 4))])
def test_upsampling_plan(resolution, plan):
    assert upsampling_plan(resolution) == plan


@pytest.mark.parametrize("resolution", [7, 12, 30, 0, "28"])
def test_bad_resolution(resolution):
    with pytest.raises(ValueError, match="resolution must be 4 or 7 times a power of two"):
        upsampling_plan(resolution)


@pytest.mark.parametrize("resolution, channels", [(28, 1), (32, 3), (64, 3)])
def test_shapes_and_output_range(resolution, channels):
    g = build_generator(resolution, channels, latent_dim=16, width=8)
    d = build_discriminator(resolution, channels, width=8)
    images = g(np.random.default_rng(0).standard_normal((3, 16)).astype("float32") * 10)
    assert images.shape == (3, resolution, resolution, channels)
    assert float(keras.ops.max(keras.ops.abs(images))) <= 1.0
    assert d(images).shape == (3, 1)


def test_reference_dcgan_has_the_benchmark_parameter_counts():
    # BENCHMARKS.md reference: D 138,561 and G 1,204,097 parameters.
    assert build_discriminator().count_params() == 1088 + 131200 + 6273
    assert build_generator().count_params() == 809088 + 262272 + 131136 + 1601


def test_spectral_norm_wraps_d_layers():
    d = build_discriminator(16, 1, width=4, spectral_norm=True)
    wrapped = [layer for layer in d.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 3  # two convolutions and the logit


def test_conditional_variants_take_labels():
    g = build_generator(16, 1, latent_dim=8, width=4, num_classes=5)
    d = build_discriminator(16, 1, width=4, num_classes=5)
    images = g([np.ones((2, 8), "float32"), np.array([0, 4])])
    assert images.shape == (2, 16, 16, 1)
    assert d([images, keras.ops.convert_to_tensor(np.array([0, 4]))]).shape == (2, 1)
    # The embedding starts at ones: before training, labels do not change the output.
    np.testing.assert_allclose(g([np.ones((1, 8), "float32"), np.array([1])]),
                               g([np.ones((1, 8), "float32"), np.array([3])]))


@pytest.mark.parametrize("num_classes", [None, 3])
def test_seeded_builders_are_reproducible(num_classes):
    pairs = [(build_generator(16, 1, 8, 4, num_classes=num_classes, seed=3),
              build_generator(16, 1, 8, 4, num_classes=num_classes, seed=3)),
             (build_discriminator(16, 1, 4, num_classes=num_classes, spectral_norm=True, seed=3),
              build_discriminator(16, 1, 4, num_classes=num_classes, spectral_norm=True, seed=3))]
    for a, b in pairs:
        assert len(a.weights) == len(b.weights)
        for wa, wb in zip(a.weights, b.weights):  # includes the power-iteration vectors
            np.testing.assert_array_equal(wa.numpy(), wb.numpy())
    c = build_discriminator(16, 1, 4, num_classes=num_classes, spectral_norm=True, seed=4)
    assert not np.array_equal(pairs[1][0].weights[0].numpy(), c.weights[0].numpy())


def test_blocks_are_named_for_transfer():
    d = build_discriminator(28, 1, width=4)
    assert {"d_block1_conv", "d_block2_conv", "d_logit"} <= {layer.name for layer in d.layers}


@pytest.mark.parametrize("kwargs, message", [
    ({"channels": 2}, "channels must be 1 or 3"),
    ({"width": 0}, "width must be a positive integer"),
    ({"num_classes": 1}, "num_classes must be an integer >= 2"),
    ({"norm": "layer"}, "norm must be 'none' or 'batch'"),
    ({"latent_dim": 0}, "latent_dim must be a positive integer"),
])
def test_bad_builder_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_generator(16, **{"channels": 1, **kwargs})
