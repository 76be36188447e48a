"""Train-step throughput of kgantl's GAN against the plain hand-written Keras baseline, in one run.

Protocol (BENCHMARKS.md, "Throughput"): the reference DCGAN (28x28x1, latent 128, batch 64),
non-saturating loss, Adam(2e-4, beta_1=0.5), one D step then one G step, random data cached in memory,
XLA off (the CPU default of both). The baseline is `shared/bench/plain_keras_dcgan.py`, loaded from
beside the repository. All models live in one process and are timed in alternating blocks of
`--steps` steps for `--rounds` rounds, so drifts in machine speed (large on shared 2-core machines)
hit every configuration alike. Reported: the best round of each (the least disturbed, as `timeit`
advises) with the ratio of bests, and the median of the per-round ratios.

Issue 11's rows: `*_bf16` are the same models built under the Keras `mixed_bfloat16` policy (kgantl's
through `kgantl.precision`, the baseline's by setting the policy around its constructor); with
`--mirrored`, `kgantl_mirrored_2cpu` is kgantl's model under `MirroredStrategy` on the CPU split into two
logical devices (the split is made first, before TensorFlow starts; the other models run on the first).

With `--torch-python PY` (an interpreter with `pip install torch==2.13.0`), the eager PyTorch
baseline `shared/bench/torch_dcgan.py` also runs once per round, in its own process.

Usage:
    python bench/throughput.py [--rounds 9] [--steps 30] [--batch 64] [--bf16] [--mirrored]
                               [--torch-python PY] [--write docs/benchmarks.md]
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "--mirrored" in sys.argv:  # TensorFlow fixes its devices when it starts them
    from kgantl.distribute import split_cpu

    split_cpu(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgantl.distribute import make_distribution  # noqa: E402
from kgantl.models import GAN, build_discriminator, build_generator  # noqa: E402
from kgantl.precision import precision_policy  # noqa: E402
from sections import header, ratio_cells, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT.parent / "shared" / "bench" / "plain_keras_dcgan.py"
TORCH_BASELINE = BASELINE.with_name("torch_dcgan.py")


def _load_baseline(precision="float32"):
    if not BASELINE.is_file():
        raise SystemExit(f"baseline not found: {BASELINE} (it lives in shared/bench beside the repository)")
    spec = importlib.util.spec_from_file_location("plain_keras_dcgan", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with precision_policy(precision):
        model = module.PlainGAN(*module.networks())
    model.compile(jit_compile=False)
    return model


def _kgantl(ema_decay, precision="float32", strategy=None):
    with (strategy or tf.distribute.get_strategy()).scope(), precision_policy(precision):
        model = GAN(build_generator(), build_discriminator(), ema_decay=ema_decay, seed=1)
        model.compile(jit_compile=False)
    return model


def _models(bf16=False, mirrored=False):
    """name -> compiled model; kgantl_matched does the baseline's work, kgantl_default adds the EMA generator."""
    models = {"plain_keras": _load_baseline(), "kgantl_matched": _kgantl(0.0), "kgantl_default": _kgantl(0.999)}
    if bf16:
        models.update(plain_keras_bf16=_load_baseline("mixed_bfloat16"),
                      kgantl_matched_bf16=_kgantl(0.0, "mixed_bfloat16"))
    if mirrored:
        models["kgantl_mirrored_2cpu"] = _kgantl(0.0, strategy=make_distribution("mirrored", cpu_replicas=2))
    assert keras.mixed_precision.global_policy().name == "float32"  # no policy left behind
    return models


def _torch_rate(python, steps, batch):
    output = subprocess.run([python, str(TORCH_BASELINE), "--steps", str(steps), "--batch", str(batch)],
                            check=True, capture_output=True, text=True).stdout
    return float(output.split("img_per_s=")[1].split()[0])


def measure(rounds, steps, batch, torch_python=None, bf16=False, mirrored=False):
    """Images per second of each model in each round.

    Returns:
        dict name -> list of img/s, one per round.
    """
    x = np.random.default_rng(0).uniform(-1, 1, (batch * steps, 28, 28, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(batch, drop_remainder=True).cache().prefetch(2)
    models = _models(bf16, mirrored)
    for model in models.values():
        model.fit(dataset.take(5), epochs=1, verbose=0)  # build and trace outside the timing
    rates = {name: [] for name in models}
    if torch_python:
        rates["torch_eager"] = []
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(dataset, epochs=1, verbose=0)
            rates[name].append(steps * batch / (time.perf_counter() - start))
        if torch_python:
            rates["torch_eager"].append(_torch_rate(torch_python, steps, batch))
    return rates


def report(rates, command):
    """Markdown section with medians and the median per-round ratio to the baseline."""
    base = rates["plain_keras"]
    rows = [f"| {name} | {max(values):.0f} | {statistics.median(values):.0f} | {min(values):.0f} | "
            f"{ratio_cells(values, base)} |" for name, values in rates.items()]
    return "\n".join([
        *header(command, machine_note=", XLA off"),
        "| configuration | best img/s | median img/s | worst img/s | ratio of bests | "
        "per-round ratio, median (range) |",
        "|---|---|---|---|---|---|",
        *rows,
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--bf16", action="store_true", help="add the mixed_bfloat16 rows (kgantl and baseline)")
    parser.add_argument("--mirrored", action="store_true", help="add kgantl on two mirrored logical CPU devices")
    parser.add_argument("--torch-python", help="Python interpreter with torch, to run the PyTorch baseline too")
    parser.add_argument("--write", help="markdown file whose throughput section is replaced")
    args = parser.parse_args()
    rates = measure(args.rounds, args.steps, args.batch, args.torch_python, args.bf16, args.mirrored)
    flags = "".join(flag for flag, on in ((" --bf16", args.bf16), (" --mirrored", args.mirrored),
                                          (" --torch-python PY", args.torch_python)) if on)
    text = report(rates, f"python bench/throughput.py --rounds {args.rounds} --steps {args.steps} "
                         f"--batch {args.batch}{flags}")
    print(text)
    if args.write:  # issue 11's rows get their own section: issue 2's table stays as it was measured
        section = ("throughput-precision", "Training throughput: bfloat16 and replicas (issue 11)") \
            if args.bf16 or args.mirrored else ("throughput", "Training throughput (issue 2)")
        write_section(*section[:1], text, section[1], Path(args.write))


if __name__ == "__main__":
    main()
