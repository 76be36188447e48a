import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.models import GAN, ConditionalGAN, build_discriminator, build_generator
from kgantl.transfer.adapters import ChannelAdapter, adapt_generator
from kgantl.transfer.maskd import FeatureMask, mask_discriminator
from kgantl.transfer.strategy import parse_strategy, prepare_transfer


def _source():
    return GAN(build_generator(28, 1, 8, width=4, seed=0), build_discriminator(28, 1, width=4, seed=1), seed=0)


def _fit(gan, steps=2):
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    gan.compile()
    gan.fit(tf.data.Dataset.from_tensor_slices(images).repeat().batch(8), epochs=1, steps_per_epoch=steps, verbose=0)


def _snapshot(model):
    return {w.path: w.numpy().copy() for w in model.weights}


def _changed(before, model):
    return sorted(w.path for w in model.weights if not np.array_equal(before[w.path], w.numpy()))


@pytest.mark.parametrize("text, canonical, additions", [
    ("maskd", "finetune+maskd", (("maskd", None),)),
    ("freeze_d:1+maskd:0.3+adapters", "freeze_d:1+maskd:0.3+adapters", (("maskd", 0.3), ("adapters", None))),
    ("adapters+cdc", "finetune+adapters+cdc", (("adapters", None), ("cdc", None))),
])
def test_maskd_and_adapters_compose_in_the_strategy_grammar(text, canonical, additions):
    strategy = parse_strategy(text)
    assert str(strategy) == canonical and strategy.regularizers == additions


@pytest.mark.parametrize("text", ["maskd:1", "maskd:0", "maskd:-0.2", "adapters:2", "maskd+maskd"])
def test_bad_maskd_and_adapter_parts_are_refused(text):
    with pytest.raises(ValueError, match=r"maskd's rate|strategy parts after the base|may appear once"):
        parse_strategy(text)


def test_adapters_start_as_the_source_and_train_only_adapters_and_the_output_layer():
    source = _source()
    gan, info = prepare_transfer(source, "finetune+adapters")
    noise = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    np.testing.assert_array_equal(gan.generator(noise), _source().generator(noise))  # identity at the start
    assert "generator source weights (adapters train)" in info["frozen"]
    before = _snapshot(gan.generator)
    _fit(gan)
    changed = _changed(before, gan.generator)
    assert changed == sorted(["g_dense_adapted/scale", "g_dense_adapted/shift", "g_block1_convt_adapted/scale",
                              "g_block1_convt_adapted/shift", "g_block2_convt_adapted/scale",
                              "g_block2_convt_adapted/shift", "g_to_image/kernel", "g_to_image/bias"])
    assert sorted(w.path for w in gan.generator.trainable_weights) == changed  # nothing else may train


def test_maskd_masks_only_while_training_and_leaves_the_generator_and_frozen_blocks_alone():
    gan, _ = prepare_transfer(_source(), "freeze_d:1+maskd:0.5")
    masked = gan.discriminator.get_layer("d_block2_act_masked")
    assert isinstance(masked, FeatureMask)
    images = np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(gan.discriminator(images, training=False), _source().discriminator(images), atol=1e-6)
    assert not np.allclose(gan.discriminator(images, training=True), gan.discriminator(images, training=False))
    features = np.ones((2, 5, 5, 3), "float32")
    out = np.asarray(masked(features, training=True))
    assert set(np.unique(out)) <= {0.0, 2.0}  # kept positions scaled by 1 / (1 - rate)
    assert (out[..., 0] == out[..., 1]).all()  # a position is masked in every channel at once
    before = _snapshot(gan.discriminator)
    _fit(gan)
    changed = _changed(before, gan.discriminator)
    assert "d_block1_conv/kernel" not in changed and "d_block2_conv/kernel" in changed  # FreezeD still holds


@pytest.mark.slow
def test_guarded_gans_save_load_and_resume_their_mask_state(tmp_path):
    gan, _ = prepare_transfer(_source(), "maskd+adapters")
    _fit(gan)
    gan.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras")
    assert isinstance(loaded.generator.get_layer("g_block1_convt_adapted"), ChannelAdapter)
    for a, b in zip(gan.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)  # the mask's seed state included


def test_wrappers_refuse_networks_they_cannot_guard():
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="other")])
    with pytest.raises(ValueError, match="adapters need a kgantl generator"):
        adapt_generator(plain)
    with pytest.raises(ValueError, match="maskd masks a kgantl discriminator"):
        mask_discriminator(plain)
    with pytest.raises(ValueError, match=r"mask rate must be in \[0, 1\)"):
        FeatureMask(keras.layers.ReLU(), rate=1.0)


def test_a_conditional_transfer_takes_adapters_and_maskd():
    gan, _ = prepare_transfer(_source(), "maskd+adapters", num_classes=3, class_ids=[0, 1, 2])
    assert isinstance(gan, ConditionalGAN)
    assert "g_label_embedding/embeddings" in [w.path for w in gan.generator.trainable_weights]


def test_every_module_with_a_registered_kgantl_class_is_registered_by_import_kgantl():
    """A .keras file holding a guarded GAN must load in a fresh process (`kgantl generate`, a resume)."""
    import ast
    from pathlib import Path

    import kgantl

    package = Path(kgantl.__file__).parent
    registering = {".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
                   for path in package.rglob("*.py")
                   if "register_keras_serializable" in path.read_text()
                   and any(isinstance(node, ast.ClassDef) for node in ast.walk(ast.parse(path.read_text())))}
    covered = {m for m in registering if any(m == s or m.startswith(s + ".") for s in kgantl.SERIALIZABLE_MODULES)}
    assert registering - covered == set()
