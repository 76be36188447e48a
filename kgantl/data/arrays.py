"""`ImageArrays`, the in-memory form every data spec ends as.

Its own module so that a loader `kgantl.data.sources` dispatches to (such as `kgantl.data.emoji`) can build one
without importing `sources` back.
"""
import dataclasses

import numpy as np


@dataclasses.dataclass
class ImageArrays:
    """Images and labels of one data spec.

    Attributes:
        images: float32 array (N, H, W, C) with values in [0, 255].
        labels: int64 array (N,), the data set's own class ids (a subset keeps its original ids).
        num_classes: number of classes of the whole data set (so ids stay meaningful across subsets).
        class_names: names of all classes, indexed by id.
        conversions: one line per conversion loading made (a folder's images made one mode and size), for a dry
            run to print; empty when the images are as stored.

    Example:
        >>> arrays = ImageArrays(np.zeros((2, 8, 8, 1), np.float32), np.array([0, 1]), 2, ("a", "b"))
    """

    images: np.ndarray
    labels: np.ndarray
    num_classes: int
    class_names: tuple
    conversions: tuple = ()
