from pathlib import Path

import pytest

from kgantl.transfer.advisor import recommend

SOURCE = Path(__file__).resolve().parents[2] / "saved_models" / "source-fmnist-0-4"


def test_distance_grows_with_domain_gap_and_a_strategy_comes_back(fake_fmnist):
    # In the fake data set, image i is filled with the value i % 250: classes differ in brightness only.
    near = recommend("fashion_mnist:0-4", "fashion_mnist:0-4", count=50)
    far = recommend("fashion_mnist:0", "fashion_mnist:9", count=20)
    assert near["distance"] < far["distance"]
    assert far["strategy"] == "vision_d" and far["alternative"] == "finetune"  # the issue-10 grid's finding
    assert "benchmarks.md" in far["evidence"] and "unlike the backbone" in far["reason"]


def test_a_source_gan_stands_for_its_domain(fake_fmnist):
    report = recommend(str(SOURCE), "fashion_mnist:7", shots=5, count=50)
    assert report["distance"] > 0 and report["strategy"] == "vision_d"


def test_too_few_target_images(fake_fmnist):
    with pytest.raises(ValueError, match="at least 2 target images"):
        recommend("fashion_mnist:0-4", "fashion_mnist:7", shots=1, count=20)


def test_a_shipped_model_name_is_a_source_model_not_a_data_spec():
    from kgantl.transfer.advisor import _is_model

    assert _is_model("source-fmnist-0-4") and _is_model("saved_models/source-fmnist-0-4-conditional")
    assert not _is_model("fashion_mnist:0-4")
