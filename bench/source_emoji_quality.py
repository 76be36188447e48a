"""How good is the colour source GAN (`saved_models/source-emoji-noto-64`), on a scale a reader can judge?

KID against the held-out Noto test split (outside "Animals & Nature") means little alone, so the source is scored
beside reference rows on the same test images: real Noto images of the train split (the best a generator of this
data could score) and the same emoji drawn by Twemoji (another art style of the same subjects, so a generator that
drew Noto's subjects in the wrong style would land near it). Each row is scored in two feature spaces: `noto` (the
shipped classifier kgantl's colour evaluation uses) and a random CNN (three seeded convolutions,
`few_shot_runner.random_cnn`), which no one trained on this data. 1000 images a row (the real rows drawn from their
train splits with `np.random.default_rng(0)`), 1000 generated with noise seed 0; the test split has 355 images, so
KID's subsets are 177 images (`kgantl.metrics.distances.kid_subset_size`).

Usage:
    python bench/source_emoji_quality.py [--model saved_models/source-emoji-noto-64] [--write]

Results go to `bench/results/source_emoji_quality.json`; `--write` also rewrites the `source-emoji-quality`
section of docs/benchmark-log.md.
"""
import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import few_shot_runner as runner  # noqa: E402
from sections import header, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "source_emoji_quality.json"
REFERENCE = "emoji:google:!Animals & Nature"  # its test split: what every row is scored against
OTHER_STYLE = "emoji:twitter:!Animals & Nature"
COUNT = 1000


def _real_draws(spec):
    """`COUNT` train-split images of `spec`, drawn without repetition with `default_rng(0)`."""
    from kgantl.data import load_arrays

    images = load_arrays(spec, split="train").images
    return images[np.sort(np.random.default_rng(0).choice(len(images), COUNT, replace=False))]


def score_rows(model):
    """{row name: {kid, kid_std, recall, kid_random_cnn, kid_random_cnn_std, recall_random_cnn}} for the source and
    the reference rows; the source's row adds `near_copy` (its share of samples nearer a training image than real
    images typically are) and `real_near_copy` (the test images' own share)."""
    from kgantl.data import load_arrays
    from kgantl.metrics import evaluate
    from kgantl.runs.artifacts import open_generator

    rows = {"source GAN (EMA generator)": open_generator(model),
            "real Noto, train split": _real_draws(REFERENCE),
            "Twemoji (same emoji, another style), train split": _real_draws(OTHER_STYLE)}
    train_images = load_arrays(REFERENCE, split="train").images  # the near-copy check of the generator alone
    scores = {}
    for name, generator in rows.items():
        is_generator = not isinstance(generator, np.ndarray)
        noto = evaluate(generator, ref=REFERENCE, split="test", n=COUNT, seed=0, extractor="noto",
                        train_images=train_images if is_generator else None)
        random = evaluate(generator, ref=REFERENCE, split="test", n=COUNT, seed=0, use_cache=False,
                          extractor=runner._random_cnn_extractor((64, 64, 3)))
        scores[name] = {"kid": noto["kid"], "kid_std": noto["kid_std"], "recall": noto["recall"],
                        "kid_random_cnn": random["kid"], "kid_random_cnn_std": random["kid_std"],
                        "recall_random_cnn": random["recall"]}
        if is_generator:
            scores[name].update(near_copy=noto["near_copy_share"],
                                real_near_copy=noto["memorisation"]["real_near_copy_share"])
        print(name, json.dumps(scores[name]), flush=True)
    return scores


def section(scores, model):
    """The `source-emoji-quality` section's Markdown."""
    lines = header(f"python bench/source_emoji_quality.py --model {model} --write") + [
        "Every row against the Noto test split outside \"Animals & Nature\" (355 images), 1000 images a row.", "",
        "| images | KID (`noto`) | recall (`noto`) | KID (random CNN) | recall (random CNN) |", "|---|---|---|---|---|"]
    for name, row in scores.items():
        lines.append(f"| {name} | {row['kid']:.4f} ± {row['kid_std']:.4f} | {row['recall']:.2f} | "
                     f"{row['kid_random_cnn']:.4f} ± {row['kid_random_cnn_std']:.4f} | "
                     f"{row['recall_random_cnn']:.2f} |")
    copies = next((row for row in scores.values() if "near_copy" in row), None)
    if copies:
        lines += ["", f"Near-copy share of the generated images against the train split: "
                      f"{copies['near_copy']:.3f} (the test images' own: {copies['real_near_copy']:.3f})."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="saved_models/source-emoji-noto-64", help="the source GAN to score")
    parser.add_argument("--write", action="store_true", help="rewrite the section in docs/benchmark-log.md")
    args = parser.parse_args(argv)
    scores = score_rows(args.model)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"model": args.model, "scores": scores}, indent=1) + "\n")
    if args.write:
        write_section("source-emoji-quality", section(scores, args.model),
                      heading="The colour source GAN beside real images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
