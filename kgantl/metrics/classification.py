"""Classification metrics for the transfer and augmentation benchmarks."""
import numpy as np


def accuracy_and_macro_f1(labels, predictions):
    """Accuracy and macro-averaged F1 (the unweighted mean of per-class F1 over the classes in `labels`).

    A class that is never predicted has F1 0, which is what makes macro-F1 punish ignored classes.

    Args:
        labels: integer array (N,) of true classes.
        predictions: integer array (N,) of predicted classes.

    Returns:
        `(accuracy, macro_f1)`.
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"labels and predictions must be non-empty 1-D arrays of one length. "
                         f"Received: {labels.shape} and {predictions.shape}")
    scores = []
    for k in np.unique(labels):
        true_positive = np.sum((predictions == k) & (labels == k))
        predicted, actual = np.sum(predictions == k), np.sum(labels == k)
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / actual
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(labels == predictions)), float(np.mean(scores))
