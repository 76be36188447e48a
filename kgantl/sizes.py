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


# The largest image side a new GAN takes from its data without being told: the largest size kgantl's tests train
# (a design choice: a 128x128 GAN already takes hours of CPU per thousand steps; larger needs --image-size).
MAX_DEFAULT_SIZE = 128
# Shrinking images by more than this factor (a side's ratio) loses detail a user may not expect: kgantl does it only
# when the size was given explicitly (`image_size`), never by a default.
MAX_IMPLICIT_SHRINK = 2.0


def builder_sizes(largest=MAX_DEFAULT_SIZE):
    """Every image side the builders take, up to `largest`, ascending (8, 14, 16, 28, 32, 56, 64, 112, 128)."""
    return sorted(base * 2 ** k for base in (4, 7) for k in range(1, 16) if base * 2 ** k <= largest)


def size_for_data(height, width):
    """The image side a new GAN trains at when none is given: the builder size nearest the data's larger side.

    Nearest on a log scale (ratio, not difference: 20 px goes to 16, not 28), ties to the larger, at most
    `MAX_DEFAULT_SIZE`. The caller refuses a default that shrinks the data by more than `MAX_IMPLICIT_SHRINK`.

    Args:
        height: the data's image height.
        width: the data's image width.

    Returns:
        int, a side `upsampling_plan` takes.

    Example:
        >>> size_for_data(64, 64), size_for_data(8, 8), size_for_data(40, 40), size_for_data(500, 375)
        (64, 8, 32, 128)
    """
    side = max(int(height), int(width))
    return min(builder_sizes(), key=lambda size: (abs(math.log(size / side)), -size))


def shrink_factor(height, width, size):
    """How many times smaller the data's larger side becomes at `size` (below 1: the images grow)."""
    return max(int(height), int(width)) / size


__all__ = ["MAX_DEFAULT_SIZE", "MAX_IMPLICIT_SHRINK", "MAX_WIDTH_MULTIPLIER", "builder_sizes", "shrink_factor",
           "size_for_data", "upsampling_plan"]
