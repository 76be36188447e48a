"""The budget in generator steps: what a run trains when no budget flag is given, the same from Python and the CLI."""
import json

import pytest

from kgantl.cli import main
from kgantl.config import OptionError, TrainOptions
from kgantl.measured import step_budget
from kgantl.resolve import resolve_training
from kgantl.run_defaults import resolve_budget


def _transfer_argv(tiny_npz, tiny_source, tmp_path, *flags):
    return ["transfer", "--source", str(tiny_source), "--target", str(tiny_npz), "--shots", "10",
            "--run-dir", str(tmp_path / "run"), *flags]


def test_a_ten_shot_transfer_with_no_budget_flag_trains_the_measured_budget_and_the_dry_run_says_so(
        tmp_path, tiny_npz, tiny_source, capsys):
    assert main([*_transfer_argv(tiny_npz, tiny_source, tmp_path), "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["steps"], printed["epochs"], printed["steps_per_epoch"]) == (step_budget(), step_budget() // 50, 50)
    # The Python API resolves the same options through the same resolver.
    python = resolve_training(TrainOptions(data=str(tiny_npz), source=str(tiny_source), shots=10,
                                           run_dir=str(tmp_path / "run"))).options
    assert python.to_dict() == printed
    assert not (tmp_path / "run").exists()  # a dry run writes nothing


def test_the_default_budget_is_what_trains(tmp_path, tiny_npz, tiny_source, monkeypatch):
    """With the measured budget made tiny, a transfer with no budget flag trains exactly that many G steps."""
    import kgantl.run_defaults
    from kgantl.runs.artifacts import load_gan
    from kgantl.training import train

    monkeypatch.setattr(kgantl.run_defaults, "step_budget", lambda: 6)
    options = TrainOptions(data=str(tiny_npz), source=str(tiny_source), shots=10, run_dir=str(tmp_path / "run"))
    history, run_dir = train(options, verbose=0)
    recorded = json.loads((run_dir / "options.json").read_text())
    assert (recorded["steps"], recorded["epochs"], recorded["steps_per_epoch"]) == (6, 1, 6)
    assert int(load_gan(run_dir).g_optimizer.iterations) == 6


@pytest.mark.parametrize("given, images, expected", [
    (dict(), 10, (2000, 40, 50)),                                  # few images: epochs of at least 50 steps
    (dict(), 64 * 100, (2000, 20, 100)),                           # a pass over the data is an epoch
    (dict(steps=120), 10, (150, 3, 50)),                           # rounded up to whole epochs
    (dict(steps=30), 10, (30, 1, 30)),                             # a budget smaller than an epoch is one epoch
    (dict(epochs=3), 640, (30, 3, 10)),                            # epochs alone: passes over the data, as before
    (dict(epochs=3, steps_per_epoch=7), 640, (21, 3, 7)),
    (dict(steps=40, steps_per_epoch=8), 10, (40, 5, 8)),
])
def test_the_budget_rule(given, images, expected, monkeypatch):
    import kgantl.run_defaults

    monkeypatch.setattr(kgantl.run_defaults, "step_budget", lambda: 2000)
    resolved = resolve_budget(TrainOptions(data="digits", **given).validate(), images)
    assert (resolved.steps, resolved.epochs, resolved.steps_per_epoch) == expected


def test_steps_and_epochs_together_are_refused_unless_they_agree():
    with pytest.raises(OptionError, match=r"steps and epochs each set the budget: give one.*Received: steps=100, "
                                          r"epochs=3"):
        TrainOptions(data="digits", steps=100, epochs=3).validate()
    # A resolved options.json holds all three, consistent: it validates.
    TrainOptions(data="digits", steps=30, epochs=3, steps_per_epoch=10).validate()


def test_a_typed_budget_flag_replaces_the_other_one_from_a_config_file(tmp_path, tiny_npz, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"epochs": 3, "steps_per_epoch": 5}))
    assert main(["train", "--data", str(tiny_npz), "--config", str(path), "--steps", "20", "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["steps"], printed["epochs"], printed["steps_per_epoch"]) == (20, 4, 5)


def test_a_folder_keeps_its_budget_for_the_same_command_and_epochs_extend_it(tmp_path, tiny_npz, tiny_source):
    """A 10-shot run made with the default budget (epochs of 50 steps) is extended by --epochs in epochs of 50, and a
    folder written before budgets were in steps (no `steps` in options.json) resumes with its own epochs."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    old = {"data": str(tiny_npz), "source": str(tiny_source), "shots": 10, "epochs": 10, "steps_per_epoch": 50}
    (run_dir / "options.json").write_text(json.dumps(old))
    base = dict(data=str(tiny_npz), source=str(tiny_source), shots=10, run_dir=str(run_dir))
    same = resolve_training(TrainOptions(**base)).options
    assert (same.steps, same.epochs, same.steps_per_epoch) == (500, 10, 50)
    extended = resolve_training(TrainOptions(**base, epochs=60)).options
    assert (extended.steps, extended.epochs, extended.steps_per_epoch) == (3000, 60, 50)
