"""Score generators in a feature space no kgantl network shaped: a fixed-seed, randomly initialised CNN.

kgantl's `fmnist` extractor and the `vision_d` backbone are both Fashion-MNIST classifiers, so a method that
trains against one could score well in the other without making better images. Random convolutional
features are weak but independent: a method whose lead holds there did not just learn the extractor.

Usage:
    python bench/few_shot_independent.py --class 7 --shots 100 --seed 0 NAME=MODEL [NAME=MODEL ...]
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from few_shot_runner import _shots, random_cnn  # noqa: E402


def main():
    from kgantl.metrics import evaluate
    from kgantl.runs.artifacts import open_generator
    from kgantl.metrics.extractors import from_keras_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class", dest="k", type=int, required=True)
    parser.add_argument("--shots", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("models", nargs="+", metavar="NAME=MODEL")
    args = parser.parse_args()
    extractors = {"fmnist": "fmnist", "random CNN": from_keras_model(random_cnn(), "features")}
    print("| method | " + " | ".join(f"KID ± std ({n}) | recall ({n})" for n in extractors) + " |")
    print("|---|" + "---|---|" * len(extractors))
    for item in args.models:
        name, path = item.split("=", 1)
        cells = []
        for extractor in extractors.values():
            report = evaluate(open_generator(path), ref=f"fashion_mnist:{args.k}", split="test", n=1000, seed=0,
                              extractor=extractor, use_cache=False, train_images=_shots(args.k, args.shots, args.seed))
            cells += [f"{report['kid']:.3g} ± {report['kid_std']:.2g}", f"{report['recall']:.3f}"]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
