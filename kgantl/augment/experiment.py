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
import statistics
from pathlib import Path

import keras
import numpy as np

from kgantl.augment.classic import augment_dataset, classic_augmentation
from kgantl.augment.mix import GenerationStats, mix_real_and_generated
from kgantl.data import load_arrays, make_dataset
from kgantl.io import atomic_path, write_json
from kgantl.runs import next_run_dir
from kgantl.transfer.classifier import build_classifier
from kgantl.transfer.finetune import score_classifier
from kgantl.transfer.schedule import FreezeSchedule, parse_stages

logger = logging.getLogger("kgantl")

CLASSIC = "classic augmentation"


@dataclasses.dataclass
class AugmentSettings:
    """Everything `augment_experiment` varies; the defaults are those of the benchmark in docs/benchmarks.md.

    Attributes:
        data: labelled data spec (e.g. `fashion_mnist:5-9`).
        shots: labelled images per class (n-shot rule); validation images come out of these.
        backbone: classifier backbone: a name, a `.keras` file or a `saved_models/` folder holding `model.keras`.
        ratios: generated shares to compare (0 is the real-only classifier).
        seeds: n-shot, GAN and classifier seeds; results report mean and spread over them.
        val_per_class: shots per class held out to choose the ratio (default: a fifth, at least 1).
        source: source GAN to transfer from (default: train the conditional GAN from scratch).
        strategy: transfer strategy when `source` is given.
        gan_steps: generator steps of the GAN (in 5 epochs when divisible by 5, else in one).
        gan_batch_size: GAN batch size.
        stages: freeze schedule `EPOCHS:TRAINABLE:LR,...` of the classifier.
        unit: what `TRAINABLE` counts: `layers` or `blocks`.
        feature_layer: layer of a `.keras` backbone that feeds the head (default: input of its last layer).
        weights: weights of a named backbone (`imagenet`, None or a file).
        batch_size: classifier batch size; every classifier runs ceil(train images / batch) steps an epoch.
        balance: generate more of the rarer classes.
        filter_threshold: keep generated images the real-only classifier of the same seed assigns to their
            label with at least this confidence (None: no filter).
        classic_baseline: also train the flips-and-crops baseline.
        eval_n: generated images for the GAN's KID and memorisation check.
    """

    data: str
    shots: int
    backbone: str
    ratios: tuple = (0.0, 0.25, 0.5)
    seeds: tuple = (0,)
    val_per_class: int = None
    source: str = None
    strategy: str = "freeze_d:1"
    gan_steps: int = 500
    gan_batch_size: int = 32
    stages: str = "40:0:1e-3,20:2:1e-4"
    unit: str = "layers"
    feature_layer: str = None
    weights: str = "imagenet"
    batch_size: int = 16
    balance: bool = False
    filter_threshold: float = None
    classic_baseline: bool = True
    eval_n: int = 1000

    def validate(self):
        """Check the settings before anything trains; returns self."""
        if isinstance(self.shots, bool) or not isinstance(self.shots, int) or self.shots < 2:
            raise ValueError(f"shots must be an integer >= 2 (some are held out for validation). "
                             f"Received: shots={self.shots!r}")
        if not self.ratios or any(isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1
                                  for r in self.ratios):
            raise ValueError(f"ratios must be numbers in [0, 1]. Received: ratios={self.ratios!r}")
        if 0 not in self.ratios:
            raise ValueError(f"ratios must include 0: the real-only classifier is what generated data is "
                             f"measured against. Received: ratios={self.ratios!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or not all(
                isinstance(seed, int) and not isinstance(seed, bool) for seed in self.seeds):
            raise ValueError(f"seeds must be distinct integers, at least one. Received: seeds={self.seeds!r}")
        if len(set(self.ratios)) != len(self.ratios):
            raise ValueError(f"ratios must be distinct. Received: ratios={self.ratios!r}")
        if self.val_per_class is not None and (not isinstance(self.val_per_class, int)
                                               or not 1 <= self.val_per_class < self.shots):
            raise ValueError(f"val_per_class must be in 1..shots-1 ({self.shots - 1}). "
                             f"Received: val_per_class={self.val_per_class!r}")
        if self.filter_threshold is not None and not 0 <= self.filter_threshold <= 1:
            raise ValueError(f"filter_threshold must be in [0, 1]. Received: {self.filter_threshold!r}")
        for name in ("gan_steps", "gan_batch_size", "batch_size", "eval_n"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
        parse_stages(self.stages)
        return self

    @property
    def held_out(self):
        return self.val_per_class or max(1, self.shots // 5)


def resolve_backbone(backbone):
    """A `saved_models/<name>` folder means its `model.keras`; anything else is passed on as it is."""
    path = Path(str(backbone))
    return str(path / "model.keras") if path.is_dir() and (path / "model.keras").is_file() else str(backbone)


def split_validation(arrays, per_class):
    """Hold out the last `per_class` shots of every class (n-shot order) as validation images.

    Returns:
        `(train, validation)` `ImageArrays`.
    """
    val = np.zeros(len(arrays.labels), bool)
    for k in np.unique(arrays.labels):
        val[np.flatnonzero(arrays.labels == k)[-per_class:]] = True
    return (dataclasses.replace(arrays, images=arrays.images[~val], labels=arrays.labels[~val]),
            dataclasses.replace(arrays, images=arrays.images[val], labels=arrays.labels[val]))


def train_shot_gan(train, settings, seed, run_dir, verbose=0):
    """Train (or transfer) a conditional GAN on the training shots; they are saved as `shots.npz` beside it."""
    from kgantl.config import TrainOptions
    from kgantl.training import train as train_gan

    run_dir.mkdir(parents=True, exist_ok=True)
    shots_file = run_dir / "shots.npz"
    with atomic_path(shots_file) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, images=train.images.astype(np.uint8), labels=train.labels)
    epochs = 5 if settings.gan_steps % 5 == 0 else 1  # 5 epochs give sample grids along the way
    options = dict(data=str(shots_file), seed=seed, conditional=True, batch_size=settings.gan_batch_size,
                   epochs=epochs, steps_per_epoch=settings.gan_steps // epochs,
                   diffaugment="color,translation,cutout", run_dir=str(run_dir / "gan"), sample_every=epochs)
    if settings.source:
        options.update(source=settings.source, strategy=settings.strategy)
    history, gan_dir = train_gan(TrainOptions(**options), verbose=verbose)
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
    schedule = FreezeSchedule(parse_stages(settings.stages), unit=settings.unit,
                              backbone_name=settings.backbone if named else None)
    schedule.fit(model, dataset, steps_per_epoch=math.ceil(len(train.labels) / settings.batch_size), verbose=0)
    return model, stats


def _score(model, val, test):
    val_accuracy, _ = score_classifier(model, val)
    accuracy, macro_f1 = score_classifier(model, test)
    return {"val_accuracy": val_accuracy, "test_accuracy": accuracy, "test_macro_f1": macro_f1}


def run_seed(settings, seed, run_dir, test, verbose=0):
    """One seed of the experiment; returns its record (GAN check, one row per method, chosen ratio)."""
    from kgantl.metrics import evaluate

    arrays = load_arrays(settings.data, shots=settings.shots, seed=seed)
    train, val = split_validation(arrays, settings.held_out)
    record = {"seed": seed, "train_images": len(train.labels), "val_images": len(val.labels), "rows": []}
    gan = None
    if any(r > 0 for r in settings.ratios):
        gan, gan_dir = train_shot_gan(train, settings, seed, run_dir / f"seed{seed}", verbose=verbose)
        check = evaluate(gan, ref=settings.data, split="test", n=settings.eval_n, seed=seed,
                         train_images=train.images)
        record["gan"] = {"run_dir": str(gan_dir), **{k: check[k] for k in (
            "protocol", "kid", "kid_std", "fid", "precision", "recall", "near_copy_share", "memorisation")}}
        logger.warning("seed %d: GAN KID %.4f, recall %.3f, near-copy share %.3f", seed, check["kid"],
                       check["recall"], check["near_copy_share"])
    reference = None
    for ratio in sorted(settings.ratios):
        use_filter = settings.filter_threshold is not None and ratio > 0
        model, stats = train_classifier(train, settings, seed, gan, ratio, filter_model=reference if use_filter
                                        else None)
        row = {"method": f"ratio {ratio:g}", "ratio": ratio, **_score(model, val, test),
               "generated": stats.as_dict() if stats else None}
        record["rows"].append(row)
        logger.warning("seed %d, %s: val %.3f, test accuracy %.4f, macro-F1 %.4f", seed, row["method"],
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


def _mean_spread(values):
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def verdict(seed_records):
    """Plain words on whether generated data helped, from paired per-seed differences in test accuracy.

    "helped" / "hurt" only when at least two seeds all move the same way; "no clear effect" when they
    disagree; "inconclusive" with a single seed.
    """
    real = [next(r for r in s["rows"] if r["ratio"] == 0 and r["method"] != CLASSIC) for s in seed_records]
    gains = [s["selected"]["test_accuracy"] - r["test_accuracy"] for s, r in zip(seed_records, real)]
    mean = statistics.mean(gains)
    if len(gains) < 2:
        word, phrase = "inconclusive", "cannot be judged from one seed"
    elif all(g > 0 for g in gains):
        word, phrase = "helped", "helped"
    elif all(g < 0 for g in gains):
        word, phrase = "hurt", "hurt"
    else:
        word, phrase = "no clear effect", "had no clear effect"
    chosen = [s["selected"]["ratio"] for s in seed_records]
    text = (f"Generated data {phrase}: the ratio chosen on the validation shots ({', '.join(f'{c:g}' for c in chosen)}"
            f" per seed) changed test accuracy by {mean:+.4f} on average over {len(gains)} seed(s) "
            f"(per seed: {', '.join(f'{g:+.4f}' for g in gains)}) against real images only.")
    return {"effect": word, "mean_gain": mean, "gains": gains, "text": text}


def summarise(seed_records):
    """Mean and spread over seeds of every method, the chosen ratio, and the verdict."""
    methods = [r["method"] for r in seed_records[0]["rows"]]
    summary = []
    for method in methods:
        rows = [next(r for r in s["rows"] if r["method"] == method) for s in seed_records]
        kept = [r["generated"]["kept_share"] for r in rows if r["generated"]]
        summary.append({"method": method, "test_accuracy": _mean_spread([r["test_accuracy"] for r in rows]),
                        "test_macro_f1": _mean_spread([r["test_macro_f1"] for r in rows]),
                        "val_accuracy": _mean_spread([r["val_accuracy"] for r in rows]),
                        "kept_share": statistics.mean(kept) if kept else None})
    selected = {"method": "ratio chosen on validation",
                "test_accuracy": _mean_spread([s["selected"]["test_accuracy"] for s in seed_records]),
                "test_macro_f1": _mean_spread([s["selected"]["test_macro_f1"] for s in seed_records])}
    return {"methods": summary, "selected": selected, "verdict": verdict(seed_records)}


def markdown_report(report):
    """The report's tables as Markdown (what `report.md` holds and docs/benchmarks.md quotes)."""
    s = report["settings"]
    gan = f"transfer from `{s['source']}` with `{s['strategy']}`" if s["source"] else "conditional GAN from scratch"
    held_out = s["val_per_class"] or max(1, s["shots"] // 5)
    lines = [f"Data `{s['data']}`, {s['shots']} shots per class ({held_out} of them held out for validation), "
             f"backbone `{s['backbone']}`, stages `{s['stages']}` ({s['unit']}), seeds "
             f"{', '.join(map(str, s['seeds']))}; GAN: {gan}, {s['gan_steps']} generator steps.",
             "", "| method | test accuracy | test macro-F1 | val accuracy | generated kept |", "|---|---|---|---|---|"]

    def cell(stat):
        return f"{stat['mean']:.4f} ± {stat['std']:.4f}"

    for row in report["summary"]["methods"] + [report["summary"]["selected"]]:
        kept = row.get("kept_share")
        lines.append(f"| {row['method']} | {cell(row['test_accuracy'])} | {cell(row['test_macro_f1'])} | "
                     f"{cell(row['val_accuracy']) if 'val_accuracy' in row else '-'} | "
                     f"{'-' if kept is None else f'{kept:.2f}'} |")
    gans = [r["gan"] for r in report["seeds"] if "gan" in r]
    if gans:
        lines += ["", "| seed | GAN KID | FID | precision | recall | near-copy share | same for real test images |",
                  "|---|---|---|---|---|---|---|"]
        for record, gan in zip([r for r in report["seeds"] if "gan" in r], gans):
            fid = "n/a" if gan["fid"] is None else f"{gan['fid']:.2f}"
            lines.append(f"| {record['seed']} | {gan['kid']:.4f} | {fid} | {gan['precision']:.3f} | "
                         f"{gan['recall']:.3f} | {gan['near_copy_share']:.3f} | "
                         f"{gan['memorisation']['real_near_copy_share']:.3f} |")
    lines += ["", report["summary"]["verdict"]["text"]]
    return "\n".join(lines)


def augment_experiment(settings, runs_root="runs", run_dir=None, verbose=0):
    """Run the whole experiment and write `report.json` and `report.md` into its run directory.

    Args:
        settings: `AugmentSettings`.
        runs_root: parent of the new `NNNNN-augment` run directory.
        run_dir: use this directory instead.
        verbose: Keras verbosity of the GAN training.

    Returns:
        `(report, run_dir)`: the report dict has `settings`, `seeds` (per-seed records) and `summary`
        (mean and spread per method, the validation-chosen ratio, the verdict in words).

    Example:
        >>> report, _ = augment_experiment(AugmentSettings("fashion_mnist:5-9", shots=10,
        ...     backbone="saved_models/fmnist-0-4-backbone", feature_layer="flatten", seeds=(0, 1, 2),
        ...     source="saved_models/source-fmnist-0-4-conditional"))
        >>> report["summary"]["verdict"]["text"]
    """
    settings.validate()
    run_dir = Path(run_dir) if run_dir else next_run_dir(runs_root, "augment")
    run_dir.mkdir(parents=True, exist_ok=True)
    test = load_arrays(settings.data, split="test")
    seeds = [run_seed(settings, seed, run_dir, test, verbose=verbose) for seed in settings.seeds]
    report = {"settings": dataclasses.asdict(settings), "seeds": seeds, "summary": summarise(seeds)}
    write_json(run_dir / "report.json", report)
    with atomic_path(run_dir / "report.md") as tmp:
        tmp.write_text(markdown_report(json.loads(json.dumps(report))) + "\n")
    return report, run_dir
