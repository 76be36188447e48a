import json

import pytest

from kgantl.config import TrainOptions
from kgantl.export import export_keras
from kgantl.models import GAN, build_discriminator, build_generator
from kgantl.transfer import auto
from kgantl.training import resolve_training, train


def test_choose_takes_the_lowest_validation_kid_then_the_higher_recall():
    rows = [{"strategy": "a", "kid": 0.3, "recall": 0.9}, {"strategy": "b", "kid": 0.1, "recall": 0.1},
            {"strategy": "c", "kid": 0.1, "recall": 0.4}]
    assert auto.choose(rows)["strategy"] == "c"
    with pytest.raises(ValueError, match="at least one candidate"):
        auto.choose([])


def test_the_prior_is_kept_unless_a_candidate_beats_it_by_more_than_the_noise_of_the_difference():
    # Leave-one-out KIDs over 4 validation images: b's lead over the prior (0.02) moves with the left-out image.
    prior = {"strategy": "prior", "kid": 0.30, "recall": 0.2, "kid_leave_one_out": [0.30, 0.30, 0.30, 0.30]}
    noisy = {"strategy": "b", "kid": 0.28, "recall": 0.2, "kid_leave_one_out": [0.20, 0.36, 0.24, 0.32]}
    assert auto.difference_noise(noisy, prior) > 0.02
    assert auto.choose([noisy, prior], prior="prior")["strategy"] == "prior"
    steady = {**noisy, "kid_leave_one_out": [0.275, 0.285, 0.28, 0.28]}  # the same lead, consistently
    assert auto.difference_noise(steady, prior) * auto.NOISE_MULTIPLE < 0.02
    assert auto.choose([steady, prior], prior="prior")["strategy"] == "b"
    assert auto.choose([noisy, prior])["strategy"] == "b"  # no prior: the lowest KID
    assert auto.choose([noisy, prior], prior="absent")["strategy"] == "b"


@pytest.fixture
def source(tmp_path):
    gan = GAN(build_generator(16, 1, 8, width=4, seed=0), build_discriminator(16, 1, width=4, seed=1))
    return export_keras(gan, tmp_path / "source" / "model.keras")


def _options(tmp_path, tiny_npz, source, name):
    return TrainOptions(data=str(tiny_npz), shots=10, source=str(source), strategy="auto", pilot_steps=1,
                        batch_size=8, epochs=1, steps_per_epoch=1, run_dir=str(tmp_path / name), copy_check="off",
                        eval_every=0)  # no val_kid: the final run trains on every shot (kgantl's rule turns it on)


@pytest.mark.slow
def test_auto_picks_the_candidate_its_pilots_score_best_and_the_pick_follows_the_scores(tmp_path, tiny_npz, source,
                                                                                       monkeypatch):
    scored = []

    def stub_scores(kids):
        def score(model_path, validation_file, train_images, seed=0, extractor="fmnist"):
            strategy = {c.replace(":", "_").replace("+", "-"): c for c in auto.CANDIDATES}[model_path.parent.name]
            scored.append((strategy, len(train_images)))
            return {"kid": kids[strategy], "recall": 0.5, "near_copy_share": 0.0}
        return score

    kids = {c: 1.0 for c in auto.CANDIDATES}
    monkeypatch.setattr(auto, "score_pilot", stub_scores({**kids, "vision_d": 0.2}))
    _, run_dir = train(_options(tmp_path, tiny_npz, source, "first"), verbose=0)
    table = json.loads((run_dir / "pilot.json").read_text())
    assert table["prior"] == auto.PRIOR and table["chosen"] == "vision_d"
    assert [r["strategy"] for r in table["rows"]] == list(auto.CANDIDATES)
    assert table["validation_images"] == 4 and {n for _, n in scored} == {16}  # validation never trains
    assert json.loads((run_dir / "options.json").read_text())["strategy"] == "auto"
    pilot_backbones = {c: json.loads((run_dir / "pilots" / c.replace(":", "_").replace("+", "-") / "options.json")
                                     .read_text())["backbone"] for c in auto.CANDIDATES}
    # Only the pilots whose strategy builds on a backbone are given one (a pilot's resolver refuses an unused one).
    assert pilot_backbones == {c: "fmnist-0-4-backbone" if "vision_d" in c else None for c in auto.CANDIDATES}

    monkeypatch.setattr(auto, "score_pilot", stub_scores({**kids, "freeze_d:1": 0.2}))
    _, other = train(_options(tmp_path, tiny_npz, source, "second"), verbose=0)
    assert json.loads((other / "pilot.json").read_text())["chosen"] == "freeze_d:1"

    scored.clear()
    (run_dir / "model.keras").unlink()  # killed before the end: the re-run reads its pilot table back
    train(_options(tmp_path, tiny_npz, source, "first"), verbose=0)
    assert scored == []


def test_auto_dry_run_checks_without_pilots(tmp_path, tiny_npz, source):
    resolved = resolve_training(_options(tmp_path, tiny_npz, source, "dry"))
    assert resolved.strategy.is_auto and len(resolved.reference.images) == 4
    assert not (tmp_path / "dry").exists()
    with pytest.raises(ValueError, match="auto chooses among composed strategies itself"):
        resolve_training(TrainOptions(data=str(tiny_npz), source=str(source), strategy="auto+cdc"))


@pytest.mark.slow
def test_the_final_run_trains_on_every_shot_unless_val_kid_needs_the_validation_shots(tmp_path, tiny_npz, source):
    import dataclasses

    options = _options(tmp_path, tiny_npz, source, "refit")
    resolved = resolve_training(options)
    assert len(resolved.pilot_arrays.images) == 16 and len(resolved.arrays.images) == 20  # pilots: 4 held out
    monitored = resolve_training(dataclasses.replace(options, eval_every=1))
    assert len(monitored.pilot_arrays.images) == 16 and len(monitored.arrays.images) == 16
    plain = resolve_training(dataclasses.replace(options, strategy="finetune", eval_every=1))
    assert plain.pilot_arrays is None and len(plain.arrays.images) == 16


def test_a_pilot_is_scored_on_as_few_as_two_validation_images(tmp_path, source):
    import numpy as np

    images = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 1)).astype(np.uint8)
    np.savez(tmp_path / "validation.npz", images=images[:2], labels=np.zeros(2, int))
    scores = auto.score_pilot(source, tmp_path / "validation.npz", images[2:])
    assert np.isfinite(scores["kid"]) and 0.0 <= scores["recall"] <= 1.0 and 0.0 <= scores["near_copy_share"] <= 1.0
    assert scores["kid_leave_one_out"] is None  # two validation images: no jackknife, so no noise estimate
    np.savez(tmp_path / "validation.npz", images=images[:3], labels=np.zeros(3, int))
    scores = auto.score_pilot(source, tmp_path / "validation.npz", images[3:])
    assert len(scores["kid_leave_one_out"]) == 3 and all(np.isfinite(scores["kid_leave_one_out"]))


@pytest.mark.slow
def test_with_few_shots_auto_scores_its_pilots_by_the_copy_check_on_every_shot(tmp_path, tiny_npz, source,
                                                                              monkeypatch):
    import dataclasses

    from kgantl.callbacks.copy_check import CopyMonitor

    # The pilots run in candidate order (kgantl/measured.json's), two evaluations each, then the final run's one.
    assert auto.CANDIDATES == ("finetune", "freeze_d:1", "vision_d", "cdc+vision_d"), "script below for these four"
    scripted = iter([(1.0, 0.5), (-3.0, 0.1),   # finetune: chooses its first (passing) evaluation
                     (2.0, 0.6), (0.5, 0.4),    # freeze_d:1: its second (latest passing), the lowest passing KID of all
                     (-4.0, 0.05), (-5.0, 0.01),  # vision_d: copies throughout: its least copying one
                     (1.5, 0.45), (-2.5, 0.2),  # cdc+vision_d: its first
                     (1.0, 0.3)])               # the final run
    trained_on = []

    def scores(self):
        trained_on.append(len(self.shots))
        copy_z, shot_kid = next(scripted)
        return {"copy_z": copy_z, "copy_ratio": 1.0, "shot_near_copy": 0.0, "intra_diversity": 0.5,
                "shot_kid": shot_kid}

    monkeypatch.setattr(CopyMonitor, "scores", scores)
    options = dataclasses.replace(_options(tmp_path, tiny_npz, source, "few"), copy_check="auto", pilot_steps=2,
                                  copy_every=1, copy_patience=0)
    _, run_dir = train(options, verbose=0)
    table = json.loads((run_dir / "pilot.json").read_text())
    assert table["chosen"] == "freeze_d:1"
    assert [(row["strategy"], row["epoch"]) for row in table["rows"]] == [("finetune", 1), ("freeze_d:1", 2),
                                                                          ("vision_d", 1), ("cdc+vision_d", 1)]
    assert table["validation_images"] == 0 and set(trained_on) == {20}  # every shot trains, pilots and final run
    assert json.loads((run_dir / "selection.json").read_text())["chosen_epoch"] == 1
