"""Is a generator copying its few training shots? Scores computed from the shots alone, no test data.

With ten images a GAN adapted from a source learns them by heart within a few hundred steps, and KID against
the shots then only improves. These scores tell copying from learning the class, using the shots themselves as
held-out data by leave-one-out: shot `i` against the other shots is what a new real image of the class looks
like to a training set of `n - 1` shots.

- `copy_z`: a data-copying test in the spirit of Meehan et al.'s C_T, on the ratio of each image's distance to its
  nearest shot over its distance to the second nearest. A copy sits next to one shot and as far from the others as
  that shot is (ratio near 0); a new real image of the class, or a blurred average of several shots, does not. The
  samples' ratios (one shot left out per sample, in turn, so both sides see `n - 1` shots) are compared with the
  shots' leave-one-out ratios by a Mann-Whitney U test; the z-score is about 0 (spread 1) for a generator of new
  real images, strongly negative for one that reproduces its shots (about -5.3 for copies of ten shots against 256
  samples). Plain nearest-shot distances are not enough: averages of three shots are closer to the shots than new
  real images are (a distance test scored them -2.2 to -4.0 on Fashion-MNIST) without copying any.
- `copy_ratio`: median nearest-shot distance of the samples over the median leave-one-out distance of the shots
  (about 1 for new real images, 0 for copies).
- `shot_near_copy`: share of samples closer to a shot than any two shots are to each other.
- `intra_diversity`: Intra-LPIPS-style diversity in the extractor's features: samples are assigned to their
  nearest shot and the mean pairwise distance within each cluster is averaged, relative to the mean distance
  between shots (0 when every sample of a cluster is the same image).
- `shot_kid`: unbiased MMD² (the KID kernel) between the samples and all shots: quality, which copying also
  lowers, so it is only read beside `copy_z`.

Reference: Meehan et al., A Non-Parametric Test to Detect Data-Copying in Generative Models,
https://arxiv.org/abs/2004.05675 ; Ojha et al., Few-shot Image Generation via Cross-domain Correspondence
(Intra-LPIPS), https://arxiv.org/abs/2104.06820
"""
import numpy as np

from kgantl.metrics.distances import _as_features, _check_same_dim, _pairwise_distances, unbiased_mmd2

MIN_SHOTS = 3  # leave-one-out needs at least two shots left (a nearest and a second nearest)


def leave_one_out_distances(shots):
    """Each shot's distance to its nearest other shot: how far a new real image sits from `n - 1` shots.

    Args:
        shots: features (n, d), n >= 2.

    Returns:
        float64 array (n,).
    """
    distances = _pairwise_distances(shots, shots)
    np.fill_diagonal(distances, np.inf)
    return distances.min(axis=1)


def mann_whitney_z(x, y):
    """z-score of the Mann-Whitney U statistic of `x` against `y` (normal approximation, average ranks for ties).

    Negative when `x` tends to be smaller than `y`; about N(0, 1) when both come from one distribution.

    Args:
        x: a 1-D array with at least one value.
        y: the other 1-D array, with at least one value.

    Returns:
        float.

    Example:
        >>> mann_whitney_z(np.zeros(5), np.ones(5)) < -2.5
        True
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    # Average ranks (ties share theirs): a group of equal values ending at sorted position c, of size k, has k ranks
    # c - k + 1 .. c.
    _, group, counts = np.unique(np.concatenate([x, y]), return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[group]
    u = ranks[:len(x)].sum() - len(x) * (len(x) + 1) / 2
    mean, variance = len(x) * len(y) / 2, len(x) * len(y) * (len(x) + len(y) + 1) / 12
    return float((u - mean) / np.sqrt(variance))


def _nearest_ratios(distances):
    """Per row: the smallest distance over the second smallest (infinite entries, the left-out shot, ignored)."""
    two = np.partition(distances, 1, axis=1)[:, :2]
    return two[:, 0] / np.maximum(two[:, 1], 1e-12)


def intra_cluster_diversity(generated, shots):
    """Mean pairwise distance of samples that share a nearest shot, relative to the mean distance between shots.

    Clusters with fewer than two samples are skipped; 0.0 when no cluster has two.
    """
    nearest = _pairwise_distances(generated, shots).argmin(axis=1)
    spreads = []
    for shot in np.unique(nearest):
        members = generated[nearest == shot]
        if len(members) >= 2:
            within = _pairwise_distances(members, members)
            spreads.append(within.sum() / (len(members) * (len(members) - 1)))
    between = _pairwise_distances(shots, shots)
    scale = between.sum() / (len(shots) * (len(shots) - 1))
    return float(np.mean(spreads) / scale) if spreads and scale > 0 else 0.0


def copy_scores(generated, shots):
    """The copy detector's scores of generated samples against the shots (see the module docstring).

    Args:
        generated: features of generated samples, (m, d), m >= 2.
        shots: features of the training shots, (n, d), n >= 3.

    Returns:
        dict with `copy_z`, `copy_ratio`, `shot_near_copy`, `intra_diversity` and `shot_kid` (floats).

    Example:
        >>> scores = copy_scores(extractor.features(gan.generate(256)), extractor.features(shots))
        >>> scores["copy_z"] < -3  # copying
    """
    generated = _as_features(generated, "generated features", min_samples=2)
    shots = _as_features(shots, "shot features", min_samples=MIN_SHOTS)
    _check_same_dim(shots, generated)
    between = _pairwise_distances(shots, shots)
    np.fill_diagonal(between, np.inf)  # each shot against the others: its leave-one-out references
    held_out = between.min(axis=1)
    to_shots = _pairwise_distances(generated, shots)
    nearest = to_shots.min(axis=1)
    # Sample j is compared with the shots less shot j mod n: the same n - 1 references a held-out shot has.
    left_out = to_shots.copy()
    left_out[np.arange(len(generated)), np.arange(len(generated)) % len(shots)] = np.inf
    return {
        "copy_z": mann_whitney_z(_nearest_ratios(left_out), _nearest_ratios(between)),
        "copy_ratio": float(np.median(nearest) / max(np.median(held_out), 1e-12)),
        "shot_near_copy": float(np.mean(nearest < held_out.min())),
        "intra_diversity": intra_cluster_diversity(generated, shots),
        "shot_kid": unbiased_mmd2(shots, generated),
    }


__all__ = ["MIN_SHOTS", "copy_scores", "intra_cluster_diversity", "leave_one_out_distances", "mann_whitney_z"]
