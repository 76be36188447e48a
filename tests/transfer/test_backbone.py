"""feature_d's and +vision_d's backbone: by name or path, defaulted by channels, parsed once (transfer.backbone)."""
import json
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.classifier.backbones import BACKBONES, BackboneSpec
from kgantl.config import OptionError, TrainOptions
from kgantl.models import GAN, build_discriminator, build_generator
from kgantl.transfer.backbone import DEFAULT_BACKBONES, parse_backbone
from kgantl.transfer.strategy import prepare_transfer


@pytest.fixture
def rgb_backbone(tmp_path):
    """A tiny untrained classifier of 32x32 RGB images saved as .keras (two spatial sizes, then a head)."""
    images = keras.Input((32, 32, 3))
    h = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv1")(images)
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv2")(h)
    h = keras.layers.GlobalAveragePooling2D(name="pool")(h)
    model = keras.Model(images, keras.layers.Dense(2, activation="softmax", name="classes")(h))
    model.save(tmp_path / "rgb.keras")
    return str(tmp_path / "rgb.keras")


def _colour_source():
    return GAN(build_generator(16, 3, 8, width=4, seed=0), build_discriminator(16, 3, width=4, seed=1), seed=0)


def _colour_images():
    images = np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).repeat().batch(8)


@pytest.mark.parametrize("strategy, features", [("feature_d", "d_features"), ("freeze_d:1+vision_d", "vd_features")])
def test_a_keras_file_backbone_on_colour_images(rgb_backbone, strategy, features):
    gan, info = prepare_transfer(_colour_source(), strategy, backbone=rgb_backbone)
    vision = "vision_d" in strategy
    owner = gan.discriminator.get_layer("vision_discriminator") if vision else gan.discriminator
    adapter = owner.get_layer("vd_input_adapter" if vision else "d_input_adapter")
    assert adapter.size == (32, 32) and adapter.channels == 3  # 16x16 colour images resized to the file's input
    frozen = [w.copy() for w in owner.get_layer(features).get_weights()]
    gan.compile()
    gan.fit(_colour_images(), epochs=1, steps_per_epoch=1, verbose=0)
    for a, b in zip(frozen, owner.get_layer(features).get_weights()):
        np.testing.assert_array_equal(a, b)
    assert features in info["frozen"]


def test_grey_and_colour_images_default_to_the_shipped_backbone_of_their_channels():
    assert DEFAULT_BACKBONES == {1: "fmnist-0-4-backbone", 3: "noto-backbone"}
    grey = parse_backbone(None, (16, 16, 1))
    assert grey.text == "fmnist-0-4-backbone" and grey.network.endswith("fmnist-0-4-backbone/model.keras")
    assert grey.input_shape == (28, 28, 1)
    colour = parse_backbone(None, (16, 16, 3))
    assert colour.text == "noto-backbone" and colour.input_shape == (64, 64, 3)  # never the grey one, unasked


def test_the_grey_backbone_given_for_colour_images_sees_their_luminance_and_says_so(caplog):
    with caplog.at_level(logging.WARNING, logger="kgantl"):
        gan, _ = prepare_transfer(_colour_source(), "feature_d", backbone="fmnist-0-4-backbone")
    assert "fmnist-0-4-backbone takes grey images: the GAN's colour images are converted to grey" in caplog.text
    assert gan.discriminator.get_layer("d_input_adapter").channels == 1


def test_families_take_the_image_size_at_least_their_minimum(monkeypatch):
    assert parse_backbone("vgg16", (16, 16, 3)).input_shape == (32, 32, 3)  # upsampled to the minimum
    assert parse_backbone("resnet50", (64, 64, 1)).input_shape == (64, 64, 3)  # grey repeated to RGB
    random_vgg = BackboneSpec(lambda **kwargs: keras.applications.VGG16(**{**kwargs, "weights": None}), "vgg16",
                              r"^(block\d+)_")
    monkeypatch.setitem(BACKBONES, "vgg16", random_vgg)  # no ImageNet weights offline
    gan, _ = prepare_transfer(_colour_source(), "feature_d", backbone="vgg16")
    assert gan.discriminator.get_layer("d_input_adapter").size == (32, 32)


def test_a_family_offline_names_the_weights_file_and_the_cache(offline_vgg16):
    with pytest.raises(FileNotFoundError, match=r"ImageNet weights for vgg16 are not available offline: put "
                                                rf"vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5 into "
                                                rf"{offline_vgg16}"):
        prepare_transfer(_colour_source(), "vision_d", backbone="vgg16")


def _transfer_options(tmp_path, data, source, **kwargs):
    return TrainOptions(data=str(data), source=str(source), batch_size=8, epochs=1, steps_per_epoch=1,
                        copy_check="off", eval_every=0, runs_root=str(tmp_path / "runs"), **kwargs)


@pytest.fixture
def colour_run(tmp_path):
    """A colour target (.npz of 16x16 RGB images) and a colour source GAN."""
    from kgantl.export import export_keras

    np.savez(tmp_path / "rgb.npz", images=np.random.default_rng(0).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8))
    return tmp_path / "rgb.npz", export_keras(_colour_source(), tmp_path / "source" / "model.keras")


def test_the_resolver_records_the_backbone_and_refuses_a_bad_one_before_writing(tmp_path, colour_run, rgb_backbone):
    from kgantl.resolve import resolve_training

    data, source = colour_run
    resolved = resolve_training(_transfer_options(tmp_path, data, source, strategy="vision_d",
                                                  backbone=rgb_backbone))
    assert resolved.options.backbone == rgb_backbone and resolved.backbone.input_shape == (32, 32, 3)
    assert json.loads(json.dumps(resolved.options.to_dict()))["backbone"] == rgb_backbone  # what options.json holds
    colour_default = resolve_training(_transfer_options(tmp_path, data, source, strategy="feature_d"))
    assert colour_default.options.backbone == "noto-backbone"  # the shipped colour one, never the grey one unasked
    for backbone, expected in [
        ("alexnet", r"backbone must be a keras.applications family \(vgg16, resnet50, mobilenet_v2, efficientnet_b0; "
                    r"ImageNet weights\), a shipped model's name .* or a .keras classifier file .*Received: "
                    r"backbone='alexnet'")]:
        with pytest.raises(OptionError, match=expected) as error:
            resolve_training(_transfer_options(tmp_path, data, source, strategy="feature_d", backbone=backbone))
        assert error.value.option == "backbone"
    with pytest.raises(OptionError, match=r"strategy freeze_d:1 does not use: leave it out"):
        resolve_training(_transfer_options(tmp_path, data, source, strategy="freeze_d:1", backbone=rgb_backbone))
    no_backbone = resolve_training(_transfer_options(tmp_path, data, source, strategy="freeze_d:1"))
    assert no_backbone.options.backbone is None and no_backbone.backbone is None  # colour without feature networks
    assert not (tmp_path / "runs").exists()


def test_the_command_offers_backbone_under_transfer_only(tmp_path, tiny_npz, tiny_source, capsys):
    from kgantl.cli import main

    argv = ["transfer", "--source", str(tiny_source), "--target", str(tiny_npz), "--strategy", "feature_d",
            "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "8", "--runs-root", str(tmp_path / "runs"),
            "--copy-check", "off", "--eval-every", "0", "--dry-run"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["backbone"] == "fmnist-0-4-backbone"  # the default for grey images
    assert main([*argv, "--backbone", "nowhere.keras"]) == 2
    assert "Received: backbone='nowhere.keras'" in capsys.readouterr().err
    assert main(["train", "--data", str(tiny_npz), "--backbone", "vgg16", "--dry-run"]) == 2
    assert "unrecognized arguments: --backbone" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_run_written_before_the_option_compares_with_the_backbone_it_used():
    from kgantl.runs.folder import _comparable

    old = TrainOptions(source="s.keras", strategy="freeze_d:1+vision_d").to_dict()
    del old["backbone"]
    assert _comparable(old) == _comparable({**old, "backbone": "fmnist-0-4-backbone"})
    assert _comparable({**old, "strategy": "freeze_d:1"}) == _comparable({**old, "strategy": "freeze_d:1",
                                                                         "backbone": None})
