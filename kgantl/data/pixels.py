"""Pixel conversions the image loaders share (a folder's files, the emoji packages), kept apart so that neither
loader imports the other."""


def onto_white(image):
    """`image` (a PIL image with transparency) composited onto an opaque white background, as RGBA.

    Example:
        >>> onto_white(Image.new("RGBA", (2, 2), (0, 0, 255, 0))).getpixel((0, 0))
        (255, 255, 255, 255)
    """
    from PIL import Image

    flat = Image.new("RGBA", image.size, (255, 255, 255, 255))
    flat.alpha_composite(image.convert("RGBA"))
    return flat


__all__ = ["onto_white"]
