"""`python bench/emoji_classifier.py` (issue 35, item 5): each seed's shots and test files on a tiny emoji tarball,
the random-weight copy of the colour backbone, and the settings of a run."""
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.data.test_emoji import tiny_emoji  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    yield importlib.import_module("emoji_classifier")
    sys.modules.pop("emoji_classifier", None)


def test_a_seed_trains_on_its_shots_and_tests_on_the_rest_of_the_classes(bench, tiny_emoji, tmp_path,  # noqa: F811
                                                                          monkeypatch):
    monkeypatch.setattr(bench, "CLASSES", ("face-smiling", "hand-fingers-closed"))
    monkeypatch.setattr(bench, "SPEC", "emoji:twitter:face-smiling,hand-fingers-closed@subcategory")
    monkeypatch.setattr(bench, "SHOTS", 1)
    shots_path, test_path = bench.seed_files(0, tmp_path)
    with np.load(shots_path) as shots, np.load(test_path) as test:
        assert shots["images"].shape == (2, 64, 64, 3) and shots["labels"].tolist() == [0, 1]  # class by class
        # Thumbs up is the only base emoji of hand-fingers-closed: a shot, so its three tones are not test images;
        # of the two smiling faces the other one is the whole test set.
        assert test["images"].shape == (1, 64, 64, 3) and test["labels"].tolist() == [0]
        assert not {x.tobytes() for x in test["images"]} & {x.tobytes() for x in shots["images"]}
    assert bench.seed_files(0, tmp_path) == (shots_path, test_path)  # written once


def test_the_scratch_backbone_is_the_colour_backbone_with_fresh_seeded_weights(bench, tmp_path):
    import keras

    from kgantl.runs.artifacts import model_file

    trained = keras.saving.load_model(model_file(bench.BACKBONE), compile=False)
    fresh = keras.saving.load_model(bench.scratch_backbone(3, tmp_path / "a"), compile=False)
    again = keras.saving.load_model(bench.scratch_backbone(3, tmp_path / "b"), compile=False)
    assert [w.shape for w in fresh.weights] == [w.shape for w in trained.weights]
    kernels = [k for k, w in enumerate(trained.weights) if len(w.shape) > 1]
    assert kernels and all(not np.allclose(fresh.weights[k], trained.weights[k]) for k in kernels)
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), again.get_weights()))  # seeded


def test_the_runs_settings(bench, tiny_emoji, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(bench, "seed_files", lambda seed, cache: (cache / "s.npz", cache / "t.npz"))
    pretrained = bench.settings_for("pretrained", 1, 500, tmp_path)
    assert (pretrained.backbone, pretrained.stages, pretrained.seeds) == (bench.BACKBONE, "40:0:1e-3,20:2:1e-4", (1,))
    assert pretrained.test_data == str(tmp_path / "t.npz") and pretrained.source == "source-emoji-noto-64"
    scratch = bench.settings_for("scratch", 1, 500, tmp_path)
    assert scratch.backbone == str(tmp_path / "scratch-backbone-seed1.keras") and scratch.stages == "60:all:1e-3"
    by_subcategory = bench.settings_for("noto-classifier", 1, 500, tmp_path)
    assert (by_subcategory.backbone, by_subcategory.stages) == ("saved_models/noto-classifier", pretrained.stages)
    # both backbones are cut at the same layer: flatten unless told, the layer below the head for "head"
    assert pretrained.feature_layer == scratch.feature_layer == "flatten"
    assert bench.settings_for("scratch", 1, 500, tmp_path, feature_layer="head").feature_layer is None
    assert bench.result_path("flatten") == bench.RESULT
    assert bench.result_path("head").name == "emoji_classifier-head.json"


def test_the_seed_picture_shows_each_class_in_its_column_beside_the_gans_samples_of_it(bench, tmp_path, monkeypatch):
    import kgantl.images
    from kgantl.models import ConditionalGAN, build_discriminator, build_generator

    monkeypatch.setattr(bench, "CLASSES", ("a", "b"))
    seed_dir = tmp_path / "run" / "seed3"
    (seed_dir / "gan").mkdir(parents=True)
    ConditionalGAN(build_generator(8, 3, 8, width=4, num_classes=2),
                   build_discriminator(8, 3, width=4, num_classes=2)).save(seed_dir / "gan" / "model.keras")
    images = np.arange(4 * 8 * 8 * 3, dtype=np.uint8).reshape(4, 8, 8, 3)
    np.savez(seed_dir / "shots.npz", images=images, labels=np.array([1, 0, 1, 0]))
    drawn = {}
    monkeypatch.setattr(kgantl.images, "labelled_panels", lambda panels, titles, **_: drawn.update(
        panels=panels, titles=titles) or panels[0])
    import kgantl.runs.artifacts

    opened, asked = kgantl.runs.artifacts.open_generator, []

    def spied(source):
        sampler = opened(source)
        generate = sampler.generate
        sampler.generate = lambda noise, labels=None: asked.append(list(labels)) or generate(noise, labels)
        return sampler

    monkeypatch.setattr(kgantl.runs.artifacts, "open_generator", spied)
    bench.picture(tmp_path / "run", tmp_path / "out.png", per_class=2)
    assert asked == [[0, 1, 0, 1]]  # the samples' grid has the shots' columns: one class each
    real = images.astype(np.float32) / 127.5 - 1.0
    # row by row, class a's shots in the first column and b's in the second
    expected = kgantl.images.upscale(kgantl.images.make_grid(real[[1, 0, 3, 2]], columns=2), 2)
    np.testing.assert_array_equal(drawn["panels"][0], expected)
    assert drawn["panels"][1].shape == expected.shape and (tmp_path / "out.png").is_file()
