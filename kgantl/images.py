"""Turning model outputs into pictures: [-1, 1] floats to 8-bit, grids, enlarged for the eye, PNG files."""
import math

import numpy as np

from kgantl.io import atomic_path

# A tile's shorter side once enlarged: 3x a Fashion-MNIST image, about 2 cm on a common screen, where a 28-px
# tile is a smudge; emoji (64 px) need 2x and 96-px images none.
MIN_TILE_SIDE = 84


def to_uint8(images):
    """Quantise images in [-1, 1] to uint8 in [0, 255] (rounding, values outside clipped).

    Args:
        images: float array (..., H, W, C) in [-1, 1].

    Returns:
        uint8 array of the same shape.
    """
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(images, columns=None, padding=1):
    """Tile a batch of images into one picture.

    Args:
        images: array (N, H, W, C) in [-1, 1].
        columns: images per row (default: ceil(sqrt(N))).
        padding: pixels of black border between tiles.

    Returns:
        uint8 array (rows * (H + padding) + padding, columns * (W + padding) + padding, C).
    """
    images = to_uint8(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C). Received: shape={images.shape}")
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, channels), np.uint8)
    for i, image in enumerate(images):
        top = padding + (i // columns) * (height + padding)
        left = padding + (i % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def save_png(path, picture):
    """Write a uint8 (H, W, 1|3) array as a PNG, atomically."""
    from PIL import Image

    picture = np.asarray(picture)
    mode_image = Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
    with atomic_path(path) as tmp:
        mode_image.save(tmp, format="PNG")


def default_scale(tile_side, min_side=MIN_TILE_SIDE):
    """The smallest integer factor that makes a tile at least `min_side` pixels on its shorter side.

    Args:
        tile_side: the tile's shorter side in pixels (a positive integer).
        min_side: the shorter side wanted after enlarging.

    Returns:
        An int >= 1: 3 for 28-px tiles, 11 for 8 px, 2 for 64 px, 1 for 96 px or more.

    Example:
        >>> default_scale(28)
        3
    """
    if isinstance(tile_side, bool) or not isinstance(tile_side, (int, np.integer)) or tile_side < 1:
        raise ValueError(f"tile_side must be a positive integer number of pixels. Received: tile_side={tile_side!r}")
    return max(1, -(-int(min_side) // int(tile_side)))  # ceiling division, exact for integers


def upscale(picture, factor):
    """Enlarge a picture by an integer factor, each pixel becoming a factor x factor block (nearest neighbour).

    Nearest neighbour keeps every generated pixel as it was, only bigger: smoothing would hide exactly the
    artefacts a person looks at samples to find.

    Args:
        picture: array (H, W) or (H, W, C), e.g. from `make_grid`.
        factor: positive integer; 1 returns the picture unchanged.

    Returns:
        Array (H * factor, W * factor[, C]) of the same dtype.

    Example:
        >>> upscale(np.zeros((29, 30, 1), np.uint8), 3).shape  # a 28-px tile and its 1-px border, 3x
        (87, 90, 1)
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be a positive integer. Received: factor={factor!r}")
    picture = np.asarray(picture)
    return picture if factor == 1 else picture.repeat(factor, axis=0).repeat(factor, axis=1)


def _title_font(size):
    """Pillow's bundled scalable font at `size` px; without FreeType (or on Pillow < 10.1), its fixed bitmap font.

    Both ship inside Pillow, so titles never need a font file or a download.
    """
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):  # no FreeType: ImportError; Pillow < 10.1 takes no size: TypeError
        return ImageFont.load_default()


def labelled_panels(panels, titles, padding=4, title_height=None, font_size=16):
    """Put pictures side by side, each under a one-line title (for comparing models by eye).

    A panel's column is as wide as the wider of the panel and its title, so titles never run into each other.

    Args:
        panels: uint8 arrays (H_i, W_i, C) with the same channel count, e.g. from `make_grid`.
        titles: one string per panel, drawn in black above it on white.
        padding: white pixels between and around the panels.
        title_height: pixels of the title strip, at least (default and minimum: the font's line height plus a
            gap of a quarter of the font size, so no title is cut off).
        font_size: pixel size of the titles' font (Pillow's bundled scalable font; its fixed 11-px bitmap
            font where Pillow lacks FreeType).

    Returns:
        uint8 array (padding + strip + max H_i + padding, padding + sum of column widths and padding, 3).

    Example:
        >>> picture = labelled_panels([make_grid(shots), make_grid(samples)], ["the shots", "finetune"])
    """
    from PIL import Image, ImageDraw

    if len(panels) != len(titles) or not panels:
        raise ValueError(f"give one title per panel. Received: {len(panels)} panels, {len(titles)} titles")
    font = _title_font(font_size)
    strip = max(title_height or 0, font.getbbox("Ag|jy")[3] + max(2, font_size // 4))  # ascenders to descenders
    rgb = [np.repeat(p, 3, axis=-1) if p.shape[-1] == 1 else np.asarray(p) for p in panels]
    columns = [max(p.shape[1], font.getbbox(title)[2] if title else 0) for p, title in zip(rgb, titles)]
    height = padding + strip + max(p.shape[0] for p in rgb) + padding
    width = padding + sum(column + padding for column in columns)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    left = padding
    for picture, title, column in zip(rgb, titles, columns):
        draw.text((left, padding), title, fill="black", font=font)
        canvas.paste(Image.fromarray(picture.astype(np.uint8)), (left, padding + strip))
        left += column + padding
    return np.asarray(canvas)
