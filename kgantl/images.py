"""Turning model outputs into pictures: [-1, 1] floats to 8-bit, grids, PNG files."""
import math

import numpy as np

from kgantl.io import atomic_path


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


def labelled_panels(panels, titles, padding=4, title_height=14):
    """Put pictures side by side, each under a one-line title (for comparing models by eye).

    Args:
        panels: uint8 arrays (H_i, W_i, C) with the same channel count, e.g. from `make_grid`.
        titles: one string per panel, drawn in black above it on white.
        padding: white pixels between and around the panels.
        title_height: pixels of the title strip.

    Returns:
        uint8 array (padding + title_height + max H_i + padding, sum of widths and padding, 3).

    Example:
        >>> picture = labelled_panels([make_grid(shots), make_grid(samples)], ["the shots", "finetune"])
    """
    from PIL import Image, ImageDraw

    if len(panels) != len(titles) or not panels:
        raise ValueError(f"give one title per panel. Received: {len(panels)} panels, {len(titles)} titles")
    rgb = [np.repeat(p, 3, axis=-1) if p.shape[-1] == 1 else np.asarray(p) for p in panels]
    height = padding + title_height + max(p.shape[0] for p in rgb) + padding
    width = padding + sum(p.shape[1] + padding for p in rgb)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    left = padding
    for picture, title in zip(rgb, titles):
        draw.text((left, padding), title, fill="black")  # PIL's built-in bitmap font: no font file needed
        canvas.paste(Image.fromarray(picture.astype(np.uint8)), (left, padding + title_height))
        left += picture.shape[1] + padding
    return np.asarray(canvas)
