import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.metrics import get_extractor
from kgantl.metrics.keras_metrics import FrechetInceptionDistance, KernelInceptionDistance
from kgantl.metrics.distances import fid_from_features, frechet_distance, kernel_inception_distance, unbiased_mmd2
from kgantl.models import GAN, build_discriminator, build_generator


def _images(seed, count=100):
    return np.random.default_rng(seed).uniform(-1, 1, (count, 28, 28, 1)).astype("float32")


def test_kid_metric_equals_the_function_on_one_batch():
    real, fake = _images(0), _images(1)
    metric = KernelInceptionDistance("fmnist")
    metric.update_state(real, fake)
    extractor = get_extractor("fmnist")
    expected, _ = kernel_inception_distance(extractor.features(real), extractor.features(fake), subsets=1,
                                            subset_size=100)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-4, abs=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_fid_metric_accumulates_exact_statistics_over_batches():
    real, fake = _images(2, 200), _images(3, 200) * 0.5
    metric = FrechetInceptionDistance("fmnist")
    for start in (0, 100):
        metric.update_state(real[start:start + 100], fake[start:start + 100])
    extractor = get_extractor("fmnist")
    expected = fid_from_features(extractor.features(real), extractor.features(fake))
    assert float(metric.result()) == pytest.approx(expected, rel=1e-3)


def test_metrics_and_the_functions_on_features_agree_on_the_same_features():
    real, fake = _images(5, 120), _images(6, 120) * 0.5
    kid, fid = KernelInceptionDistance("fmnist"), FrechetInceptionDistance("fmnist")
    kid.update_state(real, fake)
    fid.update_state(real, fake)
    # The very features the metrics saw, in float64: both sides run the one formula in distances.py.
    real_features, fake_features = np.asarray(kid._features(real)), np.asarray(kid._features(fake))
    assert float(kid.total) == pytest.approx(unbiased_mmd2(real_features, fake_features), rel=1e-12)
    moments = [(f.mean(axis=0), np.cov(f, rowvar=False)) for f in (real_features, fake_features)]
    assert float(fid.result()) == pytest.approx(frechet_distance(*moments[0], *moments[1]), rel=1e-6)


def test_metrics_need_a_registry_name():
    with pytest.raises(ValueError, match="extractor must be a registry name"):
        KernelInceptionDistance(object())


def test_val_kid_in_fit_logs_and_best_checkpoint(tmp_path):
    real = tf.data.Dataset.from_tensor_slices(_images(4, 160)).batch(80)
    gan = GAN(build_generator(28, 1, 8, width=4, seed=0), build_discriminator(28, 1, width=4, seed=1), seed=0)
    gan.compile(metrics=[KernelInceptionDistance("fmnist"), FrechetInceptionDistance("fmnist")])
    best = keras.callbacks.ModelCheckpoint(tmp_path / "best.keras", monitor="val_kid", mode="min",
                                           save_best_only=True)
    history = gan.fit(real.repeat(), epochs=2, steps_per_epoch=2, validation_data=real, callbacks=[best], verbose=0)
    assert len(history.history["val_kid"]) == 2 and np.isfinite(history.history["val_fid"]).all()
    # The evaluation noise restarts at every evaluate(): the same model scores the same.
    first = gan.evaluate(real, return_dict=True, verbose=0)
    assert gan.evaluate(real, return_dict=True, verbose=0) == first
    assert "kid" not in history.history  # training logs keep to the training trackers
    loaded = keras.saving.load_model(tmp_path / "best.keras")
    assert [m.name for m in loaded.evaluation_metrics] == ["kid", "fid"]
    assert set(loaded.evaluate(real, return_dict=True, verbose=0)) == {"kid", "fid"}


def test_a_saved_model_with_metrics_loads_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    gan = GAN(build_generator(28, 1, 8, width=4, seed=0), build_discriminator(28, 1, width=4, seed=1))
    gan.compile(metrics=[KernelInceptionDistance("fmnist")])
    gan.save(tmp_path / "g.keras")
    code = ("import keras, sys, kgantl.models; m = keras.saving.load_model(sys.argv[1]); "
            "print([x.name for x in m.evaluation_metrics])")
    output = subprocess.run([sys.executable, "-c", code, str(tmp_path / "g.keras")], capture_output=True, text=True,
                            timeout=120)
    assert output.returncode == 0, output.stderr[-2000:]
    assert "['kid']" in output.stdout


def test_fid_metric_is_nan_before_any_update():
    assert np.isnan(float(FrechetInceptionDistance("fmnist").result()))
