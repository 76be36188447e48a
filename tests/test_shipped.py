"""kgantl.shipped: shipped models found by name from a checkout, $KGANTL_MODELS_DIR or the cache folder."""
from pathlib import Path

import numpy as np
import pytest

from kgantl.runs.artifacts import load_gan, model_file, open_generator
from kgantl.shipped import REPOSITORY, SHIPPED, cache_models_dir, find_shipped_model, resolve_model_path

CHECKOUT_MODELS = Path(__file__).resolve().parents[1] / "saved_models"


def _fake_model(folder, name):
    (folder / name).mkdir(parents=True)
    (folder / name / "model.keras").write_bytes(b"not read")
    return folder / name


def test_every_shipped_name_is_in_the_checkout():
    for name in SHIPPED:
        assert (CHECKOUT_MODELS / name / "model.keras").is_file(), name


def test_a_name_resolves_from_the_models_dir_first_then_the_checkout_then_the_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./saved_models here
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resolve_model_path("source-fmnist-0-4") == CHECKOUT_MODELS / "source-fmnist-0-4"
    assert resolve_model_path("saved_models/source-fmnist-0-4") == CHECKOUT_MODELS / "source-fmnist-0-4"
    override = _fake_model(tmp_path / "mine", "source-fmnist-0-4")
    monkeypatch.setenv("KGANTL_MODELS_DIR", str(tmp_path / "mine"))
    assert resolve_model_path("source-fmnist-0-4") == override
    assert model_file("source-fmnist-0-4") == override / "model.keras"
    cached = _fake_model(cache_models_dir(), "my-own-gan")
    assert cache_models_dir() == tmp_path / "cache" / "kgantl" / "models"
    assert find_shipped_model("my-own-gan") == cached / "model.keras"


def test_paths_that_exist_or_are_not_names_pass_through(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "source-fmnist-0-4").mkdir()  # a local folder wins over the shipped model of that name
    assert resolve_model_path("source-fmnist-0-4") == Path("source-fmnist-0-4")
    assert resolve_model_path(tmp_path / "missing" / "x") == tmp_path / "missing" / "x"
    assert resolve_model_path("missing.keras") == Path("missing.keras")


def test_a_missing_model_says_in_one_line_where_kgantl_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KGANTL_MODELS_DIR", str(tmp_path / "mine"))
    with pytest.raises(FileNotFoundError) as error:
        load_gan("no-such-model")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("'no-such-model' is neither a file or folder here nor a shipped model: Model "
                              f"'no-such-model' was not found in {tmp_path / 'mine'}, saved_models, {CHECKOUT_MODELS}, ")
    assert f"with the repository ({REPOSITORY}): install kgantl with pip, or set " \
           "KGANTL_MODELS_DIR=<clone>/saved_models" in message


def test_the_shipped_source_gan_opens_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sampler = open_generator("source-fmnist-0-4")
    assert sampler.latent_dim > 0 and not sampler.conditional
    noise = np.random.default_rng(0).standard_normal((2, sampler.latent_dim)).astype("float32")
    assert sampler.generate(noise).shape[0] == 2


def test_the_commands_take_a_shipped_model_by_name(tmp_path, monkeypatch, capsys):
    from kgantl.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["generate", "source-fmnist-0-4", "--out", "x.png", "--n", "4"]) == 0
    assert (tmp_path / "x.png").is_file()
    assert main(["compare", "source-fmnist-0-4", "saved_models/source-fmnist-0-4", "--n", "4", "--out", "c.png"]) == 0
    assert main(["generate", "no-such-model", "--out", "y.png"]) == 2
    assert "'no-such-model' is neither a file or folder here nor a shipped model" in capsys.readouterr().err
