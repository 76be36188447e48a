"""`finetune_classifier`: data spec + backbone + schedule -> a scored classifier in its own run directory."""
import dataclasses

import numpy as np

from kgantl.data import load_arrays, make_dataset
from kgantl.data.shots import select_shots
from kgantl.io import atomic_path, write_json
from kgantl.metrics.classification import accuracy_and_macro_f1
from kgantl.metrics.evaluate import reference_kind
from kgantl.runs.folder import next_run_dir
from kgantl.classifier.backbones import BACKBONES
from kgantl.classifier.model import build_classifier
from kgantl.classifier.schedule import FreezeSchedule


def score_classifier(model, arrays):
    """`(accuracy, macro_f1)` of a classifier (images in [-1, 1]) on `ImageArrays` (pixels in [0, 255])."""
    predictions = model.predict(arrays.images / 127.5 - 1.0, batch_size=500, verbose=0).argmax(axis=1)
    return accuracy_and_macro_f1(arrays.labels, predictions)


# A design choice: of a folder or file used whole (no --shots and no test data), a fifth of each class is held out.
HELD_OUT_SHARE = 0.2


def _subset(arrays, positions):
    return dataclasses.replace(arrays, images=arrays.images[positions], labels=arrays.labels[positions])


def test_set_record(rule, train, test):
    """What a report says of the test set: `{"rule": sentence, "images": N, "train_images": M}`."""
    return {"rule": rule, "images": int(len(test.labels)), "train_images": int(len(train.labels))}


def train_and_test(data, shots=None, seed=0, test_data=None):
    """The images a classifier trains on and the ones it is scored on, never the same, and the rule that chose them.

    - `test_data` given: all of it (its test split where it has one) is the test set.
    - `data` with a test split (`fashion_mnist`, `digits`, `tfds:`): train on its train split (the n-shot rule
      with `shots`), test on its test split.
    - a folder or a file (one set): with `shots`, the n-shot rule picks the training images and every other image
      is the test set; without, the last `HELD_OUT_SHARE` of each class (of its own size) in the n-shot rule's
      order (at least one, each class keeping one to train on) is the test set.

    Returns:
        `(train ImageArrays, test ImageArrays, rule)`, the rule a sentence for the report.

    Raises:
        ValueError: the test images' shape differs from the training images', or a set too small to split.

    Example:
        >>> train, test, rule = train_and_test("photos/", shots=10)
    """
    train, test, rule = _train_and_test(data, shots, seed, test_data)
    if test.images.shape[1:] != train.images.shape[1:]:
        raise ValueError(f"the test images must have the training images' shape {train.images.shape[1:]}. "
                         f"Received: {test.images.shape[1:]} ({rule})")
    return train, test, rule


def _train_and_test(data, shots, seed, test_data):
    if test_data is not None:
        split = "test" if reference_kind(test_data) == "split" else "train"
        return load_arrays(data, shots=shots, seed=seed), load_arrays(test_data, split=split), \
            f"all of {test_data} ({split} split)" if split == "test" else f"all of {test_data}"
    if reference_kind(data) == "split":
        return load_arrays(data, shots=shots, seed=seed), load_arrays(data, split="test"), f"the test split of {data}"
    everything = load_arrays(data)
    classes = np.unique(everything.labels)
    if shots is None:
        counts = dict(zip(*np.unique(everything.labels, return_counts=True)))
        if min(counts.values()) < 2:
            raise ValueError(f"{data} holds one set (no test split) with {min(counts.values())} image in its rarest "
                             f"class: too few to hold one out for testing; give test_data (--test-data). "
                             f"Received: {data}")
        # Each class in the n-shot rule's order (all its images, shuffled by the seed); its last fifth (at least one,
        # the class keeping one to train on) is held out. Classes of any size: none is cut to the rarest's size.
        held = {k: min(max(1, int(count * HELD_OUT_SHARE)), count - 1) for k, count in counts.items()}
        by_class = {k: select_shots(everything.labels, [k], int(counts[k]), seed) for k in classes}
        train_at = np.concatenate([by_class[k][:-held[k]] for k in classes])
        rule = (f"the last fifth (at least 1) of each class of {data} in the n-shot rule's order (seed {seed}), "
                f"{sum(held.values())} images never trained on")
    else:
        train_at = select_shots(everything.labels, classes, shots, seed)
        rule = f"every image of {data} the n-shot rule (seed {seed}, {shots} per class) did not pick for training"
    test_at = np.setdiff1d(np.arange(len(everything.labels)), train_at)
    if len(test_at) == 0:
        raise ValueError(f"{data} has no image left to test on after training on {shots} per class: give fewer shots "
                         f"or test_data (--test-data). Received: shots={shots}")
    return _subset(everything, train_at), _subset(everything, test_at), rule


def prepare_finetune(data, backbone, shots=None, seed=0, weights="imagenet", test_data=None, input_size=None):
    """Everything `finetune_classifier` checks before training: the data and its test set (`train_and_test`), their
    image shapes, and the classifier built on the backbone with its weights. Writes nothing (`--dry-run` runs it).

    Args:
        data: labelled data spec (see `finetune_classifier`).
        backbone: a `keras.applications` family, a `keras.Model` or a `.keras` file.
        shots: images per class by the n-shot rule, or None for all.
        seed: seed of the n-shot rule and of the held-out fifth.
        weights: `"imagenet"`, None or a weights file (named backbones).
        test_data: a data spec to score on instead, or None.
        input_size: side a named backbone is fed (default: the data's image side, at least the family's minimum).

    Returns:
        `(train, test, test rule, model, backbone_input)`; `backbone_input` is a dict: the `shape` the backbone is fed
            and the `rule` that chose it (size and channel conversion), as the report records them.

    Raises:
        ValueError: the test images' shape differs from the training images', or what the data, the backbone or
            its weights refuse.

    Example:
        >>> train, test, rule, model, fed = prepare_finetune("photos/", "vgg16", shots=10, weights=None)
        >>> fed
        {'shape': [64, 64, 3], 'rule': "the data's 64x64 images"}
    """
    train, test, rule = train_and_test(data, shots, seed, test_data)
    model = build_classifier(backbone, num_classes=train.num_classes, input_shape=train.images.shape[1:],
                             weights=weights, input_size=input_size)
    return train, test, rule, model, backbone_input(model, backbone, train.images.shape[1:], input_size)


def backbone_input(model, backbone, image_shape, input_size=None):
    """What a classifier's backbone is fed and why: `{"shape": [height, width, channels], "rule": sentence}`.

    Args:
        model: a classifier made by `build_classifier`.
        backbone: the backbone it was built on (a family name, a `.keras` path, a `keras.Model`).
        image_shape: the data's image shape.
        input_size: the `input_size` it was built with.

    Returns:
        dict with `shape` and `rule`, e.g. the data's 28x28 grey images for vgg16: `[32, 32, 3]`, "the data's 28x28
            images raised to vgg16's minimum side 32; grey images repeated to 3 channels".

    Example:
        >>> backbone_input(build_classifier("vgg16", 2, (28, 28, 1), weights=None), "vgg16", (28, 28, 1))["shape"]
        [32, 32, 3]
    """
    adapter = model.get_layer("input_adapter")
    height, width, channels = (int(n) for n in image_shape)
    if isinstance(backbone, str) and backbone in BACKBONES:
        least = BACKBONES[backbone].min_size
        rule = (f"input_size {input_size}" if input_size is not None else f"the data's {height}x{width} images" + (
            f" raised to {backbone}'s minimum side {least}" if max(height, width) < least else ""))
    else:
        rule = "the backbone's own input"
    rule += {(1, 3): "; grey images repeated to 3 channels",
             (3, 1): "; colour images converted to grey (ITU-R 601 luma)"}.get((channels, adapter.channels), "")
    return {"shape": [*adapter.size, adapter.channels], "rule": rule}


def finetune_classifier(data, backbone, stages, shots=None, seed=0, weights="imagenet", unit="blocks",
                        batch_size=16, runs_root="runs", arguments=None, verbose="auto", test_data=None,
                        input_size=None):
    """Fine-tune a classifier on a backbone with a freeze schedule, score it on images it did not train on, save it.

    Args:
        data: labelled data spec: its train split trains and its test split scores; a folder or file (one set) is
            split by `train_and_test`'s rule, and the report says which images were the test set.
        backbone: see `build_classifier`.
        stages: list of `Stage`.
        shots: images per class by the n-shot rule, or None for all.
        seed: seed of the shots and shuffling.
        weights: `"imagenet"`, None or a weights file (named backbones).
        unit: what a stage's `trainable` counts: `"blocks"` or `"layers"`.
        batch_size: images per batch.
        runs_root: parent of the new `NNNNN-classifier` run directory.
        arguments: extra record of how it was called, stored in the report.
        verbose: Keras progress setting of the fits (2: one line per epoch).
        test_data: a data spec to score on instead (all of it; its test split where it has one).
        input_size: side a named backbone is fed (default: the data's image side raised to the family's
            minimum, 32; a `.keras` backbone takes its own input size).

    Returns:
        `(report, run_dir)`; the run directory holds `model.keras` and `report.json` (test accuracy, macro-F1, the test
            set's rule, what the backbone was fed, per-stage trainable counts and final loss).

    Example:
        >>> report, _ = finetune_classifier("fashion_mnist:5-9", "saved_models/fmnist-0-4-backbone/model.keras",
        ...                                 [Stage(20, 0, 1e-3), Stage(20, 2, 1e-4)], shots=10, unit="layers")
    """
    train, test, test_rule, model, fed = prepare_finetune(data, backbone, shots, seed, weights, test_data,
                                                          input_size)
    named = not str(backbone).endswith(".keras")
    schedule = FreezeSchedule(stages, unit=unit, backbone_name=backbone if named else None)
    results = schedule.fit(model, make_dataset(train, batch_size=batch_size, seed=seed, with_labels=True),
                           verbose=verbose)
    accuracy, macro_f1 = score_classifier(model, test)
    run_dir = next_run_dir(runs_root, "classifier")
    run_dir.mkdir(parents=True)
    with atomic_path(run_dir / "model.keras") as tmp:
        model.save(tmp)
    report = {"test_accuracy": accuracy, "test_macro_f1": macro_f1,
              "test_set": test_set_record(test_rule, train, test),
              "backbone_input": fed,
              "stages": [{k: v for k, v in r.items() if k != "history"} | {"final_loss": r["history"]["loss"][-1]}
                         for r in results],
              "arguments": arguments or {}}
    write_json(run_dir / "report.json", report)
    return report, run_dir
