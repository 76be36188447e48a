"""Turn a data spec (a name, a path or arrays) into in-memory image and label arrays.

Every source ends as `ImageArrays`: images as float32 in [0, 255] with shape (N, H, W, C), and int64
labels. Few-shot data is small, so holding it in memory is the simple and fast choice.
"""
import dataclasses
import logging
import os
import re
from pathlib import Path

import numpy as np

import kgantl.data.emoji as emoji
import kgantl.data.fashion_mnist as fashion_mnist
from kgantl.data.arrays import ImageArrays  # defined apart so loaders can build one; importable from here too
from kgantl.data.pixels import onto_white

logger = logging.getLogger(__name__)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_SPLITS = ("train", "test")


def parse_classes(text, num_classes, spec):
    """Parse a class selection like `7`, `0-4` or `1,3,5`.

    Args:
        text: the part of the spec after the colon.
        num_classes: number of classes in the data set.
        spec: the full spec, for error messages.

    Returns:
        Sorted list of class ids.
    """
    classes = set()
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ValueError(
                f"A class selection must look like 7, 0-4 or 1,3,5. Received: {spec!r}"
            )
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if low > high:
            raise ValueError(f"A class range must be ascending. Received: {spec!r}")
        for k in range(low, high + 1):
            if k >= num_classes:
                raise ValueError(
                    f"class index must be in 0-{num_classes - 1} for {spec.split(':')[0]}. "
                    f"Received: class {k} in {spec!r}"
                )
            classes.add(k)
    return sorted(classes)


def _infer_scale(images, name):
    """Bring integer or float images to float32 in [0, 255], rejecting what cannot be interpreted."""
    if images.dtype == np.bool_ or images.dtype.kind not in "uif":
        raise ValueError(f"{name} must hold numbers. Received: dtype={images.dtype}")
    is_integer = images.dtype.kind in "ui"
    images = images.astype(np.float32)
    if images.size == 0:
        raise ValueError(f"{name} is empty. Received: shape={images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} must not contain NaN or infinite values. Received: {int(np.sum(~np.isfinite(images)))} such values")
    low, high = float(images.min()), float(images.max())
    if is_integer or high > 1.0:
        if low < 0 or high > 255:
            raise ValueError(f"{name} must be in [0, 255], [0, 1] or [-1, 1]. Received: range [{low:g}, {high:g}]")
        return images
    if low >= 0:  # [0, 1]
        return images * 255.0
    if low >= -1:  # [-1, 1]
        return (images + 1.0) * 127.5
    raise ValueError(f"{name} must be in [0, 255], [0, 1] or [-1, 1]. Received: range [{low:g}, {high:g}]")


def arrays_from_numpy(images, labels=None, name="images"):
    """Validate user arrays and bring them to the common form.

    Args:
        images: array (N, H, W) or (N, H, W, C) with C in 1, 3, 4; integers in [0, 255], or floats in
            [0, 255], [0, 1] or [-1, 1] (a float range is read off the values).
        labels: optional integer array (N,); zeros if omitted.
        name: what to call the input in errors.

    Returns:
        `ImageArrays`.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{name} must have shape (N, H, W) or (N, H, W, C) with C in 1, 3, 4. Received: shape={images.shape}"
        )
    images = _infer_scale(images, name)
    if labels is None:
        labels = np.zeros(len(images), dtype=np.int64)
    labels = np.asarray(labels)
    if labels.shape != (len(images),) or labels.dtype.kind not in "ui":
        raise ValueError(
            f"labels must be integers of shape ({len(images)},) to match {name}. "
            f"Received: shape={labels.shape}, dtype={labels.dtype}"
        )
    if labels.min() < 0:
        raise ValueError(f"labels must be >= 0. Received: min label {labels.min()}")
    labels = labels.astype(np.int64)
    num_classes = int(labels.max()) + 1
    return ImageArrays(images, labels, num_classes, tuple(str(k) for k in range(num_classes)))


def _load_fashion_mnist(split):
    images, labels = fashion_mnist.load_fashion_mnist(split)
    return ImageArrays(images.astype(np.float32), labels, 10, fashion_mnist.CLASS_NAMES)


def _load_digits(split):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("The 'digits' data needs scikit-learn: pip install 'kgantl[digits]'") from None
    bunch = load_digits()
    images = bunch.images.astype(np.float32) * (255.0 / 16.0)
    # scikit-learn has no split: every fifth image (positions 4, 9, ...) is the test split.
    is_test = np.arange(len(images)) % 5 == 4
    keep = is_test if split == "test" else ~is_test
    return ImageArrays(images[keep][..., None], bunch.target[keep].astype(np.int64), 10,
                       tuple(str(k) for k in range(10)))


def _unknown_tfds_name(name, tfds):
    """One short ValueError for a name TFDS does not know, with the closest known names."""
    import difflib

    # Community data sets are left out: listing them needs the network (seconds offline).
    known = tfds.list_builders(with_community_datasets=False)
    closest = difflib.get_close_matches(name.partition("/")[0].lower(), known, n=3)
    hint = f"Closest: {', '.join(closest)}" if closest else "See https://www.tensorflow.org/datasets/catalog"
    return ValueError(f"tfds:{name} is not a TensorFlow Datasets name. {hint}. Received: tfds:{name}")


def _load_tfds(name, split):
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise ImportError(f"tfds:{name} needs tensorflow-datasets, which is not installed here: "
                          f"pip install tensorflow-datasets") from None

    try:
        dataset, info = tfds.load(name, split=split, as_supervised=True, with_info=True)
        # Element by element: batch_size=-1 aborts the process in some tensorflow-datasets versions.
        pairs = list(tfds.as_numpy(dataset))
    except tfds.core.DatasetNotFoundError:  # its own message lists all ~450 names on one line
        raise _unknown_tfds_name(name, tfds) from None
    except Exception as error:  # download and network errors alike
        raise ValueError(
            f"tensorflow-datasets could not load {name!r} split {split!r} "
            f"(an offline machine needs it prepared in TFDS_DATA_DIR first): {error}"
        ) from None
    if not pairs:
        raise ValueError(f"tfds:{name} split {split!r} holds no examples.")
    images = np.stack([image for image, _ in pairs])
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    arrays = arrays_from_numpy(images, labels, name=f"tfds:{name}")
    label_feature = info.features["label"] if "label" in info.features else None
    if label_feature is not None and getattr(label_feature, "num_classes", None):
        arrays.num_classes = int(label_feature.num_classes)
        arrays.class_names = tuple(label_feature.names)
    return arrays


_COLOUR_MODES = ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def _has_alpha(image):
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _read_image(path):
    """A decoded PIL image (first frame), or a `ValueError` naming the file (a full decode catches truncation)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except Exception as error:
        raise ValueError(f"Image file {path} is unreadable or corrupt: {error}") from None


def _folder_rule(images):
    """The one mode and size every image of a folder becomes: colour if any image is colour (grayscale images are
    repeated to three channels; colour is never dropped unasked: `channels` 1 does that), and the majority's size
    (ties: the larger)."""
    from collections import Counter

    channels = 3 if any(image.mode in _COLOUR_MODES for image in images) else 1
    sizes = Counter((image.height, image.width) for image in images)
    size = max(sizes, key=lambda hw: (sizes[hw], hw[0] * hw[1]))
    return channels, size


# Fewer pixels than this on a side is a strip or a dot, not a picture to learn from: refused, naming the file.
MIN_IMAGE_SIDE = 4


def _check_image(path, image):
    """Refuse an image too thin to be resized into a picture (a 1-pixel-wide strip), naming the file."""
    if min(image.width, image.height) < MIN_IMAGE_SIDE:
        raise ValueError(f"Image file {path} is {image.width}x{image.height} pixels: an image needs at least "
                         f"{MIN_IMAGE_SIDE} pixels on each side to be resized to the others' size; remove it from the "
                         f"folder. Received: {image.width}x{image.height}")
    return image


def _as_8_bit(image):
    """`image` with 8-bit channels: 16- and 32-bit grayscale (PIL's `I;16`/`I` modes, as 16-bit PNGs load) is scaled
    from its full range (65535 -> 255), where PIL's own conversion would clip everything above 255 to white."""
    from PIL import Image

    if not image.mode.startswith("I"):
        return image
    array = np.asarray(image, dtype=np.float64)
    full = 65535.0 if image.mode.startswith("I;16") or array.max() <= 65535 else float(2 ** 31 - 1)
    return Image.fromarray(np.clip(np.round(array * 255.0 / full), 0, 255).astype(np.uint8), mode="L")


def _conform(image, channels, size):
    """`image` as `channels` channels of `size` (height, width): transparency flattened onto white, shrinking by
    area (box filter), growing bilinearly."""
    from PIL import Image

    image = _as_8_bit(image)
    if _has_alpha(image):
        image = onto_white(image)
    image = image.convert("RGB" if channels == 3 else "L")
    if (image.height, image.width) != size:
        shrinking = image.height * image.width > size[0] * size[1]
        image = image.resize((size[1], size[0]), Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32)
    return array if channels == 3 else array[..., None]


def _conversion_note(folder, images, channels, size):
    """One line of what a folder's images went through to become `channels` channels of `size`, or None."""
    converted = sum((image.mode in _COLOUR_MODES) != (channels == 3) for image in images)
    cmyk = sum(image.mode == "CMYK" for image in images)  # converted with PIL's naive formula, no colour profile
    deep = sum(image.mode.startswith("I") for image in images)  # 16-bit grayscale, scaled to 8 bits
    flattened = sum(_has_alpha(image) for image in images)
    resized = sum((image.height, image.width) != size for image in images)
    target = size[1] / size[0]
    stretched = sum(max(target * image.height / image.width, image.width / image.height / target) > 2
                    for image in images)  # aspect ratio changed by more than 2x (a 40x1 strip made square)
    if not (converted or cmyk or flattened or resized or deep):
        return None
    return (f"image folder {folder}: {len(images)} images made {'colour' if channels == 3 else 'grayscale'} "
            f"{size[0]}x{size[1]} (the majority's size): {converted} converted from "
            f"{'grayscale' if channels == 3 else 'colour'}, {cmyk} from CMYK (no colour profile), {deep} from 16 "
            f"bits per pixel (scaled to 8), {flattened} with "
            f"transparency flattened onto white, {resized} resized, {stretched} of them stretched to more than "
            f"twice or less than half their aspect ratio")


def _load_folder(folder, split):
    """One sub-folder per class. Every image becomes the majority's colour mode and size (`_folder_rule`), and
    one log line says what was converted, flattened and resized; the training options' `channels` and
    `image_size` then apply to all alike."""
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir())
    files = [(k, f) for k, d in enumerate(class_dirs) for f in sorted(d.iterdir())
             if f.suffix.lower() in _IMAGE_SUFFIXES]
    loose = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES)
    if not files and loose:  # a flat folder of images: one class, named after the folder
        logger.warning("image folder %s has no class sub-folders: its %d images are one class, %r", folder,
                       len(loose), folder.name)
        class_dirs, files = [folder], [(0, f) for f in loose]
    if not files:
        raise ValueError(
            f"An image folder must hold images ({', '.join(_IMAGE_SUFFIXES)}): one sub-folder per class, or the "
            f"images themselves for one class. Received: {folder} with {len(class_dirs)} sub-folder(s) and "
            f"{sum(f.is_file() for f in folder.iterdir())} file(s), none of them an image in a class sub-folder"
        )
    images = [_check_image(path, _read_image(path)) for _, path in files]
    channels, size = _folder_rule(images)
    note = _conversion_note(folder, images, channels, size)
    if note:
        logger.warning("%s", note)
    stacked = np.stack([_conform(image, channels, size) for image in images])
    labels = np.array([k for k, _ in files], dtype=np.int64)
    names = tuple(d.name for d in class_dirs)
    return ImageArrays(stacked, labels, len(names), names, (note,) if note else ())


def _load_file(path):
    if path.suffix == ".npy":
        return arrays_from_numpy(np.load(path, allow_pickle=False), name=str(path))
    with np.load(path, allow_pickle=False) as archive:
        keys = set(archive.files)
        image_key = next((k for k in ("images", "x") if k in keys), None)
        if image_key is None:
            raise ValueError(f"An .npz file must hold an 'images' (or 'x') array. Received: {path} with keys {sorted(keys)}")
        label_key = next((k for k in ("labels", "y") if k in keys), None)
        labels = archive[label_key] if label_key else None
        return arrays_from_numpy(archive[image_key], labels, name=str(path))


def resolve_source(spec, split="train"):
    """Load the arrays a spec names.

    Args:
        spec: one of `fashion_mnist[:CLASSES]`, `digits[:CLASSES]`, `tfds:NAME[:CLASSES]`,
            `emoji:VENDOR[:SELECTION][@LABELS]`, a folder with one sub-folder per class, an `.npz`/`.npy` file, a numpy
            array of images, or a tuple `(images, labels)`. CLASSES is `7`, `0-4` or `1,3,5`. For emoji (see
            `kgantl.data.emoji`) VENDOR is `google` or `twitter` and SELECTION a category (`Smileys & Emotion`), a
            subcategory (`animal-mammal`) or `!` and either to leave it out (`emoji:google:!Animals & Nature`).
        split: `"train"` or `"test"` (emoji: kgantl's rule, every tenth emoji is test; ignored for folders, files
            and arrays, which have one set: both splits are all of it).

    Returns:
        `ImageArrays` restricted to the selected classes.

    Example:
        >>> arrays = resolve_source("fashion_mnist:0-4")
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}. Received: split={split!r}")
    if isinstance(spec, tuple) and len(spec) == 2:
        return arrays_from_numpy(*spec)
    if isinstance(spec, np.ndarray):
        return arrays_from_numpy(spec)
    if not isinstance(spec, (str, os.PathLike)):
        raise ValueError(f"data must be a spec string, a path, an array or (images, labels). Received: {type(spec).__name__}")
    text = os.fspath(spec)
    name, _, classes = text.partition(":")
    if emoji.is_emoji_spec(text):
        return emoji.load_emoji(text, split)  # selects by category name, not by CLASSES
    if name == "tfds":
        tfds_name, _, classes = classes.partition(":")
        arrays = _load_tfds(tfds_name, split)
    elif name == "fashion_mnist":
        arrays = _load_fashion_mnist(split)
    elif name == "digits":
        arrays = _load_digits(split)
    else:
        path = Path(text)
        if path.is_dir():
            return _load_folder(path, split)
        if path.suffix in (".npz", ".npy"):
            if not path.is_file():
                raise FileNotFoundError(f"Data file does not exist. Received: {text}")
            return _load_file(path)
        if path.suffix or os.sep in text:
            raise FileNotFoundError(f"Data path does not exist or is not a folder, .npz or .npy file. Received: {text}")
        raise ValueError(
            "data must be fashion_mnist[:CLASSES], digits[:CLASSES], tfds:NAME[:CLASSES], "
            "emoji:VENDOR[:SELECTION][@LABELS], "
            f"a folder, an .npz/.npy file or arrays. Received: {text!r}"
        )
    if classes:
        keep = np.isin(arrays.labels, parse_classes(classes, arrays.num_classes, text))
        arrays = dataclasses.replace(arrays, images=arrays.images[keep], labels=arrays.labels[keep])
    return arrays
