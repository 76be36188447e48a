"""Does on-the-fly generation starve classifier training? Steps per second at mix ratio 0 and 0.5, one run.

The classifier is the one `kgantl augment` trains (saved_models/fmnist-0-4-backbone cut at `flatten`, new
softmax head, top two layers unfrozen); the generator is the shipped conditional source GAN
(saved_models/source-fmnist-0-4-conditional, the reference DCGAN width). Both ratios read the same
repeated real pipeline of 50 shots (classes 5-9) and are timed in alternating blocks of `--steps`
training steps for `--rounds` rounds after one warm-up block each, so machine-speed drift hits both
alike. Reported: best round of each, the ratio of bests and the median of per-round ratios.
Target (issue 5): ratio 0.5 at least 0.7x the steps per second of ratio 0 on CPU.

Usage:
    python bench/augment_pipeline.py [--rounds 7] [--steps 40] [--batch 16] [--write]
"""
import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kgantl.synthetic import mix_real_and_generated  # noqa: E402
from kgantl.data import load_arrays, make_dataset  # noqa: E402
from kgantl.runs.artifacts import load_gan  # noqa: E402
from kgantl.classifier import build_classifier  # noqa: E402
from kgantl.classifier.schedule import FreezeSchedule, Stage  # noqa: E402
from sections import header, ratio_cells, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BACKBONE = str(ROOT / "saved_models" / "fmnist-0-4-backbone" / "model.keras")
GENERATOR = ROOT / "saved_models" / "source-fmnist-0-4-conditional"
RATIOS = (0.0, 0.5)


def _classifier(train, backbone):
    keras.utils.set_random_seed(0)
    named = backbone != BACKBONE
    model = build_classifier(backbone, num_classes=train.num_classes, dense_units=(), dropout=0.3,
                             feature_layer=None if named else "flatten", weights=None)
    schedule = FreezeSchedule([Stage(1, 2, 1e-4)], unit="blocks" if named else "layers",
                              backbone_name=backbone if named else None)
    schedule.apply(model, schedule.stages[0])
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    return model


def measure(rounds, steps, batch, backbone=BACKBONE):
    """Steps per second per ratio, one value per round."""
    train = load_arrays("fashion_mnist:5-9", shots=10, seed=0)
    gan = load_gan(GENERATOR)
    counts = np.bincount(train.labels, minlength=train.num_classes)
    setups = {}
    for ratio in RATIOS:
        real = make_dataset(train, batch_size=batch, seed=0, repeat=True, with_labels=True)
        dataset = mix_real_and_generated(real, gan, ratio, seed=0, class_counts=counts)
        setups[ratio] = (_classifier(train, backbone), dataset)
    rates = {ratio: [] for ratio in RATIOS}
    for round_number in range(rounds + 1):  # round 0 warms up (tracing, pipeline start)
        for ratio, (model, dataset) in setups.items():
            start = time.perf_counter()
            model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
            if round_number:
                rates[ratio].append(steps / (time.perf_counter() - start))
    return rates


def generator_rates(repeats=16):
    """Images per second of the generator alone, in chunks of 16, 64 and 256, with and without XLA."""
    import tensorflow as tf

    network = load_gan(GENERATOR).sampler
    rows = []
    for jit in (False, True):
        generate = tf.function(lambda noise, labels: network([noise, labels], training=False), jit_compile=jit)
        for chunk in (16, 64, 256):
            noise, labels = tf.random.normal((chunk, 128), seed=0), tf.fill((chunk,), 5)
            generate(noise, labels)  # trace and compile outside the timing
            start = time.perf_counter()
            for _ in range(repeats):
                generate(noise, labels)
            rows.append(f"| {'on' if jit else 'off'} | {chunk} | {chunk * repeats / (time.perf_counter() - start):.0f} |")
    return "\n".join(["| XLA | chunk | generated images/s |", "|---|---|---|", *rows])


def report(rates, command):
    rows = [f"| {ratio:g} | {max(values):.1f} | {statistics.median(values):.1f} | {ratio_cells(values, rates[0.0])} |"
            for ratio, values in rates.items()]
    return "\n".join([
        *header(command),
        "| generated ratio | best steps/s | median steps/s | ratio of bests | per-round ratio, median (range) |",
        "|---|---|---|---|---|",
        *rows,
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--backbone", default=None, help="a named backbone (random weights) instead of the "
                        "shipped classes-0-4 one, e.g. resnet50: how the cost of generation shrinks beside it")
    parser.add_argument("--generator-only", action="store_true",
                        help="time the generator alone (chunk sizes, XLA on and off) instead of training")
    parser.add_argument("--write", action="store_true", help="replace the section in docs/benchmarks.md")
    args = parser.parse_args()
    if args.generator_only:
        text = "\n".join([*header("python bench/augment_pipeline.py --generator-only"), generator_rates()])
        print(text)
        if args.write:
            write_section("augment-generator", text, "GAN-augmented classifier: generator speed")
        return
    rates = measure(args.rounds, args.steps, args.batch, args.backbone or BACKBONE)
    flag = f" --backbone {args.backbone}" if args.backbone else ""
    text = report(rates, f"python bench/augment_pipeline.py --rounds {args.rounds} --steps {args.steps} "
                         f"--batch {args.batch}{flag}")
    print(text)
    if args.write:
        write_section(f"augment-pipeline{'-' + args.backbone if args.backbone else ''}", text,
                      f"GAN-augmented classifier: pipeline speed{' with ' + args.backbone if args.backbone else ''}")


if __name__ == "__main__":
    main()
