"""Sample-quality metrics as pure functions of feature (or class-probability) arrays.

They know nothing about networks: an extractor turns images into features first. Computations are
in float64, because FID subtracts large nearly-equal numbers. The FID and KID formulas are written once,
in `keras.ops` (`frechet_distance_tensor`, `unbiased_mmd2_tensor`), so the numpy functions here and the
Keras metrics in `kgantl.metrics.keras_metrics` compute the same thing.
"""
import numpy as np
from keras import ops

# Relative eigenvalue below which a covariance counts as singular.
_SINGULAR = 1e-10


def _as_features(features, name, min_samples=2):
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples, features). Received: shape={features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{name} must not contain NaN or infinite values. "
                         f"Received: {int(np.sum(~np.isfinite(features)))} such values")
    if len(features) < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples. Received: {len(features)}")
    return features


def _check_same_dim(a, b):
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Both feature sets must have the same dimension. Received: {a.shape[1]} and {b.shape[1]}")


def _feature_pair(real, fake, min_samples=2):
    """Both feature sets checked and in float64, with the same dimension."""
    real = _as_features(real, "real features", min_samples)
    fake = _as_features(fake, "generated features", min_samples)
    _check_same_dim(real, fake)
    return real, fake


def frechet_distance_tensor(mu1, sigma1, mu2, sigma2):
    """The Fréchet distance formula of `frechet_distance` in `keras.ops`, without input checks.

    The one place it is written: `frechet_distance` calls it on numpy arrays and
    `FrechetInceptionDistance` on tensors inside the compiled metric.

    Args:
        mu1: the first set's mean, as for `frechet_distance`; numpy arrays or tensors in the dtype to compute
            in (float64), as are the others.
        sigma1: the first set's covariance.
        mu2: the second set's mean.
        sigma2: the second set's covariance.

    Returns:
        Scalar backend tensor, the squared Fréchet distance.

    Example:
        >>> float(frechet_distance_tensor(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)))
        2.0
    """
    mu1, sigma1, mu2, sigma2 = (ops.convert_to_tensor(x) for x in (mu1, sigma1, mu2, sigma2))
    values, vectors = ops.eigh(sigma1)
    root1 = ops.matmul(vectors * ops.sqrt(ops.maximum(values, 0.0)), ops.transpose(vectors))
    cross, _ = ops.eigh(ops.matmul(ops.matmul(root1, sigma2), root1))
    trace_sqrt = ops.sum(ops.sqrt(ops.maximum(cross, 0.0)))
    return ops.sum((mu1 - mu2) ** 2) + ops.trace(sigma1) + ops.trace(sigma2) - 2.0 * trace_sqrt


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    d² = |mu1 - mu2|² + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)). The trace of the matrix square root
    is computed as the sum of square roots of the eigenvalues of the symmetric matrix
    sigma1^(1/2) sigma2 sigma1^(1/2), which has the same spectrum and avoids the complex round-off of a
    general `sqrtm`.

    Args:
        mu1: the first set's mean vector (d,).
        mu2: the second set's mean vector (d,).
        sigma1: the first set's covariance matrix (d, d), symmetric positive semi-definite.
        sigma2: the second set's covariance matrix (d, d).

    Returns:
        float, the squared Fréchet distance (what papers call FID when the features are Inception's).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    dim = mu1.shape[0] if mu1.ndim == 1 else -1
    if mu1.shape != mu2.shape or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(f"means must be (d,) and covariances (d, d) alike. Received: {mu1.shape}, {sigma1.shape}, "
                         f"{mu2.shape}, {sigma2.shape}")
    return float(frechet_distance_tensor(mu1, sigma1, mu2, sigma2))


def gaussian_statistics(features, name="features"):
    """Mean and covariance of a feature set, refusing sets whose covariance would be singular.

    Args:
        features: array (n, d) with n > d.
        name: what to call the set in errors.

    Returns:
        `(mu, sigma)` in float64.
    """
    features = _as_features(features, name)
    count, dim = features.shape
    if count <= dim:
        raise ValueError(
            f"FID needs more samples than feature dimensions for a full-rank covariance; with fewer the result "
            f"is meaningless (use KID). Received: {count} samples of dimension {dim} in {name}"
        )
    mu, sigma = features.mean(axis=0), np.cov(features, rowvar=False)
    eigenvalues = np.linalg.eigvalsh(sigma)
    if eigenvalues[0] <= _SINGULAR * max(eigenvalues[-1], 1e-300):
        raise ValueError(
            f"The covariance of {name} is singular (some feature is constant or a combination of others), so "
            f"FID is not defined. Received: smallest/largest eigenvalue {eigenvalues[0]:.3g}/{eigenvalues[-1]:.3g}"
        )
    return mu, sigma


def fid_from_features(real, fake):
    """FID between two feature sets (each needs more samples than dimensions).

    Example:
        >>> fid_from_features(np.random.randn(500, 16), np.random.randn(500, 16) + 1)
    """
    real, fake = _feature_pair(real, fake)
    return frechet_distance(*gaussian_statistics(real, "real features"),
                            *gaussian_statistics(fake, "generated features"))


def unbiased_mmd2_tensor(x, y):
    """Unbiased MMD² with the kernel k(a, b) = (a·b / d + 1)³ in `keras.ops`, without input checks.

    The one place the KID formula is written: `kernel_inception_distance` calls it on numpy subsets and
    `KernelInceptionDistance` on tensors inside the compiled metric. The diagonals of k(x, x) and
    k(y, y) are left out, which makes the estimate unbiased.

    Args:
        x: features (n, d), n >= 2, a numpy array or tensor in the dtype to compute in (float64).
        y: features (m, d), m >= 2, likewise.

    Returns:
        Scalar backend tensor.

    Example:
        >>> float(unbiased_mmd2_tensor(np.eye(3), np.eye(3)))  # a set against itself: below 0
        -0.91...
    """
    x, y = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    dim = ops.cast(ops.shape(x)[1], x.dtype)

    def kernel(a, b):
        base = ops.matmul(a, ops.transpose(b)) / dim + 1.0
        return base * base * base  # ten times faster than ** 3 in float64

    def mean_off_diagonal(matrix):
        count = ops.cast(ops.shape(matrix)[0], matrix.dtype)
        return (ops.sum(matrix) - ops.trace(matrix)) / (count * (count - 1.0))

    return mean_off_diagonal(kernel(x, x)) + mean_off_diagonal(kernel(y, y)) - 2.0 * ops.mean(kernel(x, y))


def unbiased_mmd2(real, fake):
    """Unbiased MMD² between two whole feature sets (KID without subsets).

    Args:
        real: real images' features (n, d), n >= 2.
        fake: generated images' features (m, d), m >= 2.

    Returns:
        float.

    Example:
        >>> unbiased_mmd2(np.random.randn(200, 16), np.random.randn(300, 16) + 1)
    """
    real, fake = _feature_pair(real, fake)
    return float(unbiased_mmd2_tensor(real, fake))


def kid_subset_size(subset_size, n_real, n_fake, subsets=100):
    """The subset size `kernel_inception_distance` actually uses.

    The requested size when it is below both set sizes. When it reaches the smaller set, subsets of the
    whole smaller set would all hold the same samples there and their spread would say nothing (a std of
    exactly 0 when both sets have that size), so half the smaller set is used instead (at least 2): the
    subsets then differ, and the std is the spread of the subset estimates at that size. With one subset
    there is no spread to estimate, and the whole smaller set is used.

    Args:
        subset_size: requested samples per subset.
        n_real: size of the real feature set.
        n_fake: size of the generated feature set.
        subsets: number of subsets.

    Returns:
        int.

    Example:
        >>> kid_subset_size(1000, 1000, 1000), kid_subset_size(1000, 5000, 2000), kid_subset_size(1000, 300, 300, 1)
        (500, 1000, 300)
    """
    smaller = min(n_real, n_fake)
    if subset_size < smaller or subsets == 1:
        return min(subset_size, smaller)
    return max(2, smaller // 2)


def kernel_inception_distance(real, fake, subsets=100, subset_size=1000, seed=0):
    """KID: the unbiased estimate of MMD² with the kernel k(x, y) = (x·y / d + 1)³, over random subsets.

    Unbiased means it averages to 0 for two samples of one distribution, so single values can be
    slightly negative. Reliable with far fewer samples than FID, which is biased upwards for small n.

    The spread: when `subset_size` is at least the smaller set's size (1000 generated images against
    1000 reference images, say), subsets of whole sets would all be equal and report a std of 0, which
    says nothing. Subsets of half the smaller set are drawn instead (see `kid_subset_size`; `evaluate`
    reports the size used as `kid_subset_size`); the mean still estimates the same MMD², since the
    estimate is unbiased at every subset size.

    Args:
        real: real images' features (n, d).
        fake: generated images' features (m, d).
        subsets: number of random subsets.
        subset_size: samples per subset; `kid_subset_size` gives the size used.
        seed: seed of the subset draws.

    Returns:
        `(mean, std)` of MMD² over the subsets; the std is the spread of single-subset estimates at the size used.

    Example:
        >>> kernel_inception_distance(np.random.randn(500, 16), np.random.randn(500, 16) + 1, subset_size=200)

    Reference: Bińkowski et al., Demystifying MMD GANs, https://arxiv.org/abs/1801.01401
    """
    real, fake = _feature_pair(real, fake)
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"subsets must be >= 1 and subset_size >= 2. Received: subsets={subsets}, "
                         f"subset_size={subset_size}")
    size = kid_subset_size(subset_size, len(real), len(fake), subsets)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), size, replace=False)]
        y = fake[rng.choice(len(fake), size, replace=False)]
        values.append(float(unbiased_mmd2_tensor(x, y)))
    return float(np.mean(values)), float(np.std(values))


def inception_score(probabilities, splits=10):
    """IS = exp(E_x KL(p(y|x) || p(y))), averaged over `splits` parts of the samples.

    Args:
        probabilities: array (n, classes) of class probabilities (rows sum to 1).
        splits: number of parts (each needs at least one sample).

    Returns:
        `(mean, std)` over the parts. 1.0 for constant predictions; the class count for confident predictions spread
            evenly over the classes.

    Reference: Salimans et al., Improved Techniques for Training GANs, https://arxiv.org/abs/1606.03498
    """
    probabilities = _as_features(probabilities, "probabilities", min_samples=1)
    if np.any(probabilities < 0) or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("probabilities must be non-negative rows that sum to 1 (apply softmax first).")
    if not 1 <= splits <= len(probabilities):
        raise ValueError(f"splits must be between 1 and the sample count {len(probabilities)}. Received: {splits}")
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _pairwise_distances(a, b):
    sq = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(sq, 0, None))


def _manifold_coverage(reference, queries, k, chunk=1024):
    """Share of `queries` inside the union of balls around `reference` points (radius: k-th neighbour).

    Works in row chunks, so memory grows with chunk x len(reference), not with the square.
    """
    radii = np.concatenate([np.partition(_pairwise_distances(reference[i:i + chunk], reference), k, axis=1)[:, k]
                            for i in range(0, len(reference), chunk)])  # column 0 is the point itself
    # |a|² + |b|² - 2ab loses about 1e-7 relative to the norms: an exact copy must still count as inside.
    slack = 1e-6 * float(np.sqrt(np.mean(np.sum(reference * reference, axis=1))))
    inside = [np.any(_pairwise_distances(queries[i:i + chunk], reference) <= radii[None, :] + slack, axis=1)
              for i in range(0, len(queries), chunk)]
    return float(np.mean(np.concatenate(inside)))


def precision_recall(real, fake, k=3):
    """Improved precision and recall with k-nearest-neighbour manifolds.

    Precision: share of generated samples inside the real manifold (quality). Recall: share of real
    samples inside the generated manifold (diversity); a GAN that copies a few images has high
    precision and low recall.

    Args:
        real: real images' features (n, d), n > k.
        fake: generated images' features (m, d), m > k.
        k: neighbour rank defining each ball's radius.

    Returns:
        `(precision, recall)` in [0, 1].

    Reference: Kynkäänniemi et al., Improved Precision and Recall Metric for Assessing Generative Models,
    https://arxiv.org/abs/1904.06991
    """
    real, fake = _feature_pair(real, fake, min_samples=k + 1)
    return _manifold_coverage(real, fake, k), _manifold_coverage(fake, real, k)
