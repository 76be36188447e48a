"""Where a run trains: its distribution, a `tf.distribute.Strategy` chosen by name, and CPU replicas for machines
without GPUs.

kgantl calls TensorFlow's strategy object a run's *distribution*: "strategy" alone means a GAN transfer strategy
(`kgantl.transfer.strategy`). The GAN's own step is written for replicas (see `kgantl.models.gan`): this module
only makes the distribution. Every model, optimizer, seed generator and metric of a run is created under
`distribution.scope()`.
"""
import os

import tensorflow as tf

from kgantl.config import DISTRIBUTE_CHOICES


def split_cpu(replicas):
    """Split the first CPU into `replicas` logical devices, so mirrored training can run without GPUs.

    TensorFlow fixes its devices when it first uses them: call this before any tensor is made. Asking again
    for the split already in place is a no-op.

    Args:
        replicas: number of logical CPU devices (>= 1).

    Returns:
        The names of the logical CPU devices.

    Raises:
        RuntimeError: TensorFlow's devices were already set up with another split.

    Example:
        >>> split_cpu(2)
        ['/device:CPU:0', '/device:CPU:1']
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"cpu_replicas must be a positive integer. Received: cpu_replicas={replicas!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu) or [None]
    if len(current) != replicas:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
        except RuntimeError as error:
            raise RuntimeError(
                f"cpu_replicas must be set before TensorFlow has set up its devices (this process already runs "
                f"{len(current)} CPU device(s)): start a new process, or call kgantl.distribute.split_cpu first. "
                f"Received: cpu_replicas={replicas}") from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def make_distribution(name="none", cpu_replicas=1):
    """The distribution (a `tf.distribute.Strategy`) called `name`.

    Args:
        name: `none` (the default strategy: one device), `mirrored` (every GPU of this host, or `cpu_replicas`
            logical CPU devices), `multiworker` (`MultiWorkerMirroredStrategy`; the cluster comes from the
            `TF_CONFIG` environment variable) or `tpu` (`TPUStrategy` with the TPU the resolver finds).
        cpu_replicas: with `mirrored`, split the CPU into this many devices and train on them (for testing
            on machines without GPUs; 1: use the GPUs, or the CPU alone when there is none).

    Returns:
        The `tf.distribute.Strategy`.

    Raises:
        ValueError: an unknown name, `cpu_replicas` with another distribution, or `multiworker` without
            `TF_CONFIG`.

    Example:
        >>> distribution = make_distribution("mirrored", cpu_replicas=2)
        >>> distribution.num_replicas_in_sync
        2
    """
    if name not in DISTRIBUTE_CHOICES:
        raise ValueError(f"distribute must be one of {', '.join(DISTRIBUTE_CHOICES)}. Received: distribute={name!r}")
    if cpu_replicas != 1 and name != "mirrored":
        raise ValueError(f"cpu_replicas splits the CPU for distribute=mirrored only. "
                         f"Received: cpu_replicas={cpu_replicas}, distribute={name!r}")
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = split_cpu(cpu_replicas) if cpu_replicas > 1 else None
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        return _multiworker_distribution()
    return _tpu_distribution()


_MULTIWORKER = []  # the process's one MultiWorkerMirroredStrategy: TensorFlow configures its collectives once


def _multiworker_distribution():
    if _MULTIWORKER:
        return _MULTIWORKER[0]
    if not os.environ.get("TF_CONFIG"):
        raise ValueError("distribute=multiworker reads the cluster and this worker's place in it from the "
                         "TF_CONFIG environment variable (see docs/distributed.md). Received: TF_CONFIG unset")
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:  # "Collective ops must be configured at program startup"
        raise RuntimeError("distribute=multiworker must be set up before TensorFlow has started its devices: "
                           "call kgantl.distribute.make_distribution('multiworker') first thing in the process "
                           "(the kgantl command does). Received: distribute='multiworker'") from error
    _MULTIWORKER.append(strategy)
    return strategy


def _tpu_distribution():
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise RuntimeError(f"distribute=tpu found no TPU to connect to ({error}). Received: distribute='tpu'") \
            from error
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy=None):
    """Whether this process writes the run's files: always, except on the non-chief workers of a cluster.

    The chief is the task of type `chief`, or worker 0 when the cluster has no chief (TF_CONFIG's convention).
    """
    resolver = getattr(strategy or tf.distribute.get_strategy(), "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


__all__ = ["DISTRIBUTE_CHOICES", "is_chief", "make_distribution", "split_cpu"]
