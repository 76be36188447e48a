from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.transfer import FreezeSchedule, Stage, build_classifier, get_backbone

SHIPPED = str(Path(__file__).resolve().parents[2] / "saved_models" / "fmnist-0-4-backbone" / "model.keras")


def _data(count=32, classes=3):
    rng = np.random.default_rng(0)
    labels = np.arange(count) % classes
    images = (rng.uniform(-1, 1, (count, 28, 28, 1)) * 0.2 + (labels[:, None, None, None] - 1) * 0.5)
    return tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels)).batch(8)


def _snapshot(layer):
    return [w.numpy().copy() for w in layer.weights]


def test_named_backbone_classifier_adapts_small_grey_images():
    model = build_classifier("mobilenet_v2", num_classes=3, weights=None, backbone_size=32)
    assert model.get_layer("input_adapter").compute_output_shape((None, 28, 28, 1)) == (None, 32, 32, 3)
    out = model(np.zeros((2, 28, 28, 1), "float32"))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0, rtol=1e-5)


def test_batchnorm_statistics_stay_frozen_while_weights_train():
    model = build_classifier("mobilenet_v2", num_classes=3, weights=None, dense_units=())
    backbone = get_backbone(model)
    bn = next(layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization))
    conv = next(layer for layer in backbone.layers if isinstance(layer, keras.layers.Conv2D))
    stats, kernel = bn.moving_mean.numpy().copy(), conv.kernel.numpy().copy()
    FreezeSchedule([Stage(1, "all", 1e-3)], backbone_name="mobilenet_v2").fit(model, _data(), verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), stats)
    assert not np.array_equal(conv.kernel.numpy(), kernel)


def test_schedule_unfreezes_from_the_top_and_recompiles_each_stage():
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
    results = schedule.fit(model, _data(), verbose=0)
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
