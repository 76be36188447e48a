"""A classifier is scored on images it did not train on, whatever the data spec (kgantl.classifier.finetune)."""
import json

import numpy as np
import pytest
from PIL import Image

from kgantl.classifier.finetune import finetune_classifier, train_and_test
from kgantl.classifier.schedule import Stage


def _random_folder(root, counts, side, seed):
    """A folder of class sub-folders (`counts`: name -> images) of distinct random colour images of `side` px."""
    rng = np.random.default_rng(seed)
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def folder(tmp_path):
    """Two classes of 10 distinct 16x16 colour images each: every image differs, so overlap is visible."""
    return _random_folder(tmp_path / "photos", {"cats": 10, "dogs": 10}, 16, seed=0)


def _rows(arrays):
    return {image.tobytes() for image in arrays.images}


@pytest.mark.parametrize("shots", [None, 3, 9])
def test_no_training_image_is_in_the_test_set_of_a_folder(folder, shots):
    train, test, rule = train_and_test(str(folder), shots=shots, seed=1)
    assert not _rows(train) & _rows(test)
    assert len(train.labels) + len(test.labels) == 20
    assert set(test.labels.tolist()) == {0, 1}  # every class is tested
    assert (shots is None and "last fifth (at least 1) of each class" in rule) or f"{shots} per class" in rule


def test_an_unbalanced_folder_trains_on_four_fifths_of_every_class_not_the_rarests_count(tmp_path):
    folder = _random_folder(tmp_path / "set", {"many": 20, "few": 3}, 8, seed=0)
    train, test, rule = train_and_test(str(folder))
    assert np.bincount(train.labels).tolist() == [2, 16] and np.bincount(test.labels).tolist() == [1, 4]
    assert not _rows(train) & _rows(test) and "5 images never trained on" in rule


def test_a_folder_with_too_few_images_asks_for_test_data(folder):
    with pytest.raises(ValueError, match="no image left to test on"):
        train_and_test(str(folder), shots=10)


def test_the_report_says_which_images_were_the_test_set(folder, tmp_path):
    report, run_dir = finetune_classifier(str(folder), "mobilenet_v2", [Stage(1, 0, 1e-3)], shots=4, weights=None,
                                          runs_root=str(tmp_path / "runs"), verbose=0)
    assert report["test_set"]["images"] == 12 and report["test_set"]["train_images"] == 8
    assert "did not pick for training" in json.loads((run_dir / "report.json").read_text())["test_set"]["rule"]


@pytest.fixture
def colour40(tmp_path):
    """Two classes of 5 distinct 40x40 colour images each, in class sub-folders."""
    return _random_folder(tmp_path / "colour40", {"red": 5, "blue": 5}, 40, seed=1)


def test_a_family_is_fed_the_data_size_and_the_report_records_it(colour40, tmp_path):
    report, run_dir = finetune_classifier(str(colour40), "mobilenet_v2", [Stage(1, 0, 1e-3)], weights=None,
                                          runs_root=str(tmp_path / "runs"), verbose=0)
    assert report["backbone_input"] == {"shape": [40, 40, 3], "rule": "the data's 40x40 images"}
    assert json.loads((run_dir / "report.json").read_text())["backbone_input"]["shape"] == [40, 40, 3]


def test_the_input_size_rule_and_flag(folder, colour40, tmp_path, capsys):
    from kgantl.classifier.finetune import prepare_finetune
    from kgantl.cli import main

    *_, small = prepare_finetune(str(folder), "mobilenet_v2", weights=None)  # 16x16 images: the family's minimum
    assert small == {"shape": [32, 32, 3], "rule": "the data's 16x16 images raised to mobilenet_v2's minimum side 32"}
    argv = ["finetune-classifier", "--data", str(colour40), "--backbone", "mobilenet_v2", "--weights", "none",
            "--runs-root", str(tmp_path / "runs"), "--dry-run"]
    assert main([*argv, "--input-size", "48"]) == 0
    assert json.loads(capsys.readouterr().out)["backbone_input"] == {"shape": [48, 48, 3], "rule": "input_size 48"}
    assert main([*argv, "--input-size", "16"]) == 2
    assert "input_size must be an integer of at least 32 for mobilenet_v2" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_keras_backbone_takes_its_own_input_and_grey_data_is_repeated_to_rgb(tmp_path, capsys):
    import keras

    from kgantl.cli import main

    images = keras.Input((24, 24, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(images)
    h = keras.layers.GlobalAveragePooling2D(name="pool")(h)
    keras.Model(images, keras.layers.Dense(2, name="classes")(h)).save(tmp_path / "rgb.keras")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "grey.npz", images=rng.integers(0, 256, (20, 40, 40, 1), dtype=np.uint8),
             labels=np.arange(20) % 2)
    argv = ["finetune-classifier", "--data", str(tmp_path / "grey.npz"), "--backbone", str(tmp_path / "rgb.keras"),
            "--dry-run"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["backbone_input"] == {
        "shape": [24, 24, 3], "rule": "the backbone's own input; grey images repeated to 3 channels"}
    assert main([*argv, "--input-size", "40"]) == 2
    assert "takes 24x24 images (its own input): leave input_size out" in capsys.readouterr().err
