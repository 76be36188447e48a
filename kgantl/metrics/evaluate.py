"""`evaluate(generator, ref=...)`: FID, KID, IS, precision and recall under a named protocol."""
import hashlib
import json
import logging
import os
import re
from pathlib import Path

import numpy as np

from kgantl.data import emoji, emoji_package
from kgantl.io import write_npz
import kgantl.metrics.distances as distances
from kgantl.metrics.extractors import default_extractor, get_extractor
from kgantl.metrics.memorisation import memorisation_check
from kgantl.metrics.sample_sizes import judge_sizes
from kgantl.models.sampler import as_sampler

logger = logging.getLogger("kgantl")
PR_NEIGHBOURS = 3  # k of the k-nearest-neighbour manifolds behind precision and recall (Kynkaanniemi et al. 2019)

PIPELINE = ("images in [-1, 1] quantised to 8 bit, resized (bilinear, antialiased) to the extractor's input "
            "size, converted to its channels and input range")
PIPELINE_VERSION = 1  # bump when the pipeline above changes: it invalidates every cached reference


def _file_fingerprint(path):
    path = Path(path)
    if not path.exists():
        return None
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return [str(path.resolve()), len(files), max((p.stat().st_mtime_ns for p in files), default=0)]
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def _source_fingerprint(ref, split):
    """What identifies the data behind a spec: the files a built-in name is read from, or the file or folder itself."""
    name = str(ref).partition(":")[0]
    if name == "fashion_mnist":
        from kgantl.data import fashion_mnist

        # The folder depends on $KGANTL_DATA_DIR: features of one folder must not be reused for another.
        files = fashion_mnist.data_files(split) if split in ("train", "test") else None
        return [_file_fingerprint(path) for path in files] if files else "keras download"
    if name == "tfds":
        return os.environ.get("TFDS_DATA_DIR")
    if name == "digits":
        return None  # bundled with scikit-learn
    if emoji.is_emoji_spec(ref):
        return [emoji_package.VERSION, emoji_package.PINNED_SHA256]  # a pinned, checksummed package wherever it lies
    return _file_fingerprint(ref)


def cache_key(ref, split, extractor):
    """Hash of everything the cached reference features depend on.

    The exact spec, the data behind it (for files and folders their absolute path, size and time; for
    `fashion_mnist` the same of the IDX files `kgantl.data.fashion_mnist.data_files` finds, so each
    `$KGANTL_DATA_DIR` has its own entry; for `tfds:` the `$TFDS_DATA_DIR`), the split, the extractor's
    name and weights file, and the pipeline version.

    Args:
        ref: data spec of the reference images.
        split: `"train"` or `"test"`.
        extractor: a `FeatureExtractor`.

    Returns:
        str, 16 hexadecimal digits.

    Example:
        >>> cache_key("fashion_mnist:7", "test", get_extractor("fmnist"))
    """
    parts = {"ref": str(ref), "split": split, "source": _source_fingerprint(ref, split), "extractor": extractor.name,
        "feature_scale": extractor.feature_scale,
        "weights": _file_fingerprint(extractor.weights_path) if extractor.weights_path else None,
        "pipeline": PIPELINE_VERSION}
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir():
    """Where reference features are cached: `$KGANTL_CACHE_DIR` or `~/.cache/kgantl/reference`."""
    return Path(os.environ.get("KGANTL_CACHE_DIR", Path.home() / ".cache" / "kgantl" / "reference"))


def protocol_name(extractor_name, count, split):
    """E.g. `fmnist_1k_test`: extractor, number of generated images, reference split."""
    size = f"{count // 1000}k" if count % 1000 == 0 else str(count)
    return f"{extractor_name}_{size}_{split}"


def reference_set(ref, split, extractor, use_cache=True):
    """Images' features and labels of a real data spec, cached on disk per (spec, split, extractor).

    Args:
        ref: data spec (see `kgantl.data.load_arrays`).
        split: `"train"` or `"test"`.
        extractor: a `FeatureExtractor`.
        use_cache: read and write the cache.

    Returns:
        `(features, labels, image_shape)`.
    """
    from kgantl.data import load_arrays

    slug = re.sub(r"[^A-Za-z0-9]+", "_", str(ref)).strip("_")[-40:]
    path = cache_dir() / f"{slug}__{split}__{extractor.name}__{cache_key(ref, split, extractor)}.npz"
    if use_cache and path.is_file():
        with np.load(path) as cached:
            return cached["features"], cached["labels"], tuple(cached["image_shape"])
    arrays = load_arrays(ref, split=split)
    features = extractor.features(arrays.images / 127.5 - 1.0)
    image_shape = arrays.images.shape[1:]
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_npz(path, features=features, labels=arrays.labels, image_shape=np.array(image_shape))
    return features, arrays.labels, image_shape


def sample_images(generator, count, seed=0, labels=None):
    """`count` images in [-1, 1] from a generator, or the first `count` of an image array or file.

    Args:
        generator: a `GAN`, a sampler (`kgantl.models.sampler`; `kgantl.open_generator` opens one from a
            `.keras` file, a run directory or a SavedModel folder), a numpy array of images (pixels in
            [0, 255]), or an `.npy`/`.npz` file of them.
        count: number of images (arrays and files must hold at least this many; the first are used).
        seed: noise seed.
        labels: class labels for conditional generators (array of `count`; ignored for unconditional ones).

    Returns:
        float32 array (count, H, W, C) in [-1, 1].

    Raises:
        ValueError: `generator` is a path to a model (open it with `kgantl.open_generator` first) or none of
            the above.
    """
    from kgantl.data.sources import arrays_from_numpy, resolve_source

    if isinstance(generator, np.ndarray) or (isinstance(generator, (str, os.PathLike))
                                             and Path(generator).suffix in (".npy", ".npz")):
        arrays = arrays_from_numpy(generator, name="generated images") if isinstance(generator, np.ndarray) \
            else resolve_source(generator)
        if len(arrays.images) < count:
            raise ValueError(f"The image file must hold at least n={count} images. Received: {len(arrays.images)}")
        return arrays.images[:count] / 127.5 - 1.0
    sampler = as_sampler(generator)
    if sampler is None:
        raise ValueError(f"generator must be a kgantl GAN, a sampler, an image array or an .npy/.npz file; open a "
                         f"model file, run directory or SavedModel with kgantl.open_generator(path) first. "
                         f"Received: {generator!r}")
    noise = np.random.default_rng(seed).standard_normal((count, sampler.latent_dim)).astype("float32")
    batches = []
    for start in range(0, count, 500):
        batch_labels = labels[start:start + 500] if sampler.conditional and labels is not None else None
        batches.append(sampler.generate(noise[start:start + 500], labels=batch_labels))
    return np.concatenate(batches)


def evaluate(generator, ref, split="test", n=1000, extractor="auto", seed=0, kid_subsets=100,
             kid_subset_size=1000, splits=10, use_cache=True, train_images=None):
    """Score generated images against a real reference set.

    Args:
        generator: see `sample_images`.
        ref: data spec of the reference images, e.g. `fashion_mnist:7`.
        split: reference split (`test` for every reported number).
        n: generated images.
        extractor: registry name or `FeatureExtractor`; `auto` (default): by the generated images' channels
            (`kgantl.metrics.extractors.default_extractor`: fmnist for grayscale, noto or inception_v3 for colour).
        seed: noise seed.
        kid_subsets: how many KID subsets.
        kid_subset_size: samples per KID subset (the report gives the size used: half the smaller set when
            this reaches it, see `kgantl.metrics.distances.kid_subset_size`).
        splits: Inception Score splits.
        use_cache: cache the reference features.
        train_images: the images the generator was trained on, (N, H, W, C) pixels in [0, 255] as
            `kgantl.data.load_arrays` returns them. When given, the report adds `memorisation` (see
            `kgantl.metrics.memorisation_check`; the test set is the reference) and `near_copy_share`.

    Returns:
        dict with `protocol` (e.g. `fmnist_1k_test`; a folder or file reference, which has no split, ends `_folder` or
            `_file`), `kid`, `kid_std`, `fid`, `precision`, `recall`, `is`, `is_std` (None without a classifier head),
            `near_copy_share` and `memorisation` (None without `train_images`), the protocol's details, `not_computed`
            (metric -> why, for those the set sizes are too small for: their values are None) and `warnings` (metrics
            computed on fewer images than recommended, also logged; see `kgantl.metrics.sample_sizes`).

    Example:
        >>> evaluate(kgantl.open_generator("runs/00000-fashion_mnist_7"), ref="fashion_mnist:7")["kid"]
    """
    _check_count(n, splits)
    extractor = get_extractor(_auto_extractor(generator) if extractor == "auto" else extractor)
    real, real_labels, image_shape = reference_set(ref, split, extractor, use_cache=use_cache)
    rng = np.random.default_rng(seed)
    fake_images = _generated_images(generator, n, seed, rng, real_labels, image_shape)
    fake = extractor.features(fake_images)
    probabilities = extractor.probabilities(fake_images)
    verdicts = judge_sizes(len(real), n, real.shape[1], splits, inception_score=probabilities is not None)
    # Precision and recall compare sets of equal size: the real set is subsampled to n when larger.
    real_for_pr = real[rng.permutation(len(real))[:n]] if len(real) > n else real
    memorisation = None if train_images is None else _memorisation(fake, real, train_images, image_shape, extractor)
    kind = reference_kind(ref)
    report = {
        "protocol": protocol_name(extractor.name, n, split if kind == "split" else kind),
        **_distribution_scores(real, fake, real_for_pr, verdicts, kid_subsets, kid_subset_size, seed),
        "is": None, "is_std": None,
        "near_copy_share": memorisation["near_copy_share"] if memorisation else None, "memorisation": memorisation,
        "extractor": extractor.name, "n_generated": n, "reference": str(ref),
        "split": split if kind == "split" else None, "reference_kind": kind,
        "n_reference": len(real), "n_reference_precision_recall": len(real_for_pr), "kid_subsets": kid_subsets,
        "precision_recall_k": 3, "seed": seed, "pipeline": PIPELINE,
        "not_computed": {name: v.reason for name, v in verdicts.items() if v.skip},
        "warnings": [v.reason for v in verdicts.values() if v.warn],
    }
    if probabilities is not None and not verdicts["is"].skip:
        report["is"], report["is_std"] = distances.inception_score(probabilities, splits)
    _say_sizes(report)
    return report


def _say_sizes(report):
    """On stderr (the `kgantl` logger) too: what was not computed and what was computed on too few images."""
    for reason in report["not_computed"].values():
        logger.warning("not computed: %s", reason)
    for warning in report["warnings"]:
        logger.warning("%s", warning)


def reference_kind(ref):
    """`split` for a data set with train and test splits (`fashion_mnist`, `digits`, `tfds:`, `emoji:`), else
    `folder` or `file`: one set, which a report must not label as a split."""
    name = str(ref).partition(":")[0]
    if name in ("fashion_mnist", "digits", "tfds") or emoji.is_emoji_spec(ref):
        return "split"
    return "folder" if Path(ref).is_dir() else "file"


def _distribution_scores(real, fake, real_for_pr, verdicts, kid_subsets, kid_subset_size, seed):
    """KID, precision/recall and FID where the set sizes allow them (`judge_sizes`), None elsewhere."""
    scores = {"kid": None, "kid_std": None, "kid_subset_size": None, "precision": None, "recall": None,
              "fid": None, "fid_error": verdicts["fid"].reason if verdicts["fid"].skip else None}
    if not verdicts["kid"].skip:
        scores["kid"], scores["kid_std"] = distances.kernel_inception_distance(real, fake, kid_subsets,
                                                                               kid_subset_size, seed)
        scores["kid_subset_size"] = distances.kid_subset_size(kid_subset_size, len(real), len(fake), kid_subsets)
    if not verdicts["precision_recall"].skip:
        scores["precision"], scores["recall"] = distances.precision_recall(real_for_pr, fake, k=PR_NEIGHBOURS)
    if not verdicts["fid"].skip:
        scores["fid"], scores["fid_error"] = _fid(real, fake)
    return scores


def _check_count(n, splits):
    """Refuse an `n` too small for the Inception Score's splits or the precision-recall neighbours."""
    least = max(PR_NEIGHBOURS + 1, splits)  # every Inception Score split and each image's k neighbours need images
    if isinstance(n, bool) or not isinstance(n, int) or n < least:
        raise ValueError(f"n must be an integer >= {least} (the Inception Score's {splits} splits need an image each; "
                         f"precision and recall look at {PR_NEIGHBOURS} neighbours). Received: n={n!r}")


def _auto_extractor(generator):
    """The extractor `auto` means for what `generator` makes (a GAN, a sampler or images)."""
    sampler = as_sampler(generator)
    if sampler is not None:
        return default_extractor(sampler.image_shape[-1])
    return default_extractor(np.shape(sample_images(generator, 1))[-1])  # images, or an .npy/.npz file of them


def _generated_images(generator, n, seed, rng, real_labels, image_shape):
    """`n` images of `generator` (see `sample_images`), checked to have the reference images' shape."""
    # Conditional generators get labels in the reference's class proportions, whatever its order.
    labels = real_labels[rng.permutation(len(real_labels))[np.arange(n) % len(real_labels)]].astype(np.int32)
    fake_images = np.asarray(sample_images(generator, n, seed=seed, labels=labels))
    if fake_images.ndim != 4 or fake_images.shape[1:] != tuple(image_shape):
        raise ValueError(f"Generated images must have the reference images' shape {tuple(image_shape)}. "
                         f"Received: {fake_images.shape[1:]}")
    return fake_images


def _fid(real, fake):
    """`(fid, None)`, or `(None, the reason)` when the features are too few for it."""
    try:
        return distances.fid_from_features(real, fake), None
    except ValueError as error:  # too few samples for the dimension: KID and the rest still stand
        return None, str(error)


def _memorisation(fake, real, train_images, image_shape, extractor):
    """`memorisation_check` of the generated features against the training images' (and the reference's)."""
    train_images = np.asarray(train_images)
    if train_images.ndim != 4 or train_images.shape[1:] != tuple(image_shape):
        raise ValueError(f"train_images must have the reference images' shape (N, {', '.join(map(str, image_shape))}). "
                         f"Received: shape={train_images.shape}")
    return memorisation_check(fake, extractor.features(train_images / 127.5 - 1.0), real)
