"""Which image sizes kgantl's generator and discriminator builders take, and how they reach them.

Kept apart from the builders (and free of TensorFlow) so that `kgantl.config` can check an `image_size` option
without importing the networks above it.
"""
import math

MAX_WIDTH_MULTIPLIER = 8


def upsampling_plan(resolution):
    """Split a resolution into a base grid and a number of 2x up/down-sampling stages.

    Args:
        resolution: image side, 4 or 7 times a power of two, at least 8 (8, 14, 16, 28, 32, 56, 64, ...).

    Returns:
        `(base, stages)` with `base * 2**stages == resolution`.
    """
    if isinstance(resolution, int) and not isinstance(resolution, bool):
        for base in (7, 4):
            ratio = resolution // base
            if resolution % base == 0 and ratio >= 2 and ratio & (ratio - 1) == 0:
                return base, int(math.log2(ratio))
    raise ValueError(
        "resolution must be 4 or 7 times a power of two and at least 8 (e.g. 8, 16, 28, 32, 64). "
        f"Received: resolution={resolution!r}"
    )


__all__ = ["MAX_WIDTH_MULTIPLIER", "upsampling_plan"]
