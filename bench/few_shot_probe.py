"""Recipe probe for the few-shot grid: one cell, 500 steps, the settings the grid's recipes differ in.

Before the issue-10 grid fixed its recipes, this measured what separates kgantl's methods from the
hand-written plain fine-tune: batch size, DiffAugment and the generator EMA, and the regulariser weights.
Each probe trains one run on the cell (the whole shot set, no validation split), scores it against the
test split like the grid (`fmnist_1k_test`), and appends a record to `bench/results/few_shot_probe.jsonl`.

Usage:
    python bench/few_shot_probe.py CLASS/SHOTS/SEED/STRATEGY/BATCH/DIFFAUGMENT/EMA ...
    python bench/few_shot_probe.py 7/100/0/finetune/64//0.999 7/10/0/cdc:10000/64/color,translation,cutout/0.999
    python bench/few_shot_probe.py --report      # the table in docs/benchmark-log.md
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

from few_shot_cells import SOURCE  # noqa: E402
from few_shot_runner import _score  # noqa: E402 (also sets the quiet TensorFlow log level)
from sections import header, write_section  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "few_shot_probe.jsonl"
STEPS = 500


def probe(k, shots, seed, strategy, batch, diffaugment, ema_decay, steps=STEPS):
    """Train `strategy` from the shipped source with these settings and score it; returns the record."""
    from kgantl.config import TrainOptions
    from kgantl.training import train

    with tempfile.TemporaryDirectory(prefix="kgantl-probe-") as workdir:
        options = TrainOptions(data=f"fashion_mnist:{k}", shots=shots, seed=seed, batch_size=batch, epochs=5,
                               steps_per_epoch=steps // 5, diffaugment=diffaugment, ema_decay=ema_decay,
                               source=SOURCE, strategy=strategy, run_dir=f"{workdir}/run", sample_every=5,
                               eval_every=0)  # every shot trains, as the probe's records did
        start = time.perf_counter()
        _, run_dir = train(options, verbose=0)
        wall = time.perf_counter() - start
        scores = _score(str(run_dir / "model.keras"), k, shots, seed)
    return {"class": k, "shots": shots, "seed": seed, "strategy": strategy, "steps": steps, "batch": batch,
            "diffaugment": diffaugment, "ema_decay": ema_decay, "wall_s": round(wall, 1), **scores}


def report():
    """Rewrite the probe table in docs/benchmark-log.md (one row per record, in the order they were run)."""
    records = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    lines = header("python bench/few_shot_probe.py CLASS/SHOTS/SEED/STRATEGY/BATCH/DIFFAUGMENT/EMA ...",
                   " (then `--report`)", date_note="; raw records: `bench/results/few_shot_probe.jsonl`")
    lines += ["| class | shots | strategy | batch | DiffAugment | EMA | KID | FID | precision | recall | near-copy |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['class']} | {r['shots']} | {r['strategy']} | {r['batch']} | {r['diffaugment'] or 'none'} | "
                     f"{r['ema_decay']:g} | {r['kid']:.4f} | {r['fid']:.2f} | {r['precision']:.3f} | "
                     f"{r['recall']:.3f} | {r['near_copy']:.3f} |")
    write_section("few-shot-probe", "\n".join(lines), "Few-shot recipe probe")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probes", nargs="*", metavar="CLASS/SHOTS/SEED/STRATEGY/BATCH/DIFFAUGMENT/EMA")
    parser.add_argument("--report", action="store_true", help="only rewrite the table in docs/benchmark-log.md")
    args = parser.parse_args()
    if args.report:
        print(report())
        return
    for text in args.probes:
        k, shots, seed, strategy, batch, diffaugment, ema = text.split("/")
        record = probe(int(k), int(shots), int(seed), strategy, int(batch), diffaugment, float(ema))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
