"""The n-shot rule of BENCHMARKS.md: which training images a few-shot experiment may see."""
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
