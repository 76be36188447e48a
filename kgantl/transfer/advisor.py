"""`recommend(source, target)`: measure how far the target is from the source, and suggest a strategy.

The distance is KID between the source's images (real ones from a data spec, or 1000 samples from a
source GAN) and the target images, in the `fmnist` (or another) feature space. The suggestion comes from the
few-shot benchmark, through kgantl/measured.json (rendered with its rules in docs/benchmarks.md, "What the
benchmarks set"); the distance did not predict the best strategy there. A colour run with few shots gets the colour
grid's recipe once it has measured one, the Fashion-MNIST one's until then, and the reason names which. To choose
on your own shots instead, train with `--strategy auto`.
"""
import os
from pathlib import Path

import numpy as np

from kgantl.config import FEW_SHOTS
from kgantl.measured import COLOUR, few_shot_recipe, hundred_shots, recipe_benchmark
from kgantl.metrics.distances import unbiased_mmd2
from kgantl.metrics.extractors import default_extractor, get_extractor

EVIDENCE = ("kgantl/measured.json, rendered in docs/benchmarks.md, section 'What the benchmarks set' (the rules), "
            "from the few-shot grid of docs/benchmark-log.md, sections 'Few-shot GAN transfer: kgantl's recipe against "
            "the obvious one' and 'Ten shots: kgantl transfer's own recipe'")
COLOUR_EVIDENCE = ("kgantl/measured.json's colour entry, rendered in docs/benchmarks.md, section 'What the benchmarks "
                   "set' (the rules), from the colour grid of docs/benchmark-log.md, section 'Colour few-shot GAN "
                   "transfer: emoji'")


def _reason(few_shot, channels=1):
    """Why the suggestion, in the numbers of the benchmark that backs it (kgantl/measured.json), named: a colour run
    takes the Fashion-MNIST benchmark's values until the colour grid has measured its own, and grey KIDs say nothing
    about colour images, so the reason must not read as a colour measurement."""
    if few_shot and recipe_benchmark(channels) == COLOUR:
        return _colour_reason(few_shot_recipe(channels))
    unmeasured = "no colour measurement yet, so the Fashion-MNIST benchmark's (grey images): " if channels == 3 else ""
    if few_shot:
        recipe = few_shot_recipe()
        return (f"{unmeasured}with at most {FEW_SHOTS} images per class every strategy without augmentation copies "
                f"the shots; {recipe['strategy']} with DiffAugment {recipe['diffaugment']} and the copy check (what "
                f"kgantl transfer does by default there) had a mean KID of {recipe['mean_kid']:.4f} over the "
                f"Fashion-MNIST benchmark's {recipe['cells']} 10-shot cells, against {recipe['mean_kid_scratch']:.4f} "
                f"training from scratch and {recipe['mean_kid_best_unaugmented']:.4f} for the best strategy without "
                "augmentation")
    grid = hundred_shots()
    low, high = grid["prior_vs_plain_finetune"]
    unmeasured = "the colour benchmark has no suggestion above few shots, so the Fashion-MNIST benchmark's " \
                 "(grey images): " if channels == 3 else ""
    return (f"{unmeasured}{grid['prior']} had the lowest KID at 2000 steps on {grid['prior_wins']} of the "
            f"Fashion-MNIST benchmark's {len(grid['cells'])} 100-shot cells ({low:.2f}-{high:.2f}x a plain fine-tune "
            f"there); {grid['alternative']} is the alternative and the choice when your images are unlike the "
            "backbone's (Fashion-MNIST unless you pass another): it needs no pretrained backbone and was the lowest "
            f"of those on {grid['alternative_wins']} cells")


def _colour_reason(recipe):
    """The few-shot reason in the colour grid's numbers (KID in the `noto` extractor's features)."""
    def kid(value):
        return "n/a" if value is None else f"{value:.4f}"

    return (f"{recipe['strategy']} with DiffAugment {recipe['diffaugment'] or 'none'} and the copy check (what kgantl "
            f"transfer does by default on colour images with at most {FEW_SHOTS} per class) had the lowest mean KID "
            f"of kgantl's methods on the colour (emoji) benchmark's {recipe['cells']} 10-shot cells, "
            f"{kid(recipe['mean_kid'])} in the noto extractor's features, against {kid(recipe['mean_kid_scratch'])} "
            f"training from scratch and {kid(recipe['mean_kid_plain_finetune'])} for a plain fine-tune")


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
    from kgantl.runs.artifacts import open_generator

    if _is_model(source):
        sampler = open_generator(source)
        classes = sampler.class_ids or [0]  # a conditional generator that does not know its classes: class 0
        labels = np.resize(np.asarray(classes, np.int32), count) if sampler.conditional else None
        return sample_images(sampler, count, seed=seed, labels=labels)
    arrays = load_arrays(source)
    pick = np.random.default_rng(seed).permutation(len(arrays.images))[:count]
    return arrays.images[pick] / 127.5 - 1.0


def recommend(source, target, shots=None, seed=0, extractor="auto", count=1000):
    """Suggest a GAN transfer strategy for `target` given `source`.

    Args:
        source: a data spec of the source domain (e.g. `fashion_mnist:0-4`), or a source GAN (`.keras`
            file, `saved_models/<name>` folder or `GAN`), whose samples then stand for the source.
        target: data spec of the target images (train split).
        shots: images per class of the target (the n-shot rule), or None for all.
        seed: seed of the shots and of the source sample.
        extractor: feature extractor for the distance; `auto` (default): by the target images' channels
            (`kgantl.metrics.extractors.default_extractor`).
        count: source images to compare with.

    Returns:
        dict with `distance` (KID source vs target on the whole sets, for information: it did not predict the best
            strategy in the benchmark), `strategy` and `diffaugment` (the few-shot recipe when the rarest class has at
            most `FEW_SHOTS` images, the colour grid's for a colour run once measured, else the 100-shot grid's best
            fixed strategy), `alternative`, `reason` (naming the benchmark behind it) and `evidence`, all from
            kgantl/measured.json.

    Example:
        >>> recommend("saved_models/source-fmnist-0-4", "fashion_mnist:7", shots=100)["strategy"]
    """
    from kgantl.data import load_arrays

    target_arrays = load_arrays(target, shots=shots, seed=seed)
    target_channels = target_arrays.images.shape[-1]
    extractor = get_extractor(default_extractor(1 if target_channels == 1 else 3) if extractor == "auto"
                              else extractor)
    target_images = target_arrays.images / 127.5 - 1.0
    if len(target_images) < 2:
        raise ValueError(f"recommend needs at least 2 target images. Received: {len(target_images)}")
    source_images = _source_images(source, count, seed)
    # colour if the target or the source is, as kgantl transfer trains (kgantl.image_shape.run_channels)
    channels = 1 if target_channels == 1 and source_images.shape[-1] == 1 else 3
    source_features = extractor.features(source_images)
    # KID on the whole sets (no subsets): the advisor wants the best point estimate, not a spread.
    distance = unbiased_mmd2(source_features, extractor.features(target_images))
    few_shot = int(np.unique(target_arrays.labels, return_counts=True)[1].min()) <= FEW_SHOTS  # as kgantl transfer
    if few_shot:
        strategy, diffaugment = few_shot_recipe(channels)["strategy"], few_shot_recipe(channels)["diffaugment"]
        alternative = hundred_shots()["prior"]
    else:
        strategy, diffaugment, alternative = hundred_shots()["prior"], "", hundred_shots()["alternative"]
    colour = few_shot and recipe_benchmark(channels) == COLOUR
    return {"distance": distance, "strategy": strategy, "diffaugment": diffaugment, "alternative": alternative,
            "reason": _reason(few_shot, channels), "evidence": COLOUR_EVIDENCE if colour else EVIDENCE}
