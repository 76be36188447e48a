import dataclasses
import json

import numpy as np
import pytest

from kgantl.synthetic import AugmentSettings, split_validation
from kgantl.synthetic import experiment
from kgantl.synthetic.experiment import find_resumable_experiment
from kgantl.synthetic.report import CLASSIC, verdict
from kgantl.cli import UsageError, _augment, _augment_settings, build_parser, main
from kgantl.data import load_arrays

BACKBONE = "saved_models/fmnist-0-4-backbone"
SOURCE = "saved_models/source-fmnist-0-4-conditional"


def test_validation_images_come_out_of_the_shots_per_class(fake_fmnist):
    arrays = load_arrays("fashion_mnist:5-9", shots=5, seed=0)
    train, val = split_validation(arrays, 2)
    assert np.bincount(val.labels, minlength=10)[5:].tolist() == [2] * 5
    assert np.bincount(train.labels, minlength=10)[5:].tolist() == [3] * 5
    # Disjoint, and together exactly the shots (fake images are numbered by their pixel value).
    ids = lambda a: set(a.images[:, 0, 0, 0].tolist())  # noqa: E731
    assert not ids(train) & ids(val) and ids(train) | ids(val) == ids(arrays)


@pytest.mark.parametrize("changes, message", [
    ({"ratios": (0.25, 0.5)}, "ratios must include 0"),
    ({"ratios": (0, 1.5)}, r"ratios must be numbers in \[0, 1\]"),
    ({"shots": 1}, "shots must be an integer >= 2"),
    ({"val_per_class": 10}, r"val_per_class must be in 1..shots-1 \(9\)"),
    ({"filter_threshold": 2.0}, r"filter_threshold must be in \[0, 1\]"),
    ({"gan_steps": 0}, "gan_steps must be a positive integer"),
    ({"stages": "40:0"}, "stages must look like EPOCHS:TRAINABLE:LR"),
    ({"seeds": ()}, "seeds must be distinct integers >= 0, at least one"),
    ({"seeds": (0, 0)}, "seeds must be distinct integers"),
    ({"seeds": (-1,)}, "seeds must be distinct integers >= 0"),
    ({"unit": "bricks"}, "unit must be one of blocks, layers. Received: unit='bricks'"),
    ({"strategy": "freeze_d"}, "strategy must be one of"),
    ({"strategy": "reptile"}, "reptile needs source tasks"),
    ({"balance": "yes"}, "balance must be true or false; text is not converted"),
    ({"backbone": ""}, "backbone must be a non-empty string"),
    ({"ratios": (0, 0.5, 0.5)}, "ratios must be distinct"),
    ({"val_per_class": 1.5}, r"val_per_class must be an integer\. Received: val_per_class=1\.5"),
    ({"gan_diffaugment": "zoom"}, "gan_diffaugment must be a comma-separated subset of color, translation, cutout "
                                  "without repeats, or an empty string for none. Received: gan_diffaugment='zoom'"),
    ({"gan_diffaugment": None}, "Received: gan_diffaugment=None"),
])
def test_bad_settings_are_refused_before_anything_trains(changes, message):
    with pytest.raises(ValueError, match=message):
        AugmentSettings(**{"data": "fashion_mnist:5-9", "shots": 10, "backbone": BACKBONE, **changes}).validate()


def _seed(real, chosen, chosen_ratio=0.5):
    return {"rows": [{"method": "ratio 0", "ratio": 0.0, "test_accuracy": real},
                     {"method": CLASSIC, "ratio": 0.0, "test_accuracy": 0.0}],
            "selected": {"ratio": chosen_ratio, "test_accuracy": chosen}}


def test_the_verdict_needs_every_seed_to_agree():
    assert verdict([_seed(0.8, 0.85), _seed(0.7, 0.71)])["effect"] == "helped"
    assert verdict([_seed(0.8, 0.75), _seed(0.7, 0.69)])["effect"] == "hurt"
    mixed = verdict([_seed(0.8, 0.9), _seed(0.7, 0.69)])
    assert mixed["effect"] == "no clear effect" and mixed["mean_gain"] == pytest.approx(0.045)
    assert "+0.1000, -0.0100" in mixed["text"]
    assert verdict([_seed(0.8, 0.9)])["effect"] == "inconclusive"  # one seed cannot say


@pytest.mark.slow
def test_augment_command_runs_end_to_end_at_tiny_settings(fake_fmnist, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = tmp_path / "augment"
    argv = ["augment", "--data", "fashion_mnist:5-9", "--shots", "5", "--backbone", BACKBONE, "--ratios", "0,0.5",
            "--source", SOURCE, "--gan-steps", "5", "--gan-batch-size", "8", "--stages", "1:0:1e-3,1:2:1e-4",
            "--feature-layer", "flatten", "--eval-n", "50", "--filter-threshold", "0.0", "--run-dir", str(run_dir)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    report = json.loads((run_dir / "report.json").read_text())
    record = report["seeds"][0]
    assert [r["method"] for r in record["rows"]] == ["ratio 0", "ratio 0.5", CLASSIC]
    assert record["train_images"] == 20 and record["val_images"] == 5  # 1 of 5 shots per class held out
    for row in record["rows"]:
        assert 0 <= row["test_accuracy"] <= 1 and 0 <= row["test_macro_f1"] <= 1
    generated = record["rows"][1]["generated"]
    assert generated["generated"] > 0 and generated["kept_share"] == 1.0  # threshold 0 keeps everything
    assert record["selected"]["ratio"] in (0.0, 0.5)
    assert 0 <= record["gan"]["near_copy_share"] <= 1 and record["gan"]["memorisation"]["n_train"] == 20
    assert (run_dir / "seed0" / "gan" / "model.keras").is_file() and (run_dir / "seed0" / "shots.npz").is_file()
    assert json.loads((run_dir / "seed0" / "record.json").read_text()) == record
    assert report["summary"]["verdict"]["effect"] == "inconclusive"  # one seed
    assert "| ratio 0.5 |" in out and (run_dir / "report.md").read_text().strip() in out
    assert "with `freeze_d:1`, batch 8, DiffAugment color,translation,cutout, 5 generator steps" in out


class _StopBeforeTraining(Exception):
    pass


@pytest.mark.parametrize("policy", ["", "translation,cutout"])
def test_the_gan_trains_with_the_recipe_the_settings_name(policy, fake_fmnist, tmp_path, monkeypatch):
    seen = []

    def record_options(options, verbose=0):
        seen.append(options)
        raise _StopBeforeTraining

    monkeypatch.setattr("kgantl.training.train", record_options)
    settings = AugmentSettings("fashion_mnist:5-9", shots=5, backbone=BACKBONE, source=SOURCE, strategy="vision_d",
                               gan_batch_size=16, gan_diffaugment=policy).validate()
    with pytest.raises(_StopBeforeTraining):
        experiment.train_shot_gan(load_arrays("fashion_mnist:5-9", shots=5, seed=0), settings, 0, tmp_path)
    options = seen[0]
    assert (options.diffaugment, options.batch_size, options.strategy, options.source) == (
        policy, 16, "vision_d", SOURCE)
    assert options.conditional and options.epochs * options.steps_per_epoch == settings.gan_steps


def _no_data_checks(monkeypatch):
    """Flag and config-file parsing alone: the dry run's data, backbone and source checks (`check_experiment`,
    tested by test_a_dry_run_makes_every_check_and_writes_nothing) are stubbed out."""
    monkeypatch.setattr(experiment, "check_experiment", lambda *args, **kwargs: (None, None))


def test_augment_command_usage_errors(capsys, monkeypatch):
    _no_data_checks(monkeypatch)
    base = ["augment", "--data", "fashion_mnist:5-9", "--shots", "10", "--backbone", BACKBONE]
    assert main(base + ["--ratios", "0,a"]) == 2
    assert "expected comma-separated float values" in capsys.readouterr().err
    assert main(base + ["--ratios", "0.5", "--dry-run"]) == 2
    assert "ratios must include 0" in capsys.readouterr().err
    assert main(base + ["--seeds", "0,1", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"] == [0, 1]


def test_augment_flags_and_defaults_come_from_the_settings_dataclass(capsys, monkeypatch):
    _no_data_checks(monkeypatch)
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping: argparse would break "real-only" at its hyphen
    with pytest.raises(SystemExit) as exit_info:
        main(["augment", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--unit {blocks,layers}" in text and "UNIT" not in text
    assert "(default: 0.0,0.25,0.5)" in text and "--balance, --no-balance" in text
    for field in dataclasses.fields(AugmentSettings):
        if field.default not in (dataclasses.MISSING, None):
            shown = ",".join(map(str, field.default)) if isinstance(field.default, tuple) else field.default
            assert f"{field.metadata['help']} (default: {shown})" in text

    assert main(["augment", "--data", "d", "--shots", "3", "--backbone", "b", "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    declared = {f.name: list(f.default) if isinstance(f.default, tuple) else f.default
                for f in dataclasses.fields(AugmentSettings) if f.default is not dataclasses.MISSING}
    assert printed == {"data": "d", "shots": 3, "backbone": "b", **declared}


@pytest.mark.parametrize("flags, message", [
    (["--strategy", "bogus"], "strategy must be one of"),
    (["--unit", "bricks"], "argument --unit: invalid choice: 'bricks'"),
    (["--shots", "50"], "shots"),  # the fake data set has 20 images per class
    (["--backbone", "saved_models/no-such-backbone"], "'saved_models/no-such-backbone' is neither a file or folder"),
    (["--backbone", "nowhere/backbone.keras"], "backbone must be one of"),
    (["--feature-layer", "no_such_layer"], "feature_layer must be a layer of"),
    (["--source", "saved_models/no-such-source"], "'saved_models/no-such-source' is neither a file or folder"),
    (["--source", "nowhere/source.keras"], "source must be"),
])
def test_set_up_errors_exit_2_before_any_directory_exists(flags, message, fake_fmnist, tmp_path, capsys):
    runs_root = tmp_path / "runs"
    argv = ["augment", "--data", "fashion_mnist:5-9", "--shots", "5", "--backbone", BACKBONE, "--feature-layer",
            "flatten", "--ratios", "0,0.5", "--runs-root", str(runs_root), *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kgantl augment: error:") and message in err[0]
    assert not runs_root.exists()


def _fail_mid_run(*args, **kwargs):
    raise ValueError("a bug in training")


def _tiny_argv(tmp_path, *flags):
    return ["augment", "--data", "fashion_mnist:5-9", "--shots", "5", "--backbone", BACKBONE, "--ratios", "0",
            "--no-classic-baseline", "--stages", "1:0:1e-3", "--feature-layer", "flatten",
            "--runs-root", str(tmp_path / "runs"), *flags]


def test_errors_raised_while_training_are_not_usage_errors(fake_fmnist, tmp_path, monkeypatch):
    monkeypatch.setattr(experiment, "train_classifier", _fail_mid_run)
    parser = build_parser()
    argv = _tiny_argv(tmp_path)
    args = parser.parse_args(argv)
    settings = _augment_settings(args, argv, parser.subcommands["augment"])
    with pytest.raises(ValueError, match="a bug in training") as error_info:
        _augment(args, settings)
    assert not isinstance(error_info.value, UsageError)
    assert (tmp_path / "runs" / "00000-augment" / "settings.json").is_file()  # set-up had passed


def test_main_lets_errors_raised_while_training_propagate(fake_fmnist, tmp_path, monkeypatch):
    """A ValueError from inside training is a failure with its traceback, not a usage error (exit 2)."""
    monkeypatch.setattr(experiment, "train_classifier", _fail_mid_run)
    with pytest.raises(ValueError, match="a bug in training"):
        main(_tiny_argv(tmp_path))


def test_a_killed_experiment_continues_where_it_stopped(fake_fmnist, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    argv = _tiny_argv(tmp_path, "--seeds", "0,1")
    assert main(argv) == 0
    run_dir = tmp_path / "runs" / "00000-augment"
    first = json.loads((run_dir / "report.json").read_text())
    assert json.loads((run_dir / "settings.json").read_text()) == first["settings"]
    assert [json.loads((run_dir / f"seed{s}" / "record.json").read_text()) for s in (0, 1)] == first["seeds"]

    # A kill during seed 1: its record and the report were never written.
    for path in (run_dir / "seed1" / "record.json", run_dir / "report.json", run_dir / "report.md"):
        path.unlink()
    seeds_run = []
    run_seed = experiment.run_seed
    monkeypatch.setattr(experiment, "run_seed",
                        lambda settings, seed, *a, **k: seeds_run.append(seed) or run_seed(settings, seed, *a, **k))
    capsys.readouterr()
    assert main(argv) == 0  # the same command, no --run-dir: the unfinished run with equal settings is found
    assert seeds_run == [1]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["00000-augment"]
    assert json.loads((run_dir / "report.json").read_text()) == first
    assert f"run directory: {run_dir}" in capsys.readouterr().out


def test_a_run_dir_with_other_settings_is_refused(tmp_path, capsys):
    run_dir = tmp_path / "augment"
    run_dir.mkdir()
    stored = AugmentSettings("fashion_mnist:5-9", shots=5, backbone=BACKBONE, seeds=(0, 1))
    (run_dir / "settings.json").write_text(json.dumps(stored.to_dict()))
    other = dataclasses.replace(stored, shots=6, stages="1:0:1e-3")
    with pytest.raises(ValueError, match=r"other settings.*Received different: shots=6 \(was 5\), "
                                         r"stages='1:0:1e-3' \(was '40:0:1e-3,20:2:1e-4'\)"):
        experiment.augment_experiment(other, run_dir=run_dir)
    assert main(["augment", "--data", "fashion_mnist:5-9", "--shots", "5", "--backbone", BACKBONE,
                 "--run-dir", str(run_dir)]) == 2
    assert "seeds=[0] (was [0, 1])" in capsys.readouterr().err


def test_only_an_unfinished_run_with_equal_settings_is_picked_up(tmp_path):
    settings = AugmentSettings("fashion_mnist:5-9", shots=5, backbone=BACKBONE)
    for name, stored, finished in (("00000-augment", settings, False), ("00001-augment", settings, True),
                                   ("00002-augment", dataclasses.replace(settings, shots=6), False),
                                   ("00003-data", settings, False)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "settings.json").write_text(json.dumps(stored.to_dict()))
        if finished:
            (tmp_path / name / "report.json").write_text("{}")
    assert find_resumable_experiment(tmp_path, settings) == tmp_path / "00000-augment"
    assert find_resumable_experiment(tmp_path / "none", settings) is None


# A valid value, other than the default, for every setting (a new setting must be added here).
NON_DEFAULT = {
    "data": "fashion_mnist:5-6", "shots": 7, "backbone": "resnet50", "ratios": [0.0, 1.0], "seeds": [2, 3],
    "val_per_class": 2, "source": "source-fmnist-0-4", "strategy": "finetune", "gan_steps": 20,
    "gan_batch_size": 8, "gan_diffaugment": "translation", "stages": "1:0:1e-3", "unit": "blocks",
    "feature_layer": "flatten", "weights": None, "batch_size": 4, "balance": True, "filter_threshold": 0.5,
    "classic_baseline": False, "eval_n": 50, "test_data": "fashion_mnist:5-6",
}


def _dry_run(tmp_path, capsys, values, *flags):
    (tmp_path / "c.json").write_text(json.dumps(values))
    status = main(["augment", "--config", str(tmp_path / "c.json"), *flags, "--dry-run"])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if status == 0 else " ".join(err.split()))


def test_an_augment_config_file_sets_every_setting_required_ones_included(tmp_path, capsys, monkeypatch):
    _no_data_checks(monkeypatch)
    assert set(NON_DEFAULT) == {f.name for f in dataclasses.fields(AugmentSettings)}
    defaults = AugmentSettings("d", 2, "b")
    assert all(NON_DEFAULT[f.name] != getattr(defaults, f.name) for f in dataclasses.fields(AugmentSettings)
               if f.default is not dataclasses.MISSING)
    status, printed = _dry_run(tmp_path, capsys, NON_DEFAULT)
    assert status == 0 and printed == NON_DEFAULT
    status, printed = _dry_run(tmp_path, capsys, NON_DEFAULT, "--shots", "9", "--no-balance")
    assert printed == {**NON_DEFAULT, "shots": 9, "balance": False}  # typed flags win over the file


@pytest.mark.parametrize("values, expected", [
    ({"gan_steps": "500"}, "config file {}: gan_steps must be an integer; text is not converted"),
    ({"balance": "false"}, "config file {}: balance must be true or false"),
    ({"ratios": [0.5]}, "config file {}: ratios must include 0"),
    ({"gan_step": 5}, "config file {}: Unknown augment settings: gan_step."),
])
def test_bad_augment_config_values_name_the_file(tmp_path, capsys, values, expected):
    status, message = _dry_run(tmp_path, capsys, {"data": "d", "shots": 3, "backbone": "b", **values})
    assert status == 2 and expected.format(tmp_path / "c.json") in message


def test_required_settings_missing_from_flags_and_file_are_named(tmp_path, capsys):
    status, message = _dry_run(tmp_path, capsys, {"data": "d"})
    assert status == 2
    assert message == ("kgantl augment: error: the following arguments are required: --shots, --backbone "
                       "(as flags or in --config)")


def test_a_second_experiment_on_a_held_run_directory_exits_2_and_writes_nothing(fake_fmnist, tmp_path, capsys):
    settings = AugmentSettings("fashion_mnist:5-9", shots=5, backbone=BACKBONE, feature_layer="flatten")
    held = experiment.prepare_experiment(settings, run_dir=tmp_path / "augment")
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "augment").iterdir()}
    try:
        assert main(["augment", "--data", "fashion_mnist:5-9", "--shots", "5", "--backbone", BACKBONE,
                     "--feature-layer", "flatten", "--run-dir", str(tmp_path / "augment")]) == 2
    finally:
        held.lock.release()
    assert f"run directory {tmp_path / 'augment'} is in use by process" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "augment").iterdir()} == before


def _npz(path, per_class, classes=(5, 6), seed=0):
    from kgantl.io import write_npz

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.array(classes), per_class)
    write_npz(path, images=rng.integers(0, 256, (len(labels), 28, 28, 1), dtype=np.uint8), labels=labels)
    return str(path)


def test_classifiers_are_scored_on_test_data_all_of_it(fake_fmnist, tmp_path):
    shots, test = _npz(tmp_path / "shots.npz", 5), _npz(tmp_path / "test.npz", 7, seed=1)
    settings = AugmentSettings(shots, shots=5, backbone=BACKBONE, feature_layer="flatten", test_data=test)
    prepared = experiment.prepare_experiment(settings, run_dir=tmp_path / "augment")
    prepared.lock.release()
    assert len(prepared.test.labels) == 14 and experiment.test_reference(settings) == (test, "train")  # one set
    with_split = AugmentSettings("fashion_mnist:5-9", shots=5, backbone=BACKBONE, test_data="fashion_mnist:5-6")
    assert experiment.test_reference(with_split) == ("fashion_mnist:5-6", "test")
    assert experiment.test_reference(dataclasses.replace(with_split, test_data=None)) == ("fashion_mnist:5-9", "test")


@pytest.mark.parametrize("flags, message", [
    (["--backbone", "no-such-backbone"], "no-such-backbone"),
    (["--source", "no-such-source"], "'no-such-source' is neither a file or folder here nor a shipped model"),
    (["--data", "fashion_mnist:5-9", "--shots", "50"], "shots"),
])
def test_a_dry_run_makes_every_check_and_writes_nothing(flags, message, fake_fmnist, tmp_path, capsys):
    argv = ["augment", "--data", "fashion_mnist:5-9", "--shots", "5", "--backbone", BACKBONE, "--feature-layer",
            "flatten", "--ratios", "0,0.5", "--runs-root", str(tmp_path / "runs"), *flags, "--dry-run"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kgantl augment: error:") and message in err[0]
    assert not (tmp_path / "runs").exists()
    assert main(argv[:-len(flags) - 1] + ["--dry-run"]) == 0  # the same without the bad value: checked and printed
    assert json.loads(capsys.readouterr().out)["shots"] == 5 and not (tmp_path / "runs").exists()


def test_one_set_without_test_data_is_refused_before_anything_is_written(tmp_path, capsys):
    shots = _npz(tmp_path / "shots.npz", 5)
    assert main(["augment", "--data", shots, "--shots", "5", "--backbone", BACKBONE, "--feature-layer", "flatten",
                 "--runs-root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kgantl augment: error: data is one set with no test split, so the classifiers would be scored "
                   f"on their own training images; give test_data (--test-data SPEC). Received: data={shots!r}"]
    assert not (tmp_path / "runs").exists()
