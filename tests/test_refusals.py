"""A dry run refuses what the real run would refuse before its first step, and a refused start blocks nothing."""
import json

import pytest

from kgantl.cli import UsageError, main


def _transfer(tiny_npz, tiny_source, run_dir, *flags):
    return ["transfer", "--source", str(tiny_source), "--target", str(tiny_npz), "--run-dir", str(run_dir),
            "--steps", "2", *flags]


def _refusal(argv, capsys):
    """The one line a refused command prints (exit status 2)."""
    try:
        status = main(argv)
    except UsageError as error:
        return str(error)
    except SystemExit as error:
        status = error.code
    assert status == 2, f"{argv} was not refused"
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("flags, message", [
    # asked for: with 2 images neither can run (left unset, neither is turned on: tests/test_few_shot_defaults.py)
    (["--shots", "1", "--copy-check", "on"], "the copy check needs at least 3 training images"),
    (["--shots", "1", "--copy-check", "off", "--eval-every", "1"],
     "turn val_kid off with eval_every 0 (--eval-every 0)"),
    (["--shots", "10", "--strategy", "freeze_d:99"], "freeze_d"),
    (["--shots", "10", "--strategy", "reptile"], "strategy reptile needs reptile_data"),
    (["--shots", "10", "--strategy", "auto+cdc"], "auto chooses among composed strategies itself"),
    (["--shots", "10", "--epochs", "3"], "steps and epochs each set the budget"),
])
def test_the_dry_run_refuses_what_the_run_refuses_and_nothing_is_written(tmp_path, tiny_npz, tiny_source, capsys,
                                                                        flags, message):
    run_dir = tmp_path / "run"
    dry = _refusal([*_transfer(tiny_npz, tiny_source, run_dir, *flags), "--dry-run"], capsys)
    real = _refusal(_transfer(tiny_npz, tiny_source, run_dir, *flags), capsys)
    assert message in dry and dry == real
    assert not run_dir.exists()


def test_a_folder_a_failed_start_left_is_taken_over_by_the_corrected_command(tmp_path, tiny_npz, tiny_source):
    """What an earlier start that failed after writing its options (before any checkpoint) left behind."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "options.json").write_text(json.dumps({"data": str(tiny_npz), "source": str(tiny_source),
                                                      "shots": 1, "copy_check": "on"}))
    (run_dir / ".lock").write_text("")
    assert main(_transfer(tiny_npz, tiny_source, run_dir, "--shots", "1", "--copy-check", "off",
                          "--eval-every", "0")) == 0
    assert json.loads((run_dir / "options.json").read_text())["copy_check"] == "off"
    assert (run_dir / "model.keras").is_file()


def test_a_folder_that_trained_is_still_protected(tmp_path, tiny_npz, tiny_source, capsys):
    run_dir = tmp_path / "run"
    assert main(_transfer(tiny_npz, tiny_source, run_dir, "--shots", "3", "--copy-check", "off",
                          "--eval-every", "0")) == 0
    line = _refusal(_transfer(tiny_npz, tiny_source, run_dir, "--shots", "4", "--copy-check", "off",
                              "--eval-every", "0"), capsys)
    assert "holds a run with other options" in line and "shots=4 (was 3)" in line


def test_a_folder_with_a_model_but_no_checkpoint_is_not_taken_over(tmp_path, tiny_npz, tiny_source, capsys):
    """E.g. a finished run whose checkpoints were deleted, or a shipped model's folder."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "options.json").write_text(json.dumps({"data": str(tiny_npz), "source": str(tiny_source),
                                                      "shots": 3}))
    (run_dir / "model.keras").write_bytes(b"a finished run's model")
    line = _refusal(_transfer(tiny_npz, tiny_source, run_dir, "--shots", "4", "--copy-check", "off",
                              "--eval-every", "0"), capsys)
    assert "holds a run with other options" in line
    assert (run_dir / "model.keras").read_bytes() == b"a finished run's model"
