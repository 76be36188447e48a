from pathlib import Path

import numpy as np
import pytest

from kgantl.measured import few_shot_recipe, hundred_shots
from kgantl.transfer.advisor import recommend

SOURCE = Path(__file__).resolve().parents[2] / "saved_models" / "source-fmnist-0-4"


def test_distance_grows_with_domain_gap_and_a_strategy_comes_back(fake_fmnist, monkeypatch):
    monkeypatch.setattr("kgantl.transfer.advisor.FEW_SHOTS", 10)  # the fake set's 20 images per class count as many
    # In the fake data set, image i is filled with the value i % 250: classes differ in brightness only.
    near = recommend("fashion_mnist:0-4", "fashion_mnist:0-4", count=50)
    far = recommend("fashion_mnist:0", "fashion_mnist:9", count=20)
    assert near["distance"] < far["distance"]
    # Whole classes: the 100-shot grid's best fixed strategy, its backbone-free runner-up, no augmentation.
    assert (far["strategy"], far["alternative"], far["diffaugment"]) == (hundred_shots()["prior"],
                                                                         hundred_shots()["alternative"], "")
    assert "benchmarks.md" in far["evidence"] and "unlike the backbone" in far["reason"]
    assert f"on {hundred_shots()['prior_wins']} of the Fashion-MNIST benchmark's 5 100-shot cells" in far["reason"]


@pytest.mark.slow
def test_with_few_shots_the_suggestion_is_the_few_shot_recipe(fake_fmnist):
    report = recommend(str(SOURCE), "fashion_mnist:7", shots=5, count=50)  # a source GAN stands for its domain
    assert report["distance"] > 0
    assert (report["strategy"], report["diffaugment"]) == (few_shot_recipe()["strategy"],
                                                           few_shot_recipe()["diffaugment"]) != ("vision_d", "")
    assert "copies the shots" in report["reason"] and f"{few_shot_recipe()['mean_kid']:.4f}" in report["reason"]


def test_too_few_target_images(fake_fmnist):
    with pytest.raises(ValueError, match="at least 2 target images"):
        recommend("fashion_mnist:0-4", "fashion_mnist:7", shots=1, count=20)


def test_a_shipped_model_name_is_a_source_model_not_a_data_spec():
    from kgantl.transfer.advisor import _is_model

    assert _is_model("source-fmnist-0-4") and _is_model("saved_models/source-fmnist-0-4-conditional")
    assert not _is_model("fashion_mnist:0-4")


COLOUR_RECIPE = {"strategy": "vision_d", "diffaugment": "translation", "cells": 6, "mean_kid": 0.0123,
                 "mean_kid_scratch": 0.0456, "mean_kid_plain_finetune": None}


def _file_with(monkeypatch, colour):
    """kgantl/measured.json as shipped, with `colour` as its colour entry (None: none)."""
    from kgantl import measured

    shipped = {key: value for key, value in measured.measured().items() if key != "colour"}
    monkeypatch.setattr(measured, "measured", lambda: {**shipped, **({"colour": colour} if colour else {})})


@pytest.fixture
def colour_npz(tmp_path):
    """20 random 16x16 colour images of one class, as an .npz file."""
    path = tmp_path / "colour.npz"
    images = np.random.default_rng(0).integers(0, 256, (20, 16, 16, 3)).astype(np.uint8)
    np.savez(path, images=images, labels=np.zeros(20, np.int64))
    return path


def test_a_colour_run_is_told_which_benchmark_backs_its_few_shot_recipe(colour_npz, tiny_npz, monkeypatch):
    grey = few_shot_recipe()
    _file_with(monkeypatch, None)
    report = recommend(str(tiny_npz), str(colour_npz), shots=5, count=10, extractor="fmnist")
    assert (report["strategy"], report["diffaugment"]) == (grey["strategy"], grey["diffaugment"])
    assert report["reason"].startswith("no colour measurement yet, so the Fashion-MNIST benchmark's (grey images)")
    _file_with(monkeypatch, {"few_shots": COLOUR_RECIPE})
    # a grey target from a colour source trains in colour too (kgantl.image_shape.run_channels)
    for source, target in ((tiny_npz, colour_npz), (colour_npz, tiny_npz)):
        report = recommend(str(source), str(target), shots=5, count=10, extractor="fmnist")
        assert (report["strategy"], report["diffaugment"]) == ("vision_d", "translation")
        assert "colour (emoji) benchmark's 6 10-shot cells, 0.0123" in report["reason"]
        assert "0.0456 training from scratch and n/a for a plain fine-tune" in report["reason"]
        assert "Fashion-MNIST" not in report["reason"] and "colour grid" in report["evidence"]
    report = recommend(str(tiny_npz), str(tiny_npz), shots=5, count=10, extractor="fmnist")  # grey: grey recipe
    assert (report["strategy"], report["diffaugment"]) == (grey["strategy"], grey["diffaugment"])
    assert "Fashion-MNIST benchmark's" in report["reason"] and "colour" not in report["reason"]
