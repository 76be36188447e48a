"""Offline-first Fashion-MNIST: read the four IDX files from the first folder that has them."""
import gzip
import os
import zlib
from pathlib import Path

import numpy as np

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def search_dirs():
    """Folders searched for the IDX files, in order.

    Returns:
        List of `Path`: `$KGANTL_DATA_DIR` (if set), the Debian package folder, then the Keras cache.
    """
    dirs = []
    if os.environ.get("KGANTL_DATA_DIR"):
        dirs.append(Path(os.environ["KGANTL_DATA_DIR"]))
    dirs.append(Path(DEBIAN_DIR))
    dirs.append(Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "fashion-mnist")
    return dirs


def _find_file(folder, stem):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def data_files(split="train"):
    """The `(images, labels)` IDX files that `load_fashion_mnist(split)` reads, from the first folder holding both.

    Args:
        split: `"train"` or `"test"`.

    Returns:
        `(image_path, label_path)` as `Path`s, or None when no folder of `search_dirs()` holds them (then
            `load_fashion_mnist` downloads into the Keras cache).

    Example:
        >>> image_path, label_path = data_files("test")
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test' for fashion_mnist. Received: split={split!r}")
    image_stem, label_stem = _FILES[split]
    for folder in search_dirs():
        image_path, label_path = _find_file(folder, image_stem), _find_file(folder, label_stem)
        if image_path and label_path:
            return image_path, label_path
    return None


def read_idx(path):
    """Read one IDX file (optionally gzipped) into a numpy array.

    Args:
        path: path of an `*-idx1-ubyte` or `*-idx3-ubyte` file, `.gz` or plain.

    Returns:
        `np.ndarray` of dtype uint8 with the shape stored in the header.

    Raises:
        ValueError: the file is not an unsigned-byte IDX file, is truncated, or (`.gz`) is a damaged gzip file.

    Example:
        >>> read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").shape
        (10000,)
    """
    with open(path, "rb") as f:  # a missing or unreadable file stays a FileNotFoundError / PermissionError
        if not str(path).endswith(".gz"):
            data = f.read()
        else:
            try:
                data = gzip.GzipFile(fileobj=f).read()
            except (EOFError, OSError, zlib.error) as error:  # BadGzipFile is an OSError
                raise ValueError(
                    f"{path} is a damaged or truncated gzip file: it must decompress to a complete IDX file. "
                    f"Delete it, or re-install it (`apt-get install --reinstall dataset-fashion-mnist`), or set "
                    f"KGANTL_DATA_DIR to a folder with good copies. Received: {Path(path).stat().st_size} bytes "
                    f"that fail to decompress ({type(error).__name__}: {error})"
                ) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file. Received header bytes: {data[:4]!r}")
    rank = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    offset = 4 + 4 * rank
    expected = int(np.prod(shape))
    if len(data) - offset != expected:
        raise ValueError(f"{path} is truncated: header promises {expected} bytes, file holds {len(data) - offset}.")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def load_fashion_mnist(split="train"):
    """Load one split of Fashion-MNIST, offline when the files are on disk.

    Searches `search_dirs()` in order and only then downloads through `keras.datasets.fashion_mnist`
    (which stores the files in the Keras cache, so the next call is offline).

    Args:
        split: `"train"` (60,000 images) or `"test"` (10,000 images).

    Returns:
        `(images, labels)`: uint8 `(N, 28, 28, 1)` and int64 `(N,)`, in IDX file order.

    Example:
        >>> images, labels = load_fashion_mnist("test")
    """
    files = data_files(split)
    if files:
        image_path, label_path = files
        return read_idx(image_path)[..., None], read_idx(label_path).astype(np.int64)
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as error:  # network errors come in many types; all mean the same to the user
        places = ", ".join(str(d) for d in search_dirs())
        raise FileNotFoundError(
            f"Fashion-MNIST IDX files were not found in {places} and the download failed ({error}). "
            "Install them with `apt-get install dataset-fashion-mnist` or set KGANTL_DATA_DIR."
        ) from None
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    return images[..., None], labels.astype(np.int64)
