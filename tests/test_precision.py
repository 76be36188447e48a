"""kgantl.precision: mixed_bfloat16 trains a GAN with finite, falling losses, and its exports stay float32."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.config import TrainOptions
from kgantl.export import export_generator
from kgantl.models import GAN, build_discriminator, build_generator
from kgantl.precision import precision_policy, resolve_precision, with_policy
from kgantl.training import train


def test_policy_applies_inside_the_block_only():
    before = keras.mixed_precision.global_policy().name
    with precision_policy("mixed_bfloat16"):
        generator = build_generator(16, 1, 8, 8, seed=0)
    assert keras.mixed_precision.global_policy().name == before
    assert generator.layers[1].compute_dtype == "bfloat16" and generator.layers[1].variable_dtype == "float32"


def test_auto_is_bfloat16_only_on_a_machine_with_bfloat16_units_and_bad_names_are_refused(monkeypatch):
    import kgantl.precision

    assert kgantl.precision.bfloat16_quality_shown()  # the parity records (docs/benchmarks.md) show it
    monkeypatch.setattr(kgantl.precision, "has_fast_bfloat16", lambda: False)
    assert resolve_precision("auto") == "float32"
    monkeypatch.setattr(kgantl.precision, "has_fast_bfloat16", lambda: True)
    assert resolve_precision("auto") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="precision must be one of float32, mixed_bfloat16, mixed_float16, auto"):
        resolve_precision("float8")
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainOptions(data="digits", precision="half").validate()


def test_mixed_bfloat16_losses_are_finite_and_fall_and_samples_and_exports_are_float32(tmp_path):
    with precision_policy("mixed_bfloat16"):
        generator, discriminator = build_generator(16, 1, 8, 16, seed=0), build_discriminator(16, 1, 16, seed=1)
        gan = GAN(generator, discriminator, ema_decay=0.0, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5), jit_compile=False)
    # Tiny data D can learn to tell from fakes at once: its loss must fall from log(4).
    images = np.random.default_rng(0).uniform(0.5, 1.0, (64, 16, 16, 1)).astype("float32")
    history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32).repeat(), epochs=4, steps_per_epoch=5,
                      verbose=0)
    d_loss = history.history["d_loss"]
    assert np.all(np.isfinite(d_loss)) and np.all(np.isfinite(history.history["g_loss"]))
    assert d_loss[-1] < d_loss[0]
    assert gan.generate(4, seed=0).dtype == np.float32
    served = tf.saved_model.load(str(export_generator(gan, tmp_path / "saved_model"))).signatures["serve"]
    assert served(noise=tf.zeros((2, 8)))["images"].dtype == tf.float32


def test_a_source_converts_to_a_policy_with_its_weights(tiny_source):
    from kgantl.runs.artifacts import load_gan

    source = load_gan(tiny_source)
    converted = with_policy(source.generator, "mixed_bfloat16")
    assert converted.layers[-1].compute_dtype == "bfloat16"
    for a, b in zip(converted.get_weights(), source.generator.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_source_saved_in_mixed_bfloat16_is_adapted_in_the_run_s_float32(tmp_path, tiny_npz):
    # The shipped colour source was trained in mixed bfloat16: a float32 run must not compute in bfloat16 unasked
    # (slow where bfloat16 is emulated, and not what options.json says).
    from kgantl.export import export_keras
    from kgantl.models import GAN, build_discriminator, build_generator
    from kgantl.precision import computes_under
    from kgantl.training import resolve_training

    with precision_policy("mixed_bfloat16"):
        source = GAN(build_generator(16, 1, 8, width=4, seed=0), build_discriminator(16, 1, width=4, seed=1))
    path = export_keras(source, tmp_path / "bf16-source" / "model.keras")
    run = resolve_training(TrainOptions(data=str(tiny_npz), source=str(path), shots=10, precision="float32",
                                        run_dir=str(tmp_path / "run")))
    assert computes_under(source.generator) == "mixed_bfloat16"
    assert [computes_under(net) for net in (run.gan.generator, run.gan.discriminator)] == ["float32", "float32"]
    for a, b in zip(run.gan.generator.get_weights(), source.generator.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_transfer_run_in_mixed_bfloat16_trains_and_saves(tmp_path, tiny_npz, tiny_source):
    _, run_dir = train(TrainOptions(data=str(tiny_npz), source=str(tiny_source), precision="mixed_bfloat16",
                                    epochs=1, steps_per_epoch=2, batch_size=8, eval_every=0,
                                    run_dir=str(tmp_path / "run")), verbose=0)
    assert (run_dir / "model.keras").exists() and (run_dir / "saved_model").exists()
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("units, expected", [(False, "float32"), (True, "mixed_bfloat16")])
def test_options_json_records_the_precision_auto_resolved_to_and_an_old_auto_run_still_resumes(
        tmp_path, tiny_npz, monkeypatch, caplog, units, expected):
    import json

    import kgantl.precision
    from kgantl.runs.folder import prepare_run_dir
    from kgantl.training import resolve_training

    monkeypatch.setattr(kgantl.precision, "has_fast_bfloat16", lambda: units)  # a machine with or without them
    options = TrainOptions(data=str(tiny_npz), image_size=16, width=4, latent_dim=8, batch_size=8, epochs=1,
                           steps_per_epoch=1, precision="auto", run_dir=str(tmp_path / "run"))
    with caplog.at_level("INFO", logger="kgantl"):
        resolved = resolve_training(options).options
    assert resolved.precision == resolve_precision("auto") == expected
    said = [r for r in caplog.records
            if r.getMessage().startswith(f"precision auto: {expected}, since this machine has")]
    assert [r.levelname for r in said] == ["INFO"]  # said at start, as progress: nothing went wrong
    # A run directory written when options.json still said "auto" is the same run.
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "options.json").write_text(json.dumps({**resolved.to_dict(), "precision": "auto"}))
    run_dir, lock = prepare_run_dir(resolved)
    lock.release()
    assert json.loads((run_dir / "options.json").read_text())["precision"] == expected
