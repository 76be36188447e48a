"""A user's colour images end to end at 64x64, on tiny data and tiny networks: a colour source trained with no size
flag, transferred to another colour folder (train, evaluate, compare, export, the SavedModel served without
kgantl), and a grayscale source transferred to the same folder by the expansion rule."""
import json

import numpy as np
import pytest
from PIL import Image

from kgantl.cli import main

SMALL = ["--width", "4", "--latent-dim", "8", "--batch-size", "8", "--steps-per-epoch", "2"]


def _folder(root, hue, count=12):
    """`count` 64x64 RGB PNGs: a coloured disc of channel `hue` on white, at shifting places."""
    root.mkdir(parents=True)
    yy, xx = np.mgrid[:64, :64]
    for i in range(count):
        pixels = np.full((64, 64, 3), 255, np.uint8)
        disc = (yy - 24 - i) ** 2 + (xx - 40 + i) ** 2 < 150
        pixels[disc] = 40
        pixels[disc, hue] = 220
        Image.fromarray(pixels).save(root / f"{i:02d}.png")
    return root


@pytest.fixture
def folders(tmp_path):
    return _folder(tmp_path / "red", 0), _folder(tmp_path / "blue", 2)


def _served(saved_model, latent_dim):
    """Images from the exported SavedModel through its `serve` signature, as a user without kgantl calls it."""
    import tensorflow as tf

    model = tf.saved_model.load(str(saved_model))
    return model.serve(noise=tf.random.normal((4, latent_dim), seed=1))["images"].numpy()


def test_a_colour_source_transfers_to_a_colour_folder_at_64(tmp_path, folders, capsys):
    red, blue = folders
    source, target = tmp_path / "source", tmp_path / "target"
    assert main(["train", "--data", str(red), "--steps", "4", "--run-dir", str(source), *SMALL]) == 0
    assert json.loads((source / "options.json").read_text())["image_size"] == 64  # no size flag: the data's
    assert main(["transfer", "--source", str(source), "--target", str(blue), "--steps", "4", "--copy-every", "2",
                 "--run-dir", str(target), "--batch-size", "8", "--steps-per-epoch", "2"]) == 0
    options = json.loads((target / "options.json").read_text())
    assert (options["image_size"], options["channels"], options["eval_extractor"]) == (64, 3, "noto")
    assert options["copy_check"] == "on"  # 12 shots: the copy check watched, in the colour extractor's features
    scored = [json.loads(line) for line in (target / "metrics.jsonl").read_text().splitlines()]
    assert all("copy_z" in record for record in scored)
    capsys.readouterr()
    assert main(["evaluate", str(target), "--ref", str(blue), "--n", "12", "--runs-root", str(tmp_path / "r")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["extractor"] == "noto" and report["protocol"].startswith("noto_")
    assert main(["compare", str(source), str(target), "--names", "source", "transfer", "--shots-from", str(blue),
                 "--n", "4", "--out", str(tmp_path / "compare.png")]) == 0
    picture = np.asarray(Image.open(tmp_path / "compare.png"))
    assert picture.ndim == 3 and picture.shape[2] == 3 and picture.shape[1] > 3 * 64 * 2  # three 2x2 panels of 64 px
    assert main(["export", str(target), "--out", str(tmp_path / "exported")]) == 0
    images = _served(tmp_path / "exported", 8)
    assert images.shape == (4, 64, 64, 3) and np.abs(images).max() <= 1.0


def test_a_grayscale_source_is_expanded_for_a_colour_folder(tmp_path, folders, capsys):
    red, blue = folders
    grey, target = tmp_path / "grey", tmp_path / "target"
    assert main(["train", "--data", str(red), "--channels", "1", "--steps", "2", "--run-dir", str(grey), *SMALL]) == 0
    capsys.readouterr()
    assert main(["transfer", "--source", str(grey), "--target", str(blue), "--dry-run",
                 "--runs-root", str(tmp_path / "none")]) == 0
    err = capsys.readouterr().err
    assert "at 64x64 colour (3 channels)" in err and "expanded from grayscale to colour" in err
    assert main(["transfer", "--source", str(grey), "--target", str(blue), "--steps", "2", "--copy-check", "off",
                 "--run-dir", str(target), "--batch-size", "8", "--steps-per-epoch", "2"]) == 0
    assert main(["generate", str(target), "--n", "4", "--out", str(tmp_path / "g.npz")]) == 0
    with np.load(tmp_path / "g.npz") as saved:
        assert saved["images"].shape == (4, 64, 64, 3)
