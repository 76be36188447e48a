"""Pictures of the colour grid's 10-shot cells at the colour recipe's budget (250 generator steps), where the grid's
own pictures show 2000.

The grid keeps only each run's final model, so its pictures show 2000 steps; the colour recipe stops at 250. This
re-trains seed 0 of each 10-shot target at `--steps` for the recipe's method and the baseline that beat it on
cross-subject (a plain fine-tune), exactly as the grid trains them (`emoji_few_shot.run_method`, same seed, shots and
options), keeps the models apart (`models-<steps>`), and draws `docs/emoji_few_shot_<target>_10_at_<steps>.png`
(the shots, the source as is, each method). Each run's KID is printed beside the grid curve's point at the same
step, so the picture is shown to be of the run the tables score.

Usage:
    python bench/emoji_budget_pictures.py [--steps 250] [--methods "plain finetune" adapters]
"""
import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import emoji_few_shot_cells as grid  # noqa: E402
from emoji_few_shot import run_method  # noqa: E402
from emoji_few_shot_pictures import cell_picture, run_name  # noqa: E402
from sections import DOCS  # noqa: E402

TARGETS = ("cross-style", "cross-subject")


def curve_kid(cell, method, steps, results=grid.RESULTS):
    """The grid record's curve KID at `steps` for (cell, method), or None without one."""
    records = [json.loads(line) for line in Path(results).read_text().splitlines() if line.strip()]
    for record in reversed(records):  # the newest record wins, as in the grid
        if (record["target"], record["shots"], record["seed"], record["method"]) == (*cell, method):
            return next((p["kid"] for p in record.get("curve", []) if p["steps"] == steps), None)
    return None


def draw(steps, methods, docs=DOCS, cache=None):
    """Train, score and draw each target's seed-0 cell; returns [(cell, method, kid, the curve's kid)]."""
    keep = f"models-{steps}"
    models = (grid.CACHE if cache is None else Path(cache)) / keep
    workdir = Path(tempfile.mkdtemp(prefix="kgantl-emoji-budget-"))
    rows = []
    try:
        for target in TARGETS:
            cell = (target, 10, 0)
            for method in methods:
                record = run_method(cell, method, grid.SOURCE, steps, workdir, cache, keep=keep)
                shutil.rmtree(workdir / run_name(cell, method), ignore_errors=True)
                rows.append((cell, method, record["kid"], curve_kid(cell, method, steps)))
                print(f"{cell} {method}: KID {record['kid']:.4f} (the grid curve at {steps}: {rows[-1][3]})",
                      flush=True)
            cell_picture(cell, list(methods), docs / f"emoji_few_shot_{target}_10_at_{steps}.png", models=models,
                         cache=cache, source=grid.SOURCE)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--methods", nargs="+", choices=grid.METHODS, default=["plain finetune", "adapters"])
    args = parser.parse_args()
    draw(args.steps, args.methods)


if __name__ == "__main__":
    main()
