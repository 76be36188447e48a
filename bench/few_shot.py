"""Few-shot GAN transfer benchmark (BENCHMARKS.md protocol, issue 10): kgantl's methods against the obvious recipes.

Grid: target classes 5-9 at 100 shots (seed 0) and classes 7 and 9 at 10 shots (seeds 0, 1, 2). In each cell
every method trains once for 2000 generator steps; every 250 steps the sampling generator is scored against
the 1000 test images of the class (`fmnist_1k_test`: KID, FID, precision, recall, near-copy share), so the
500-step figures are read off the same run's curve (recorded as their own `steps: 500` records, marked
`read_off`). Only the benchmark scores against the test split; the runs themselves never read it.

Recipes (what each method trains with; `recipe` in every record):
- `scratch`: no source; DiffAugment color,translation,cutout, batch 32, EMA 0.999 (a GAN trained from nothing
  on 100 images needs augmentation; this is the recipe the earlier grids used, so its records carry over).
- `plain finetune`: BENCHMARKS.md's hand-written baseline: source G and D, fresh Adam, nothing frozen, no
  augmentation, no EMA, batch 64.
- every kgantl method: `kgantl transfer`'s defaults: batch 64, no DiffAugment, EMA 0.999. `auto`'s pilots train
  on 80 of the 100 shots and are scored on the other 20; its final run trains on all 100 (no `eval_every`).

Results are appended to `bench/results/few_shot.jsonl` as each run ends, so an interrupted grid resumes where it
stopped (the newest record of a run wins). Records of the earlier grids (kgantl methods at batch 32 with
DiffAugment, before issue 10) stay in the file under recipe `diffaugment-b32` and are not reported here.

Usage:
    python bench/few_shot.py [--only-class 7 --only-shots 100 --only-seed 0] [--methods finetune cdc]
    python bench/few_shot.py --report      # rewrite the tables, the plot and kgantl/measured.json
    python bench/few_shot.py --bf16-parity # vision_d on 100 sandals, seeds 0-2, float32 and mixed_bfloat16

The code: `few_shot_cells.py` (the cells, methods, recipes and record format), `few_shot_runner.py` (training and
scoring the runs, appending their records, resuming, `--held-out`, `--bf16-parity`) and `few_shot_report.py`
(`--report`). This file is the command line; `_done` and `measured_inputs` stay importable from it (the tests
read the records through them).
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from few_shot_cells import METHODS, _done  # noqa: E402
from few_shot_report import measured_inputs, report  # noqa: E402,F401 (measured_inputs: tests/test_measured.py)
from few_shot_runner import bf16_parity, run_grid  # noqa: E402


def _parser():
    """The command line: which cells and methods to run, or `--report`, `--held-out`, `--bf16-parity`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only-class", type=int, nargs="+", help="run only cells of these classes")
    parser.add_argument("--only-shots", type=int, nargs="+", help="run only cells with these shot counts")
    parser.add_argument("--only-seed", type=int, nargs="+", help="run only cells with these seeds")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS, help="methods to run (default: all)")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite the tables in the benchmark pages (benchmarks.md, benchmark-log.md)")
    parser.add_argument("--shared-machine", action="store_true",
                        help="mark the records: other work ran on this CPU, so wall times are upper bounds")
    parser.add_argument("--keep", default=None, help="copy each scored model.keras into this folder")
    parser.add_argument("--held-out", action="store_true",
                        help="run the held-out 10-shot cells (classes 5 and 8, seed 0) instead of the grid")
    parser.add_argument("--bf16-parity", action="store_true",
                        help="run the bfloat16 quality check instead of the grid: vision_d on 100 sandals, seeds 0-2, "
                             "in float32 and mixed_bfloat16 (needs a CPU with AMX or AVX512-BF16, or a GPU)")
    parser.add_argument("--force", action="store_true",
                        help="re-run the selected methods even where they have records (the newest record wins)")
    return parser


def main():
    args = _parser().parse_args()
    if args.report:
        print(report())
        return
    done = _done()
    if args.bf16_parity:
        bf16_parity(done, args)
        return
    run_grid(done, args)


if __name__ == "__main__":
    main()
