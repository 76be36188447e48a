"""`finetune_classifier`: data spec + backbone + schedule -> a scored classifier in its own run directory."""
from kgantl.data import load_arrays, make_dataset
from kgantl.io import atomic_path, write_json
from kgantl.metrics.classification import accuracy_and_macro_f1
from kgantl.runs.folder import next_run_dir
from kgantl.classifier.model import build_classifier
from kgantl.classifier.schedule import FreezeSchedule


def score_classifier(model, arrays):
    """`(accuracy, macro_f1)` of a classifier (images in [-1, 1]) on `ImageArrays` (pixels in [0, 255])."""
    predictions = model.predict(arrays.images / 127.5 - 1.0, batch_size=500, verbose=0).argmax(axis=1)
    return accuracy_and_macro_f1(arrays.labels, predictions)


def finetune_classifier(data, backbone, stages, shots=None, seed=0, weights="imagenet", unit="blocks",
                        batch_size=16, runs_root="runs", arguments=None, verbose="auto"):
    """Fine-tune a classifier on a backbone with a freeze schedule, score it on the test split, save it.

    Args:
        data: labelled data spec (train split for training, test split for scoring).
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

    Returns:
        `(report, run_dir)`; the run directory holds `model.keras` and `report.json` (test accuracy,
        macro-F1, per-stage trainable counts and final loss).

    Example:
        >>> report, _ = finetune_classifier("fashion_mnist:5-9", "saved_models/fmnist-0-4-backbone/model.keras",
        ...                                 [Stage(20, 0, 1e-3), Stage(20, 2, 1e-4)], shots=10, unit="layers")
    """
    train = load_arrays(data, shots=shots, seed=seed)
    test = load_arrays(data, split="test")
    named = not str(backbone).endswith(".keras")
    model = build_classifier(backbone, num_classes=train.num_classes, input_shape=train.images.shape[1:],
                             weights=weights)
    schedule = FreezeSchedule(stages, unit=unit, backbone_name=backbone if named else None)
    results = schedule.fit(model, make_dataset(train, batch_size=batch_size, seed=seed, with_labels=True),
                           verbose=verbose)
    accuracy, macro_f1 = score_classifier(model, test)
    run_dir = next_run_dir(runs_root, "classifier")
    run_dir.mkdir(parents=True)
    with atomic_path(run_dir / "model.keras") as tmp:
        model.save(tmp)
    report = {"test_accuracy": accuracy, "test_macro_f1": macro_f1,
              "stages": [{k: v for k, v in r.items() if k != "history"} | {"final_loss": r["history"]["loss"][-1]}
                         for r in results],
              "arguments": arguments or {}}
    write_json(run_dir / "report.json", report)
    return report, run_dir
