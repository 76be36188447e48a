import json
import math

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kgantl.callbacks import (DivergenceGuard, EpochCheckpoint, JsonlLogger, SampleGrid, TrainingDiverged,
                              latest_epoch, restore_checkpoint, save_checkpoint)
from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator


def _gan(seed=0):
    gan = GAN(build_generator(8, 1, 8, width=4, seed=seed), build_discriminator(8, 1, width=4, seed=seed), seed=seed)
    gan.compile()
    return gan


def _data():
    return tf.data.Dataset.from_tensor_slices(np.zeros((16, 8, 8, 1), "float32")).repeat().batch(8)


def test_sample_grid_writes_png_of_the_fixed_noise(tmp_path):
    gan = _gan()
    gan.fit(_data(), epochs=2, steps_per_epoch=1, verbose=0, callbacks=[SampleGrid(tmp_path, every=1, count=16)])
    first, second = tmp_path / "epoch_0001.png", tmp_path / "epoch_0002.png"
    assert first.exists() and second.exists()
    picture = np.asarray(Image.open(second))
    assert picture.shape == (4 * 9 + 1, 4 * 9 + 1) and picture.dtype == np.uint8


def test_sample_grid_rows_follow_classes(tmp_path):
    gan = ConditionalGAN(build_generator(8, 1, 8, width=4, num_classes=3), build_discriminator(8, 1, width=4, num_classes=3))
    grid = SampleGrid(tmp_path, count=4, num_classes=3, class_ids=[1, 2])
    _, labels = grid._columns_and_labels()
    assert list(labels) == [1, 1, 2, 2]
    grid.set_model(gan)
    assert grid.write(3).name == "epoch_0003.png"


def test_jsonl_logger_writes_each_epoch_once_across_a_resume(tmp_path):
    path = tmp_path / "metrics.jsonl"
    gan = _gan()
    gan.fit(_data(), epochs=3, steps_per_epoch=1, verbose=0, callbacks=[JsonlLogger(path)])
    # A resume from epoch 2 (the epoch-3 line was written but its checkpoint was lost), after a kill
    # that cut a fourth line short.
    with open(path, "a") as f:
        f.write('{"epoch": 4, "d_lo')
    gan.fit(_data(), epochs=4, initial_epoch=2, steps_per_epoch=1, verbose=0, callbacks=[JsonlLogger(path)])
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert {"d_loss", "g_loss", "time"} <= set(records[0])


def test_divergence_guard_stops_with_a_clear_message():
    guard = DivergenceGuard()
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"d_loss": 0.5, "d_real": 1e9})  # only losses are watched
    with pytest.raises(TrainingDiverged, match=r"epoch 3, batch 5: g_loss=nan.*lower the learning rates"):
        guard.on_train_batch_end(4, {"d_loss": 0.5, "g_loss": math.nan})
    with pytest.raises(TrainingDiverged, match=r"end of epoch 3: d_loss=10000000\.0"):
        guard.on_epoch_end(2, {"d_loss": 1e7})


def test_divergence_guard_stops_fit_on_nan_data():
    gan = _gan()
    nan_data = tf.data.Dataset.from_tensor_slices(np.full((8, 8, 8, 1), np.nan, "float32")).repeat().batch(4)
    with pytest.raises(TrainingDiverged):
        gan.fit(nan_data, epochs=1, steps_per_epoch=3, verbose=0, callbacks=[DivergenceGuard()])


def test_checkpoint_restores_everything_into_a_fresh_model(tmp_path):
    gan = GAN(build_generator(8, 1, 8, width=4, seed=0), build_discriminator(8, 1, width=4, seed=0), seed=0,
              ada_target=0.6)
    gan.compile()
    gan.fit(_data(), epochs=2, steps_per_epoch=2, verbose=0, callbacks=[EpochCheckpoint(tmp_path)])
    gan.augment.probability.assign(0.25)
    save_checkpoint(gan, tmp_path, 3)
    assert latest_epoch(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["epoch-0002.weights.h5", "epoch-0003.weights.h5"]
    fresh = GAN(build_generator(8, 1, 8, width=4, seed=9), build_discriminator(8, 1, width=4, seed=9), seed=9,
                ada_target=0.6)
    fresh.compile()
    assert restore_checkpoint(fresh, tmp_path) == 3
    for source, target in ((gan.generator, fresh.generator), (gan.discriminator, fresh.discriminator),
                           (gan.ema_generator, fresh.ema_generator)):
        for a, b in zip(source.get_weights(), target.get_weights()):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(gan.d_optimizer.variables, fresh.d_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert fresh.g_optimizer.iterations.numpy() == 4
    assert float(fresh.augment.probability.numpy()) == 0.25
    np.testing.assert_array_equal(fresh.seed_generator.state.numpy(), gan.seed_generator.state.numpy())


def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    gan = _gan()
    save_checkpoint(gan, tmp_path, 1)

    def crash(path, *args, **kwargs):
        open(path, "wb").write(b"half a file")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(gan, "save_weights", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(gan, tmp_path, 2)
    assert latest_epoch(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-0001.weights.h5", "latest.json"]
    assert restore_checkpoint(_gan(seed=1), tmp_path) == 1


def test_restore_without_checkpoint_is_a_fresh_start(tmp_path):
    (tmp_path / "epoch-0001.partial.weights.h5").write_bytes(b"left by a kill")
    assert restore_checkpoint(_gan(), tmp_path) == 0
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("callback", [
    SampleGrid("x", every=2, count=9, seed=1), JsonlLogger("m.jsonl"), DivergenceGuard(max_abs=10.0),
    EpochCheckpoint("c", keep=3),
])
def test_callbacks_round_trip_their_config(callback):
    clone = type(callback)(**callback.get_config())
    assert clone.get_config() == callback.get_config()


def test_best_checkpoint_survives_a_resume_without_getting_worse(tmp_path):
    from kgantl.callbacks import BestCheckpoint

    gan = _gan()
    best = BestCheckpoint(tmp_path, monitor="val_kid")
    best.set_model(gan)
    best.on_epoch_end(0, {"val_kid": 0.5})
    best.on_epoch_end(1, {"val_kid": 0.2})
    best.on_epoch_end(2, {})  # no evaluation this epoch
    resumed = BestCheckpoint(tmp_path, monitor="val_kid")  # a new process after a kill
    resumed.set_model(gan)
    resumed.on_epoch_end(3, {"val_kid": 0.3})
    assert resumed.best() == {"epoch": 2, "val_kid": 0.2}
    assert (tmp_path / "best.keras").is_file()
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        BestCheckpoint(tmp_path, mode="lowest")
