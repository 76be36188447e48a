"""Which generator design to train at 64x64x3 on 2 CPU cores: quality per CPU-hour (issue 34, "Models at 64x64x3").

Each design trains a new GAN with kgantl's defaults (batch 64, non-saturating loss, Adam 2e-4/0.5, EMA 0.999, no
augmentation, float32) on the colour source domain of BENCHMARKS.md (Noto emoji outside "Animals & Nature", 3,627
images, `emoji:google:!Animals & Nature`) for the same budget of process CPU seconds (all threads; on a shared
machine the CPU time, not the wall time, is what a step costs), then its EMA generator is scored: KID (and
precision/recall) of 1000 samples against the set's train split in the `noto` extractor's features. The source
domain is the reference because this compares designs for a source GAN (what it should learn to draw); no design
is near copying at these budgets, which the near-copy share in the table checks. (The runs in docs/benchmarks.md
trained on all 3,627 images, before kgantl's emoji split existed; `train` now reads the 3,272 of the train split.)

Designs (`kgantl.models.build_generator`; D is kgantl's DCGAN discriminator of the same width):
- `w64_conv5`: today's default below 64 px (ConvTranspose 512@8 ... 64@64, then a 5x5 convolution to the image);
- `w64_convt`: the classic 64x64 DCGAN (`to_image="convt"`: the last ConvTranspose makes the image), which is the
  plain Keras colour reference's exact generator;
- `w32_convt`: the same at half the width (fewer channels at every resolution, about a quarter of the work).

Usage:
    python bench/colour_design.py train [--cpu-minutes 15] [--designs w64_conv5,w64_convt,w32_convt]
    python bench/colour_design.py score
    python bench/colour_design.py report         # the table into docs/benchmarks.md ("colour-design")
    python bench/colour_design.py scale          # KIDs between real sets, for the table's scale
Results: bench/results/colour_design.jsonl (one line per design); run folders under bench/runs/colour_design/.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from sections import cpu_line  # noqa: E402

DATA = "emoji:google:!Animals & Nature"
DESIGNS = {"w64_conv5": (64, "conv5"), "w64_convt": (64, "convt"), "w32_convt": (32, "convt")}
RUNS = ROOT / "bench" / "runs" / "colour_design"
RESULTS = ROOT / "bench" / "results" / "colour_design.jsonl"


def _budget_callback(seconds):
    """A Keras callback stopping training once the process has used `seconds` of CPU since the first batch."""
    import keras

    class CpuBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.process_time()

        def on_train_batch_end(self, batch, logs=None):
            if time.process_time() - self.start >= seconds:
                self.model.stop_training = True

    return CpuBudget()


def train(names, cpu_minutes):
    """Train each design for `cpu_minutes` of process CPU time; a design whose folder holds a model is skipped."""
    from kgantl.config import TrainOptions
    from kgantl.training import prepare_training, run_training

    for name in names:
        width, to_image = DESIGNS[name]
        run_dir = RUNS / name
        if (run_dir / "model.keras").is_file():
            print(f"{name}: already trained ({run_dir})")
            continue
        options = TrainOptions(data=DATA, image_size=64, width=width, to_image=to_image, steps=100_000,
                               steps_per_epoch=100, sample_every=5, seed=0, run_dir=str(run_dir)).validate()
        wall, cpu = time.perf_counter(), time.process_time()
        prepared = prepare_training(options, callbacks=[_budget_callback(cpu_minutes * 60)])
        run_training(prepared, verbose=0)
        steps = int(prepared.gan.g_optimizer.iterations.numpy())
        record = {"design": name, "width": width, "to_image": to_image, "steps": steps,
                  "cpu_seconds": round(time.process_time() - cpu, 1),
                  "wall_seconds": round(time.perf_counter() - wall, 1),
                  "cpu_budget_minutes": cpu_minutes, "machine": f"{cpu_line()}, {os.cpu_count()} cores",
                  "date": time.strftime("%Y-%m-%d")}
        (run_dir / "design.json").write_text(json.dumps(record, indent=2))
        print(json.dumps(record), flush=True)


def score(names):
    """KID, precision/recall and near-copy share of each trained design's generator; appended to RESULTS."""
    from kgantl.data import load_arrays
    from kgantl.metrics import evaluate
    from kgantl.runs.artifacts import open_generator

    train_images = load_arrays(DATA).images
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        run_dir = RUNS / name
        if not (run_dir / "design.json").is_file():
            print(f"{name}: not trained yet")
            continue
        record = json.loads((run_dir / "design.json").read_text())
        report = evaluate(open_generator(run_dir), ref=DATA, split="train", n=1000, extractor="noto",
                          train_images=train_images)
        record.update({key: report[key] for key in ("kid", "kid_std", "fid", "precision", "recall",
                                                    "near_copy_share", "protocol")})
        with open(RESULTS, "a") as results:
            results.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


def scale():
    """KIDs between real sets in `noto` features, for the scale of the design table's numbers (printed as JSON):
    two halves of the source's train split, its test split against its train split, the same emoji by Twemoji, and
    Noto's "Animals & Nature" (1000 images each where a set has more, drawn with `default_rng(0)`)."""
    import numpy as np

    from kgantl.data import load_arrays
    from kgantl.metrics import get_extractor
    from kgantl.metrics.distances import unbiased_mmd2

    extractor = get_extractor("noto")
    features = {name: extractor.features(load_arrays(spec, split=split).images / 127.5 - 1.0)
                for name, spec, split in (("train", DATA, "train"), ("test", DATA, "test"),
                                          ("twemoji", "emoji:twitter:!Animals & Nature", "train"),
                                          ("animals", "emoji:google:Animals & Nature", "train"))}
    order = np.random.default_rng(0).permutation(len(features["train"]))
    first, second = features["train"][order[:1000]], features["train"][order[1000:2000]]
    print(json.dumps({"train half vs train half": unbiased_mmd2(first, second),
                      "test vs train": unbiased_mmd2(features["test"], first),
                      "twemoji vs noto train": unbiased_mmd2(features["twemoji"][:1000], first),
                      "noto animals vs noto train": unbiased_mmd2(features["animals"], first)}, indent=2))


def report():
    """The last scored record of each design as a table in docs/benchmarks.md (section `colour-design`)."""
    from sections import header, write_section

    records = {}
    for line in RESULTS.read_text().splitlines():
        record = json.loads(line)
        records[record["design"]] = record
    rows = ["| design | steps | CPU s | wall s | steps per CPU-hour | KID (noto) | FID | precision | recall | "
            "near-copy share |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in DESIGNS:
        if name in records:
            r = records[name]
            rows.append(f"| {name} | {r['steps']} | {r['cpu_seconds']:.0f} | {r['wall_seconds']:.0f} | "
                        f"{r['steps'] * 3600 / r['cpu_seconds']:.0f} | {r['kid']:.3f} ± {r['kid_std']:.3f} | "
                        f"{r['fid']:.1f} | {r['precision']:.2f} | {r['recall']:.2f} | {r['near_copy_share']:.3f} |")
    machine = next(iter(records.values()))["machine"] if records else "none"
    lines = header("python bench/colour_design.py train --cpu-minutes 20 && python bench/colour_design.py score",
                   machine_note=f" (training: {machine})")
    write_section("colour-design", "\n".join(lines + rows), "Models at 64x64x3")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("train", "score", "report", "scale"))
    parser.add_argument("--cpu-minutes", type=float, default=15.0, help="CPU minutes per design (default: 15)")
    parser.add_argument("--designs", default=",".join(DESIGNS), help="comma-separated designs (default: all)")
    args = parser.parse_args()
    names = [name for name in args.designs.split(",") if name]
    unknown = [name for name in names if name not in DESIGNS]
    if unknown:
        parser.error(f"--designs must name {', '.join(DESIGNS)}. Received: {', '.join(unknown)}")
    if args.phase in ("report", "scale"):
        return report() if args.phase == "report" else scale()
    train(names, args.cpu_minutes) if args.phase == "train" else score(names)


if __name__ == "__main__":
    main()
