"""`check_labels`: the class labels asked of a model, checked against the classes it was trained on."""
import numpy as np


def check_labels(labels, count, class_ids, conditional=None, model="model"):
    """Labels for `count` samples of a model trained on `class_ids`, as int32 (count,), or None if unconditional.

    Args:
        labels: None, one int, or `count` ints.
        count: number of samples.
        class_ids: the classes the model was trained on; None for an unconditional model, or for a
            conditional one that cannot tell its classes (a user's generator), whose labels are passed on.
        conditional: whether the model takes labels (default: `class_ids is not None`).
        model: what the messages call the model.

    Returns:
        int32 array (count,), or None for an unconditional model.

    Raises:
        ValueError: labels for an unconditional model, none for a conditional one, or a class the model
            was not trained on.

    Example:
        >>> check_labels(7, 3, [5, 6, 7])
        array([7, 7, 7], dtype=int32)
    """
    conditional = class_ids is not None if conditional is None else conditional
    if not conditional:
        if labels is not None:
            raise ValueError(f"labels are for class-conditional models; this {model} is unconditional. "
                             f"Received: labels={np.unique(labels).tolist()}")
        return None
    if labels is None:
        classes = f" (its classes: {', '.join(map(str, class_ids))})" if class_ids is not None else ""
        raise ValueError(f"labels are required for a conditional model{classes}. Received: labels=None")
    labels = np.broadcast_to(np.asarray(labels, dtype=np.int32), (count,)).copy()
    unknown = sorted(set(labels.tolist()) - set(class_ids)) if class_ids is not None else []
    if unknown:
        raise ValueError(f"labels must be classes the model was trained on ({', '.join(map(str, class_ids))}). "
                         f"Received: labels {', '.join(map(str, unknown))}")
    return labels
