"""The benchmark protocol's n-shot rule: which training images a few-shot experiment may see, and which of them
are held out for validation."""
import dataclasses

import numpy as np


def select_shots(labels, classes, shots, seed=0):
    """Positions of the n-shot subset, per class, exactly as the benchmark protocol defines it.

    For each class `k` (in the order given): `idx = np.flatnonzero(labels == k)`, then
    `idx[np.random.default_rng(seed).permutation(len(idx))[:shots]]`. For one seed the 10-shot
    set is therefore inside the 100-shot set.

    Args:
        labels: 1-D integer array of class labels, in file order.
        classes: iterable of class ids to take shots from.
        shots: images per class (positive int).
        seed: the protocol's seed.

    Returns:
        1-D int64 array of positions into `labels`, class by class.

    Example:
        >>> select_shots(np.array([0, 1, 1, 0, 1]), [1], shots=2, seed=0)
    """
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise ValueError(f"shots must be a positive integer. Received: shots={shots!r}")
    labels = np.asarray(labels)
    chosen = []
    for k in classes:
        idx = np.flatnonzero(labels == k)
        if shots > len(idx):
            raise ValueError(f"shots must be <= {len(idx)} for class {k}. Received: shots={shots}")
        rng = np.random.default_rng(seed)
        chosen.append(idx[rng.permutation(len(idx))[:shots]])
    return np.concatenate(chosen).astype(np.int64)


def default_held_out(arrays):
    """Images per class held out for validation by default: a fifth of the rarest class, at least 1."""
    return max(1, int(np.unique(arrays.labels, return_counts=True)[1].min()) // 5)


def split_validation(arrays, per_class):
    """Hold out the last `per_class` images of every class (n-shot order) as validation images.

    Args:
        arrays: `ImageArrays`.
        per_class: images per class to hold out; every class must keep at least one for training.

    Returns:
        `(train, validation)` `ImageArrays`.

    Example:
        >>> train, val = split_validation(load_arrays("fashion_mnist:7", shots=100), 20)
    """
    counts = dict(zip(*np.unique(arrays.labels, return_counts=True)))
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1 \
            or per_class >= min(counts.values()):
        raise ValueError(f"images held out per class must be in 1..{min(counts.values()) - 1} (every class keeps one "
                         f"to train on; the rarest has {min(counts.values())}). Received: {per_class!r}")
    val = np.zeros(len(arrays.labels), bool)
    for k in counts:
        val[np.flatnonzero(arrays.labels == k)[-per_class:]] = True
    return (dataclasses.replace(arrays, images=arrays.images[~val], labels=arrays.labels[~val]),
            dataclasses.replace(arrays, images=arrays.images[val], labels=arrays.labels[val]))
