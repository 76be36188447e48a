"""Issue 35's Done-when targets read off the colour grid's records: one row per target and shot count, and a cell
table of the copy check's chosen step against the test-KID-best step on the run's own curve.

The targets (each a column, `yes`/`no`): at 10 shots, on both targets over seeds 0-2, `default`'s mean KID at
most 0.5x `scratch`'s and at most 0.7x `plain finetune`'s, its mean recall at least 2x `plain finetune`'s, and its
near-copy share at most 2x the real test images' on every seed; at 100 shots (cross-style), mean KID at most 0.5x
`scratch`'s. Separately: the chosen checkpoint within 250 steps of the test-KID-best step on most cells. Beside
the targets, not one of them: `default`'s mean KID against the source's not adapted at all (`source as is`), the
baseline an adaptation must beat before any other on cross-style, where the source already draws the subjects.

The grid's `default` is what `kgantl transfer` did before the grid set a colour recipe. Once it has (item 4:
`measured.derive_colour`, a method and a budget), `recipe_rows` judges that recipe by the same targets: its
method's runs as they stood at the recipe's budget (a full curve point), against each baseline at that budget or at
the grid's, whichever scored the lower mean KID (the stronger baseline, so a short budget cannot win by crippling
scratch).
"""
import statistics

# The thresholds.
KID_VS_SCRATCH, KID_VS_PLAIN, RECALL_VS_PLAIN, NEAR_COPY_VS_REAL, WITHIN_STEPS = 0.5, 0.7, 2.0, 2.0, 250


def _by_method(records, target, shots, method):
    """The records of one method in one (target, shots), by seed (the newest wins)."""
    return {r["seed"]: r for r in records if (r["target"], r["shots"], r["method"]) == (target, shots, method)}


def _mean(rows, key):
    values = [row[key] for row in rows.values() if row.get(key) is not None]
    return statistics.mean(values) if values else float("nan")


def _mark(a, b, ok, labels=("yes", "no")):
    """`a / b` and whether the target holds (`labels`); "n/a" for a ratio over 0, whose target is judged all the
    same."""
    return f"{'n/a' if b == 0 else f'{a / b:.2f}'} ({labels[0] if ok else labels[1]})"


def _copying(row):
    """A seed's near-copy share over the real test images' (for finding the worst seed): above any ratio when the
    real images have none and the samples some, 0 when neither has any."""
    near, real = row["near_copy"], row.get("real_near_copy") or 0.0
    return near / real if real else (float("inf") if near > 0 else 0.0)


def target_row(records, target, shots, method="default", label=None):
    """One table row of the targets for `(target, shots)`, or None before `method` has a record there; `label`
    names the row (default: the target and shots).

    Each target is checked as a product (`a <= k * b`), not a ratio, so a baseline's zero (a KID, a recall or the
    real images' near-copy share of 0) decides the target instead of dividing by zero."""
    judged = _by_method(records, target, shots, method)
    if not judged:
        return None
    scratch = _by_method(records, target, shots, "scratch")
    plain = _by_method(records, target, shots, "plain finetune")
    kid, scratch_kid = _mean(judged, "kid"), _mean(scratch, "kid")
    cells = [label or f"{target}, {shots} shots", ", ".join(map(str, sorted(judged))),
             _mark(kid, scratch_kid, kid <= KID_VS_SCRATCH * scratch_kid)]
    if shots == 10:
        plain_kid, recall, plain_recall = _mean(plain, "kid"), _mean(judged, "recall"), _mean(plain, "recall")
        worst = max(judged.values(), key=_copying)
        within = all(row["near_copy"] <= NEAR_COPY_VS_REAL * (row.get("real_near_copy") or 0.0)
                     for row in judged.values())
        cells += [_mark(kid, plain_kid, kid <= KID_VS_PLAIN * plain_kid),
                  _mark(recall, plain_recall, recall >= RECALL_VS_PLAIN * plain_recall),
                  _mark(worst["near_copy"], worst.get("real_near_copy") or 0.0, within)]
    else:
        cells += ["n/a"] * 3
    as_is = _mean(_by_method(records, target, shots, "source as is"), "kid")
    cells.append("n/a" if as_is != as_is  # nan: no `source as is` record
                 else _mark(kid, as_is, kid < as_is, labels=("better", "not better")))
    return "| " + " | ".join(cells) + " |"


def _best_step(record):
    """The step of the lowest test KID on `record`'s curve."""
    return min(record["curve"], key=lambda point: point["kid"])["steps"]


def chosen_within(record):
    """`(chosen step, test-KID-best step on the curve, within WITHIN_STEPS)`, or None without a choice. The chosen
    step is the copy check's (10 shots), else the one `val_kid` kept in best.keras (100 shots)."""
    curve, chosen = record.get("curve"), record.get("chosen_step", record.get("val_best_step"))
    if not curve or chosen is None:
        return None
    best = _best_step(record)
    return chosen, best, abs(chosen - best) <= WITHIN_STEPS


def verdict_table(records, cells, recipe=None, hundred_default=None):
    """The targets table and the chosen-step line for the grid's `cells` ((target, shots, seed) triples), with
    the colour recipe's rows and budget line (`recipe_rows`) where `recipe` is given, and at 100 shots a row for
    the grid method `hundred_default` names (measured.json's colour `default`) where it is not `default` itself."""
    lines = ["| target | seeds | mean KID / scratch's (<= 0.5) | mean KID / plain's (<= 0.7) | "
             "mean recall / plain's (>= 2) | worst seed's near-copy / real's (<= 2) | "
             "mean KID / the source's, not adapted |", "|---|---|---|---|---|---|---|"]
    for target, shots in dict.fromkeys((t, n) for t, n, _ in cells):
        rows = [target_row(records, target, shots)]
        if shots != 10 and hundred_default not in (None, "default"):
            rows.append(target_row(records, target, shots, hundred_default, label=f"{target}, {shots} shots: the "
                                   f"colour default above 30 images ({hundred_default})"))
        lines += [row for row in rows if row]
    recipe_lines, budget_line = recipe_rows(records, recipe)
    lines += recipe_lines
    choices = [chosen_within(r) for r in records if r["method"] == "default"]
    choices = [c for c in choices if c is not None]
    if choices:
        near = sum(ok for _, _, ok in choices)
        lines += ["", f"Chosen checkpoint within {WITHIN_STEPS} steps of the test-KID-best step on its curve: {near} "
                      f"of {len(choices)} cells ({'most' if near * 2 > len(choices) else 'not most'}); "
                      + "; ".join(f"{c} vs {b}" for c, b, _ in choices) + "."]
    return "\n".join(lines + (["", budget_line] if budget_line else []))


def at_budget(records, steps):
    """`records` as runs of `steps` generator steps would have saved them: a record of that budget as it is, a
    longer run's with KID, recall and near-copy from its full curve point at `steps` (a copy check that passes there
    keeps the last step, and no grid method's schedule depends on the budget); a run without that point is left
    out, budget-free records (`steps` 0: copy the shots, the source as is) are kept as they are."""
    out = []
    for record in records:
        if record["steps"] in (0, steps):
            out.append(record)
            continue
        point = next((p for p in record.get("curve", []) if p["steps"] == steps and "kid_random_cnn" in p), None)
        if point is not None:
            out.append({**record, "steps": steps, "chosen_step": steps,
                        **{key: point[key] for key in ("kid", "recall", "near_copy")}})
    return out


def _stronger(records, budgeted, target, shots, method):
    """`method`'s records in `(target, shots)` at the grid's budget or at the recipe's, whichever has the lower
    mean KID (one of them where the other is missing)."""
    options = [rows for rows in (_by_method(records, target, shots, method),
                                 _by_method(budgeted, target, shots, method)) if rows]
    return min(options, key=lambda rows: _mean(rows, "kid"), default={})


def recipe_rows(records, recipe):
    """`(rows, line)`: the targets table's rows for the colour recipe (`recipe`: measured.json's
    `colour.few_shots`, with `method` and `steps`) at 10 shots, and a line saying how far its budget lies from each
    cell's test-KID-best step (on the recipe method's curves at the grid's budget); `([], None)` without a recipe."""
    if not recipe:
        return [], None
    method, steps = recipe["method"], recipe["steps"]
    budgeted = at_budget(records, steps)
    rows, bests = [], []
    for target in dict.fromkeys(r["target"] for r in records if r["shots"] == 10):
        chosen = list(_by_method(budgeted, target, 10, method).values())
        baselines = [row for name in ("scratch", "plain finetune")
                     for row in _stronger(records, budgeted, target, 10, name).values()]
        as_is = list(_by_method(records, target, 10, "source as is").values())
        row = target_row(chosen + baselines + as_is, target, 10, method,
                         label=f"{target}, 10 shots: the colour recipe ({method}, {steps} steps)")
        rows += [row] if row else []
        bests += [_best_step(r) for r in _by_method(records, target, 10, method).values() if r.get("curve")]
    if not rows:
        return [], None
    near = sum(abs(steps - best) <= WITHIN_STEPS for best in bests)
    return rows, (f"The colour recipe's budget ({steps} steps) within {WITHIN_STEPS} steps of the test-KID-best "
                  f"step of its method's {len(bests)} runs at the grid's budget: {near} of {len(bests)} "
                  f"({', '.join(map(str, bests))}).")


__all__ = ["at_budget", "chosen_within", "recipe_rows", "target_row", "verdict_table"]
