"""Probe for the copy check (issue 24): how its scores move against the test split's KID over a 10-shot run.

Trains one method on one 10-shot cell with `CopyMonitor` scoring every `--every` steps (shots only) and the
benchmark's test-split scores (`fmnist_1k_test`: KID, recall, near-copy share) every 250 steps, and writes one
JSON line per epoch to `--out`. Used to set the thresholds of `kgantl.callbacks.copy_check`; not part of the grid.

`--cell TARGET,SHOTS,SEED` probes a cell of the colour (emoji) grid instead (`bench/emoji_few_shot_cells.py`: its
shots and test files, the `noto` extractor, the shipped colour source), training one of its methods' recipes
(`--method`, e.g. `plain finetune`, which the grid trains without the copy check): whether the copy check would
have caught copying where the grid saw it set in.

Usage:
    python bench/copy_check_probe.py --k 7 --seed 0 --method finetune --steps 1500 --out /tmp/probe.jsonl
    python bench/copy_check_probe.py --cell cross-subject,10,0 --method "plain finetune" --steps 2000 --every 100 \
        --out bench/results/copy_check_probe_colour.jsonl
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from kgantl.callbacks.copy_check import CopyMonitor  # noqa: E402
from kgantl.config import TrainOptions  # noqa: E402
from kgantl.data import load_arrays  # noqa: E402
from kgantl.metrics import evaluate  # noqa: E402
from kgantl.training import train  # noqa: E402

SOURCE = "saved_models/source-fmnist-0-4"


class Probe(keras.callbacks.Callback):
    def __init__(self, monitor, ref, shots, steps_per_epoch, out, test_every=250, extractor="auto"):
        super().__init__()
        self.monitor, self.ref, self.shots, self.spe, self.out, self.test_every = (monitor, ref, shots,
                                                                                   steps_per_epoch, out, test_every)
        self.extractor = extractor
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.monitor.set_model(self.model)
        step = (epoch + 1) * self.spe
        record = {"step": step, "train_s": round(time.perf_counter() - self.start, 1), **self.monitor.scores()}
        if step % self.test_every == 0:
            report = evaluate(self.model, ref=self.ref, split="test", n=1000, seed=0, extractor=self.extractor,
                              train_images=self.shots)
            record.update(test_kid=report["kid"], test_recall=report["recall"],
                          test_near_copy=report["near_copy_share"],
                          real_near_copy=report["memorisation"]["real_near_copy_share"])
        with open(self.out, "a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in record.items()}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--method", default="finetune", help="a strategy, or scratch")
    parser.add_argument("--diffaugment", default="")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--cell", help="a colour grid cell, TARGET,SHOTS,SEED (e.g. cross-subject,10,0)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.cell:
        return colour_probe(args)
    shots = load_arrays(f"fashion_mnist:{args.k}", shots=args.shots, seed=args.seed).images
    options = dict(data=f"fashion_mnist:{args.k}", shots=args.shots, seed=args.seed, epochs=args.steps // args.every,
                   steps_per_epoch=args.every, sample_every=10_000, diffaugment=args.diffaugment,
                   run_dir=tempfile.mkdtemp(prefix="kgantl-probe-"), copy_check="off",
                   eval_every=0)  # every shot trains (kgantl's rule would hold a fifth out for val_kid)
    if args.method == "scratch":
        options.update(batch_size=32)
    else:
        options.update(batch_size=64, source=SOURCE, strategy=args.method)
    monitor = CopyMonitor(shots, "fmnist", steps_per_epoch=args.every, every_steps=args.every, seed=args.seed)
    train(TrainOptions(**options), callbacks=[Probe(monitor, f"fashion_mnist:{args.k}", shots, args.every, args.out)],
          verbose=0)


def colour_probe(args):
    """The probe on a colour grid cell (`--cell`), training the grid's recipe for `--method` from its source."""
    import numpy as np

    import emoji_few_shot_cells as grid

    target, shots, seed = args.cell.split(",")
    shots_path, test_path = grid.cell_files(target, int(shots), int(seed))
    with np.load(shots_path) as arrays:
        images = arrays["images"]
    options = {**grid.recipe_options(args.method, str(grid.SOURCE)), "copy_check": "off", "eval_every": 0}
    options.update(data=str(shots_path), seed=int(seed), epochs=args.steps // args.every, steps_per_epoch=args.every,
                   sample_every=10_000, run_dir=tempfile.mkdtemp(prefix="kgantl-probe-"))
    monitor = CopyMonitor(images, "noto", steps_per_epoch=args.every, every_steps=args.every, seed=int(seed))
    train(TrainOptions(**options), callbacks=[Probe(monitor, str(test_path), images, args.every, args.out,
                                                    extractor="noto")], verbose=0)


if __name__ == "__main__":
    main()
