"""Train-step throughput of kgantl's GAN against the plain hand-written Keras baseline, in one run.

Protocol (BENCHMARKS.md, "Throughput"): the reference DCGAN (28x28x1, latent 128, batch 64),
non-saturating loss, Adam(2e-4, beta_1=0.5), one D step then one G step, random data cached in memory,
XLA off (the CPU default of both). The baseline is `bench/baselines/plain_keras_dcgan.py` (a verbatim copy of
the project's reference). All models live in one process and are timed in alternating blocks of
`--steps` steps for `--rounds` rounds, so drifts in machine speed (large on shared 2-core machines)
hit every configuration alike. Reported: the best round of each (the least disturbed, as `timeit`
advises) with the ratio of bests, and the median of the per-round ratios.

Issue 11's rows: `*_bf16` are the same models built under the Keras `mixed_bfloat16` policy (kgantl's
through `kgantl.precision`, the baseline's by setting the policy around its constructor); with
`--mirrored`, `kgantl_mirrored_2cpu` is kgantl's model under `MirroredStrategy` on the CPU split into two
logical devices (the split is made first, before TensorFlow starts; the other models run on the first).

With `--torch-python PY` (an interpreter with `pip install torch==2.13.0`), the eager PyTorch
baseline `bench/baselines/torch_dcgan.py` also runs once per round, in its own process.

`--size 64`: the colour reference instead (64x64x3, the classic DCGAN: the baseline's `networks_64`), against
kgantl's GAN at 64x64x3 with no EMA (the baseline's work) in four designs: `kgantl_w64` (today's default: width
64, ConvTranspose blocks 512@8 ... 64@64 and a 5x5 convolution to the image), `kgantl_w32` (width 32, G and D
halved), `kgantl_w64_convt` and `kgantl_w32_convt` (`build_generator(to_image="convt")`: the last stage emits
the image as in the classic DCGAN; at width 64 the baseline's exact generator), and `kgantl_source_recipe`: the
shipped colour source's whole training step (`kgantl_w32_convt` with spectral normalisation in D, R1 0.1,
DiffAugment and EMA, what `make source-emoji` trains). A second table gives each
row's parameters and forward multiply-adds per image of G and D. With `--bf16`, `plain_keras_bf16`,
`kgantl_w64_bf16`, `kgantl_source_recipe_bf16` (the source as it is trained) are added; `--torch-python` is
refused (the PyTorch baseline has no 64x64 network).

Usage:
    python bench/throughput.py [--rounds|--repeats 9] [--steps 30] [--batch 64] [--size 28|64] [--bf16]
                               [--mirrored] [--torch-python PY] [--write]
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
BASELINE = ROOT / "bench" / "baselines" / "plain_keras_dcgan.py"  # verbatim copies (bench/baselines/README.md)
TORCH_BASELINE = BASELINE.with_name("torch_dcgan.py")


def _load_baseline(precision="float32", size=28):
    if not BASELINE.is_file():
        raise SystemExit(f"baseline not found: {BASELINE} (bench/baselines/ holds it in a checkout)")
    spec = importlib.util.spec_from_file_location("plain_keras_dcgan", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with precision_policy(precision):
        model = module.PlainGAN(*(module.networks_64() if size == 64 else module.networks()))
    model.compile(jit_compile=False)
    return model


def _kgantl(ema_decay, precision="float32", strategy=None, size=28, width=64, to_image="conv5"):
    channels = 3 if size == 64 else 1
    with (strategy or tf.distribute.get_strategy()).scope(), precision_policy(precision):
        model = GAN(build_generator(size, channels, width=width, to_image=to_image),
                    build_discriminator(size, channels, width=width), ema_decay=ema_decay, seed=1)
        model.compile(jit_compile=False)
    return model


# --size 64: kgantl's designs, all without EMA (the baseline's work)
DESIGNS_64 = {"kgantl_w64": {"width": 64}, "kgantl_w32": {"width": 32},
              "kgantl_w64_convt": {"width": 64, "to_image": "convt"},
              "kgantl_w32_convt": {"width": 32, "to_image": "convt"}}


def _source_recipe(precision="float32"):
    """The shipped colour source's whole training step (`make source-emoji`): width-32 `convt` design, spectral
    normalisation in D, R1 0.1, DiffAugment color,translation,cutout, EMA 0.999: what its extra work costs."""
    with precision_policy(precision):
        model = GAN(build_generator(64, 3, width=32, to_image="convt"),
                    build_discriminator(64, 3, width=32, spectral_norm=True),
                    augment="color,translation,cutout", ema_decay=0.999, seed=1)
        model.compile(r1_weight=0.1, jit_compile=False)
    return model


def _models_64(bf16=False, mirrored=False):
    """name -> compiled model at 64x64x3: the classic DCGAN baseline, kgantl's designs, and the shipped colour
    source's training recipe."""
    models = {"plain_keras": _load_baseline(size=64)}
    models.update({name: _kgantl(0.0, size=64, **design) for name, design in DESIGNS_64.items()})
    models["kgantl_source_recipe"] = _source_recipe()
    if bf16:
        models.update(plain_keras_bf16=_load_baseline("mixed_bfloat16", size=64),
                      kgantl_w64_bf16=_kgantl(0.0, "mixed_bfloat16", size=64),
                      kgantl_source_recipe_bf16=_source_recipe("mixed_bfloat16"))
    if mirrored:
        models["kgantl_mirrored_2cpu"] = _kgantl(0.0, strategy=make_distribution("mirrored", cpu_replicas=2),
                                                 size=64)
    assert keras.mixed_precision.global_policy().name == "float32"  # no policy left behind
    return models


def _models(bf16=False, mirrored=False, size=28):
    """name -> compiled model; kgantl_matched does the baseline's work, kgantl_default adds the EMA generator."""
    if size == 64:
        return _models_64(bf16, mirrored)
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


def measure(rounds, steps, batch, torch_python=None, bf16=False, mirrored=False, size=28):
    """Images per second of each model in each round, and the models.

    Args:
        rounds: rounds; each times every model once, in the same order (A B C A B C ...).
        steps: train steps (batches) per timed block.
        batch: batch size.
        torch_python: interpreter for the PyTorch baseline (28x28 only), or None.
        bf16, mirrored: add the bfloat16 rows, the mirrored row.
        size: 28 (the 28x28x1 reference) or 64 (the 64x64x3 colour reference).

    Returns:
        `(rates, models)`: dict name -> list of img/s, one per round; dict name -> compiled model.

    Example:
        >>> rates, models = measure(rounds=1, steps=3, batch=64, size=64)
    """
    shape = (64, 64, 3) if size == 64 else (28, 28, 1)
    x = np.random.default_rng(0).uniform(-1, 1, (batch * steps, *shape)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(batch, drop_remainder=True).cache().prefetch(2)
    models = _models(bf16, mirrored, size)
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
    return rates, models


def forward_macs(model):
    """Multiply-adds of one image's forward pass through the Dense and (transposed) convolution layers.

    A transposed convolution's are counted on its input grid (each input pixel meets the whole kernel), a
    convolution's on its output grid. Biases, activations and normalisation are left out.

    Returns:
        int, per image.
    """
    total = 0
    for outer in model.layers:
        layer = outer  # a wrapper (spectral normalisation) was called in the model, its inner layer was not
        while isinstance(layer, keras.layers.Wrapper):
            layer = layer.layer
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            kernel = layer.kernel.shape  # (kh, kw, in, out); ConvTranspose: (kh, kw, out, in)
            grid = outer.input.shape if isinstance(layer, keras.layers.Conv2DTranspose) else outer.output.shape
            total += grid[1] * grid[2] * int(np.prod(kernel))
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


def network_rows(models):
    """Markdown rows `| name | G params | D params | G MMAC | D MMAC | step MMAC |` for each model.

    The step's multiply-adds per real image are estimated as 4 G + 9 D forward passes (a backward pass
    about twice a forward): D's update runs G forward and D forward and backward on real and fake, G's
    update runs both forward and backward.
    """
    rows = []
    for name, model in models.items():
        g, d = (model.g, model.d) if hasattr(model, "g") else (model.generator, model.discriminator)
        g_macs, d_macs = forward_macs(g), forward_macs(d)
        rows.append(f"| {name} | {g.count_params():,} | {d.count_params():,} | {g_macs / 1e6:.0f} | "
                    f"{d_macs / 1e6:.0f} | {(4 * g_macs + 9 * d_macs) / 1e6:.0f} |")
    return rows


def report(rates, command, models=None):
    """Markdown section with medians and the median per-round ratio to the baseline.

    With `models` (the `--size 64` report), a second table gives each model's parameters and multiply-adds
    (`network_rows`). The machine line (`sections.cpu_line`) already names the CPU's bfloat16 flags.
    """
    base = rates["plain_keras"]
    rows = [f"| {name} | {max(values):.0f} | {statistics.median(values):.0f} | {min(values):.0f} | "
            f"{ratio_cells(values, base)} |" for name, values in rates.items()]
    lines = [*header(command, machine_note=", XLA off"),
             "| configuration | best img/s | median img/s | worst img/s | ratio of bests | "
             "per-round ratio, median (range) |",
             "|---|---|---|---|---|---|",
             *rows]
    if models:
        lines += ["", "| configuration | G parameters | D parameters | G MMAC/img | D MMAC/img | "
                      "step MMAC/img (4 G + 9 D) |", "|---|---|---|---|---|---|", *network_rows(models)]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", "--repeats", type=int, default=9, help="rounds of A B C ... (alias --repeats)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=28, choices=[28, 64],
                        help="28: the 28x28x1 reference; 64: the 64x64x3 colour reference and kgantl's designs")
    parser.add_argument("--bf16", action="store_true", help="add the mixed_bfloat16 rows (kgantl and baseline)")
    parser.add_argument("--mirrored", action="store_true", help="add kgantl on two mirrored logical CPU devices")
    parser.add_argument("--torch-python", help="Python interpreter with torch, to run the PyTorch baseline too")
    parser.add_argument("--write", action="store_true",
                        help="replace the section in the benchmark pages (bench/sections.py knows which page)")
    args = parser.parse_args()
    if args.size == 64 and args.torch_python:
        parser.error("--torch-python runs the 28x28 PyTorch baseline only. Received: --size 64 --torch-python")
    rates, models = measure(args.rounds, args.steps, args.batch, args.torch_python, args.bf16, args.mirrored,
                            args.size)
    flags = "".join(flag for flag, on in ((" --size 64", args.size == 64), (" --bf16", args.bf16),
                                          (" --mirrored", args.mirrored),
                                          (" --torch-python PY", args.torch_python)) if on)
    text = report(rates, f"python bench/throughput.py --rounds {args.rounds} --steps {args.steps} "
                         f"--batch {args.batch}{flags}", models if args.size == 64 else None)
    print(text)
    if args.write:  # issue 11's rows get their own section: issue 2's table stays as it was measured
        section = ("throughput-colour", "Training throughput at 64x64x3") if args.size == 64 else \
            ("throughput-precision", "Training throughput: bfloat16 and replicas") \
            if args.bf16 or args.mirrored else ("throughput", "Train step cost against plain Keras")
        write_section(section[0], text, section[1])


if __name__ == "__main__":
    main()
