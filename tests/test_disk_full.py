"""A full, failing or read-only disk: one line naming the file and the errno, exit 1, the last checkpoint intact, and
the same command resumes to the same weights as a run that never failed. Errors are injected where the file is
written (a small filesystem cannot be mounted everywhere the tests run)."""
import errno
import os

import numpy as np
import pytest

import kgantl.io
from kgantl.cli import main


def _train_argv(tiny_npz, run_dir, *flags):
    return ["train", "--data", str(tiny_npz), "--image-size", "16", "--width", "4", "--latent-dim", "8",
            "--batch-size", "8", "--epochs", "3", "--steps-per-epoch", "2", "--run-dir", str(run_dir), *flags]


def _fail_writing(monkeypatch, name, code=errno.ENOSPC):
    """Make the atomic write of the file called `name` fail with `code`, once."""
    real_replace, failed = os.replace, []

    def replace(source, target, *args, **kwargs):
        if os.path.basename(target) == name and not failed:
            failed.append(target)
            raise OSError(code, os.strerror(code), str(target))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(kgantl.io.os, "replace", replace)
    return failed


def _generator_weights(run_dir):
    from kgantl.runs.artifacts import load_gan

    return [np.asarray(w) for w in load_gan(run_dir).generator.get_weights()]


@pytest.fixture
def uninterrupted(tmp_path, tiny_npz):
    assert main(_train_argv(tiny_npz, tmp_path / "whole")) == 0
    return _generator_weights(tmp_path / "whole")


@pytest.mark.parametrize("name, code, kept", [
    ("epoch-0002.weights.h5", errno.ENOSPC, 1),
    ("epoch_0002.png", errno.EIO, 1),
    ("model.keras", errno.EROFS, 3),
])
def test_a_failed_write_is_one_line_and_the_same_command_finishes_bit_identical(
        tmp_path, tiny_npz, uninterrupted, monkeypatch, capsys, name, code, kept):
    run_dir = tmp_path / "run"
    with monkeypatch.context() as patch:
        failed = _fail_writing(patch, name, code)
        capsys.readouterr()
        assert main(_train_argv(tiny_npz, run_dir)) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert failed and len(lines) == 1, lines
    assert f"cannot write {failed[0]}: {os.strerror(code)} ({errno.errorcode[code]})" in lines[0]
    assert f"keeps the checkpoint of epoch {kept} of 3: free space and run the same command to resume" in lines[0]
    assert not list(run_dir.rglob("*.partial*"))  # nothing half-written is left
    assert main(_train_argv(tiny_npz, run_dir)) == 0
    for resumed, whole in zip(_generator_weights(run_dir), uninterrupted):
        np.testing.assert_array_equal(resumed, whole)


def test_a_checkpoint_is_not_started_on_a_disk_without_room_for_it(tmp_path, tiny_npz, monkeypatch, capsys):
    """The space check before an HDF5 write (one failing halfway can take the process down)."""
    import kgantl.callbacks.checkpoint as checkpoint

    monkeypatch.setattr(kgantl.io, "free_bytes", lambda path: 10**12 if "checkpoints" not in str(path) else 1000)
    assert main(_train_argv(tiny_npz, tmp_path / "run")) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "epoch-0001.weights.h5: No space left on device (ENOSPC); the checkpoint needs about" in line
    assert checkpoint.latest_epoch(tmp_path / "run" / "checkpoints") == 0


def test_an_export_that_fails_is_one_line(tmp_path, tiny_npz, tiny_source, monkeypatch, capsys):
    import keras

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", full)  # the backend's archive class
    argv = ["transfer", "--source", str(tiny_source), "--target", str(tiny_npz), "--shots", "10", "--steps", "2",
            "--copy-check", "off", "--eval-every", "0", "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"cannot write {tmp_path / 'run' / 'saved_model'}: No space left on device (ENOSPC)" in line
    assert not (tmp_path / "run" / "saved_model.partial").exists()


@pytest.mark.parametrize("free, refused", [(1000, True), (None, False)])
def test_the_dry_run_estimates_the_space_a_run_needs(tmp_path, tiny_npz, monkeypatch, capsys, free, refused):
    import kgantl.runs.folder

    if free is not None:
        monkeypatch.setattr(kgantl.runs.folder, "free_bytes", lambda path: free)
    status = main([*_train_argv(tiny_npz, tmp_path / "run"), "--dry-run"])
    assert status == (2 if refused else 0)
    if refused:
        assert "has 0.0 MB free; this run writes about" in capsys.readouterr().err
