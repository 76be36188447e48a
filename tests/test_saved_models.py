"""The models kgantl ships: present, loadable offline, and scoring what their model cards say."""
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAVED = ROOT / "saved_models"
# Folders that are no shipped model: `make demo` writes demo-generator/ here (git-ignored, the user's own).
UNSHIPPED = {"demo-generator", "__pycache__"}
SOURCES = {"source-fmnist-0-4": (28, 28, 1), "source-fmnist-0-4-conditional": (28, 28, 1),
           "source-emoji-noto-64": (64, 64, 3)}


def _fashion_mnist_available():
    from kgantl.data import load_arrays

    try:
        load_arrays("fashion_mnist:7", split="test")
        return True
    except FileNotFoundError:
        return False


def test_saved_models_stay_under_45_mb():
    # 30 MB until the 64x64 colour source (about 15 MB: G, D and the EMA G, which transfer needs) joined.
    total = sum(p.stat().st_size for p in SAVED.rglob("*") if p.is_file())
    assert total < 45 * 2**20, f"saved_models/ holds {total / 2**20:.1f} MB"


@pytest.mark.parametrize("name", ["fmnist-classifier", "fmnist-0-4-backbone", "noto-classifier", "noto-backbone",
                                  *SOURCES])
def test_every_model_has_a_card_with_the_command_that_made_it(name):
    card = (SAVED / name / "README.md").read_text()
    assert "Command" in card and ("kgantl " in card or "python -m kgantl" in card)
    assert "Licence" in card  # of the data it was trained on
    assert (SAVED / name / "model.keras").is_file()


def test_notice_credits_the_data_of_every_shipped_model():
    """A model shipped without attribution fails here: every folder in saved_models/ (and every name kgantl finds
    as shipped) must be named in NOTICE, beside the licence of the data it was trained on."""
    from kgantl.shipped import SHIPPED

    folders = {p.name for p in SAVED.iterdir() if p.is_dir() and p.name not in UNSHIPPED}
    named = set(re.findall(r"[\w-]+", (ROOT / "NOTICE").read_text()))  # whole names: no credit by prefix
    missing = sorted((folders | set(SHIPPED)) - named)
    assert folders and not missing, f"every shipped model must be credited in NOTICE. Missing: {missing}"


@pytest.mark.parametrize("name, shape", [("fmnist-classifier", (28, 28, 1)), ("fmnist-0-4-backbone", (28, 28, 1)),
                                         ("noto-classifier", (64, 64, 3)), ("noto-backbone", (64, 64, 3))])
def test_shipped_classifiers_are_weights_only_with_an_embedding(name, shape):
    model = keras.saving.load_model(SAVED / name / "model.keras")
    assert not model.compiled  # no optimizer state shipped
    assert tuple(model.input_shape[1:]) == shape and model.get_layer("embedding").units == 64


@pytest.mark.parametrize("name", list(SOURCES))
def test_source_gans_load_uncompiled_and_generate(name):
    import kgantl  # noqa: F401  importing the package registers its Keras classes

    gan = keras.saving.load_model(SAVED / name / "model.keras")
    labels = np.arange(4) % 5 if len(gan.generator.inputs) == 2 else None
    images = gan.generate(4, labels=labels, seed=0)
    assert images.shape == (4, *SOURCES[name]) and np.abs(images).max() <= 1.0
    assert not gan.compiled


@pytest.mark.slow
@pytest.mark.parametrize("name", ["source-fmnist-0-4", "source-fmnist-0-4-conditional"])
def test_evaluate_reproduces_the_model_card(name, tmp_path, monkeypatch):
    if not _fashion_mnist_available():
        pytest.skip("Fashion-MNIST is not available on this machine")
    from kgantl.metrics import evaluate
    from kgantl.runs.artifacts import open_generator

    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path))
    card = json.loads((SAVED / name / "evaluation_fashion_mnist_0_4_fmnist_1k_test_seed0.json").read_text())
    report = evaluate(open_generator(SAVED / name / "model.keras"), ref="fashion_mnist:0-4", split="test", n=1000)
    assert abs(report["kid"] - card["kid"]) <= card["kid_std"]
    assert report["protocol"] == card["protocol"] == "fmnist_1k_test"


@pytest.mark.slow
def test_the_colour_source_scores_what_its_card_and_benchmark_record_say(tmp_path, monkeypatch):
    from kgantl.data.emoji_package import data_dir, tarball_name

    if not (data_dir() / tarball_name("google")).is_file():
        pytest.skip("the Noto emoji package is not in kgantl's data folder (`npm pack emoji-datasource-google@16.0.0`)")
    from kgantl.metrics import evaluate
    from kgantl.runs.artifacts import open_generator

    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path))
    recorded = json.loads((ROOT / "bench" / "results" / "source_emoji_quality.json").read_text())
    source = recorded["scores"]["source GAN (EMA generator)"]
    report = evaluate(open_generator(SAVED / "source-emoji-noto-64" / "model.keras"),
                      ref="emoji:google:!Animals & Nature", split="test", n=1000, extractor="noto")
    assert abs(report["kid"] - source["kid"]) <= source["kid_std"] / 10
    assert f"{source['kid']:.3f}" in (SAVED / "source-emoji-noto-64" / "README.md").read_text()
