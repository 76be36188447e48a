from pathlib import Path

import keras
import numpy as np
import pytest

from kgantl.classifier.backbones import BACKBONES, BackboneSpec, block_names, build_backbone, detect_family

SHIPPED = str(Path(__file__).resolve().parents[2] / "saved_models" / "fmnist-0-4-backbone" / "model.keras")


def test_named_backbone_without_weights():
    model, preprocess = build_backbone("mobilenet_v2", (32, 32, 3), weights=None)
    assert preprocess == "mobilenet_v2" and model.output_shape[-1] == 1280


def test_blocks_follow_the_family_naming():
    model, _ = build_backbone("vgg16", (32, 32, 3), weights=None)
    names = list(dict.fromkeys(name for name, _ in block_names(model, "vgg16")))
    assert names == ["block1", "block2", "block3", "block4", "block5"]
    assert len(block_names(model)) == 13  # as layers: the 13 convolutions


def test_imagenet_offline_names_the_file_and_the_cache(offline_vgg16):
    with pytest.raises(FileNotFoundError, match=r"put vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5 into "
                                                rf"{offline_vgg16}/models"):
        build_backbone("vgg16", (32, 32, 3), weights="imagenet")


def test_local_weights_file(tmp_path):
    first, _ = build_backbone("mobilenet_v2", (32, 32, 3), weights=None)
    first.save_weights(tmp_path / "w.weights.h5")
    second, _ = build_backbone("mobilenet_v2", (32, 32, 3), weights=str(tmp_path / "w.weights.h5"))
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="existing weights file"):
        build_backbone("mobilenet_v2", (32, 32, 3), weights=str(tmp_path / "missing.h5"))


def test_user_model_files_and_bad_names():
    model, preprocess = build_backbone(SHIPPED, None)
    assert isinstance(model, keras.Model) and preprocess is None
    with pytest.raises(ValueError, match=r"backbone must be one of vgg16, resnet50.*Received: 'alexnet'"):
        build_backbone("alexnet", (32, 32, 3))
    with pytest.raises(ValueError, match=r"vgg16 needs RGB inputs of at least 32x32"):
        build_backbone("vgg16", (28, 28, 3), weights=None)
    with pytest.raises(FileNotFoundError, match="Backbone model file does not exist"):
        build_backbone("nowhere.keras", None)


def test_family_of_backbone_objects_comes_from_the_keras_applications_name_or_the_override():
    built = {family: spec.constructor(include_top=False, weights=None, input_shape=(32, 32, 3))
             for family, spec in BACKBONES.items()}
    assert [m.name for m in built.values()] == ["vgg16", "resnet50", "mobilenetv2_1.00_32", "efficientnetb0"]
    for family, model in built.items():
        assert detect_family(model) == family
        network, preprocess = build_backbone(model, None)
        assert network is model and preprocess == BACKBONES[family].preprocess  # used as given, not rebuilt
    renamed = keras.Model(built["vgg16"].inputs, built["vgg16"].outputs, name="features")
    assert detect_family(renamed) is None and build_backbone(renamed, None)[1] is None
    assert build_backbone(renamed, None, family="vgg16")[1] == "vgg16"
    assert build_backbone(SHIPPED, None, family="resnet50")[1] == "resnet50"
    with pytest.raises(ValueError, match=r"family must be one of vgg16, .* or None\. Received: family='vgg19'"):
        build_backbone(renamed, None, family="vgg19")
    with pytest.raises(ValueError, match=r"family names the backbone of a keras.Model or a \.keras file.*"
                                         r"Received: backbone='vgg16', family='resnet50'"):
        build_backbone("vgg16", (32, 32, 3), weights=None, family="resnet50")


def test_a_family_takes_the_image_side_raised_to_its_minimum_or_the_side_given():
    from kgantl.classifier.backbones import input_side

    assert [input_side("vgg16", side) for side in (16, 32, 40, 64)] == [32, 32, 40, 64]
    assert input_side("resnet50", 28, given=96) == 96
    with pytest.raises(ValueError, match=r"input_size must be an integer of at least 32 for resnet50"):
        input_side("resnet50", 64, given=28)
