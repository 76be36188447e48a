from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.classifier import FreezeSchedule, Stage, build_classifier, get_backbone

SHIPPED = str(Path(__file__).resolve().parents[2] / "saved_models" / "fmnist-0-4-backbone" / "model.keras")


def _data(count=32, classes=3):
    rng = np.random.default_rng(0)
    labels = np.arange(count) % classes
    images = (rng.uniform(-1, 1, (count, 28, 28, 1)) * 0.2 + (labels[:, None, None, None] - 1) * 0.5)
    return tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels)).batch(8)


def _snapshot(layer):
    return [w.numpy().copy() for w in layer.weights]


def test_named_backbone_classifier_adapts_small_grey_images():
    model = build_classifier("mobilenet_v2", num_classes=3, weights=None, input_size=32)
    assert model.get_layer("input_adapter").compute_output_shape((None, 28, 28, 1)) == (None, 32, 32, 3)
    out = model(np.zeros((2, 28, 28, 1), "float32"))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_batchnorm_statistics_stay_frozen_while_weights_train():
    model = build_classifier("mobilenet_v2", num_classes=3, weights=None, dense_units=())
    backbone = get_backbone(model)
    bn = next(layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization))
    conv = next(layer for layer in backbone.layers if isinstance(layer, keras.layers.Conv2D))
    stats, kernel = bn.moving_mean.numpy().copy(), conv.kernel.numpy().copy()
    FreezeSchedule([Stage(1, "all", 1e-3)], backbone_name="mobilenet_v2").fit(model, _data(), verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), stats)
    assert not np.array_equal(conv.kernel.numpy(), kernel)


def test_schedule_unfreezes_from_the_top_and_recompiles_each_stage(caplog):
    model = build_classifier(SHIPPED, num_classes=3, input_shape=(28, 28, 1))
    backbone = get_backbone(model)
    conv1, conv4 = backbone.get_layer("conv1"), backbone.get_layer("conv4")
    head = model.get_layer("head_classes")
    schedule = FreezeSchedule([Stage(1, 0, 1e-3), Stage(1, 3, 1e-4)], unit="layers")
    before = {name: _snapshot(layer) for name, layer in (("conv1", conv1), ("conv4", conv4), ("head", head))}
    optimizers = []
    original_compile = model.compile

    def recording_compile(**kwargs):
        optimizers.append(kwargs["optimizer"])
        original_compile(**kwargs)

    model.compile = recording_compile
    with caplog.at_level("INFO", logger="kgantl"):
        results = schedule.fit(model, _data(), verbose=0)
    # Each stage says what it trains, as progress (INFO): nothing to act on.
    assert [(r.levelname, r.getMessage()[:10]) for r in caplog.records if "of the backbone trainable" in
            r.getMessage()] == [("INFO", "stage 1/2:"), ("INFO", "stage 2/2:")]
    # Stage 1: the backbone is frozen; stage 2: its top 3 weighted layers (conv3, conv4, embedding) train,
    # conv1 never does.
    assert results[0]["trainable_backbone_params"] == 0
    assert results[1]["trainable_backbone_params"] == sum(
        int(np.prod(w.shape)) for name in ("conv3", "conv4", "embedding") for w in backbone.get_layer(name).weights)
    assert results[1]["trainable_params"] > results[0]["trainable_params"]
    np.testing.assert_array_equal(_snapshot(conv1)[0], before["conv1"][0])
    assert not np.array_equal(_snapshot(conv4)[0], before["conv4"][0])
    assert not np.array_equal(_snapshot(head)[0], before["head"][0])
    assert len(optimizers) == 2 and optimizers[0] is not optimizers[1]
    assert [float(o.learning_rate) for o in optimizers] == pytest.approx([1e-3, 1e-4])
    assert [len(r["history"]["loss"]) for r in results] == [1, 1]


def test_a_schedule_on_a_tf_data_pipeline_raises_no_shuffle_warning():
    import warnings

    model = build_classifier(SHIPPED, num_classes=3, input_shape=(28, 28, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FreezeSchedule([Stage(1, 0, 1e-3)], unit="layers").fit(model, _data(), verbose=0)
    assert not [w for w in caught if "shuffle=True" in str(w.message)]


def test_classifier_round_trips_through_keras_files(tmp_path):
    model = build_classifier(SHIPPED, num_classes=3)
    model.save(tmp_path / "c.keras")
    loaded = keras.saving.load_model(tmp_path / "c.keras")
    x = np.random.default_rng(1).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": 1, "trainable": -1}, "trainable must be 'all' or a non-negative integer"),
    ({"epochs": 1, "learning_rate": 0}, "learning_rate must be > 0"),
])
def test_bad_stages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Stage(**kwargs)


def test_bad_schedules_and_classifiers():
    with pytest.raises(ValueError, match="at least one stage"):
        FreezeSchedule([])
    with pytest.raises(ValueError, match="unit must be 'blocks' or 'layers'"):
        FreezeSchedule([Stage(1)], unit="modules")
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        build_classifier(SHIPPED, num_classes=1)


# (constructor, preprocess module, last layer, top blocks to unfreeze, name prefixes of their layers)
APPLICATIONS = [
    (keras.applications.VGG16, "vgg16", "block5_pool", 1, ("block5_",)),
    (keras.applications.ResNet50, "resnet50", "conv5_block3_out", 1, ("conv5_block3_",)),
    # Conv_1 and Conv_1_bn sit outside MobileNetV2's numbered blocks: each is a block of its own.
    (keras.applications.MobileNetV2, "mobilenet_v2", "out_relu", 3, ("block_16_", "Conv_1")),
]


@pytest.mark.parametrize("constructor, module, last, blocks, prefixes", APPLICATIONS)
def test_backbone_objects_are_used_as_given_with_their_preprocessing_and_blocks(constructor, module, last, blocks,
                                                                                prefixes):
    backbone = constructor(include_top=False, weights=None, input_shape=(32, 32, 3))
    model = build_classifier(backbone, num_classes=3, input_shape=(32, 32, 3), dense_units=())
    network = get_backbone(model)
    # Nothing is cut: the classifier's backbone ends at the object's own output layer.
    assert network.layers[-1].name == last and network.output_shape == backbone.output_shape
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(network(x), backbone(x), atol=1e-5)
    # The family's own preprocess_input, on [0, 255] values, is applied inside the model.
    expected = getattr(keras.applications, module).preprocess_input((x + 1.0) * 127.5)
    np.testing.assert_allclose(model.get_layer("input_adapter")(x), expected, atol=1e-3)
    # Blocks are counted without naming the family again: whole blocks from the top, not single layers.
    trainable = FreezeSchedule([Stage(1, blocks)]).apply(model, Stage(1, blocks))
    top = [layer for layer in network.layers if layer.weights and layer.name.startswith(prefixes)]
    assert top and {layer.name for layer in network.layers if layer.trainable and layer.weights} == {
        layer.name for layer in top}
    assert trainable == sum(int(np.prod(w.shape)) for layer in top for w in layer.trainable_weights)


def _vgg_like(name):
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(2, 3, padding="same", name="block1_conv1")(inputs)
    h = keras.layers.Conv2D(2, 3, padding="same", name="block1_conv2")(h)
    h = keras.layers.Conv2D(2, 3, padding="same", name="block2_conv1")(h)
    return keras.Model(inputs, h, name=name)


def test_family_override_for_a_model_of_unknown_family_survives_saving(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    unknown = build_classifier(_vgg_like("my_net"), num_classes=3, input_shape=(8, 8, 3), dense_units=())
    np.testing.assert_allclose(unknown.get_layer("input_adapter")(x), x, atol=1e-5)  # [-1, 1] kept
    model = build_classifier(_vgg_like("my_net"), num_classes=3, input_shape=(8, 8, 3), dense_units=(),
                             family="vgg16")
    model.save(tmp_path / "c.keras")
    loaded = keras.saving.load_model(tmp_path / "c.keras")
    for m in (model, loaded):
        expected = keras.applications.vgg16.preprocess_input((x + 1.0) * 127.5)
        np.testing.assert_allclose(m.get_layer("input_adapter")(x), expected, atol=1e-3)
        FreezeSchedule([Stage(1, 1)]).apply(m, Stage(1, 1))  # block1 (two layers) stays frozen
        assert [layer.trainable for layer in get_backbone(m).layers[1:]] == [False, False, True]


def test_blocks_of_an_unknown_family_are_layers_and_the_schedule_says_so(caplog):
    model = build_classifier(_vgg_like("my_net"), num_classes=3, input_shape=(8, 8, 3), dense_units=())
    with caplog.at_level("WARNING", logger="kgantl"):
        FreezeSchedule([Stage(1, 2)]).apply(model, Stage(1, 2))
    assert [layer.trainable for layer in get_backbone(model).layers[1:]] == [False, True, True]
    assert [r.levelname for r in caplog.records if "family of backbone 'my_net' is unknown" in r.getMessage()] == [
        "WARNING"]  # a real warning: blocks are not what the user asked for; the message says what to pass
    with pytest.raises(ValueError, match=r"family must be one of vgg16, resnet50, mobilenet_v2, efficientnet_b0 "
                                         r"or None\. Received: family='alexnet'"):
        build_classifier(_vgg_like("my_net"), num_classes=3, input_shape=(8, 8, 3), family="alexnet")


def test_keras_files_are_still_cut_below_their_head():
    model = build_classifier(SHIPPED, num_classes=3)
    shipped = keras.saving.load_model(SHIPPED, compile=False)
    assert get_backbone(model).layers[-1].name == shipped.layers[-2].name
    assert model.get_layer("input_adapter").preprocess is None
