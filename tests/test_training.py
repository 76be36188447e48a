import dataclasses
import json
import logging

import numpy as np
import pytest

from kgantl.config import TrainOptions
from kgantl.runs.artifacts import load_gan
from kgantl.training import resolve_training, train


def _options(tmp_path, data, **kwargs):
    base = dict(data=str(data), image_size=16, width=4, latent_dim=8, batch_size=8, epochs=2, steps_per_epoch=2,
                runs_root=str(tmp_path / "runs"), seed=1)
    if kwargs.get("source"):  # a transfer run takes its architecture from the source
        base = {k: v for k, v in base.items() if k not in ("image_size", "width", "latent_dim")}
    return TrainOptions(**{**base, **kwargs})


def test_run_directory_holds_options_samples_metrics_checkpoint_and_model(tmp_path, tiny_npz):
    history, run_dir = train(_options(tmp_path, tiny_npz), verbose=0)
    assert run_dir.parent == tmp_path / "runs" and run_dir.name.startswith("00000-")
    options = json.loads((run_dir / "options.json").read_text())
    assert options["channels"] == 1 and options["steps_per_epoch"] == 2  # resolved values are recorded
    # ... all of them: the folder the run chose, XLA as Keras resolved "auto" on this CPU, no "auto" left.
    assert options["run_dir"] == str(run_dir) and options["jit_compile"] == "off"
    assert "auto" not in options.values()
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2
    assert json.loads((run_dir / "checkpoints" / "latest.json").read_text())["epoch"] == 2
    assert (run_dir / "model.keras").is_file() and len(history.history["d_loss"]) == 2


@pytest.mark.slow
def test_a_run_started_with_xla_resumes_where_auto_resolves_to_no_xla(tmp_path, tiny_npz):
    # As if started on a GPU (XLA on) and resumed on this CPU with the same command: same run, not refused.
    options = _options(tmp_path, tiny_npz, epochs=1, run_dir=str(tmp_path / "run"))
    train(options, verbose=0)
    recorded = json.loads((tmp_path / "run" / "options.json").read_text())
    (tmp_path / "run" / "options.json").write_text(json.dumps({**recorded, "jit_compile": "on"}))
    history, _ = train(dataclasses.replace(options, epochs=2), verbose=0)
    assert len(history.history["d_loss"]) == 1  # epoch 2 only: epoch 1 was resumed
    assert json.loads((tmp_path / "run" / "options.json").read_text())["jit_compile"] == "off"


@pytest.mark.slow
def test_resumed_training_matches_uninterrupted_training(tmp_path, tiny_npz):
    _, straight = train(_options(tmp_path, tiny_npz, epochs=3, run_dir=str(tmp_path / "straight"),
                                 diffaugment="translation,cutout"), verbose=0)
    interrupted = _options(tmp_path, tiny_npz, epochs=1, run_dir=str(tmp_path / "resumed"),
                           diffaugment="translation,cutout")
    train(interrupted, verbose=0)
    history, resumed = train(_options(tmp_path, tiny_npz, epochs=3, run_dir=str(tmp_path / "resumed"),
                                      diffaugment="translation,cutout"), verbose=0)
    assert len(history.history["d_loss"]) == 2  # only epochs 2 and 3 ran again
    a, b = load_gan(straight), load_gan(resumed)
    for x, y in zip(a.generator.get_weights() + a.discriminator.get_weights() + a.ema_generator.get_weights(),
                    b.generator.get_weights() + b.discriminator.get_weights() + b.ema_generator.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_same_command_resumes_the_unfinished_run_and_new_runs_get_new_numbers(tmp_path, tiny_npz):
    options = _options(tmp_path, tiny_npz, epochs=1)
    _, first = train(options, verbose=0)
    _, second = train(options, verbose=0)  # the first is finished: a new run
    assert first.name.startswith("00000-") and second.name.startswith("00001-")
    (second / "checkpoints" / "latest.json").unlink()  # make the second unfinished
    _, third = train(options, verbose=0)
    assert third == second


def test_run_dir_with_other_options_is_refused(tmp_path, tiny_npz):
    train(_options(tmp_path, tiny_npz, epochs=1, run_dir=str(tmp_path / "r")), verbose=0)
    with pytest.raises(ValueError, match=r"run_dir .* holds a run with other options.*width=8 \(was 4\)"):
        train(_options(tmp_path, tiny_npz, width=8, run_dir=str(tmp_path / "r")), verbose=0)


def test_conditional_training_and_loading_an_unfinished_run(tmp_path, tiny_npz):
    _, run_dir = train(_options(tmp_path, tiny_npz, conditional=True, epochs=1), verbose=0)
    (run_dir / "model.keras").unlink()  # as if killed before the end: rebuilt from architecture.json + checkpoint
    gan = load_gan(run_dir)
    assert gan.generate(4, labels=1).shape == (4, 16, 16, 1)
    assert gan.trained_class_ids() == [0, 1]  # the data's classes travel with the model


@pytest.mark.slow
def test_a_kill_before_model_keras_is_finished_by_the_same_command(tmp_path, tiny_npz):
    """Killed after the last epoch's checkpoint but before model.keras: the re-run saves the old run."""
    options = _options(tmp_path, tiny_npz, epochs=2)
    _, first = train(options, verbose=0)
    trained = load_gan(first).generator.get_weights()
    (first / "model.keras").unlink()
    history, again = train(options, verbose=0)
    assert again == first and history is None  # nothing left to fit
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [first.name]
    for a, b in zip(trained, load_gan(first).generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert json.loads((first / "checkpoints" / "latest.json").read_text())["epoch"] == 2


@pytest.mark.slow
def test_runs_written_by_kgantl_0_1_0_still_resume(tmp_path, tiny_npz):
    """Their options.json records strategy "finetune" for every run and no tensorboard option."""
    run_dir = tmp_path / "old"
    train(_options(tmp_path, tiny_npz, epochs=1, run_dir=str(run_dir)), verbose=0)
    recorded = json.loads((run_dir / "options.json").read_text())
    recorded.pop("tensorboard")
    (run_dir / "options.json").write_text(json.dumps({**recorded, "strategy": "finetune"}))
    history, again = train(_options(tmp_path, tiny_npz, epochs=2, run_dir=str(run_dir)), verbose=0)
    assert again == run_dir and len(history.history["d_loss"]) == 1  # extended, not refused


def test_a_bad_kid_reference_is_found_before_anything_is_written(tmp_path, tiny_npz):
    options = _options(tmp_path, tiny_npz, eval_every=1, eval_ref=str(tmp_path / "missing.npz"))
    with pytest.raises(FileNotFoundError, match="Data file does not exist"):
        resolve_training(options)
    with pytest.raises(FileNotFoundError):
        train(options, verbose=0)
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_transfer_run_reads_no_test_split_and_never_trains_on_its_validation_images(tmp_path, tiny_npz,
                                                                                     tiny_source, monkeypatch):
    import kgantl.resolve as resolve
    import kgantl.training as training

    splits, trained_on = [], []
    real_load, real_make = resolve.load_arrays, training.make_dataset

    def recording_load(spec, *args, **kwargs):
        splits.append(kwargs.get("split", "train"))
        return real_load(spec, *args, **kwargs)

    def recording_make(arrays, *args, **kwargs):
        trained_on.append(len(arrays.images))
        return real_make(arrays, *args, **kwargs)

    monkeypatch.setattr(resolve, "load_arrays", recording_load)
    monkeypatch.setattr(training, "make_dataset", recording_make)
    history, run_dir = train(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10, eval_every=1,
                                      epochs=1, copy_check="off"), verbose=0)
    assert splits and set(splits) == {"train"}
    assert trained_on == [16, 4]  # 2 classes x 10 shots: 2 per class held out for val_kid, 8 per class trained
    assert json.loads((run_dir / "options.json").read_text())["val_per_class"] == 2
    assert len(history.history["val_kid"]) == 1 and (run_dir / "best.keras").is_file()
    with pytest.raises(ValueError, match=r"images held out per class must be in 1..9"):
        resolve_training(_options(tmp_path, tiny_npz, shots=10, eval_every=1, val_per_class=10))


@pytest.mark.slow
def test_tensorboard_event_files_beside_metrics(tmp_path, tiny_npz):
    _, run_dir = train(_options(tmp_path, tiny_npz, epochs=1, tensorboard=True), verbose=0)
    assert any(p.name.startswith("events.out.tfevents") for p in (run_dir / "tensorboard").iterdir())
    _, plain = train(_options(tmp_path, tiny_npz, epochs=1, run_dir=str(tmp_path / "plain")), verbose=0)
    assert not (plain / "tensorboard").exists()


@pytest.mark.slow
def test_load_gan_prefers_checkpoints_newer_than_model_keras(tmp_path, tiny_npz):
    _, run_dir = train(_options(tmp_path, tiny_npz, epochs=1, run_dir=str(tmp_path / "r")), verbose=0)
    train(_options(tmp_path, tiny_npz, epochs=2, run_dir=str(tmp_path / "r")), verbose=0)
    (run_dir / "model.keras").unlink()
    _, _ = train(_options(tmp_path, tiny_npz, epochs=1, run_dir=str(tmp_path / "s")), verbose=0)
    import os
    import shutil

    shutil.copy(tmp_path / "s" / "model.keras", run_dir / "model.keras")  # an older, 1-epoch model.keras
    os.utime(run_dir / "model.keras", (0, 0))
    assert load_gan(run_dir).g_optimizer.iterations.numpy() == 4  # 2 epochs from the checkpoint


def test_load_gan_rejects_other_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="must be a .keras file, a folder holding model.keras or a kgantl"):
        load_gan(tmp_path)


@pytest.mark.slow
def test_eval_every_logs_val_kid_and_keeps_the_best_model(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", images=rng.integers(0, 256, (32, 28, 28, 1)).astype(np.uint8))
    options = _options(tmp_path, tmp_path / "d.npz", image_size=28, epochs=2, eval_every=1)
    history, run_dir = train(options, verbose=0)
    assert len(history.history["val_kid"]) == 2
    best = json.loads((run_dir / "best.json").read_text())
    assert best["val_kid"] == pytest.approx(min(history.history["val_kid"]))
    assert (run_dir / "best.keras").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["finetune", "freeze_d:1", "alternate", "feature_d"])
def test_transfer_runs_take_shape_from_the_source_and_export(tmp_path, tiny_npz, tiny_source, strategy):
    # (copy_check off: with it, model.keras would hold the chosen epoch, not the last, which this test counts;
    # eval_every 0: no val_kid on held-out shots, which the rule turns on where the copy check is off)
    options = _options(tmp_path, tiny_npz, source=str(tiny_source), strategy=strategy, epochs=2, copy_check="off",
                       eval_every=0)
    history, run_dir = train(options, verbose=0)
    recorded = json.loads((run_dir / "options.json").read_text())
    assert recorded["image_size"] == 16 and recorded["latent_dim"] == 8 and recorded["strategy"] == strategy
    assert (run_dir / "saved_model" / "saved_model.pb").is_file() and (run_dir / "model.keras").is_file()
    gan = load_gan(run_dir)
    assert gan.generator.trainable and gan.discriminator.trainable  # phases leave both trainable
    # 2 epochs of 2 steps; under `alternate` each network trains in one of the two 1-epoch phases.
    updates = 2 if strategy == "alternate" else 4
    assert gan.g_optimizer.iterations.numpy() == updates and gan.d_optimizer.iterations.numpy() == updates
    # The same run opened from its checkpoint alone (architecture.json): frozen layers and optimizer slots match.
    (run_dir / "model.keras").unlink()
    from_checkpoint = load_gan(run_dir)
    assert from_checkpoint.d_optimizer.iterations.numpy() == updates
    for a, b in zip(gan.get_weights(), from_checkpoint.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_alternate_phases_follow_the_epoch_number():
    from kgantl.transfer.gan_transfer import alternating_phases

    assert list(alternating_phases(5, 2)) == [(0, 2, "discriminator"), (2, 4, "generator"), (4, 5, "discriminator")]
    assert list(alternating_phases(5, 2, initial_epoch=3)) == [(3, 4, "generator"), (4, 5, "discriminator")]


def test_bad_strategy_is_an_option_error(tmp_path, tiny_npz, tiny_source):
    with pytest.raises(ValueError, match="strategy must be one of"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), strategy="freeze_all"))
    with pytest.raises(ValueError, match="freeze_d needs K between 0 and the discriminator's 2 blocks"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), strategy="freeze_d:99"))
    with pytest.raises(ValueError, match=r"strategy says how to adapt a source GAN: give source too"):
        _options(tmp_path, tiny_npz, strategy="alternate").validate()
    assert not (tmp_path / "runs").exists()  # refused before any run directory


@pytest.mark.slow
def test_transfer_refuses_flags_the_source_decides_and_logs_resizing(tmp_path, tiny_npz, tiny_source, caplog):
    with pytest.raises(ValueError, match=r"image_size comes from the source GAN, which has 16: leave it out or "
                                         r"give 16 .* Received: image_size=28"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), image_size=28))
    with pytest.raises(ValueError, match=r"latent_dim comes from the source GAN, which has 8"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), latent_dim=32))
    with pytest.raises(ValueError, match=r"spectral_norm comes from the source GAN, which has False"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), spectral_norm=True))
    resolved = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), image_size=16))
    assert resolved.options.image_size == 16 and str(resolved.strategy) == "finetune"
    assert (resolved.options.width, resolved.options.spectral_norm) == (4, False)  # the source's, recorded
    with caplog.at_level(logging.INFO, logger="kgantl"):
        train(_options(tmp_path, tiny_npz, image_size=8, epochs=1), verbose=0)
    assert [(r.levelname, r.getMessage()) for r in caplog.records if "resizing" in r.getMessage()] == [
        ("INFO", f"resizing the 16x16 images of {tiny_npz} to 8x8")]  # what the run does as asked: progress


def test_reptile_and_conditional_transfer_through_options(tmp_path, tiny_npz, tiny_source):
    options = _options(tmp_path, tiny_npz, source=str(tiny_source), strategy="reptile", reptile_data=str(tiny_npz),
                       reptile_iterations=2, reptile_inner_steps=1, conditional=True, epochs=1)
    _, run_dir = train(options, verbose=0)
    gan = load_gan(run_dir)
    assert len(gan.generator.inputs) == 2  # an unconditional source made conditional
    assert gan.generate(2, labels=1).shape == (2, 16, 16, 1)
    with pytest.raises(ValueError, match="strategy reptile needs reptile_data"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), strategy="reptile"))


def _scripted_copy_scores(monkeypatch, scripted):
    """Make `CopyMonitor.scores` return `scripted` (copy_z, shot_kid) pairs, one per evaluation."""
    from kgantl.callbacks.copy_check import CopyMonitor

    calls = iter(scripted)

    def scores(self):
        copy_z, shot_kid = next(calls)
        return {"copy_z": copy_z, "copy_ratio": 1.0, "shot_near_copy": 0.0, "intra_diversity": 0.5,
                "shot_kid": shot_kid}

    monkeypatch.setattr(CopyMonitor, "scores", scores)


@pytest.mark.slow
def test_copy_check_keeps_the_chosen_epoch_stops_when_copying_sets_in_and_exports_the_choice(
        tmp_path, tiny_npz, tiny_source, monkeypatch):
    _scripted_copy_scores(monkeypatch, [(3.0, 0.9), (1.0, 0.4), (-3.0, 0.1), (-4.0, 0.05)])
    options = _options(tmp_path, tiny_npz, source=str(tiny_source), shots=10, epochs=8, copy_every=2,
                       copy_patience=2, run_dir=str(tmp_path / "run"))
    history, run_dir = train(options, verbose=0)
    resolved = json.loads((run_dir / "options.json").read_text())
    assert resolved["copy_check"] == "on" and resolved["eval_every"] == 0  # 10 shots: on, every shot trains
    assert len(history.history["d_loss"]) == 4  # stopped after epoch 4 of 8
    selection = json.loads((run_dir / "selection.json").read_text())
    assert selection["chosen_epoch"] == 2 and selection["stopped_epoch"] == 4
    assert [json.loads(line)["copy_z"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == \
        [3.0, 1.0, -3.0, -4.0]
    chosen, final = load_gan(run_dir / "best.keras"), load_gan(run_dir / "model.keras")
    from kgantl.callbacks import restore_checkpoint

    last = load_gan(run_dir / "best.keras")
    assert restore_checkpoint(last, run_dir / "checkpoints", cleanup=False) == 4  # where training stopped
    for x, y in zip(chosen.get_weights(), final.get_weights()):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(final.generator.get_weights(), last.generator.get_weights()))
    from kgantl.runs.artifacts import open_generator

    exported = open_generator(run_dir / "saved_model")
    noise = np.random.default_rng(0).standard_normal((3, chosen.latent_dim)).astype("float32")
    np.testing.assert_allclose(exported.generate(noise), chosen.generate(noise=noise), atol=1e-5)
    # A kill after the stop but before model.keras: the same command finishes the run without training on.
    (run_dir / "model.keras").unlink()
    history, _ = train(options, verbose=0)
    assert history is None and (run_dir / "model.keras").is_file()


def test_a_batch_larger_than_the_data_is_warned_about(tmp_path, tiny_npz, caplog):
    from kgantl.training import resolve_training

    with caplog.at_level("WARNING", logger="kgantl"):
        resolve_training(_options(tmp_path, tiny_npz, batch_size=400))
    warned = [r for r in caplog.records if r.getMessage().startswith(
        "batch_size 400 is larger than the 40 training images: each batch repeats every image about 10 times")]
    assert [r.levelname for r in warned] == ["WARNING"]  # a real warning: the user may want another batch size
    caplog.clear()
    with caplog.at_level("WARNING", logger="kgantl"):  # the default batch over few images is the benchmarked recipe
        resolve_training(_options(tmp_path, tiny_npz, batch_size=64))
    assert "larger than" not in caplog.text


def test_the_stopping_rule_fires_on_a_provoked_ten_shot_copying_run(tmp_path, tiny_npz, tiny_source, monkeypatch):
    """From its third evaluation on, the generator the copy check samples returns the shots with a little noise
    (what a GAN pushed to copy makes): the real scores fail, and training stops after `copy_patience` failures."""
    from kgantl.callbacks.copy_check import CopyMonitor

    real_scores, evaluations = CopyMonitor.scores, []

    def provoked(self):
        evaluations.append(len(evaluations))
        if len(evaluations) <= 2:
            return real_scores(self)
        honest = self.model.generate
        rng = np.random.default_rng(len(evaluations))

        def copies(noise, labels=None):
            picks = self.shots[rng.integers(0, len(self.shots), len(noise))] / 127.5 - 1.0
            return np.clip(picks + rng.normal(0, 0.05, picks.shape), -1, 1).astype("float32")

        self.model.generate = copies
        try:
            return real_scores(self)
        finally:
            self.model.generate = honest

    monkeypatch.setattr(CopyMonitor, "scores", provoked)
    options = _options(tmp_path, tiny_npz, source=str(tiny_source), shots=10, epochs=8, copy_every=2,
                       copy_patience=2, run_dir=str(tmp_path / "run"))
    history, run_dir = train(options, verbose=0)
    selection = json.loads((run_dir / "selection.json").read_text())
    failing = [e for e in selection["evaluations"] if e["epoch"] > 2]
    assert all(e["copy_ratio"] < 0.5 for e in failing)  # real scores of copies: the test sees them
    assert selection["chosen_epoch"] == 2 and selection["stopped_epoch"] == 4
    assert len(history.history["d_loss"]) == 4  # stopped after epoch 4 of 8


def test_a_run_from_a_folder_records_which_folder_became_which_label(tmp_path):
    from PIL import Image

    for name, shade in (("boots", 40), ("sandals", 200)):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(4):
            Image.new("L", (16, 16), color=shade + i).save(tmp_path / "data" / name / f"{i}.png")
    options = TrainOptions(data=str(tmp_path / "data"), conditional=True, image_size=16, width=4, latent_dim=8,
                           batch_size=4, epochs=1, steps_per_epoch=1, run_dir=str(tmp_path / "run"))
    _, run_dir = train(options, verbose=0)
    assert json.loads((run_dir / "labels.json").read_text()) == {"0": "boots", "1": "sandals"}
