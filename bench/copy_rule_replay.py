"""Replay checkpoint-selection rules on the copy check's recorded evaluations of the 10-shot grid.

Selection does not change training, so any rule can be replayed exactly on a `default` run of
`bench/few_shot.py`: its record holds every copy-check evaluation (`selection`, every 100 steps) and the test KID
at each of those steps (`curve`). A rule that would have stopped earlier is replayed by cutting the evaluations
where it stops. This is for comparing rules, not for reporting: a rule picked here is fitted to these six cells.
So the held-out cells (`python bench/few_shot.py --held-out`, classes 5 and 8) are replayed apart: decided before
they ran (2026-12-05), "last passing" replaces the shipped rule only if on them it lands no further from the
test-best step and at no higher test KID than the shipped rule. (Class 5 ran; it did not contradict it, see
docs/benchmark-log.md; class 8 did not run for lack of time.)

`--colour` replays the same rules on the colour (emoji) grid's 10-shot runs that chose a checkpoint (`default` and
the `--strategy NAME` methods of `bench/emoji_few_shot.py`), cell by cell; the "most diverse" rule was added after
seeing the colour cross-style runs, where samples narrow as test KID rises, so it is a post-hoc candidate, shown on
the Fashion-MNIST runs too.

Usage:
    python bench/copy_rule_replay.py [--colour]
"""
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from emoji_few_shot_cells import RESULTS as COLOUR_RESULTS  # noqa: E402
from few_shot_cells import HELD_OUT, RESULTS  # noqa: E402

from kgantl.callbacks.copy_check import choose, copying_set_in  # noqa: E402

PATIENCE = 3


def smoothed(records, window=1):
    """Each record with `shot_kid` replaced by the mean over itself and `window` neighbours either side."""
    out = []
    for i, record in enumerate(records):
        near = records[max(0, i - window):i + window + 1]
        out.append({**record, "shot_kid": statistics.mean(r["shot_kid"] for r in near)})
    return out


def lowest_shot_kid(records, z_min):
    """The rule shipped until 2026-12-05 evening: the passing evaluation with the lowest `shot_kid`, else the
    highest `copy_z`."""
    passing = [r for r in records if r["copy_z"] >= z_min]
    if passing:
        return min(passing, key=lambda r: (r["shot_kid"], -r["epoch"]))
    return max(records, key=lambda r: (r["copy_z"], r["epoch"]))


# The first three were registered before the re-run whose records they are replayed on (2026-12-05): the rule
# shipped then, a stricter copy threshold (half copies scored -2.95 to -1.40, averages of shots down to -1.48), and
# a smoothed quality term.
RULES = {
    "lowest shot_kid (z >= -2, shipped until 2026-12-05)": dict(z_min=-2.0, smooth=0, rule=lowest_shot_kid),
    "strict (z >= -1.5)": dict(z_min=-1.5, smooth=0, rule=lowest_shot_kid),
    "smoothed shot_kid (z >= -2)": dict(z_min=-2.0, smooth=1, rule=lowest_shot_kid),
    # Added after seeing the first re-run cells (so not a pre-registered candidate): on boots shot_kid was lowest
    # where the test KID was highest. The latest evaluation that passes, i.e. no quality term at all; shipped
    # (`kgantl.callbacks.copy_check.choose`) after the held-out cell.
    "latest passing (z >= -2, shipped)": dict(z_min=-2.0, smooth=0, rule=choose),
    # The baseline any rule has to beat: no selection, the model at the end of training.
    "no selection (final step)": dict(z_min=float("-inf"), smooth=0, rule=choose),
    # Added 2026-12-06 after the colour cross-style runs (post hoc): the passing evaluation whose samples are the
    # most diverse (`intra_diversity`), the latest of equals.
    "most diverse passing (z >= -2)": dict(z_min=-2.0, smooth=0, rule=lambda records, z_min: max(
        [r for r in records if r["copy_z"] >= z_min] or records, key=lambda r: (r["intra_diversity"], r["epoch"]))),
}


def replay(evaluations, z_min, smooth, rule):
    """The step a rule chooses and where it stops, from a run's evaluations in training order."""
    seen = []
    for record in evaluations:
        seen.append(record)
        if copying_set_in(seen, PATIENCE, z_min):
            break
    scored = smoothed(seen, smooth) if smooth else seen
    chosen = rule(scored, z_min)
    return chosen["step"], seen[-1]["step"] if len(seen) < len(evaluations) else None


def _print_rules(runs):
    for name, rule in RULES.items():
        print(f"\n{name}")
        near, kids = 0, []
        for (k, seed), r in sorted(runs.items()):
            step, stopped = replay(r["selection"], **rule)
            curve = {p["steps"]: p["kid"] for p in r["curve"]}
            best = min(curve, key=curve.get)
            near += abs(step - best) <= 250
            kids.append(curve[step])
            print(f"  {k} seed {seed}: chosen {step} (test KID {curve[step]:.4f}), stopped "
                  f"{stopped or '-'}, test-best {best} ({curve[best]:.4f})")
        print(f"  within 250 of test-best: {near} of {len(runs)}; mean test KID at chosen {statistics.mean(kids):.4f}")


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def colour_runs():
    """The colour grid's 10-shot runs with the copy check's evaluations, by ("target method", seed); the newest
    record of each wins."""
    return {(f"{r['target']} {r['method']}", r["seed"]): r for r in _read(COLOUR_RESULTS)
            if r["shots"] == 10 and r.get("selection") and r.get("curve")}


def main():
    if "--colour" in sys.argv[1:]:
        print("\n== colour grid, 10 shots")
        _print_rules(colour_runs())
        return
    records = _read(RESULTS)
    runs = {}
    for r in records:  # the newest record of each cell that has the evaluations
        if r["method"] == "default" and r["shots"] == 10 and r["steps"] == 2000 and r.get("selection"):
            runs[(f"class {r['class']}", r["seed"])] = r
    held_out = {(f"class {k}", s) for k, _, s in HELD_OUT}
    for title, part in (("grid (classes 7, 9)", {c: r for c, r in runs.items() if c not in held_out}),
                        ("held out (classes 5, 8)", {c: r for c, r in runs.items() if c in held_out})):
        if part:
            print(f"\n== {title}")
            _print_rules(part)


if __name__ == "__main__":
    main()
