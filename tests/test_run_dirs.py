"""Run directories: one process per run directory (a second is refused naming the first; a killed holder leaves no
stale lock), and one that cannot be written is refused before anything trains, by --dry-run too."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgantl.cli import main
from kgantl.runs.lock import LOCK_FILE, RunDirInUse, RunDirLock

TINY = ["--image-size", "16", "--width", "4", "--latent-dim", "8", "--batch-size", "8"]


def test_a_second_lock_is_refused_with_the_holder_and_granted_after_release(tmp_path):
    first = RunDirLock(tmp_path).acquire()
    with pytest.raises(RunDirInUse, match=rf"run directory {tmp_path} is in use by process {os.getpid()} on "):
        RunDirLock(tmp_path).acquire()
    first.release()
    with RunDirLock(tmp_path) as second:
        assert second.held and json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert not second.held


@pytest.mark.slow
def test_the_lock_of_a_killed_process_is_free_at_once(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from kgantl.runs.lock import RunDirLock; "
                               f"lock = RunDirLock({str(tmp_path)!r}).acquire(); print('held', flush=True); "
                               "time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunDirInUse, match=f"in use by process {holder.pid} "):
            RunDirLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with RunDirLock(tmp_path) as lock:  # the file is still there, its lock is not
        assert lock.held


def _kgantl(args):
    return subprocess.Popen([sys.executable, "-m", "kgantl.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
def test_a_second_train_on_a_held_run_directory_exits_2_and_the_first_finishes_untouched(tmp_path, tiny_npz):
    run_dir = tmp_path / "run"
    command = ["train", "--data", str(tiny_npz), *TINY, "--steps-per-epoch", "50", "--epochs", "30",
               "--run-dir", str(run_dir)]
    first = _kgantl(command)
    deadline = time.time() + 180
    while not (run_dir / "metrics.jsonl").is_file() and first.poll() is None and time.time() < deadline:
        time.sleep(0.1)  # the first epoch is done: the first process holds the lock and is training
    assert first.poll() is None, first.communicate()
    began = time.time()
    second = _kgantl(command)
    _, error = second.communicate(timeout=180)  # (`python -m` lets TensorFlow's start-up lines through first)
    assert second.returncode == 2 and time.time() - began < 60
    assert error.strip().splitlines()[-1] == (f"kgantl train: error: run directory {run_dir} is in use by process "
                                              f"{first.pid} on "
                             f"{json.loads((run_dir / LOCK_FILE).read_text())['host']} since "
                             f"{json.loads((run_dir / LOCK_FILE).read_text())['since']}: wait for it to finish or "
                             f"choose another run directory")
    output, error = first.communicate(timeout=300)
    assert first.returncode == 0, error
    epochs = [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, 31))  # no duplicated or out-of-order epochs
    assert (run_dir / "model.keras").is_file()


def _unwritable_places(tmp_path):
    (tmp_path / "a-file").write_text("")
    places = [(tmp_path / "a-file" / "run", f"cannot be made: {tmp_path / 'a-file'} is a file, not a folder"),
              (Path("/proc/kgantl-test/run"), "cannot be written: /proc does not accept new files")]
    if os.geteuid() != 0:  # root writes through permissions
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        places.append((locked / "run", f"cannot be written: {locked} does not accept new files (Permission denied)"))
    return places


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
def test_an_unwritable_run_directory_exits_2_with_one_line(capsys, tmp_path, tiny_npz, dry_run):
    for run_dir, reason in _unwritable_places(tmp_path):
        assert main(["train", "--data", str(tiny_npz), *TINY, "--epochs", "1", "--run-dir", str(run_dir),
                     *(["--dry-run"] if dry_run else [])]) == 2
        error = capsys.readouterr().err
        assert error.startswith(f"kgantl train: error: run directory {run_dir} {reason}") and error.count("\n") == 1
        assert not run_dir.exists()
    assert main(["train", "--data", str(tiny_npz), *TINY, "--runs-root", str(tmp_path / "a-file" / "runs"),
                 "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith(f"kgantl train: error: runs_root {tmp_path / 'a-file' / 'runs'} cannot")
