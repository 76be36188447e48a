"""Size and colour come from the data; colour is never dropped unasked; a grayscale source is expanded to colour."""
import json

import numpy as np
import pytest

from kgantl.cli import main
from kgantl.config import OptionError, TrainOptions
from kgantl.data.sources import arrays_from_numpy
from kgantl.export import export_keras
from kgantl.models import GAN, ConditionalGAN, build_discriminator, build_generator
from kgantl.image_shape import conversions
from kgantl.resolve import resolve_options
from kgantl.sizes import builder_sizes, size_for_data
from kgantl.transfer.colour import to_colour


def _arrays(side, channels, count=8):
    rng = np.random.default_rng(0)
    return arrays_from_numpy(rng.integers(0, 256, (count, side, side, channels)).astype(np.uint8))


def _resolved(arrays, **given):
    return resolve_options(TrainOptions(data="x.npz", steps=10, **given).validate(), arrays)


@pytest.mark.parametrize("side, size", [(8, 8), (20, 16), (28, 28), (32, 32), (40, 32), (48, 56), (64, 64),
                                        (100, 112), (128, 128), (200, 128), (256, 128)])
def test_size_for_data_is_the_nearest_builder_size_by_ratio(side, size):
    assert size_for_data(side, side) == size
    assert size in builder_sizes()


@pytest.mark.parametrize("side, channels", [(16, 3), (32, 3), (64, 3), (64, 1), (128, 3)])
def test_a_new_gan_trains_at_the_datas_size_and_colour(side, channels):
    options = _resolved(_arrays(side, channels))
    assert (options.image_size, options.channels) == (side, channels)


def test_a_default_shrinking_the_images_more_than_2x_is_refused_with_the_flag_to_give():
    with pytest.raises(OptionError, match=r"300x300 and the default image size .* is 128: that shrinks them "
                                          r"2\.3x.*--image-size 128") as caught:
        _resolved(_arrays(300, 3, count=2))
    assert caught.value.option == "image_size"
    assert _resolved(_arrays(300, 3, count=2), image_size=64).image_size == 64  # given: consent to any resize


def test_colour_is_dropped_only_when_channels_1_is_given():
    arrays = _arrays(32, 3)
    assert _resolved(arrays).channels == 3
    assert not [line for line in conversions(_resolved(arrays), arrays) if "grayscale" in line]
    grey = _resolved(arrays, channels=1)
    assert grey.channels == 1
    assert conversions(grey, arrays) == ("colour images of x.npz made grayscale (channels 1 was given)",)


def _grey_source(tmp_path, spectral_norm=False, conditional=False, to_image="conv5"):
    classes = 3 if conditional else None
    generator = build_generator(16, 1, 8, width=4, num_classes=classes, seed=0, to_image=to_image)
    discriminator = build_discriminator(16, 1, width=4, num_classes=classes, spectral_norm=spectral_norm, seed=1)
    gan = ConditionalGAN(generator, discriminator, class_ids=[0, 2]) if conditional else GAN(generator, discriminator)
    return export_keras(gan, tmp_path / "source" / "model.keras"), gan


def _transfer_options(source, **given):
    return TrainOptions(data="x.npz", source=str(source), steps=10, **given).validate()


def test_a_grey_source_with_a_colour_target_makes_a_colour_run_and_says_it_expands(tmp_path):
    path, source = _grey_source(tmp_path)
    arrays = _arrays(16, 3)
    options = resolve_options(_transfer_options(path), arrays, source)
    assert (options.image_size, options.channels) == (16, 3)
    assert any("expanded from grayscale to colour" in line for line in conversions(options, arrays, 1))


def test_a_colour_source_refuses_a_grayscale_run_and_repeats_grey_targets(tmp_path):
    source = GAN(build_generator(16, 3, 8, width=4, seed=0), build_discriminator(16, 3, width=4, seed=1))
    with pytest.raises(OptionError, match="makes colour images and a grayscale run cannot start from it"):
        resolve_options(_transfer_options("src.keras", channels=1), _arrays(16, 1), source)
    options = resolve_options(_transfer_options("src.keras"), _arrays(16, 1), source)
    assert options.channels == 3
    assert "repeated to three channels (a colour source GAN)" in conversions(options, _arrays(16, 1), 3)[0]


def test_a_source_shrinking_the_target_more_than_2x_needs_its_size_given(tmp_path):
    path, source = _grey_source(tmp_path)
    with pytest.raises(OptionError, match=r"64x64 and the source GAN's image size is 16: that shrinks them 4\.0x.*"
                                          r"--image-size 16"):
        resolve_options(_transfer_options(path), _arrays(64, 3, count=2), source)
    assert resolve_options(_transfer_options(path, image_size=16), _arrays(64, 3, count=2), source).image_size == 16


@pytest.mark.parametrize("spectral_norm, to_image", [(False, "conv5"), (True, "conv5"), (False, "convt")])
def test_to_colour_draws_the_sources_grey_images_and_keeps_every_other_weight(tmp_path, spectral_norm, to_image):
    _, source = _grey_source(tmp_path, spectral_norm=spectral_norm, to_image=to_image)
    colour = to_colour(source)
    noise = np.random.default_rng(1).normal(size=(4, 8)).astype("float32")
    grey = np.asarray(source.generator(noise))
    drawn = np.asarray(colour.generator(noise))
    assert drawn.shape == (4, 16, 16, 3)
    np.testing.assert_allclose(drawn, np.repeat(grey, 3, axis=-1), atol=1e-6)  # R = G = B = the source's image
    images = np.repeat(grey, 3, axis=-1)
    if not spectral_norm:  # the split kernel computes the source's response to a grey image (SN: see the module)
        np.testing.assert_allclose(np.asarray(colour.discriminator(images)), np.asarray(source.discriminator(grey)),
                                   rtol=1e-5, atol=1e-6)
    same = [layer.name for layer in source.discriminator.layers if layer.weights
            and not layer.name.startswith("d_block1_conv")]
    for name in same:
        for old, new in zip(source.discriminator.get_layer(name).weights, colour.discriminator.get_layer(name).weights):
            np.testing.assert_array_equal(np.asarray(old), np.asarray(new))


def test_to_colour_keeps_a_conditional_sources_classes_and_refuses_a_colour_gan(tmp_path):
    _, source = _grey_source(tmp_path, conditional=True)
    colour = to_colour(source)
    assert isinstance(colour, ConditionalGAN) and colour.trained_class_ids() == [0, 2]
    assert colour.discriminator.inputs[0].shape[-1] == 3
    with pytest.raises(ValueError, match="expands a grayscale GAN"):
        to_colour(colour)


def test_dry_run_of_a_colour_folder_says_it_trains_at_its_size_in_colour(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)).save(folder / f"{i}.png")
    assert main(["train", "--data", str(folder), "--dry-run", "--runs-root", str(tmp_path / "runs")]) == 0
    out, err = capsys.readouterr()
    resolved = json.loads(out)
    assert (resolved["image_size"], resolved["channels"]) == (64, 3)
    assert resolved["eval_extractor"] in ("noto", "inception_v3")  # a colour extractor: scores see the colour
    assert (resolved["to_image"], resolved["width"]) == ("convt", 32)  # the design from 64 px (DESIGN_BY_SIZE)
    assert f"trains a new GAN on 6 images of {folder}, at 64x64 colour (3 channels)" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_auto_extractor_is_grayscale_only_for_grayscale_images(monkeypatch, tmp_path):
    from kgantl.metrics.extractors import default_extractor

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no InceptionV3 weights there
    assert (default_extractor(1), default_extractor(3)) == ("fmnist", "noto")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"")
    assert default_extractor(3) == "inception_v3"
