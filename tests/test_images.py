import numpy as np
import pytest
from PIL import Image

from kgantl.images import make_grid, save_png, to_uint8


def test_to_uint8_rounds_and_clips():
    np.testing.assert_array_equal(to_uint8(np.array([-2.0, -1.0, 0.0, 1.0, 3.0])), [0, 0, 128, 255, 255])


def test_grid_layout_and_padding():
    images = np.stack([np.full((4, 4, 1), v) for v in (-1.0, 1.0, 1.0)])
    grid = make_grid(images, columns=2, padding=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == 255 and grid[6, 1, 0] == 255 and grid[6, 6, 0] == 0
    with pytest.raises(ValueError, match=r"images must have shape \(N, H, W, C\)"):
        make_grid(np.zeros((4, 4)))


def test_save_png_gray_and_rgb(tmp_path):
    save_png(tmp_path / "g.png", np.zeros((3, 5, 1), np.uint8))
    save_png(tmp_path / "c.png", np.zeros((3, 5, 3), np.uint8))
    assert Image.open(tmp_path / "g.png").mode == "L" and Image.open(tmp_path / "c.png").mode == "RGB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "g.png"]


def test_labelled_panels_places_each_picture_under_its_title():
    from kgantl.images import labelled_panels

    dark, light = np.zeros((6, 4, 1), np.uint8), np.full((3, 5, 3), 200, np.uint8)
    picture = labelled_panels([dark, light], ["a", "bb"], padding=2, title_height=10)
    assert picture.shape == (2 + 10 + 6 + 2, 2 + 4 + 2 + 5 + 2, 3)
    assert (picture[12:18, 2:6] == 0).all()  # the gray panel, widened to RGB, below the title strip
    assert (picture[12:15, 8:13] == 200).all() and (picture[15:18, 8:13] == 255).all()  # shorter panel on white
    assert (picture[:12, 2:6] < 255).any()  # some title ink
    with pytest.raises(ValueError, match="give one title per panel. Received: 2 panels, 1 titles"):
        labelled_panels([dark, light], ["a"])
