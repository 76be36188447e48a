from pathlib import Path

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
    assert f"on {hundred_shots()['prior_wins']} of the benchmark's 5 100-shot cells" in far["reason"]


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
