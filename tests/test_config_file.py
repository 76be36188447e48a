"""`--config`: every option the flags set, with the same checks, and every error naming the file."""
import dataclasses
import json
import subprocess
import sys

import pytest

from kgantl.cli import UsageError, _train_options, build_parser, main
from kgantl.config import FROM_SOURCE, TRANSFER_ONLY, OptionError, TrainOptions

# A valid value, other than the default, for every option (a new option must be added here).
NON_DEFAULT = {
    "data": "digits:0-1", "shots": 7, "seed": 3, "image_size": 32, "channels": 3, "conditional": True,
    "latent_dim": 16, "width": 8, "to_image": "convt", "norm": "batch", "spectral_norm": True, "loss": "hinge", "n_critic": 2,
    "r1_weight": 0.5, "gp_weight": 5.0, "d_lr": 1e-3, "g_lr": 3e-4, "beta_1": 0.0, "batch_size": 16, "epochs": 4, "steps": 36,
    "steps_per_epoch": 9, "diffaugment": "translation", "ada_target": 0.6, "ema_decay": 0.99, "jit_compile": "off",
    "distribute": "mirrored", "cpu_replicas": 2, "precision": "mixed_bfloat16", "sample_every": 2,
    "eval_every": 3, "eval_ref": "digits:0-1", "val_per_class": 2, "copy_check": "off", "copy_every": 50,
    "copy_patience": 5, "eval_extractor": "inception_v3", "source": "unused.keras", "strategy": "freeze_d:1+cdc",
    "backbone": "vgg16", "phase_epochs": 2, "pilot_steps": 100, "reptile_data": "digits:2-3", "reptile_iterations": 10,
    "reptile_inner_steps": 2, "reptile_step_size": 0.5, "tensorboard": True, "run_dir": "somewhere",
    "runs_root": "elsewhere",
}
# A value of the wrong type for each kind of option.
WRONG_TYPE = {bool: "false", int: "3", float: "1e-3", str: 3}


def _options(tmp_path, command, values, *flags):
    """`_train_options` for `command` with a config file holding `values` and the extra `flags`."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps(values))
    required = {"train": [], "transfer": ["--source", "src.keras", "--target", "digits:0-1"]}[command]
    argv = [command, *required, "--config", str(path), *flags]
    parser = build_parser()
    return _train_options(parser.parse_args(argv), argv, parser.subcommands[command]), path


def _kind(field):
    args = [a for a in getattr(field.type, "__args__", ()) if a is not type(None)]
    return args[0] if args else field.type


def test_the_table_covers_every_option():
    assert set(NON_DEFAULT) == {f.name for f in dataclasses.fields(TrainOptions)}
    defaults = TrainOptions()
    assert all(NON_DEFAULT[name] != getattr(defaults, name) for name in NON_DEFAULT)


@pytest.mark.parametrize("command", ["train", "transfer"])
def test_a_config_file_sets_every_option_its_command_offers(tmp_path, command):
    offered = {f.name for f in dataclasses.fields(TrainOptions)} - (
        set(TRANSFER_ONLY) if command == "train" else set(FROM_SOURCE) | {"data", "source"})
    options, _ = _options(tmp_path, command, {name: NON_DEFAULT[name] for name in offered})
    assert {name: getattr(options, name) for name in offered} == {name: NON_DEFAULT[name] for name in offered}


@pytest.mark.parametrize("field", [f for f in dataclasses.fields(TrainOptions)], ids=lambda f: f.name)
def test_a_value_of_the_wrong_type_is_refused_naming_the_file_and_the_option(tmp_path, field):
    with pytest.raises((ValueError, UsageError)) as error:
        _options(tmp_path, "transfer", {field.name: WRONG_TYPE[_kind(field)]})
    message = str(error.value)
    assert message.startswith(f"config file {tmp_path / 'c.json'}: {field.name} must be ")
    assert f"Received: {field.name}={WRONG_TYPE[_kind(field)]!r}" in message


@pytest.mark.parametrize("values, expected", [
    ({"conditional": "false"}, "conditional must be true or false; text is not converted"),
    ({"spectral_norm": "no"}, "spectral_norm must be true or false"),
    ({"ema_decay": "0.9"}, "ema_decay must be a number; text is not converted, write the value without quotes. "
                           "Received: ema_decay='0.9'"),
    ({"d_lr": "1e-3"}, "d_lr must be a number"),
    ({"epochs": 2.5}, "epochs must be an integer. Received: epochs=2.5"),
    ({"epochs": True}, "epochs must be an integer. Received: epochs=True"),
    ({"seed": None}, "seed must be an integer, not None (null)"),
    ({"epochs": 0}, "epochs must be a positive integer. Received: epochs=0"),
    ({"ema_decay": 1.5}, "ema_decay must be in [0, 1)"),
    ({"diffaugment": "blur"}, "diffaugment policy must be a comma-separated subset"),
    ({"loss": "lsgan"}, "loss must be one of nonsaturating"),
    ({"epoch": 3}, "Unknown training options: epoch."),
])
def test_bad_values_in_a_config_file_name_the_file(tmp_path, values, expected):
    with pytest.raises((ValueError, UsageError)) as error:
        _options(tmp_path, "train", values)
    assert str(error.value).startswith(f"config file {tmp_path / 'c.json'}: ") and expected in str(error.value)


def test_a_flag_that_overrides_a_bad_file_value_wins_and_a_bad_flag_is_not_blamed_on_the_file(tmp_path):
    options, _ = _options(tmp_path, "train", {"epochs": 0}, "--epochs", "2")
    assert options.epochs == 2
    with pytest.raises(OptionError) as error:
        _options(tmp_path, "train", {"batch_size": 8}, "--epochs", "0")
    assert str(error.value).startswith("epochs must be a positive integer") and error.value.option == "epochs"


@pytest.mark.parametrize("text, expected", [
    ('{"epochs": 3,}', "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 14"),
    ('[1, 2]', 'must hold a JSON object of options, e.g. {"epochs": 20}. Received: a JSON list'),
    (None, "cannot be read (no such file)"),
])
def test_an_unreadable_config_file_is_one_line_naming_it(capsys, tmp_path, text, expected):
    path = tmp_path / "c.json"
    if text is not None:
        path.write_text(text)
    assert main(["train", "--data", "digits", "--config", str(path), "--dry-run"]) == 2
    assert capsys.readouterr().err.strip() == f"kgantl train: error: config file {path}: {expected}"


def test_python_options_are_typed_too():
    with pytest.raises(OptionError, match="conditional must be true or false"):
        TrainOptions(conditional="false")
    assert TrainOptions(d_lr=1).d_lr == 1.0 and isinstance(TrainOptions(d_lr=1).d_lr, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainOptions().epochs = 3


def test_distribute_and_cpu_replicas_from_a_config_file_split_the_cpu(tmp_path):
    """The devices are fixed when TensorFlow starts, so the config file must be read before it does."""
    (tmp_path / "c.json").write_text(json.dumps({"distribute": "mirrored", "cpu_replicas": 2, "batch_size": 8}))
    done = subprocess.run([sys.executable, "-m", "kgantl.cli", "train", "--data", "digits:0-1", "--config",
                           str(tmp_path / "c.json"), "--dry-run"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    resolved = json.loads(done.stdout)
    assert resolved["distribute"] == "mirrored" and resolved["cpu_replicas"] == 2




def test_a_transfer_run_validates_its_options_once_and_parses_each_strategy_string_once(tmp_path, monkeypatch,
                                                                                       tiny_npz, tiny_source):
    """Checked by counting, through the command line's whole path for a dry run (resolve_training included)."""
    import kgantl.resolve

    validated, parsed = [], []
    check = TrainOptions.validate

    def counting_validate(self):
        if not self.__dict__.get("_validated"):
            validated.append(self)
        return check(self)

    real_parse = kgantl.resolve.parse_strategy
    monkeypatch.setattr(TrainOptions, "validate", counting_validate)
    monkeypatch.setattr(kgantl.resolve, "parse_strategy", lambda text: parsed.append(text) or real_parse(text))
    for strategy in (["--strategy", "freeze_d:1+cdc"], []):
        validated.clear(), parsed.clear()
        assert main(["transfer", "--source", str(tiny_source), "--target", str(tiny_npz), "--shots", "10",
                     "--runs-root", str(tmp_path / "runs"), *strategy, "--dry-run"]) == 0
        assert len(validated) == 1 and parsed == [strategy[1] if strategy else "finetune"]


def test_a_transfer_option_in_a_train_config_file_is_refused_not_dropped(tmp_path):
    with pytest.raises(UsageError, match=r"config file .*c\.json: strategy adapt a source GAN: use kgantl transfer"):
        _options(tmp_path, "train", {"strategy": "finetune"})


def test_an_error_the_resolver_finds_in_a_config_file_value_names_the_file(tmp_path, tiny_npz, tiny_source, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"strategy": "freeze_everything"}))
    argv = ["transfer", "--source", str(tiny_source), "--target", str(tiny_npz), "--shots", "10", "--config",
            str(path), "--run-dir", str(tmp_path / "run"), "--dry-run"]
    assert main(argv) == 2
    assert f"config file {path}: strategy must be one of" in capsys.readouterr().err
