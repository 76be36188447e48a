"""The few-shot grid's report (`python bench/few_shot.py --report`): what the records in the results file show.

Rewrites three sections of the benchmark pages from the records (bench/sections.py says which page): the grid's
tables per cell and budget with the KID-against-steps plot (`few-shot-grid`), the ten-shot `default` table
(`ten-shot-default`), and the table of what the benchmarks set (`measured-defaults`), after writing
kgantl/measured.json from `measured.derive` on `measured_inputs` (keeping the file's `colour` entry, which the colour
grid's report writes through `write_measured` too). Records are read through today's recipes only
(`_cell_records`), and a `default` record made under an earlier checkpoint rule is replayed at today's rule
(`at_current_rule`). Trains nothing.
"""
import json
import statistics
from pathlib import Path

import numpy as np

import measured
from few_shot_cells import BF16_SUFFIX, METHODS, READ_OFF, ROOT, STEPS, _done, _recipe_of, grid, recipe
from kgantl.io import atomic_path
from sections import header, save_figure, write_section

PLOT = ROOT / "docs" / "few_shot_kid_vs_steps.png"
MEASURED = ROOT / "kgantl" / "measured.json"


def _cell_records(records, k, shots, steps):
    """The records the report uses for a cell's shot count and budget: each method's own recipe only, `default`
    at the checkpoint today's rule picks (`at_current_rule`)."""
    return [at_current_rule(r)[0] if r["method"] == "default" else r for r in records
            if (r["class"], r["shots"]) == (k, shots) and r["steps"] in (steps, 0)
            and _recipe_of(r) == recipe(r["method"])]


def _table(records, title, methods=None):
    """A Markdown table of `records`' mean (± std over seeds) scores per method of `methods` (default: the grid's
    METHODS), with `copy the shots` first."""
    lines = [f"**{title}**", "", "| method | KID | FID | precision | recall | near-copy | KID (random CNN) | "
             "train s | CPU s | runs |", "|---|---|---|---|---|---|---|---|---|---|"]
    for method in ["copy the shots", *(METHODS if methods is None else methods)]:
        rows = [r for r in records if r["method"] == method]
        if not rows:
            continue

        def cell(key, digits):
            values = [r[key] for r in rows if r.get(key) is not None]
            if not values:
                return "n/a"
            mean = statistics.mean(values)
            spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
            subset = f" ({len(values)} of {len(rows)} runs)" if len(values) < len(rows) else ""
            return f"{mean:.{digits}f}{spread}{subset}"

        chose = sorted({r["auto_chose"] for r in rows if r.get("auto_chose")})
        name = f"{method} (chose {', '.join(chose)})" if chose else method
        shared = "*" if any(r.get("shared_machine") for r in rows) else ""  # wall time an upper bound
        lines.append(f"| {name} | {cell('kid', 4)} | {cell('fid', 2)} | {cell('precision', 3)} | "
                     f"{cell('recall', 3)} | {cell('near_copy', 3)} | {cell('kid_random_cnn', 6)} | "
                     f"{cell('wall_s', 0)}{shared} | {cell('cpu_s', 0)} | {len(rows)} |")
    return "\n".join(lines)


def plot(records, path=PLOT):
    """KID against generator steps, one panel per 100-shot class, one line per method (the curve records)."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("The plot needs matplotlib: pip install -e '.[bench]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [(k, n, s) for k, n, s in grid()
             if any(r.get("curve") and (r["class"], r["shots"], r["seed"]) == (k, n, s) for r in records)]
    if not cells:
        return False
    fig, axes = plt.subplots(1, len(cells), figsize=(3.6 * len(cells), 3.6), dpi=110, squeeze=False)
    for ax, (k, n, s) in zip(axes[0], cells):
        for method in METHODS:
            rows = [r for r in records if (r["class"], r["shots"], r["seed"], r["method"]) == (k, n, s, method)
                    and r.get("curve") and _recipe_of(r) == recipe(method)]
            if rows:
                curve = rows[-1]["curve"]
                ax.plot([p["steps"] for p in curve], [p["kid"] for p in curve], marker="o", ms=3, label=method)
        scratch = [r for r in records if (r["class"], r["shots"], r["seed"], r["method"]) == (k, n, s, "scratch")
                   and _recipe_of(r) == recipe("scratch")]
        if scratch:  # the time-to-quality target: reach this line by step 500
            ax.axhline(scratch[-1]["kid"], color="gray", linestyle=":", label=f"scratch at {STEPS}")
        ax.axvline(READ_OFF, color="lightgray", linewidth=0.8)
        ax.set(yscale="log", xlabel="generator steps", title=f"class {k}, {n} shots, seed {s}")
    axes[0][0].set_ylabel("KID (fmnist_1k_test)")
    axes[0][-1].legend(fontsize=7)
    save_figure(fig, path)
    return True


def report():
    """Rewrite the grid's tables and the KID-against-steps plot in the benchmark pages."""
    records = list(_done().values())
    parts = _grid_section(records)
    write_section("few-shot-grid", "\n".join(parts), "Few-shot GAN transfer grid")
    ten_shot = ten_shot_default_table(records)
    write_section("ten-shot-default", ten_shot, "Ten shots: kgantl transfer's own recipe")
    colour = written_measured().get("colour")  # the colour grid's report writes it (`emoji_few_shot.py --report`)
    table = write_measured({**measured.derive(*measured_inputs(records)), **({"colour": colour} if colour else {})})
    return "\n".join(parts + ["", ten_shot, "", table])


def written_measured(path=None):
    """kgantl/measured.json (or `path`) as the reports last wrote it (empty before the first): each report keeps
    what it does not derive itself, the other report's part."""
    path = Path(MEASURED if path is None else path)
    return json.loads(path.read_text()) if path.is_file() else {}


def write_measured(defaults, path=None, page=None):
    """Write `defaults` to kgantl/measured.json (or `path`; atomically, as `measured.dumps` lays it out) and render
    them into the "What the benchmarks set" section of `page` (default: the results page). Returns the table."""
    with atomic_path(MEASURED if path is None else path) as tmp:
        tmp.write_text(measured.dumps(defaults))
    table = measured.render(defaults)
    write_section("measured-defaults", table, "What the benchmarks set", path=page)
    return table


def _grid_section(records):
    """The `few-shot-grid` section's lines: header, recipes, a table per cell and budget, the plot (written)."""
    parts = header("python bench/few_shot.py", " (then `--report`)",
                   date_note="; raw records: `bench/results/few_shot.jsonl`")
    finished = [cell for cell in grid() if all(
        any((r["class"], r["shots"], r["seed"], r["method"], r["steps"]) == (*cell, m, STEPS)
            and _recipe_of(r) == recipe(m) for r in records) for m in METHODS)]
    parts.append(f"Cells with every method at {STEPS} steps: {len(finished)} of {len(grid())}. Recipes: scratch "
                 "batch 32 with DiffAugment; plain finetune batch 64, no augmentation, no EMA; kgantl's methods "
                 "`kgantl transfer`'s defaults (batch 64, no augmentation, EMA 0.999). train s: training seconds "
                 "(scoring excluded) on the CPU each record names (`cpu`; records without it ran on the Intel Xeon "
                 "with AMX named in the probe's section, 2026-11-22), * where the CPU was shared with other work "
                 "(an upper bound); CPU s: the process's CPU seconds over its threads, recorded from 2026-12-01 "
                 "on, which sharing barely changes; 500-step rows are read off the 2000-step runs.")
    for steps in (READ_OFF, STEPS):
        for k, n in dict.fromkeys((k, n) for k, n, _ in grid()):
            cell = [r for r in _cell_records(records, k, n, steps) if r["seed"] in {s for kk, nn, s in grid()
                                                                                   if (kk, nn) == (k, n)}]
            if any(r["method"] != "copy the shots" for r in cell):
                seeds = sorted({r["seed"] for r in cell})
                title = f"class {k}, {n} shots, {steps} steps, seed{'s' if len(seeds) > 1 else ''} " \
                        f"{', '.join(map(str, seeds))}{' (mean ± std)' if len(seeds) > 1 else ''}"
                parts += ["", _table(cell, title)]
    if plot([r for r in records if r["steps"] == STEPS]):
        parts += ["", f"![KID against steps]({PLOT.name})"]
    return parts


def measured_inputs(records):
    """What `measured.derive` reads off the records: KID per method of each 100-shot cell (seed 0) and each
    10-shot cell at STEPS (`default` at today's rule's checkpoint), and the bfloat16 parity runs' KIDs."""
    def kids(k, shots, seed):
        return {r["method"]: r["kid"] for r in _cell_records(records, k, shots, STEPS)
                if r["seed"] == seed and r["method"] != "copy the shots"}

    hundred = {k: kids(k, n, s) for k, n, s in grid() if n == 100}
    ten = {(k, s): kids(k, n, s) for k, n, s in grid() if n == 10}
    cell, parity = measured.PARITY_CELL, {}
    for policy, suffix in (("float32", ""), ("mixed_bfloat16", BF16_SUFFIX)):
        runs = {r["seed"]: r["kid"] for r in records
                if (r["class"], r["shots"], r["method"], r["steps"]) == (cell["class"], cell["shots"], cell["method"],
                                                                         STEPS)
                and r["seed"] in cell["seeds"] and _recipe_of(r) == recipe(cell["method"]) + suffix}
        parity[policy] = [runs[seed] for seed in sorted(runs)]
    return hundred, ten, parity, best_steps(records)


def best_steps(records):
    """The test-KID-best step on the curve of what `kgantl transfer` trains with no recipe flags: `default` on
    each 10-shot cell, `finetune` (the transfer default above FEW_SHOTS) on each 100-shot cell."""
    def best(k, shots, seed, method):
        run = next((r for r in _cell_records(records, k, shots, STEPS)
                    if r["seed"] == seed and r["method"] == method and r.get("curve")), None)
        return None if run is None else min(run["curve"], key=lambda point: point["kid"])["steps"]

    found = {shots: [best(k, n, s, "default" if n == 10 else "finetune") for k, n, s in grid() if n == shots]
             for shots in (10, 100)}
    return {shots: [step for step in steps if step is not None] for shots, steps in found.items()}


def at_current_rule(record):
    """A `default` record's scores at the checkpoint today's rule (`kgantl.callbacks.copy_check.choose`) picks
    from the run's own copy-check evaluations, and whether that differs from the run's choice.

    Selection does not change training (and training is deterministic here), so a record made under an earlier
    rule is replayed exactly: KID, recall and near-copy share come from the run's curve at the replayed step,
    scored by the same protocol as the chosen checkpoint (the stopping rule has not changed). FID, precision and
    the random-CNN scores are only taken at the chosen checkpoint, so they are dropped from a replayed record.
    """
    from kgantl.callbacks.copy_check import choose

    if not record.get("selection") or not record.get("curve"):
        return record, False
    step = choose(record["selection"])["step"]
    if step == record.get("chosen_step"):
        return record, False
    point = next(p for p in record["curve"] if p["steps"] == step)
    kept = {key: value for key, value in record.items()
            if key not in ("kid_std", "fid", "precision", "kid_random_cnn", "recall_random_cnn")}
    return {**kept, "chosen_step": step, **{m: point[m] for m in ("kid", "recall", "near_copy")}}, True


def ten_shot_default_table(records):
    """The issue-24 targets per 10-shot cell: `default` (`kgantl transfer`'s own recipe at its chosen checkpoint)
    against scratch, plain finetune and kgantl's `finetune`, and the copy check's chosen step against the step with
    the lowest test KID on the run's own curve (KID every 100 steps, the full scores every 250, up to where the
    check stopped it; records before 2026-12-05 afternoon scored every 250 steps only)."""
    def one(k, seed, method):
        rows = [r for r in records if (r["class"], r["shots"], r["seed"], r["method"], r["steps"]) ==
                (k, 10, seed, method, 0 if method == "copy the shots" else STEPS) and _recipe_of(r) == recipe(method)]
        return rows[-1] if rows else None

    lines = ["| cell | KID | KID / min(scratch, plain) | recall (finetune's) | near-copy (real's) | chosen step | "
             "stopped at | test-best step on its curve | chosen within 250 | train s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    ratios, kids, near, replayed = [], {"default": [], "scratch": [], "plain finetune": []}, [], 0
    for k, n, seed in grid():
        default = one(k, seed, "default")
        if n != 10 or default is None:
            continue
        default, moved = at_current_rule(default)
        replayed += moved
        scratch, plain, finetune = one(k, seed, "scratch"), one(k, seed, "plain finetune"), one(k, seed, "finetune")
        baseline = min(r["kid"] for r in (scratch, plain) if r)
        ratios.append(default["kid"] / baseline)
        for name, row in (("default", default), ("scratch", scratch), ("plain finetune", plain)):
            kids[name].append(row["kid"] if row else float("nan"))
        best = min(default["curve"], key=lambda p: p["kid"]) if default.get("curve") else None
        if best and default.get("chosen_step"):
            near.append(abs(default["chosen_step"] - best["steps"]) <= 250)
        lines.append(
            f"| class {k}, seed {seed} | {default['kid']:.4f} | {default['kid'] / baseline:.2f} | "
            f"{default['recall']:.3f} ({finetune['recall'] if finetune else float('nan'):.3f}) | "
            f"{default['near_copy']:.3f} ({default['real_near_copy']:.3f}) | {default.get('chosen_step')}"
            f"{' (replayed)' if moved else ''} | "
            f"{default.get('stopped_step') or 'not stopped'} | "
            f"{best['steps'] if best else 'n/a'} (KID {best['kid'] if best else float('nan'):.4f}) | "
            f"{('yes' if near[-1] else 'no') if best and default.get('chosen_step') else 'n/a'} | "
            f"{default['wall_s']:.0f}{'*' if default.get('shared_machine') else ''} |")
    if ratios:
        lines += _ten_shot_summary(len(ratios), kids, near, replayed)
    return "\n".join(lines)


def _ten_shot_summary(cells, kids, near, replayed):
    """The lines under the ten-shot table: mean KIDs over its `cells`, how often the chosen step was near the
    test-best one, and how many runs were replayed at today's checkpoint rule."""
    means = {name: statistics.mean(values) for name, values in kids.items() if values}
    lines = ["", f"Mean KID over these {cells} cells: default {means['default']:.4f}, scratch "
                 f"{means.get('scratch', float('nan')):.4f}, plain finetune "
                 f"{means.get('plain finetune', float('nan')):.4f}; default / min of the two means: "
                 f"{means['default'] / min(means.get('scratch', np.inf), means.get('plain finetune', np.inf)):.2f}.",
             f"Chosen step within 250 steps of the test-KID-best step: {sum(near)} of {len(near)} cells."]
    if replayed:
        lines.append(f"(replayed): {replayed} run(s) made under an earlier checkpoint rule, scored at the step "
                     "today's rule picks from the run's own copy-check evaluations (`at_current_rule`).")
    return lines
