import json

import numpy as np
import pytest

from kgantl.augment import AugmentSettings, split_validation
from kgantl.augment.experiment import CLASSIC, verdict
from kgantl.cli import main
from kgantl.data import load_arrays

BACKBONE = "saved_models/fmnist-0-4-backbone"
SOURCE = "saved_models/source-fmnist-0-4-conditional"


def test_validation_images_come_out_of_the_shots_per_class(fake_fmnist):
    arrays = load_arrays("fashion_mnist:5-9", shots=5, seed=0)
    train, val = split_validation(arrays, 2)
    assert np.bincount(val.labels, minlength=10)[5:].tolist() == [2] * 5
    assert np.bincount(train.labels, minlength=10)[5:].tolist() == [3] * 5
    # Disjoint, and together exactly the shots (fake images are numbered by their pixel value).
    ids = lambda a: set(a.images[:, 0, 0, 0].tolist())  # noqa: E731
    assert not ids(train) & ids(val) and ids(train) | ids(val) == ids(arrays)


@pytest.mark.parametrize("changes, message", [
    ({"ratios": (0.25, 0.5)}, "ratios must include 0"),
    ({"ratios": (0, 1.5)}, r"ratios must be numbers in \[0, 1\]"),
    ({"shots": 1}, "shots must be an integer >= 2"),
    ({"val_per_class": 10}, r"val_per_class must be in 1..shots-1 \(9\)"),
    ({"filter_threshold": 2.0}, r"filter_threshold must be in \[0, 1\]"),
    ({"gan_steps": 0}, "gan_steps must be a positive integer"),
    ({"stages": "40:0"}, "stages must look like EPOCHS:TRAINABLE:LR"),
    ({"seeds": ()}, "seeds must be distinct integers, at least one"),
    ({"seeds": (0, 0)}, "seeds must be distinct integers"),
    ({"ratios": (0, 0.5, 0.5)}, "ratios must be distinct"),
    ({"val_per_class": 1.5}, "val_per_class must be in 1..shots-1"),
])
def test_bad_settings_are_refused_before_anything_trains(changes, message):
    with pytest.raises(ValueError, match=message):
        AugmentSettings(**{"data": "fashion_mnist:5-9", "shots": 10, "backbone": BACKBONE, **changes}).validate()


def _seed(real, chosen, chosen_ratio=0.5):
    return {"rows": [{"method": "ratio 0", "ratio": 0.0, "test_accuracy": real},
                     {"method": CLASSIC, "ratio": 0.0, "test_accuracy": 0.0}],
            "selected": {"ratio": chosen_ratio, "test_accuracy": chosen}}


def test_the_verdict_needs_every_seed_to_agree():
    assert verdict([_seed(0.8, 0.85), _seed(0.7, 0.71)])["effect"] == "helped"
    assert verdict([_seed(0.8, 0.75), _seed(0.7, 0.69)])["effect"] == "hurt"
    mixed = verdict([_seed(0.8, 0.9), _seed(0.7, 0.69)])
    assert mixed["effect"] == "no clear effect" and mixed["mean_gain"] == pytest.approx(0.045)
    assert "+0.1000, -0.0100" in mixed["text"]
    assert verdict([_seed(0.8, 0.9)])["effect"] == "inconclusive"  # one seed cannot say


def test_augment_command_runs_end_to_end_at_tiny_settings(fake_fmnist, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = tmp_path / "augment"
    argv = ["augment", "--data", "fashion_mnist:5-9", "--shots", "5", "--backbone", BACKBONE, "--ratios", "0,0.5",
            "--source", SOURCE, "--gan-steps", "5", "--gan-batch-size", "8", "--stages", "1:0:1e-3,1:2:1e-4",
            "--feature-layer", "flatten", "--eval-n", "50", "--filter-threshold", "0.0", "--run-dir", str(run_dir)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    report = json.loads((run_dir / "report.json").read_text())
    record = report["seeds"][0]
    assert [r["method"] for r in record["rows"]] == ["ratio 0", "ratio 0.5", CLASSIC]
    assert record["train_images"] == 20 and record["val_images"] == 5  # 1 of 5 shots per class held out
    for row in record["rows"]:
        assert 0 <= row["test_accuracy"] <= 1 and 0 <= row["test_macro_f1"] <= 1
    generated = record["rows"][1]["generated"]
    assert generated["generated"] > 0 and generated["kept_share"] == 1.0  # threshold 0 keeps everything
    assert record["selected"]["ratio"] in (0.0, 0.5)
    assert 0 <= record["gan"]["near_copy_share"] <= 1 and record["gan"]["memorisation"]["n_train"] == 20
    assert (run_dir / "seed0" / "gan" / "model.keras").is_file() and (run_dir / "seed0" / "shots.npz").is_file()
    assert report["summary"]["verdict"]["effect"] == "inconclusive"  # one seed
    assert "| ratio 0.5 |" in out and (run_dir / "report.md").read_text().strip() in out


def test_augment_command_usage_errors(capsys):
    base = ["augment", "--data", "fashion_mnist:5-9", "--shots", "10", "--backbone", BACKBONE]
    assert main(base + ["--ratios", "0,a"]) == 2
    assert "expected comma-separated float values" in capsys.readouterr().err
    assert main(base + ["--ratios", "0.5", "--dry-run"]) == 2
    assert "ratios must include 0" in capsys.readouterr().err
    assert main(base + ["--seeds", "0,1", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"] == [0, 1]
