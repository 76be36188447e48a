"""A classifier is scored on images it did not train on, whatever the data spec (kgantl.classifier.finetune)."""
import json

import numpy as np
import pytest

from kgantl.classifier.finetune import finetune_classifier, train_and_test
from kgantl.classifier.schedule import Stage


@pytest.fixture
def folder(tmp_path):
    """Two classes of 10 distinct 16x16 colour images each: every image differs, so overlap is visible."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(
                tmp_path / "photos" / name / f"{i}.png")
    return tmp_path / "photos"


def _rows(arrays):
    return {image.tobytes() for image in arrays.images}


@pytest.mark.parametrize("shots", [None, 3, 9])
def test_no_training_image_is_in_the_test_set_of_a_folder(folder, shots):
    train, test, rule = train_and_test(str(folder), shots=shots, seed=1)
    assert not _rows(train) & _rows(test)
    assert len(train.labels) + len(test.labels) == 20
    assert set(test.labels.tolist()) == {0, 1}  # every class is tested
    assert (shots is None and "last 2 image(s) of each class" in rule) or f"{shots} per class" in rule


def test_a_folder_with_too_few_images_asks_for_test_data(folder):
    with pytest.raises(ValueError, match="no image left to test on"):
        train_and_test(str(folder), shots=10)


def test_the_report_says_which_images_were_the_test_set(folder, tmp_path):
    report, run_dir = finetune_classifier(str(folder), "mobilenet_v2", [Stage(1, 0, 1e-3)], shots=4, weights=None,
                                          runs_root=str(tmp_path / "runs"), verbose=0)
    assert report["test_set"]["images"] == 12 and report["test_set"]["train_images"] == 8
    assert "did not pick for training" in json.loads((run_dir / "report.json").read_text())["test_set"]["rule"]
