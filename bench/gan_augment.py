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
    python bench/gan_augment.py --strategy vision_d --gan-batch-size 64 --gan-diffaugment '' --tag vision_d
    python bench/gan_augment.py --report [--tag vision_d]
"""
import argparse
import dataclasses
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kgantl.synthetic import AugmentSettings, augment_experiment  # noqa: E402
from kgantl.synthetic.report import markdown_report, summarise  # noqa: E402
from sections import header, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "gan_augment.json"
SOURCE = "saved_models/source-fmnist-0-4-conditional"


def result_path(tag):
    """Where a run's raw report is kept: `gan_augment.json`, or `gan_augment-TAG.json` for a tagged recipe."""
    return RESULT if tag is None else RESULT.with_name(f"gan_augment-{tag}.json")


def command_line(args):
    """The bench command and the `kgantl augment` command it amounts to, for the section header."""
    seeds, ratios = " ".join(map(str, args.seeds)), " ".join(f"{r:g}" for r in args.ratios)
    recipe = ("" if args.tag is None else
              f" --strategy {args.strategy} --gan-batch-size {args.gan_batch_size} "
              f"--gan-diffaugment '{args.gan_diffaugment}' --tag {args.tag}")
    bench = f"python bench/gan_augment.py --seeds {seeds} --gan-steps {args.gan_steps} --ratios {ratios}{recipe}"
    cli = (f"kgantl augment --data fashion_mnist:5-9 --shots 10 --backbone saved_models/fmnist-0-4-backbone "
           f"--feature-layer flatten --source {SOURCE} --strategy {args.strategy} --gan-batch-size "
           f"{args.gan_batch_size} --gan-diffaugment '{args.gan_diffaugment}' --seeds {seeds.replace(' ', ',')} "
           f"--ratios {ratios.replace(' ', ',')} --gan-steps {args.gan_steps}")
    return bench, f" (the same as `{cli}`)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--gan-steps", type=int, default=500)
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.0, 0.25, 0.5])
    defaults = {field.name: field.default for field in dataclasses.fields(AugmentSettings)}
    parser.add_argument("--strategy", default=defaults["strategy"], help="the GAN's transfer strategy")
    parser.add_argument("--gan-batch-size", type=int, default=defaults["gan_batch_size"])
    parser.add_argument("--gan-diffaugment", default=defaults["gan_diffaugment"],
                        help="the GAN's DiffAugment policy; '' for none")
    parser.add_argument("--tag", default=None,
                        help="name of a recipe other than the issue-5 one: its report goes to "
                             "bench/results/gan_augment-TAG.json and section gan-augment-TAG of docs/benchmark-log.md")
    parser.add_argument("--runs-root", default=str(ROOT / "runs"))
    parser.add_argument("--report", action="store_true",
                        help="only rewrite the section of docs/benchmark-log.md from the stored report")
    args = parser.parse_args()
    result = result_path(args.tag)
    if args.report:
        report = json.loads(result.read_text())
        report["summary"] = summarise(report["seeds"])  # the verdict's wording may have changed since
        stored = AugmentSettings.from_report(report)
        for name in ("seeds", "ratios", "gan_steps", "strategy", "gan_batch_size", "gan_diffaugment"):
            setattr(args, name, stored[name])
    else:
        settings = AugmentSettings(data="fashion_mnist:5-9", shots=10, backbone="saved_models/fmnist-0-4-backbone",
                                   ratios=tuple(args.ratios), seeds=tuple(args.seeds), source=SOURCE,
                                   strategy=args.strategy, gan_batch_size=args.gan_batch_size,
                                   gan_diffaugment=args.gan_diffaugment, gan_steps=args.gan_steps,
                                   feature_layer="flatten")
        report, run_dir = augment_experiment(settings, runs_root=args.runs_root)
        result.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(run_dir) / "report.json", result)  # the raw numbers stay with the repository
    bench, same_as = command_line(args)
    text = "\n".join([*header(bench, same_as, date_note=f"; raw report: `{result.relative_to(ROOT)}`"),
                      markdown_report(report)])
    print(text)
    section = "gan-augment" if args.tag is None else f"gan-augment-{args.tag}"
    write_section(section, text, "GAN-augmented classifier fine-tuning")


if __name__ == "__main__":
    main()
