"""The augmentation experiment's summary: mean and spread over seeds, the verdict in words, the Markdown report."""
import statistics

from kgantl.synthetic.settings import AugmentSettings

CLASSIC = "classic augmentation"


def _mean_spread(values):
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def verdict(seed_records):
    """Plain words on whether generated data helped, from paired per-seed differences in test accuracy.

    "helped" / "hurt" only when at least two seeds all move the same way; "no clear effect" when they
    disagree; "inconclusive" with a single seed.
    """
    real = [next(r for r in s["rows"] if r["ratio"] == 0 and r["method"] != CLASSIC) for s in seed_records]
    gains = [s["selected"]["test_accuracy"] - r["test_accuracy"] for s, r in zip(seed_records, real)]
    mean = statistics.mean(gains)
    if len(gains) < 2:
        word, phrase = "inconclusive", "cannot be judged from one seed"
    elif all(g > 0 for g in gains):
        word, phrase = "helped", "helped"
    elif all(g < 0 for g in gains):
        word, phrase = "hurt", "hurt"
    else:
        word, phrase = "no clear effect", "had no clear effect"
    chosen = [s["selected"]["ratio"] for s in seed_records]
    text = (f"Generated data {phrase}: the ratio chosen on the validation shots ({', '.join(f'{c:g}' for c in chosen)}"
            f" per seed) changed test accuracy by {mean:+.4f} on average over {len(gains)} seed(s) "
            f"(per seed: {', '.join(f'{g:+.4f}' for g in gains)}) against real images only.")
    return {"effect": word, "mean_gain": mean, "gains": gains, "text": text}


def summarise(seed_records):
    """Mean and spread over seeds of every method, the chosen ratio, and the verdict."""
    methods = [r["method"] for r in seed_records[0]["rows"]]
    summary = []
    for method in methods:
        rows = [next(r for r in s["rows"] if r["method"] == method) for s in seed_records]
        kept = [r["generated"]["kept_share"] for r in rows if r["generated"]]
        summary.append({"method": method, "test_accuracy": _mean_spread([r["test_accuracy"] for r in rows]),
                        "test_macro_f1": _mean_spread([r["test_macro_f1"] for r in rows]),
                        "val_accuracy": _mean_spread([r["val_accuracy"] for r in rows]),
                        "kept_share": statistics.mean(kept) if kept else None})
    selected = {"method": "ratio chosen on validation",
                "test_accuracy": _mean_spread([s["selected"]["test_accuracy"] for s in seed_records]),
                "test_macro_f1": _mean_spread([s["selected"]["test_macro_f1"] for s in seed_records])}
    return {"methods": summary, "selected": selected, "verdict": verdict(seed_records)}


def score_text(value, digits):
    """A score for the report, or n/a where the evaluation had too few images for it (`not_computed`)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_report(report):
    """The report's tables as Markdown (what `report.md` holds and docs/benchmark-log.md quotes)."""
    s = AugmentSettings.from_report(report)
    gan = f"transfer from `{s['source']}` with `{s['strategy']}`" if s["source"] else "conditional GAN from scratch"
    recipe = f"batch {s['gan_batch_size']}, DiffAugment {s['gan_diffaugment'] or 'none'}"
    held_out = s["val_per_class"] or max(1, s["shots"] // 5)
    scored = f", scored on all of `{s['test_data']}`" if s.get("test_data") else ""
    lines = [f"Data `{s['data']}`{scored}, {s['shots']} shots per class ({held_out} of them held out for validation), "
             f"backbone `{s['backbone']}`, stages `{s['stages']}` ({s['unit']}), seeds "
             f"{', '.join(map(str, s['seeds']))}; GAN: {gan}, {recipe}, {s['gan_steps']} generator steps.",
             "", "| method | test accuracy | test macro-F1 | val accuracy | generated kept |", "|---|---|---|---|---|"]

    def cell(stat):
        return f"{stat['mean']:.4f} ± {stat['std']:.4f}"

    for row in report["summary"]["methods"] + [report["summary"]["selected"]]:
        kept = row.get("kept_share")
        lines.append(f"| {row['method']} | {cell(row['test_accuracy'])} | {cell(row['test_macro_f1'])} | "
                     f"{cell(row['val_accuracy']) if 'val_accuracy' in row else '-'} | "
                     f"{'-' if kept is None else f'{kept:.2f}'} |")
    gans = [r["gan"] for r in report["seeds"] if "gan" in r]
    if gans:
        lines += ["", "| seed | GAN KID | FID | precision | recall | near-copy share | same for real test images |",
                  "|---|---|---|---|---|---|---|"]
        for record, gan in zip([r for r in report["seeds"] if "gan" in r], gans):
            lines.append(f"| {record['seed']} | {score_text(gan['kid'], 4)} | {score_text(gan['fid'], 2)} | "
                         f"{score_text(gan['precision'], 3)} | {score_text(gan['recall'], 3)} | "
                         f"{gan['near_copy_share']:.3f} | "
                         f"{gan['memorisation']['real_near_copy_share']:.3f} |")
    lines += ["", report["summary"]["verdict"]["text"]]
    return "\n".join(lines)
