"""Issue 35's Done-when targets read off the colour grid's records: one row per target and shot count, and a cell
table of the copy check's chosen step against the test-KID-best step on the run's own curve.

The targets (each a column, `yes`/`no`): at 10 shots, on both targets over seeds 0-2, `default`'s mean KID at
most 0.5x `scratch`'s and at most 0.7x `plain finetune`'s, its mean recall at least 2x `plain finetune`'s, and its
near-copy share at most 2x the real test images' on every seed; at 100 shots (cross-style), mean KID at most 0.5x
`scratch`'s. Separately: the chosen checkpoint within 250 steps of the test-KID-best step on most cells.
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


def _mark(value, ok):
    return f"{value:.2f} ({'yes' if ok else 'no'})"


def target_row(records, target, shots):
    """One table row of the targets for `(target, shots)`, or None before `default` has a record there."""
    default = _by_method(records, target, shots, "default")
    if not default:
        return None
    scratch = _by_method(records, target, shots, "scratch")
    plain = _by_method(records, target, shots, "plain finetune")
    vs_scratch = _mean(default, "kid") / _mean(scratch, "kid")
    cells = [f"{target}, {shots} shots", ", ".join(map(str, sorted(default))), _mark(vs_scratch,
                                                                                      vs_scratch <= KID_VS_SCRATCH)]
    if shots == 10:
        vs_plain = _mean(default, "kid") / _mean(plain, "kid")
        recall = _mean(default, "recall") / _mean(plain, "recall")
        copying = [row["near_copy"] / row["real_near_copy"] if row.get("real_near_copy") else float("inf")
                   for row in default.values()]
        cells += [_mark(vs_plain, vs_plain <= KID_VS_PLAIN), _mark(recall, recall >= RECALL_VS_PLAIN),
                  _mark(max(copying), max(copying) <= NEAR_COPY_VS_REAL)]
    else:
        cells += ["n/a"] * 3
    return "| " + " | ".join(cells) + " |"


def chosen_within(record):
    """`(chosen step, test-KID-best step on the curve, within WITHIN_STEPS)`, or None without a choice."""
    curve, chosen = record.get("curve"), record.get("chosen_step")
    if not curve or chosen is None:
        return None
    best = min(curve, key=lambda point: point["kid"])["steps"]
    return chosen, best, abs(chosen - best) <= WITHIN_STEPS


def verdict_table(records, cells):
    """The targets table and the chosen-step line for the grid's `cells` ((target, shots, seed) triples)."""
    lines = ["| target | seeds | mean KID / scratch's (<= 0.5) | mean KID / plain's (<= 0.7) | "
             "mean recall / plain's (>= 2) | worst seed's near-copy / real's (<= 2) |", "|---|---|---|---|---|---|"]
    for target, shots in dict.fromkeys((t, n) for t, n, _ in cells):
        row = target_row(records, target, shots)
        if row:
            lines.append(row)
    choices = [chosen_within(r) for r in records if r["method"] == "default"]
    choices = [c for c in choices if c is not None]
    if choices:
        near = sum(ok for _, _, ok in choices)
        lines += ["", f"Chosen checkpoint within {WITHIN_STEPS} steps of the test-KID-best step on its curve: {near} "
                      f"of {len(choices)} cells ({'most' if near * 2 > len(choices) else 'not most'}); "
                      + "; ".join(f"{c} vs {b}" for c, b, _ in choices) + "."]
    return "\n".join(lines)


__all__ = ["chosen_within", "target_row", "verdict_table"]
