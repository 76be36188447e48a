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


@pytest.mark.parametrize("resolution, channels, to_image", [
    (8, 1, "conv5"), (14, 1, "conv5"), (16, 3, "conv5"), (28, 1, "conv5"), (32, 3, "conv5"), (56, 3, "conv5"),
    (64, 3, "conv5"), (64, 3, "convt"), (112, 3, "convt"), (128, 3, "convt"), (128, 1, "convt")])
def test_every_documented_size_builds_with_its_shapes_and_output_range(resolution, channels, to_image):
    g = build_generator(resolution, channels, latent_dim=16, width=8, to_image=to_image)
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


def _layer_kinds(model):
    return {layer.name: type(layer).__name__ for layer in model.layers if layer.name.startswith("g_")}


def test_default_generator_at_64_keeps_its_layers():
    # Saved generators and the transfer code name these layers: the default must not move them.
    g = build_generator(64, 3, latent_dim=8, width=4)
    assert _layer_kinds(g) == {"g_dense": "Dense", "g_reshape": "Reshape", "g_to_image": "Conv2D",
                               **{f"g_block{i}_convt": "Conv2DTranspose" for i in range(1, 5)},
                               **{f"g_block{i}_act": "LeakyReLU" for i in range(1, 5)}}
    assert [g.get_layer(f"g_block{i}_convt").filters for i in range(1, 5)] == [32, 16, 8, 4]
    assert g.get_layer("g_to_image").kernel_size == (5, 5)


@pytest.mark.parametrize("resolution, channels", [(28, 1), (64, 3)])
def test_convt_to_image_shapes_range_and_names(resolution, channels):
    g = build_generator(resolution, channels, latent_dim=8, width=4, to_image="convt", seed=0)
    images = g(np.random.default_rng(0).standard_normal((2, 8)).astype("float32") * 10)
    assert images.shape == (2, resolution, resolution, channels)
    assert float(keras.ops.max(keras.ops.abs(images))) <= 1.0
    _, stages = upsampling_plan(resolution)
    kinds = _layer_kinds(g)
    assert kinds["g_to_image"] == "Conv2DTranspose"
    assert sorted(name for name in kinds if name.endswith("_convt")) == [f"g_block{i}_convt" for i in range(1, stages)]
    assert g.get_layer(f"g_block{stages - 1}_convt").filters == 4  # width stays the last hidden block's filters


def test_convt_at_64_is_the_colour_reference_generator():
    # BENCHMARKS.md colour reference: Dense(4*4*512), ConvT 256/128/64, ConvT(3, 4, s2, tanh).
    g = build_generator(64, 3, to_image="convt")
    assert [g.get_layer(f"g_block{i}_convt").filters for i in range(1, 4)] == [256, 128, 64]
    assert g.count_params() == (128 * 8192 + 8192) + (16 * 512 * 256 + 256) + (16 * 256 * 128 + 128) \
        + (16 * 128 * 64 + 64) + (16 * 64 * 3 + 3)


@pytest.mark.parametrize("to_image", ["conv5", "convt"])
def test_to_image_survives_serialisation(to_image, tmp_path):
    from kgantl.models.builders import generator_to_image

    g = build_generator(16, 3, latent_dim=8, width=4, num_classes=3, to_image=to_image, seed=0)
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = keras.saving.load_model(path)
    assert generator_to_image(loaded) == to_image and _layer_kinds(loaded) == _layer_kinds(g)
    inputs = [np.ones((2, 8), "float32"), np.array([0, 2])]
    np.testing.assert_allclose(loaded(inputs), g(inputs), atol=1e-6)


def test_bad_to_image():
    with pytest.raises(ValueError, match=r"to_image must be one of \('conv5', 'convt'\). Received: to_image='conv3'"):
        build_generator(16, 1, to_image="conv3")
