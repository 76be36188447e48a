"""kgantl.distribute and the GAN step under tf.distribute: two mirrored CPU devices compute what one does."""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from kgantl.callbacks.checkpoint import latest_epoch
from kgantl.config import TrainOptions
from kgantl.distribute import is_chief, make_distribution
from kgantl.models.gan import _ReplicaSeeds

HELPER = Path(__file__).with_name("mirrored_equivalence.py")
WORKER = Path(__file__).with_name("multiworker_worker.py")


@pytest.mark.slow
@pytest.mark.parametrize("kind, optimizer", [("gan", "sgd"), ("conditional", "adam")])
def test_two_mirrored_cpu_devices_match_one_device_at_the_same_global_batch(kind, optimizer):
    # A fresh process: the CPU is split into two devices before TensorFlow sets them up.
    done = subprocess.run([sys.executable, str(HELPER), kind, optimizer], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["weights_moved"] > 1e-4  # training did something to compare
    assert result["max_weight_difference"] < 1e-6  # the same up to float rounding
    for name, value in result["one_device"].items():
        assert result["mirrored"][name] == pytest.approx(value, rel=1e-5, abs=1e-6), name


def test_replica_seed_streams_differ_between_replicas_and_repeat_for_one():
    def draws(replica):
        base = keras.random.SeedGenerator(3)
        return keras.ops.convert_to_numpy(keras.random.normal((4,), seed=_ReplicaSeeds(base, replica)))

    np.testing.assert_array_equal(draws(1), draws(1))
    assert not np.allclose(draws(0), draws(1))


def test_one_device_strategy_is_the_default_and_writes():
    strategy = make_distribution("none")
    assert strategy.num_replicas_in_sync == 1 and is_chief(strategy)


def test_bad_distribution_settings_are_refused_with_the_rule(monkeypatch):
    with pytest.raises(ValueError, match="distribute must be one of none, mirrored, multiworker, tpu"):
        make_distribution("horovod")
    with pytest.raises(ValueError, match="cpu_replicas splits the CPU for distribute=mirrored only"):
        TrainOptions(data="digits", cpu_replicas=2).validate()
    with pytest.raises(ValueError, match="cpu_replicas must be a positive integer"):
        TrainOptions(data="digits", distribute="mirrored", cpu_replicas=0).validate()
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="reads the cluster .* from the TF_CONFIG environment variable"):
        make_distribution("multiworker")


def test_splitting_the_cpu_after_tensorflow_started_says_how_to_do_it():
    from kgantl.distribute import split_cpu

    keras.ops.ones(1)  # TensorFlow has set up its devices
    with pytest.raises(RuntimeError, match="cpu_replicas must be set before TensorFlow has set up its devices"):
        split_cpu(3)


@pytest.mark.slow
def test_kgantl_train_on_two_mirrored_cpu_devices_finishes_and_resumes(tmp_path, tiny_npz):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "kgantl.cli", "train", "--data", str(tiny_npz), "--image-size", "16",
               "--width", "8", "--latent-dim", "8", "--batch-size", "8", "--steps-per-epoch", "2",
               "--distribute", "mirrored", "--cpu-replicas", "2", "--run-dir", str(run_dir)]
    first = subprocess.run([*command, "--epochs", "1"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    second = subprocess.run([*command, "--epochs", "2"], capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming" in second.stderr
    assert (run_dir / "model.keras").exists()
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [entry["epoch"] for entry in logged] == [1, 2]  # one epoch per process
    assert json.loads((run_dir / "options.json").read_text())["distribute"] == "mirrored"


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_cluster(tiny_npz, run_dir, report_dir, epochs, kill_at):
    """Two worker processes of one cluster on 127.0.0.1 (worker 0 is the chief)."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(subprocess.Popen(
            [sys.executable, str(WORKER), str(tiny_npz), str(run_dir), str(report_dir), str(epochs), str(kill_at)],
            env={**os.environ, "TF_CONFIG": json.dumps(config)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    return processes


@pytest.mark.slow
def test_two_workers_train_one_run_only_the_chief_writes_and_a_killed_cluster_resumes(tmp_path, tiny_npz):
    run_dir, report_dir, epochs = tmp_path / "run", tmp_path / "report", 4
    report_dir.mkdir()
    chief, worker = _start_cluster(tiny_npz, run_dir, report_dir, epochs, kill_at=2)
    worker.wait(timeout=300)
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read()[-3000:]
    with contextlib.suppress(subprocess.TimeoutExpired):
        chief.wait(timeout=5)  # it may still be waiting on the dead worker: a scheduler restarts the whole job
    chief.kill()
    chief.wait()
    assert 1 <= latest_epoch(run_dir / "checkpoints") < epochs
    assert not (run_dir / "model.keras").exists()

    processes = _start_cluster(tiny_npz, run_dir, report_dir, epochs, kill_at=2)  # the same command again
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
        assert "Resuming" in stderr
    chief_sums, worker_sums = (json.loads((report_dir / f"worker-{i}.json").read_text()) for i in range(2))
    assert chief_sums == worker_sums  # every replica holds the same weights
    assert (run_dir / "model.keras").exists()
    logged = [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert logged == list(range(1, epochs + 1))
    assert (report_dir / "worker-0.writes").read_text()  # the audit sees the chief's writes...
    assert (report_dir / "worker-1.writes").read_text() == ""  # ...and none by the other worker
    assert not list(run_dir.rglob("*.partial*"))


def test_multiworker_needs_one_run_dir_for_all_workers_and_refuses_auto(tmp_path, tiny_npz, tiny_source):
    from kgantl.training import resolve_training

    with pytest.raises(ValueError, match="distribute=multiworker needs run_dir: every worker must name the same"):
        TrainOptions(data=str(tiny_npz), distribute="multiworker").validate()
    with pytest.raises(ValueError, match="strategy=auto trains its pilots as separate runs"):
        resolve_training(TrainOptions(data=str(tiny_npz), source=str(tiny_source), strategy="auto",
                                      distribute="multiworker", run_dir=str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()
