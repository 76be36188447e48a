import numpy as np
import pytest

from kgantl.metrics import memorisation_check
from kgantl.metrics.evaluate import evaluate
from kgantl.metrics.memorisation import _nearest


@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    return rng.normal(size=(50, 8)), rng.normal(size=(400, 8)), rng


def test_copies_of_the_training_images_are_all_near_copies(features):
    train, test, rng = features
    report = memorisation_check(train[rng.integers(0, 50, 200)], train, test)
    assert report["near_copy_share"] == 1.0 and report["closer_to_train_share"] == 1.0
    assert report["to_train"]["q95"] == pytest.approx(0.0, abs=1e-6)
    assert report["n_generated"] == 200 and report["n_train"] == 50 and report["n_test"] == 400


def test_new_samples_of_the_same_distribution_score_like_real_images(features):
    train, test, rng = features
    report = memorisation_check(rng.normal(size=(2000, 8)), train, test)
    assert report["near_copy_share"] < 0.3
    # What a generator of genuinely new images scores: the test images' own share, within sampling error.
    assert report["near_copy_share"] == pytest.approx(report["real_near_copy_share"], abs=0.06)
    assert report["threshold"] == report["test_nn"]["q50"]
    assert report["to_test"]["q05"] <= report["to_test"]["q50"] <= report["to_test"]["q95"]


def test_nearest_neighbours_match_brute_force_across_chunks(features):
    _, test, _ = features
    brute = np.linalg.norm(test[:, None] - test[None], axis=-1)
    np.fill_diagonal(brute, np.inf)
    np.testing.assert_allclose(_nearest(test, test, chunk=64, exclude_self=True), brute.min(axis=1), atol=1e-6)


def test_bad_feature_sets_are_named(features):
    train, test, _ = features
    with pytest.raises(ValueError, match="same dimension"):
        memorisation_check(np.zeros((5, 3)), train, test)
    with pytest.raises(ValueError, match="test features needs at least 2 samples"):
        memorisation_check(train, train, test[:1])


def test_evaluate_adds_the_memorisation_check(tmp_path, monkeypatch):
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    reference, shots = (rng.integers(0, 256, (n, 28, 28, 1)).astype(np.uint8) for n in (100, 20))
    np.savez(tmp_path / "ref.npz", images=reference, labels=np.zeros(100, int))
    copies = shots[np.arange(100) % 20]
    report = evaluate(copies, ref=str(tmp_path / "ref.npz"), split="train", n=100, kid_subsets=2, train_images=shots)
    assert report["near_copy_share"] == 1.0 and report["memorisation"]["n_train"] == 20
    assert evaluate(copies, ref=str(tmp_path / "ref.npz"), split="train", n=100, kid_subsets=2)["memorisation"] is None
    with pytest.raises(ValueError, match=r"train_images must have the reference images' shape \(N, 28, 28, 1\)"):
        evaluate(copies, ref=str(tmp_path / "ref.npz"), split="train", n=100, kid_subsets=2,
                 train_images=shots[..., 0])
