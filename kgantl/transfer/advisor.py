"""`recommend(source, target)`: measure how far the target is from the source, and suggest a strategy.

The distance is KID between the source's images (real ones from a data spec, or 1000 samples from a
source GAN) and the target images, in the `fmnist` (or another) feature space. The rule below comes
from the few-shot benchmark in docs/benchmarks.md and says which cells back it.
"""
import os
from pathlib import Path

import numpy as np

from kgantl.metrics.distances import kernel_inception_distance
from kgantl.metrics.extractors import get_extractor

# (upper bound of the source-target KID, strategy, why). Backed by the few-shot benchmark cells listed in
# `EVIDENCE`; revisit when the full grid is in.
RULE = (
    (float("inf"), "finetune",
     "fine-tuning every weight had the lowest KID at 100 shots and 500 steps on every measured target class, "
     "with freeze_d:1 and reptile close behind and alternate and feature_d far worse"),
)
EVIDENCE = "docs/benchmarks.md, section 'Few-shot GAN transfer': classes 5-9, 100 shots, seed 0, 500 steps"


def _source_images(source, count, seed):
    from kgantl.data import load_arrays
    from kgantl.metrics.evaluate import sample_images

    is_model = isinstance(source, (str, os.PathLike)) and (str(source).endswith(".keras") or Path(source).is_dir())
    if is_model or hasattr(source, "generate"):
        model = source
        if is_model and Path(source).is_dir() and (Path(source) / "model.keras").is_file():
            model = str(Path(source) / "model.keras")
        return sample_images(model, count, seed=seed, labels=np.zeros(count, np.int32))
    arrays = load_arrays(source)
    pick = np.random.default_rng(seed).permutation(len(arrays.images))[:count]
    return arrays.images[pick] / 127.5 - 1.0


def recommend(source, target, shots=None, seed=0, extractor="fmnist", count=1000):
    """Suggest a GAN transfer strategy for `target` given `source`.

    Args:
        source: a data spec of the source domain (e.g. `fashion_mnist:0-4`), or a source GAN (`.keras`
            file, `saved_models/<name>` folder or `GAN`), whose samples then stand for the source.
        target: data spec of the target images (train split).
        shots: images per class of the target (the n-shot rule), or None for all.
        seed: seed of the shots and of the source sample.
        extractor: feature extractor for the distance.
        count: source images to compare with.

    Returns:
        dict with `distance` (KID source vs target), `strategy`, `reason` and `evidence`.

    Example:
        >>> recommend("saved_models/source-fmnist-0-4", "fashion_mnist:7", shots=100)["strategy"]
    """
    from kgantl.data import load_arrays

    extractor = get_extractor(extractor)
    target_images = load_arrays(target, shots=shots, seed=seed).images / 127.5 - 1.0
    if len(target_images) < 2:
        raise ValueError(f"recommend needs at least 2 target images. Received: {len(target_images)}")
    source_features = extractor.features(_source_images(source, count, seed))
    distance, _ = kernel_inception_distance(source_features, extractor.features(target_images), subsets=20,
                                            subset_size=min(1000, len(target_images)), seed=seed)
    for bound, strategy, reason in RULE:
        if distance <= bound:
            return {"distance": distance, "strategy": strategy, "reason": reason, "evidence": EVIDENCE}
    raise AssertionError("RULE must end with an unbounded entry")
