"""How many images each metric needs before its number means something: below a minimum it is not computed
and the report says why; between the minimum and the recommended size it is computed with a warning.

The minimums are design choices stated here, not measurements: the size below which an estimate is too noisy,
or too biased, to compare two generators by. The recommended sizes are the benchmark protocol's (it scores
against 1000 real test images of a class with 1000 generated ones).

| metric | minimum | recommended | why |
|---|---|---|---|
| KID | 50 real and 50 generated | 1000 each | subsets of fewer than 25 per side spread more than the differences between generators |
| precision/recall | 50 real and 50 generated | 1000 each | k=3 nearest-neighbour balls over a few dozen points cover most of feature space |
| FID | feature dimension + 1 per set | 10 x the dimension | the covariance has full rank only above the dimension; FID is strongly biased near it |
| Inception Score | 10 generated images per split | 100 per split | a split's class marginal from a handful of images is noise |
"""
import dataclasses
from typing import Optional

MINIMUM_KID = 50
MINIMUM_PRECISION_RECALL = 50
RECOMMENDED = 1000  # real and generated images: the protocol's
FID_RECOMMENDED_PER_DIMENSION = 10
IS_MINIMUM_PER_SPLIT, IS_RECOMMENDED_PER_SPLIT = 10, 100


@dataclasses.dataclass(frozen=True)
class SizeVerdict:
    """Whether a metric is computed on these sizes: `skip` (not computed, `reason` says why), `warn` (computed,
    `reason` says why it is unreliable) or neither (computed, no remark)."""

    skip: bool = False
    reason: Optional[str] = None

    @property
    def warn(self):
        return not self.skip and self.reason is not None


def _judge(name, sizes, minimum, recommended):
    """The verdict for a metric whose every set in `sizes` ({what: count}) needs `minimum` and ought to have
    `recommended`."""
    short = {what: count for what, count in sizes.items() if count < minimum}
    if short:
        listed = ", ".join(f"{count} {what}" for what, count in short.items())
        return SizeVerdict(True, f"{name} needs at least {minimum} {' and '.join(sizes)} images; received {listed}")
    small = {what: count for what, count in sizes.items() if count < recommended}
    if small:
        listed = ", ".join(f"{count} {what}" for what, count in small.items())
        return SizeVerdict(False, f"{name} on {listed} images is unreliable (recommended: at least {recommended})")
    return SizeVerdict()


def judge_sizes(n_real, n_fake, dimension, splits, inception_score=True):
    """The verdict for every metric of `kgantl.metrics.evaluate` at these set sizes.

    Args:
        n_real: reference images.
        n_fake: generated images.
        dimension: the extractor's feature dimension.
        splits: Inception Score splits.
        inception_score: whether there is an Inception Score to judge (an extractor with a classifier head).

    Returns:
        dict `kid`, `precision_recall`, `fid` and (with `inception_score`) `is` -> `SizeVerdict`.

    Example:
        >>> judge_sizes(12, 1000, 64, 10)["kid"].skip
        True
    """
    sizes = {"real": n_real, "generated": n_fake}
    verdicts = {
        "kid": _judge("KID", sizes, MINIMUM_KID, RECOMMENDED),
        "precision_recall": _judge("precision/recall", sizes, MINIMUM_PRECISION_RECALL, RECOMMENDED),
        "fid": _judge(f"FID in {dimension} dimensions", sizes, dimension + 1,
                      FID_RECOMMENDED_PER_DIMENSION * dimension),
    }
    if inception_score:
        verdicts["is"] = _judge(f"the Inception Score over {splits} splits", {"generated": n_fake},
                                IS_MINIMUM_PER_SPLIT * splits, IS_RECOMMENDED_PER_SPLIT * splits)
    return verdicts


__all__ = ["MINIMUM_KID", "MINIMUM_PRECISION_RECALL", "RECOMMENDED", "SizeVerdict", "judge_sizes"]
