"""Does GAN-generated data help a 10-shot classifier? `kgantl augment` at the benchmark settings, 3 seeds.

Protocol (BENCHMARKS.md, "Classification"): classes 5-9, 10 labelled images per class by the n-shot rule
(2 per class held out to choose the ratio), test accuracy and macro-F1 on the 5,000 test images of classes
5-9, mean and spread over seeds 0, 1, 2. Classifier: saved_models/fmnist-0-4-backbone cut at `flatten`,
staged unfreezing (40 epochs head only, 20 epochs with the top two layers at 1e-4), batch 16, equal steps
for every ratio. GAN: the shipped conditional classes-0-4 source transferred to the 40 training shots with
freeze_d:1 and DiffAugment for 500 generator steps. The run directory keeps every model; the report is
copied to bench/results/gan_augment.json.

Usage:
    python bench/gan_augment.py [--seeds 0 1 2] [--gan-steps 500] [--runs-root runs]
    python bench/gan_augment.py --report
"""
import argparse
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kgantl.augment import AugmentSettings, augment_experiment  # noqa: E402
from kgantl.augment.experiment import markdown_report, summarise  # noqa: E402
from sections import header, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "gan_augment.json"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--gan-steps", type=int, default=500)
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.0, 0.25, 0.5])
    parser.add_argument("--runs-root", default=str(ROOT / "runs"))
    parser.add_argument("--report", action="store_true",
                        help="only rewrite the section of docs/benchmarks.md from bench/results/gan_augment.json")
    args = parser.parse_args()
    if args.report:
        report = json.loads(RESULT.read_text())
        report["summary"] = summarise(report["seeds"])  # the verdict's wording may have changed since
        args.seeds, args.ratios = report["settings"]["seeds"], report["settings"]["ratios"]
        args.gan_steps = report["settings"]["gan_steps"]
    else:
        settings = AugmentSettings(data="fashion_mnist:5-9", shots=10, backbone="saved_models/fmnist-0-4-backbone",
                                   ratios=tuple(args.ratios), seeds=tuple(args.seeds),
                                   source="saved_models/source-fmnist-0-4-conditional", strategy="freeze_d:1",
                                   gan_steps=args.gan_steps, feature_layer="flatten")
        report, run_dir = augment_experiment(settings, runs_root=args.runs_root)
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(run_dir) / "report.json", RESULT)  # the raw numbers stay with the repository
    text = "\n".join([
        *header(f"python bench/gan_augment.py --seeds {' '.join(map(str, args.seeds))} --gan-steps "
                f"{args.gan_steps} --ratios {' '.join(f'{r:g}' for r in args.ratios)}",
                f" (the same as `kgantl augment --data fashion_mnist:5-9 --shots 10 --backbone "
                f"saved_models/fmnist-0-4-backbone --feature-layer flatten --source "
                f"saved_models/source-fmnist-0-4-conditional --seeds {','.join(map(str, args.seeds))} "
                f"--ratios {','.join(f'{r:g}' for r in args.ratios)} --gan-steps {args.gan_steps}`)",
                date_note="; raw report: `bench/results/gan_augment.json`"),
        markdown_report(report),
    ])
    print(text)
    write_section("gan-augment", text, "GAN-augmented classifier fine-tuning (issue 5)")


if __name__ == "__main__":
    main()
