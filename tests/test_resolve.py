"""The resolver (`kgantl.resolve`) is the one place defaults are decided: `kgantl transfer` and `kgantl train` (their
`--dry-run` JSON, what options.json records) resolve exactly what `kgantl.train(TrainOptions(...))` does for the
same inputs, each option left unset on both sides.
"""
import json

import numpy as np
import pytest
from PIL import Image

from kgantl.cli import main
from kgantl.config import FEW_SHOTS, TrainOptions
from kgantl.resolve import resolve_training


@pytest.fixture
def hundred_npz(tmp_path):
    """200 random 16x16 grayscale images, 100 of each of 2 classes (above FEW_SHOTS)."""
    path = tmp_path / "hundred.npz"
    images = np.random.default_rng(1).integers(0, 256, (200, 16, 16, 1)).astype(np.uint8)
    np.savez(path, images=images, labels=np.arange(200) % 2)
    return path


@pytest.fixture
def image_folder(tmp_path):
    """A folder of 16x16 grey PNGs in two sub-folders (classes) of 35 each, above FEW_SHOTS."""
    rng = np.random.default_rng(2)
    for name in ("boots", "sandals"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(35):
            pixels = rng.integers(0, 256, (16, 16)).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "photos" / name / f"{i}.png")
    return tmp_path / "photos"


def _both_ways(capsys, tmp_path, argv, **fields):
    """`(CLI --dry-run's options, the Python resolver's)` as JSON values, for a command and the same fields."""
    runs_root = str(tmp_path / "runs")
    assert main([*argv, "--runs-root", runs_root, "--dry-run"]) == 0
    cli = json.loads(capsys.readouterr().out)
    python = resolve_training(TrainOptions(**fields, runs_root=runs_root)).options.to_dict()
    return cli, json.loads(json.dumps(python))


def test_transfer_and_the_python_api_resolve_the_same_options(capsys, tmp_path, tiny_npz, tiny_source, hundred_npz,
                                                              image_folder):
    source = str(tiny_source)
    cases = {
        "10 shots": (["transfer", "--target", str(tiny_npz), "--shots", "10", "--source", source],
                     dict(data=str(tiny_npz), shots=10, source=source)),
        "100 shots": (["transfer", "--target", str(hundred_npz), "--shots", "100", "--source", source],
                      dict(data=str(hundred_npz), shots=100, source=source)),
        "a folder, no shots": (["transfer", "--target", str(image_folder), "--source", source],
                               dict(data=str(image_folder), source=source)),
        "train": (["train", "--data", str(hundred_npz), "--shots", "100"], dict(data=str(hundred_npz), shots=100)),
    }
    resolved = {}
    for name, (argv, fields) in cases.items():
        cli, python = _both_ways(capsys, tmp_path, argv, **fields)
        assert cli == python, name
        resolved[name] = python
    # What the rule decides, the same either way: at most FEW_SHOTS images the copy check chooses best.keras and
    # every shot trains; above, val_kid on a held-out fifth keeps best.keras; a new GAN trains on every image.
    assert (resolved["10 shots"]["copy_check"], resolved["10 shots"]["eval_every"]) == ("on", 0)
    assert resolved["10 shots"]["val_per_class"] is None
    for name, held_out in (("100 shots", 20), ("a folder, no shots", 7)):
        assert (resolved[name]["copy_check"], resolved[name]["eval_every"]) == ("off", 1), name
        assert resolved[name]["val_per_class"] == held_out, name
    assert (resolved["train"]["copy_check"], resolved["train"]["eval_every"]) == ("off", 0)
    assert resolved["train"]["val_per_class"] is None
    assert 100 > FEW_SHOTS >= 10  # the cases sit either side of the rule


def test_the_readme_example_is_what_kgantl_transfer_runs(capsys, tmp_path):
    """README, "In Python": `kgantl.train(TrainOptions(...))` says it runs what `kgantl transfer` does; so it does,
    at 10 shots and above FEW_SHOTS (100)."""
    from kgantl.data.fashion_mnist import data_files

    if data_files("train") is None:
        pytest.skip("Fashion-MNIST is not on this machine (make data installs it from Debian)")
    for shots in (10, 100):
        run_dir = str(tmp_path / f"sneakers-{shots}")
        cli, python = _both_ways(
            capsys, tmp_path, ["transfer", "--target", "fashion_mnist:7", "--shots", str(shots), "--source",
                               "source-fmnist-0-4", "--epochs", "20", "--steps-per-epoch", "50", "--run-dir", run_dir],
            data="fashion_mnist:7", shots=shots, source="source-fmnist-0-4", epochs=20, steps_per_epoch=50,
            run_dir=run_dir)
        assert cli == python, shots
        assert python["eval_every"] == (0 if shots <= FEW_SHOTS else 1)


def test_an_unset_eval_every_keeps_what_a_trained_run_folder_recorded(tmp_path, hundred_npz, tiny_source):
    """A transfer that `kgantl.train` started above FEW_SHOTS images before issue 36 recorded eval_every 0 (its
    default then); the same code resumes it as it ran. A folder that trained nothing takes kgantl's rule."""
    run_dir = tmp_path / "run"
    options = TrainOptions(data=str(hundred_npz), shots=100, source=str(tiny_source), run_dir=str(run_dir))
    run_dir.mkdir()
    (run_dir / "options.json").write_text(json.dumps({"eval_every": 0}))
    untrained = resolve_training(options).options
    assert untrained.eval_every == 1 and untrained.val_per_class == 20
    (run_dir / "model.keras").write_bytes(b"")  # what a finished run leaves: it trained
    trained = resolve_training(options).options
    assert trained.eval_every == 0 and trained.val_per_class is None
    given = resolve_training(TrainOptions(**{**options.to_dict(), "eval_every": 2})).options
    assert given.eval_every == 2  # a value given wins over the folder's, as before
