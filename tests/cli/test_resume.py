"""`kgantl train`/`transfer` killed mid-run (SIGKILL, SIGTERM) resume exactly: the same command continues and
matches an uninterrupted run."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest


def _kgantl(args, **kwargs):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "kgantl.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, **kwargs)


def _kill_mid_epoch(command, run_dir, after_epoch=2, signum=signal.SIGKILL, stopped=None):
    """Start `command`, send it `signum` halfway through the epoch after `after_epoch` (not at a boundary), and
    return the epoch of its last checkpoint. `stopped`: a dict that gets the process's exit status and output."""
    latest = run_dir / "checkpoints" / "latest.json"
    process = _kgantl(command + ["--run-dir", str(run_dir)])
    deadline = time.time() + 180
    while time.time() < deadline and process.poll() is None:
        if latest.exists() and json.loads(latest.read_text())["epoch"] >= after_epoch:
            break
        time.sleep(0.05)
    epoch_seconds = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[1])["time"]
    time.sleep(epoch_seconds / 2)
    assert process.poll() is None, "training ended before it could be killed"
    process.send_signal(signum)
    output, _ = process.communicate(timeout=120)
    if stopped is not None:
        stopped.update(status=process.returncode, output=output)
    return json.loads(latest.read_text())["epoch"]


@pytest.mark.slow
def test_resume_after_sigkill_continues_and_matches_an_uninterrupted_run(tmp_path, tiny_npz):
    common = ["train", "--data", str(tiny_npz), "--image-size", "16", "--width", "16", "--latent-dim", "16",
              "--batch-size", "16", "--steps-per-epoch", "30", "--epochs", "6", "--diffaugment", "translation"]
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    killed_at = _kill_mid_epoch(common, killed_dir)
    assert 2 <= killed_at < 6

    resumed = _kgantl(common + ["--run-dir", str(killed_dir)])
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert f"Resuming {killed_dir} from epoch {killed_at} of 6" in output
    records = [json.loads(line) for line in (killed_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5, 6]

    straight = _kgantl(common + ["--run-dir", str(straight_dir)])
    output, _ = straight.communicate(timeout=300)
    assert straight.returncode == 0, output
    from kgantl.runs.artifacts import load_gan

    a, b = load_gan(killed_dir), load_gan(straight_dir)
    assert a.g_optimizer.iterations.numpy() == b.g_optimizer.iterations.numpy() == 6 * 30
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_sigterm_stops_after_the_step_says_how_to_resume_and_the_same_command_matches_an_uninterrupted_run(
        tmp_path, tiny_npz):
    common = ["train", "--data", str(tiny_npz), "--image-size", "16", "--width", "16", "--latent-dim", "16",
              "--batch-size", "16", "--steps-per-epoch", "30", "--epochs", "5", "--seed", "2"]
    stopped_dir, straight_dir = tmp_path / "stopped", tmp_path / "straight"
    stopped = {}
    kept = _kill_mid_epoch(common, stopped_dir, signum=signal.SIGTERM, stopped=stopped)
    assert stopped["status"] == 143 and 2 <= kept < 5
    last = stopped["output"].strip().splitlines()[-1]
    assert re.fullmatch(rf"kgantl train: stopped by SIGTERM in epoch {kept + 1} \(after step \d+\); the run directory "
                        rf"{re.escape(str(stopped_dir))} keeps the checkpoint of epoch {kept} of 5: run the same "
                        rf"command to resume", last), last
    assert not (stopped_dir / "model.keras").exists()
    for run_dir in (stopped_dir, straight_dir):
        finished = _kgantl(common + ["--run-dir", str(run_dir)])
        output, _ = finished.communicate(timeout=300)
        assert finished.returncode == 0, output
    from kgantl.runs.artifacts import load_gan

    records = [json.loads(line) for line in (stopped_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5]
    for x, y in zip(load_gan(stopped_dir).get_weights(), load_gan(straight_dir).get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_resume_after_sigkill_with_the_copy_check_on_matches_an_uninterrupted_run(tmp_path, tiny_npz, tiny_source):
    common = ["transfer", "--source", str(tiny_source), "--target", str(tiny_npz), "--shots", "10",
              "--batch-size", "16", "--steps-per-epoch", "20", "--epochs", "5", "--copy-every", "20",
              "--copy-patience", "0"]
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    assert 2 <= _kill_mid_epoch(common, killed_dir) < 5
    for run_dir in (killed_dir, straight_dir):
        finished = _kgantl(common + ["--run-dir", str(run_dir)])
        output, _ = finished.communicate(timeout=300)
        assert finished.returncode == 0, output
    from kgantl.runs.artifacts import load_gan

    selections = [json.loads((d / "selection.json").read_text()) for d in (killed_dir, straight_dir)]
    assert [r["epoch"] for r in selections[0]["evaluations"]] == [1, 2, 3, 4, 5]
    assert selections[0] == selections[1]  # every score and the choice, exactly
    for name in ("model.keras", "best.keras"):
        for x, y in zip(load_gan(killed_dir / name).get_weights(), load_gan(straight_dir / name).get_weights()):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
