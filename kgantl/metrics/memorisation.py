"""Does a generator copy its training images? Nearest-neighbour distances in feature space.

A few-shot GAN can score a low KID by reproducing its shots (in kgantl's benchmark, copying 100 shots beats a
good GAN on KID). This check puts each generated sample beside its nearest training image and its
nearest test image, and counts near-copies: samples closer to a training image than real images of
the class typically are to each other (the median nearest-neighbour distance within the test set).
"""
import numpy as np

from kgantl.metrics.distances import _as_features, _check_same_dim, _pairwise_distances

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _nearest(queries, reference, chunk=1024, exclude_self=False):
    """Distance from each query to its nearest reference point (rows in chunks to bound memory)."""
    out = []
    for i in range(0, len(queries), chunk):
        d = _pairwise_distances(queries[i:i + chunk], reference)
        if exclude_self:  # queries are the reference itself: skip the zero on the diagonal
            rows = np.arange(d.shape[0])
            d[rows, rows + i] = np.inf
        out.append(d.min(axis=1))
    return np.concatenate(out)


def _summary(values):
    return {f"q{int(q * 100):02d}": float(np.quantile(values, q)) for q in QUANTILES}


def memorisation_check(generated, train, test):
    """Nearest-neighbour distances of generated samples to the training and the test images.

    Args:
        generated: features of generated samples, (m, d).
        train: features of the images the generator was trained on, (n, d), n >= 1.
        test: features of held-out real images of the same classes, (t, d), t >= 2.

    Returns:
        dict with `to_train` and `to_test` (quantiles q05..q95 of each sample's nearest distance), `test_nn` (quantiles
            of the nearest-neighbour distance among test images), `threshold` (its median), `near_copy_share` (share of
            samples whose nearest training image is closer than `threshold`; 1.0 for exact copies, near 0 for a
            generator that makes new images), `closer_to_train_share` (share nearer to a training image than to any test
            image), `real_near_copy_share` (the same count for the test images themselves: what a generator of new real
            images would score, since a dense test set sits closer to the shots than its median) and the three set
            sizes.

    Example:
        >>> report = memorisation_check(extractor.features(fake), extractor.features(shots),
        ...                             extractor.features(test_images))
        >>> report["near_copy_share"]
    """
    generated = _as_features(generated, "generated features", min_samples=1)
    train = _as_features(train, "training features", min_samples=1)
    test = _as_features(test, "test features", min_samples=2)
    _check_same_dim(train, generated)
    _check_same_dim(test, generated)
    to_train = _nearest(generated, train)
    to_test = _nearest(generated, test)
    test_nn = _nearest(test, test, exclude_self=True)
    threshold = float(np.median(test_nn))
    return {
        "to_train": _summary(to_train), "to_test": _summary(to_test), "test_nn": _summary(test_nn),
        "threshold": threshold,
        "near_copy_share": float(np.mean(to_train < threshold)),
        "closer_to_train_share": float(np.mean(to_train < to_test)),
        "real_near_copy_share": float(np.mean(_nearest(test, train) < threshold)),
        "n_generated": len(generated), "n_train": len(train), "n_test": len(test),
    }
