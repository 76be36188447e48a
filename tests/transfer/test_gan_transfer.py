from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.models import GAN, build_discriminator, build_generator
from kgantl.transfer.gan_transfer import discriminator_blocks, fit_alternating
from kgantl.transfer.strategy import Strategy, parse_strategy, prepare_transfer

BACKBONE = str(Path(__file__).resolve().parents[2] / "saved_models" / "fmnist-0-4-backbone" / "model.keras")


def _source():
    return GAN(build_generator(28, 1, 8, width=4, seed=0), build_discriminator(28, 1, width=4, seed=1), seed=0)


def _target_images():
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).repeat().batch(8)


def _weights(model, name):
    return [w.copy() for w in model.get_layer(name).get_weights()]


def _changed(before, model, name):
    return any(not np.array_equal(a, b) for a, b in zip(before, model.get_layer(name).get_weights()))


@pytest.mark.parametrize("text, parsed", [("finetune", ("finetune", None)), ("freeze_d:2", ("freeze_d", 2)),
                                          ("alternate", ("alternate", None)), ("feature_d", ("feature_d", None))])
def test_parse_strategy(text, parsed):
    strategy = parse_strategy(text)
    assert (strategy.name, strategy.frozen_blocks) == parsed and str(strategy) == text
    assert parse_strategy(strategy) is strategy


def test_strategy_phases_and_checks():
    assert parse_strategy("alternate").phases(5, 2, initial_epoch=3) == [(3, 4, "generator"), (4, 5, "discriminator")]
    assert parse_strategy("freeze_d:1").phases(5, 2, initial_epoch=3) == [(3, 5, None)]
    assert Strategy("finetune").phases(5, initial_epoch=5) == []  # finished: nothing left to fit

    with pytest.raises(ValueError, match="strategy reptile needs reptile_data"):
        parse_strategy("reptile").load_data(None)
    assert parse_strategy("freeze_d:1").load_data("fashion_mnist:0-4") is None


@pytest.mark.parametrize("text, canonical, regularizers", [
    ("freeze_d:1+cdc", "freeze_d:1+cdc", (("cdc", None),)),
    ("finetune+ewc:1e4", "finetune+ewc:10000", (("ewc", 1e4),)),
    ("cdc:0.5+ewc", "finetune+cdc:0.5+ewc", (("cdc", 0.5), ("ewc", None))),
])
def test_strategies_compose_with_regularizers(text, canonical, regularizers):
    strategy = parse_strategy(text)
    assert str(strategy) == canonical and strategy.regularizers == regularizers
    assert parse_strategy(canonical) == strategy


@pytest.mark.parametrize("text", ["freeze_d:1+cdc+cdc", "finetune+dropout", "cdc:0", "ewc:-1", "finetune+cdc:x",
                                  "cdc+freeze_d:1"])
def test_bad_compositions_are_refused(text):
    with pytest.raises(ValueError, match=r"strategy|regulariser"):
        parse_strategy(text)


def test_composed_strategy_adds_penalties_anchored_at_the_source():
    gan, info = prepare_transfer(_source(), "freeze_d:1+cdc+ewc")
    assert info["regularizers"] == ["cdc", "ewc"] and info["frozen"] == ["d_block1_conv"]
    gan.compile()
    history = gan.fit(_target_images(), epochs=1, steps_per_epoch=2, verbose=0)
    assert history.history["g_penalty"][0] > 0.0  # the generator moved away from its source


def test_unknown_strategy():
    with pytest.raises(ValueError, match=r"strategy must be one of finetune, freeze_d:K, alternate, feature_d"):
        parse_strategy("freeze_g:1")


def test_freeze_d_keeps_the_lowest_blocks_and_trains_the_rest():
    gan, info = prepare_transfer(_source(), "freeze_d:1")
    assert info["frozen"] == ["d_block1_conv"] and discriminator_blocks(gan.discriminator) == [1, 2]
    before = {n: _weights(gan.discriminator, n) for n in ("d_block1_conv", "d_block2_conv", "d_logit")}
    g_before = _weights(gan.generator, "g_to_image")
    gan.compile()
    gan.fit(_target_images(), epochs=1, steps_per_epoch=2, verbose=0)
    assert not _changed(before["d_block1_conv"], gan.discriminator, "d_block1_conv")
    assert _changed(before["d_block2_conv"], gan.discriminator, "d_block2_conv")
    assert _changed(before["d_logit"], gan.discriminator, "d_logit")
    assert _changed(g_before, gan.generator, "g_to_image")
    with pytest.raises(ValueError, match="freeze_d needs K between 0 and the discriminator's 2 blocks"):
        prepare_transfer(_source(), "freeze_d:3")


def test_finetune_trains_everything():
    gan, _ = prepare_transfer(_source(), "finetune")
    before = _weights(gan.discriminator, "d_block1_conv")
    gan.compile()
    gan.fit(_target_images(), epochs=1, steps_per_epoch=1, verbose=0)
    assert _changed(before, gan.discriminator, "d_block1_conv")


def test_alternate_trains_one_network_per_phase():
    gan, _ = prepare_transfer(_source(), "alternate")
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((_weights(gan.discriminator, "d_logit"), _weights(gan.generator, "g_to_image")))

    start = (_weights(gan.discriminator, "d_logit"), _weights(gan.generator, "g_to_image"))
    results = fit_alternating(gan, _target_images(), epochs=2, phase_epochs=1, steps_per_epoch=2,
                              callbacks=[Snapshot()], verbose=0)
    assert [phase for phase, _ in results] == ["discriminator", "generator"]
    (d1, g1), (d2, g2) = snapshots
    assert not np.array_equal(d1[0], start[0][0]) and np.array_equal(g1[0], start[1][0])  # D phase
    assert np.array_equal(d2[0], d1[0]) and not np.array_equal(g2[0], g1[0])  # G phase
    assert gan.generator.trainable and gan.discriminator.trainable


def test_feature_d_trains_only_the_head_on_frozen_pretrained_features():
    gan, info = prepare_transfer(_source(), "feature_d", backbone=BACKBONE)
    features = gan.discriminator.get_layer("d_features").network
    before_features = [w.copy() for w in features.get_weights()]
    before_head = _weights(gan.discriminator, "d_head_dense")
    gan.compile()
    gan.fit(_target_images(), epochs=1, steps_per_epoch=2, verbose=0)
    for a, b in zip(before_features, features.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert _changed(before_head, gan.discriminator, "d_head_dense")
    assert info["frozen"] == ["d_features"]


def test_feature_d_head_starts_from_the_seed_whatever_ran_before():
    first, _ = prepare_transfer(_source(), "feature_d", backbone=BACKBONE, seed=3)
    keras.random.normal((4,))  # advance Keras' global random state, as other runs in a process would
    again, _ = prepare_transfer(_source(), "feature_d", backbone=BACKBONE, seed=3)
    other, _ = prepare_transfer(_source(), "feature_d", backbone=BACKBONE, seed=4)
    for name in ("d_head_dense", "d_logit"):
        np.testing.assert_array_equal(_weights(first.discriminator, name)[0], _weights(again.discriminator, name)[0])
    assert not np.array_equal(_weights(first.discriminator, "d_logit")[0], _weights(other.discriminator, "d_logit")[0])


def test_shipped_source_loads_for_transfer():
    source = Path(__file__).resolve().parents[2] / "saved_models" / "source-fmnist-0-4"
    gan, _ = prepare_transfer(str(source), "freeze_d:1", augment="translation")
    gan.compile()
    assert gan.generate(2, seed=0).shape == (2, 28, 28, 1)


def test_unconditional_source_becomes_an_equivalent_conditional_gan():
    from kgantl.models import ConditionalGAN

    source = GAN(build_generator(28, 1, 8, width=4, seed=0), build_discriminator(28, 1, width=4, spectral_norm=True,
                                                                               seed=1), seed=0)
    gan, info = prepare_transfer(source, "freeze_d:1", num_classes=10)
    assert isinstance(gan, ConditionalGAN) and info["converted_to_conditional"] == 10
    noise = np.random.default_rng(0).standard_normal((3, 8)).astype("float32")
    labels = np.array([5, 7, 9], "int32")
    np.testing.assert_allclose(gan.generator([noise, labels]), source.generator(noise), atol=1e-6)
    images = source.generator(noise).numpy()
    np.testing.assert_allclose(gan.discriminator([images, labels], training=False),
                               source.discriminator(images, training=False), atol=1e-5)
    gan.compile()
    data = tf.data.Dataset.from_tensor_slices((np.zeros((8, 28, 28, 1), "float32"), np.full(8, 7))).repeat().batch(4)
    gan.fit(data, epochs=1, steps_per_epoch=2, verbose=0)
    embedding = gan.generator.get_layer("g_label_embedding").get_weights()[0]
    assert not np.allclose(embedding[7], 1.0) and np.allclose(embedding[3], 1.0)  # only the seen class moved
    with pytest.raises(ValueError, match="feature_d builds an unconditional discriminator"):
        prepare_transfer(source, "feature_d", num_classes=10, backbone=BACKBONE)


def test_vision_aided_discriminator_trains_its_heads_and_the_base_but_never_its_backbone(tmp_path):
    gan, info = prepare_transfer(_source(), "freeze_d:1+vision_d", backbone=BACKBONE)
    assert info["frozen"] == ["d_block1_conv", "vd_features"]
    vision = gan.discriminator.get_layer("vision_discriminator")
    base = gan.discriminator.get_layer("discriminator")
    backbone_before = [w.copy() for w in vision.get_layer("vd_features").get_weights()]
    heads_before = _weights(vision, "vd_head1_conv")
    base_before, frozen_before = _weights(base, "d_block2_conv"), _weights(base, "d_block1_conv")
    assert gan.discriminator(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 2)  # base and vision logits
    gan.compile()
    gan.fit(_target_images(), epochs=1, steps_per_epoch=2, verbose=0)
    for a, b in zip(backbone_before, vision.get_layer("vd_features").get_weights()):
        np.testing.assert_array_equal(a, b)
    assert _changed(heads_before, vision, "vd_head1_conv") and _changed(base_before, base, "d_block2_conv")
    assert not _changed(frozen_before, base, "d_block1_conv")
    gan.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.discriminator(np.ones((2, 28, 28, 1), "float32")),
                               gan.discriminator(np.ones((2, 28, 28, 1), "float32")), atol=1e-5)
    assert str(parse_strategy("vision_d")) == "finetune+vision_d"
    with pytest.raises(ValueError, match="strategy parts after the base"):
        parse_strategy("finetune+vision_d:2")


def test_a_convt_source_becomes_an_equivalent_conditional_gan():
    source = GAN(build_generator(16, 3, 8, width=4, seed=0, to_image="convt"),
                 build_discriminator(16, 3, width=4, seed=1), seed=0)
    gan, _ = prepare_transfer(source, "finetune", num_classes=3)
    noise = np.random.default_rng(0).standard_normal((2, 8)).astype("float32")
    np.testing.assert_allclose(gan.generator([noise, np.array([0, 2], "int32")]), source.generator(noise), atol=1e-6)
