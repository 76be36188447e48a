"""Numeric precision of a run: the Keras mixed-precision policy its networks are built under.

Under `mixed_bfloat16` or `mixed_float16` layers compute in 16 bits and keep float32 weights; the GAN's step
casts logits to float32 before its losses and penalties, and wraps its optimizers in a `LossScaleOptimizer`
under float16 (see `kgantl.models.gan`). Samples, metrics and exported SavedModels are float32 either way.
"""
import contextlib
from pathlib import Path

import keras

from kgantl.config import PRECISION_CHOICES
from kgantl.measured import bfloat16_quality_shown

_FAST_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def has_fast_bfloat16():
    """Whether this machine has bfloat16 units: a CPU with AMX-BF16 or AVX512-BF16, or a GPU of compute
    capability 8.0 or more (Ampere and later)."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0)
        if tuple(capability) >= (8, 0):
            return True
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text().split() if cpuinfo.exists() else []
    return any(flag in flags for flag in _FAST_BF16_CPU_FLAGS)


def resolve_precision(name):
    """The Keras dtype policy name for `name` (`auto` decided for this machine: see `auto_precision`).

    Example:
        >>> resolve_precision("mixed_bfloat16")
        'mixed_bfloat16'
    """
    if name not in PRECISION_CHOICES:
        raise ValueError(f"precision must be one of {', '.join(PRECISION_CHOICES)}. Received: precision={name!r}")
    return auto_precision()[0] if name == "auto" else name


def auto_precision():
    """What `precision="auto"` is on this machine, and why: `(policy name, reason)`.

    mixed_bfloat16 where both hold: the benchmark has shown bfloat16 costs no quality (kgantl/measured.json, rule
    "bfloat16") and this machine has bfloat16 units (`has_fast_bfloat16`: emulated bfloat16 is several times
    slower than float32); float32 elsewhere.

    Example:
        >>> auto_precision()
        ('float32', 'this machine has no bfloat16 units (AMX-BF16, AVX512-BF16, or a GPU of compute capability 8.0+)')
    """
    if not bfloat16_quality_shown():
        return "float32", "the benchmark has not shown that bfloat16 costs no quality (kgantl/measured.json)"
    if not has_fast_bfloat16():
        return "float32", ("this machine has no bfloat16 units (AMX-BF16, AVX512-BF16, or a GPU of compute "
                           "capability 8.0+)")
    return "mixed_bfloat16", ("this machine has bfloat16 units and the benchmark shows bfloat16 costs no quality "
                              "(kgantl/measured.json)")


def _concrete(name):
    """`name` checked to be a Keras policy kgantl trains under: `auto` must have been resolved (once, by the
    run's resolver, `resolve_precision`) before networks are built."""
    if name not in PRECISION_CHOICES or name == "auto":
        raise ValueError(f"precision must be a resolved policy, one of "
                         f"{', '.join(c for c in PRECISION_CHOICES if c != 'auto')} (resolve auto with "
                         f"resolve_precision first). Received: precision={name!r}")
    return name


@contextlib.contextmanager
def precision_policy(name):
    """Build networks under the policy `name` (resolved: not `auto`) within the block; the previous global policy
    comes back after.

    Example:
        >>> with precision_policy("mixed_bfloat16"):
        ...     generator = build_generator()
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(_concrete(name))
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def computes_under(model):
    """The policy `model`'s layers compute under: the mixed one any of them has (a model built under a mixed
    policy keeps some layers, such as its output, in float32), else `float32`.

    Example:
        >>> computes_under(load_gan("source-emoji-noto-64").generator)  # trained under mixed_bfloat16
        'mixed_bfloat16'
    """
    names = {layer.dtype_policy.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)}
    return min((name for name in names if name.startswith("mixed_")), default="float32")


def with_policy(model, name):
    """A copy of the functional `model` whose layers compute under the policy `name`, with the same weights.

    A saved model keeps the policy it was built with; a transfer source is converted with this so that a
    mixed-precision run adapts it in that precision.
    """
    policy = _concrete(name)

    def rebuild(layer):
        if isinstance(layer, keras.layers.InputLayer):
            return layer.__class__.from_config(layer.get_config())
        return layer.__class__.from_config({**layer.get_config(), "dtype": policy})

    copy = keras.models.clone_model(model, clone_function=rebuild)
    copy.set_weights(model.get_weights())
    copy.trainable = model.trainable
    return copy


__all__ = ["PRECISION_CHOICES", "auto_precision", "computes_under", "has_fast_bfloat16", "precision_policy",
           "resolve_precision", "with_policy"]
