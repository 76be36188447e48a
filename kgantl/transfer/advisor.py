"""`recommend(source, target)`: measure how far the target is from the source, and suggest a strategy.

The distance is KID between the source's images (real ones from a data spec, or 1000 samples from a
source GAN) and the target images, in the `fmnist` (or another) feature space. The rule comes from the
few-shot benchmark in docs/benchmarks.md; the comment above the reasons says which cells back it.
"""
import os
from pathlib import Path

import numpy as np

from kgantl.metrics.distances import unbiased_mmd2
from kgantl.metrics.extractors import get_extractor

# What the few-shot benchmark showed (all 13 cells at 500 steps: classes 5-9 at 100 shots with seed 0, class 7
# at 10, 100 and 1000 shots with seeds 0, 1, 2; docs/benchmarks.md):
# - freeze_d:1 had the lowest KID in 8 of 13 cells and was within 20% of the best in the other 5;
# - finetune was best in 3 (sneakers, seeds 0-1), reptile in 2 (sandals, bags; it also costs ~1.6x the time);
# - alternate and feature_d were worse than training from scratch in all 13 cells;
# - the source-target distance did not predict the winner (sandals and ankle boots are equally far).
# The rule is for short budgets. At 2000 steps (classes 5, 8, 9, seed 0) reptile was best on all three and
# freeze_d:1 fell behind training from scratch on sandals and bags: transfer is a head start.
EVIDENCE = ("docs/benchmarks.md, section 'Few-shot GAN transfer': 13 cells (classes 5-9 at 100 shots, class 7 at "
            "10, 100 and 1000 shots with seeds 0-2), 500 steps")
REASON = ("freeze_d:1 had the lowest KID in 8 of the 13 measured cells at 500 generator steps and was within 20% "
          "of the best in the others; the runner-up differs by data: reptile (needs the source data) or finetune. "
          "For longer training (2000 steps measured) prefer reptile: freeze_d:1 fell behind training from scratch "
          "on two of three classes")


def _is_model(source):
    if hasattr(source, "generate"):
        return True
    return isinstance(source, (str, os.PathLike)) and (str(source).endswith(".keras") or Path(source).is_dir())


def _source_images(source, count, seed):
    """`count` images of the source domain: samples of a source GAN (its classes in turn), or real images."""
    from kgantl.data import load_arrays
    from kgantl.metrics.evaluate import sample_images
    from kgantl.models.loading import open_generator

    if _is_model(source):
        sampler = open_generator(source)
        classes = sampler.class_ids or [0]  # a conditional generator that does not know its classes: class 0
        labels = np.resize(np.asarray(classes, np.int32), count) if sampler.conditional else None
        return sample_images(sampler, count, seed=seed, labels=labels)
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
        dict with `distance` (KID source vs target on the whole sets, for information: it did not predict the best
        strategy in the benchmark), `strategy`, `alternative`, `reason` and `evidence`.

    Example:
        >>> recommend("saved_models/source-fmnist-0-4", "fashion_mnist:7", shots=100)["strategy"]
    """
    from kgantl.data import load_arrays

    extractor = get_extractor(extractor)
    target_images = load_arrays(target, shots=shots, seed=seed).images / 127.5 - 1.0
    if len(target_images) < 2:
        raise ValueError(f"recommend needs at least 2 target images. Received: {len(target_images)}")
    source_features = extractor.features(_source_images(source, count, seed))
    # KID on the whole sets (no subsets): the advisor wants the best point estimate, not a spread.
    distance = unbiased_mmd2(source_features, extractor.features(target_images))
    alternative = "finetune" if _is_model(source) else "reptile"  # reptile needs the source data for its tasks
    return {"distance": distance, "strategy": "freeze_d:1", "alternative": alternative, "reason": REASON,
            "evidence": EVIDENCE}
