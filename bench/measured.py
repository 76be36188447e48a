"""The defaults kgantl takes from its benchmarks, derived from the records by stated rules (issue 25).

`python bench/few_shot.py --report` calls `derive` on the few-shot grid's records and writes the result to
`kgantl/measured.json`, which the package reads (`kgantl.measured`): `--strategy auto`'s candidates and prior, the
advisor's suggestion and alternative, the few-shot recipe, and whether `--precision auto` may pick bfloat16. The
same call renders the table in docs/benchmarks.md ("What the benchmarks set"), so the docs, the file and the code
cannot disagree (tests/test_measured.py checks all three against the records).

`python bench/emoji_few_shot.py --report` calls `derive_colour` on the colour (emoji) grid's records and writes the
result into the same file's `colour` entry, which a colour run's few-shot recipe and transfer default follow once it
holds them (`kgantl.measured.few_shot_recipe(3)`); each report keeps what the other wrote.

No TensorFlow or kgantl here: the inputs are plain numbers that `few_shot_report.measured_inputs` reads off the records,
and the colour grid's records as `emoji_few_shot.report` selects them.
"""
import json
import math
import statistics

import emoji_few_shot_cells as colour_grid

# The kgantl strategies the grid runs (a user can name each with --strategy); scratch and the hand-written plain
# fine-tune are baselines, not strategies kgantl could pick.
STRATEGIES = ("finetune", "freeze_d:1", "cdc", "ewc", "vision_d", "cdc+vision_d")
# Strategies that lean on the shipped Fashion-MNIST backbone: nothing measured says they help on unlike images.
BACKBONE_PARTS = ("vision_d", "feature_d")
# The few-shot recipe the issue-24 probes chose (docs/benchmark-log.md, "Ten shots"); `derive` keeps it only while
# the 10-shot grid backs it (see `_few_shot`).
FEW_SHOT_RECIPE = {"strategy": "finetune", "diffaugment": "color,translation,cutout"}
# The bfloat16 quality check the issue asks for: vision_d on 100 sandals at 2000 steps, three seeds per precision.
PARITY_CELL = {"class": 5, "shots": 100, "method": "vision_d", "seeds": (0, 1, 2)}

RULES = {
    "prior": "the strategy with the lowest KID on the most 100-shot cells (seed 0, 2000 steps)",
    "candidates": "every strategy among the two lowest-KID strategies of some 100-shot cell, scored on all and "
                  "never above training from scratch's KID on any, plus the prior",
    "alternative": "the prior's rule among the strategies that need no pretrained backbone and never scored above "
                   "scratch",
    "default": "the strategy of a transfer above kgantl.config.FEW_SHOTS images with no recipe flags: finetune, the "
               "plain method, unless a strategy that needs no pretrained backbone and never scored above scratch has "
               "a lower KID than finetune on every 100-shot cell (a default must work on any data; one seed per cell "
               "cannot tell a smaller lead from seed noise)",
    "budget": "the generator steps a transfer trains with no budget flag: the grids' STEPS while the test-KID-best "
              "step of what `kgantl transfer` trains by default lies in its last quarter on most cells at 10 and at "
              "100 shots (the grids trained no longer, so a longer budget is not shown to help); else the median "
              "best step, rounded up to 250",
    "few_shot": "kept while its mean KID over the 10-shot cells is below every strategy's without augmentation",
    "bfloat16": "shown when vision_d on 100 sandals (2000 steps) has three seeds in each precision and the mean "
                "bfloat16 KID is at most the worst float32 seed's",
    "colour_few_shot": "a colour run's recipe with at most kgantl.config.FEW_SHOTS images per class: of the colour "
                       "grid's methods trained as `kgantl transfer [--strategy NAME]` with no other recipe flag and "
                       "with a record on all six 10-shot cells, and of the budgets its runs were scored at (every "
                       "250 steps on their curves, and its records' own at the grid's budget), the method and budget "
                       "with the lowest mean KID over the six cells: its strategy and DiffAugment as its runs "
                       "resolved them, and that budget in generator steps (chosen on the cells' test images, like the "
                       "grey budget; the grid trained no longer, so a longer one is not shown to help; until one "
                       "method has all six, the Fashion-MNIST recipe and budget stand in)",
    "colour_default": "the strategy of a colour transfer above kgantl.config.FEW_SHOTS images with no recipe flags: "
                      "the strategy `default` trained there (finetune before any colour default was set), unless "
                      "another such method's KID on the 100-shot cell is below `default`'s by more than `default`'s "
                      "kid_std (one seed cannot tell a smaller lead from noise), then the lowest such method's "
                      "strategy (until `default` has that cell, the Fashion-MNIST default stands in)",
}
COLOUR_WRITTEN_BY = ("python bench/emoji_few_shot.py --report (bench/measured.py derive_colour), from "
                     "bench/results/emoji_few_shot.jsonl")


def _wins(cells, allowed):
    """How many cells each allowed strategy has the lowest KID of (among the allowed ones)."""
    wins = {name: 0 for name in allowed}
    for kids in cells.values():
        scored = {name: kids[name] for name in allowed if name in kids}
        if scored:
            wins[min(scored, key=scored.get)] += 1
    return wins


def _most_wins(cells, allowed):
    wins = _wins(cells, allowed)
    best = max(allowed, key=lambda name: wins[name])  # ties: the earlier in STRATEGIES
    return best, wins[best]


def _reliable(cells):
    """Strategies scored on every cell and never above scratch's KID on any."""
    return [name for name in STRATEGIES
            if all(name in kids and kids[name] <= kids.get("scratch", float("inf")) for kids in cells.values())]


def _hundred_shots(cells):
    reliable = _reliable(cells)
    prior, prior_wins = _most_wins(cells, STRATEGIES)
    top_two = {name for kids in cells.values()
               for name in sorted((n for n in STRATEGIES if n in kids), key=kids.get)[:2]}
    candidates = [name for name in STRATEGIES if (name in top_two and name in reliable) or name == prior]
    backbone_free = [name for name in reliable if not any(part in name for part in BACKBONE_PARTS)]
    alternative, alternative_wins = _most_wins(cells, backbone_free)
    default = _default_strategy(cells, backbone_free)
    won = [kids for kids in cells.values() if min((n for n in STRATEGIES if n in kids), key=kids.get) == prior]
    return {
        "cells": {str(k): {name: round(kid, 4) for name, kid in sorted(kids.items())} for k, kids in cells.items()},
        "prior": prior, "prior_wins": prior_wins,
        "prior_vs_plain_finetune": [round(min(kids[prior] / kids["plain finetune"] for kids in won), 2),
                                    round(max(kids[prior] / kids["plain finetune"] for kids in won), 2)],
        "candidates": candidates, "alternative": alternative, "alternative_wins": alternative_wins,
        "never_above_scratch": reliable, "default": default,
        "default_lower_than_finetune": {name: sum(kids[name] < kids["finetune"] for kids in cells.values())
                                        for name in backbone_free if name != "finetune"},
    }


def _default_strategy(cells, backbone_free):
    """RULES["default"]: finetune, unless a backbone-free strategy beats it on every cell (the lowest mean KID of
    those that do)."""
    beat_everywhere = [name for name in backbone_free if name != "finetune"
                       and all(kids[name] < kids["finetune"] for kids in cells.values())]
    if not beat_everywhere:
        return "finetune"
    return min(beat_everywhere, key=lambda name: statistics.mean(kids[name] for kids in cells.values()))


def _few_shot(cells):
    """The few-shot recipe and its 10-shot evidence; refuses a recipe the grid no longer backs."""
    means = {name: statistics.mean(kids[name] for kids in cells.values())
             for name in ("default", "scratch", "plain finetune", *STRATEGIES)
             if all(name in kids for kids in cells.values())}
    best_plain = min((name for name in STRATEGIES if name in means), key=means.get)
    if means["default"] >= means[best_plain]:
        raise ValueError(f"the 10-shot records no longer back the few-shot recipe {FEW_SHOT_RECIPE}: its mean KID "
                         f"{means['default']:.4f} is not below {best_plain}'s {means[best_plain]:.4f} without "
                         "augmentation; choose another recipe and re-run the 10-shot cells")
    return {**FEW_SHOT_RECIPE, "cells": len(cells), "mean_kid": round(means["default"], 4),
            "mean_kid_scratch": round(means["scratch"], 4),
            "mean_kid_plain_finetune": round(means["plain finetune"], 4),
            "best_unaugmented": best_plain, "mean_kid_best_unaugmented": round(means[best_plain], 4)}


def _bfloat16(parity):
    """`parity`: {precision policy: [KID per seed]} of PARITY_CELL's runs."""
    float32, bfloat16 = parity.get("float32", []), parity.get("mixed_bfloat16", [])
    enough = min(len(float32), len(bfloat16)) >= len(PARITY_CELL["seeds"])
    return {"quality_shown": bool(enough and statistics.mean(bfloat16) <= max(float32)),
            "kid_float32": [round(kid, 4) for kid in float32],
            "kid_mixed_bfloat16": [round(kid, 4) for kid in bfloat16]}


def _budget(best, steps=2000):
    """RULES["budget"] from `best` ({shots: [test-KID-best step per cell]})."""
    cells = [step for steps_of in best.values() for step in steps_of]
    late = {shots: sum(step >= 0.75 * steps for step in found) for shots, found in best.items()}
    if all(late[shots] * 2 > len(found) for shots, found in best.items() if found):
        budget = steps
    else:
        budget = int(math.ceil(statistics.median(cells) / 250) * 250)
    return {"steps": budget, "best_steps": {str(shots): found for shots, found in sorted(best.items())},
            "in_last_quarter": {str(shots): count for shots, count in sorted(late.items())}}


def derive(hundred, ten, parity, best=None):
    """The defaults the records support.

    Args:
        hundred: {class: {method: KID}} of the 100-shot cells (seed 0, 2000 steps), scratch and plain finetune
            included.
        ten: {(class, seed): {method: KID}} of the 10-shot cells, `default` at its chosen checkpoint included.
        parity: {precision policy: [KID per seed]} of the bfloat16 parity runs (empty until they have run).
        best: {shots: [test-KID-best step per cell]} of the default recipes (`few_shot_report.best_steps`);
            None: no budget is derived.

    Returns:
        dict for `kgantl/measured.json`: each setting with the numbers behind it, and `rules`.

    Example:
        >>> measured = derive(*few_shot_report.measured_inputs(records))
        >>> measured["hundred_shots"]["prior"]
        'vision_d'
    """
    return {"written_by": "python bench/few_shot.py --report (bench/measured.py), from bench/results/few_shot.jsonl",
            "rules": RULES, "hundred_shots": _hundred_shots(hundred), "few_shots": _few_shot(ten),
            "bfloat16": _bfloat16(parity), **({"budget": _budget(best)} if best is not None else {})}


def derive_colour(records):
    """What a colour run takes from the colour grid's records, by RULES["colour_few_shot"] and ["colour_default"].

    Args:
        records: the colour grid's records of the current source, as `emoji_few_shot.report` selects them (one
            budget, each method's own recipe, a checkpoint-choosing run at today's rule).

    Returns:
        dict for `kgantl/measured.json`'s `colour` entry: `few_shots` and `default`, each only once the records
            decide it, with the numbers behind them; empty when they decide neither (nothing to write).

    Example:
        >>> derive_colour(records)["few_shots"]["strategy"]
        'finetune'
    """
    by_key = {(r["target"], r["shots"], r["seed"], r["method"]): r for r in records}
    colour = {}
    few_shots = _colour_few_shot(by_key)
    if few_shots:
        colour["few_shots"] = few_shots
    colour.update(_colour_default(by_key))
    if not colour:
        return {}
    made_by = {r["source_sha256"] for r in records if colour_grid.selects(r["method"]) and r.get("source_sha256")}
    source = {"source_sha256": made_by.pop()} if len(made_by) == 1 else {}  # which colour source GAN measured it
    return {"written_by": COLOUR_WRITTEN_BY, **colour, **source}


def _mean_kid(by_key, cells, method):
    """`method`'s mean KID over `cells`, or None where it lacks one."""
    kids = [by_key[(*cell, method)]["kid"] for cell in cells if (*cell, method) in by_key]
    return statistics.mean(kids) if kids and len(kids) == len(cells) else None


def _rounded(kid):
    return None if kid is None else round(kid, 4)


def _colour_few_shot(by_key):
    """RULES["colour_few_shot"]: the CLI-like method and budget with the lowest mean KID over all the 10-shot cells
    (`_mean_kid_by_budget`), or None."""
    cells = [cell for cell in colour_grid.cells() if cell[1] == 10]
    methods = dict.fromkeys(method for *_, method in by_key if colour_grid.selects(method))
    means = {(method, steps): mean for method in methods
             for steps, mean in _mean_kid_by_budget(by_key, cells, method).items()}
    if not means:
        return None
    best, steps = min(means, key=means.get)  # ties: the first recorded method, its records' own budget first
    resolved = {tuple((by_key[(*cell, best)].get("resolved") or {}).get(key) for key in ("strategy", "diffaugment"))
                for cell in cells}
    if len(resolved) != 1 or None in next(iter(resolved)):
        raise ValueError(f"the colour few-shot recipe is {best}'s, and its runs must record one resolved strategy and "
                         f"DiffAugment (the copy check's runs do). Received: {sorted(map(str, resolved))}")
    strategy, diffaugment = resolved.pop()

    def baseline(method):  # at the same budget, where its runs were scored there
        return _rounded(_mean_kid_by_budget(by_key, cells, method).get(steps))

    return {"method": best, "strategy": strategy, "diffaugment": diffaugment, "steps": steps, "cells": len(cells),
            "mean_kid": _rounded(means[(best, steps)]), "mean_kid_scratch": baseline("scratch"),
            "mean_kid_plain_finetune": baseline("plain finetune"),
            "mean_kid_source_as_is": _rounded(_mean_kid(by_key, cells, colour_grid.SOURCE_AS_IS))}


def _mean_kid_by_budget(by_key, cells, method):
    """{budget in steps: `method`'s mean KID over `cells`}, for the budgets every cell's run was scored at: its
    records' own (the saved model's KID: a checkpoint-choosing run's chosen one) and, below it, the full points of
    its curve (every 250 steps: the model at that step, as a run with that budget would save it, since no grid
    method's schedule depends on the budget; `alternate`'s phases would). Empty where a cell lacks a record."""
    records = [by_key.get((*cell, method)) for cell in cells]
    if not records or None in records:
        return {}
    own = {r["steps"] for r in records}
    if len(own) != 1:  # the report shows one budget; a mix would not be one method's budget
        raise ValueError(f"{method}'s records must share one budget. Received steps: {sorted(own)}")
    budget = own.pop()
    by_budget = {budget: statistics.mean(r["kid"] for r in records)}
    scored = [{p["steps"]: p["kid"] for p in r.get("curve", []) if "kid_random_cnn" in p and p["steps"] < budget}
              for r in records]  # full points only (a copy check's KID-only points fall between them)
    for steps in sorted(set.intersection(*map(set, scored)), reverse=True):
        by_budget[steps] = statistics.mean(points[steps] for points in scored)
    return by_budget


def _colour_default(by_key):
    """RULES["colour_default"]: {"default": strategy, "hundred_shot_cell": its numbers}, or {} before `default` has a
    100-shot record."""
    cell = next((cell for cell in colour_grid.cells() if cell[1] == 100), None)  # the grid's one 100-shot cell
    incumbent = by_key.get((*cell, "default")) if cell else None
    if incumbent is None:
        return {}
    at_cell = {method: record for (*where, method), record in by_key.items() if tuple(where) == cell}
    noise = incumbent.get("kid_std")  # none recorded: no lead can be told from noise
    leads = {method: record["kid"] for method, record in at_cell.items() if colour_grid.selects(method)
             and method != "default" and noise is not None and incumbent["kid"] - record["kid"] > noise}
    leader = at_cell[min(leads, key=leads.get)] if leads else None
    # a `--strategy NAME` run trained NAME; its records at 100 shots keep no `resolved` (no copy check chose there)
    # the incumbent stays without a clear lead: `default` trained it, so a re-run never flips back to finetune
    kept = incumbent.get("trained_strategy") or (incumbent.get("resolved") or {}).get("strategy") or "finetune"
    strategy = ((leader.get("resolved") or {}).get("strategy") or leader["method"]) if leader else kept
    return {"default": strategy,
            "hundred_shot_cell": {"target": cell[0], "shots": cell[1], "seed": cell[2],
                                  "default_kid_std": _rounded(noise),
                                  "kids": {method: round(r["kid"], 4) for method, r in sorted(at_cell.items())
                                           if method != "copy the shots"}}}


def dumps(measured):
    return json.dumps(measured, indent=1, sort_keys=True) + "\n"


def render(measured):
    """The Markdown table of docs/benchmarks.md's "What the benchmarks set" section."""
    hundred, few, bf16 = measured["hundred_shots"], measured["few_shots"], measured["bfloat16"]
    rules = measured["rules"]
    low, high = hundred["prior_vs_plain_finetune"]
    bf16_runs = (f"float32 {kid_list(bf16['kid_float32'])}, bfloat16 {kid_list(bf16['kid_mixed_bfloat16'])}"
                 if bf16["kid_float32"] or bf16["kid_mixed_bfloat16"] else "not run yet (needs AMX or AVX512-BF16)")
    rows = [
        ("`--strategy auto` keeps, and `recommend` suggests", f"`{hundred['prior']}`", rules["prior"],
         f"lowest on {hundred['prior_wins']} of {len(hundred['cells'])} cells, {low:.2f}x-{high:.2f}x the plain "
         "fine-tune there"),
        ("`--strategy auto` pilots", ", ".join(f"`{name}`" for name in hundred["candidates"]), rules["candidates"],
         "never above scratch: " + ", ".join(f"`{name}`" for name in hundred["never_above_scratch"])),
        ("`recommend`'s alternative (images unlike the backbone's)", f"`{hundred['alternative']}`",
         rules["alternative"], f"lowest of those on {hundred['alternative_wins']} of {len(hundred['cells'])} cells"),
        ("`kgantl transfer` above `kgantl.config.FEW_SHOTS` images with no strategy flag", f"`{hundred['default']}`",
         rules["default"], "cells where each is lower than finetune: " + ", ".join(
             f"`{name}` {wins} of {len(hundred['cells'])}"
             for name, wins in hundred["default_lower_than_finetune"].items())),
        ("few-shot runs (at most `kgantl.config.FEW_SHOTS` images per class): strategy and DiffAugment",
         f"`{few['strategy']}`, `{few['diffaugment']}`",
         rules["few_shot"], f"mean KID over {few['cells']} cells {few['mean_kid']:.4f}; best without augmentation "
         f"`{few['best_unaugmented']}` {few['mean_kid_best_unaugmented']:.4f}; scratch {few['mean_kid_scratch']:.4f}"),
        ("`--precision auto` picks bfloat16 on AMX/AVX512-BF16", "yes" if bf16["quality_shown"] else "no",
         rules["bfloat16"], bf16_runs),
    ]
    if "budget" in measured:
        budget = measured["budget"]
        evidence = "; ".join(f"{shots} shots: best at " + ", ".join(map(str, found)) +
                             f" ({budget['in_last_quarter'][shots]} of {len(found)} in the last quarter)"
                             for shots, found in budget["best_steps"].items())
        rows.append(("`kgantl train` / `transfer` with no `--steps` or `--epochs`: generator steps",
                     str(budget["steps"]), rules["budget"], evidence))
    rows += _colour_rows(measured)
    lines = ["| setting | value | rule | evidence |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def _colour_rows(measured):
    """The table's rows for a colour run (3 channels): the colour grid's recipe and default, or that the
    Fashion-MNIST values above stand in until it has measured them."""
    colour, rules = measured.get("colour", {}), measured["rules"]
    few, cell = colour.get("few_shots"), colour.get("hundred_shot_cell")
    waiting = "the Fashion-MNIST value above, until the colour grid has measured one"
    few_row = ("colour runs (at most `kgantl.config.FEW_SHOTS` images per class): strategy, DiffAugment and, with no "
               "`--steps` or `--epochs`, generator steps",
               waiting, rules["colour_few_shot"], "no method has a record on all six 10-shot cells yet")
    if few:
        few_row = (*few_row[:1], f"`{few['strategy']}`, `{few['diffaugment']}`, {few['steps']} steps", few_row[2],
                   f"`{few['method']}` mean KID over {few['cells']} cells at {few['steps']} steps "
                   f"{_kid_or_na(few['mean_kid'])} (noto features); at the same budget scratch "
                   f"{_kid_or_na(few['mean_kid_scratch'])}, plain finetune "
                   f"{_kid_or_na(few['mean_kid_plain_finetune'])}; the source not adapted "
                   f"{_kid_or_na(few.get('mean_kid_source_as_is'))}")
    default_row = ("colour runs above `kgantl.config.FEW_SHOTS` images with no strategy flag", waiting,
                   rules["colour_default"], "`default` has no record on the 100-shot cell yet")
    if "default" in colour:
        others = ", ".join(f"`{name}` {kid:.4f}" for name, kid in cell["kids"].items() if name != "default")
        default_row = (*default_row[:1], f"`{colour['default']}`", default_row[2],
                       f"{cell['target']}, {cell['shots']} shots, seed {cell['seed']}: `default` "
                       f"{_kid_or_na(cell['kids'].get('default'))} (kid_std {_kid_or_na(cell['default_kid_std'])}); "
                       + (others or "no other method"))
    return [few_row, default_row]


def _kid_or_na(value):
    return "n/a" if value is None else f"{value:.4f}"


def kid_list(values):
    return ", ".join(f"{value:.4f}" for value in values) or "none"
