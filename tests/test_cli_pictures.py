"""`kgantl generate` and `compare` pictures, measured on the shipped 28-px Fashion-MNIST source: enlarged to tiles of
at least 84 px by default, at the images' own size with --scale 1, and arrays never enlarged."""
import json

import numpy as np
import pytest
from PIL import Image

from kgantl.cli import main
from kgantl.images import make_grid, upscale

SOURCE = "source-fmnist-0-4"  # unconditional, 28 x 28 x 1


@pytest.fixture(scope="module")
def four_samples():
    """The source's 4 images for noise seed 0, in [-1, 1], as both commands draw them."""
    from kgantl.runs.artifacts import open_generator

    sampler = open_generator(SOURCE)
    noise = np.random.default_rng(0).standard_normal((4, sampler.latent_dim)).astype("float32")
    return np.asarray(sampler.generate(noise))


def _panel(picture, grid_side):
    """The one panel of a one-model `compare` picture: the last grid_side rows and columns inside the 4-px margin."""
    bottom = picture.shape[0] - 4
    return picture[bottom - grid_side:bottom, 4:4 + grid_side]


def test_compare_draws_28_px_images_as_84_px_tiles_and_scale_1_at_their_own_size(tmp_path, capsys, four_samples):
    grid = make_grid(four_samples)  # 2 x 2 tiles of 28 px with 1-px borders: 59 px
    assert main(["compare", SOURCE, "--names", "a", "--n", "4", "--out", str(tmp_path / "big.png")]) == 0
    big = np.asarray(Image.open(tmp_path / "big.png"))
    assert big.shape[1] == 4 + 3 * 59 + 4  # the panel sets the width: 3x, 28 px -> 84 px tiles, borders 3 px
    tile = (big.shape[1] - 8 - 3 * 3) // 2
    assert tile == 84
    np.testing.assert_array_equal(_panel(big, 3 * 59)[..., 0], upscale(grid, 3)[..., 0])  # each pixel a 3x3 block
    strip = big.shape[0] - 4 - 3 * 59 - 4
    assert strip >= 16  # the title's 16-px font, above the panel
    assert main(["compare", SOURCE, "--names", "a", "--n", "4", "--scale", "1",
                 "--out", str(tmp_path / "small.png")]) == 0
    small = np.asarray(Image.open(tmp_path / "small.png"))
    assert small.shape == (4 + strip + 59 + 4, 4 + 59 + 4, 3)  # the panel as it was drawn before enlarging
    np.testing.assert_array_equal(_panel(small, 59)[..., 0], grid[..., 0])
    capsys.readouterr()
    assert main(["compare", SOURCE, SOURCE, "--out", str(tmp_path / "c.png"), "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["panel_scales"] == [3, 3]


def test_generate_enlarges_the_png_and_keeps_arrays_as_generated(tmp_path, capsys, four_samples):
    assert main(["generate", SOURCE, "--n", "4", "--out", str(tmp_path / "g.png")]) == 0
    picture = np.asarray(Image.open(tmp_path / "g.png"))
    np.testing.assert_array_equal(picture, upscale(make_grid(four_samples), 3)[..., 0])  # 84-px tiles, 3-px borders
    assert main(["generate", SOURCE, "--n", "4", "--scale", "1", "--out", str(tmp_path / "own.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "own.png")).shape == (59, 59)  # the size before pictures were enlarged
    assert main(["generate", SOURCE, "--n", "4", "--scale", "5", "--out", str(tmp_path / "five.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "five.png")).shape == (5 * 59, 5 * 59)
    assert main(["generate", SOURCE, "--n", "4", "--out", str(tmp_path / "g.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), four_samples)  # (4, 28, 28, 1), in [-1, 1]
    capsys.readouterr()
    assert main(["generate", SOURCE, "--n", "4", "--out", str(tmp_path / "d.png"), "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["scale"] == 3
    assert main(["generate", SOURCE, "--n", "4", "--out", str(tmp_path / "d.npz"), "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["scale"] is None
