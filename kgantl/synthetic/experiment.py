"""`augment_experiment`: does generated data help a few-shot classifier? Measured end to end.

Per seed: take the n-shot set, hold out a validation part of it, train (or transfer) a conditional GAN on
the rest, check it for memorisation, fine-tune one classifier per mix ratio plus a classic-augmentation
baseline (same backbone, schedule, seed and number of steps), pick the ratio on the validation images,
and score every classifier on the full test split.
"""
import dataclasses
import json
import logging
import math
from pathlib import Path

import keras
import numpy as np

from kgantl.data.classic_augment import augment_dataset, classic_augmentation
from kgantl.synthetic.mix import GenerationStats, mix_real_and_generated
from kgantl.option_fields import OptionError
from kgantl.synthetic.report import CLASSIC, score_text, markdown_report, summarise
from kgantl.synthetic.settings import AugmentSettings
from kgantl.data import load_arrays, make_dataset
from kgantl.data.shots import split_validation
from kgantl.io import atomic_path, write_json, write_npz
from kgantl.runs.lock import RunDirLock
from kgantl.runs.folder import describe_differences, newest_run, next_run_dir
from kgantl.shipped import resolve_model_path
from kgantl.classifier.model import build_classifier
from kgantl.classifier.finetune import score_classifier
from kgantl.classifier.schedule import FreezeSchedule

logger = logging.getLogger("kgantl")

def resolve_backbone(backbone):
    """A `saved_models/<name>` folder means its `model.keras`; anything else is passed on as it is."""
    from kgantl.runs.artifacts import model_file

    return str(model_file(str(backbone)))


def train_shot_gan(train, settings, seed, run_dir, verbose=0):
    """Train (or transfer) a conditional GAN on the training shots; they are saved as `shots.npz` beside it."""
    from kgantl.config import TrainOptions
    from kgantl.training import train as train_gan

    run_dir.mkdir(parents=True, exist_ok=True)
    shots_file = run_dir / "shots.npz"
    write_npz(shots_file, images=train.images.astype(np.uint8), labels=train.labels)
    epochs = 5 if settings.gan_steps % 5 == 0 else 1  # 5 epochs give sample grids along the way
    options = dict(data=str(shots_file), seed=seed, conditional=True, batch_size=settings.gan_batch_size,
                   epochs=epochs, steps_per_epoch=settings.gan_steps // epochs,
                   diffaugment=settings.gan_diffaugment, run_dir=str(run_dir / "gan"), sample_every=epochs,
                   eval_every=0)  # the GAN trains on every shot (no val_kid hold-out), as it always has
    if settings.source:
        options.update(source=settings.source, strategy=settings.strategy)
    history, gan_dir = train_gan(TrainOptions(**options), verbose=verbose)
    if history is None:  # a resumed run that only had its final model left to save
        from kgantl.runs.artifacts import load_gan

        return load_gan(gan_dir), gan_dir
    return history.model, gan_dir


def train_classifier(train, settings, seed, generator=None, ratio=0.0, augmentation=None, filter_model=None):
    """Fine-tune one classifier on the training shots, mixed with generated images at `ratio`.

    Every call trains for the same number of steps (ceil(train images / batch) an epoch), so ratios
    compare at equal compute: generated images replace real ones in the batches, they do not add steps.

    Returns:
        `(model, stats)`: the trained classifier and the `GenerationStats` (None at ratio 0).
    """
    keras.utils.set_random_seed(seed)  # every method starts from the same head and sees the same shuffles
    model = build_classifier(resolve_backbone(settings.backbone), num_classes=train.num_classes,
                             input_shape=train.images.shape[1:], weights=settings.weights, dense_units=(),
                             dropout=0.3, feature_layer=settings.feature_layer)
    dataset = make_dataset(train, batch_size=settings.batch_size, seed=seed, repeat=True, with_labels=True)
    if augmentation is not None:
        dataset = augment_dataset(dataset, augmentation)
    stats = None
    if ratio > 0:
        stats = GenerationStats()
        dataset = mix_real_and_generated(dataset, generator, ratio, seed=seed,
                                         class_counts=np.bincount(train.labels, minlength=train.num_classes),
                                         balance=settings.balance, filter_model=filter_model,
                                         threshold=settings.filter_threshold or 0.0, stats=stats)
    named = not resolve_backbone(settings.backbone).endswith(".keras")
    schedule = FreezeSchedule(settings.parsed_stages, unit=settings.unit,
                              backbone_name=settings.backbone if named else None)
    schedule.fit(model, dataset, steps_per_epoch=math.ceil(len(train.labels) / settings.batch_size), verbose=0)
    return model, stats


def _score(model, val, test):
    val_accuracy, _ = score_classifier(model, val)
    accuracy, macro_f1 = score_classifier(model, test)
    return {"val_accuracy": val_accuracy, "test_accuracy": accuracy, "test_macro_f1": macro_f1}


def test_reference(settings):
    """`(spec, split)` the experiment scores on: `test_data`, all of it (its test split where it has one), else the
    test split of `data`.

    Raises:
        OptionError: `data` is one set (a folder or a file: its "test split" is its training images) and no
            `test_data` is given.
    """
    from kgantl.metrics.evaluate import reference_kind

    if settings.test_data is not None:
        return settings.test_data, "test" if reference_kind(settings.test_data) == "split" else "train"
    if reference_kind(settings.data) != "split":
        raise OptionError("test_data", f"data is one set with no test split, so the classifiers would be scored on "
                                       f"their own training images; give test_data (--test-data SPEC). "
                                       f"Received: data={settings.data!r}")
    return settings.data, "test"


def run_seed(settings, seed, run_dir, test, verbose=0):
    """One seed of the experiment; returns its record (GAN check, one row per method, chosen ratio)."""
    from kgantl.metrics import evaluate

    arrays = load_arrays(settings.data, shots=settings.shots, seed=seed)
    train, val = split_validation(arrays, settings.held_out)
    record = {"seed": seed, "train_images": len(train.labels), "val_images": len(val.labels), "rows": []}
    gan = None
    if any(r > 0 for r in settings.ratios):
        gan, gan_dir = train_shot_gan(train, settings, seed, run_dir / f"seed{seed}", verbose=verbose)
        ref, split = test_reference(settings)
        check = evaluate(gan, ref=ref, split=split, n=settings.eval_n, seed=seed, train_images=train.images)
        record["gan"] = {"run_dir": str(gan_dir), **{k: check[k] for k in (
            "protocol", "kid", "kid_std", "fid", "precision", "recall", "near_copy_share", "memorisation")}}
        logger.info("seed %d: GAN KID %s, recall %s, near-copy share %.3f", seed, score_text(check["kid"], 4),
                    score_text(check["recall"], 3), check["near_copy_share"])
    reference = None
    for ratio in sorted(settings.ratios):
        use_filter = settings.filter_threshold is not None and ratio > 0
        model, stats = train_classifier(train, settings, seed, gan, ratio, filter_model=reference if use_filter
                                        else None)
        row = {"method": f"ratio {ratio:g}", "ratio": ratio, **_score(model, val, test),
               "generated": stats.as_dict() if stats else None}
        record["rows"].append(row)
        logger.info("seed %d, %s: val %.3f, test accuracy %.4f, macro-F1 %.4f", seed, row["method"],
                    row["val_accuracy"], row["test_accuracy"], row["test_macro_f1"])
        if ratio == 0:
            reference = model  # the filter's judge: trained on the real shots only
    if settings.classic_baseline:
        model, _ = train_classifier(train, settings, seed, augmentation=classic_augmentation(seed))
        record["rows"].append({"method": CLASSIC, "ratio": 0.0, **_score(model, val, test), "generated": None})
    ratio_rows = [r for r in record["rows"] if r["method"] != CLASSIC]
    # Ties go to the smaller ratio: no generated data unless validation says it helps.
    chosen = max(ratio_rows, key=lambda r: (r["val_accuracy"], -r["ratio"]))
    record["selected"] = {"ratio": chosen["ratio"], "test_accuracy": chosen["test_accuracy"],
                          "test_macro_f1": chosen["test_macro_f1"]}
    return record


SETTINGS_FILE = "settings.json"
RECORD_FILE = "record.json"
REPORT_FILE = "report.json"


def _differing_settings(run_dir, settings):
    """`key=new (was stored), ...` for the settings in which `run_dir/settings.json` differs from `settings`.

    Empty when they are equal or `run_dir` holds no `settings.json`.
    """
    path = Path(run_dir) / SETTINGS_FILE
    if not path.is_file():
        return ""
    # Through the defaults, so a run written before a setting existed compares with its default.
    defaults = {f.name: f.default for f in dataclasses.fields(AugmentSettings) if f.default is not dataclasses.MISSING}
    old = json.loads(json.dumps({**defaults, **json.loads(path.read_text())}))
    return describe_differences(settings.to_dict(), old)


def find_resumable_experiment(runs_root, settings):
    """The newest unfinished `NNNNN-augment` run under `runs_root` whose settings equal `settings`, or None."""
    return newest_run(runs_root, lambda candidate: (candidate / SETTINGS_FILE).is_file()
                      and not (candidate / REPORT_FILE).is_file() and not _differing_settings(candidate, settings),
                      name="augment")


def _experiment_dir(settings, runs_root, run_dir):
    if run_dir:
        differing = _differing_settings(run_dir, settings)
        if differing:
            raise ValueError(f"run_dir {run_dir} holds an augment experiment with other settings; choose another "
                             f"run_dir or the same settings. Received different: {differing}")
        return Path(run_dir)
    return find_resumable_experiment(runs_root, settings) or next_run_dir(runs_root, "augment")


def _check_backbone(settings):
    """The classifier backbone resolves: a named one with usable weights, or a `.keras` file with its feature layer."""
    from kgantl.classifier.backbones import BACKBONES

    backbone = resolve_backbone(settings.backbone)
    rule = (f"backbone must be one of {', '.join(BACKBONES)}, a .keras file or a folder holding model.keras. "
            f"Received: backbone={settings.backbone!r}")
    if backbone.endswith(".keras"):
        if not Path(backbone).is_file():
            raise FileNotFoundError(rule)
        if settings.feature_layer is not None:
            names = [layer.name for layer in keras.saving.load_model(backbone, compile=False).layers]
            if settings.feature_layer not in names:
                raise ValueError(f"feature_layer must be a layer of {backbone} ({', '.join(names)}). "
                                 f"Received: feature_layer={settings.feature_layer!r}")
    elif backbone not in BACKBONES:
        raise ValueError(rule)
    elif settings.weights not in (None, "imagenet") and not Path(settings.weights).is_file():
        raise FileNotFoundError(f"weights must be 'imagenet', None or an existing weights file. "
                                f"Received: weights={settings.weights!r}")


@dataclasses.dataclass
class PreparedExperiment:
    """What `run_experiment` needs; built by `prepare_experiment`, which does all the checking."""

    settings: AugmentSettings
    run_dir: Path
    test: object
    lock: object = None  # the run directory's `RunDirLock`, held until `run_experiment` ends


def check_experiment(settings, runs_root="runs", run_dir=None):
    """Every check `prepare_experiment` makes, writing nothing (what `kgantl augment --dry-run` runs).

    Args:
        settings: `AugmentSettings`.
        runs_root: parent of the `NNNNN-augment` run directories.
        run_dir: the run directory asked for, or None.

    Returns:
        `(run directory the experiment would use, test ImageArrays)`.

    Example:
        >>> run_dir, test = check_experiment(AugmentSettings("fashion_mnist:5-9", shots=10, backbone="vgg16"))
    """
    settings.validate()
    run_dir = _experiment_dir(settings, runs_root, run_dir)
    ref, split = test_reference(settings)
    test = load_arrays(ref, split=split)
    load_arrays(settings.data, shots=settings.shots, seed=settings.seeds[0])  # enough images for the n-shot rule
    _check_backbone(settings)
    if settings.source and any(r > 0 for r in settings.ratios) and not resolve_model_path(settings.source).exists():
        raise FileNotFoundError(f"source must be a .keras file, a saved_models/ folder, a run directory or a "
                                f"shipped model's name. Received: source={settings.source!r}")
    return run_dir, test


def prepare_experiment(settings, runs_root="runs", run_dir=None):
    """Check everything that can be checked before training, then pick the run directory and write `settings.json`.

    Every input error surfaces here, before the run directory is created (the CLI maps them to exit status
    2): the settings, a `run_dir` holding other settings, the data (test split and the n-shot set), the
    backbone (and its feature layer or weights file) and the source GAN's path. Without `run_dir`, an
    unfinished `NNNNN-augment` run with equal settings under `runs_root` is picked up.

    Args:
        settings: `AugmentSettings`.
        runs_root: parent of the `NNNNN-augment` run directories.
        run_dir: use this directory instead; if it holds other settings, a `ValueError` names them.

    Returns:
        `PreparedExperiment`, holding the run directory's lock (`kgantl.runs.lock`) until `run_experiment` ends.

    Raises:
        RunDirInUse: another process runs an experiment in that directory (nothing was written).

    Example:
        >>> prepared = prepare_experiment(AugmentSettings("fashion_mnist:5-9", shots=10, backbone="vgg16"))
        >>> report, run_dir = run_experiment(prepared)
    """
    run_dir, test = check_experiment(settings, runs_root, run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunDirLock(run_dir).acquire()  # before anything is written: a second process changes nothing
    try:
        write_json(run_dir / SETTINGS_FILE, settings.to_dict())
    except BaseException:
        lock.release()
        raise
    return PreparedExperiment(settings, run_dir, test, lock)


def run_experiment(prepared, verbose=0):
    """Run every seed not finished before, then write `report.json` and `report.md`.

    A finished seed's record is kept as `<run_dir>/seed<N>/record.json` (written atomically); running again
    reads it back instead of training the seed again. A seed killed half-way starts over, except its GAN,
    which resumes from its last epoch checkpoint in `<run_dir>/seed<N>/gan`.

    Args:
        prepared: `PreparedExperiment` from `prepare_experiment`.
        verbose: Keras verbosity of the GAN training.

    Returns:
        `(report, run_dir)`, as `augment_experiment`.
    """
    try:
        return _run_seeds(prepared, verbose)
    finally:
        if prepared.lock is not None:
            prepared.lock.release()


def _run_seeds(prepared, verbose):
    settings, run_dir = prepared.settings, prepared.run_dir
    records = []
    for seed in settings.seeds:
        path = run_dir / f"seed{seed}" / RECORD_FILE
        if path.is_file():
            logger.warning("seed %d: finished before, record read from %s", seed, path)
        else:
            record = run_seed(settings, seed, run_dir, prepared.test, verbose=verbose)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json(path, record)
        # Read back even when just written, so a resumed run summarises exactly the same numbers.
        records.append(json.loads(path.read_text()))
    report = {"settings": settings.to_dict(), "seeds": records, "summary": summarise(records)}
    write_json(run_dir / REPORT_FILE, report)
    with atomic_path(run_dir / "report.md") as tmp:
        tmp.write_text(markdown_report(report) + "\n")
    return report, run_dir


def augment_experiment(settings, runs_root="runs", run_dir=None, verbose=0):
    """Run the whole experiment and write `report.json` and `report.md` into its run directory.

    Resumable: running it again with equal settings continues an unfinished run (see `prepare_experiment`
    and `run_experiment`). Each seed's GAN check and classifier scores are logged at INFO as they come:
    `kgantl.show_progress()` prints them.

    Args:
        settings: `AugmentSettings`.
        runs_root: parent of the `NNNNN-augment` run directories.
        run_dir: use this directory instead.
        verbose: Keras verbosity of the GAN training (its progress bars; kgantl's own lines are logged).

    Returns:
        `(report, run_dir)`: the report dict has `settings`, `seeds` (per-seed records) and `summary` (mean and spread
            per method, the validation-chosen ratio, the verdict in words).

    Example:
        >>> report, _ = augment_experiment(AugmentSettings("fashion_mnist:5-9", shots=10,
        ...     backbone="saved_models/fmnist-0-4-backbone", feature_layer="flatten", seeds=(0, 1, 2),
        ...     source="saved_models/source-fmnist-0-4-conditional"))
        >>> report["summary"]["verdict"]["text"]
    """
    return run_experiment(prepare_experiment(settings, runs_root=runs_root, run_dir=run_dir), verbose=verbose)
