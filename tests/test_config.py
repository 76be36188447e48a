import pytest

from kgantl.config import PRESETS, TrainOptions, preset


def test_defaults_are_valid_and_round_trip_through_json(tmp_path):
    options = TrainOptions(data="digits", shots=5).validate()
    options.to_json(tmp_path / "o.json")
    assert TrainOptions.from_json(tmp_path / "o.json") == options


@pytest.mark.parametrize("field, value, message", [
    ("epochs", 0, r"epochs must be a positive integer\. Received: epochs=0"),
    ("shots", -2, "shots must be a positive integer"),
    ("loss", "lsgan", "loss must be one of nonsaturating"),
    ("image_size", 30, "resolution must be 4 or 7 times a power of two"),
    ("diffaugment", "blur", "diffaugment policy"),
    ("d_lr", 0.0, "d_lr must be > 0"),
    ("ema_decay", 1.0, r"ema_decay must be in \[0, 1\)"),
    ("channels", 2, "channels must be 1 or 3"),
    ("jit_compile", "yes", "jit_compile must be one of auto, on, off"),
    ("seed", -1, "seed must be a non-negative integer"),
])
def test_validation_names_the_option(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainOptions(**{field: value}).validate()


def test_unknown_keys_are_rejected():
    with pytest.raises(ValueError, match="Unknown training options: epoch"):
        TrainOptions.from_dict({"epoch": 3})


def test_presets():
    few = preset("few-shot", data="fashion_mnist:7", shots=10)
    assert few.diffaugment == "color,translation,cutout" and few.shots == 10
    assert set(PRESETS) >= {"reference", "few-shot"}
    with pytest.raises(ValueError, match="preset must be one of"):
        preset("huge")
