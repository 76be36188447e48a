import numpy as np
import pytest
from PIL import Image

from kgantl.images import default_scale, labelled_panels, make_grid, save_png, to_uint8, upscale


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


@pytest.mark.parametrize("side, factor", [(8, 11), (28, 3), (64, 2), (84, 1), (96, 1), (200, 1)])
def test_default_scale_is_the_smallest_factor_reaching_84_px(side, factor):
    assert default_scale(side) == factor
    assert side * factor >= 84 and (factor == 1 or side * (factor - 1) < 84)


@pytest.mark.parametrize("side", [0, -3, 2.5, True])
def test_default_scale_refuses_a_side_that_is_not_a_positive_integer(side):
    with pytest.raises(ValueError, match=rf"tile_side must be a positive integer number of pixels. Received: "
                                         rf"tile_side={side!r}$"):
        default_scale(side)


def test_upscale_turns_each_pixel_into_a_block():
    picture = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    big = upscale(picture, 3)
    assert big.shape == (6, 9, 1) and big.dtype == np.uint8
    for row in range(2):
        for column in range(3):
            assert (big[3 * row:3 * row + 3, 3 * column:3 * column + 3] == picture[row, column]).all()
    np.testing.assert_array_equal(upscale(picture, 1), picture)
    np.testing.assert_array_equal(upscale(picture[..., 0], np.int64(2)), big[::3, ::3, 0].repeat(2, 0).repeat(2, 1))
    for factor in (0, -2, 1.5):
        with pytest.raises(ValueError, match=rf"factor must be a positive integer. Received: factor={factor!r}$"):
            upscale(picture, factor)


def _title_rows(picture, strip, left, right):
    """Rows of the title strip (below the 2-px padding) with ink between columns left and right."""
    return np.where((picture[2:2 + strip, left:right] < 128).any(axis=(1, 2)))[0]


def test_labelled_panels_places_each_picture_under_its_title():
    dark, light = np.zeros((6, 40, 1), np.uint8), np.full((3, 50, 3), 200, np.uint8)
    picture = labelled_panels([dark, light], ["Ag", "bb"], padding=2)
    strip = picture.shape[0] - (2 + 6 + 2)
    assert strip >= 16 + 4  # a 16-px font and its gap
    assert picture.shape == (2 + strip + 6 + 2, 2 + 40 + 2 + 50 + 2, 3)
    top = 2 + strip
    assert (picture[top:top + 6, 2:42] == 0).all()  # the gray panel, widened to RGB, below the title strip
    assert (picture[top:top + 3, 44:94] == 200).all() and (picture[top + 3:top + 6, 44:94] == 255).all()
    ink = _title_rows(picture, strip, 2, 42)
    assert ink.max() - ink.min() >= 12  # 'A' to the tail of 'g': legible, not the 8-px bitmap glyphs
    assert (picture[top - 2:top, 2:42] == 255).all()  # white between the tail of 'g' and the panel: nothing cut
    assert _title_rows(picture, strip, 44, 94).size  # the second title, over its own panel
    with pytest.raises(ValueError, match="give one title per panel. Received: 2 panels, 1 titles"):
        labelled_panels([dark, light], ["a"])


def test_a_title_wider_than_its_panel_widens_its_column():
    narrow, wide = np.zeros((5, 4, 3), np.uint8), np.zeros((5, 30, 3), np.uint8)
    picture = labelled_panels([narrow, wide], ["a long title for a small panel", "b"], padding=2)
    strip = picture.shape[0] - (2 + 5 + 2)
    dark_columns = np.where((picture[2 + strip:2 + strip + 5] == 0).all(axis=(0, 2)))[0]
    second = dark_columns[dark_columns > 6].min()  # where the second panel starts
    assert second > 100 and (picture[2 + strip:, 6:second - 2] == 255).all()  # the first title's width, blank below
    assert picture.shape[1] == second + 30 + 2  # the second column: its panel, wider than "b"


def test_labelled_panels_fall_back_to_the_bitmap_font_without_freetype(monkeypatch):
    from PIL import ImageFont

    bitmap = ImageFont.load_default_imagefont()

    def without_freetype(size=None):
        if size is not None:  # what Pillow does when built without FreeType
            raise ImportError("The _imagingft C module is not installed")
        return bitmap

    monkeypatch.setattr(ImageFont, "load_default", without_freetype)
    picture = labelled_panels([np.zeros((6, 40, 1), np.uint8)], ["Ag"], padding=2)
    strip = picture.shape[0] - (2 + 6 + 2)
    assert strip == bitmap.getbbox("Ag|jy")[3] + 4  # the strip follows the smaller font
    assert _title_rows(picture, strip, 2, 42).size
    assert labelled_panels([np.zeros((6, 40, 1), np.uint8)], ["Ag"], padding=2, title_height=30).shape[0] == 40
