"""`recommend(source, target)`: measure how far the target is from the source, and suggest a strategy.

The distance is KID between the source's images (real ones from a data spec, or 1000 samples from a
source GAN) and the target images, in the `fmnist` (or another) feature space. The suggestion comes from the
few-shot benchmark in docs/benchmarks.md; the comment above the reasons says which cells back it. To choose
on your own shots instead, train with `--strategy auto`.
"""
import os
from pathlib import Path

import numpy as np

from kgantl.metrics.distances import unbiased_mmd2
from kgantl.metrics.extractors import get_extractor

# What the few-shot benchmark showed (docs/benchmarks.md, issue-10 grid; finished cells: sneakers, sandals and
# bags, 100 shots, seed 0, every kgantl method at `kgantl transfer`'s defaults: batch 64, no DiffAugment, EMA):
# - vision_d had the lowest KID at 2000 steps on all three (0.63x, 0.46x and 0.12x plain finetune; 0.07x, 0.27x
#   and 0.07x scratch) with recall 0.40, 0.47 and 0.38; in an independent random-CNN feature space it was within
#   noise of plain finetune on sneakers, the lowest on sandals (0.75x plain, about one standard deviation) and
#   within noise of plain finetune, finetune and freeze_d:1 on bags;
# - finetune at these defaults matched plain finetune at 2000 steps on all three;
# - cdc and ewc were not reliable: cdc second on sneakers but worse than scratch on sandals, ewc last of the
#   transfer methods on all three;
# - DiffAugment made every method worse at 100 shots (the issue-4 grid and the probe), and at 10 shots it
#   tripled recall at 3.8x the KID (one probe).
# vision_d's backbone is the shipped Fashion-MNIST classes-0-4 classifier: on images unlike Fashion-MNIST nothing
# here says it helps, hence finetune as the alternative (and `auto` to measure on the user's own shots).
# The older issue-4 grid (batch 32 with DiffAugment) is why earlier versions said freeze_d:1; it no longer holds.
EVIDENCE = ("docs/benchmarks.md, section 'Few-shot GAN transfer: kgantl's recipe against the obvious one "
            "(issue 10)': the probe and the grid's finished cells (sneakers, sandals and bags at 100 shots)")
REASON = ("vision_d (kgantl's own D plus a second D on a frozen pretrained backbone) had the lowest KID at 2000 "
          "steps on all three finished 100-shot cells of the benchmark (0.12-0.63x a plain fine-tune), with "
          "recall 0.38-0.47; finetune at kgantl transfer's defaults (no augmentation, EMA generator) matched the "
          "plain fine-tune and is the alternative, and the choice when your images are unlike the backbone's "
          "(Fashion-MNIST unless you pass another). Three classes so far; with 10 or fewer shots per class add "
          "--diffaugment color,translation,cutout if covering the class matters more than KID")


def _is_model(source):
    """A GAN, a sampler, a `.keras` file, a folder (run, SavedModel) or a shipped model's name; else a data spec."""
    from kgantl.shipped import SHIPPED

    if hasattr(source, "generate"):
        return True
    return isinstance(source, (str, os.PathLike)) and (str(source).endswith(".keras") or Path(source).is_dir()
                                                       or Path(source).name in SHIPPED)


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
    return {"distance": distance, "strategy": "vision_d", "alternative": "finetune", "reason": REASON,
            "evidence": EVIDENCE}
