"""The classifier side on colour (issue 35, item 5): a 10-shot Twemoji subcategory classifier, with a backbone
pretrained on Noto or from scratch, with and without images from the adapted colour GAN.

Task: the ten Twemoji subcategories outside "Animals & Nature" with the most base emoji (`CLASSES`), 10 shots per
class by the emoji n-shot rule in each class (`kgantl.data.emoji.spec_shots` with `split=None`: BENCHMARKS.md's
rule, the whole set, per class), 2 of them per class held out to choose the ratio of generated images. Test: every
other image of those classes, a shot's skin-tone variants excluded (BENCHMARKS.md's emoji rule), so the test set
differs a little per seed. Seeds 0, 1, 2 (each picks the shots and seeds the GAN and the classifiers).

Backbones: `pretrained` = `saved_models/noto-backbone` (trained on Noto emoji outside "Animals & Nature", labelled
by category; it never saw a Twemoji) cut at `--feature-layer` (default `flatten`, its convolutional features, as
the Fashion-MNIST classifier benchmark cuts its backbone; `head`: below its softmax head, at the embedding trained
to tell the nine categories apart, which the ten subcategories mostly share), staged (40 epochs head only at
1e-3, 20 with the top two layers at 1e-4); `noto-classifier` = `saved_models/noto-classifier`, the same network
trained on Noto's subcategories (these ten among them, drawn in Noto's style), staged the same way; `scratch` = the
same network with fresh random weights (`keras.models.clone_model`, seeded), every layer trained for the same 60
epochs at 1e-3. Generated images: `kgantl augment`'s conditional GAN, the shipped unconditional
`source-emoji-noto-64` made conditional and transferred to the 80 training shots (freeze_d:1, DiffAugment, batch
32, `--gan-steps`), mixed in at ratios 0.25 and 0.5 against 0 (real only), the ratio chosen on the held-out shots;
and flips-and-crops (classic augmentation) beside them. Every classifier of a seed trains for the same number of steps.

Each (backbone, seed) is one `kgantl augment` run (resumable: run the same command again); the records go to
`bench/results/emoji_classifier.json` (`emoji_classifier-head.json` for `--feature-layer head`) and `--report`
writes the `emoji-classifier` section of docs/benchmark-log.md from both.

Usage:
    python bench/emoji_classifier.py [--seeds 0 1 2] [--backbones pretrained noto-classifier scratch] \
        [--gan-steps 1000] [--feature-layer flatten]
    python bench/emoji_classifier.py --report
"""
import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from sections import DOCS, cpu_line, header, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "emoji_classifier.json"
CACHE = ROOT / "bench" / "runs" / "emoji_classifier"
BACKBONE = "saved_models/noto-backbone"
SOURCE = "source-emoji-noto-64"
# The ten Twemoji subcategories outside "Animals & Nature" with the most base emoji (259 down to 34), by name.
CLASSES = ("alphanum", "clothing", "country-flag", "family", "food-prepared", "person-activity", "person-role",
           "person-sport", "sky & weather", "transport-ground")
SPEC = "emoji:twitter:" + ",".join(CLASSES) + "@subcategory"
SHOTS = 10
PICTURE = "emoji_classifier_samples_seed0.png"
# Pretrained backbones by name: `pretrained` (noto-backbone, trained on Noto's categories) and `noto-classifier`
# (the same network trained on Noto's subcategories, the `noto` extractor, which never scores a classifier).
PRETRAINED = {"pretrained": BACKBONE, "noto-classifier": "saved_models/noto-classifier"}
STAGES = {**dict.fromkeys(PRETRAINED, "40:0:1e-3,20:2:1e-4"), "scratch": "60:all:1e-3"}
FEATURE_LAYERS = ("flatten", "head")  # "head": None, the layer below the softmax head (the embedding)


def result_path(feature_layer):
    """Where the records of one `--feature-layer` live."""
    return RESULT if feature_layer == "flatten" else RESULT.with_name(f"emoji_classifier-{feature_layer}.json")


def seed_files(seed, cache=CACHE):
    """The seed's shots and test `.npz` files (labels 0-9, an index into `CLASSES`), written the first time."""
    from kgantl.data.emoji import spec_shots
    from kgantl.data.emoji_package import load_table
    from kgantl.io import write_npz

    shots_path, test_path = cache / f"shots-seed{seed}.npz", cache / f"test-seed{seed}.npz"
    if not (shots_path.is_file() and test_path.is_file()):
        shots = spec_shots(SPEC, SHOTS, seed=seed, split=None)
        table = load_table("twitter")
        shot_pixels = {image.tobytes() for image in shots.images.astype(np.uint8)}
        shot_bases = {b for image, b in zip(table["images"], table["base"]) if image.tobytes() in shot_pixels}
        in_test = np.isin(table["subcategory"], CLASSES) & ~np.isin(table["base"], list(shot_bases))
        class_id = {name: k for k, name in enumerate(CLASSES)}
        cache.mkdir(parents=True, exist_ok=True)
        write_npz(shots_path, images=shots.images.astype(np.uint8),
                  labels=np.array([class_id[shots.class_names[k]] for k in shots.labels], np.int64))
        write_npz(test_path, images=table["images"][in_test],
                  labels=np.array([class_id[name] for name in table["subcategory"][in_test]], np.int64))
    return shots_path, test_path


def scratch_backbone(seed, cache=CACHE):
    """`noto-backbone`'s network with fresh random weights (`clone_model` after seeding), saved once."""
    import keras

    from kgantl.runs.artifacts import model_file

    path = cache / f"scratch-backbone-seed{seed}.keras"
    if not path.is_file():
        keras.utils.set_random_seed(seed)
        trained = keras.saving.load_model(model_file(BACKBONE), compile=False)
        fresh = keras.models.clone_model(trained)  # the same layers, initialised anew
        cache.mkdir(parents=True, exist_ok=True)
        fresh.save(path)
    return path


def settings_for(backbone, seed, gan_steps, cache=CACHE, feature_layer="flatten"):
    """The `AugmentSettings` of one (backbone, seed) run, both backbones cut at the same `feature_layer`."""
    from kgantl.synthetic import AugmentSettings

    shots_path, test_path = seed_files(seed, cache)
    network = PRETRAINED[backbone] if backbone in PRETRAINED else str(scratch_backbone(seed, cache))
    return AugmentSettings(data=str(shots_path), test_data=str(test_path), shots=SHOTS, backbone=network,
                           stages=STAGES[backbone], seeds=(seed,), source=SOURCE, gan_steps=gan_steps,
                           feature_layer=None if feature_layer == "head" else feature_layer)


def run(backbones, seeds, gan_steps, runs_root, feature_layer="flatten"):
    """Run (or resume) every (backbone, seed); store each record in `result_path(feature_layer)` as it ends."""
    from kgantl.io import write_json
    from kgantl.synthetic import augment_experiment

    from emoji_few_shot_cells import source_sha256
    from kgantl.shipped import find_shipped_model

    path = result_path(feature_layer)
    results = json.loads(path.read_text()) if path.is_file() else {}
    source = source_sha256(str(find_shipped_model(SOURCE)))  # a record of another source GAN is not done
    for backbone in backbones:
        for seed in seeds:
            key = f"{backbone}/{seed}"
            if results.get(key, {}).get("source_sha256") == source:
                continue
            started, cpu = time.time(), time.process_time()
            settings = settings_for(backbone, seed, gan_steps, feature_layer=feature_layer)
            report, run_dir = augment_experiment(settings, runs_root=runs_root)
            with np.load(settings.test_data) as test:
                test_images = int(test["labels"].size)
            results[key] = {**report["seeds"][0], "settings": report["settings"], "run_dir": str(run_dir),
                            "test_images": test_images, "source_sha256": source,
                            "wall_s": time.time() - started, "cpu_s": time.process_time() - cpu,
                            "cpu": cpu_line(), "date": time.strftime("%Y-%m-%d")}
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json(path, results)  # atomically: a run killed while writing keeps the records before it
    return results


def _mean_std(values):
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.3f}"


def report_table(results):
    """Markdown: per backbone and method, test accuracy and macro-F1 (mean ± std over seeds), then the paired
    verdicts (generated images against real only; pretrained against scratch)."""
    from kgantl.synthetic.report import summarise

    lines = ["| backbone | method | test accuracy | test macro-F1 | seeds |", "|---|---|---|---|---|"]
    verdicts = []
    for backbone in STAGES:
        records = [results[k] for k in sorted(results) if k.startswith(backbone + "/")]
        if not records:
            continue
        summary = summarise(records)
        for row in summary["methods"] + [summary["selected"]]:
            lines.append(f"| {backbone} | {row['method']} | {_mean_std(row['test_accuracy']['values'])} | "
                         f"{_mean_std(row['test_macro_f1']['values'])} | {len(records)} |")
        verdicts.append(f"{backbone}: {summary['verdict']['text']}")
    for name in PRETRAINED:
        paired = [(results[f"{name}/{s}"], results[f"scratch/{s}"]) for s in range(10)
                  if f"{name}/{s}" in results and f"scratch/{s}" in results]
        if paired:
            gains = [_real_only(p) - _real_only(s) for p, s in paired]
            per_seed = ", ".join(f"{g:+.3f}" for g in gains)
            verdicts.append(f"{name} against scratch (real images only, paired by seed): test accuracy "
                            f"{statistics.mean(gains):+.3f} on average (per seed: {per_seed}).")
    return "\n".join(lines + [""] + verdicts)


def _real_only(record):
    return next(r["test_accuracy"] for r in record["rows"] if r["method"] == "ratio 0")


def picture(run_dir, out, per_class=4):
    """Seed picture of one run: `per_class` of its training shots per class (one class a column, `CLASSES`' order),
    beside as many samples per class of its conditional GAN (noise seed 0); writes `out` at 2x."""
    from kgantl.images import labelled_panels, make_grid, save_png, upscale
    from kgantl.runs.artifacts import open_generator

    seed_dir = next(Path(run_dir).glob("seed*"))
    with np.load(seed_dir / "shots.npz") as shots:
        images, labels = shots["images"].astype(np.float32) / 127.5 - 1.0, shots["labels"]
    real = [images[labels == k][row] for row in range(per_class) for k in range(len(CLASSES))]
    sampler = open_generator(seed_dir / "gan")
    noise = np.random.default_rng(0).standard_normal((per_class * len(CLASSES), sampler.latent_dim)).astype("float32")
    fake = np.asarray(sampler.generate(noise, labels=np.tile(np.arange(len(CLASSES)), per_class)))
    panels = [upscale(make_grid(np.stack(group), columns=len(CLASSES)), 2) for group in (real, fake)]
    save_png(out, labelled_panels(panels, ["training shots", "the conditional GAN's samples"], title_height=16))


def report_text(by_layer, seeds):
    """The `emoji-classifier` section: each feature layer's table and verdicts (`by_layer`: layer -> records)."""
    first = next(iter(next(iter(by_layer.values())).values()))
    bench = (f"python bench/emoji_classifier.py --seeds {' '.join(map(str, seeds))} --gan-steps "
             f"{first['settings']['gan_steps']} [--feature-layer head]")
    parts = [*header(bench, date_note=f"; raw records: `{RESULT.relative_to(ROOT)}` (and `-head`)"),
             f"Records made on: {first['cpu']}, {first['date']}.", "",
             f"Classes: {', '.join(CLASSES)} (Twemoji)."]
    for layer, results in by_layer.items():
        per_seed = {key.split("/")[1]: record["test_images"] for key, record in sorted(results.items())}
        parts += ["", f"**Every backbone cut at `{layer}`** (test images per seed: "
                      f"{', '.join(f'{n} (seed {seed})' for seed, n in per_seed.items())}):", "",
                  report_table(results)]
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--backbones", nargs="+", default=list(STAGES), choices=list(STAGES))
    parser.add_argument("--gan-steps", type=int, default=1000)
    parser.add_argument("--feature-layer", default="flatten", choices=FEATURE_LAYERS,
                        help="where every backbone is cut (head: below the softmax head)")
    parser.add_argument("--runs-root", default=str(ROOT / "runs"))
    parser.add_argument("--report", action="store_true", help="only rewrite the docs section from the stored records")
    args = parser.parse_args()
    if not args.report:
        run(args.backbones, args.seeds, args.gan_steps, args.runs_root, args.feature_layer)
    by_layer = {layer: json.loads(result_path(layer).read_text()) for layer in FEATURE_LAYERS
                if result_path(layer).is_file()}
    text = report_text(by_layer, args.seeds)
    seed0 = next(iter(by_layer.values())).get("pretrained/0", {}).get("run_dir")
    if seed0 and Path(seed0).is_dir():  # the run folder is kept where it ran; a --report elsewhere keeps the picture
        picture(seed0, DOCS / PICTURE)
    text += (f"\n\n![Seed 0: four of each class's ten shots (one class a column: {', '.join(CLASSES)}), and "
             f"the conditional GAN's samples of the same classes]({PICTURE})")
    print(text)
    write_section("emoji-classifier", text, "Few-shot Twemoji classifier: Noto-pretrained backbone and generated "
                                            "images")


if __name__ == "__main__":
    main()
